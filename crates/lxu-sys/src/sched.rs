//! Scheduling policy (rustix has no `sched_setscheduler`).

use std::io;

/// Puts the calling thread under the normal time-sharing policy
/// (`SCHED_OTHER`, static priority 0), whatever it inherited: a setuid
/// program that holds a shared resource must not run under the caller's
/// `SCHED_IDLE` or `SCHED_BATCH`. Leaving `SCHED_IDLE` needs `CAP_SYS_NICE`
/// unless `RLIMIT_NICE` allows it.
pub fn set_normal_policy() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid, initialised sched_param for the call.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
    if r == -1 {
        return Err(crate::last_error());
    }
    Ok(())
}
