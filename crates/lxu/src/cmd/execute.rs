//! `lxu execute` (`lxc-execute`).

use anyhow::{bail, Result};
use lxu_runtime::start::{self, StartOptions, Started};

use crate::args::{name_and_rest, strip_dashdash, ExecuteArgs};

/// `lxu execute` (`lxc-execute`): the command as an application container in the
/// foreground, under a reaping pid 1; the exit status is the command's.
pub fn run(a: ExecuteArgs) -> Result<i32> {
    let (name, rest) = name_and_rest(&a.common, &a.rest);
    let (ctx, c) = super::target(&a.common, name)?;
    let overrides = super::start::overrides(&a.define)?;
    let command = strip_dashdash(rest);
    if command.is_empty() {
        bail!("no command given (lxu execute -n NAME -- COMMAND [ARG...])");
    }
    let opts = StartOptions {
        foreground: true,
        rcfile: a.rcfile.clone(),
        overrides,
        command,
        execute: true,
        ..StartOptions::default()
    };
    match start::start(&ctx, &c, &opts)? {
        Started::Foreground(code) => Ok(code),
        Started::Daemon(_) => Ok(0),
        Started::AlreadyRunning => bail!("{} is already running", c.name),
    }
}
