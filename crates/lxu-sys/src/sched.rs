//! Scheduling policy (rustix has no `sched_setscheduler`).

use std::io;

/// Puts the calling thread under the normal time-sharing policy
/// (`SCHED_OTHER`, static priority 0), whatever it inherited: a setuid
/// program that holds a shared resource must not run under the caller's
/// `SCHED_IDLE` or `SCHED_BATCH`. Leaving `SCHED_IDLE` needs `CAP_SYS_NICE`
/// unless `RLIMIT_NICE` allows it.
pub fn set_normal_policy() -> io::Result<()> {
    // Zeroed rather than built: musl's sched_param has more fields than
    // glibc's, and all of them must be 0 for SCHED_OTHER.
    // SAFETY: an all-zero sched_param is a valid value of the plain C struct.
    let param: libc::sched_param = unsafe { std::mem::zeroed() };
    // The system call itself: musl's wrapper always fails with ENOSYS (it
    // declines Linux's per-thread semantics).
    // SAFETY: `param` is a valid, initialised sched_param that outlives the
    // call; the other arguments are integers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_setscheduler,
            0 as libc::pid_t,
            libc::SCHED_OTHER,
            &param as *const libc::sched_param,
        )
    };
    if r == -1 {
        return Err(crate::last_error());
    }
    Ok(())
}
