//! The monitor's command socket: requests, replies and console frames (see [`super`]
//! for who sends what).

use std::path::PathBuf;

use rustix::thread::ThreadNameSpaceType as Ns;

use super::{Message, Problem, Reader, RemoteError, WireError, Writer};
use crate::state::State;

/// First byte of every [`Request`] and [`Reply`]: a value no request or reply kind of an
/// lxu without versions had, so such a monitor refuses the request instead of misreading
/// it, and its reply (which starts with a kind) is told apart from ours.
pub(crate) const MAGIC: u8 = 0xa7;
// Kinds of the unversioned protocol: requests 1..=9, replies 1..=8.
const _: () = assert!(MAGIC > 9);
/// The protocol's version, second byte of every request and reply; raise it with any
/// change to the encoding of the command socket's messages, frames included.
pub(crate) const VERSION: u8 = 1;

/// The version this process speaks: [`VERSION`], unless `LXU_WIRE_VERSION=N` says
/// otherwise. That variable is for tests only: a container started with it has a monitor
/// that plays one of another lxu version, as after an upgrade.
pub(crate) fn spoken() -> u8 {
    static SPOKEN: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *SPOKEN.get_or_init(|| {
        std::env::var("LXU_WIRE_VERSION")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(VERSION)
    })
}

fn versioned(w: &mut Writer) -> &mut Writer {
    w.kind(MAGIC).kind(spoken())
}

/// Reads the mark and version (see [`MAGIC`]).
fn check_version(r: &mut Reader<'_>) -> Result<(), WireError> {
    if r.kind()? != MAGIC {
        return Err(r.error(Problem::Unversioned));
    }
    match r.kind()? {
        v if v == spoken() => Ok(()),
        v => Err(r.error(Problem::Version(v))),
    }
}

/// How `Stop` ends the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopMode {
    /// `lxc.signal.halt` (or what init understands), then SIGKILL after the timeout.
    Halt,
    Kill,
    Reboot,
}

/// Client → monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    State,
    Info,
    Pidfd,
    Freeze,
    Unfreeze,
    /// Reads the cgroup file `key`, or writes `value` to it.
    Cgroup {
        key: String,
        value: Option<String>,
    },
    Stop {
        mode: StopMode,
        /// Seconds before a halt turns into a kill; negative waits forever.
        timeout: i64,
        /// Never kill: report a halt that times out.
        nokill: bool,
    },
    /// Connects to a tty (0 is the console, -1 the first free tty).
    Console {
        tty: i32,
    },
    /// What the tty (0 is the console) printed recently.
    Log {
        tty: u32,
    },
}

/// Monitor → client: the answer to one [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Done,
    State {
        state: State,
        /// 0 when there is no init.
        pid: i32,
    },
    /// `key value` facts, a key may repeat.
    Info(Vec<(String, String)>),
    /// With a pidfd of init, then the devpts root when `devpts`.
    Pidfd {
        pid: i32,
        devpts: bool,
        /// The container's own namespaces (the ones an attached process joins).
        namespaces: Ns,
        /// `cgroup.procs` files of the container's cgroups.
        cgroup_procs: Vec<PathBuf>,
    },
    /// The tty a `Console` request got.
    Tty(u32),
    /// How many bytes of log the `Data` frames that follow carry.
    Log(u64),
    Value(String),
    Failed(RemoteError),
}

/// After `Console` (both ways) and `Log` (from the monitor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    Data(Vec<u8>),
    /// The client's terminal size.
    Winsize {
        rows: u16,
        cols: u16,
    },
}

const FRAME_DATA: u8 = 1;

impl Frame {
    /// The bytes of a `Data` frame carrying `data`, without a copy in a `Frame` first.
    pub(crate) fn data_bytes(data: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(data.len() + 1);
        m.push(FRAME_DATA);
        m.extend_from_slice(data);
        m
    }
}

impl std::fmt::Display for Request {
    /// The request as errors name it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::State => f.write_str("state"),
            Request::Info => f.write_str("info"),
            Request::Pidfd => f.write_str("pidfd"),
            Request::Freeze => f.write_str("freeze"),
            Request::Unfreeze => f.write_str("unfreeze"),
            Request::Cgroup { key, value: None } => write!(f, "cgroup {key}"),
            Request::Cgroup {
                key,
                value: Some(v),
            } => write!(f, "cgroup {key} {v}"),
            Request::Stop {
                mode,
                timeout,
                nokill,
            } => {
                let mode = match mode {
                    StopMode::Halt => "halt",
                    StopMode::Kill => "kill",
                    StopMode::Reboot => "reboot",
                };
                write!(f, "stop {mode} {timeout} {}", u8::from(*nokill))
            }
            Request::Console { tty } => write!(f, "console {tty}"),
            Request::Log { tty } => write!(f, "log {tty}"),
        }
    }
}

impl Message for Request {
    const NAME: &'static str = "request to the monitor";

    fn encode(&self, w: &mut Writer) {
        versioned(w);
        match self {
            Request::State => w.kind(1),
            Request::Info => w.kind(2),
            Request::Pidfd => w.kind(3),
            Request::Freeze => w.kind(4),
            Request::Unfreeze => w.kind(5),
            Request::Cgroup { key, value } => w.kind(6).str(key).opt_str(value.as_deref()),
            Request::Stop {
                mode,
                timeout,
                nokill,
            } => {
                let m = match mode {
                    StopMode::Halt => 0,
                    StopMode::Kill => 1,
                    StopMode::Reboot => 2,
                };
                w.kind(7).kind(m).i64(*timeout).bool(*nokill)
            }
            Request::Console { tty } => w.kind(8).i32(*tty),
            Request::Log { tty } => w.kind(9).u32(*tty),
        };
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        check_version(r)?;
        Ok(match r.kind()? {
            1 => Request::State,
            2 => Request::Info,
            3 => Request::Pidfd,
            4 => Request::Freeze,
            5 => Request::Unfreeze,
            6 => Request::Cgroup {
                key: r.string()?,
                value: r.opt_string()?,
            },
            7 => Request::Stop {
                mode: match r.kind()? {
                    0 => StopMode::Halt,
                    1 => StopMode::Kill,
                    2 => StopMode::Reboot,
                    _ => return Err(r.invalid("unknown stop mode")),
                },
                timeout: r.i64()?,
                nokill: r.bool()?,
            },
            8 => Request::Console { tty: r.i32()? },
            9 => Request::Log { tty: r.u32()? },
            k => return Err(r.unknown(k)),
        })
    }
}

impl Message for Reply {
    const NAME: &'static str = "reply from the monitor";

    fn encode(&self, w: &mut Writer) {
        versioned(w);
        match self {
            Reply::Done => {
                w.kind(1);
            }
            Reply::State { state, pid } => {
                w.kind(2).kind(state.code()).i32(*pid);
            }
            Reply::Info(facts) => {
                w.kind(3).count(facts.len());
                for (k, v) in facts {
                    w.str(k).str(v);
                }
            }
            Reply::Pidfd {
                pid,
                devpts,
                namespaces,
                cgroup_procs,
            } => {
                w.kind(4)
                    .i32(*pid)
                    .bool(*devpts)
                    .u32(namespaces.bits())
                    .count(cgroup_procs.len());
                for p in cgroup_procs {
                    w.path(p);
                }
            }
            Reply::Tty(n) => {
                w.kind(5).u32(*n);
            }
            Reply::Log(len) => {
                w.kind(6).u64(*len);
            }
            Reply::Value(v) => {
                w.kind(7).str(v);
            }
            Reply::Failed(e) => {
                w.kind(8);
                e.encode(w);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        check_version(r)?;
        Ok(match r.kind()? {
            1 => Reply::Done,
            2 => Reply::State {
                state: State::from_code(r.kind()?).ok_or_else(|| r.invalid("unknown state"))?,
                pid: r.i32()?,
            },
            3 => Reply::Info(
                (0..r.count(8)?)
                    .map(|_| Ok((r.string()?, r.string()?)))
                    .collect::<Result<_, WireError>>()?,
            ),
            4 => Reply::Pidfd {
                pid: r.i32()?,
                devpts: r.bool()?,
                namespaces: Ns::from_bits(r.u32()?)
                    .ok_or_else(|| r.invalid("unknown namespace type"))?,
                cgroup_procs: (0..r.count(4)?)
                    .map(|_| r.path())
                    .collect::<Result<_, WireError>>()?,
            },
            5 => Reply::Tty(r.u32()?),
            6 => Reply::Log(r.u64()?),
            7 => Reply::Value(r.string()?),
            8 => Reply::Failed(RemoteError::decode(r)?),
            k => return Err(r.unknown(k)),
        })
    }

    fn fds(&self) -> usize {
        match self {
            Reply::Pidfd { devpts, .. } => 1 + usize::from(*devpts),
            _ => 0,
        }
    }
}

impl Message for Frame {
    const NAME: &'static str = "console frame";

    fn encode(&self, w: &mut Writer) {
        match self {
            Frame::Data(d) => w.kind(FRAME_DATA).rest(d),
            Frame::Winsize { rows, cols } => w.kind(2).u16(*rows).u16(*cols),
        };
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(match r.kind()? {
            FRAME_DATA => Frame::Data(r.rest().to_vec()),
            2 => Frame::Winsize {
                rows: r.u16()?,
                cols: r.u16()?,
            },
            k => return Err(r.unknown(k)),
        })
    }
}
