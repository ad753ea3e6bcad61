//! Running a step with the caller's real uid as effective uid.
//!
//! The helper is single-threaded, so rustix's thread-level setresuid is the
//! process's. The saved uid stays 0 while dropped, so root can be regained;
//! effective capabilities are cleared by the kernel while euid is non-zero,
//! and filesystem access uses the caller's uid (fsuid follows euid). Every
//! switch is verified with `geteuid`.

use rustix::process::{geteuid, Uid};
use rustix::thread::set_thread_res_uid;

use crate::error::HelperError;

/// Runs `f` with real and effective uid set to `ruid`, then restores
/// effective uid 0. If restoring fails the helper exits at once: continuing
/// with unknown credentials is never safe.
pub fn as_caller<R>(ruid: Uid, f: impl FnOnce() -> R) -> Result<R, HelperError> {
    set_thread_res_uid(ruid, ruid, Uid::ROOT).map_err(|e| HelperError::SetUid {
        uid: ruid.as_raw(),
        source: e.into(),
    })?;
    if geteuid() != ruid {
        return Err(HelperError::SetUid {
            uid: ruid.as_raw(),
            source: std::io::Error::other("effective uid did not change"),
        });
    }
    let out = f();
    if set_thread_res_uid(ruid, Uid::ROOT, Uid::ROOT).is_err() || !geteuid().is_root() {
        eprintln!("lxu-user-nic: cannot regain privileges; aborting");
        std::process::exit(1);
    }
    Ok(out)
}
