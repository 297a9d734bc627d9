#![no_main]

//! Our signatures compared with the official `standardwebhooks` crate's.

use standardwebhooks::Webhook;

/// Whether the header carries the signature the official crate computes.
fn verifies(secret: &str, id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    let Ok(webhook) = Webhook::new(secret) else {
        return false;
    };
    let Ok(expected) = webhook.sign(id, timestamp, body.as_bytes()) else {
        return false;
    };
    header.split(' ').any(|signature| signature == expected)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| assistiv::fuzzing::webhook_signing(data, verifies));
