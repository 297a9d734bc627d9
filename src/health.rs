//! `/healthz` (the process answers) and `/readyz` (the database answers too).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::state::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>> {
    state.db.ping().await.map_err(|err| {
        tracing::warn!(error = %err, "readiness probe: database unreachable");
        Error::unavailable("database unreachable")
    })?;
    Ok(Json(json!({"status": "ready", "database": "ok"})))
}
