//! `lxu destroy` (`lxc-destroy`).

use anyhow::Result;
use lxu_runtime::destroy;

use crate::args::{name_and_rest, DestroyArgs};

pub fn run(a: DestroyArgs) -> Result<i32> {
    let (name, _) = name_and_rest(&a.common, &a.rest);
    let (ctx, c) = super::target(&a.common, name)?;
    if a.snapshots && c.exists() {
        lxu_runtime::snapshot::destroy(&ctx, &c, "ALL")?;
    }
    destroy::destroy(&ctx, &c, a.force)?;
    Ok(0)
}
