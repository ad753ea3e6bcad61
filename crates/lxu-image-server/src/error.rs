//! The errors every part of the crate shares: a failed file operation, and the
//! crate-level error its entry points return.

use std::io;
use std::path::{Path, PathBuf};

use crate::build::BuildError;
use crate::image_id::ImageIdError;
use crate::publish::PublishError;
use crate::serve::ServeError;
use crate::sign::SignError;

/// A file operation that failed: what was done, to which path, and (as the source)
/// why the system refused it.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} `{path}`")]
pub struct IoError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl IoError {
    pub(crate) fn new(op: &'static str, path: &Path, source: io::Error) -> IoError {
        IoError {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// For `map_err`: an [`IoError`] for `op` on `path` (the caller's `?` converts it).
pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> IoError + 'a {
    move |source| IoError::new(op, path, source)
}

/// Every error this crate returns from its top-level entry points.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    ImageId(#[from] ImageIdError),
}
