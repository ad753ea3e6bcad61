//! Container states as LXC names and numbers them.

use std::fmt;

use crate::container::Container;
use crate::error::Result;
use crate::protocol::connect_monitor;

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
    pub const ALL: [State; 8] = [
        State::Stopped,
        State::Starting,
        State::Running,
        State::Stopping,
        State::Aborting,
        State::Freezing,
        State::Frozen,
        State::Thawed,
    ];

    pub fn as_str(self) -> &'static str {
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

    pub fn parse(s: &str) -> Option<State> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
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
    pub const STOPPED: Status = Status {
        state: State::Stopped,
        pid: None,
    };
}

/// Asks the monitor; no monitor means STOPPED. The answer cannot lie after a monitor was
/// killed: the socket then has no listener, and the container's init died with it
/// (parent-death signal), so STOPPED is the truth.
pub fn status(c: &Container) -> Result<Status> {
    let Some(conn) = connect_monitor(c)? else {
        return Ok(Status::STOPPED);
    };
    let Ok((reply, _)) = conn.request("state") else {
        return Ok(Status::STOPPED);
    };
    let mut it = reply.split_whitespace();
    let state = it.next().and_then(State::parse).unwrap_or(State::Stopped);
    let pid = it.next().and_then(|p| p.parse().ok()).filter(|&p| p > 0);
    Ok(Status { state, pid })
}
