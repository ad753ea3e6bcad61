//! `lxu wait` (`lxc-wait`).

use std::time::Duration;

use anyhow::Result;

use crate::args::{name_and_rest, WaitArgs};

/// 0 once the container is in one of the states, 1 after the timeout.
pub fn run(a: WaitArgs) -> Result<i32> {
    let (name, _) = name_and_rest(&a.common, &a.rest);
    let states = lxu_runtime::state::parse_states(&a.state).map_err(anyhow::Error::msg)?;
    let (_ctx, c) = super::target(&a.common, name)?;
    let timeout = u64::try_from(a.timeout).ok().map(Duration::from_secs);
    if lxu_runtime::state::wait_for(&c, &states, timeout)? {
        return Ok(0);
    }
    eprintln!("{}: not {} after {} s", c.name, a.state, a.timeout);
    Ok(1)
}
