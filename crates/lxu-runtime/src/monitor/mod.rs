//! The monitor: one small process per running container.
//!
//! It is the parent of the container's init (so it reaps it and learns how it ended),
//! owns the masters of the console and tty ptys (so the container never blocks on a full
//! console, and recent output is kept in a ring buffer), keeps the state, and answers on
//! the command socket (`socket`; the messages are in `crate::wire`). It is
//! single-threaded: one `poll` loop, here; the rest is split by role:
//! - `lifecycle`: starting init (again, on a reboot), its exit, the stop hooks, cleanup;
//! - `requests`: the clients of the command socket and the requests they send;
//! - `ttys`: the console and ttys, their clients, and the terminal of `start -F`;
//! - `stop`: stop requests and their deadlines;
//! - `resources`: the host-side resources it owns (cgroups, veths, see `net`).
//!
//! If the monitor is killed, init gets SIGKILL from its parent-death signal, which kills
//! every process of the container's pid namespace: no container runs without a monitor.

mod lifecycle;
pub(crate) mod net;
mod requests;
pub(crate) mod resources;
mod ring;
pub(crate) mod socket;
mod stop;
mod ttys;

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lxu_config::Config;
use lxu_sys::signal::SignalFd;
use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::container::Container;
use crate::error::{Error, Result};
use crate::monitor::requests::Client;
use crate::monitor::resources::Resources;
use crate::monitor::stop::StopRequest;
use crate::monitor::ttys::{Local, Tty};
use crate::start::plan::Plan;
use crate::start::spawn::Spawned;
use crate::state::State;
use crate::wire::report::Report;
use crate::wire::RemoteError;

/// Everything the monitor needs, prepared by `start`.
pub(crate) struct Setup {
    pub(crate) container: Container,
    pub(crate) config: Config,
    pub(crate) plan: Plan,
    pub(crate) euid: u32,
    pub(crate) foreground: bool,
    /// The caller's terminal is bridged to the console (`start -F`).
    pub(crate) local_console: bool,
    /// Write end of the pipe the `lxu start` client waits on (daemon mode).
    pub(crate) report: Option<OwnedFd>,
    pub(crate) console_log: Option<PathBuf>,
    /// Keeps the container's lock held for the monitor's lifetime.
    pub(crate) lock: File,
    pub(crate) resources: Resources,
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

/// Runs the monitor until the container is gone; returns the process exit code.
pub(crate) fn run(setup: Setup) -> i32 {
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
            let e = RemoteError::of(&e);
            if m.setup.foreground {
                eprintln!("lxu-start: {}", crate::error::Chain(&e));
            }
            m.report(Report::Failed(e));
            1
        }
    }
}

fn ms_until(deadline: Instant) -> i32 {
    let d = deadline.saturating_duration_since(Instant::now());
    d.as_millis().min(i32::MAX as u128) as i32 + 1
}

fn dup(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    rustix::io::fcntl_dupfd_cloexec(fd, 3).map_err(|e| Error::sys("duplicate a descriptor", e))
}

impl Monitor {
    /// Tells the `lxu start` client; the last report (not a warning) closes the pipe.
    fn report(&mut self, r: Report) {
        if let Some(fd) = &self.setup.report {
            let mut bytes = &r.framed()[..];
            while let Ok(n @ 1..) = rustix::io::write(fd, bytes) {
                bytes = &bytes[n..];
            }
        }
        if !matches!(r, Report::Warning(_)) {
            self.setup.report = None;
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
        lxu_sys::crash::point("monitor.begin");
        lxu_sys::signal::ignore(libc::SIGPIPE);
        let mut watched = crate::start::reaper::FORWARDED.to_vec();
        watched.push(libc::SIGCHLD);
        let sigfd = SignalFd::new(&watched).map_err(|e| Error::sys("create a signalfd", e))?;
        let sock = self.setup.container.socket_path();
        // The socket is created 0600 (only the owner may talk to the monitor); the
        // cgroups and files made later need the usual modes.
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        let listener = socket::listen_at(&sock);
        rustix::process::umask(old);
        let listener = listener.map_err(|e| Error::io("listen on", &sock, e))?;
        lxu_sys::crash::point("monitor.listening");
        let _ = rustix::thread::set_name(c"lxu-monitor");
        let started = self.start_init();
        for w in std::mem::take(&mut self.setup.resources.warnings) {
            if self.setup.foreground {
                eprintln!("warning: {w}");
            } else {
                self.report(Report::Warning(w.clone()));
            }
            self.append_log(&format!("warning: {w}"));
        }
        started?;
        let pid = self.init_pid();
        self.report(Report::Started { pid });
        lxu_sys::crash::point("monitor.running-reported");
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

    /// init's pid, 0 when there is none.
    fn init_pid(&self) -> i32 {
        self.init
            .as_ref()
            .map(|s| s.pid.as_raw_nonzero().get())
            .unwrap_or(0)
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

    /// One round of the loop: wait for anything (or the next deadline), then serve it.
    ///
    /// Memory goes back right before the `poll`, so that an idle monitor has run nothing
    /// but the end of the trim and the `poll` call since: every page of code it faults in
    /// again brings its 64 KiB neighbourhood with it (the kernel's fault-around). Trimming
    /// at the end of a round left the next round's allocations, vector growth and clock
    /// reads resident too: an idle busybox container's monitor (release build) measured
    /// 1.02 MB resident that way, 0.78 MB this way.
    fn step(&mut self, listener: &OwnedFd, sigfd: &SignalFd) -> Result<()> {
        let now = Instant::now();
        let trim = self.trim_at.is_some_and(|t| now >= t);
        if trim {
            self.trim_at = None;
        }
        let mut timeout: Option<i32> = None;
        let mut shorten = |ms: i32| timeout = Some(timeout.map_or(ms, |t: i32| t.min(ms)));
        if let Some(d) = self.stop.as_ref().and_then(|s| s.deadline) {
            shorten(ms_until(d));
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
        if trim {
            self.trim_memory();
        }
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
        if !self.clients.is_empty() || ready.iter().any(|r| !r.is_empty()) {
            // Requests and console output fault in code and grow the heap; give it back
            // once things are quiet.
            self.trim_at = Some(Instant::now() + Duration::from_millis(500));
        }
        Ok(())
    }

    fn signals(&mut self, sigfd: &SignalFd) -> Result<()> {
        while let Some((sig, _)) = sigfd.read().map_err(|e| Error::sys("read a signal", e))? {
            match sig {
                libc::SIGCHLD => self.reap()?,
                libc::SIGWINCH => {
                    if self.local.is_some() {
                        self.local_winsize();
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
}
