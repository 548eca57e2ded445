#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kubeharden_fuzz::api_answer(data));
