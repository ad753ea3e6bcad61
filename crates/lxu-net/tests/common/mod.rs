//! Shared helpers: skip-or-fail gating, private network namespaces that are
//! always deleted, running code inside one.
#![allow(dead_code)]

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Returns false (after printing why) when the test cannot run here; with
/// LXU_MUST_WORK=1 it panics instead.
pub fn can_run(needs: &[&str]) -> bool {
    let mut missing = Vec::new();
    if !rustix::process::geteuid().is_root() {
        missing.push("root".to_string());
    }
    for tool in needs {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|d| d.join(tool).exists());
        if !found {
            missing.push(format!("`{tool}`"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!("SKIP: needs {}", missing.join(", "));
    if std::env::var("LXU_MUST_WORK").as_deref() == Ok("1") {
        panic!("{msg} (LXU_MUST_WORK=1)");
    }
    eprintln!("{msg}");
    false
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A network namespace made with `ip netns add`, deleted on drop (which
/// also destroys every device inside it).
pub struct TestNetns {
    pub name: String,
    file: File,
}

impl TestNetns {
    pub fn new(tag: &str) -> TestNetns {
        let name = format!(
            "lxut-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        run_ok("ip", &["netns", "add", &name]);
        let file = File::open(format!("/run/netns/{name}")).expect("open netns");
        TestNetns { name, file }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Runs a command inside this namespace.
    pub fn exec(&self, cmd: &[&str]) -> Output {
        let mut args = vec!["netns", "exec", &self.name];
        args.extend_from_slice(cmd);
        Command::new("ip")
            .args(&args)
            .output()
            .expect("ip netns exec")
    }

    /// Like [`TestNetns::exec`] but must succeed; returns stdout.
    pub fn exec_ok(&self, cmd: &[&str]) -> String {
        let out = self.exec(cmd);
        assert!(
            out.status.success(),
            "{cmd:?} in {} failed: {}{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `f` on a fresh thread moved into this namespace, so neither the
    /// test harness thread nor other tests ever change namespace.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        std::thread::scope(|s| {
            s.spawn(|| {
                lxu_net::netns::enter(self.fd()).expect("enter test netns");
                f()
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

pub fn run_ok(prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog).args(args).output().expect(prog);
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
