//! Slack's OAuth v2 quirks, against the documented `oauth.v2.access` answers.

use assistiv_app_sdk::{App, Revocation};
use assistiv_app_slack::{OAUTH, SlackApp};
use serde_json::json;

use crate::helpers::fixture;

#[test]
fn user_scopes_go_in_user_scope_comma_separated() {
    let app = SlackApp::new();
    assert_eq!(app.scope_param(), "user_scope");
    assert_eq!(OAUTH.scope_separator, ",");
    assert!(
        OAUTH
            .default_scope_param()
            .ends_with(",users.profile:read,search:read")
    );
    assert!(OAUTH.pkce_s256);
    assert_eq!(OAUTH.token_url, "https://slack.com/api/oauth.v2.access");
    assert_eq!(OAUTH.revoke_url, Some("https://slack.com/api/auth.revoke"));
    assert_eq!(app.revocation(), Revocation::BearerPost);
    assert!(app.connect_fields().is_empty());
}

#[test]
fn the_user_token_is_read_from_authed_user() {
    let app = SlackApp::new();
    let body = app.normalize_token_response(fixture("oauth_v2_access_user"));
    assert_eq!(body["access_token"], "xoxp-1234");
    assert_eq!(body["token_type"], "user");
    assert_eq!(body["scope"], "channels:read,chat:write,search:read");
    let details = app.token_details(&body);
    assert_eq!(details.account_login.as_deref(), Some("U1234"));
    assert_eq!(details.account_label.as_deref(), Some("Slack Softworks"));
    assert_eq!(details.settings["team_id"], "T9TK3CUKW");
}

#[test]
fn rotating_tokens_carry_their_refresh_token_and_expiry() {
    let app = SlackApp::new();
    let body = app.normalize_token_response(fixture("oauth_v2_access_rotating"));
    assert_eq!(body["access_token"], "xoxe.xoxp-1-Mi0yLTEyMzQ");
    assert_eq!(body["refresh_token"], "xoxe-1-My0xLTEyMzQ");
    assert_eq!(body["expires_in"], 43200);
    // A refresh answer has the token at the top level already: unchanged.
    let refreshed = fixture("oauth_v2_access_refreshed");
    assert_eq!(app.normalize_token_response(refreshed.clone()), refreshed);
}

#[test]
fn ok_false_stays_an_error_answer() {
    let app = SlackApp::new();
    let body = app.normalize_token_response(fixture("oauth_v2_access_error"));
    assert_eq!(body, json!({"ok": false, "error": "invalid_code"}));
}
