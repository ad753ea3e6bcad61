#![no_main]

// The body is in the library, shared with the corpus test CI runs on stable.
libfuzzer_sys::fuzz_target!(|data: &[u8]| lxu_net::fuzz::nicdb(data));
