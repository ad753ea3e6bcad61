//! The container's first process, from clone to exec of `lxc.init.cmd`.
//!
//! Runs in the new namespaces as a copy of the monitor. It waits until the monitor has
//! written the id maps, becomes root of the user namespace, builds the root filesystem
//! (every path resolved inside the rootfs, see `mounts`), allocates the console and tty
//! ptys from the container's own devpts instance and hands their masters to the monitor,
//! pivots, and executes init (the messages and their order: `crate::wire`). Any failure
//! is sent to the monitor and the process exits: the monitor turns it into ABORTING and
//! the user's error message.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use lxu_config::{HookType, ProcMode, SysMode};
use lxu_net::Netlink;
use lxu_sys::channel::Channel;
use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use crate::hooks::RootfsMount;
use crate::start::mounts::{self, fd_path};
use crate::start::plan::{Entry, Plan};
use crate::start::sealed_exec::Trampoline;
use crate::wire::init::{CgroupBind, FromInit, Go, ToInit};
use crate::wire::{self, RemoteError};

type Step<T = ()> = std::result::Result<T, String>;

fn ctx<T, E: std::error::Error>(
    r: std::result::Result<T, E>,
    what: impl FnOnce() -> String,
) -> Step<T> {
    r.map_err(|e| format!("{}: {}", what(), crate::error::Chain(&e)))
}

/// Runs the init side; never returns.
pub(crate) fn run(plan: &Plan, ch: Channel) -> ! {
    let result = setup(plan, &ch);
    let msg = match result {
        Ok(never) => match never {},
        Err(m) => m,
    };
    let _ = wire::send(&ch, &FromInit::Failed(RemoteError::new(msg)), &[]);
    lxu_sys::exit_immediately(126);
}

enum Never {}

/// What init holds from before the go-ahead until exec.
struct Prepared {
    trampoline: Trampoline,
    /// The host's procfs, to set init's LSM label through.
    host_proc: Option<OwnedFd>,
    /// A netlink socket in the container's network namespace.
    netlink: Option<Netlink>,
}

fn setup(plan: &Plan, ch: &Channel) -> Step<Never> {
    // Nothing of the monitor (listening socket, lock, signalfd) may reach the container:
    // marked close-on-exec rather than closed, as their owners (the monitor's objects,
    // copied into this process) stay alive until the exec.
    ctx(lxu_sys::fd::cloexec_from(3), || {
        "mark inherited descriptors close-on-exec".into()
    })?;
    let (mut p, rootfs) = prepare(plan, ch)?;
    let go = match wire::recv::<ToInit>(ch) {
        Ok(Some((ToInit::Go(go), _))) => go,
        _ => lxu_sys::exit_immediately(1),
    };
    let root = build_root(plan, &mut p, rootfs, &go)?;
    let ptys = allocate_ptys(root.as_fd(), plan)?;
    mount_rest(plan, root.as_fd(), &go.cgroups)?;
    hand_over(plan, ch, ptys, p.netlink.take())?;
    finish(plan, ch, root, &p)
}

/// Before the go-ahead: what needs no id map, done while the monitor writes it. Returns
/// the rootfs directory too, opened with the caller's identity.
fn prepare(plan: &Plan, ch: &Channel) -> Step<(Prepared, OwnedFd)> {
    ctx(lxu_sys::signal::reset_all(), || {
        "reset signal handling".into()
    })?;
    // A session of its own from the start: with `execute` or `start -F` the monitor is in
    // the caller's session, and neither the hooks run here nor init may have the caller's
    // terminal as controlling terminal (TIOCSTI, CVE-2016-10124).
    ctx(rustix::process::setsid(), || "start a new session".into())?;
    // Init is created in the container's pid namespace, but nothing runs in it yet (see
    // `sealed_exec` on why that matters).
    let trampoline = ctx(Trampoline::new(), || {
        "make the exec trampoline (a sealed memfd)".into()
    })?;
    // Before the container's /proc is mounted: the LSM label must reach the real procfs
    // (see `security::open_host_proc`), not whatever a start hook leaves at /proc.
    let host_proc = if plan.security.needs_proc() {
        Some(ctx(crate::start::security::open_host_proc(), || {
            "open /proc to set init's LSM label".into()
        })?)
    } else {
        None
    };
    // The rootfs is opened with the caller's own identity: after becoming the container's
    // root, the path to it (a 0700 home directory) may no longer be searchable.
    let rootfs = ctx(
        rustix::fs::open(
            &plan.rootfs,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ),
        || format!("open rootfs `{}`", plan.rootfs.display()),
    )?;
    if plan.own_netns {
        // Made here rather than in the clone: it is the costliest namespace, and the
        // monitor meanwhile starts the id-map helpers and sets up cgroups.
        ctx(
            lxu_sys::fork::unshare(lxu_sys::fork::Namespaces {
                net: true,
                ..Default::default()
            }),
            || "create a network namespace".into(),
        )?;
        if wire::send(ch, &FromInit::NetnsReady, &[]).is_err() {
            lxu_sys::exit_immediately(1);
        }
    }
    // Loopback goes up now, in parallel with the map helpers; the same socket configures
    // the veths after the go-ahead and then stays with the monitor (to read addresses).
    let netlink = if plan.own_netns {
        Some(
            crate::monitor::net::open_inside()
                .map_err(|e| format!("{}: network: {e}", plan.name))?,
        )
    } else {
        None
    };
    let p = Prepared {
        trampoline,
        host_proc,
        netlink,
    };
    Ok((p, rootfs))
}

/// After the go-ahead: becomes the container's root, configures the network, attaches
/// the rootfs and mounts /proc, /sys, /dev and devpts; returns the rootfs mount.
fn build_root(plan: &Plan, p: &mut Prepared, rootfs: OwnedFd, go: &Go) -> Step<OwnedFd> {
    if plan.userns {
        ctx(crate::ids::userns::become_root(), || {
            "become root of the user namespace".into()
        })?;
    }
    // The monitor has placed us in the container's cgroup: make it our cgroup root.
    ctx(
        lxu_sys::fork::unshare(lxu_sys::fork::Namespaces {
            cgroup: true,
            ..Default::default()
        }),
        || "create a cgroup namespace".into(),
    )?;
    // A process that is not dumpable cannot be opened through /proc/PID by the container
    // (its mm belongs to the host's user namespace), so nothing in the container can
    // write to the lxu binary through /proc/PID/exe while this process runs it.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    if let Some(nl) = &mut p.netlink {
        crate::monitor::net::configure_inside(nl, &plan.nets, &go.nics)
            .map_err(|e| format!("{}: network: {e}", plan.name))?;
    }
    ctx(
        rustix::system::sethostname(plan.hostname.as_bytes()),
        || format!("set hostname `{}`", plan.hostname),
    )?;
    ctx(
        rustix::mount::mount_change(
            "/",
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
        ),
        || "make the mount tree private".into(),
    )?;
    hook(plan, HookType::PreMount)?;
    let root = attach_rootfs(&rootfs, &plan.rootfs_mount)?;
    drop(rootfs);
    let r = root.as_fd();
    if let Some(mode) = plan.proc_mode {
        mount_proc(r, mode)?;
    }
    if let Some(mode) = plan.sys_mode {
        mount_sys(r, mode, plan.own_netns)?;
    }
    if plan.autodev {
        mount_dev(r)?;
    }
    mount_devpts(r, plan)?;
    Ok(root)
}

/// The container's cgroups, `lxc.mount.entry`, `lxc.sysctl`, and the mount and autodev
/// hooks.
fn mount_rest(plan: &Plan, r: BorrowedFd<'_>, cgroups: &[CgroupBind]) -> Step {
    if !cgroups.is_empty() {
        mount_cgroups(r, cgroups)?;
    }
    for e in &plan.entries {
        if let Err(msg) = mount_entry(r, e) {
            if !e.opts.optional {
                return Err(msg);
            }
        }
    }
    for (path, value) in &plan.sysctls {
        write_sysctl(r, path, value)?;
    }
    hook(plan, HookType::Mount)?;
    if plan.autodev {
        hook(plan, HookType::Autodev)?;
    }
    Ok(())
}

/// Hands the pty masters, the devpts root and the netlink socket to the monitor, and
/// waits while it runs the start-host hooks.
fn hand_over(plan: &Plan, ch: &Channel, ptys: Ptys, netlink: Option<Netlink>) -> Step {
    let mut fds: Vec<BorrowedFd<'_>> = Vec::new();
    if let Some(c) = &ptys.console {
        fds.push(c.as_fd());
    }
    fds.extend(ptys.ttys.iter().map(|t| t.as_fd()));
    fds.push(ptys.devpts.as_fd());
    if let Some(nl) = &netlink {
        fds.push(nl.socket().as_fd());
    }
    let msg = FromInit::Ptys {
        console: ptys.console.is_some(),
        ttys: ptys.ttys.len() as u32,
        netlink: netlink.is_some(),
    };
    ctx(wire::send(ch, &msg, &fds), || {
        "pass the console to the monitor".into()
    })?;
    drop(fds);
    drop(ptys);
    drop(netlink);
    if plan.hooks.has(HookType::StartHost) {
        // The monitor runs the start-host hooks on the host now.
        match wire::recv::<ToInit>(ch) {
            Ok(Some((ToInit::Continue, _))) => {}
            _ => lxu_sys::exit_immediately(1),
        }
    }
    Ok(())
}

/// From pivot_root to the exec of `lxc.init.cmd`.
fn finish(plan: &Plan, ch: &Channel, root: OwnedFd, p: &Prepared) -> Step<Never> {
    pivot(root.as_fd())?;
    lxu_sys::crash::point("init.pivoted");
    drop(root);
    setup_stdio(plan)?;
    if plan.hooks.has(HookType::Start) {
        plan.hooks
            .run_in_container(HookType::Start, &plan.env, &p.trampoline)
            .map_err(|e| format!("{}: {e}", plan.name))?;
    }
    drop_capabilities(plan)?;
    for (res, lim) in &plan.rlimits {
        ctx(rustix::process::setrlimit(*res, *lim), || {
            format!("set lxc.prlimit {res:?} (a user namespace can only lower a hard limit)")
        })?;
    }
    if plan.gid != 0 || plan.uid != 0 {
        ctx(
            lxu_sys::creds::setresgid(plan.gid, plan.gid, plan.gid),
            || format!("set lxc.init.gid {}", plan.gid),
        )?;
        ctx(
            lxu_sys::creds::setresuid(plan.uid, plan.uid, plan.uid),
            || format!("set lxc.init.uid {}", plan.uid),
        )?;
        crate::ids::userns::stay_undumpable();
    }
    ctx(std::env::set_current_dir(&plan.cwd), || {
        format!("change to lxc.init.cwd `{}`", plan.cwd)
    })?;
    // Set after the last identity change (which would clear it): init must die with its
    // monitor so no container is ever left running without one.
    ctx(
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)),
        || "set the parent death signal".into(),
    )?;
    // Last, so that nothing of the setup above is filtered; a failure still reaches the
    // monitor, which then aborts the start.
    plan.security
        .apply_before_exec(p.host_proc.as_ref().map(|f| f.as_fd()))
        .map_err(|e| format!("{}: {e}", plan.name))?;
    // If the monitor died before the line above, this send fails and we stop here.
    if wire::send(ch, &FromInit::Exec, &[]).is_err() {
        lxu_sys::exit_immediately(1);
    }
    if plan.execute {
        // SAFETY: single-threaded: init is the only thread of the process
        // `clone_into_namespaces` made (see `spawn`), and starts none.
        #[allow(unsafe_code)]
        let forked = unsafe { lxu_sys::fork::fork() };
        match forked {
            Ok(lxu_sys::fork::Fork::Child) => {}
            Ok(lxu_sys::fork::Fork::Parent(pid)) => {
                // The monitor learns of the exec when every copy of the channel is gone,
                // and this process stays in the container as its pid 1: really closed.
                // SAFETY: `reaper::run` never returns and ends the process with `_exit`,
                // so the owners of these descriptors (the channel, the trampoline, the
                // host /proc handle, the monitor's objects in the frames below) are never
                // used or dropped again; it opens what it needs (a signalfd) afterwards.
                #[allow(unsafe_code)]
                let _ = unsafe { lxu_sys::fd::close_from(3, &[]) };
                crate::start::reaper::run(pid.as_raw_nonzero().get());
            }
            Err(e) => return Err(format!("{}: fork the command: {e}", plan.name)),
        }
    }
    // Through the trampoline: a `#!/proc/self/exe` init must not run the lxu binary.
    let err =
        match p
            .trampoline
            .prepare(&plan.argv, &plan.env, crate::session::attach::DEFAULT_PATH)
        {
            Ok(p) => p.exec(),
            Err(e) => e,
        };
    Err(format!(
        "{}: cannot execute init `{}` in the container: {err}",
        plan.name, plan.argv[0]
    ))
}

/// Runs the `lxc.hook.*` of type `t` that init runs before pivot_root (host filesystem
/// visible, the caller's environment).
fn hook(plan: &Plan, t: HookType) -> Step {
    if !plan.hooks.has(t) {
        return Ok(());
    }
    plan.hooks
        .run(t, &[], false, &[])
        .map_err(|e| format!("{}: {e}", plan.name))
}

/// Clones the rootfs mount tree and attaches it on top of the rootfs directory (or at
/// `lxc.rootfs.mount` for hooks), returning a descriptor of the new mount's root: the root
/// everything below is resolved in, and the mount point pivot_root needs.
fn attach_rootfs(rootfs: &OwnedFd, at: &RootfsMount) -> Step<OwnedFd> {
    use rustix::mount::{move_mount, open_tree, MoveMountFlags, OpenTreeFlags};
    let tree = ctx(
        open_tree(
            rootfs,
            "",
            OpenTreeFlags::OPEN_TREE_CLONE
                | OpenTreeFlags::AT_RECURSIVE
                | OpenTreeFlags::AT_EMPTY_PATH
                | OpenTreeFlags::OPEN_TREE_CLOEXEC,
        ),
        || "clone the rootfs mount".into(),
    )?;
    let target = match at {
        RootfsMount::InPlace => None,
        RootfsMount::At(dir) => Some(ctx(
            rustix::fs::open(
                dir,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            ),
            || format!("open lxc.rootfs.mount `{}`", dir.display()),
        )?),
    };
    ctx(
        move_mount(
            &tree,
            "",
            target.as_ref().unwrap_or(rootfs),
            "",
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
        ),
        || "attach the rootfs mount".into(),
    )?;
    Ok(tree)
}

fn dir(r: BorrowedFd<'_>, path: &str) -> Step<OwnedFd> {
    ctx(mounts::mkdir_all_in(r, path, 0o755), || {
        format!("create `/{path}` in the container")
    })
}

fn file(r: BorrowedFd<'_>, path: &str, mode: u32) -> Step<OwnedFd> {
    ctx(mounts::create_file_in(r, path, mode), || {
        format!("create `/{path}` in the container")
    })
}

fn remount(target: &OwnedFd, flags: MountFlags, what: &str) -> Step {
    ctx(mounts::remount_bind(target.as_fd(), flags), || {
        format!("remount `{what}`")
    })
}

fn self_bind(r: BorrowedFd<'_>, path: &str) -> Step<OwnedFd> {
    let fd = ctx(mounts::open_in(r, path), || format!("open `/{path}`"))?;
    ctx(
        mounts::bind(&fd_path(fd.as_fd()), fd.as_fd(), false),
        || format!("bind `/{path}`"),
    )?;
    // Re-open: the old descriptor still points below the new mount.
    ctx(mounts::open_in(r, path), || format!("open `/{path}`"))
}

fn mount_proc(r: BorrowedFd<'_>, mode: ProcMode) -> Step {
    let target = dir(r, "proc")?;
    ctx(
        mounts::mount_fs(
            "proc",
            target.as_fd(),
            "proc",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            "",
        ),
        || "mount proc on `/proc`".into(),
    )?;
    if mode == ProcMode::Mixed {
        // /proc/sys read-only except /proc/sys/net, and sysrq-trigger read-only.
        let sys = self_bind(r, "proc/sys")?;
        let _net = self_bind(r, "proc/sys/net")?;
        remount(&sys, MountFlags::RDONLY, "/proc/sys")?;
        if let Ok(sysrq) = self_bind(r, "proc/sysrq-trigger") {
            remount(&sysrq, MountFlags::RDONLY, "/proc/sysrq-trigger")?;
        }
    }
    Ok(())
}

fn mount_sys(r: BorrowedFd<'_>, mode: SysMode, own_netns: bool) -> Step {
    let target = dir(r, "sys")?;
    if own_netns {
        ctx(
            mounts::mount_fs(
                "sysfs",
                target.as_fd(),
                "sysfs",
                MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                "",
            ),
            || "mount sysfs on `/sys`".into(),
        )?;
    } else {
        // Sharing the host's network namespace: a fresh sysfs is refused, bind the host's.
        ctx(mounts::bind("/sys", target.as_fd(), true), || {
            "bind the host's /sys".into()
        })?;
    }
    let sys = ctx(mounts::open_in(r, "sys"), || "open `/sys`".into())?;
    match mode {
        SysMode::Rw => {}
        SysMode::Ro => {
            let s = self_bind(r, "sys")?;
            remount(&s, MountFlags::RDONLY, "/sys")?;
        }
        SysMode::Mixed => {
            let s = self_bind(r, "sys")?;
            let _ = self_bind(r, "sys/devices/virtual/net");
            remount(&s, MountFlags::RDONLY, "/sys")?;
        }
    }
    drop(sys);
    Ok(())
}

/// The device nodes a system container needs, bind-mounted from the host because mknod
/// is refused in a user namespace.
const DEV_NODES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

fn mount_dev(r: BorrowedFd<'_>) -> Step {
    let target = dir(r, "dev")?;
    ctx(
        mounts::mount_fs(
            "none",
            target.as_fd(),
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NOEXEC,
            "size=500000,mode=755",
        ),
        || "mount tmpfs on `/dev`".into(),
    )?;
    for node in DEV_NODES {
        let host = format!("/dev/{node}");
        let src = ctx(mounts::open_host(&host), || format!("open host `{host}`"))?;
        let t = file(r, &format!("dev/{node}"), 0o000)?;
        ctx(
            mounts::bind(&fd_path(src.as_fd()), t.as_fd(), false),
            || format!("bind `{host}` into the container"),
        )?;
    }
    let dev = ctx(mounts::open_in(r, "dev"), || "open `/dev`".into())?;
    for (name, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        match rustix::fs::symlinkat(to, &dev, name) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(format!("create `/dev/{name}`: {e}")),
        }
    }
    dir(r, "dev/pts")?;
    dir(r, "dev/shm")?;
    dir(r, "dev/mqueue")?;
    Ok(())
}

fn mount_devpts(r: BorrowedFd<'_>, plan: &Plan) -> Step {
    let pts = dir(r, "dev/pts")?;
    let mut data = String::from("newinstance,ptmxmode=0666,mode=0620");
    if let Some(gid) = plan.devpts_gid {
        data.push_str(&format!(",gid={gid}"));
    }
    if plan.pty_max > 0 {
        data.push_str(&format!(",max={}", plan.pty_max + plan.ttys + 1));
    }
    ctx(
        mounts::mount_fs(
            "devpts",
            pts.as_fd(),
            "devpts",
            MountFlags::NOSUID | MountFlags::NOEXEC,
            &data,
        ),
        || "mount devpts on `/dev/pts`".into(),
    )?;
    // /dev/ptmx must be this instance's ptmx, not the host's.
    let ptmx_src = ctx(mounts::open_in(r, "dev/pts/ptmx"), || {
        "open `/dev/pts/ptmx`".into()
    })?;
    let ptmx = file(r, "dev/ptmx", 0o000)?;
    ctx(
        mounts::bind(&fd_path(ptmx_src.as_fd()), ptmx.as_fd(), false),
        || "bind `/dev/pts/ptmx` on `/dev/ptmx`".into(),
    )?;
    Ok(())
}

struct Ptys {
    console: Option<OwnedFd>,
    ttys: Vec<OwnedFd>,
    devpts: OwnedFd,
}

/// What a full pty pool means and what to do about it.
const PTY_POOL_FULL: &str = "the host's ptys for containers are used up: all containers share \
kernel.pty.max minus kernel.pty.reserve of them, and each takes lxc.tty.max + 1 for its ttys and \
console; raise kernel.pty.max (sysctl) or lower lxc.tty.max";

/// Opens a new pty pair in the container's devpts; returns (master, slave).
fn open_pty(devpts: BorrowedFd<'_>) -> Step<(OwnedFd, OwnedFd)> {
    let master = rustix::fs::openat(
        devpts,
        "ptmx",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        let m = format!("open the container's ptmx: {}", crate::error::Chain(&e));
        // ENOSPC here is the host's pool of ptys for all containers (every devpts but the
        // host's), full at about 614 default containers on a default host: say which knob.
        if e == rustix::io::Errno::NOSPC {
            format!("{m} ({PTY_POOL_FULL})")
        } else {
            m
        }
    })?;
    ctx(rustix::pty::unlockpt(&master), || "unlock a pty".into())?;
    let slave = ctx(
        rustix::pty::ioctl_tiocgptpeer(
            &master,
            rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY,
        ),
        || "open a pty's peer".into(),
    )?;
    Ok((master, slave))
}

fn allocate_ptys(r: BorrowedFd<'_>, plan: &Plan) -> Step<Ptys> {
    let devpts = ctx(
        rustix::fs::openat2(
            r,
            "dev/pts",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_MAGICLINKS,
        ),
        || "open `/dev/pts`".into(),
    )?;
    let prefix = match &plan.tty_dir {
        Some(d) => {
            dir(r, &format!("dev/{d}"))?;
            format!("dev/{d}/")
        }
        None => "dev/".to_string(),
    };
    let bind_pty = |name: &str| -> Step<OwnedFd> {
        let (master, slave) = open_pty(devpts.as_fd())?;
        let path = format!("{prefix}{name}");
        let target = file(r, &path, 0o000)?;
        ctx(
            mounts::bind(&fd_path(slave.as_fd()), target.as_fd(), false),
            || format!("bind a pty on `/{path}`"),
        )?;
        if plan.tty_dir.is_some() {
            let dev = ctx(mounts::open_in(r, "dev"), || "open `/dev`".into())?;
            let _ = rustix::fs::unlinkat(&dev, name, rustix::fs::AtFlags::empty());
            let link = format!("{}/{name}", plan.tty_dir.as_deref().unwrap_or_default());
            let _ = rustix::fs::symlinkat(link.as_str(), &dev, name);
        }
        Ok(master)
    };
    let console = if plan.console {
        Some(bind_pty("console")?)
    } else {
        None
    };
    let mut ttys = Vec::new();
    for i in 1..=plan.ttys {
        ttys.push(bind_pty(&format!("tty{i}"))?);
    }
    Ok(Ptys {
        console,
        ttys,
        devpts,
    })
}

/// `lxc.mount.auto = cgroup…`: a tmpfs on /sys/fs/cgroup with the container's own cgroup
/// of each hierarchy bound where the host has the hierarchy (v1 controllers cannot be
/// mounted inside a user namespace, so they are bound from the host).
fn mount_cgroups(r: BorrowedFd<'_>, binds: &[CgroupBind]) -> Step {
    let base = dir(r, "sys/fs/cgroup")?;
    ctx(
        mounts::mount_fs(
            "cgroup",
            base.as_fd(),
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            "mode=755,size=64k",
        ),
        || "mount tmpfs on `/sys/fs/cgroup`".into(),
    )?;
    for CgroupBind { host, name } in binds {
        let t = dir(r, &format!("sys/fs/cgroup/{name}"))?;
        let src = ctx(mounts::open_host(&host.to_string_lossy()), || {
            format!("open cgroup `{}`", host.display())
        })?;
        ctx(
            mounts::bind(&fd_path(src.as_fd()), t.as_fd(), false),
            || format!("bind cgroup `{}`", host.display()),
        )?;
    }
    Ok(())
}

fn mount_entry(r: BorrowedFd<'_>, e: &Entry) -> Step {
    let fail = |what: String| format!("lxc.mount.entry at {} (`{}`): {what}", e.origin, e.text);
    let target_path = e.target.trim_start_matches('/');
    let target = if e.opts.create_dir {
        mounts::mkdir_all_in(r, target_path, 0o755)
    } else if e.opts.create_file {
        mounts::create_file_in(r, target_path, 0o644)
    } else {
        mounts::open_in(r, target_path)
    }
    .map_err(|err| fail(format!("target `/{target_path}`: {err}")))?;
    let flags = e.opts.flags;
    if e.opts.bind {
        let src = if e.opts.relative {
            mounts::open_in(r, &e.source)
        } else {
            mounts::open_host(&e.source)
        }
        .map_err(|err| fail(format!("source `{}`: {err}", e.source)))?;
        mounts::bind(&fd_path(src.as_fd()), target.as_fd(), e.opts.recursive)
            .map_err(|err| fail(format!("bind: {err}")))?;
        if !flags.is_empty() {
            let t = mounts::open_in(r, target_path)
                .map_err(|err| fail(format!("reopen target: {err}")))?;
            mounts::remount_bind(t.as_fd(), flags)
                .map_err(|err| fail(format!("remount with options: {err}")))?;
        }
    } else {
        mounts::mount_fs(
            &e.source,
            target.as_fd(),
            &e.fstype,
            flags,
            &e.opts.data_string(),
        )
        .map_err(|err| fail(format!("mount {}: {err}", e.fstype)))?;
    }
    if let Some((prop, rec)) = e.opts.propagation {
        let t = mounts::open_in(r, target_path).map_err(|err| fail(err.to_string()))?;
        let p = if rec {
            prop | MountPropagationFlags::REC
        } else {
            prop
        };
        rustix::mount::mount_change(fd_path(t.as_fd()).as_str(), p)
            .map_err(|err| fail(format!("set propagation: {err}")))?;
    }
    Ok(())
}

fn write_sysctl(r: BorrowedFd<'_>, path: &str, value: &str) -> Step {
    let name = path.trim_start_matches("proc/sys/").replace('/', ".");
    let fd = ctx(
        rustix::fs::openat2(
            r,
            path,
            OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::empty(),
            rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_MAGICLINKS,
        ),
        || format!("lxc.sysctl.{name}"),
    )?;
    ctx(rustix::io::write(&fd, value.as_bytes()), || {
        format!("lxc.sysctl.{name} = {value}")
    })?;
    Ok(())
}

fn pivot(r: BorrowedFd<'_>) -> Step {
    ctx(rustix::process::fchdir(r), || "enter the rootfs".into())?;
    ctx(rustix::process::pivot_root(".", "."), || {
        "pivot_root".into()
    })?;
    // The old root is stacked below the new one at "."; detach it.
    ctx(rustix::mount::unmount(".", UnmountFlags::DETACH), || {
        "detach the host's root".into()
    })?;
    ctx(rustix::process::chdir("/"), || "change to `/`".into())
}

fn setup_stdio(plan: &Plan) -> Step {
    if plan.inherit_stdio {
        return Ok(());
    }
    let path = if plan.console {
        match &plan.tty_dir {
            Some(d) => format!("/dev/{d}/console"),
            None => "/dev/console".to_string(),
        }
    } else {
        "/dev/null".to_string()
    };
    let fd = ctx(
        rustix::fs::open(path.as_str(), OFlags::RDWR | OFlags::NOCTTY, Mode::empty()),
        || format!("open `{path}`"),
    )?;
    if plan.console {
        // The console is init's controlling terminal, as on a real machine.
        let _ = rustix::process::ioctl_tiocsctty(&fd);
    }
    ctx(rustix::stdio::dup2_stdin(&fd), || "set stdin".into())?;
    ctx(rustix::stdio::dup2_stdout(&fd), || "set stdout".into())?;
    ctx(rustix::stdio::dup2_stderr(&fd), || "set stderr".into())?;
    Ok(())
}

fn drop_capabilities(plan: &Plan) -> Step {
    let last = lxu_sys::caps::last_cap();
    let drop: Vec<u32> = match &plan.cap_keep {
        Some(keep) => (0..=last).filter(|c| !keep.contains(c)).collect(),
        None => plan.cap_drop.clone(),
    };
    for cap in drop {
        ctx(lxu_sys::caps::drop_bounding(cap), || {
            format!("drop capability {cap}")
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// A step's message carries the whole chain of a typed error, not only its top.
    #[test]
    fn a_failed_step_says_the_cause() {
        let e = lxu_cgroup::CgroupError::Read {
            path: "/sys/fs/cgroup/x".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let msg = super::ctx::<(), _>(Err(e), || "join the cgroup".into()).unwrap_err();
        assert_eq!(
            msg,
            format!(
                "join the cgroup: cannot read `/sys/fs/cgroup/x`: {}",
                std::io::Error::from(std::io::ErrorKind::NotFound)
            )
        );
    }
}
