//! Every input kept for the `cargo fuzz` targets of this crate (fuzz/README.md), replayed
//! through the same function the target calls: corpus inputs and past crashes must not panic.

#[test]
fn seccomp_fuzz_inputs_do_not_panic() {
    lxu_test_support::replay_fuzz_corpus("seccomp", lxu_seccomp::fuzz::seccomp);
}
