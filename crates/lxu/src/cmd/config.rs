//! `lxu config` (`lxc-config`): the values of lxc.conf.

use anyhow::{bail, Result};
use lxu_config::SystemConfig;

use crate::args::ConfigArgs;

pub fn run(a: ConfigArgs) -> Result<i32> {
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
