//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

mod scratch;
pub use scratch::Scratch;

/// Skips (returns false) when `what` is missing, unless LXU_MUST_WORK=1.
#[track_caller]
pub fn require(path: &Path, what: &str) -> bool {
    let why = format!("{what} not found at {}", path.display());
    lxu_test_support::need(path.exists(), why)
}
