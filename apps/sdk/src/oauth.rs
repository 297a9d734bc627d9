//! Per-app OAuth quirks the gateway's broker applies generically: settings a connection
//! carries (a Zendesk subdomain asked at connect time, a Zoho data centre reported by the
//! callback), URL templates filled from them, token responses in a provider's own shape
//! (Slack's `authed_user`), and how a provider revokes tokens.
//!
//! Every hook is an [`App`](crate::App) method with a default that fits RFC 6749 / 7009
//! providers, so an app overrides only what its provider does differently.

use std::collections::BTreeMap;

use serde_json::Value;

/// Settings stored with one connection, e.g. `{"subdomain": "acme"}` or
/// `{"accounts_server": "https://accounts.zoho.eu", "mail_api": "https://mail.zoho.eu"}`.
/// Not secret: platforms may show them. Every OAuth URL (the app's defaults and the
/// operator's overrides) may name one as `{name}`; the broker fills them in.
pub type ConnectionSettings = BTreeMap<String, String>;

/// A value the end user gives before the authorize redirect (Zendesk's subdomain). The
/// gateway asks for it (API field, connect page input) and stores the validated value
/// in the connection's [`ConnectionSettings`] under `name`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectField {
    /// Settings key and form field name, e.g. `subdomain`.
    pub name: &'static str,
    /// Short label for a form, e.g. `Zendesk subdomain`.
    pub label: &'static str,
    /// One line of help, e.g. `acme for acme.zendesk.com`.
    pub help: &'static str,
    /// Checks and normalises a value; the error is shown to the user. Values land in
    /// URLs, so a validator must refuse anything that could change a URL's host or path.
    pub validate: fn(&str) -> Result<String, String>,
}

/// What the broker keeps from a token response besides the tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenDetails {
    /// Settings to store with the connection (Slack's team id), merged over the
    /// settings already known.
    pub settings: ConnectionSettings,
    /// The provider's id for the connected account (Slack's user id).
    pub account_login: Option<String>,
    /// A human-readable account name (Slack's workspace name).
    pub account_label: Option<String>,
}

/// How the provider revokes tokens at the (filled) revoke URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Revocation {
    /// RFC 7009: a form POST of `token`, `token_type_hint` and the client credentials,
    /// once for the access token and once for the refresh token.
    #[default]
    Rfc7009,
    /// POST with the access token as the bearer token (Slack's `auth.revoke`). A JSON
    /// answer with `"ok": false` is a failure.
    BearerPost,
    /// DELETE with the access token as the bearer token (Zendesk's
    /// `/api/v2/oauth/tokens/current.json`).
    BearerDelete,
    /// POST to `revoke_url?token=<refresh token, else the access token>` (Zoho, where
    /// revoking the refresh token ends its access tokens too).
    RefreshTokenQuery,
    /// DELETE with HTTP Basic auth of the client id and secret and the JSON body
    /// `{"access_token": "..."}`: GitHub's `DELETE /applications/{client_id}/grant`,
    /// which ends the grant and every token of it. The revoke URL may name
    /// `{client_id}` and `{api_base_url}` (the effective API base URL).
    BasicAuthJsonDelete,
}

/// A DNS label as a [`ConnectField::validate`]: letters, digits and hyphens, 1 to 63
/// characters, no hyphen first or last; lower-cased. A full host name such as
/// `acme.zendesk.com` is refused (the field asks for the label alone).
pub fn dns_label(raw: &str) -> Result<String, String> {
    let value = raw.trim().to_ascii_lowercase();
    let ok = !value.is_empty()
        && value.len() <= 63
        && !value.starts_with('-')
        && !value.ends_with('-')
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(value)
    } else {
        Err(format!(
            "{raw:?} is not valid: use letters, digits and hyphens only (1 to 63, no hyphen first or last)"
        ))
    }
}

/// Fills `{name}` placeholders in `template` from `settings`. Names are lowercase
/// letters, digits and `_`; a placeholder without a setting is an error naming it.
pub fn fill_template(template: &str, settings: &ConnectionSettings) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("unclosed placeholder in {template:?}"));
        };
        let name = &after[..close];
        if !is_placeholder_name(name) {
            return Err(format!("invalid placeholder {{{name}}} in {template:?}"));
        }
        let value = settings
            .get(name)
            .ok_or_else(|| format!("this connection has no `{name}` setting"))?;
        out.push_str(value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholder names in `template`, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

fn is_placeholder_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Lifts a nested token object (Slack's `authed_user`) into RFC 6749's top level when
/// the top level has no `access_token`, keeping the other fields. A helper for
/// [`App::normalize_token_response`](crate::App::normalize_token_response).
pub fn lift_nested_token(mut body: Value, key: &str) -> Value {
    let has_top = body.get("access_token").is_some_and(Value::is_string);
    let nested = body
        .get(key)
        .filter(|n| n.get("access_token").is_some_and(Value::is_string))
        .cloned();
    if let (false, Some(Value::Object(nested)), Value::Object(top)) = (has_top, nested, &mut body) {
        for (field, value) in nested {
            top.insert(field, value);
        }
    }
    body
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn settings(pairs: &[(&str, &str)]) -> ConnectionSettings {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn templates_are_filled_from_settings() {
        let s = settings(&[("subdomain", "acme"), ("accounts_server", "https://a.eu")]);
        assert_eq!(
            fill_template("https://{subdomain}.zendesk.com/oauth/tokens", &s).unwrap(),
            "https://acme.zendesk.com/oauth/tokens"
        );
        assert_eq!(
            fill_template("{accounts_server}/oauth/v2/token", &s).unwrap(),
            "https://a.eu/oauth/v2/token"
        );
        assert_eq!(fill_template("https://plain", &s).unwrap(), "https://plain");
        let missing = fill_template("https://{region}.x", &s).unwrap_err();
        assert!(missing.contains("`region`"), "{missing}");
        assert!(fill_template("https://{Bad Name}.x", &s).is_err());
        assert!(fill_template("https://{open.x", &s).is_err());
        assert_eq!(
            placeholders("{a}/x/{b_2}/{c"),
            vec!["a", "b_2"],
            "an unclosed brace is no placeholder"
        );
    }

    #[test]
    fn dns_labels_only() {
        assert_eq!(dns_label(" Acme-2 ").unwrap(), "acme-2");
        for bad in [
            "",
            "-acme",
            "acme-",
            "a_b",
            "acme.zendesk.com",
            "evil.com/x",
            "a b",
            "ü",
            &"a".repeat(64),
        ] {
            assert!(dns_label(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_nested_token_is_lifted_only_when_the_top_level_has_none() {
        let slack = json!({"ok": true, "team": {"id": "T1"},
            "authed_user": {"id": "U1", "access_token": "xoxp-1", "token_type": "user", "scope": "chat:write"}});
        let lifted = lift_nested_token(slack, "authed_user");
        assert_eq!(lifted["access_token"], "xoxp-1");
        assert_eq!(lifted["token_type"], "user");
        assert_eq!(lifted["team"]["id"], "T1");
        let bot = json!({"access_token": "xoxb-1", "authed_user": {"access_token": "xoxp-1"}});
        assert_eq!(
            lift_nested_token(bot, "authed_user")["access_token"],
            "xoxb-1"
        );
        let error = json!({"ok": false, "error": "invalid_code"});
        assert_eq!(lift_nested_token(error.clone(), "authed_user"), error);
    }
}
