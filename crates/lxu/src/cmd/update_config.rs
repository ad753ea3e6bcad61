//! `lxu update-config` (`lxc-update-config`): an LXC 1.0 config rewritten with the
//! current key names, the old text kept beside it as `.backup`.

use anyhow::{Context as _, Result};

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
    let tmp = path.with_file_name(format!(
        ".{}.new",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&tmp, &updated).with_context(|| format!("write `{}`", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replace `{}`", path.display()))?;
    Ok(0)
}
