//! The container's init as the monitor sees it: started (again after a reboot), reaped,
//! and everything that follows its end: `lxc.hook.stop`, `lxc.hook.post-stop`, cleanup.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use lxu_config::HookType;
use rustix::process::{wait, waitpid, Pid, WaitOptions, WaitStatus};

use super::Monitor;
use crate::error::{Error, Result};
use crate::start::spawn;
use crate::state::State;

impl Monitor {
    /// Runs the pre-start hooks, spawns init and takes over its ptys.
    pub(super) fn start_init(&mut self) -> Result<()> {
        self.state = State::Starting;
        let hooks = &self.setup.plan.hooks;
        if hooks.has(HookType::PreStart) {
            if let Err(reason) = hooks.run(HookType::PreStart, &[], false, &[]) {
                self.state = State::Aborting;
                return Err(Error::Hook {
                    name: self.setup.container.name.clone(),
                    reason,
                });
            }
        }
        self.post_stop_due = !hooks.hooks.is_empty();
        let super::Setup {
            plan,
            config,
            euid,
            resources,
            ..
        } = &mut self.setup;
        let mut before_go =
            |pid: Pid, w: &mut dyn FnMut() -> Result<()>| resources.before_go(pid, w);
        let mut spawned = match spawn::spawn(plan, &config.idmaps, *euid, &mut before_go) {
            Ok(sp) => sp,
            Err(e) => {
                self.state = State::Aborting;
                return Err(e);
            }
        };
        if let Some(fd) = spawned.netlink.take() {
            resources.set_netlink(fd);
        }
        self.setup_ttys(&spawned)?;
        if self.setup.plan.hooks.has(HookType::Stop) {
            self.hook_ns = hook_namespaces(spawned.pid);
        }
        self.init = Some(spawned);
        lxu_sys::crash::point("monitor.init-exec");
        self.state = State::Running;
        Ok(())
    }

    pub(super) fn reap(&mut self) -> Result<()> {
        loop {
            // wait(), not waitpid(None): the latter only waits for our process group, and
            // init is a session leader of its own.
            let r = wait(WaitOptions::NOHANG);
            let (pid, status) = match r {
                Ok(Some((pid, st))) => (pid, st),
                Ok(None) => return Ok(()),
                Err(rustix::io::Errno::CHILD) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(Error::sys("wait for init", e)),
            };
            if self.init.as_ref().map(|s| s.pid) == Some(pid) {
                self.init_exited(status)?;
            }
        }
    }

    fn init_exited(&mut self, status: WaitStatus) -> Result<()> {
        lxu_sys::crash::point("monitor.init-reaped");
        // Hanging up the ptys: the last output is read before they are dropped.
        for i in 0..self.ttys.len() {
            self.tty_output(i);
        }
        let reboot = status.terminating_signal() == Some(libc::SIGHUP) && self.stop.is_none();
        self.init = None;
        let target = if reboot { "reboot" } else { "stop" };
        self.stop_hooks(target);
        self.setup.resources.after_stop();
        self.post_stop_hooks(target);
        if reboot {
            // The guest asked for a reboot (init killed by SIGHUP): start again in place.
            self.start_init()?;
            return Ok(());
        }
        self.exit_code = match (status.exit_status(), status.terminating_signal()) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            _ => 0,
        };
        self.state = State::Stopped;
        self.done = true;
        Ok(())
    }

    /// `lxc.hook.stop`, with references to the namespaces of the init that just died.
    fn stop_hooks(&mut self, target: &str) {
        let held = std::mem::take(&mut self.hook_ns);
        if held.is_empty() {
            return;
        }
        let me = std::process::id();
        let ns: Vec<(String, String)> = held
            .iter()
            .map(|(k, fd)| (k.to_string(), format!("/proc/{me}/fd/{}", fd.as_raw_fd())))
            .collect();
        let env = [("LXC_TARGET".to_string(), target.to_string())];
        if let Err(e) = self.setup.plan.hooks.run(HookType::Stop, &env, false, &ns) {
            self.hook_warning(&e);
        }
    }

    /// `lxc.hook.post-stop`, once everything of the container is gone.
    fn post_stop_hooks(&mut self, target: &str) {
        if !std::mem::take(&mut self.post_stop_due) {
            return;
        }
        let env = [("LXC_TARGET".to_string(), target.to_string())];
        if let Err(e) = self
            .setup
            .plan
            .hooks
            .run(HookType::PostStop, &env, false, &[])
        {
            self.hook_warning(&e);
        }
    }

    /// Ends whatever is left of the container, then the monitor's own traces.
    pub(super) fn cleanup(&mut self) {
        self.restore_local();
        if let Some(init) = self.init.take() {
            let _ = lxu_sys::signal::pidfd_send(init.pidfd.as_fd(), libc::SIGKILL);
            let _ = waitpid(Some(init.pid), WaitOptions::empty());
            self.stop_hooks("stop");
            self.setup.resources.after_stop();
        }
        lxu_sys::crash::point("monitor.cgroup-removing");
        self.setup.resources.teardown();
        self.post_stop_hooks("stop");
        lxu_sys::crash::point("monitor.socket-removing");
        let _ = std::fs::remove_file(self.setup.container.socket_path());
        self.state = State::Stopped;
    }
}

/// Descriptors of init's namespaces, for `lxc.hook.stop`'s `TYPE:/proc/PID/fd/N` arguments.
fn hook_namespaces(pid: Pid) -> Vec<(&'static str, OwnedFd)> {
    let mut out = Vec::new();
    for kind in ["user", "mnt", "pid", "uts", "ipc", "net", "cgroup"] {
        let path = format!("/proc/{}/ns/{kind}", pid.as_raw_nonzero());
        if let Ok(fd) = rustix::fs::open(
            &path,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) {
            out.push((kind, fd));
        }
    }
    out
}
