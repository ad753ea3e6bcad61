//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

mod scratch;
pub use scratch::Scratch;

/// Skips (returns false) when `what` is missing, unless LXU_MUST_WORK=1.
pub fn require(path: &Path, what: &str) -> bool {
    if path.exists() {
        return true;
    }
    if std::env::var("LXU_MUST_WORK").as_deref() == Ok("1") {
        panic!("{what} missing at {} and LXU_MUST_WORK=1", path.display());
    }
    eprintln!("skipping: {what} not found at {}", path.display());
    false
}
