//! 500 concurrent runs on a budget that fits 50: exactly 50 billed, the rest
//! refused `budget_exhausted`, no overspend, nothing left held, the ledger exact.

use serde_json::json;

use super::{add_provider, budget, provider, set_policy, spawn, upstream, user_with_budget};
use crate::helpers::Backend;

async fn five_hundred_runs_on_a_budget_for_fifty(backend: Backend) {
    let up = upstream().await;
    let app = spawn(backend, &up).await;
    let body = provider(
        "cap_t_cent",
        "image-generation",
        &format!("{}/fixed/run", up.base),
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    assert_eq!(add_provider(&app, &body).await.status, 201);
    set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    let (euid, key) = user_with_budget(&app, "crowd", 0.5).await;

    let run = json!({"capability": "cap_t_cent", "input": {"prompt": "p"}});
    let tasks = (0..500).map(|_| {
        let request = app
            .request(reqwest::Method::POST, "/v1/capabilities/run", Some(&key))
            .json(&run);
        async move {
            request
                .send()
                .await
                .expect("sent")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    });
    let answers = futures::future::join_all(tasks).await;
    let billed = answers
        .iter()
        .filter(|a| a["final_state"] == "billed")
        .count();
    let exhausted = answers
        .iter()
        .filter(|a| a["error"]["code"] == "budget_exhausted")
        .count();
    assert_eq!(billed, 50, "exactly what the budget fits");
    assert_eq!(exhausted, 450, "the rest refused before any call");
    assert_eq!(
        up.seen.calls.load(std::sync::atomic::Ordering::SeqCst),
        50,
        "refused runs never call"
    );

    let b = budget(&app, euid).await;
    assert_eq!(b["balance_usd"], 0.0, "{b}");
    assert_eq!(b["held_usd"], 0.0, "{b}");
    let sums: Vec<(i64, i64)> = app
        .state
        .db
        .fetch_all(
            "SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT), COUNT(*) FROM budget_ledger \
             WHERE end_user_id = $1 AND related_id LIKE 'capability_run:%'",
            &assistiv::args![euid],
        )
        .await
        .unwrap();
    assert_eq!(sums[0], (-500_000, 50), "50 spends of a cent in the ledger");
    let runs: Vec<(i64, i64)> = app
        .state
        .db
        .fetch_all(
            "SELECT COUNT(*), CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM capability_runs WHERE end_user_id = $1",
            &assistiv::args![euid],
        )
        .await
        .unwrap();
    assert_eq!(runs[0], (50, 500_000));
    let holds: Vec<(i64,)> = app
        .state
        .db
        .fetch_all("SELECT COUNT(*) FROM holds", &[])
        .await
        .unwrap();
    assert_eq!(holds[0].0, 0, "no stuck hold");
    app.stop().await;
}

both_backends!(five_hundred_runs_on_a_budget_for_fifty);
