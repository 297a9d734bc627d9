#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assistiv::fuzzing::capability_input(data));
