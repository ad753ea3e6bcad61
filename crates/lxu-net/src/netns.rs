//! Network namespace handles: open, verify, enter and leave.
//!
//! `setns(CLONE_NEWNET)` only moves the calling thread, and is allowed in a
//! multithreaded process, so these helpers are safe to use from any thread as
//! long as the thread returns to its original namespace afterwards
//! ([`run_in`] does that).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

/// `f_type` of the nsfs pseudo filesystem behind `/proc/<pid>/ns/*`.
pub(crate) const NSFS_MAGIC: i64 = 0x6e73_6673;

/// Errors from handling network namespace descriptors.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("cannot open network namespace `{path}`")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("`{path}` is not a namespace file")]
    NotNsfs { path: String },
    #[error("cannot enter network namespace")]
    Enter(#[source] io::Error),
    #[error("cannot return to the original network namespace; this thread is stranded")]
    Restore(#[source] io::Error),
}

/// Opens the calling thread's current network namespace.
pub fn current() -> Result<OwnedFd, NetnsError> {
    open_checked(Path::new("/proc/thread-self/ns/net"))
}

/// Opens `path` (e.g. `/proc/<pid>/ns/net` or `/run/netns/<name>`) and checks
/// that it is a namespace file. Whether it is a *network* namespace is checked
/// by the kernel when it is used.
pub fn open_checked(path: &Path) -> Result<OwnedFd, NetnsError> {
    let fd =
        rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
            NetnsError::Open {
                path: path.display().to_string(),
                source: e.into(),
            }
        })?;
    if !is_nsfs(fd.as_fd()) {
        return Err(NetnsError::NotNsfs {
            path: path.display().to_string(),
        });
    }
    Ok(fd)
}

/// True when `fd` lives on nsfs.
// `f_type` is i64 on 64-bit targets but narrower elsewhere.
#[allow(clippy::unnecessary_cast)]
pub fn is_nsfs(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fstatfs(fd).is_ok_and(|st| st.f_type as i64 == NSFS_MAGIC)
}

/// Moves the calling thread into the network namespace `fd`.
pub fn enter(fd: BorrowedFd<'_>) -> Result<(), NetnsError> {
    move_into_link_name_space(fd, Some(LinkNameSpaceType::Network))
        .map_err(|e| NetnsError::Enter(e.into()))
}

/// Runs `f` with the calling thread inside `target`, then moves it back.
pub fn run_in<R>(target: BorrowedFd<'_>, f: impl FnOnce() -> R) -> Result<R, NetnsError> {
    let home = current()?;
    enter(target)?;
    let out = f();
    move_into_link_name_space(home.as_fd(), Some(LinkNameSpaceType::Network))
        .map_err(|e| NetnsError::Restore(e.into()))?;
    Ok(out)
}

/// True when two namespace descriptors refer to the same namespace.
pub fn same(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> bool {
    match (rustix::fs::fstat(a), rustix::fs::fstat(b)) {
        (Ok(x), Ok(y)) => x.st_dev == y.st_dev && x.st_ino == y.st_ino,
        _ => false,
    }
}
