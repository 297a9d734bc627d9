//! What every handler can reach.

use std::sync::Arc;

use crate::auth::{AdminToken, Authenticator};
use crate::config::Config;
use crate::master_key::MasterKey;
use crate::store::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub auth: Authenticator,
    pub admin_token: AdminToken,
    pub config: Arc<Config>,
    /// Encrypts secrets at rest.
    pub master_key: Arc<MasterKey>,
}
