//! `lxu cgroup` (`lxc-cgroup`): prints a cgroup file of a running container, or sets it.

use anyhow::{bail, Result};

use crate::args::{name_and_rest, CgroupArgs};

pub fn run(a: CgroupArgs) -> Result<i32> {
    let (name, rest) = name_and_rest(&a.common, &a.rest);
    let Some((key, value)) = rest.split_first() else {
        bail!("no cgroup file given (e.g. `lxu cgroup -n NAME memory.limit_in_bytes [VALUE]`)");
    };
    let (_ctx, c) = super::target(&a.common, name)?;
    let value = (!value.is_empty()).then(|| value.join(" "));
    let out = lxu_runtime::cgroup::cgroup_item(&c, key, value.as_deref())?;
    if value.is_none() {
        println!("{out}");
    }
    Ok(0)
}
