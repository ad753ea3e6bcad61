//! Harness for lxu's end-to-end tests (in the manner of ripgrep's `tests/util.rs`).
//!
//! The tests run the installed `lxu` binary (`LXU_BIN`) as an unprivileged user with
//! subordinate ids, each in a [`Lab`] of its own, and look at the result from both sides:
//! the CLI's output and exit codes, and the host (`/proc`, the filesystem). `./x test`
//! runs every test binary of this package as the test user, except `root_*` ones, which
//! run as root.

pub mod host;
pub mod lab;
pub mod leftovers;
pub mod root;
pub mod run;

pub use lab::{lxu_bin, Lab};
pub use lxu_test_support::{must_work, need, skip};

/// `p` as a command-line argument (test paths are UTF-8).
pub fn path_str(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}
pub use run::Output;
pub mod cgroupfs;
pub mod elf;
pub mod images;
pub mod netutil;
pub mod tmux;
