//! `lxu cgroup` (`lxc-cgroup`): read or set a running container's cgroup file.

use crate::container::Container;
use crate::error::{Error, Result};
use crate::monitor::protocol::connect_monitor;

/// `lxu cgroup` (`lxc-cgroup`): the value of the running container's cgroup file `key`,
/// or sets it to `value`; through the monitor, which owns the cgroups.
pub fn cgroup_item(c: &Container, key: &str, value: Option<&str>) -> Result<String> {
    c.ensure_exists()?;
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(Error::Msg(format!("`{key}` is not a cgroup file name")));
    }
    let Some(conn) = connect_monitor(c)? else {
        return Err(Error::NotRunning {
            name: c.name.clone(),
        });
    };
    let req = match value {
        Some(v) => format!("cgroup {key} {v}"),
        None => format!("cgroup {key}"),
    };
    Ok(conn.request(&req)?.0)
}
