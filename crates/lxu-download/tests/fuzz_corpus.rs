//! Every input kept for the `cargo fuzz` targets of this crate (fuzz/README.md), replayed
//! through the same function the target calls: corpus inputs and past crashes must not panic.

#[test]
fn index_fuzz_inputs_do_not_panic() {
    lxu_test_support::replay_fuzz_corpus("index", lxu_download::fuzz::index);
}

#[test]
fn manifest_fuzz_inputs_do_not_panic() {
    lxu_test_support::replay_fuzz_corpus("manifest", lxu_download::fuzz::manifest);
}

#[test]
fn meta_fuzz_inputs_do_not_panic() {
    lxu_test_support::replay_fuzz_corpus("meta", lxu_download::fuzz::meta);
}

#[test]
fn unpack_fuzz_inputs_do_not_panic() {
    lxu_test_support::replay_fuzz_corpus("unpack", lxu_download::fuzz::unpack);
}
