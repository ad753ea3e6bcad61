//! Shared helpers: skip-or-fail gating, private network namespaces that are
//! always deleted, running code inside one.
#![allow(dead_code)]

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use lxu_test_support::run_ok;

/// Whether this test can run here (root and the tools in `needs`); otherwise skips, or
/// fails under LXU_MUST_WORK=1.
#[track_caller]
pub fn can_run(needs: &[&str]) -> bool {
    lxu_test_support::Needs::new().root().tools(needs).met()
}

/// Fresh network namespaces, one per tag, where the test can run ([`can_run`] with
/// `needs`); `None` after a skip.
#[track_caller]
pub fn namespaces<const N: usize>(needs: &[&str], tags: [&str; N]) -> Option<[TestNetns; N]> {
    can_run(needs).then(|| tags.map(TestNetns::new))
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
