//! What the helper may do, and who may signal it.
//!
//! The helper is single-threaded, so rustix's thread-level credential calls
//! are the process's. Three phases:
//!
//! 1. At start, [`drop_privileges`]: the terminal's stop signals are
//!    ignored, the inherited scheduling is reset, and every capability but
//!    [`KEPT`] leaves the bounding, permitted, effective and inheritable
//!    sets; the ambient set is cleared.
//! 2. Until the lock window the real uid is the caller's (they may kill or
//!    stop the helper, which then holds nothing shared).
//! 3. Before the lock is taken, [`shut_out_caller`] leaves the caller's
//!    cgroups, resets the CPU affinity and sets real, effective and saved
//!    uid to 0: `kill(2)` from an unprivileged process needs its real or
//!    effective uid to equal the target's real or saved uid, so from then
//!    on the caller can no longer stop (or kill) the helper. What is left
//!    (the terminal's signals, SIGCONT) is in SECURITY.md.
//!
//! Steps that must run as the caller go through [`as_caller`], which changes
//! only the effective uid (and with it the fsuid): the real uid stays as it
//! is, so inside the lock window the caller is shut out then too. The saved
//! uid stays 0 so root can be regained; the kernel clears the effective
//! capabilities while euid is non-zero and restores the permitted ones when
//! it returns to 0. Every switch is verified with `getuid`/`geteuid`.

use rustix::io::Errno;
use rustix::process::{geteuid, getuid, Signal, Uid};
use rustix::thread::{CapabilitySet, CapabilitySets};

use crate::error::HelperError;

/// The capabilities the helper keeps (found by removing each in turn and
/// running the tests):
/// - `NET_ADMIN`: create, attach, bring up and delete veths in the host
///   netns;
/// - `SYS_ADMIN`: `setns` into the caller's netns and back;
/// - `SETUID`: switch the effective uid to the caller's once the real uid is
///   0 (before that, the caller's uid is one of the process's own ids);
/// - `CHOWN`: hand the database files to group root (they are created with
///   the caller's gid, which the helper keeps so that the kernel's checks on
///   the caller's namespace see the caller's ids).
///
/// Not kept, notably: `DAC_OVERRIDE`/`DAC_READ_SEARCH` (the helper owns
/// `/run/lxu` as root and reads the account files as the caller), `SETGID`,
/// `SETPCAP`, `SYS_PTRACE`, `KILL`, `FOWNER`.
pub const KEPT: CapabilitySet = CapabilitySet::NET_ADMIN
    .union(CapabilitySet::SYS_ADMIN)
    .union(CapabilitySet::SETUID)
    .union(CapabilitySet::CHOWN);

/// Drops every capability but [`KEPT`] from all sets, ignores the
/// terminal's stop signals and resets the inherited scheduling policy and
/// nice value. Run first thing, as root.
pub fn drop_privileges() -> Result<(), HelperError> {
    let fail = |what: &'static str, e: Errno| HelperError::Setup {
        what,
        source: e.into(),
    };
    // The terminal driver sends these to the foreground process group
    // (SIGTSTP) or to a background process touching the terminal (SIGTTIN,
    // SIGTTOU) with no permission check, and by default they stop the
    // process; the helper never needs to be stopped.
    for sig in [Signal::TSTP, Signal::TTIN, Signal::TTOU] {
        lxu_sys::signal::ignore(sig.as_raw());
    }
    // The caller's scheduling would otherwise be the helper's while it holds
    // the lock (SCHED_IDLE next to the caller's busy loops starves it).
    // Lowering the nice value needs CAP_SYS_NICE, which is dropped below.
    lxu_sys::sched::set_normal_policy().map_err(|e| HelperError::Setup {
        what: "reset the scheduling policy",
        source: e,
    })?;
    rustix::process::setpriority_process(None, 0).map_err(|e| fail("reset the nice value", e))?;
    // Nothing is ever executed; this only makes sure of it.
    rustix::thread::set_no_new_privs(true).map_err(|e| fail("set no_new_privs", e))?;
    // The bounding set first: dropping from it needs CAP_SETPCAP, which goes
    // with the permitted set below. Numbers past the kernel's last
    // capability give EINVAL and end the loop.
    for n in 0..64 {
        let cap = CapabilitySet::from_bits_retain(1 << n);
        if KEPT.contains(cap) {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(cap) {
            Ok(()) => {}
            Err(Errno::INVAL) => break,
            Err(e) => return Err(fail("drop from the bounding set", e)),
        }
    }
    match rustix::thread::clear_ambient_capability_set() {
        Ok(()) | Err(Errno::INVAL) => {}
        Err(e) => return Err(fail("clear the ambient set", e)),
    }
    let now = rustix::thread::capabilities(None).map_err(|e| fail("read capabilities", e))?;
    // A caller who started us with a smaller bounding set gets a helper
    // with less; a missing capability then fails where it is used.
    let keep = now.permitted & KEPT;
    let want = CapabilitySets {
        effective: keep,
        permitted: keep,
        inheritable: CapabilitySet::empty(),
    };
    rustix::thread::set_capabilities(None, want).map_err(|e| fail("set capabilities", e))?;
    if rustix::thread::capabilities(None).ok() != Some(want) {
        return Err(fail("verify capabilities", Errno::PERM));
    }
    Ok(())
}

/// Takes the helper out of the caller's reach before the database lock is
/// taken, for good: out of the caller's cgroups (no freezer, no CPU quota),
/// off the CPUs the caller pinned it to, and real, effective and saved uid
/// 0, so that the caller can no longer signal it. Any stop signal the caller
/// sent earlier is delivered when the uid change returns, before the lock.
pub fn shut_out_caller() -> Result<(), HelperError> {
    crate::cgroup::leave_caller_cgroups()?;
    let mut all = rustix::thread::CpuSet::new();
    for cpu in 0..rustix::thread::CpuSet::MAX_CPU {
        all.set(cpu);
    }
    // The kernel keeps only the CPUs the (now root's) cpuset allows.
    rustix::thread::sched_setaffinity(None, &all).map_err(|e| HelperError::Setup {
        what: "reset the CPU affinity",
        source: e.into(),
    })?;
    rustix::thread::set_thread_res_uid(Uid::ROOT, Uid::ROOT, Uid::ROOT).map_err(|e| {
        HelperError::SetUid {
            uid: 0,
            source: e.into(),
        }
    })?;
    if !getuid().is_root() || !geteuid().is_root() {
        return Err(HelperError::SetUid {
            uid: 0,
            source: std::io::Error::other("real uid did not change"),
        });
    }
    Ok(())
}

/// Runs `f` with the caller's uid `caller` as effective uid, then restores
/// effective uid 0. The real uid is left as it is. If restoring fails the
/// helper exits at once: continuing with unknown credentials is never safe.
pub fn as_caller<R>(caller: Uid, f: impl FnOnce() -> R) -> Result<R, HelperError> {
    let real = getuid();
    rustix::thread::set_thread_res_uid(real, caller, Uid::ROOT).map_err(|e| {
        HelperError::SetUid {
            uid: caller.as_raw(),
            source: e.into(),
        }
    })?;
    if geteuid() != caller || getuid() != real {
        return Err(HelperError::SetUid {
            uid: caller.as_raw(),
            source: std::io::Error::other("effective uid did not change"),
        });
    }
    let out = f();
    if rustix::thread::set_thread_res_uid(real, Uid::ROOT, Uid::ROOT).is_err()
        || !geteuid().is_root()
        || getuid() != real
    {
        eprintln!("lxu-user-nic: cannot regain privileges; aborting");
        std::process::exit(1);
    }
    Ok(out)
}
