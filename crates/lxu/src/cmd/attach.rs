//! `lxu attach` (`lxc-attach`): a command in a running container.

use anyhow::{bail, Result};
use lxu_config::Config;
use lxu_runtime::attach::{self, AttachOptions, EnvMode};

use crate::args::{strip_dashdash, AttachArgs};

pub fn run(a: AttachArgs) -> Result<i32> {
    if a.namespaces.is_some() {
        bail!("-s/--namespaces is not supported: lxu attach always joins every namespace");
    }
    // `lxc-attach -n c1 -- cmd` or `lxu attach c1 -- cmd`.
    let (name, rest) = match &a.common.name {
        Some(n) => (Some(n.clone()), a.rest.clone()),
        None => match a.rest.split_first() {
            Some((first, tail)) if first != "--" => (Some(first.clone()), tail.to_vec()),
            _ => (None, a.rest.clone()),
        },
    };
    let (_ctx, c) = super::target(&a.common, name)?;
    c.ensure_exists()?;
    let load_config = || match &a.rcfile {
        Some(f) => Ok(Config::load(f)?),
        None => c.load_config(),
    };
    let opts = AttachOptions {
        command: strip_dashdash(rest),
        env: if a.clear_env {
            EnvMode::Clear
        } else if a.keep_env {
            EnvMode::Keep
        } else {
            EnvMode::Container
        },
        set_vars: a.set_var.clone(),
        keep_vars: a.keep_var.clone(),
        uid: a.uid,
        gid: a.gid,
        elevated: a.elevated.is_some(),
        pty: None,
    };
    Ok(attach::attach(&c, load_config, &opts)?)
}
