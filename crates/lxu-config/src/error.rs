use std::fmt;
use std::path::{Path, PathBuf};

/// A line of a configuration file; `line` is 1-based. Displays as `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
}

impl Location {
    pub(crate) fn at(file: &Path, line: usize) -> Location {
        Location {
            file: file.to_path_buf(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Every error names the file and line (and the key when there is one). As with every
/// lxu error, the message says what failed on what and leaves the cause to
/// [`source`](std::error::Error::source), so a caller that prints the chain joined
/// with ": " shows the I/O error after the path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{loc}: invalid line `{text}`: {reason}")]
    Syntax {
        loc: Location,
        text: String,
        reason: String,
    },
    #[error("{loc}: unknown key `{key}`")]
    UnknownKey { loc: Location, key: String },
    #[error("{loc}: bad value `{value}` for `{key}`: {reason}")]
    BadValue {
        loc: Location,
        key: String,
        value: String,
        reason: String,
    },
    #[error("{loc}: conflicting `{key}`: {reason}")]
    Conflict {
        loc: Location,
        key: String,
        reason: String,
    },
    #[error("{loc}: include of `{}` loops or nests deeper than {} levels", path.display(), crate::config::MAX_INCLUDE_DEPTH)]
    IncludeDepth { loc: Location, path: PathBuf },
    /// A device, FIFO or socket: reading one could block or never end (`/dev/zero`).
    #[error("{loc}: cannot include `{}`: not a regular file or directory", path.display())]
    IncludeNotFile { loc: Location, path: PathBuf },
    #[error("{loc}: cannot include `{}`", path.display())]
    Include {
        loc: Location,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    pub(crate) fn bad(loc: &Location, key: &str, value: &str, reason: impl Into<String>) -> Self {
        ConfigError::BadValue {
            loc: loc.clone(),
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn conflict(loc: &Location, key: &str, reason: impl Into<String>) -> Self {
        ConfigError::Conflict {
            loc: loc.clone(),
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unknown(loc: &Location, key: &str) -> Self {
        ConfigError::UnknownKey {
            loc: loc.clone(),
            key: key.to_string(),
        }
    }
}
