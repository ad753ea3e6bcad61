//! `lxu cgroup` (`lxc-cgroup`): read or set a running container's cgroup file.

use crate::container::Container;
use crate::error::{Error, Result};
use crate::monitor::socket::{connect_running, unexpected};
use crate::wire::monitor::{Reply, Request};

/// `lxu cgroup` (`lxc-cgroup`): the value of the running container's cgroup file `key`,
/// or sets it to `value`; through the monitor, which owns the cgroups.
pub fn cgroup_item(c: &Container, key: &str, value: Option<&str>) -> Result<String> {
    c.ensure_exists()?;
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(Error::CgroupKey {
            key: key.to_string(),
        });
    }
    let conn = connect_running(c)?;
    let req = Request::Cgroup {
        key: key.to_string(),
        value: value.map(str::to_string),
    };
    match conn.request(&req)?.0 {
        Reply::Value(v) => Ok(v),
        Reply::Done => Ok(String::new()),
        _ => Err(unexpected(&req)),
    }
}
