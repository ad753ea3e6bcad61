//! `lxu update-config` (`lxc-update-config`): an LXC 1.0 config rewritten with the
//! current key names, the old text kept beside it as `.backup`.

use anyhow::{Context as _, Result};

use lxu_sys::fs::Replace;

use crate::args::UpdateConfigArgs;

pub fn run(a: UpdateConfigArgs) -> Result<i32> {
    let path = &a.config;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("read `{}`", path.display()))?;
    let updated = lxu_config::update_config(&text);
    if updated == text {
        return Ok(0);
    }
    let backup = path.with_file_name(format!(
        "{}.backup",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::copy(path, &backup).with_context(|| format!("write backup `{}`", backup.display()))?;
    // The file keeps its mode.
    let how = std::fs::metadata(path).map_or(Replace::creation_mode(0o666), |m| {
        Replace::mode(std::os::unix::fs::MetadataExt::mode(&m))
    });
    lxu_sys::fs::replace_file(path, updated.as_bytes(), &how)?;
    Ok(0)
}
