//! `lxu console`: the terminal connected to the container's console or one of its ttys,
//! through the monitor (which owns the pty masters and keeps reading them, so nothing
//! blocks while no client is attached).

use std::io::{Read, Write};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::container::Container;
use crate::error::{Error, Result};
use crate::monitor::protocol::connect_monitor;

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
pub struct Filtered {
    pub send: Vec<u8>,
    pub detach: bool,
}

/// LXC's escape rules: prefix then `q` detaches; prefix twice sends one prefix; prefix
/// then any other byte sends only that byte.
#[derive(Debug, Default)]
pub struct EscapeFilter {
    prefix: u8,
    pending: bool,
}

impl EscapeFilter {
    pub fn new(prefix: u8) -> EscapeFilter {
        EscapeFilter {
            prefix,
            pending: false,
        }
    }

    pub fn feed(&mut self, input: &[u8]) -> Filtered {
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
    let Some(conn) = connect_monitor(c)? else {
        return Err(Error::NotRunning {
            name: c.name.clone(),
        });
    };
    let (len, _) = conn.request(&format!("log {tty}"))?;
    let len: usize = len.trim().parse().unwrap_or(0);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        match conn.ch.recv() {
            Ok(Some((m, _))) if m.first() == Some(&b'd') => out.extend_from_slice(&m[1..]),
            _ => break,
        }
    }
    Ok(out)
}

fn winsize_frame() -> Option<Vec<u8>> {
    let ws = rustix::termios::tcgetwinsize(rustix::stdio::stdin()).ok()?;
    Some(format!("w{} {}", ws.ws_row, ws.ws_col).into_bytes())
}

/// Connects the terminal to tty `tty` (-1: the first free tty, 0: the console) until the
/// escape sequence, end of input, or the container stops. Returns the tty number used.
pub fn attach_console(c: &Container, tty: i32, escape: u8, quiet: bool) -> Result<u32> {
    let Some(conn) = connect_monitor(c)? else {
        return Err(Error::NotRunning {
            name: c.name.clone(),
        });
    };
    let (got, _) = conn.request(&format!("console {tty}"))?;
    let n: u32 = got.trim().parse().unwrap_or(0);
    if !quiet {
        let letter = (b'a' + escape - 1) as char;
        eprintln!(
            "\nConnected to tty {n}\nType <Ctrl+{letter} q> to exit the console, <Ctrl+{letter} Ctrl+{letter}> to enter Ctrl+{letter} itself"
        );
    }
    let stdin = rustix::stdio::stdin();
    let raw_mode = lxu_sys::term::RawMode::enter(stdin);
    if raw_mode.is_some() {
        if let Some(w) = winsize_frame() {
            let _ = conn.ch.send(&w, &[]);
        }
    }
    let sigfd = lxu_sys::signal::SignalFd::new(&[libc::SIGWINCH, libc::SIGTERM, libc::SIGHUP])
        .map_err(|e| Error::sys("create a signalfd", e))?;
    let mut filter = EscapeFilter::new(escape);
    let mut out = std::io::stdout();
    let mut buf = [0u8; 4096];
    let mut stdin_open = true;
    let mut drain_deadline: Option<std::time::Instant> = None;
    loop {
        let mut fds = vec![
            PollFd::new(&conn.ch, PollFlags::IN),
            PollFd::new(&sigfd, PollFlags::IN),
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
            match conn.ch.recv() {
                Ok(Some((m, _))) => {
                    if m.first() == Some(&b'd') {
                        let _ = out.write_all(&m[1..]);
                        let _ = out.flush();
                    }
                }
                // The container stopped (the monitor closed the connection).
                _ => break,
            }
        }
        if !ready[1].is_empty() {
            let mut stop = false;
            while let Ok(Some((sig, _))) = sigfd.read() {
                if sig == libc::SIGWINCH {
                    if let Some(w) = winsize_frame() {
                        let _ = conn.ch.send(&w, &[]);
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
                    if !f.send.is_empty() {
                        let mut frame = Vec::with_capacity(f.send.len() + 1);
                        frame.push(b'd');
                        frame.extend_from_slice(&f.send);
                        if conn.ch.send(&frame, &[]).is_err() {
                            break;
                        }
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
    drop(raw_mode);
    let _ = lxu_sys::signal::reset_all();
    Ok(n)
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
