//! Connect in the loop: a tool of an app the end user has not connected (or must
//! reconnect), called by a client that can open a URL for its user, answers
//! `input_required` with the signed start link of that one app instead of a
//! `not_connected` error; the client's retry after the user connected runs the
//! call. An app with connect fields (Zendesk's subdomain) first asks them with a
//! form, checked by the app, and the link then carries them.

use std::collections::BTreeMap;

use assistiv_app_sdk::{App, ConnectField};
use rmcp::model::{CallToolResult, ElicitationSchema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apps::AppSlug;
use crate::oauth::TokenError;
use crate::tools::rounds::{Answer, Ask, Rounds};

/// The question keys of a connect round.
const FIELDS: &str = "connect_fields";
const LINK: &str = "connect";

/// What a connect round remembers (sealed in `requestState`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "asked", rename_all = "snake_case")]
enum Asked {
    /// The app's connect fields.
    ConnectFields { app: String },
    /// The start link.
    ConnectLink { app: String },
}

/// The next round of a call whose user has no usable connection of `app`:
/// a question, or (when the user refused, or came back still unconnected)
/// the tool error an older client gets.
pub fn next(
    app: &dyn App,
    slug: &AppSlug,
    missing: TokenError,
    rounds: &Rounds,
) -> Result<Ask, CallToolResult> {
    let connect_url = match &missing {
        TokenError::NotConnected { connect_url } | TokenError::NeedsReauth { connect_url } => {
            connect_url.clone()
        }
        TokenError::Failed(_) => return Err(super::tools::token_error(slug, missing)),
    };
    let same_app = |asked: &str| asked == slug.as_str();
    match rounds.state_as::<Asked>() {
        // The user was sent to the link and the client is back: still not
        // connected, so the error (with the link), not another round.
        Some(Asked::ConnectLink { app: asked }) if same_app(&asked) => {
            Err(not_connected(slug, missing, rounds.answer(LINK)))
        }
        Some(Asked::ConnectFields { app: asked }) if same_app(&asked) => {
            match rounds.answer(FIELDS) {
                Some(Answer::Accepted(content)) => match settings(app, &content) {
                    Ok(settings) => Ok(ask_link(app, slug, &connect_url, &settings)),
                    // A value the user can fix: the same form again, with the reason.
                    Err(reason) => Ok(ask_fields(app, slug, Some(&reason))),
                },
                answer => Err(not_connected(slug, missing, answer)),
            }
        }
        _ if !app.connect_fields().is_empty() && rounds.form => Ok(ask_fields(app, slug, None)),
        // Without forms the start page asks the fields itself.
        _ => Ok(ask_link(app, slug, &connect_url, &BTreeMap::new())),
    }
}

fn not_connected(slug: &AppSlug, missing: TokenError, answer: Option<Answer>) -> CallToolResult {
    let mut result = super::tools::token_error(slug, missing);
    if answer == Some(Answer::Refused)
        && let Some(Value::Object(body)) = result.structured_content.as_mut()
    {
        body.insert(
            "message".into(),
            Value::from(format!(
                "the user declined to connect {slug}; open connect_url to connect it, then retry"
            )),
        );
    }
    result
}

fn ask_fields(app: &dyn App, slug: &AppSlug, problem: Option<&str>) -> Ask {
    let mut message = format!(
        "Connecting {} needs a few details first.",
        app.display_name()
    );
    if let Some(problem) = problem {
        message = format!("{message} {problem}");
    }
    Ask::new(Asked::ConnectFields {
        app: slug.as_str().to_owned(),
    })
    .form(FIELDS, message, fields_schema(app.connect_fields()))
}

fn fields_schema(fields: &[ConnectField]) -> ElicitationSchema {
    let mut builder = ElicitationSchema::builder();
    for field in fields {
        builder = builder
            .required_string_with(field.name, |s| s.title(field.label).description(field.help));
    }
    // Every property named as required exists: the build cannot fail.
    builder
        .build()
        .unwrap_or_else(|_| ElicitationSchema::new(BTreeMap::new()))
}

/// The form's answer as the app's settings, checked by the app's validators.
fn settings(app: &dyn App, content: &Value) -> Result<BTreeMap<String, String>, String> {
    let Value::Object(map) = content else {
        return Err("Answer with the form's fields.".into());
    };
    let mut input = BTreeMap::new();
    for (name, value) in map {
        let Some(text) = value.as_str() else {
            return Err(format!("{name} must be text."));
        };
        input.insert(name.clone(), text.to_owned());
    }
    crate::oauth::settings::from_connect_input(app, &input)
        .map(|settings| settings.into_iter().collect())
        .map_err(|err| err.message().to_owned())
}

fn ask_link(
    app: &dyn App,
    slug: &AppSlug,
    connect_url: &str,
    settings: &BTreeMap<String, String>,
) -> Ask {
    let url = match assistiv_app_sdk::reqwest::Url::parse(connect_url) {
        Ok(mut url) => {
            // The start link takes the connect fields as query parameters.
            url.query_pairs_mut().extend_pairs(settings);
            url.to_string()
        }
        Err(_) => connect_url.to_owned(),
    };
    Ask::new(Asked::ConnectLink {
        app: slug.as_str().to_owned(),
    })
    .url(
        LINK,
        format!(
            "Connect your {} account so this call can act as you: open the link, approve, \
             then come back.",
            app.display_name()
        ),
        url,
    )
}
