//! A stored response as its end user reads it back: the Response object, the
//! input items of its request, and the conversation up to and including its
//! output (what `previous_response_id` continues), sealed in one column.

use assistiv_llm::responses::{Item, ResponseObject};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::store::{self, ResponseRow};
use crate::error::Error;
use crate::oauth::vault::{Vault, aad};
use crate::store::Db;

/// Whose responses these are.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    pub response: ResponseObject,
    pub input_items: Vec<Item>,
    /// Every item before this response's, then its input and output.
    pub context: Vec<Item>,
}

/// The 404 for an id that is not this end user's (whoever's it is).
pub fn not_found(id: &str) -> Error {
    Error::not_found(format!("no response with id '{id}'")).with_code("response_not_found")
}

impl Stored {
    pub async fn save(
        &self,
        db: &Db,
        vault: &Vault,
        owner: Owner,
        created_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Error> {
        let id = &self.response.id;
        let plain = serde_json::to_vec(self).map_err(Error::internal)?;
        let body_enc = vault
            .seal_bytes(&plain, &aad::response_body(id))
            .map_err(Error::internal)?;
        store::insert(
            db,
            &ResponseRow {
                id: id.clone(),
                platform_id: owner.platform_id,
                end_user_id: owner.end_user_id,
                body_enc,
                created_at,
            },
        )
        .await?;
        Ok(())
    }

    /// The owner's response `id`, or 404.
    pub async fn load(db: &Db, vault: &Vault, owner: Owner, id: &str) -> Result<Self, Error> {
        let row = store::get(db, owner.platform_id, owner.end_user_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let plain = vault
            .open_bytes(&row.body_enc, &aad::response_body(&row.id))
            .map_err(|_| Error::internal(format_args!("response {id} cannot be unsealed")))?;
        serde_json::from_slice(&plain).map_err(Error::internal)
    }
}
