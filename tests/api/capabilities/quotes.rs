//! A provider's quote must fall inside the price range it declared: a quote
//! above the maximum (or below the minimum) is the provider misbehaving, refused
//! with 502 `upstream_error` naming the range, and nothing is held or charged,
//! even under an open policy with no ceiling and no `max_pay`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::{add_provider, budget, provider, run, set_policy, spawn, upstream, user_with_budget};
use crate::helpers::Backend;

/// Quote endpoints answering the price in their path; a run endpoint that counts.
async fn quoting_upstream() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/quote/{price}",
            post(|Path(price): Path<f64>| async move { Json(json!({"price_usd": price})) }),
        )
        .route(
            "/run",
            post(|State(calls): State<Arc<AtomicUsize>>| async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Json(json!({"done": true}))
            }),
        )
        .with_state(Arc::clone(&calls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, calls)
}

async fn a_quote_outside_the_declared_range_is_refused(backend: Backend) {
    let up = upstream().await;
    let (base, calls) = quoting_upstream().await;
    let app = spawn(backend, &up).await;
    for (uid, price) in [
        ("cap_t_q_high", "100"),
        ("cap_t_q_low", "0.0005"),
        ("cap_t_q_fair", "0.25"),
    ] {
        let quoted = provider(
            uid,
            "image-generation",
            &format!("{base}/run"),
            json!({"kind": "quote", "quote_url": format!("{base}/quote/{price}"),
                   "min_price_usd": 0.001, "max_price_usd": 0.5}),
        );
        assert_eq!(add_provider(&app, &quoted).await.status, 201);
    }
    // The x402 stand-in's cheapest challenge is 0.0015 USD: below this range.
    let mut x402 = provider(
        "cap_t_x402_range",
        "geolocation",
        &format!("{}/x402/ip", up.base),
        json!({"kind": "x402", "min_price_usd": 0.002, "max_price_usd": 0.003}),
    );
    x402["call_method"] = json!("GET");
    assert_eq!(add_provider(&app, &x402).await.status, 201);
    set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    let (euid, key) = user_with_budget(&app, "quoted", 1000.0).await;
    let input = json!({"prompt": "p"});

    for (uid, quoted, range) in [
        ("cap_t_q_high", "100", "0.001-0.5"),
        ("cap_t_q_low", "0.0005", "0.001-0.5"),
        ("cap_t_x402_range", "0.0015", "0.002-0.003"),
    ] {
        let refused = run(&app, &key, &json!({"capability": uid, "input": input})).await;
        refused.assert_error(502, "upstream_error");
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(quoted) && message.contains(range),
            "{uid}: {message}"
        );
        let b = budget(&app, euid).await;
        assert_eq!(b["held_usd"], 0.0, "{b}");
        assert_eq!(b["balance_usd"], 1000.0, "{b}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no provider was called");

    // Inside the range it runs as before.
    let fair = run(
        &app,
        &key,
        &json!({"capability": "cap_t_q_fair", "input": input}),
    )
    .await;
    assert_eq!(fair.status, 200, "{}", fair.body);
    assert_eq!(fair.body["final_state"], "billed", "{}", fair.body);
    assert_eq!(fair.body["cost_usd"], 0.25, "{}", fair.body);
    let runs: Vec<(i64,)> = app
        .state
        .db
        .fetch_all(
            "SELECT COUNT(*) FROM capability_runs WHERE end_user_id = $1",
            &assistiv::args![euid],
        )
        .await
        .unwrap();
    assert_eq!(runs[0].0, 1, "only the fair run is recorded");
    let b = budget(&app, euid).await;
    assert_eq!(
        (b["held_usd"].clone(), b["balance_usd"].clone()),
        (json!(0.0), json!(999.75))
    );
    app.stop().await;
}

both_backends!(a_quote_outside_the_declared_range_is_refused);
