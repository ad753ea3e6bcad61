//! The runtime's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in a lifecycle operation. Each variant carries what a
/// user needs to act: the container, the file, the command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] lxu_config::ConfigError),

    #[error("{op} `{}`: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{context}: {source}")]
    Sys {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("invalid container name `{name}`: {reason}")]
    BadName { name: String, reason: &'static str },

    #[error("{name} doesn't exist (in `{}`)", lxcpath.display())]
    NotFound { name: String, lxcpath: PathBuf },

    #[error("{name} already exists in `{}`", lxcpath.display())]
    Exists { name: String, lxcpath: PathBuf },

    #[error("{name} is not running")]
    NotRunning { name: String },

    #[error("{name} is running")]
    Running { name: String },

    #[error("insufficient privileges to control {name}: {reason}")]
    Privileges { name: String, reason: String },

    #[error("{0}")]
    IdMap(#[from] crate::ids::users::MapDenied),

    /// A message from a helper process or the monitor, already formatted.
    #[error("{0}")]
    Msg(String),

    // wire/monitor errors
    /// A message between lxu's own processes that does not decode.
    #[error(transparent)]
    Wire(#[from] crate::wire::WireError),

    /// What another lxu process (init, the monitor, a helper) reported, with its causes.
    #[error(transparent)]
    Remote(#[from] crate::wire::RemoteError),

    /// The monitor closed the connection before it answered (it is going away).
    #[error("the monitor of {name} closed the connection during `{request}`")]
    MonitorClosed { name: String, request: String },

    /// The monitor exited before it reported the container running.
    #[error("the monitor exited before the container was running")]
    MonitorExited,

    #[error("{name}: the container's init died during setup")]
    InitDied { name: String },

    #[error("{name}: the attach helper exited before starting the command")]
    AttachHelperDied { name: String },

    /// An `lxc.hook.*` failed; `reason` says which, how, and what it printed.
    #[error("{name}: {reason}")]
    Hook { name: String, reason: String },

    #[error("`{key}` is not a cgroup file name")]
    CgroupKey { key: String },

    #[error("{name} stopped instead of rebooting")]
    RebootStopped { name: String },

    #[error("{name} did not reboot within {timeout} s")]
    RebootTimeout { name: String, timeout: i64 },

    #[error(transparent)]
    Net(#[from] crate::monitor::net::NetError),

    /// Boxed: cgroup errors are large (`From<ResourceError>` boxes).
    #[error(transparent)]
    Resource(#[from] Box<crate::monitor::resources::ResourceError>),
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub fn sys(context: impl Into<String>, source: impl Into<io::Error>) -> Error {
        Error::Sys {
            context: context.into(),
            source: source.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
