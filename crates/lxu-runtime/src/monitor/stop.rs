//! Stop requests: the signal that asks init to halt, reboot or die, and the deadline
//! after which a halt becomes a kill (or, with `--nokill`, a failure).

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use rustix::process::Pid;

use super::requests::{Kind, Refusal};
use super::Monitor;
use crate::state::State;
use crate::wire::monitor::{Reply, StopMode};

/// A stop in progress.
pub(super) struct StopRequest {
    pub(super) deadline: Option<Instant>,
    kill_on_timeout: bool,
}

impl StopRequest {
    const KILLED: StopRequest = StopRequest {
        deadline: None,
        kill_on_timeout: true,
    };
}

impl Monitor {
    /// `Stop`: signals init; the client stays connected until the container is gone.
    pub(super) fn stop_request(&mut self, id: u64, mode: StopMode, timeout: i64, nokill: bool) {
        let Some(init) = &self.init else {
            self.reply(id, &Reply::Done, &[]);
            self.set_kind(id, Kind::WaitStop);
            return;
        };
        if self.state == State::Frozen {
            let _ = self.setup.resources.thaw();
        }
        let sig = match mode {
            StopMode::Kill => self.setup.config.signal_stop.unwrap_or(libc::SIGKILL),
            StopMode::Reboot => self.setup.config.signal_reboot.unwrap_or(libc::SIGINT),
            StopMode::Halt => self.halt_signal(init.pid),
        };
        let _ = lxu_sys::signal::pidfd_send(init.pidfd.as_fd(), sig);
        lxu_sys::crash::point("monitor.stop-signalled");
        match mode {
            StopMode::Reboot => {
                self.reply(id, &Reply::Done, &[]);
                return;
            }
            StopMode::Halt => {
                let deadline = u64::try_from(timeout)
                    .ok()
                    .map(|t| Instant::now() + Duration::from_secs(t));
                // The earliest kill deadline wins when several stops are pending.
                let keep_old = matches!(&self.stop, Some(StopRequest { deadline: Some(old), .. })
                    if deadline.is_none_or(|d| *old <= d));
                if !keep_old {
                    self.stop = Some(StopRequest {
                        deadline,
                        kill_on_timeout: !nokill,
                    });
                }
            }
            StopMode::Kill => {
                self.stop = Some(StopRequest::KILLED);
                if sig != libc::SIGKILL {
                    let _ = lxu_sys::signal::pidfd_send(init.pidfd.as_fd(), libc::SIGKILL);
                }
            }
        }
        self.state = State::Stopping;
        self.reply(id, &Reply::Done, &[]);
        self.set_kind(id, Kind::WaitStop);
    }

    /// `lxc.signal.halt`, else SIGRTMIN+3 when init blocks it (systemd reads it from a
    /// signalfd; LXC 5 makes the same check), else SIGPWR.
    fn halt_signal(&self, init: Pid) -> i32 {
        if let Some(s) = self.setup.config.signal_halt {
            return s;
        }
        let rtmin3 = lxu_config::SIGRTMIN + 3;
        let status = std::fs::read_to_string(format!("/proc/{}/status", init.as_raw_nonzero()));
        match status.ok().and_then(|s| blocked_signals(&s)) {
            Some(mask) if mask & (1u64 << (rtmin3 - 1)) != 0 => rtmin3,
            _ => libc::SIGPWR,
        }
    }

    /// At a halt's deadline: kill, or (`--nokill`) tell the waiting clients it failed.
    pub(super) fn check_stop_deadline(&mut self) {
        let Some(StopRequest {
            deadline: Some(d),
            kill_on_timeout,
        }) = &self.stop
        else {
            return;
        };
        if Instant::now() < *d {
            return;
        }
        if *kill_on_timeout {
            if let Some(init) = &self.init {
                let _ = lxu_sys::signal::pidfd_send(init.pidfd.as_fd(), libc::SIGKILL);
            }
            self.stop = Some(StopRequest::KILLED);
            return;
        }
        self.stop = None;
        self.state = State::Running;
        let waiting: Vec<u64> = self
            .clients
            .iter()
            .filter(|c| matches!(c.kind, Kind::WaitStop))
            .map(|c| c.id)
            .collect();
        for id in waiting {
            let name = self.setup.container.name.clone();
            self.refuse(id, &Refusal::StopTimeout { name });
            self.set_kind(id, Kind::Idle);
        }
    }
}

/// The `SigBlk` mask of a /proc/PID/status text (bit N-1 is signal N).
fn blocked_signals(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocked_mask_is_read_from_proc_status() {
        // systemd's mask: SIGRTMIN+3 (37) among others.
        let s = "Name:\tsystemd\nSigPnd:\t0000000000000000\nSigBlk:\t7be3c0fe28014a03\nSigIgn:\t0000000000001000\n";
        let m = blocked_signals(s).unwrap();
        assert_ne!(m & (1 << (37 - 1)), 0);
        assert_eq!(blocked_signals("SigBlk:\t0000000000000000\n"), Some(0));
        assert_eq!(blocked_signals("Name:\tx\n"), None);
    }
}
