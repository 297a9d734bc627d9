//! The one declarative list of database columns sealed with the master key
//! ([`crate::oauth::vault`]). Master-key rotation walks this list, so a new
//! encrypted column is one more line here: its table, column, primary key and the
//! associated data its values are sealed with (the `aad` template, `{key column}`
//! filled from the row, exactly as the code that seals it builds it).
//!
//! Skill blobs are sealed too, but live in the blob store, not in a column: see
//! [`super::rotate::rotate_blobs`].

use std::collections::BTreeMap;

/// How a primary-key column is read and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// UUID on PostgreSQL, BLOB on SQLite.
    Uuid,
    Text,
}

/// One sealed column.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
    /// The primary key (every column the AAD names).
    pub key: &'static [(&'static str, KeyType)],
    /// The associated data, with `{name}` for each key column.
    pub aad: &'static str,
}

use KeyType::{Text, Uuid};

/// Every sealed column. Nullable columns are fine (NULLs are skipped).
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "app_activations",
        column: "client_secret_enc",
        key: &[("platform_id", Uuid), ("app", Text)],
        aad: "app_activation:{platform_id}:{app}:client_secret",
    },
    SealedColumn {
        table: "oauth_states",
        column: "pkce_verifier_enc",
        key: &[("state_hash", Text)],
        aad: "oauth_state:{state_hash}:pkce_verifier",
    },
    SealedColumn {
        table: "app_connections",
        column: "access_token_enc",
        key: &[("id", Uuid)],
        aad: "connection:{id}:access_token",
    },
    SealedColumn {
        table: "app_connections",
        column: "refresh_token_enc",
        key: &[("id", Uuid)],
        aad: "connection:{id}:refresh_token",
    },
    SealedColumn {
        table: "capability_providers",
        column: "auth_secret",
        key: &[("uid", Text)],
        aad: "capability_provider:{uid}:auth_secret",
    },
    SealedColumn {
        table: "webhook_endpoints",
        column: "secret_enc",
        key: &[("id", Uuid)],
        aad: "webhook_endpoint:{id}:secret",
    },
    SealedColumn {
        table: "webhook_endpoints",
        column: "previous_secret_enc",
        key: &[("id", Uuid)],
        aad: "webhook_endpoint:{id}:previous_secret",
    },
    SealedColumn {
        table: "llm_providers",
        column: "api_key_enc",
        key: &[("id", Uuid)],
        aad: "llm_provider:{id}:api_key",
    },
    SealedColumn {
        table: "responses",
        column: "body_enc",
        key: &[("id", Text)],
        aad: "response:{id}:body",
    },
];

impl SealedColumn {
    /// `table.column`, for messages.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    /// The AAD of the row whose key columns hold `values` (in [`Self::key`] order).
    pub fn aad_of(&self, values: &[String]) -> Result<String, String> {
        let settings: BTreeMap<String, String> = self
            .key
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .zip(values.iter().cloned())
            .collect();
        assistiv_app_sdk::oauth::fill_template(self.aad, &settings)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::oauth::vault::aad;

    fn column(table: &str, column: &str) -> SealedColumn {
        *SEALED_COLUMNS
            .iter()
            .find(|c| c.table == table && c.column == column)
            .unwrap()
    }

    /// The templates must say what the sealing code binds, or rotation would
    /// re-encrypt under an AAD nothing opens with.
    #[test]
    fn templates_match_the_sealing_code() {
        let id = uuid::Uuid::now_v7();
        let col = column("app_activations", "client_secret_enc");
        assert_eq!(
            col.aad_of(&[id.to_string(), "github".into()]).unwrap(),
            aad::client_secret(id, "github")
        );
        let col = column("oauth_states", "pkce_verifier_enc");
        assert_eq!(
            col.aad_of(&["ab12".into()]).unwrap(),
            aad::pkce_verifier("ab12")
        );
        let col = column("app_connections", "access_token_enc");
        assert_eq!(
            col.aad_of(&[id.to_string()]).unwrap(),
            aad::access_token(id)
        );
        let col = column("app_connections", "refresh_token_enc");
        assert_eq!(
            col.aad_of(&[id.to_string()]).unwrap(),
            aad::refresh_token(id)
        );
        let col = column("capability_providers", "auth_secret");
        assert_eq!(
            col.aad_of(&["cap_demo".into()]).unwrap(),
            aad::capability_secret("cap_demo")
        );
        let col = column("webhook_endpoints", "secret_enc");
        assert_eq!(
            col.aad_of(&[id.to_string()]).unwrap(),
            aad::webhook_secret(id)
        );
        let col = column("webhook_endpoints", "previous_secret_enc");
        assert_eq!(
            col.aad_of(&[id.to_string()]).unwrap(),
            aad::webhook_previous_secret(id)
        );
        let col = column("llm_providers", "api_key_enc");
        assert_eq!(
            col.aad_of(&[id.to_string()]).unwrap(),
            aad::llm_provider_key(id)
        );
        let col = column("responses", "body_enc");
        assert_eq!(
            col.aad_of(&["resp_ab12".into()]).unwrap(),
            aad::response_body("resp_ab12")
        );
    }

    #[test]
    fn every_placeholder_is_a_key_column() {
        for col in SEALED_COLUMNS {
            for name in assistiv_app_sdk::oauth::placeholders(col.aad) {
                assert!(
                    col.key.iter().any(|(k, _)| *k == name),
                    "{}: {name}",
                    col.name()
                );
            }
        }
    }
}
