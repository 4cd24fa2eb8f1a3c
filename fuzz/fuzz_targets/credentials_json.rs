#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| crlogin::fuzzing::credentials_json(data));
