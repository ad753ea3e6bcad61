//! Container states as LXC names and numbers them.

use std::fmt;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::monitor::socket::connect_monitor;
use crate::wire::monitor::{Reply, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Stopped,
    Starting,
    Running,
    Stopping,
    Aborting,
    Freezing,
    Frozen,
    Thawed,
}

impl State {
    pub(crate) const ALL: [State; 8] = [
        State::Stopped,
        State::Starting,
        State::Running,
        State::Stopping,
        State::Aborting,
        State::Freezing,
        State::Frozen,
        State::Thawed,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Stopped => "STOPPED",
            State::Starting => "STARTING",
            State::Running => "RUNNING",
            State::Stopping => "STOPPING",
            State::Aborting => "ABORTING",
            State::Freezing => "FREEZING",
            State::Frozen => "FROZEN",
            State::Thawed => "THAWED",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<State> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// The state's number on the wire.
    pub(crate) fn code(self) -> u8 {
        State::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<State> {
        State::ALL.get(usize::from(code)).copied()
    }

    /// Running in the sense of `lxc-ls --active`: it has processes.
    pub fn is_active(self) -> bool {
        !matches!(self, State::Stopped)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State and init pid of a container, as its monitor reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub state: State,
    pub pid: Option<i32>,
}

impl Status {
    pub(crate) const STOPPED: Status = Status {
        state: State::Stopped,
        pid: None,
    };
}

/// Asks the monitor; no monitor means STOPPED. The answer cannot lie after a monitor was
/// killed: the socket then has no listener, and the container's init died with it
/// (parent-death signal), so STOPPED is the truth.
pub(crate) fn status(c: &Container) -> Result<Status> {
    let Some(conn) = connect_monitor(c)? else {
        no_monitor(c);
        return Ok(Status::STOPPED);
    };
    match conn.request(&Request::State) {
        Ok((Reply::State { state, pid }, _)) => Ok(Status {
            state,
            pid: (pid > 0).then_some(pid),
        }),
        // A monitor of another lxu version is alive: not STOPPED, whatever it would say.
        Err(e @ Error::OtherVersion { .. }) => Err(e),
        _ => Ok(Status::STOPPED),
    }
}

/// For a caller that found no monitor listening, before it says STOPPED. A socket left
/// behind means the monitor was killed; what it left (a frozen container cannot die of its
/// parent-death signal until thawed) goes now, so that STOPPED is true.
pub(crate) fn no_monitor(c: &Container) {
    if c.socket_path().symlink_metadata().is_ok() {
        crate::control::stop::clear_leftovers(c);
    }
}

/// Parses LXC's `-s` list (`RUNNING|FROZEN`, names in any case).
pub fn parse_states(list: &str) -> std::result::Result<Vec<State>, String> {
    list.split('|')
        .map(|s| {
            State::parse(s.trim()).ok_or_else(|| {
                let all: Vec<&str> = State::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown state `{}` (states: {})", s.trim(), all.join(" "))
            })
        })
        .collect()
}

/// Waits until `c` is in one of `states` (true) or `timeout` passed (false); no timeout
/// waits forever. Polls the monitor, a few milliseconds apart at first.
pub fn wait_for(
    c: &Container,
    states: &[State],
    timeout: Option<std::time::Duration>,
) -> Result<bool> {
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        if states.contains(&status(c)?.state) {
            return Ok(true);
        }
        let now = std::time::Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(false);
        }
        let left = deadline.map_or(pause, |d| d - now);
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_lists_parse_like_lxc_wait() {
        assert_eq!(
            parse_states("RUNNING|frozen").unwrap(),
            [State::Running, State::Frozen]
        );
        let e = parse_states("RUNNING|UP").unwrap_err();
        assert!(
            e.starts_with("unknown state `UP` (states: STOPPED STARTING RUNNING"),
            "{e}"
        );
    }
}
