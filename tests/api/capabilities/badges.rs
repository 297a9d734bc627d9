//! Property: over a generated catalog of 1,000 providers (seeded, so a failure
//! replays), under several policies, every provider's browse badge matches an
//! independent reading of the policy (a rating below `min_rating` is a policy
//! state, never `in_policy`), each shelf's `allowed_count` matches its badges, and
//! search finds a provider exactly when its badge says `allowed`.

use std::collections::HashMap;
use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::set_policy;
use crate::helpers::{Backend, spawn_app_with};

struct Generated {
    uid: String,
    shelf: String,
    min_price_micros: i64,
    rating: f64,
    down: bool,
}

/// Writes shelves.toml (the shipped one) and a providers.toml of `n` providers.
fn generate(dir: &std::path::Path, n: usize, seed: u64) -> Vec<Generated> {
    let shelves = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/capabilities/shelves.toml"
    ))
    .unwrap();
    std::fs::write(dir.join("shelves.toml"), &shelves).unwrap();
    let slugs: Vec<String> = shelves
        .lines()
        .filter_map(|l| l.strip_prefix("slug = \""))
        .map(|s| s.trim_end_matches('"').to_owned())
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = String::new();
    let mut generated = Vec::new();
    for i in 0..n {
        let shelf = slugs[rng.random_range(0..slugs.len())].clone();
        let uid = format!("cap_gen_{i:04}");
        let min_micros: i64 = rng.random_range(0..100_000);
        let rating = f64::from(rng.random_range(0..=50)) / 10.0;
        let down = rng.random_bool(0.2);
        let endpoint = if down {
            format!("/gen/{i}")
        } else {
            format!("http://127.0.0.1:9/gen/{i}")
        };
        let pricing = if rng.random_bool(0.5) {
            format!(
                "{{ kind = \"fixed\", price_usd = {} }}",
                min_micros as f64 / 1e6
            )
        } else {
            format!(
                "{{ kind = \"quote\", quote_url = \"http://127.0.0.1:9/q\", min_price_usd = {}, max_price_usd = {} }}",
                min_micros as f64 / 1e6,
                (min_micros + 5_000) as f64 / 1e6
            )
        };
        write!(
            out,
            "[[provider]]\nuid = \"{uid}\"\nname = \"Generated zq{i:04}x\"\ncapability = \"{shelf}\"\n\
             description = \"generated provider\"\ncall_method = \"POST\"\nendpoint = \"{endpoint}\"\n\
             pricing = {pricing}\ninput_example = {{}}\nrating = {rating}\nverified = {}\n\n",
            rng.random_bool(0.5)
        )
        .unwrap();
        generated.push(Generated {
            uid,
            shelf,
            min_price_micros: min_micros,
            rating,
            down,
        });
    }
    std::fs::write(dir.join("providers.toml"), out).unwrap();
    generated
}

/// The policy read independently of the gateway: (policy_state, allowed).
fn expected(p: &Generated, policy: &Value) -> (&'static str, bool) {
    let has = |list: &str| {
        policy[list].as_array().is_some_and(|l| {
            l.iter()
                .any(|e| e == p.uid.as_str() || e == p.shelf.as_str())
        })
    };
    let state = if has("denylist") {
        "denylisted"
    } else if policy["mode"] == "curated" && !has("allowlist") {
        "not_allowlisted"
    } else if policy["min_rating"].as_f64().is_some_and(|m| p.rating < m) {
        "below_min_rating"
    } else if policy["max_cost_per_call_usd"]
        .as_f64()
        .is_some_and(|c| p.min_price_micros > (c * 1e6).round() as i64)
    {
        "above_ceiling"
    } else {
        "in_policy"
    };
    // Availability is not policy: a down provider keeps its state, not `allowed`.
    (state, state == "in_policy" && !p.down)
}

async fn badges_and_search_agree(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let generated = generate(dir.path(), 1000, 0x5eed);
    let catalog_dir = dir.path().to_path_buf();
    let app = spawn_app_with(backend, move |c| {
        c.capabilities_dir = Some(catalog_dir);
        c.capabilities_upstream_url = None;
    })
    .await;
    let (_, key) = app.create_end_user("prop").await;
    let pick = |every: usize, offset: usize| -> Vec<Value> {
        generated
            .iter()
            .skip(offset)
            .step_by(every)
            .map(|g| json!(g.uid))
            .collect()
    };
    let allow = [
        pick(3, 1),
        vec![json!("geolocation"), json!("translation"), json!("weather")],
    ]
    .concat();
    let deny = [pick(11, 2), vec![json!("weather")]].concat();
    let policies = [
        json!({"enabled": true, "mode": "open", "allowlist": [], "denylist": pick(7, 0),
               "max_cost_per_call_usd": 0.05, "min_rating": 2.5}),
        json!({"enabled": true, "mode": "curated",
               "allowlist": allow,
               "denylist": deny,
               "max_cost_per_call_usd": 0.02, "min_rating": null}),
        json!({"enabled": true, "mode": "open", "allowlist": [], "denylist": [],
               "max_cost_per_call_usd": null, "min_rating": null}),
    ];
    for policy in &policies {
        let set = set_policy(&app, app.platform_id, policy).await;
        assert_eq!(set.status, 200, "{}", set.body);
        let shelves = app.get("/v1/capabilities", &key).await;
        let mut badges: HashMap<String, Value> = HashMap::new();
        for shelf in shelves.body["data"].as_array().unwrap() {
            let slug = shelf["slug"].as_str().unwrap();
            let listed = app
                .get(
                    &format!("/v1/capabilities/{slug}/providers?limit=100"),
                    &key,
                )
                .await;
            let providers = listed.body["data"].as_array().unwrap();
            assert_eq!(
                providers.len() as u64,
                shelf["provider_count"].as_u64().unwrap()
            );
            let allowed = providers.iter().filter(|p| p["allowed"] == true).count();
            assert_eq!(
                allowed as u64,
                shelf["allowed_count"].as_u64().unwrap(),
                "{slug}"
            );
            for p in providers {
                badges.insert(p["uid"].as_str().unwrap().to_owned(), p.clone());
            }
        }
        assert_eq!(badges.len(), 1000);
        for g in &generated {
            let badge = &badges[&g.uid];
            let (state, allowed) = expected(g, policy);
            assert_eq!(badge["policy_state"], state, "{} under {policy}", g.uid);
            assert_eq!(badge["allowed"], allowed, "{} under {policy}", g.uid);
            assert_eq!(
                badge["availability"],
                if g.down { "down" } else { "unknown" }
            );
            assert_eq!(
                badge.get("blocked_by").cloned(),
                g.down.then(|| json!("down")),
                "only availability blocks beside the policy state: {badge}"
            );
            let i = &g.uid["cap_gen_".len()..];
            let found = app
                .post(
                    "/v1/capabilities/search",
                    &key,
                    &json!({"query": format!("zq{i}x")}),
                )
                .await;
            let hits = found.body["data"].as_array().unwrap();
            assert_eq!(
                hits.iter().any(|h| h["uid"] == g.uid.as_str()),
                allowed,
                "search and badge disagree on {}: {badge}",
                g.uid
            );
        }
    }
    app.stop().await;
}

both_backends!(badges_and_search_agree);
