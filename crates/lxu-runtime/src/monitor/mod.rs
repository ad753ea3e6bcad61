//! The monitor: one small process per running container.
//!
//! It is the parent of the container's init (so it reaps it and learns how it ended),
//! owns the masters of the console and tty ptys (so the container never blocks on a full
//! console, and recent output is kept in a ring buffer), keeps the state, and answers on
//! the command socket (see `protocol`). It is single-threaded: one `poll` loop.
//!
//! If the monitor is killed, init gets SIGKILL from its parent-death signal, which kills
//! every process of the container's pid namespace: no container runs without a monitor.

pub(crate) mod net;
pub(crate) mod protocol;
pub(crate) mod resources;
pub(crate) mod ring;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lxu_config::{Config, HookType};
use lxu_sys::channel::Channel;
use lxu_sys::signal::SignalFd;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{wait, waitpid, Pid, WaitOptions, WaitStatus};

use crate::container::Container;
use crate::error::{Error, Result};

use crate::monitor::resources::Hooks;
use crate::monitor::ring::Ring;
use crate::start::plan::Plan;
use crate::start::spawn::{self, Spawned};
use crate::state::State;

/// Default size of the console's ring buffer (`lxc.console.buffer.size` overrides).
const CONSOLE_RING: usize = 128 * 1024;
/// Ring size for each `/dev/ttyN`.
const TTY_RING: usize = 16 * 1024;
/// Largest console frame.
const FRAME: usize = 4096;
/// First pause after a pty hangup, and the longest.
const HUP_PAUSE: Duration = Duration::from_millis(50);
const HUP_PAUSE_MAX: Duration = Duration::from_secs(2);
/// Bound on data queued for one slow client or one tty nobody reads.
const QUEUE_LIMIT: usize = 256 * 1024;

/// Everything the monitor needs, prepared by `start`.
pub struct Setup {
    pub container: Container,
    pub config: Config,
    pub plan: Plan,
    pub euid: u32,
    pub foreground: bool,
    /// The caller's terminal is bridged to the console (`start -F`).
    pub local_console: bool,
    /// Write end of the pipe the `lxu start` client waits on (daemon mode).
    pub report: Option<OwnedFd>,
    pub console_log: Option<PathBuf>,
    /// Keeps the container's lock held for the monitor's lifetime.
    pub lock: File,
    pub hooks: Hooks,
}

struct Tty {
    master: OwnedFd,
    ring: Ring,
    log: Option<File>,
    client: Option<u64>,
    input: VecDeque<u8>,
    /// After a hangup (no process has the tty open) the master polls as readable at once;
    /// it is left alone until this instant to avoid spinning, with a growing pause while
    /// the hangup lasts (an idle container must not wake its monitor all the time).
    quiet_until: Option<Instant>,
    backoff: Duration,
    /// False for the console slot of a container without a console.
    present: bool,
}

enum Kind {
    Idle,
    Console(usize),
    WaitStop,
}

struct Client {
    id: u64,
    ch: Channel,
    kind: Kind,
    out: VecDeque<Vec<u8>>,
    queued: usize,
    closing: bool,
}

struct StopRequest {
    deadline: Option<Instant>,
    kill_on_timeout: bool,
}

struct Monitor {
    setup: Setup,
    state: State,
    init: Option<Spawned>,
    ttys: Vec<Tty>,
    clients: Vec<Client>,
    next_id: u64,
    stop: Option<StopRequest>,
    exit_code: i32,
    done: bool,
    local: Option<Local>,
    /// When to give back the memory a burst of requests made resident.
    trim_at: Option<Instant>,
    /// The container's namespaces, held for `lxc.hook.stop` (which runs after init died).
    hook_ns: Vec<(&'static str, OwnedFd)>,
    /// `lxc.hook.post-stop` is owed: pre-start ran.
    post_stop_due: bool,
}

/// The terminal of `lxu start -F`, attached to the console.
struct Local {
    /// Gives the terminal its mode back when the console is detached (dropped).
    _raw: Option<lxu_sys::term::RawMode<'static>>,
    stdin_open: bool,
}

/// Runs the monitor until the container is gone; returns the process exit code.
pub fn run(setup: Setup) -> i32 {
    let mut m = Monitor {
        setup,
        state: State::Starting,
        init: None,
        ttys: Vec::new(),
        clients: Vec::new(),
        next_id: 1,
        stop: None,
        exit_code: 0,
        done: false,
        local: None,
        trim_at: None,
        hook_ns: Vec::new(),
        post_stop_due: false,
    };
    match m.serve() {
        Ok(()) => m.exit_code,
        Err(e) => {
            // Everything goes before `lxu start` hears of the failure, so that nothing of
            // the container (process, cgroup, veth, lock, post-stop hook) outlives it.
            m.cleanup();
            m.ttys.clear();
            if let Ok(null) = File::open("/dev/null") {
                drop(std::mem::replace(&mut m.setup.lock, null));
            }
            m.report(&format!("err{e}"));
            if m.setup.foreground {
                eprintln!("lxu-start: {e}");
            }
            1
        }
    }
}

fn ms_until(deadline: Instant) -> i32 {
    let d = deadline.saturating_duration_since(Instant::now());
    d.as_millis().min(i32::MAX as u128) as i32 + 1
}

impl Monitor {
    /// A line to the `lxu start` client that keeps the pipe open for more.
    fn report_line(&mut self, line: &str) {
        if let Some(fd) = &self.setup.report {
            let _ = rustix::io::write(fd, line.as_bytes());
        }
    }

    fn report(&mut self, msg: &str) {
        if let Some(fd) = self.setup.report.take() {
            let mut f = File::from(fd);
            let _ = f.write_all(msg.as_bytes());
        }
    }

    /// An idle monitor keeps resident only what its loop needs: code pages the kernel
    /// mapped around earlier faults and freed heap go back.
    fn trim_memory(&self) {
        lxu_sys::mem::trim_heap();
        // SAFETY: no other thread maps or unmaps memory meanwhile: the monitor is the
        // `lxu start` process or its forked child and starts no threads.
        #[allow(unsafe_code)]
        unsafe {
            lxu_sys::mem::release_code_pages()
        };
    }

    fn serve(&mut self) -> Result<()> {
        lxu_sys::signal::ignore(libc::SIGPIPE);
        let mut watched = crate::start::reaper::FORWARDED.to_vec();
        watched.push(libc::SIGCHLD);
        let sigfd = SignalFd::new(&watched).map_err(|e| Error::sys("create a signalfd", e))?;
        let sock = self.setup.container.socket_path();
        // The socket is created 0600 (only the owner may talk to the monitor); the
        // cgroups and files made later need the usual modes.
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        let listener = protocol::listen_at(&sock);
        rustix::process::umask(old);
        let listener = listener.map_err(|e| Error::io("listen on", &sock, e))?;
        let _ = rustix::thread::set_name(c"lxu-monitor");
        let started = self.start_init();
        for w in std::mem::take(&mut self.setup.hooks.warnings) {
            if self.setup.foreground {
                eprintln!("warning: {w}");
            } else {
                self.report_line(&format!("warn {w}\n"));
            }
            self.append_log(&format!("warning: {w}"));
        }
        started?;
        let pid = self
            .init
            .as_ref()
            .map(|s| s.pid.as_raw_nonzero().get())
            .unwrap_or(0);
        self.report(&format!("ok {pid}"));
        // The start path's code is not needed while the container runs; it goes back once
        // the container's boot and the exiting client no longer need the CPUs (reading
        // smaps costs a few hundred microseconds, which `lxu start` would otherwise wait
        // for on a two-CPU machine).
        self.trim_at = Some(Instant::now() + Duration::from_millis(500));
        if self.setup.local_console {
            self.attach_local();
        }
        while !self.done {
            self.step(&listener, &sigfd)?;
        }
        self.cleanup();
        Ok(())
    }

    fn start_init(&mut self) -> Result<()> {
        self.state = State::Starting;
        let hooks = &self.setup.plan.hooks;
        if hooks.has(HookType::PreStart) {
            if let Err(e) = hooks.run(HookType::PreStart, &[], false, &[]) {
                self.state = State::Aborting;
                return Err(Error::Msg(format!("{}: {e}", self.setup.container.name)));
            }
        }
        self.post_stop_due = !hooks.hooks.is_empty();
        let Setup {
            plan,
            config,
            euid,
            hooks,
            ..
        } = &mut self.setup;
        let mut before_go = |pid: Pid, w: &mut dyn FnMut() -> Result<()>| hooks.before_go(pid, w);
        let spawned = spawn::spawn(plan, &config.idmaps, *euid, plan.own_netns, &mut before_go);
        let mut spawned = spawned;
        if let Ok(sp) = &mut spawned {
            if let Some(fd) = sp.netlink.take() {
                hooks.set_netlink(fd);
            }
        }
        let spawned = match spawned {
            Ok(sp) => sp,
            Err(e) => {
                self.state = State::Aborting;
                return Err(e);
            }
        };
        self.setup_ttys(&spawned)?;
        if self.setup.plan.hooks.has(HookType::Stop) {
            self.hook_ns = hook_namespaces(spawned.pid);
        }
        self.init = Some(spawned);
        self.state = State::Running;
        Ok(())
    }

    fn setup_ttys(&mut self, sp: &Spawned) -> Result<()> {
        let mut masters: Vec<(OwnedFd, usize)> = Vec::new();
        // Index 0 is the console even when there is none, so that tty N is index N.
        let console = sp.console.is_some();
        match &sp.console {
            Some(c) => masters.push((dup(c.as_fd())?, self.console_ring())),
            None => masters.push((null_master()?, 0)),
        }
        for t in &sp.ttys {
            masters.push((dup(t.as_fd())?, TTY_RING));
        }
        let old_rings: Vec<Ring> = std::mem::take(&mut self.ttys)
            .into_iter()
            .map(|t| t.ring)
            .collect();
        let mut old_rings = old_rings.into_iter();
        for (i, (master, cap)) in masters.into_iter().enumerate() {
            rustix::fs::fcntl_setfl(&master, rustix::fs::OFlags::NONBLOCK)
                .map_err(|e| Error::sys("make a pty non-blocking", e))?;
            let log = if i == 0 {
                self.open_console_log()
            } else {
                None
            };
            // A reboot keeps what the console showed before.
            let ring = old_rings.next().unwrap_or_else(|| Ring::new(cap));
            self.ttys.push(Tty {
                master,
                ring,
                log,
                client: None,
                input: VecDeque::new(),
                quiet_until: None,
                backoff: HUP_PAUSE,
                present: i > 0 || console,
            });
        }
        Ok(())
    }

    /// `lxc.signal.halt`, else SIGRTMIN+3 when init blocks it (systemd reads it from a
    /// signalfd; LXC 5 makes the same check), else SIGPWR.
    fn halt_signal(&self, init: Pid) -> i32 {
        if let Some(s) = self.setup.config.signal_halt {
            return s;
        }
        let rtmin3 = lxu_config::SIGRTMIN + 3;
        let status = std::fs::read_to_string(format!("/proc/{}/status", init.as_raw_nonzero()));
        match status.ok().and_then(|s| blocked_signals(&s)) {
            Some(mask) if mask & (1u64 << (rtmin3 - 1)) != 0 => rtmin3,
            _ => libc::SIGPWR,
        }
    }

    /// `lxc.hook.stop`, with references to the namespaces of the init that just died.
    fn stop_hooks(&mut self, target: &str) {
        let held = std::mem::take(&mut self.hook_ns);
        if held.is_empty() {
            return;
        }
        use std::os::fd::AsRawFd;
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

    /// A hook that failed after the container ran cannot fail the start any more: it goes
    /// to the terminal of `start -F` and to `lxc.log.file`.
    fn hook_warning(&mut self, msg: &str) {
        let line = format!("{}: warning: {msg}", self.setup.container.name);
        if self.setup.foreground {
            eprintln!("{line}");
        }
        self.append_log(&line);
    }

    /// A line for `lxc.log.file`, when there is one.
    fn append_log(&self, line: &str) {
        if let Some(path) = &self.setup.config.log_file {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{line}");
            }
        }
    }

    fn console_ring(&self) -> usize {
        self.setup
            .config
            .console_buffer_size
            .map(|s| s as usize)
            .unwrap_or(CONSOLE_RING)
    }

    fn open_console_log(&self) -> Option<File> {
        let path = self
            .setup
            .console_log
            .clone()
            .or_else(|| self.setup.config.console_logfile.clone())?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .ok()
    }

    fn attach_local(&mut self) {
        let stdin = rustix::stdio::stdin();
        let raw = if rustix::termios::isatty(stdin) {
            lxu_sys::term::RawMode::enter(stdin).inspect(|_| {
                if let Ok(ws) = rustix::termios::tcgetwinsize(stdin) {
                    if let Some(tty) = self.ttys.first() {
                        let _ = rustix::termios::tcsetwinsize(&tty.master, ws);
                    }
                }
            })
        } else {
            None
        };
        // Show what the console printed while starting.
        if let Some(tty) = self.ttys.first() {
            let _ = std::io::stdout().write_all(&tty.ring.contents());
            let _ = std::io::stdout().flush();
        }
        self.local = Some(Local {
            _raw: raw,
            stdin_open: true,
        });
    }

    fn restore_local(&mut self) {
        // Dropping its raw mode gives the terminal its mode back.
        self.local = None;
    }

    fn step(&mut self, listener: &OwnedFd, sigfd: &SignalFd) -> Result<()> {
        let now = Instant::now();
        let mut timeout: Option<i32> = None;
        let mut shorten = |ms: i32| timeout = Some(timeout.map_or(ms, |t: i32| t.min(ms)));
        if let Some(StopRequest {
            deadline: Some(d), ..
        }) = &self.stop
        {
            shorten(ms_until(*d));
        }
        if let Some(t) = self.trim_at {
            shorten(ms_until(t));
        }
        // Which ptys to watch, which to leave quiet for a while.
        let mut tty_idx = Vec::new();
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        fds.push(PollFd::new(listener, PollFlags::IN));
        fds.push(PollFd::new(sigfd, PollFlags::IN));
        let local_in = self.local.as_ref().is_some_and(|l| l.stdin_open);
        if local_in {
            fds.push(PollFd::from_borrowed_fd(
                rustix::stdio::stdin(),
                PollFlags::IN,
            ));
        }
        let base = fds.len();
        for (i, t) in self.ttys.iter().enumerate() {
            if !t.present {
                continue;
            }
            if let Some(q) = t.quiet_until {
                if q > now {
                    shorten(ms_until(q));
                    continue;
                }
            }
            let mut ev = PollFlags::IN;
            if !t.input.is_empty() {
                ev |= PollFlags::OUT;
            }
            fds.push(PollFd::new(&t.master, ev));
            tty_idx.push(i);
        }
        let cbase = fds.len();
        let polled: Vec<u64> = self.clients.iter().map(|c| c.id).collect();
        for c in &self.clients {
            let mut ev = PollFlags::IN;
            if !c.out.is_empty() {
                ev |= PollFlags::OUT;
            }
            fds.push(PollFd::new(&c.ch, ev));
        }
        let ts = timeout.map(|ms| Timespec {
            tv_sec: (ms / 1000) as i64,
            tv_nsec: ((ms % 1000) as i64) * 1_000_000,
        });
        match poll(&mut fds, ts.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Error::sys("poll", e)),
        }
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);

        if !ready[1].is_empty() {
            self.signals(sigfd)?;
        }
        if !ready[0].is_empty() {
            self.accept(listener);
        }
        if local_in && !ready[2].is_empty() {
            self.local_input();
        }
        for (k, &i) in tty_idx.iter().enumerate() {
            let r = ready[base + k];
            if r.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                self.tty_output(i);
            }
            if r.contains(PollFlags::OUT) {
                self.tty_input(i);
            }
        }
        // Only the clients that were polled: `accept` above may have added more.
        for (k, id) in polled.into_iter().enumerate() {
            let r = ready[cbase + k];
            if r.contains(PollFlags::OUT) {
                self.flush_client(id);
            }
            if r.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                self.client_readable(id);
            }
        }
        self.clients.retain(|c| !c.closing);
        self.check_stop_deadline();
        let active = !self.clients.is_empty() || ready.iter().any(|r| !r.is_empty());
        if active {
            // Requests and console output fault in code and grow the heap; give it back
            // once things are quiet.
            self.trim_at = Some(Instant::now() + Duration::from_millis(500));
        } else if self.trim_at.is_some_and(|t| Instant::now() >= t) {
            self.trim_at = None;
            self.trim_memory();
        }
        Ok(())
    }

    fn signals(&mut self, sigfd: &SignalFd) -> Result<()> {
        while let Some((sig, _)) = sigfd.read().map_err(|e| Error::sys("read a signal", e))? {
            match sig {
                libc::SIGCHLD => self.reap()?,
                libc::SIGWINCH => {
                    if let (Some(_), Some(t)) = (&self.local, self.ttys.first()) {
                        if let Ok(ws) = rustix::termios::tcgetwinsize(rustix::stdio::stdin()) {
                            let _ = rustix::termios::tcsetwinsize(&t.master, ws);
                        }
                    }
                }
                other => {
                    // As LXC does, signals sent to the monitor are passed on to init.
                    if let Some(init) = &self.init {
                        let _ = lxu_sys::signal::pidfd_send(init.pidfd.as_fd(), other);
                    }
                }
            }
        }
        Ok(())
    }

    fn reap(&mut self) -> Result<()> {
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
        // Hanging up the ptys: the last output is read before they are dropped.
        for i in 0..self.ttys.len() {
            self.tty_output(i);
        }
        let reboot = status.terminating_signal() == Some(libc::SIGHUP) && self.stop.is_none();
        self.init = None;
        let target = if reboot { "reboot" } else { "stop" };
        self.stop_hooks(target);
        self.setup.hooks.after_stop();
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

    fn accept(&mut self, listener: &OwnedFd) {
        loop {
            let fd = match rustix::net::accept_with(
                listener,
                rustix::net::SocketFlags::CLOEXEC | rustix::net::SocketFlags::NONBLOCK,
            ) {
                Ok(fd) => fd,
                Err(_) => return,
            };
            if !protocol::peer_allowed(&fd, self.setup.euid) {
                let ch = Channel::from_fd(fd);
                let _ = ch.send(b"errpermission denied: not the container's owner", &[]);
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            self.clients.push(Client {
                id,
                ch: Channel::from_fd(fd),
                kind: Kind::Idle,
                out: VecDeque::new(),
                queued: 0,
                closing: false,
            });
        }
    }

    fn client(&mut self, id: u64) -> Option<&mut Client> {
        self.clients.iter_mut().find(|c| c.id == id)
    }

    fn send_to(&mut self, id: u64, msg: Vec<u8>) {
        let Some(c) = self.client(id) else { return };
        if c.queued + msg.len() > QUEUE_LIMIT {
            // A client that does not read its console loses old output, not the monitor.
            return;
        }
        c.queued += msg.len();
        c.out.push_back(msg);
        self.flush_client(id);
    }

    fn reply(&mut self, id: u64, msg: &str, fds: &[BorrowedFd<'_>]) {
        if let Some(c) = self.client(id) {
            if c.ch.send(msg.as_bytes(), fds).is_err() {
                c.closing = true;
            }
        }
    }

    fn flush_client(&mut self, id: u64) {
        let Some(c) = self.client(id) else { return };
        while let Some(msg) = c.out.front() {
            match c.ch.send(msg, &[]) {
                Ok(()) => {
                    c.queued -= msg.len();
                    c.out.pop_front();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    c.closing = true;
                    return;
                }
            }
        }
    }

    fn drop_client(&mut self, id: u64) {
        if let Some(c) = self.client(id) {
            c.closing = true;
        }
        for t in &mut self.ttys {
            if t.client == Some(id) {
                t.client = None;
            }
        }
    }

    fn client_readable(&mut self, id: u64) {
        loop {
            let Some(c) = self.client(id) else { return };
            if c.closing {
                return;
            }
            match c.ch.recv() {
                Ok(Some((msg, _))) => self.request(id, &msg),
                Ok(None) => {
                    self.drop_client(id);
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.drop_client(id);
                    return;
                }
            }
        }
    }

    fn request(&mut self, id: u64, msg: &[u8]) {
        let console = match self.client(id).map(|c| &c.kind) {
            Some(Kind::Console(i)) => Some(*i),
            _ => None,
        };
        if let Some(i) = console {
            self.console_frame(i, msg);
            return;
        }
        let text = String::from_utf8_lossy(msg).into_owned();
        let mut words = text.split_whitespace();
        let cmd = words.next().unwrap_or("");
        let args: Vec<&str> = words.collect();
        match cmd {
            "state" => {
                let pid = self.init_pid();
                let r = format!("ok {} {pid}", self.state);
                self.reply(id, &r, &[]);
            }
            "info" => {
                let r = format!("ok {}", self.info_text());
                self.reply(id, &r, &[]);
            }
            "config" => {
                let key = args.first().copied().unwrap_or("");
                let r = match self.setup.config.get_item(key) {
                    Some(v) => format!("ok {v}"),
                    None => format!("err unknown key `{key}`"),
                };
                self.reply(id, &r, &[]);
            }
            "pidfd" => self.send_pidfd(id),
            "freeze" => {
                let r = match self.setup.hooks.freeze() {
                    Ok(()) => {
                        self.state = State::Frozen;
                        "ok".to_string()
                    }
                    Err(e) => format!("err {e}"),
                };
                self.reply(id, &r, &[]);
            }
            "unfreeze" => {
                let r = match self.setup.hooks.thaw() {
                    Ok(()) => {
                        if self.state == State::Frozen {
                            self.state = State::Running;
                        }
                        "ok".to_string()
                    }
                    Err(e) => format!("err {e}"),
                };
                self.reply(id, &r, &[]);
            }
            "cgroup" => {
                let key = args.first().copied().unwrap_or("");
                let value = (args.len() > 1).then(|| args[1..].join(" "));
                let r = match self.setup.hooks.cgroup_item(key, value.as_deref()) {
                    Ok(v) => format!("ok {v}"),
                    Err(e) => format!("err {e}"),
                };
                self.reply(id, &r, &[]);
            }
            "stop" => self.stop_request(id, &args),
            "console" => self.console_request(id, &args),
            "log" => self.log_request(id, &args),
            _ => self.reply(id, &format!("err unknown request `{cmd}`"), &[]),
        }
    }

    fn init_pid(&self) -> i32 {
        self.init
            .as_ref()
            .map(|s| s.pid.as_raw_nonzero().get())
            .unwrap_or(0)
    }

    fn info_text(&mut self) -> String {
        let mut s = String::new();
        s.push_str(&format!("state {}\n", self.state));
        s.push_str(&format!("pid {}\n", self.init_pid()));
        s.push_str(&format!("monitor {}\n", std::process::id()));
        s.push_str(&format!("ttys {}\n", self.ttys.len().saturating_sub(1)));
        if let Some(t) = self.ttys.first() {
            s.push_str(&format!("console_buffered {}\n", t.ring.len()));
        }
        for line in self.setup.hooks.info_lines() {
            s.push_str(&line);
            s.push('\n');
        }
        s
    }

    fn send_pidfd(&mut self, id: u64) {
        if self.state == State::Frozen {
            // Joining the frozen cgroup would freeze the attaching process too.
            let msg = format!(
                "err {} is frozen: unfreeze it first (lxu unfreeze -n {})",
                self.setup.container.name, self.setup.container.name
            );
            self.reply(id, &msg, &[]);
            return;
        }
        let Some(init) = self
            .init
            .as_ref()
            .filter(|_| matches!(self.state, State::Running | State::Frozen))
        else {
            self.reply(
                id,
                &format!("err {} is not running", self.setup.container.name),
                &[],
            );
            return;
        };
        let pid = init.pid.as_raw_nonzero().get();
        let pidfd = dup(init.pidfd.as_fd());
        let devpts = init.devpts.as_ref().map(|d| dup(d.as_fd()));
        // Which namespaces are the container's own: joining one that is shared with
        // the host (the cgroup namespace, say) would need host privileges.
        let plan = &self.setup.plan;
        let mut ns = vec!["mnt", "pid", "uts", "ipc", "cgroup"];
        if plan.userns {
            ns.push("user");
        }
        if plan.own_netns {
            ns.push("net");
        }
        let ns = ns.join(",");
        // The attach helper puts itself into the container's cgroups.
        let procs: Vec<String> = self
            .setup
            .hooks
            .procs_files()
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let ns = if procs.is_empty() {
            ns
        } else {
            format!("{ns} {}", procs.join(":"))
        };
        match (pidfd, devpts) {
            (Ok(p), Some(Ok(d))) => {
                let msg = format!("ok {pid} 1 {ns}");
                self.reply(id, &msg, &[p.as_fd(), d.as_fd()]);
            }
            (Ok(p), None) => {
                let msg = format!("ok {pid} 0 {ns}");
                self.reply(id, &msg, &[p.as_fd()]);
            }
            _ => self.reply(id, "err cannot duplicate the pidfd", &[]),
        }
    }

    fn stop_request(&mut self, id: u64, args: &[&str]) {
        let mode = args.first().copied().unwrap_or("halt");
        let timeout: i64 = args.get(1).and_then(|t| t.parse().ok()).unwrap_or(60);
        let nokill = args.get(2) == Some(&"1");
        let Some(init) = &self.init else {
            self.reply(id, "ok", &[]);
            self.set_kind(id, Kind::WaitStop);
            return;
        };
        if self.state == State::Frozen {
            let _ = self.setup.hooks.thaw();
        }
        let (sig, is_kill) = match mode {
            "kill" => (self.setup.config.signal_stop.unwrap_or(libc::SIGKILL), true),
            "reboot" => (
                self.setup.config.signal_reboot.unwrap_or(libc::SIGINT),
                false,
            ),
            _ => (self.halt_signal(init.pid), false),
        };
        let _ = lxu_sys::signal::pidfd_send(init.pidfd.as_fd(), sig);
        if mode == "reboot" {
            self.reply(id, "ok", &[]);
            return;
        }
        if !is_kill {
            let deadline = if timeout < 0 {
                None
            } else {
                Some(Instant::now() + Duration::from_secs(timeout as u64))
            };
            // The earliest kill deadline wins when several stops are pending.
            let keep_old = matches!(&self.stop, Some(StopRequest { deadline: Some(old), .. })
                if deadline.is_none_or(|d| *old <= d));
            if !keep_old {
                self.stop = Some(StopRequest {
                    deadline,
                    kill_on_timeout: !nokill,
                });
            }
        } else {
            self.stop = Some(StopRequest {
                deadline: None,
                kill_on_timeout: true,
            });
            if sig != libc::SIGKILL {
                let _ = lxu_sys::signal::pidfd_send(init.pidfd.as_fd(), libc::SIGKILL);
            }
        }
        self.state = State::Stopping;
        self.reply(id, "ok", &[]);
        self.set_kind(id, Kind::WaitStop);
    }

    fn check_stop_deadline(&mut self) {
        let Some(StopRequest {
            deadline: Some(d),
            kill_on_timeout,
        }) = &self.stop
        else {
            return;
        };
        if Instant::now() < *d {
            return;
        }
        if *kill_on_timeout {
            if let Some(init) = &self.init {
                let _ = lxu_sys::signal::pidfd_send(init.pidfd.as_fd(), libc::SIGKILL);
            }
            self.stop = Some(StopRequest {
                deadline: None,
                kill_on_timeout: true,
            });
        } else {
            self.stop = None;
            self.state = State::Running;
            let waiting: Vec<u64> = self
                .clients
                .iter()
                .filter(|c| matches!(c.kind, Kind::WaitStop))
                .map(|c| c.id)
                .collect();
            for id in waiting {
                let msg = format!(
                    "err {} did not stop within the timeout",
                    self.setup.container.name
                );
                self.reply(id, &msg, &[]);
                self.set_kind(id, Kind::Idle);
            }
        }
    }

    fn set_kind(&mut self, id: u64, kind: Kind) {
        if let Some(c) = self.client(id) {
            c.kind = kind;
        }
    }

    fn tty_index(&self, args: &[&str]) -> std::result::Result<usize, String> {
        let n: i64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(-1);
        let ttys = self.ttys.len().saturating_sub(1);
        if n < 0 {
            return (1..=ttys)
                .find(|&i| self.ttys[i].client.is_none())
                .ok_or_else(|| {
                    if ttys == 0 {
                        format!(
                            "{} has no ttys (lxc.tty.max = 0); use -t 0 for the console",
                            self.setup.container.name
                        )
                    } else {
                        format!("all {ttys} ttys of {} are busy", self.setup.container.name)
                    }
                });
        }
        let n = n as usize;
        if n == 0 && self.setup.plan.console {
            return Ok(0);
        }
        if n == 0 || n > ttys {
            return Err(format!(
                "tty {n} is invalid for {}: it has {ttys} ttys (lxc.tty.max){}",
                self.setup.container.name,
                if self.setup.plan.console {
                    " and a console (0)"
                } else {
                    ""
                }
            ));
        }
        Ok(n)
    }

    fn console_request(&mut self, id: u64, args: &[&str]) {
        if self.state != State::Running {
            let msg = format!("err {} is not running", self.setup.container.name);
            self.reply(id, &msg, &[]);
            return;
        }
        let i = match self.tty_index(args) {
            Ok(i) => i,
            Err(e) => {
                self.reply(id, &format!("err {e}"), &[]);
                return;
            }
        };
        if self.ttys[i].client.is_some() {
            let msg = format!("err tty {i} of {} is busy", self.setup.container.name);
            self.reply(id, &msg, &[]);
            return;
        }
        self.ttys[i].client = Some(id);
        self.ttys[i].quiet_until = None;
        self.ttys[i].backoff = HUP_PAUSE;
        self.set_kind(id, Kind::Console(i));
        self.reply(id, &format!("ok {i}"), &[]);
    }

    fn log_request(&mut self, id: u64, args: &[&str]) {
        let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
        let Some(t) = self.ttys.get(n) else {
            self.reply(id, &format!("err no tty {n}"), &[]);
            return;
        };
        let data = t.ring.contents();
        self.reply(id, &format!("ok {}", data.len()), &[]);
        for chunk in data.chunks(FRAME) {
            let mut m = Vec::with_capacity(chunk.len() + 1);
            m.push(b'd');
            m.extend_from_slice(chunk);
            self.send_to(id, m);
        }
    }

    fn console_frame(&mut self, i: usize, msg: &[u8]) {
        match msg.first() {
            Some(b'd') => {
                let t = &mut self.ttys[i];
                if t.input.len() + msg.len() <= QUEUE_LIMIT {
                    t.input.extend(&msg[1..]);
                }
                self.tty_input(i);
            }
            Some(b'w') => {
                let text = String::from_utf8_lossy(&msg[1..]);
                let mut it = text
                    .split_whitespace()
                    .filter_map(|n| n.parse::<u16>().ok());
                if let (Some(rows), Some(cols)) = (it.next(), it.next()) {
                    let ws = rustix::termios::Winsize {
                        ws_row: rows,
                        ws_col: cols,
                        ws_xpixel: 0,
                        ws_ypixel: 0,
                    };
                    let _ = rustix::termios::tcsetwinsize(&self.ttys[i].master, ws);
                }
            }
            _ => {}
        }
    }

    fn tty_input(&mut self, i: usize) {
        let t = &mut self.ttys[i];
        while !t.input.is_empty() {
            let (a, _) = t.input.as_slices();
            match rustix::io::write(&t.master, a) {
                Ok(n) => {
                    t.input.drain(..n);
                }
                Err(rustix::io::Errno::AGAIN) => return,
                Err(_) => {
                    t.input.clear();
                    return;
                }
            }
        }
    }

    fn tty_output(&mut self, i: usize) {
        let mut buf = [0u8; FRAME];
        loop {
            let t = &mut self.ttys[i];
            match rustix::io::read(&t.master, &mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    t.backoff = HUP_PAUSE;
                    let data = &buf[..n];
                    t.ring.push(data);
                    if let Some(log) = &mut t.log {
                        let _ = log.write_all(data);
                    }
                    let client = t.client;
                    if i == 0 && self.local.is_some() {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(data);
                        let _ = out.flush();
                    }
                    if let Some(id) = client {
                        let mut m = Vec::with_capacity(n + 1);
                        m.push(b'd');
                        m.extend_from_slice(data);
                        self.send_to(id, m);
                    }
                }
                Err(rustix::io::Errno::AGAIN) => return,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => {
                    // EIO: nothing in the container has the tty open right now.
                    let pause = if t.client.is_some() {
                        HUP_PAUSE
                    } else {
                        t.backoff
                    };
                    t.quiet_until = Some(Instant::now() + pause);
                    t.backoff = (t.backoff * 2).min(HUP_PAUSE_MAX);
                    return;
                }
            }
        }
    }

    fn local_input(&mut self) {
        let mut buf = [0u8; FRAME];
        match std::io::stdin().read(&mut buf) {
            Ok(0) | Err(_) => {
                if let Some(l) = &mut self.local {
                    l.stdin_open = false;
                }
            }
            Ok(n) => {
                if let Some(t) = self.ttys.first_mut() {
                    if t.input.len() + n <= QUEUE_LIMIT {
                        t.input.extend(&buf[..n]);
                    }
                }
                self.tty_input(0);
            }
        }
    }

    fn cleanup(&mut self) {
        self.restore_local();
        if let Some(init) = self.init.take() {
            let _ = lxu_sys::signal::pidfd_send(init.pidfd.as_fd(), libc::SIGKILL);
            let _ = waitpid(Some(init.pid), WaitOptions::empty());
            self.stop_hooks("stop");
            self.setup.hooks.after_stop();
        }
        self.setup.hooks.teardown();
        self.post_stop_hooks("stop");
        let _ = std::fs::remove_file(self.setup.container.socket_path());
        self.state = State::Stopped;
    }
}

/// The `SigBlk` mask of a /proc/PID/status text (bit N-1 is signal N).
fn blocked_signals(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
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

fn dup(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    rustix::io::fcntl_dupfd_cloexec(fd, 3).map_err(|e| Error::sys("duplicate a descriptor", e))
}

/// A placeholder for "no console": a pty pair whose slave nobody uses.
fn null_master() -> Result<OwnedFd> {
    let m = rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY)
        .map_err(|e| Error::sys("open a pty", e))?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocked_mask_is_read_from_proc_status() {
        // systemd's mask: SIGRTMIN+3 (37) among others.
        let s = "Name:\tsystemd\nSigPnd:\t0000000000000000\nSigBlk:\t7be3c0fe28014a03\nSigIgn:\t0000000000001000\n";
        let m = blocked_signals(s).unwrap();
        assert_ne!(m & (1 << (37 - 1)), 0);
        assert_eq!(blocked_signals("SigBlk:\t0000000000000000\n"), Some(0));
        assert_eq!(blocked_signals("Name:\tx\n"), None);
    }
}
