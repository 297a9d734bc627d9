//! HTTP plumbing shared by every surface: request ids, extractors that answer in
//! the error envelope, and the `{"data": ...}` response shapes.

pub mod end_user_limits;
pub mod error_response;
pub mod extract;
pub mod openai_error;
pub mod request_context;
pub mod response;
pub mod routes;
