//! The container's console and ttys as the monitor holds them: the pty masters, their
//! ring buffers and logs, the client connected to each, and the terminal of `start -F`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use super::requests::{Kind, Refusal, QUEUE_LIMIT};
use super::ring::Ring;
use super::{dup, Monitor};
use crate::error::{Error, Result};
use crate::session::terminal;
use crate::start::spawn::Spawned;
use crate::state::State;
use crate::wire::monitor::{Frame, Reply};

/// Default size of the console's ring buffer (`lxc.console.buffer.size` overrides).
const CONSOLE_RING: usize = 128 * 1024;
/// Ring size for each `/dev/ttyN`.
const TTY_RING: usize = 16 * 1024;
/// Largest console frame.
const FRAME: usize = 4096;
/// First pause after a pty hangup, and the longest.
const HUP_PAUSE: Duration = Duration::from_millis(50);
const HUP_PAUSE_MAX: Duration = Duration::from_secs(2);

pub(super) struct Tty {
    pub(super) master: OwnedFd,
    pub(super) ring: Ring,
    log: Option<File>,
    pub(super) client: Option<u64>,
    pub(super) input: VecDeque<u8>,
    /// After a hangup (no process has the tty open) the master polls as readable at once;
    /// it is left alone until this instant to avoid spinning, with a growing pause while
    /// the hangup lasts (an idle container must not wake its monitor all the time).
    pub(super) quiet_until: Option<Instant>,
    backoff: Duration,
    /// False for the console slot of a container without a console.
    pub(super) present: bool,
}

/// The terminal of `lxu start -F`, attached to the console.
pub(super) struct Local {
    /// In raw mode while attached (dropping it restores the terminal).
    _raw: Option<lxu_sys::term::RawMode<'static>>,
    pub(super) stdin_open: bool,
}

/// A placeholder for "no console": a pty pair whose slave nobody uses.
fn null_master() -> Result<OwnedFd> {
    rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY)
        .map_err(|e| Error::sys("open a pty", e))
}

impl Monitor {
    /// Takes over the pty masters of a new init (index 0 is the console, even when there
    /// is none, so that tty N is index N).
    pub(super) fn setup_ttys(&mut self, sp: &Spawned) -> Result<()> {
        let mut masters: Vec<(OwnedFd, usize)> = Vec::new();
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

    /// Bridges the caller's terminal to the console (`start -F`).
    pub(super) fn attach_local(&mut self) {
        let raw = terminal::raw();
        if raw.is_some() {
            self.local_winsize();
        }
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

    /// The console takes the size of the caller's terminal.
    pub(super) fn local_winsize(&self) {
        if let (Some(t), Some(ws)) = (self.ttys.first(), terminal::size()) {
            let _ = rustix::termios::tcsetwinsize(&t.master, ws);
        }
    }

    /// Gives the caller's terminal back as it was.
    pub(super) fn restore_local(&mut self) {
        self.local = None;
    }

    pub(super) fn local_input(&mut self) {
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

    /// The tty a `Console` request asks for: -1 is the first free tty, 0 the console.
    fn tty_index(&self, tty: i32) -> std::result::Result<usize, Refusal> {
        let name = self.setup.container.name.clone();
        let ttys = self.ttys.len().saturating_sub(1);
        if tty < 0 {
            return (1..=ttys)
                .find(|&i| self.ttys[i].client.is_none())
                .ok_or(if ttys == 0 {
                    Refusal::NoTtys { name }
                } else {
                    Refusal::AllTtysBusy { name, ttys }
                });
        }
        let n = tty as usize;
        if n == 0 && self.setup.plan.console {
            return Ok(0);
        }
        if n == 0 || n > ttys {
            return Err(Refusal::BadTty {
                name,
                tty,
                ttys,
                console: self.setup.plan.console,
            });
        }
        Ok(n)
    }

    /// `Console`: the client becomes the tty's only reader and writer.
    pub(super) fn console_request(&mut self, id: u64, tty: i32) {
        let name = self.setup.container.name.clone();
        if self.state != State::Running {
            return self.refuse(id, &Refusal::NotRunning { name });
        }
        let i = match self.tty_index(tty) {
            Ok(i) => i,
            Err(e) => return self.refuse(id, &e),
        };
        if self.ttys[i].client.is_some() {
            return self.refuse(id, &Refusal::TtyBusy { name, tty: i });
        }
        self.ttys[i].client = Some(id);
        self.ttys[i].quiet_until = None;
        self.ttys[i].backoff = HUP_PAUSE;
        self.set_kind(id, Kind::Console(i));
        self.reply(id, &Reply::Tty(i as u32), &[]);
    }

    /// `Log`: the ring buffer's contents, in frames.
    pub(super) fn log_request(&mut self, id: u64, tty: u32) {
        let Some(t) = self.ttys.get(tty as usize) else {
            return self.refuse(id, &Refusal::NoTty { tty });
        };
        let data = t.ring.contents();
        self.reply(id, &Reply::Log(data.len() as u64), &[]);
        for chunk in data.chunks(FRAME) {
            self.send_to(id, Frame::data_bytes(chunk));
        }
    }

    pub(super) fn console_frame(&mut self, i: usize, frame: Frame) {
        match frame {
            Frame::Data(data) => {
                let t = &mut self.ttys[i];
                if t.input.len() + data.len() <= QUEUE_LIMIT {
                    t.input.extend(&data);
                }
                self.tty_input(i);
            }
            Frame::Winsize { rows, cols } => {
                let ws = rustix::termios::Winsize {
                    ws_row: rows,
                    ws_col: cols,
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                };
                let _ = rustix::termios::tcsetwinsize(&self.ttys[i].master, ws);
            }
        }
    }

    /// Writes what is queued for tty `i`, as far as it takes it.
    pub(super) fn tty_input(&mut self, i: usize) {
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

    /// Reads what tty `i` printed: into its ring, its log, its client, the local terminal.
    pub(super) fn tty_output(&mut self, i: usize) {
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
                        self.send_to(id, Frame::data_bytes(data));
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
}
