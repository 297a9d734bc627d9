//! The official OpenAI SDKs, unmodified (Python `openai` and TypeScript `openai`,
//! pinned in tests/peers), against the Responses API in front of the mock and
//! the OpenAI, Anthropic and Gemini stand-ins: responses.create (plain, with
//! the cost header), responses.stream, responses.parse (Pydantic / Zod), a
//! three-turn `previous_response_id` chain (the provider sees the whole
//! conversation), retrieve / input_items / delete, hosted MCP items in the
//! SDKs' typed models with an approval round trip (on the mock), and the typed
//! errors. Missing peers fail the test, never skip it.

use std::path::Path;

use assistiv_llm::stand_in::StandIn;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::inference::{add_provider, funded_user_on, stand_ins_on};
use crate::inference_sdks::{node, python, run_peer};

struct Keys {
    base_url: String,
    eu: String,
    other_eu: String,
    platform: String,
}

/// Runs one peer script for `model`; its last stdout line as JSON.
async fn run(program: &Path, script: &str, keys: &Keys, model: &str, hosted_mcp: bool) -> Value {
    run_peer(
        program,
        script,
        &[
            ("ASSISTIV_BASE_URL", &keys.base_url),
            ("ASSISTIV_EU_KEY", &keys.eu),
            ("ASSISTIV_OTHER_EU_KEY", &keys.other_eu),
            ("ASSISTIV_PLATFORM_KEY", &keys.platform),
            ("ASSISTIV_MODEL", model),
            ("ASSISTIV_HOSTED_MCP", if hosted_mcp { "1" } else { "0" }),
        ],
        model,
    )
    .await
}

/// The (role, text) turns of a provider request: OpenAI's and Anthropic's
/// `messages`, Gemini's `contents` (`model` read as `assistant`); system
/// messages left out.
fn conversation(body: &Value) -> Vec<(String, String)> {
    fn text(value: &Value) -> String {
        match value {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|part| part["text"].as_str())
                .collect(),
            _ => String::new(),
        }
    }
    let turns = body["messages"]
        .as_array()
        .or_else(|| body["contents"].as_array())
        .unwrap_or_else(|| panic!("no messages or contents: {body}"));
    turns
        .iter()
        .filter(|turn| turn["role"] != "system")
        .map(|turn| {
            let role = match turn["role"].as_str().unwrap_or_default() {
                "model" => "assistant",
                role => role,
            };
            let content = if turn["parts"].is_array() {
                &turn["parts"]
            } else {
                &turn["content"]
            };
            (role.to_owned(), text(content))
        })
        .collect()
}

/// What every run proves, from its JSON line and the gateway's own view.
async fn check_run(
    app: &TestApp,
    keys: &Keys,
    model: &str,
    out: &Value,
    stand_in: Option<&StandIn>,
) {
    assert_eq!(out["ok"], true, "{model}: {out}");
    let lang = if out["sdk"] == "3.51.0" {
        "python"
    } else {
        assert_eq!(out["sdk"], "7.55.0", "{model}: {out}");
        "typescript"
    };
    assert_eq!(out["plain"], format!("ping from {lang}"), "{model}");
    assert_eq!(out["streamed"], format!("hello streamed {lang}"), "{model}");
    let parsed = &out["parsed"];
    assert!(
        parsed["city"].is_string()
            && parsed["temperature_c"].is_number()
            && parsed["sunny"].is_boolean(),
        "{model}: {parsed}"
    );
    assert_eq!(
        out["errors"],
        json!({"platform_key": "forbidden", "unknown_previous": "previous_response_not_found",
               "other_user": "response_not_found"}),
        "{model}"
    );

    // The chain, read back through the gateway: turn 2 continues turn 1, turn
    // 3 was deleted by the script.
    let ids: Vec<&str> = out["chain"]["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{model}: {out}");
    assert!(ids.iter().all(|id| id.starts_with("resp_")), "{ids:?}");
    assert_eq!(out["deleted"], ids[2]);
    let second = app
        .get(&format!("/v1/responses/{}", ids[1]), &keys.eu)
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["previous_response_id"], ids[0]);
    let gone = app
        .get(&format!("/v1/responses/{}", ids[2]), &keys.eu)
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert!(
        out["input_item"]["id"]
            .as_str()
            .unwrap()
            .starts_with("msg_"),
        "{}",
        out["input_item"]
    );

    // Turn 3 reached the provider with both earlier turns (user and assistant)
    // before its own message.
    if let Some(stand_in) = stand_in {
        let texts: Vec<&str> = out["chain"]["texts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|text| text.as_str().unwrap())
            .collect();
        let expected: Vec<(String, String)> = [
            ("user", texts[0]),
            ("assistant", texts[0]),
            ("user", texts[1]),
            ("assistant", texts[1]),
            ("user", texts[2]),
        ]
        .into_iter()
        .map(|(role, text)| (role.to_owned(), text.to_owned()))
        .collect();
        let body = stand_in.last_request().unwrap().body;
        assert_eq!(conversation(&body), expected, "{model}: {body}");
    }
}

async fn official_sdks_speak_the_responses_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let (pid, pkey) = app.create_platform("responses-sdks").await;
    let enabled = app
        .patch(
            &format!("/v1/platforms/{pid}"),
            &pkey,
            &json!({"skills_enabled": true}),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    add_provider(&app, pid, json!({"provider": "mock"})).await;
    let [openai, anthropic, gemini] = stand_ins_on(&app, pid).await;
    let (_, eu) = funded_user_on(&app, pid, &pkey, "responses-user", 50.0).await;
    let (_, other_eu) = funded_user_on(&app, pid, &pkey, "responses-other", 5.0).await;
    let keys = Keys {
        base_url: app.address.clone(),
        eu,
        other_eu,
        platform: pkey.clone(),
    };
    for (model, stand_in) in [
        ("mock-1", None),
        ("gpt-4o-mini", Some(&openai)),
        ("anthropic/claude-sonnet-4-6", Some(&anthropic)),
        ("gemini-2.0-flash", Some(&gemini)),
    ] {
        let hosted_mcp = stand_in.is_none();
        let mut mcp = Vec::new();
        for (program, script) in [
            (python(), "tests/peers/python_openai_responses.py"),
            (node(), "tests/peers/ts_openai_responses.mjs"),
        ] {
            let out = run(&program, script, &keys, model, hosted_mcp).await;
            check_run(&app, &keys, model, &out, stand_in).await;
            mcp.push(out["mcp"].clone());
        }
        if hosted_mcp {
            for run in &mcp {
                assert_eq!(
                    run["types"],
                    json!(["mcp_list_tools", "mcp_call", "message"]),
                    "{run}"
                );
                assert!(
                    run["approval_request_id"]
                        .as_str()
                        .is_some_and(|id| !id.is_empty()),
                    "{run}"
                );
                assert_eq!(run["approved_call"], run["approval_request_id"], "{run}");
            }
        } else {
            assert_eq!(mcp, [Value::Null, Value::Null], "{model}");
        }
    }
    app.stop().await;
}

both_backends!(official_sdks_speak_the_responses_api);
