//! Every input kept for the `cargo fuzz` targets of this crate (fuzz/README.md), replayed
//! through the same function the target calls: corpus inputs and past crashes must not
//! panic, and no tarball may reach outside the rootfs it is unpacked into.

use lxu_download::fuzz;

/// A fuzz target: its name and its body.
type Target = (&'static str, fn(&[u8]));

#[test]
fn fuzz_inputs_do_not_panic() {
    let targets: [Target; 4] = [
        ("index", fuzz::index),
        ("manifest", fuzz::manifest),
        ("meta", fuzz::meta),
        ("unpack", fuzz::unpack),
    ];
    for (target, body) in targets {
        lxu_test_support::replay_fuzz_corpus(target, body);
    }
}
