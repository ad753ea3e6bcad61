//! The caller-named network namespace: opened and checked with the caller's
//! own credentials, never as root.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use lxu_net::netns;
use lxu_net::Netlink;
use rustix::fs::{Mode, OFlags};
use rustix::process::Uid;

use crate::error::HelperError;
use crate::privs::as_caller;

/// Opens the namespace file `path` as the caller. `arg` is the argument as
/// given, used verbatim in the one refusal message.
///
/// The open uses `O_PATH` so naming a FIFO or a device has no side effect
/// (CVE-2018-6556), and it happens with the caller's uid so the kernel's own
/// checks decide (for `/proc/<pid>/ns/net`: may the caller ptrace-read that
/// process, i.e. is it theirs). Only an nsfs file is then reopened for real.
pub fn open_as_caller(ruid: Uid, path: &Path, arg: &str) -> Result<OwnedFd, HelperError> {
    let denied = || HelperError::NetnsDenied(arg.escape_debug().to_string());
    as_caller(ruid, || -> Option<OwnedFd> {
        let opath = rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).ok()?;
        if !netns::is_nsfs(opath.as_fd()) {
            return None;
        }
        let reopen = format!("/proc/self/fd/{}", opath.as_raw_fd());
        let fd = rustix::fs::open(
            reopen.as_str(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        netns::is_nsfs(fd.as_fd()).then_some(fd)
    })?
    .ok_or_else(denied)
}

/// Whether the caller holds CAP_NET_ADMIN over `target` (CVE-2017-5985):
/// enter it as root, drop to the caller's uid, open a netlink socket there
/// and try a no-op change. A namespace the caller merely can *see* (their
/// own process in the host netns, or one a root process put them in) fails.
pub fn caller_administers(
    ruid: Uid,
    home: &OwnedFd,
    target: &OwnedFd,
    arg: &str,
) -> Result<(), HelperError> {
    let denied = || HelperError::NetnsDenied(arg.escape_debug().to_string());
    // Entering fails for a non-network namespace; same message.
    netns::enter(target.as_fd()).map_err(|_| denied())?;
    let verdict = as_caller(ruid, || -> bool {
        match Netlink::open() {
            Ok(mut nl) => nl.may_administer().unwrap_or(false),
            Err(_) => false,
        }
    });
    go_home(home);
    if verdict? {
        Ok(())
    } else {
        Err(denied())
    }
}

/// Runs `f` inside `target` with the caller's uid (renames inside a
/// container netns must never run as root, CVE-2017-5985), then returns to
/// `home` with root's uid.
pub fn in_target_as_caller<R>(
    ruid: Uid,
    home: &OwnedFd,
    target: &OwnedFd,
    f: impl FnOnce() -> R,
) -> Result<R, HelperError> {
    netns::enter(target.as_fd())?;
    let out = as_caller(ruid, f);
    go_home(home);
    out
}

/// Returns to the host netns; failing that, exit at once rather than do
/// anything more as root in a namespace the caller controls.
fn go_home(home: &OwnedFd) {
    if netns::enter(home.as_fd()).is_err() {
        eprintln!("lxu-user-nic: cannot return to the host network namespace; aborting");
        std::process::exit(1);
    }
}
