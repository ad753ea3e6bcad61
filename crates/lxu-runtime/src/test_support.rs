//! Helpers for unit tests that need a kernel, not a mock.

use lxu_config::{IdKind, IdMap};
use lxu_sys::fork::{clone_into_namespaces, fork, Fork, Namespaces};

/// One id map line.
pub(crate) fn id_map(kind: IdKind, nsid: u32, hostid: u32, count: u32) -> IdMap {
    IdMap {
        kind,
        nsid,
        hostid,
        count,
    }
}

/// What a hostile container root does to hide the real procfs: a tmpfs on `/proc`.
pub(crate) fn tmpfs_on_proc() -> std::io::Result<()> {
    rustix::mount::mount(
        "none",
        "/proc",
        "tmpfs",
        rustix::mount::MountFlags::empty(),
        c"",
    )?;
    Ok(())
}

/// Exit code of a child that could not set up what the test needs (a body may return it
/// too): the test is skipped, or fails under `LXU_MUST_WORK`.
pub(crate) const NO_SETUP: i32 = 125;

/// Runs `body` as root of a new user namespace (mapping only the caller's ids) with a
/// private mount namespace, in a grandchild, and returns its exit code. `None` when this
/// host gives no such namespaces (after saying so), unless `LXU_MUST_WORK` is set: then
/// the test fails instead of passing by skipping.
pub(crate) fn in_private_userns(body: impl FnOnce() -> i32) -> Option<i32> {
    let (uid, gid) = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    let (uid_map, gid_map) = (format!("0 {uid} 1"), format!("0 {gid} 1"));
    let setup = || -> std::io::Result<()> {
        std::fs::write("/proc/self/uid_map", &uid_map)?;
        std::fs::write("/proc/self/setgroups", "deny")?;
        std::fs::write("/proc/self/gid_map", &gid_map)?;
        crate::ids::userns::become_root()?;
        rustix::mount::mount_change(
            "/",
            rustix::mount::MountPropagationFlags::PRIVATE
                | rustix::mount::MountPropagationFlags::REC,
        )?;
        Ok(())
    };
    let ns = Namespaces {
        user: true,
        mount: true,
        ..Namespaces::default()
    };
    let wait =
        |pid| match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, st))) => st.exit_status().unwrap_or(NO_SETUP),
            _ => NO_SETUP,
        };
    // A plain fork first (the test harness is threaded; glibc makes allocation safe in
    // the child), then the raw clone from that single-threaded child.
    // SAFETY: the harness has other threads, so the child must not touch what they may
    // be using: it makes system calls, and the grandchild's setup and the tests' bodies
    // also allocate through glibc's malloc (which glibc's fork resets) and print with
    // `eprintln!` into this test's own output capture (libtest's default; under
    // `--nocapture` that is stderr's lock, which another test could hold: a hang).
    #[allow(unsafe_code)]
    let forked = unsafe { fork() };
    let code = match forked.expect("fork") {
        Fork::Child => {
            // SAFETY: single-threaded: the child of a fork has only the forking thread.
            #[allow(unsafe_code)]
            let cloned = unsafe { clone_into_namespaces(ns) };
            let code = match cloned {
                Err(_) => NO_SETUP,
                Ok(Fork::Child) => {
                    let code = if setup().is_ok() { body() } else { NO_SETUP };
                    lxu_sys::exit_immediately(code)
                }
                Ok(Fork::Parent(pid)) => wait(pid),
            };
            lxu_sys::exit_immediately(code)
        }
        Fork::Parent(pid) => wait(pid),
    };
    if code != NO_SETUP {
        return Some(code);
    }
    lxu_test_support::skip("no user namespace with a mount namespace of its own here");
    None
}
