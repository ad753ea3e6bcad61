//! `lxu stop` (`lxc-stop`).

use anyhow::{bail, Result};
use lxu_runtime::stop::{self, StopOptions, Stopped};

use crate::args::{name_and_rest, StopArgs};

pub fn run(a: StopArgs) -> Result<i32> {
    if a.kill && a.timeout.is_some() {
        bail!("-k and -t cannot be used together");
    }
    if a.kill && a.reboot {
        bail!("-k and -r cannot be used together");
    }
    if a.nolock && !a.kill {
        bail!("--nolock is only allowed with -k");
    }
    let (name, _) = name_and_rest(&a.common, &a.rest);
    let (_ctx, c) = super::target(&a.common, name)?;
    let opts = StopOptions {
        kill: a.kill,
        timeout: a.timeout.unwrap_or(60),
        nokill: a.nokill,
        nowait: a.nowait,
        reboot: a.reboot,
    };
    match stop::stop(&c, &opts)? {
        Stopped::NotRunning => {
            eprintln!("{} is not running", c.name);
            Ok(2)
        }
        _ => Ok(0),
    }
}
