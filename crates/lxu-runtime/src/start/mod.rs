//! `lxu start`: check, lock, fork the monitor, wait until the container runs.

pub(crate) mod init;
pub(crate) mod limits;
pub(crate) mod mountopts;
pub(crate) mod mounts;
pub(crate) mod plan;
pub(crate) mod reaper;
pub(crate) mod sealed_exec;
pub(crate) mod security;
pub(crate) mod spawn;

use std::fs::File;
use std::path::PathBuf;

use lxu_config::Location;
use lxu_sys::fork::{fork, Fork};

use crate::container::Container;
use crate::context::Context;
use crate::error::{ContainerError, Error, Result};
use crate::ids::idmap;
use crate::monitor::resources::{Cgroups, Delegate, Resources};
use crate::monitor::{self, Setup};
use crate::start::plan::Plan;

#[derive(Debug, Default, Clone)]
pub struct StartOptions {
    /// Stay attached to the terminal (`-F`); the default is to daemonize.
    pub foreground: bool,
    /// `-f FILE`: use this config instead of the container's.
    pub rcfile: Option<PathBuf>,
    /// `-s KEY=VAL` overrides.
    pub overrides: Vec<(String, String)>,
    /// Command after the options: replaces `lxc.init.cmd`.
    pub command: Vec<String>,
    /// `-L FILE`: console log.
    pub console_log: Option<PathBuf>,
    /// `-p FILE`: write init's pid there.
    pub pidfile: Option<PathBuf>,
    /// `lxu execute`: `command` runs under a reaping pid 1, in the foreground, with the
    /// caller's stdio when that is not a terminal (else through the console).
    pub execute: bool,
}

/// What happened.
#[derive(Debug, PartialEq, Eq)]
pub enum Started {
    /// Running in the background; init's pid.
    Daemon(i32),
    /// Foreground run ended; exit code for `lxu start -F`.
    Foreground(i32),
    /// It was running already.
    AlreadyRunning,
}

/// Takes the container's lock without waiting; `None` if someone holds it.
///
/// A lock file that was unlinked while we opened it (a concurrent destroy removing the
/// directory) counts as held: locking the orphaned inode would exclude nobody.
pub(crate) fn try_lock(c: &Container) -> Result<Option<File>> {
    let path = c.lock_path();
    if !c.dir.is_dir() {
        c.ensure_exists()?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open lock", &path, e))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
    }
    use std::os::unix::fs::MetadataExt;
    let held = f.metadata().map_err(|e| Error::io("stat", &path, e))?;
    match std::fs::symlink_metadata(&path) {
        Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => Ok(Some(f)),
        _ => Ok(None),
    }
}

pub fn start(ctx: &Context, c: &Container, opts: &StartOptions) -> Result<Started> {
    c.ensure_exists()?;
    let mut config = match &opts.rcfile {
        Some(f) => lxu_config::Config::load(f)?,
        None => c.load_config()?,
    };
    for (k, v) in &opts.overrides {
        let loc = Location {
            file: PathBuf::from("<command line -s>"),
            line: 0,
        };
        config.apply(k, v, &loc)?;
    }
    if !ctx.is_root() {
        idmap::check_allowed(&config.idmaps, &ctx.user, ctx.euid)?;
    }
    let mut plan = Plan::build(c, &config, ctx.euid, &opts.command)?;
    if opts.execute {
        if opts.command.is_empty() {
            return Err(Error::container(&c.name, ContainerError::NoCommand));
        }
        plan.execute = true;
        plan.inherit_stdio = !rustix::termios::isatty(rustix::stdio::stdin());
    }
    if !config.hooks.is_empty() || config.rootfs_mount.is_some() {
        use crate::hooks::{self, HookSet};
        let file = opts.rcfile.clone().unwrap_or_else(|| c.config_path());
        let mount = hooks::rootfs_mount(
            &config,
            hooks::need_rootfs_path(&config.hooks),
            &ctx.default_rootfs_mount(),
        )
        .map_err(|problem| Error::container(&c.name, problem))?;
        plan.hooks = HookSet::new(&c.name, &config, &file, &plan.rootfs, &mount);
        plan.rootfs_mount = mount;
    }
    let lock = match lock_or_wait(c)? {
        Ok(lock) => lock,
        Err(running) => return Ok(running),
    };
    // A destroy may have finished between the first look and the lock.
    c.ensure_exists()?;
    // A monitor killed while the container was frozen left it frozen, alive.
    if c.socket_path().symlink_metadata().is_ok() {
        crate::control::stop::clear_leftovers_locked(c);
    }
    lxu_sys::crash::point("start.locked");
    let resources = Resources {
        name: c.name.clone(),
        cgroups: Some(cgroup_settings(ctx, &config, &plan)),
        nets: (!plan.nets.is_empty()).then(|| crate::monitor::resources::Nets {
            plans: plan.nets.clone(),
            euid: ctx.euid,
            helper: ctx.libexec_dir.join("lxu-user-nic"),
            lxcpath: c.lxcpath.clone(),
            created: Vec::new(),
            inside: None,
            netns: None,
        }),
        warnings: plan.security.warnings.clone(),
        cgroup_mount: plan.cgroup_mount,
    };
    let inherit_stdio = plan.inherit_stdio;
    let setup = Setup {
        container: c.clone(),
        config,
        plan,
        euid: ctx.euid,
        foreground: opts.foreground || opts.execute,
        local_console: (opts.foreground || opts.execute) && !inherit_stdio,
        report: None,
        console_log: opts.console_log.clone(),
        lock,
        resources,
    };
    if opts.foreground || opts.execute {
        let code = monitor::run(setup);
        return Ok(Started::Foreground(code));
    }
    daemonize(setup, opts)
}

/// How long `start` waits for another command that holds the container's lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The container's lock, or `Started::AlreadyRunning`. Someone else may hold the lock: its
/// monitor (then it runs, and "already running" is the truth, a success as `lxc-start`
/// says it), or another command: a concurrent start whose monitor does not answer yet, a
/// stop, destroy, copy or snapshot. Those are waited for (a bit): a concurrent start ends
/// running (already running) or failed (then this start tries itself), a stop ends with
/// the lock free. Still held after the wait: a clear error naming what holds it. So of
/// several concurrent starts exactly one starts the container, and none says "already
/// running" of a container that never ran.
fn lock_or_wait(c: &Container) -> Result<std::result::Result<File, Started>> {
    use crate::state::State;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        if let Some(lock) = try_lock(c)? {
            return Ok(Ok(lock));
        }
        // A monitor still starting the container answers once it runs (or fails).
        let doing = match crate::state::status(c)?.state {
            State::Running | State::Freezing | State::Frozen | State::Thawed => {
                return Ok(Err(Started::AlreadyRunning))
            }
            State::Starting => "being started",
            State::Stopping | State::Aborting => "being stopped",
            State::Stopped => "being started, stopped, destroyed, copied or snapshotted",
        };
        if std::time::Instant::now() >= deadline {
            return Err(Error::InUse {
                name: c.name.clone(),
                doing,
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        c.ensure_exists()?;
    }
}

/// The container's cgroup settings; devices rules are left out for an unprivileged
/// container (a user namespace cannot apply them; userns.conf clears them too).
fn cgroup_settings(ctx: &Context, config: &lxu_config::Config, plan: &Plan) -> Cgroups {
    let unpriv = !config.idmaps.is_empty();
    let keep = |list: &[(String, String)]| -> Vec<(String, String)> {
        list.iter()
            .filter(|(k, _)| !(unpriv && k.starts_with("devices.")))
            .cloned()
            .collect()
    };
    Cgroups {
        hierarchies: None,
        delegation: None,
        cgroup: None,
        v1: keep(&config.cgroup_v1),
        v2: keep(&config.cgroup_v2),
        euid: ctx.euid,
        user: ctx.user.name.clone(),
        unprivileged: unpriv,
        delegate: delegate_to(ctx, config, plan),
    }
}

/// An init that builds its own cgroup tree (systemd) gets its cgroups; others need not
/// pay for the extra map helpers this takes.
fn delegate_to(ctx: &Context, config: &lxu_config::Config, plan: &Plan) -> Option<Delegate> {
    if !plan.init_is_systemd || config.idmaps.is_empty() {
        return None;
    }
    use lxu_config::IdKind;
    let root = (
        idmap::host_id(&config.idmaps, IdKind::Uid, 0)?,
        idmap::host_id(&config.idmaps, IdKind::Gid, 0)?,
    );
    let (maps, _, _) = idmap::with_caller(&config.idmaps, ctx.euid, ctx.egid);
    Some(Delegate {
        maps,
        euid: ctx.euid,
        root,
    })
}

fn daemonize(mut setup: Setup, opts: &StartOptions) -> Result<Started> {
    let (read_end, write_end) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| Error::sys("create a pipe", e))?;
    // SAFETY: single-threaded: `lxu start` starts no threads (see the `lxu_sys` docs).
    #[allow(unsafe_code)]
    let forked = unsafe { fork() };
    match forked.map_err(|e| Error::sys("fork the monitor", e))? {
        Fork::Child => {
            drop(read_end);
            let _ = rustix::process::setsid();
            detach_stdio();
            // Nothing the caller had open (pipes a script waits on, files) stays open in
            // a process that lives as long as the container; nor its working directory.
            use std::os::fd::AsRawFd;
            let keep = [write_end.as_raw_fd(), setup.lock.as_raw_fd()];
            // SAFETY: from here on this process runs only `monitor::run(setup)` and then
            // `_exit`s, never returning to the frames below; of what it uses, `setup` owns
            // the lock and will own `write_end` (both kept), and no static holds a
            // descriptor (rustix's procfs cache is not compiled in).
            #[allow(unsafe_code)]
            let _ = unsafe { lxu_sys::fd::close_from(3, &keep) };
            let _ = std::env::set_current_dir("/");
            setup.report = Some(write_end);
            let code = monitor::run(setup);
            lxu_sys::exit_immediately(code);
        }
        Fork::Parent(_) => {
            drop(write_end);
            // The lock now lives in the monitor; our copy of the descriptor goes.
            let name = setup.container.name.clone();
            drop(setup);
            lxu_sys::crash::point("start.monitor-forked");
            let pid = crate::wire::report::wait_started(read_end, &name)?;
            lxu_sys::crash::point("start.reported");
            if let Some(pf) = &opts.pidfile {
                std::fs::write(pf, format!("{pid}\n"))
                    .map_err(|e| Error::io("write pid file", pf, e))?;
            }
            Ok(Started::Daemon(pid))
        }
    }
}

/// The monitor must not keep the caller's terminal or pipes open.
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
        let _ = rustix::stdio::dup2_stderr(&null);
    }
}
