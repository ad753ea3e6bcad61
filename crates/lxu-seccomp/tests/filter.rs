//! Compiled profiles installed in the kernel, in a forked child each: the child sets
//! no_new_privs (a test runs without CAP_SYS_ADMIN), installs the filter, makes calls
//! and reports through its exit status. Everything the child needs is made before the
//! fork, so it allocates nothing (the test harness is threaded).

use std::path::Path;

use lxu_seccomp::{compile, Host, Profile};
use lxu_sys::fork::{fork, Fork};
use lxu_sys::seccomp::{insn, SockFilter};
use rustix::fs::SeekFrom;
use rustix::process::{waitpid, WaitOptions};

fn program(text: &str) -> Vec<SockFilter> {
    let p = Profile::parse(text, Path::new("/test.seccomp")).unwrap();
    let c = compile(&p, Host::native().expect("a supported host")).unwrap();
    c.program
        .iter()
        .map(|i| insn(i.code, i.jt, i.jf, i.k))
        .collect()
}

/// Runs `body` in a child under `prog`; returns (exit code, killing signal).
fn in_child(prog: &[SockFilter], body: impl FnOnce() -> i32) -> (Option<i32>, Option<i32>) {
    // SAFETY: the harness has other threads; the child only makes system calls (the
    // filter and everything the bodies use are made before the fork) and exits.
    #[allow(unsafe_code)]
    let forked = unsafe { fork() };
    match forked.unwrap() {
        Fork::Child => {
            if rustix::thread::set_no_new_privs(true).is_err() {
                lxu_sys::exit_immediately(90);
            }
            if lxu_sys::seccomp::set_filter(prog).is_err() {
                lxu_sys::exit_immediately(91);
            }
            lxu_sys::exit_immediately(body())
        }
        Fork::Parent(pid) => {
            let (_, st) = waitpid(Some(pid), WaitOptions::empty()).unwrap().unwrap();
            (st.exit_status(), st.terminating_signal())
        }
    }
}

#[test]
fn a_denied_call_returns_the_errno_and_others_pass() {
    let file = tempfile::tempfile().unwrap();
    let prog = program(
        "2\ndenylist\nlseek errno 7 [1,0x100000000,SCMP_CMP_GE]\numask errno 1\n[all]\nkexec_load errno 1\n",
    );
    let (code, sig) = in_child(&prog, || {
        match rustix::fs::seek(&file, SeekFrom::Start(5)) {
            Ok(5) => {}
            _ => return 1,
        }
        match rustix::fs::seek(&file, SeekFrom::Start(0xffff_ffff)) {
            Ok(0xffff_ffff) => {}
            _ => return 2,
        }
        // 1<<32 differs from the allowed values only in the high half.
        match rustix::fs::seek(&file, SeekFrom::Start(1 << 32)) {
            Err(e) if e.raw_os_error() == 7 => {}
            _ => return 3,
        }
        let _ = rustix::process::getpid();
        0
    });
    assert_eq!((code, sig), (Some(0), None));
}

#[test]
fn kill_ends_the_process_with_sigsys() {
    let prog = program("2\ndenylist\ngetppid kill\n");
    let (code, sig) = in_child(&prog, || {
        let _ = rustix::process::getppid();
        0
    });
    assert_eq!(code, None);
    assert_eq!(sig, Some(rustix::process::Signal::SYS.as_raw()));
}

#[test]
fn an_allowlist_refuses_what_it_does_not_list() {
    let file = tempfile::tempfile().unwrap();
    // exit_group must be allowed for the child to report; lseek is not listed.
    let prog = program("2\nallowlist errno 38\nexit_group\nexit\nwrite\n");
    let (code, _) = in_child(&prog, || {
        match rustix::fs::seek(&file, SeekFrom::Start(1)) {
            Err(e) if e.raw_os_error() == 38 => 0,
            _ => 1,
        }
    });
    assert_eq!(code, Some(0));
}
