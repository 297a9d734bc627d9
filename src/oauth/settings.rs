//! Per-connection settings (a Zendesk subdomain, a Zoho data centre): validated at
//! connect time against the app's `connect_fields`, read from the callback and the
//! token response through the app's hooks, stored as JSON with the connection, and
//! filled into the app's (or the operator's) URL templates.

use std::collections::BTreeMap;

use assistiv_app_sdk::oauth::{fill_template, placeholders};
use assistiv_app_sdk::{App, ConnectionSettings};

use super::activations::parse_url;
use super::store::ActivationRow;
use crate::error::{Error, Result};

/// Stored JSON → settings. Only string values are kept (the column is ours).
pub fn parse(json: &str) -> ConnectionSettings {
    serde_json::from_str::<BTreeMap<String, serde_json::Value>>(json)
        .map(|map| {
            map.into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn to_json(settings: &ConnectionSettings) -> String {
    serde_json::to_string(settings).unwrap_or_else(|_| "{}".into())
}

/// The end user's connect-time values, checked against the app's `connect_fields`:
/// every field is required, unknown names are refused, values are normalised by the
/// field's validator.
pub fn from_connect_input(
    app: &dyn App,
    input: &BTreeMap<String, String>,
) -> Result<ConnectionSettings> {
    let fields = app.connect_fields();
    if let Some(unknown) = input
        .keys()
        .find(|k| !fields.iter().any(|f| f.name == k.as_str()))
    {
        return Err(Error::bad_request(format!(
            "{} takes no setting named '{unknown}'",
            app.display_name()
        )));
    }
    let mut settings = ConnectionSettings::new();
    for field in fields {
        let raw = input.get(field.name).ok_or_else(|| {
            Error::bad_request(format!(
                "connecting {} needs settings.{} ({})",
                app.display_name(),
                field.name,
                field.help
            ))
        })?;
        let value = (field.validate)(raw)
            .map_err(|e| Error::bad_request(format!("settings.{}: {e}", field.name)))?;
        settings.insert(field.name.to_owned(), value);
    }
    Ok(settings)
}

/// `template` with this connection's settings filled in, which must give an http(s)
/// URL without credentials (a setting can never smuggle another scheme in).
pub fn fill_url(
    field: &str,
    template: &str,
    settings: &ConnectionSettings,
) -> Result<String, String> {
    let url = fill_template(template, settings)?;
    parse_url(field, &url).map_err(|e| e.message().to_owned())
}

/// The origins (`scheme://host[:port]`) of the operator's endpoint overrides whose
/// origin is fixed (no `{name}` in it): what an app may trust besides the provider's
/// own hosts in `settings_from_callback`.
pub fn operator_origins(row: &ActivationRow) -> Vec<String> {
    let overrides = [
        &row.authorize_url,
        &row.token_url,
        &row.revoke_url,
        &row.api_base_url,
    ];
    let mut origins: Vec<String> = overrides
        .into_iter()
        .flatten()
        .filter_map(|raw| oauth2::url::Url::parse(raw).ok())
        .filter(|url| url.host_str().is_some_and(|h| !h.contains(['{', '}', '%'])))
        .map(|url| url.origin().ascii_serialization())
        .filter(|origin| origin != "null")
        .collect();
    origins.sort();
    origins.dedup();
    origins
}

/// Checks an operator's URL override that may hold `{name}` placeholders: with sample
/// values in their place it must be an http(s) URL.
pub fn check_template(field: &str, template: &str) -> Result<()> {
    let samples: ConnectionSettings = placeholders(template)
        .into_iter()
        .map(|name| {
            // A placeholder first stands for a whole origin (`{accounts_server}/...`).
            let sample = if template.starts_with(&format!("{{{name}}}")) {
                "https://placeholder.example".to_owned()
            } else {
                "placeholder".to_owned()
            };
            (name.to_owned(), sample)
        })
        .collect();
    let filled = fill_template(template, &samples)
        .map_err(|e| Error::bad_request(format!("{field}: {e}")))?;
    parse_url(field, &filled).map(|_| ())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn settings_round_trip_and_odd_json_reads_as_empty() {
        let mut s = ConnectionSettings::new();
        s.insert("subdomain".into(), "acme".into());
        assert_eq!(parse(&to_json(&s)), s);
        assert!(parse("not json").is_empty());
        assert_eq!(parse(r#"{"a": 1, "b": "x"}"#).len(), 1);
    }

    #[test]
    fn filled_urls_must_stay_http() {
        let mut s = ConnectionSettings::new();
        s.insert("sub".into(), "acme".into());
        s.insert("origin".into(), "javascript:alert(1)//".into());
        assert_eq!(
            fill_url("u", "https://{sub}.zendesk.com/api/v2", &s).unwrap(),
            "https://acme.zendesk.com/api/v2"
        );
        assert!(fill_url("u", "{origin}/x", &s).is_err());
        assert!(fill_url("u", "https://{missing}.x", &s).is_err());
    }

    #[test]
    fn operator_origins_are_the_fixed_hosts_of_overrides() {
        let now = chrono::Utc::now();
        let row = ActivationRow {
            platform_id: uuid::Uuid::nil(),
            app: "zoho-mail".into(),
            client_id: "c".into(),
            client_secret_enc: Vec::new(),
            scopes: String::new(),
            base_url: "https://platform.example".into(),
            authorize_url: Some("http://127.0.0.1:4000/authorize".into()),
            token_url: Some("https://accounts.example:8443/oauth/v2/token".into()),
            revoke_url: Some("{accounts_server}/oauth/v2/token/revoke".into()),
            api_base_url: Some("https://{subdomain}.zendesk.com".into()),
            created_at: now,
            updated_at: now,
        };
        assert_eq!(
            operator_origins(&row),
            ["http://127.0.0.1:4000", "https://accounts.example:8443"]
        );
    }

    #[test]
    fn templates_are_checked_with_samples() {
        assert!(check_template("t", "https://{subdomain}.zendesk.com/oauth/tokens").is_ok());
        assert!(check_template("t", "{accounts_server}/oauth/v2/token").is_ok());
        assert!(check_template("t", "http://127.0.0.1:9/{subdomain}/x").is_ok());
        assert!(check_template("t", "ftp://{subdomain}.x").is_err());
        assert!(check_template("t", "https://{Bad}.x").is_err());
    }
}
