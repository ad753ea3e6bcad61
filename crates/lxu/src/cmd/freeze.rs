//! `lxu freeze` and `lxu unfreeze` (`lxc-freeze`, `lxc-unfreeze`).

use anyhow::Result;

use crate::args::{name_and_rest, FreezeArgs};

/// Freezes every process of the container (`on`), or thaws them.
pub fn run(a: FreezeArgs, on: bool) -> Result<i32> {
    let (name, _) = name_and_rest(&a.common, &a.rest);
    let (_ctx, c) = super::target(&a.common, name)?;
    lxu_runtime::freeze::freeze(&c, on)?;
    Ok(0)
}
