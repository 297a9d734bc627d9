//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`): each takes raw
//! bytes, runs one parser or translator that reads what the network sends, and
//! panics only when a promise of that code is broken (a panic inside it, or an
//! answer that contradicts the input). The unit tests below replay every input
//! that once broke one of them (`fuzz/regressions/<target>/`) and the seeds.

use std::sync::OnceLock;

use assistiv_llm::ProviderKind;
use assistiv_llm::openai::ChatRequest;
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::Value;

use crate::domain::nul::nul_path;

/// The first byte chooses how the rest is read, so one corpus reaches every
/// branch of a target.
fn split(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(first, rest)| (*first, rest))
}

/// A JSON-RPC body as POSTed to `/mcp`: the edge's reading of it agrees with a
/// plain JSON parse; the rewrite of a plain post stays JSON; `tools/call`
/// arguments go through the NUL check and every app tool's argument schema.
pub fn mcp_body(data: &[u8]) {
    use crate::mcp::edge::Message;
    let method = match Message::read(data) {
        Message::ToolCall { .. } => Some("tools/call"),
        Message::ListTools { .. } => Some("tools/list"),
        Message::Request { .. } => Some(""),
        Message::Plumbing | Message::Malformed { .. } => None,
    };
    if let Some(method) = method {
        let parsed: Value = match serde_json::from_slice(data) {
            Ok(parsed) => parsed,
            Err(err) => panic!("the edge read a request from a body that is not JSON: {err}"),
        };
        assert_eq!(parsed["jsonrpc"], "2.0", "a request without jsonrpc 2.0");
        assert!(parsed["method"].is_string(), "a request without a method");
        assert!(
            method.is_empty() || parsed["method"] == method,
            "the edge saw another method"
        );
    }
    let (mut parts, ()) = axum::http::Request::post("/mcp")
        .header("content-type", "application/json")
        .body(())
        .unwrap_or_default()
        .into_parts();
    if let Some(rewritten) = crate::mcp::bare::rewrite(&mut parts, data)
        && serde_json::from_slice::<Value>(&rewritten).is_err()
    {
        panic!("a rewritten plain post is not JSON");
    }
    if let Ok(parsed) = serde_json::from_slice::<Value>(data)
        && let Some(arguments) = parsed["params"]["arguments"].as_object()
    {
        let arguments = Value::Object(arguments.clone());
        let _ = nul_path(&arguments);
        for validator in app_tool_validators() {
            let _ = validator.iter_errors(&arguments).count();
        }
    }
}

/// The argument schemas of every compiled-in app's tools, compiled once.
fn app_tool_validators() -> &'static [jsonschema::Validator] {
    static VALIDATORS: OnceLock<Vec<jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        crate::apps::AppRegistry::builtin()
            .all()
            .iter()
            .flat_map(|app| app.tools())
            .filter_map(|spec| jsonschema::validator_for(&spec.input_schema).ok())
            .collect()
    })
}

/// A skill zip: unpacking never panics within the caps; a folder it accepts
/// encodes and decodes to itself, with normalised paths and a `SKILL.md`
/// (whose front matter the catalog checks next, also fuzzed here).
pub fn skill_zip(data: &[u8]) {
    use crate::skills::folder::{Folder, Limits, MANIFEST, normalise_path};
    let limits = Limits {
        zip_bytes: 256 * 1024,
        unpacked_bytes: 1024 * 1024,
        files: 64,
        file_bytes: 512 * 1024,
    };
    if let Ok(folder) = crate::skills::intake::unpack(data, &limits) {
        let encoded = folder.encode();
        let decoded = match Folder::decode(&encoded) {
            Ok(decoded) => decoded,
            Err(err) => panic!("an accepted folder does not decode: {err:?}"),
        };
        assert_eq!(
            decoded.files(),
            folder.files(),
            "encode/decode changed the folder"
        );
        for file in folder.files() {
            assert_eq!(
                normalise_path(&file.path).ok().as_deref(),
                Some(file.path.as_str()),
                "a stored path is not normalised"
            );
        }
        // The manifest's fields are checked by the catalog, after the unpacking.
        match folder.get(MANIFEST) {
            Some(manifest) => drop(crate::skills::manifest::parse(&manifest.content)),
            None => panic!("an accepted folder has no {MANIFEST}"),
        }
    }
    let _ = Folder::decode(data);
}

/// A capability input or a provider's quote: input schemas and the NUL check
/// take any JSON; a price read from a quote or an x402 challenge is never
/// negative; a USD amount accepted as JSON round-trips at the micro-dollar.
pub fn capability_input(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = nul_path(&value);
    for validator in capability_validators() {
        let _ = validator.iter_errors(&value).count();
    }
    for price in [
        crate::capabilities::upstream::price_usd(&value["price_usd"]),
        crate::capabilities::upstream::x402_price(&value),
    ]
    .into_iter()
    .flatten()
    {
        assert!(!price.is_negative(), "a negative price was read");
    }
    if let Value::Number(number) = &value
        && let Ok(money) = crate::billing::money::Money::from_usd_json("amount", number)
    {
        let text = format!("{:.6}", rust_decimal::Decimal::new(money.micros(), 6));
        let again = text.parse::<serde_json::Number>().ok();
        let round =
            again.and_then(|n| crate::billing::money::Money::from_usd_json("amount", &n).ok());
        assert_eq!(round, Some(money), "{number} -> {text} did not round-trip");
    }
}

/// The built-in capability catalog's input schemas, compiled once.
fn capability_validators() -> &'static [jsonschema::Validator] {
    static VALIDATORS: OnceLock<Vec<jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        crate::capabilities::catalog::Catalog::load(None)
            .map(|catalog| {
                catalog
                    .providers
                    .iter()
                    .filter_map(|p| jsonschema::validator_for(&p.input_schema).ok())
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The OAuth callback's query and the signed start link: any query parses or
/// is refused; a link verifies only as it was signed, and any change to it fails.
pub fn oauth_callback(data: &[u8]) {
    use crate::oauth::link::{LinkSigner, StartClaims};
    let _ = serde_urlencoded::from_bytes::<crate::oauth::flow::CallbackParams>(data);
    let signer = LinkSigner::new(&[7u8; 32]);
    let text = String::from_utf8_lossy(data);
    assert!(
        signer.verify(&text, 0).is_err(),
        "an unsigned token verified"
    );
    let Some((selector, rest)) = split(data) else {
        return;
    };
    let app = String::from_utf8_lossy(rest).into_owned();
    let claims = StartClaims {
        platform_id: uuid::Uuid::from_u128(u128::from(selector)),
        end_user_id: uuid::Uuid::from_u128(u128::from(selector) << 64),
        app,
        expires_at_ms: i64::from(selector) * 1000 + 1,
    };
    let token = signer.sign(&claims);
    match signer.verify(&token, 0) {
        Ok(back) => assert_eq!(back, claims, "a signed link verified as other claims"),
        Err(err) => assert!(
            claims.app.is_empty(),
            "a freshly signed link did not verify: {err:?}"
        ),
    }
    let mut tampered = token.into_bytes();
    let at = usize::from(selector) % tampered.len().max(1);
    if let Some(byte) = tampered.get_mut(at) {
        *byte = if *byte == b'A' { b'B' } else { b'A' };
    }
    if let Ok(tampered) = String::from_utf8(tampered)
        && let Ok(back) = signer.verify(&tampered, 0)
    {
        assert_eq!(back, claims, "a changed link verified as other claims");
    }
}

/// A chat completion body and each provider translation both ways: the
/// request translations refuse or translate, the provider answers (whole and
/// streamed) translate or fail with an error, never a panic.
pub fn chat_body(data: &[u8]) {
    let Some((selector, rest)) = split(data) else {
        return;
    };
    match selector % 6 {
        0 => {
            if let Ok(request) = serde_json::from_slice::<ChatRequest>(rest) {
                let _ = assistiv_llm::anthropic::to_messages_request(&request, request.is_stream());
                let _ = assistiv_llm::gemini::to_generate_content_request(&request);
                let _ = assistiv_llm::estimate_prompt_tokens(&request);
                let back = serde_json::to_vec(&request).ok();
                let again = back.and_then(|b| serde_json::from_slice::<ChatRequest>(&b).ok());
                assert!(again.is_some(), "a parsed request does not serialize back");
            }
        }
        1 => {
            if let Ok(answer) =
                serde_json::from_slice::<assistiv_llm::anthropic::MessagesResponse>(rest)
            {
                let _ = assistiv_llm::anthropic::to_chat_completion(answer);
            }
        }
        2 => {
            if let Ok(answer) =
                serde_json::from_slice::<assistiv_llm::gemini::GenerateContentResponse>(rest)
            {
                let _ = assistiv_llm::gemini::to_chat_completion(answer, "gemini-2.0-flash");
            }
        }
        3 => drain(assistiv_llm::anthropic::stream::chunk_stream(
            assistiv_llm::stream::sse_from_text(
                ProviderKind::Anthropic,
                &String::from_utf8_lossy(rest),
            ),
            true,
        )),
        4 => drain(assistiv_llm::gemini::stream::chunk_stream(
            assistiv_llm::stream::sse_from_text(
                ProviderKind::Google,
                &String::from_utf8_lossy(rest),
            ),
            "gemini-2.0-flash",
            true,
        )),
        _ => {
            if let Ok(request) = assistiv_llm::responses::CreateResponse::parse(rest)
                && let Ok(items) = request.input_items()
            {
                let _ = assistiv_llm::responses::chat::messages(
                    request.instructions.as_deref(),
                    &items,
                );
            }
        }
    }
}

/// Runs a translated stream to its end (it is in memory: nothing waits).
fn drain(stream: assistiv_llm::ChunkStream) {
    futures::executor::block_on(stream.for_each(|_| async {}));
}

/// Standard Webhooks signing: with any key, id, timestamp and body, every
/// signature in the header is one of the secrets' and checks under the
/// independent verifier the fuzz target passes in.
pub fn webhook_signing(data: &[u8], verify: impl Fn(&str, &str, i64, &str, &str) -> bool) {
    use base64::Engine;
    let Some((selector, rest)) = split(data) else {
        return;
    };
    let key_len = usize::from(selector % 48).min(rest.len());
    let (key, rest) = rest.split_at(key_len);
    let text = String::from_utf8_lossy(rest);
    let (id, body) = text.split_once('\n').unwrap_or(("msg_1", &text));
    let timestamp = i64::from(selector) * 1_000_003;
    let secret = format!(
        "{}{}",
        crate::webhooks::signing::SECRET_PREFIX,
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let sealed = SecretString::from(secret.clone());
    let header = crate::webhooks::signing::signature_header(&[&sealed], id, timestamp, body);
    if key.is_empty() {
        assert!(header.is_empty(), "an empty key signed");
        return;
    }
    assert!(
        verify(&secret, id, timestamp, body, &header),
        "the verifier refused our signature"
    );
    let other = SecretString::from(format!(
        "{}{}",
        crate::webhooks::signing::SECRET_PREFIX,
        base64::engine::general_purpose::STANDARD.encode([key, b"x"].concat())
    ));
    let both = crate::webhooks::signing::signature_header(&[&other, &sealed], id, timestamp, body);
    assert!(
        verify(&secret, id, timestamp, body, &both),
        "a rotation header lost the current signature"
    );
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The seeds of each target and every input a target once failed on
    /// (`fuzz/regressions/<target>/`), replayed on every test run.
    #[test]
    fn fuzz_seeds_and_recorded_findings_pass() {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 5] = [
            ("mcp_body", super::mcp_body),
            ("skill_zip", super::skill_zip),
            ("capability_input", super::capability_input),
            ("oauth_callback", super::oauth_callback),
            ("chat_body", super::chat_body),
        ];
        let mut replayed = 0;
        for (name, target) in targets {
            for dir in ["seeds", "regressions"] {
                let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(name)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    if let Ok(data) = std::fs::read(entry.path()) {
                        target(&data);
                        replayed += 1;
                    }
                }
            }
        }
        assert!(
            replayed >= 20,
            "the seeds are missing: {replayed} inputs replayed"
        );
    }
}
