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
