//! Zoho's multi data centre OAuth. The authorize step happens on the US accounts
//! server; Zoho redirects back with the user's data centre (`location=eu`,
//! `accounts-server=https://accounts.zoho.eu`). The code exchange, every refresh and
//! the revocation must go to that accounts server, and the mail API lives on the same
//! data centre's mail host (`https://mail.zoho.eu`), so both are stored with the
//! connection as `accounts_server` and `mail_api` and filled into [`crate::OAUTH`]'s
//! URL templates.
//!
//! The accounts server receives the client secret, so only Zoho's own accounts hosts
//! are accepted (or an origin the operator configured as an endpoint override).

use std::collections::BTreeMap;

use assistiv_app_sdk::ConnectionSettings;
use assistiv_app_sdk::reqwest::Url;

/// Zoho's data centres: accounts host → mail API host.
const DATA_CENTRES: &[(&str, &str)] = &[
    ("accounts.zoho.com", "mail.zoho.com"),
    ("accounts.zoho.eu", "mail.zoho.eu"),
    ("accounts.zoho.in", "mail.zoho.in"),
    ("accounts.zoho.com.au", "mail.zoho.com.au"),
    ("accounts.zoho.jp", "mail.zoho.jp"),
    ("accounts.zoho.com.cn", "mail.zoho.com.cn"),
    ("accounts.zoho.sa", "mail.zoho.sa"),
    ("accounts.zoho.uk", "mail.zoho.uk"),
    ("accounts.zohocloud.ca", "mail.zohocloud.ca"),
];

/// Where users of an app without multi-DC support land (no `accounts-server`).
const DEFAULT_ACCOUNTS_SERVER: &str = "https://accounts.zoho.com";

/// The Mail API origin of a Zoho accounts server origin, if it is one of Zoho's.
pub fn mail_api_for(accounts_server: &str) -> Option<String> {
    let host = accounts_server.strip_prefix("https://")?;
    DATA_CENTRES
        .iter()
        .find(|(accounts, _)| *accounts == host)
        .map(|(_, mail)| format!("https://{mail}"))
}

/// The settings of a callback: `accounts_server`, `mail_api` (for Zoho's own hosts)
/// and `location`.
pub fn settings_from_callback(
    query: &BTreeMap<String, String>,
    operator_origins: &[String],
) -> Result<ConnectionSettings, String> {
    let raw = query
        .get("accounts-server")
        .map_or(DEFAULT_ACCOUNTS_SERVER, String::as_str);
    let server =
        origin_of(raw).ok_or_else(|| format!("accounts-server {raw:?} is not an origin"))?;
    let mut settings = ConnectionSettings::new();
    if let Some(mail_api) = mail_api_for(&server) {
        settings.insert("mail_api".into(), mail_api);
    } else if !operator_origins.contains(&server) {
        return Err(format!(
            "accounts-server {server} is not a Zoho accounts server"
        ));
    }
    settings.insert("accounts_server".into(), server);
    if let Some(location) = query.get("location") {
        let ok =
            (1..=8).contains(&location.len()) && location.bytes().all(|b| b.is_ascii_lowercase());
        if !ok {
            return Err(format!("location {location:?} is not a data centre code"));
        }
        settings.insert("location".into(), location.clone());
    }
    Ok(settings)
}

/// `raw` as a bare origin (`https://host[:port]`, no path, query or credentials).
fn origin_of(raw: &str) -> Option<String> {
    let url = Url::parse(raw.trim_end_matches('/')).ok()?;
    let bare = matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    let origin = url.origin().ascii_serialization();
    (bare && matches!(url.scheme(), "http" | "https") && origin != "null").then_some(origin)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn each_data_centre_gets_its_own_mail_host() {
        for (accounts, mail, location) in [
            ("https://accounts.zoho.eu", "https://mail.zoho.eu", "eu"),
            ("https://accounts.zoho.in", "https://mail.zoho.in", "in"),
            (
                "https://accounts.zoho.com.au",
                "https://mail.zoho.com.au",
                "au",
            ),
            ("https://accounts.zoho.jp", "https://mail.zoho.jp", "jp"),
            (
                "https://accounts.zoho.com.cn",
                "https://mail.zoho.com.cn",
                "cn",
            ),
            ("https://accounts.zoho.sa", "https://mail.zoho.sa", "sa"),
            (
                "https://accounts.zohocloud.ca",
                "https://mail.zohocloud.ca",
                "ca",
            ),
            ("https://accounts.zoho.com/", "https://mail.zoho.com", "us"),
        ] {
            let settings = settings_from_callback(
                &query(&[("accounts-server", accounts), ("location", location)]),
                &[],
            )
            .unwrap();
            assert_eq!(settings["accounts_server"], accounts.trim_end_matches('/'));
            assert_eq!(settings["mail_api"], mail);
            assert_eq!(settings["location"], location);
        }
        let plain = settings_from_callback(&query(&[]), &[]).unwrap();
        assert_eq!(plain["accounts_server"], "https://accounts.zoho.com");
        assert_eq!(plain["mail_api"], "https://mail.zoho.com");
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "https://accounts.zoho.evil.com",
            "https://accounts.zoho.eu.evil.com",
            "http://accounts.zoho.eu",
            "https://accounts.zoho.eu:8443",
            "https://accounts.zoho.eu/oauth",
            "https://user@accounts.zoho.eu",
            "https://accounts.zoho.eu?x=1",
            "https://evil.com#accounts.zoho.eu",
            "javascript:alert(1)",
            "http://127.0.0.1:9000",
            "",
        ] {
            assert!(
                settings_from_callback(&query(&[("accounts-server", bad)]), &[]).is_err(),
                "{bad:?}"
            );
        }
        let bad_location = query(&[
            ("accounts-server", "https://accounts.zoho.eu"),
            ("location", "e u"),
        ]);
        assert!(settings_from_callback(&bad_location, &[]).is_err());
    }

    #[test]
    fn an_operator_origin_is_trusted_without_a_mail_host() {
        let trusted = ["http://127.0.0.1:9000".to_owned()];
        let settings = settings_from_callback(
            &query(&[("accounts-server", "http://127.0.0.1:9000")]),
            &trusted,
        )
        .unwrap();
        assert_eq!(settings["accounts_server"], "http://127.0.0.1:9000");
        assert!(!settings.contains_key("mail_api"));
        assert!(
            settings_from_callback(
                &query(&[("accounts-server", "http://127.0.0.1:9001")]),
                &trusted
            )
            .is_err()
        );
    }
}
