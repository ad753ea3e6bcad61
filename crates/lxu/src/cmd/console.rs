//! `lxu console` (`lxc-console`): this terminal on a container's console or a tty.

use std::io::Write;

use anyhow::{anyhow, Result};
use lxu_runtime::console;

use crate::args::{name_and_rest, ConsoleArgs};

pub fn run(a: ConsoleArgs) -> Result<i32> {
    let (name, _) = name_and_rest(&a.common, &a.rest);
    let (_ctx, c) = super::target(&a.common, name)?;
    c.ensure_exists()?;
    if a.log {
        let data = console::log(&c, a.tty.unwrap_or(0).max(0) as u32)?;
        std::io::stdout().write_all(&data)?;
        return Ok(0);
    }
    let escape = console::escape_byte(a.escape.as_deref()).map_err(|e| anyhow!(e))?;
    console::attach_console(&c, a.tty.unwrap_or(-1), escape, a.common.quiet)?;
    Ok(0)
}
