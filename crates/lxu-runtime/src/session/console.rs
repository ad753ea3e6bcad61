//! `lxu console`: the terminal connected to the container's console or one of its ttys,
//! through the monitor (which owns the pty masters and keeps reading them, so nothing
//! blocks while no client is attached).

use std::io::{Read, Write};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::container::Container;
use crate::error::{Error, Result};
use crate::monitor::socket::{connect_running, unexpected, MonitorConn};
use crate::session::terminal;
use crate::wire::monitor::{Frame, Reply, Request};

/// The escape prefix for `-e`: `^b`, `b` or `B` mean Ctrl+b; default Ctrl+a.
pub fn escape_byte(spec: Option<&str>) -> std::result::Result<u8, String> {
    let Some(s) = spec else { return Ok(1) };
    let c = s.strip_prefix('^').unwrap_or(s);
    let mut chars = c.chars();
    match (chars.next(), chars.next()) {
        (Some(ch), None) if ch.is_ascii_alphabetic() => {
            Ok((ch.to_ascii_lowercase() as u8) - b'a' + 1)
        }
        _ => Err(format!(
            "invalid escape `{s}`: expected a letter, like `a` or `^a`"
        )),
    }
}

/// What the escape filter decided for a chunk of input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Filtered {
    pub(crate) send: Vec<u8>,
    pub(crate) detach: bool,
}

/// LXC's escape rules: prefix then `q` detaches; prefix twice sends one prefix; prefix
/// then any other byte sends only that byte.
#[derive(Debug, Default)]
pub(crate) struct EscapeFilter {
    prefix: u8,
    pending: bool,
}

impl EscapeFilter {
    pub(crate) fn new(prefix: u8) -> EscapeFilter {
        EscapeFilter {
            prefix,
            pending: false,
        }
    }

    pub(crate) fn feed(&mut self, input: &[u8]) -> Filtered {
        let mut send = Vec::with_capacity(input.len());
        for &b in input {
            if self.pending {
                self.pending = false;
                if b == b'q' {
                    return Filtered { send, detach: true };
                }
                send.push(b);
            } else if b == self.prefix {
                self.pending = true;
            } else {
                send.push(b);
            }
        }
        Filtered {
            send,
            detach: false,
        }
    }
}

/// The recent output of tty `tty` (0 = console) kept by the monitor.
pub fn log(c: &Container, tty: u32) -> Result<Vec<u8>> {
    let conn = connect_running(c)?;
    let req = Request::Log { tty };
    let Reply::Log(len) = conn.request(&req)?.0 else {
        return Err(unexpected(&req));
    };
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(len.min(1 << 20));
    while out.len() < len {
        match conn.frame()? {
            Some(Frame::Data(d)) => out.extend_from_slice(&d),
            _ => break,
        }
    }
    Ok(out)
}

fn winsize_frame() -> Option<Frame> {
    let ws = terminal::size()?;
    Some(Frame::Winsize {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

/// Connects the terminal to tty `tty` (-1: the first free tty, 0: the console) until the
/// escape sequence, end of input, or the container stops. Returns the tty number used.
pub fn attach_console(c: &Container, tty: i32, escape: u8, quiet: bool) -> Result<u32> {
    let conn = connect_running(c)?;
    let req = Request::Console { tty };
    let Reply::Tty(n) = conn.request(&req)?.0 else {
        return Err(unexpected(&req));
    };
    if !quiet {
        let letter = (b'a' + escape - 1) as char;
        eprintln!(
            "\nConnected to tty {n}\nType <Ctrl+{letter} q> to exit the console, <Ctrl+{letter} Ctrl+{letter}> to enter Ctrl+{letter} itself"
        );
    }
    let raw = terminal::raw();
    if raw.is_some() {
        if let Some(w) = winsize_frame() {
            let _ = conn.send_frame(&w);
        }
    }
    let sigfd = lxu_sys::signal::SignalFd::new(&[libc::SIGWINCH, libc::SIGTERM, libc::SIGHUP])
        .map_err(|e| Error::sys("create a signalfd", e))?;
    proxy(&conn, &sigfd, escape);
    drop(raw);
    let _ = lxu_sys::signal::reset_all();
    Ok(n)
}

/// Copies between the terminal and the tty until the escape sequence, end of input (and
/// a moment for the output still coming), a signal, or the end of the connection.
fn proxy(conn: &MonitorConn, sigfd: &lxu_sys::signal::SignalFd, escape: u8) {
    let stdin = rustix::stdio::stdin();
    let mut filter = EscapeFilter::new(escape);
    let mut out = std::io::stdout();
    let mut buf = [0u8; 4096];
    let mut stdin_open = true;
    let mut drain_deadline: Option<std::time::Instant> = None;
    loop {
        let mut fds = vec![
            PollFd::new(conn, PollFlags::IN),
            PollFd::new(sigfd, PollFlags::IN),
        ];
        if stdin_open {
            fds.push(PollFd::from_borrowed_fd(stdin, PollFlags::IN));
        }
        let timeout = drain_deadline.map(|d| {
            let left = d.saturating_duration_since(std::time::Instant::now());
            Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: left.subsec_nanos() as i64,
            }
        });
        let _ = poll(&mut fds, timeout.as_ref());
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        if !ready[0].is_empty() {
            match conn.frame() {
                Ok(Some(Frame::Data(d))) => {
                    let _ = out.write_all(&d);
                    let _ = out.flush();
                }
                Ok(Some(Frame::Winsize { .. })) => {}
                // The container stopped (the monitor closed the connection).
                _ => break,
            }
        }
        if !ready[1].is_empty() {
            let mut stop = false;
            while let Ok(Some((sig, _))) = sigfd.read() {
                if sig == libc::SIGWINCH {
                    if let Some(w) = winsize_frame() {
                        let _ = conn.send_frame(&w);
                    }
                } else {
                    stop = true;
                }
            }
            if stop {
                break;
            }
        }
        if stdin_open && ready.len() > 2 && !ready[2].is_empty() {
            match std::io::stdin().read(&mut buf) {
                Ok(0) | Err(_) => {
                    // End of input: show what is still coming for a moment, then detach.
                    stdin_open = false;
                    drain_deadline = Some(std::time::Instant::now() + Duration::from_millis(300));
                }
                Ok(k) => {
                    let f = filter.feed(&buf[..k]);
                    if !f.send.is_empty() && conn.send_frame(&Frame::Data(f.send)).is_err() {
                        break;
                    }
                    if f.detach {
                        break;
                    }
                }
            }
        }
        if drain_deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_rules() {
        let mut f = EscapeFilter::new(1);
        assert_eq!(
            f.feed(b"ls\r"),
            Filtered {
                send: b"ls\r".to_vec(),
                detach: false
            }
        );
        // prefix prefix -> one prefix
        assert_eq!(
            f.feed(&[1, 1]),
            Filtered {
                send: vec![1],
                detach: false
            }
        );
        // prefix x -> x (prefix swallowed), across chunks
        assert_eq!(
            f.feed(&[1]),
            Filtered {
                send: vec![],
                detach: false
            }
        );
        assert_eq!(
            f.feed(b"x"),
            Filtered {
                send: b"x".to_vec(),
                detach: false
            }
        );
        // prefix q -> detach, bytes before it still sent
        assert_eq!(
            f.feed(b"ab\x01q"),
            Filtered {
                send: b"ab".to_vec(),
                detach: true
            }
        );
    }

    #[test]
    fn escape_spec() {
        assert_eq!(escape_byte(None), Ok(1));
        assert_eq!(escape_byte(Some("^b")), Ok(2));
        assert_eq!(escape_byte(Some("B")), Ok(2));
        assert!(escape_byte(Some("^1")).is_err());
    }
}
