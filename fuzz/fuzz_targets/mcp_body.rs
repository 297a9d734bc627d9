#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assistiv::fuzzing::mcp_body(data));
