//! `lxu copy` (`lxc-copy`): a full copy of a stopped, directory-backed container.

use anyhow::{bail, Result};
use lxu_runtime::copy::{self, CopyOptions};

use crate::args::{name_and_rest, CopyArgs};
use crate::progress::CopyBar;

pub fn run(a: CopyArgs) -> Result<i32> {
    for (set, what) in [
        (a.snapshot, "-s (overlay snapshots)"),
        (a.ephemeral, "-e (ephemeral containers)"),
        (a.rename, "-R (rename)"),
    ] {
        if set {
            bail!("lxu copy: {what} is not supported; without it the copy is a full copy");
        }
    }
    if let Some(b) = a.backingstorage.as_deref().filter(|b| *b != "dir") {
        bail!("lxu copy: backing store `{b}` is not supported (only `dir`)");
    }
    let (name, _) = name_and_rest(&a.common, &a.rest);
    let Some(new_name) = a.newname else {
        bail!("no name for the copy given (use -N NEWNAME)");
    };
    let (ctx, c) = super::target(&a.common, name)?;
    let opts = CopyOptions {
        new_name,
        new_lxcpath: a.newpath,
        keep_name: a.keepname,
        keep_macs: a.keepmac,
    };
    let bar = CopyBar::new(format!("Copying {}", c.name), a.common.quiet);
    copy::copy(&ctx, &c, &opts, &bar)?;
    Ok(0)
}
