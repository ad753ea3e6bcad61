use std::io;
use std::path::PathBuf;

/// Every failure of this crate, with the file, key or pid it concerns. The message says
/// what failed on what; the cause (an errno) is the [`source`](std::error::Error::source),
/// for the caller to print after it.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write `{value}` to `{}`{hint}", path.display())]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
        /// Extra explanation for the errno (permission rules of the kernel), may be empty;
        /// shown in parentheses before the cause.
        hint: String,
    },
    #[error("cannot create cgroup `{}`", path.display())]
    Mkdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot remove cgroup `{}`", path.display())]
    Rmdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot change owner of `{}` to {uid}:{gid}", path.display())]
    Chown {
        path: PathBuf,
        uid: u32,
        gid: u32,
        #[source]
        source: io::Error,
    },
    /// Something root was about to hand to a user is not what root made.
    #[error("`{}` {reason}: lxu did not make it like that; remove it and run again", path.display())]
    Unexpected { path: PathBuf, reason: String },
    #[error("malformed line {line} of {what}: `{text}`")]
    Parse {
        what: String,
        line: usize,
        text: String,
    },
    #[error("invalid {what} `{name}`: {reason}")]
    InvalidName {
        what: &'static str,
        name: String,
        reason: &'static str,
    },
    #[error("cgroup `{}` still holds processes {pids:?} (is another monitor running?)", path.display())]
    Busy { path: PathBuf, pids: Vec<u32> },
    #[error("`{key}`: controller `{controller}` is not delegated to this user ({reason})")]
    NotDelegated {
        key: String,
        controller: String,
        reason: String,
    },
    #[error("`{key}` = `{value}`: {reason}")]
    BadSetting {
        key: String,
        value: String,
        reason: String,
    },
    #[error("no freezer for this container: {0}")]
    NoFreezer(String),
    #[error("timed out after {ms} ms waiting for `{}` to {what}", path.display())]
    Timeout {
        path: PathBuf,
        what: &'static str,
        ms: u128,
    },
    #[error("cannot send signal {signal} to pid {pid}")]
    Kill {
        pid: u32,
        signal: i32,
        #[source]
        source: io::Error,
    },
    #[error("processes {pids:?} survived {rounds} kill rounds in `{}`", path.display())]
    Survivors {
        path: PathBuf,
        pids: Vec<u32>,
        rounds: u32,
    },
    #[error("{0} needs root (effective uid 0)")]
    NotRoot(&'static str),
}

impl CgroupError {
    pub(crate) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Read {
            path: path.into(),
            source,
        }
    }
}
