//! `lxu attach`: run a command inside a running container.
//!
//! The monitor hands out a pidfd of init (and an `O_PATH` descriptor of the container's
//! devpts). A child joins every namespace of init in one `setns` on that pidfd: user
//! first (the kernel orders it), no window for pid reuse. Joining a pid namespace only
//! affects children, so it forks once more; that grandchild becomes the command. The
//! `lxu` process is a child subreaper, so it reaps the command directly and returns its
//! exit status; with a terminal it allocates a pty from the container's own devpts (so
//! the command cannot push input into the caller's terminal, CVE-2016-10124) and
//! proxies it.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use lxu_config::Config;
use lxu_sys::channel::Channel;
use lxu_sys::fork::{fork, Fork};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::fs::{Mode, OFlags};
use rustix::process::{waitpid, Pid, WaitOptions};
use rustix::thread::ThreadNameSpaceType as Ns;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::monitor::socket::{connect_running, unexpected};
use crate::session::terminal;
use crate::start::sealed_exec::Trampoline;
use crate::wire::helper::{FromAttachHelper, ToHelper};
use crate::wire::monitor::{Reply, Request};
use crate::wire::{self, RecvError, RemoteError};

/// Default PATH inside the container.
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvMode {
    /// The container's environment: `lxc.environment`, HOME/USER/LOGNAME of the user,
    /// TERM, PATH, `container=lxc`.
    Container,
    /// The caller's environment plus `container=lxc` (LXC's default).
    Keep,
    /// Only `container=lxc`, PATH, and what `-v`/`--keep-var` add.
    Clear,
}

#[derive(Debug, Clone)]
pub struct AttachOptions {
    pub command: Vec<String>,
    pub env: EnvMode,
    pub set_vars: Vec<String>,
    pub keep_vars: Vec<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `-e`: keep all capabilities of the container's user namespace.
    pub elevated: bool,
    /// Force (Some(true)) or refuse (Some(false)) a pty; None: a pty when stdin is a tty.
    pub pty: Option<bool>,
}

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions {
            command: Vec::new(),
            env: EnvMode::Container,
            set_vars: Vec::new(),
            keep_vars: Vec::new(),
            uid: None,
            gid: None,
            elevated: false,
            pty: None,
        }
    }
}

/// What a child step reports when it fails, shown to the user.
fn report(ch: &Channel, msg: String) -> ! {
    let _ = wire::send(ch, &FromAttachHelper::Failed(RemoteError::new(msg)), &[]);
    lxu_sys::exit_immediately(126)
}

/// What the monitor hands out for an attach.
struct Target {
    /// init's pidfd.
    pidfd: OwnedFd,
    /// The container's devpts root, for a pty.
    devpts: Option<OwnedFd>,
    namespaces: Ns,
    /// `cgroup.procs` of the container's cgroups.
    cgroup_procs: Vec<PathBuf>,
}

/// Asks the monitor for init's pidfd; `load_config` runs while the monitor answers.
fn ask_monitor(
    c: &Container,
    load_config: impl FnOnce() -> Result<Config>,
) -> Result<(Target, Config)> {
    let conn = connect_running(c)?;
    // An idle monitor takes a while to wake up: ask first, read the config meanwhile.
    let req = Request::Pidfd;
    conn.send(&req)?;
    let config = load_config()?;
    let (reply, fds) = conn.reply(&req)?;
    let Reply::Pidfd {
        devpts,
        namespaces,
        cgroup_procs,
        ..
    } = reply
    else {
        return Err(unexpected(&req));
    };
    // The reply came with 1 + devpts descriptors (`wire::recv` checks).
    let mut fds = fds.into_iter();
    let pidfd = fds.next().ok_or_else(|| unexpected(&req))?;
    let target = Target {
        pidfd,
        devpts: if devpts { fds.next() } else { None },
        namespaces,
        cgroup_procs,
    };
    Ok((target, config))
}

/// Runs the command; returns its exit status (128+N when killed by signal N).
/// `load_config` gives the container's configuration; it runs while the monitor answers.
pub fn attach(
    c: &Container,
    load_config: impl FnOnce() -> Result<Config>,
    opts: &AttachOptions,
) -> Result<i32> {
    let (target, config) = ask_monitor(c, load_config)?;
    let use_pty = opts
        .pty
        .unwrap_or_else(|| rustix::termios::isatty(rustix::stdio::stdin()))
        && target.devpts.is_some();

    // The command's parent dies right after forking it; we adopt and reap it.
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(|e| Error::sys("become a child subreaper", e))?;
    // Signals for the command are blocked here, read through a signalfd and passed on
    // (the command is in a session of its own, so none of the terminal's reach it).
    let sigfd = lxu_sys::signal::SignalFd::new(&[
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGWINCH,
        libc::SIGCHLD,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGTSTP,
        libc::SIGCONT,
    ])
    .map_err(|e| Error::sys("create a signalfd", e))?;

    let (parent_end, child_end) =
        Channel::pair().map_err(|e| Error::sys("create a socketpair", e))?;
    // Made here, in the caller's pid namespace (see `sealed_exec`).
    let trampoline = Trampoline::new()
        .map_err(|e| Error::sys("make the exec trampoline (a sealed memfd)", e))?;
    let cwd = std::env::current_dir().ok();
    let wait_for_cgroups = !target.cgroup_procs.is_empty();
    let mut plan = ChildPlan::new(&config, opts, cwd, use_pty, wait_for_cgroups);
    // The container's seccomp profile and labels bind attached commands too (warnings
    // were shown at start).
    plan.security = crate::start::security::Security::prepare(
        &config,
        &c.name,
        crate::start::security::HostLsm::probe(),
    )?;
    // Here, in the caller's mount namespace: the container's /proc is its root's to fake.
    let host_proc = if plan.security.needs_proc() {
        Some(
            crate::start::security::open_host_proc()
                .map_err(|e| Error::sys("open /proc to set the command's LSM label", e))?,
        )
    } else {
        None
    };
    // SAFETY: single-threaded: `lxu attach` starts no threads (see the `lxu_sys` docs).
    #[allow(unsafe_code)]
    let forked = unsafe { fork() };
    let intermediate = match forked.map_err(|e| Error::sys("fork", e))? {
        Fork::Child => {
            drop(parent_end);
            child(
                &plan,
                &target,
                &child_end,
                &trampoline,
                host_proc.as_ref().map(|f| f.as_fd()),
            )
        }
        Fork::Parent(pid) => pid,
    };
    drop(child_end);
    drop(target.pidfd);
    drop(trampoline);
    drop(host_proc);
    if wait_for_cgroups {
        join_cgroups(&target.cgroup_procs, intermediate, &parent_end)?;
    }
    let (cmd_pid, master) = wait_started(c, intermediate, &parent_end)?;
    let status = match master {
        Some(m) => proxy_pty(m, cmd_pid, &sigfd),
        None => wait_plain(cmd_pid, &sigfd),
    };
    let _ = lxu_sys::signal::reset_all();
    Ok(status)
}

/// Moves the helper into the container's cgroups, from here while it joins the
/// namespaces: cgroup v1 lets the caller move a process of its own uid, and the helper
/// keeps that uid until it hears back. Its children (the command) inherit the cgroups.
fn join_cgroups(procs: &[PathBuf], helper: Pid, ch: &Channel) -> Result<()> {
    let moved = procs.iter().try_for_each(|procs| {
        match std::fs::write(procs, helper.as_raw_nonzero().get().to_string()) {
            // The helper is gone already: its own message says why.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            r => r.map_err(|e| Error::io("join cgroup", procs, e)),
        }
    });
    if let Err(e) = moved {
        let _ = lxu_sys::signal::kill(helper.as_raw_nonzero().get(), libc::SIGKILL);
        let _ = waitpid(Some(helper), WaitOptions::empty());
        return Err(e);
    }
    let _ = wire::send(ch, &ToHelper::CgroupsJoined, &[]);
    Ok(())
}

/// Waits until the helper has started the command (and the command has executed: the
/// channel closes then); returns the command's pid and its pty master.
fn wait_started(c: &Container, helper: Pid, ch: &Channel) -> Result<(Pid, Option<OwnedFd>)> {
    let mut started: Option<(Option<Pid>, Option<OwnedFd>)> = None;
    let failure = loop {
        match wire::recv::<FromAttachHelper>(ch) {
            Ok(Some((FromAttachHelper::Started { pid, .. }, fds))) => {
                started = Some((Pid::from_raw(pid), fds.into_iter().next()));
            }
            Ok(Some((FromAttachHelper::Failed(e), _))) => break Some(Error::Remote(e)),
            Err(RecvError::Wire(e)) => break Some(Error::Wire(e)),
            Ok(None) | Err(RecvError::Io(_)) => break None,
        }
    };
    let _ = waitpid(Some(helper), WaitOptions::empty());
    if let Some(e) = failure {
        return Err(e);
    }
    match started {
        Some((Some(pid), master)) => Ok((pid, master)),
        _ => Err(Error::AttachHelperDied {
            name: c.name.clone(),
        }),
    }
}

/// Everything the child needs, computed before forking.
struct ChildPlan {
    command: Vec<String>,
    env_mode: EnvMode,
    base_env: Vec<(String, String)>,
    set_vars: Vec<(String, String)>,
    keep_vars: Vec<(String, String)>,
    config_env: Vec<(String, String)>,
    uid: Option<u32>,
    gid: Option<u32>,
    drop_caps: Vec<u32>,
    cwd: Option<std::path::PathBuf>,
    pty: bool,
    term: Option<String>,
    /// Whether the parent moves the child into cgroups (the child waits for it).
    wait_for_cgroups: bool,
    security: crate::start::security::Security,
}

impl ChildPlan {
    fn new(
        config: &Config,
        o: &AttachOptions,
        cwd: Option<std::path::PathBuf>,
        pty: bool,
        wait_for_cgroups: bool,
    ) -> ChildPlan {
        let split = |s: &String| -> (String, String) {
            match s.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (s.clone(), std::env::var(s).unwrap_or_default()),
            }
        };
        let drop_caps = if o.elevated {
            Vec::new()
        } else if config.cap_keep_mode {
            let keep: Vec<u32> = config
                .cap_keep
                .iter()
                .filter_map(|c| lxu_config::cap_number(c))
                .collect();
            (0..=lxu_sys::caps::last_cap())
                .filter(|c| !keep.contains(c))
                .collect()
        } else {
            config
                .cap_drop
                .iter()
                .filter_map(|c| lxu_config::cap_number(c))
                .collect()
        };
        ChildPlan {
            command: o.command.clone(),
            env_mode: o.env,
            base_env: std::env::vars().collect(),
            set_vars: o.set_vars.iter().map(split).collect(),
            keep_vars: o
                .keep_vars
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v)))
                .collect(),
            config_env: config.environment.iter().map(split).collect(),
            uid: o.uid,
            gid: o.gid,
            drop_caps,
            cwd,
            pty,
            term: std::env::var("TERM").ok(),
            wait_for_cgroups,
            security: Default::default(),
        }
    }
}

/// The user's entry in the container's /etc/passwd: (home, shell, name).
fn container_passwd(uid: u32) -> Option<(String, String, String)> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[2].parse::<u32>().ok()? == uid)
            .then(|| (f[5].to_string(), f[6].to_string(), f[0].to_string()))
    })
}

fn child(
    plan: &ChildPlan,
    target: &Target,
    ch: &Channel,
    trampoline: &Trampoline,
    host_proc: Option<BorrowedFd<'_>>,
) -> ! {
    // Not dumpable: nothing in the container may open /proc/PID/exe (the lxu binary) or
    // our memory while we are inside its namespaces.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    // Nothing the caller had open reaches the command: close-on-exec (the objects owning
    // them live on until the exec), and here, while `/proc` is still the host's.
    if let Err(e) = lxu_sys::fd::cloexec_from(3) {
        report(ch, format!("mark inherited descriptors close-on-exec: {e}"));
    }
    // One call: the kernel joins the user namespace first, then the others.
    if let Err(e) =
        rustix::thread::move_into_thread_name_spaces(target.pidfd.as_fd(), target.namespaces)
    {
        report(ch, format!("join the container's namespaces: {e}"));
    }
    // The parent moves us into the container's cgroups meanwhile; our uid must stay the
    // caller's until it is done (cgroup v1 checks it), and nothing may be forked before.
    if plan.wait_for_cgroups {
        match wire::recv::<ToHelper>(ch) {
            Ok(Some((ToHelper::CgroupsJoined, _))) => {}
            _ => lxu_sys::exit_immediately(126),
        }
    }
    if let Err(e) = crate::ids::userns::become_root() {
        report(ch, format!("become root in the container: {e}"));
    }
    let mut slave: Option<OwnedFd> = None;
    let mut master: Option<OwnedFd> = None;
    if plan.pty {
        if let Some(d) = &target.devpts {
            match open_pty(d.as_fd()) {
                Ok((m, s)) => {
                    master = Some(m);
                    slave = Some(s);
                }
                Err(e) => report(ch, format!("allocate a pty in the container: {e}")),
            }
        }
    }
    // SAFETY: single-threaded: this process is a forked child of `lxu attach`, which
    // starts no threads, and it starts none either.
    #[allow(unsafe_code)]
    let forked = unsafe { fork() };
    match forked {
        Err(e) => report(ch, format!("fork: {e}")),
        Ok(Fork::Parent(pid)) => {
            let msg = FromAttachHelper::Started {
                pid: pid.as_raw_nonzero().get(),
                pty: master.is_some(),
            };
            let fds: Vec<BorrowedFd<'_>> = master.iter().map(|m| m.as_fd()).collect();
            let _ = wire::send(ch, &msg, &fds);
            lxu_sys::exit_immediately(0);
        }
        Ok(Fork::Child) => {}
    }
    drop(master);
    let err = exec_command(plan, slave, trampoline, host_proc);
    report(ch, err)
}

fn open_pty(devpts: BorrowedFd<'_>) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let m = rustix::fs::openat(
        devpts,
        "ptmx",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rustix::pty::unlockpt(&m)?;
    let s = rustix::pty::ioctl_tiocgptpeer(
        &m,
        rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY,
    )?;
    Ok((m, s))
}

/// In the command's process: terminal, identity, capabilities, environment, exec.
fn exec_command(
    plan: &ChildPlan,
    slave: Option<OwnedFd>,
    trampoline: &Trampoline,
    host_proc: Option<BorrowedFd<'_>>,
) -> String {
    // Always a session of its own, pty or not: in the caller's session the caller's
    // terminal would be the command's controlling terminal, and TIOCSTI on it would type
    // into the caller's shell (CVE-2016-10124). The client passes the terminal's signals on.
    if let Err(e) = rustix::process::setsid() {
        return format!("start a new session: {e}");
    }
    if let Some(s) = slave {
        if let Err(e) = rustix::process::ioctl_tiocsctty(&s) {
            return format!("make the pty the controlling terminal: {e}");
        }
        for r in [
            rustix::stdio::dup2_stdin(&s),
            rustix::stdio::dup2_stdout(&s),
            rustix::stdio::dup2_stderr(&s),
        ] {
            if let Err(e) = r {
                return format!("set up the pty: {e}");
            }
        }
    }
    let uid = plan.uid.unwrap_or(0);
    let gid = plan.gid.unwrap_or(0);
    let pw = container_passwd(uid);
    let mut env: Vec<(String, String)> = match plan.env_mode {
        EnvMode::Keep => plan.base_env.clone(),
        _ => Vec::new(),
    };
    let mut set = |k: &str, v: &str| {
        env.retain(|(a, _)| a != k);
        env.push((k.to_string(), v.to_string()));
    };
    set("container", "lxc");
    if plan.env_mode != EnvMode::Keep {
        set("PATH", DEFAULT_PATH);
    }
    if plan.env_mode == EnvMode::Container {
        if let Some(t) = &plan.term {
            set("TERM", t);
        }
        if let Some((home, _, name)) = &pw {
            set("HOME", home);
            set("USER", name);
            set("LOGNAME", name);
        }
        for (k, v) in &plan.config_env {
            set(k, v);
        }
    }
    for (k, v) in plan.keep_vars.iter().chain(plan.set_vars.iter()) {
        set(k, v);
    }
    let shell = pw
        .as_ref()
        .map(|(_, sh, _)| sh.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".to_string());
    let argv: Vec<String> = if plan.command.is_empty() {
        vec![shell]
    } else {
        plan.command.clone()
    };
    // The caller's directory if the container has it, as LXC does; else /.
    let dir = plan
        .cwd
        .as_ref()
        .filter(|d| d.is_dir())
        .cloned()
        .unwrap_or_else(|| "/".into());
    let _ = std::env::set_current_dir(&dir);
    for cap in &plan.drop_caps {
        if let Err(e) = lxu_sys::caps::drop_bounding(*cap) {
            return format!("drop capability {cap}: {e}");
        }
    }
    if gid != 0 || uid != 0 {
        if let Err(e) = lxu_sys::creds::setresgid(gid, gid, gid) {
            return format!("switch to gid {gid}: {e}");
        }
        if let Err(e) = lxu_sys::creds::setresuid(uid, uid, uid) {
            return format!("switch to uid {uid}: {e}");
        }
        crate::ids::userns::stay_undumpable();
    }
    let _ = lxu_sys::signal::reset_all();
    if let Err(e) = plan.security.apply_before_exec(host_proc) {
        return e;
    }
    // Through the trampoline, so that no path the command names reaches the lxu binary.
    let err = match trampoline.prepare(&argv, &env, DEFAULT_PATH) {
        Ok(p) => p.exec(),
        Err(e) => e,
    };
    // Like a shell: 127 when the command does not exist, 126 when it cannot run.
    let code = if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    let _ = writeln!(
        std::io::stderr(),
        "lxu-attach: cannot execute `{}`: {err}",
        argv[0]
    );
    lxu_sys::exit_immediately(code)
}

fn status_code(st: rustix::process::WaitStatus) -> i32 {
    match (st.exit_status(), st.terminating_signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => 1,
    }
}

/// Reaps children until `pid` exits; returns its status. Forwards signals.
fn reap_until(
    pid: Pid,
    sigfd: &lxu_sys::signal::SignalFd,
    on_signal: &mut dyn FnMut(i32),
) -> Option<i32> {
    while let Ok(Some((sig, _))) = sigfd.read() {
        if sig != libc::SIGCHLD {
            on_signal(sig);
        }
    }
    loop {
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some((p, st))) if p == pid => return Some(status_code(st)),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

fn wait_plain(pid: Pid, sigfd: &lxu_sys::signal::SignalFd) -> i32 {
    let raw = pid.as_raw_nonzero().get();
    loop {
        let mut fds = [PollFd::new(sigfd, PollFlags::IN)];
        let _ = poll(&mut fds, None);
        // The command leads a session of its own, so what the terminal sends to its
        // foreground group reaches only us: pass it on to the command's group.
        let mut fwd = |sig: i32| match sig {
            libc::SIGINT | libc::SIGQUIT => {
                let _ = lxu_sys::signal::kill(-raw, sig);
            }
            libc::SIGTSTP => {
                // The kernel drops SIGTSTP for the command's group (orphaned: its parent,
                // we, is in another session): stop it outright, then ourselves, so that
                // the caller's shell sees the job stop; `fg` sends us SIGCONT.
                let _ = lxu_sys::signal::kill(-raw, libc::SIGSTOP);
                let _ = lxu_sys::signal::kill(
                    rustix::process::getpid().as_raw_nonzero().get(),
                    libc::SIGSTOP,
                );
            }
            libc::SIGCONT => {
                let _ = lxu_sys::signal::kill(-raw, libc::SIGCONT);
            }
            libc::SIGWINCH => {}
            _ => {
                let _ = lxu_sys::signal::kill(raw, sig);
            }
        };
        if let Some(code) = reap_until(pid, sigfd, &mut fwd) {
            return code;
        }
    }
}

fn proxy_pty(master: OwnedFd, pid: Pid, sigfd: &lxu_sys::signal::SignalFd) -> i32 {
    // Non-blocking: after the command exits, a background process may still hold the
    // pty, and the final drain must not wait for it.
    let _ = rustix::fs::fcntl_setfl(&master, OFlags::NONBLOCK);
    let stdin = rustix::stdio::stdin();
    let raw = terminal::raw();
    let sync_size = || {
        if let Some(ws) = terminal::size() {
            let _ = rustix::termios::tcsetwinsize(&master, ws);
        }
    };
    sync_size();
    let raw_pid = pid.as_raw_nonzero().get();
    let mut stdin_open = true;
    let mut buf = [0u8; 8192];
    let mut out = std::io::stdout();
    let code = loop {
        let mut fds = vec![
            PollFd::new(sigfd, PollFlags::IN),
            PollFd::new(&master, PollFlags::IN),
        ];
        if stdin_open {
            fds.push(PollFd::from_borrowed_fd(stdin, PollFlags::IN));
        }
        let _ = poll(&mut fds, None);
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        if !ready[1].is_empty() {
            match rustix::io::read(&master, &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
                _ => {}
            }
        }
        if stdin_open && ready.len() > 2 && !ready[2].is_empty() {
            match std::io::stdin().read(&mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => {
                    let _ = rustix::io::write(&master, &buf[..n]);
                }
            }
        }
        if !ready[0].is_empty() {
            let mut fwd = |sig: i32| {
                if sig == libc::SIGWINCH {
                    sync_size();
                } else {
                    let _ = lxu_sys::signal::kill(raw_pid, sig);
                }
            };
            if let Some(code) = reap_until(pid, sigfd, &mut fwd) {
                // Drain what the command printed last.
                while let Ok(n) = rustix::io::read(&master, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    let _ = out.write_all(&buf[..n]);
                }
                let _ = out.flush();
                break code;
            }
        }
    };
    drop(raw);
    code
}
