//! `lxu start` (`lxc-start`).

use anyhow::{bail, Result};
use lxu_runtime::start::{self, StartOptions, Started};

use crate::args::{name_and_rest, strip_dashdash, StartArgs};

pub fn run(a: StartArgs) -> Result<i32> {
    if a.daemon && a.foreground {
        bail!("-d and -F cannot be used together");
    }
    let (name, rest) = name_and_rest(&a.common, &a.rest);
    let (ctx, c) = super::target(&a.common, name)?;
    let overrides = overrides(&a.define)?;
    let opts = StartOptions {
        foreground: a.foreground,
        rcfile: a.rcfile.clone(),
        overrides,
        command: strip_dashdash(rest),
        console_log: a.console_log.clone(),
        pidfile: a.pidfile.clone(),
        execute: false,
    };
    match start::start(&ctx, &c, &opts)? {
        Started::Daemon(_) => Ok(0),
        Started::Foreground(code) => Ok(code),
        Started::AlreadyRunning => {
            if !a.common.quiet {
                eprintln!("{} is already running", c.name);
            }
            Ok(0)
        }
    }
}

/// `-s KEY=VAL` options as (key, value) pairs.
pub(super) fn overrides(defines: &[String]) -> Result<Vec<(String, String)>> {
    defines
        .iter()
        .map(|d| match d.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_string(), v.trim().to_string())),
            None => bail!("-s `{d}`: expected KEY=VAL"),
        })
        .collect()
}
