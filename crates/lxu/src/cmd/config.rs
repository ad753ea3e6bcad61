use anyhow::{bail, Context as _, Result};
use lxu_config::SystemConfig;
use lxu_sys::fs::Replace;

use crate::args::{ConfigArgs, UpdateConfigArgs};

pub fn run_config(a: ConfigArgs) -> Result<i32> {
    if a.list || a.key.is_none() {
        for k in SystemConfig::KEYS {
            println!("{k}");
        }
        return Ok(0);
    }
    let ctx = lxu_runtime::Context::new(None)?;
    let key = a.key.unwrap_or_default();
    match ctx.system.get(&key) {
        Some(v) => {
            println!("{v}");
            Ok(0)
        }
        None => bail!("unknown key `{key}`"),
    }
}

pub fn run_update(a: UpdateConfigArgs) -> Result<i32> {
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
