//! Work the monitor does around the container's life that depends on the host: cgroup
//! placement and network devices. Filled in by `start` from the config.

use rustix::process::Pid;

use crate::error::Result;

/// Per-container host-side resources, owned by the monitor.
#[derive(Default)]
pub struct Hooks {
    /// Extra `key value` lines for `info`.
    pub info: Vec<String>,
}

impl Hooks {
    /// Runs on the fresh init before it may continue (maps are written already).
    pub fn before_go(&mut self, _pid: Pid) -> Result<()> {
        Ok(())
    }

    /// Runs each time init has exited (also before a reboot).
    pub fn after_stop(&mut self) {}

    /// Runs once when the monitor exits.
    pub fn teardown(&mut self) {}

    pub fn info_lines(&self) -> Vec<String> {
        self.info.clone()
    }
}
