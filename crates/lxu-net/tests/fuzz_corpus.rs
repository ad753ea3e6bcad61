//! Every input kept for the `cargo fuzz` targets of this crate (fuzz/README.md), replayed
//! through the same function the target calls: corpus inputs and past crashes must not
//! panic.

#[test]
fn fuzz_inputs_do_not_panic() {
    lxu_test_support::replay_fuzz_corpus("nicdb", lxu_net::fuzz::nicdb);
    lxu_test_support::replay_fuzz_corpus("usernet", lxu_net::fuzz::usernet);
}
