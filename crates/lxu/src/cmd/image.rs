//! `lxu image …` runs the separate `lxu-image` binary installed next to `lxu`.

use std::os::unix::process::CommandExt;

use anyhow::{Context as _, Result};

use crate::args::ImageArgs;

pub fn run(a: ImageArgs) -> Result<i32> {
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.join("lxu-image")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "lxu-image".into());
    // exec returns only on failure.
    let err = std::process::Command::new(&sibling).args(&a.args).exec();
    Err(err).with_context(|| format!("run `{}`", sibling.display()))
}
