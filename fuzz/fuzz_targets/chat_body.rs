#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assistiv::fuzzing::chat_body(data));
