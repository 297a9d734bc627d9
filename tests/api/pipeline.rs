//! The one paid-call pipeline (`billing::pipeline`): work whose cost grows while
//! it runs is settled at what it consumed, above or below its hold, and work cut
//! off midway is charged what it consumed with nothing left held.

use std::time::Duration;

use assistiv::billing::Money;
use assistiv::billing::pipeline::{Begun, Charge, Finished, PaidCall, Reservation, UsageDraft};
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::holds::{assert_exact_books, user_with_budget};

const CENT: Money = Money::from_micros(10_000);

fn call(app: &TestApp, euid: uuid::Uuid) -> PaidCall {
    PaidCall {
        platform_id: app.platform_id,
        end_user_id: euid,
        purpose: "test_stream",
        idempotency: None,
        usage: UsageDraft {
            kind: "inference",
            model: Some("mock-1".into()),
            request_id: "req_test".into(),
            ..UsageDraft::default()
        },
    }
}

async fn reserve(app: &TestApp, euid: uuid::Uuid, amount: Money) -> Reservation {
    match app
        .state
        .billing
        .reserve(call(app, euid), amount, Duration::from_secs(60), |_| {
            json!({})
        })
        .await
    {
        Ok(Begun::Reserved(reservation)) => *reservation,
        Ok(Begun::Replay { .. }) => panic!("no key, no replay"),
        Err(refusal) => panic!("refused: {refusal:?}"),
    }
}

/// A stream's cost is known only at its end: it may exceed the hold (charged in
/// full while the budget covers it) or fall short of it (the rest returned).
async fn growing_work_settles_at_what_it_consumed(backend: Backend) {
    let app = spawn_app(backend).await;
    let euid = user_with_budget(&app, "streamer", 1.0).await;

    let above = reserve(&app, euid, CENT).await;
    let meter = above.meter();
    for _ in 0..3 {
        meter.add(CENT);
    }
    let finished = above.finish(Charge::Bill(meter.consumed())).await.unwrap();
    assert_eq!(
        finished,
        Finished::Billed {
            cost: Money::from_micros(30_000)
        },
        "three cents consumed on a one-cent hold are charged"
    );

    let below = reserve(&app, euid, Money::from_micros(50_000)).await;
    below.meter().add(CENT);
    let finished = below.finish(Charge::Bill(CENT)).await.unwrap();
    assert_eq!(finished, Finished::Billed { cost: CENT });

    assert_exact_books(&app, euid, 0.96).await;
    app.stop().await;
}

/// Work cut off midway (its task dropped between two increments) is charged
/// exactly what its meter consumed, in the background; no hold remains.
async fn work_cut_off_midway_is_charged_what_it_consumed(backend: Backend) {
    let app = spawn_app(backend).await;
    let euid = user_with_budget(&app, "cut", 1.0).await;
    let reservation = reserve(&app, euid, Money::from_micros(100_000)).await;
    let meter = reservation.meter();
    let observed = reservation.meter();
    let (progress, mut progressed) = tokio::sync::mpsc::channel(16);
    let work = tokio::spawn(async move {
        let _owned = reservation;
        loop {
            meter.add(CENT);
            let _ = progress.send(()).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    for _ in 0..4 {
        progressed.recv().await.expect("the work progresses");
    }
    work.abort();
    let _ = work.await;
    let path = format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id);
    let settled = TestApp::eventually(Duration::from_secs(5), || async {
        app.get(&path, &app.platform_key).await.data()["held_usd"] == 0.0
    })
    .await;
    assert!(settled, "the cut-off work's hold is settled");
    let consumed = observed.consumed();
    assert!(consumed >= Money::from_micros(40_000), "{consumed:?}");
    let used = app.get(&path, &app.platform_key).await.data()["used_usd"].clone();
    assert_eq!(
        used,
        json!(consumed),
        "charged exactly what was consumed before the cut"
    );
    let left = (1_000_000 - consumed.micros()) as f64 / 1e6;
    assert_exact_books(&app, euid, left).await;
    app.stop().await;
}

both_backends!(
    growing_work_settles_at_what_it_consumed,
    work_cut_off_midway_is_charged_what_it_consumed,
);
