#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assistiv::fuzzing::oauth_callback(data));
