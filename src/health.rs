//! `/healthz` (the process answers) and `/readyz` (the database answers too).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::state::AppState;

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = Object)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The process and its database answer.
#[utoipa::path(get, path = "/readyz", tag = "meta", responses(
    (status = 200, description = "`{\"status\": \"ready\", \"database\": \"ok\"}`", body = Object),
    (status = 503, description = "The database is out of reach", body = crate::openapi::errors::ErrorEnvelope),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>> {
    state.db.ping().await.map_err(|err| {
        tracing::warn!(error = %err, "readiness probe: database unreachable");
        Error::unavailable("database unreachable")
    })?;
    Ok(Json(json!({"status": "ready", "database": "ok"})))
}
