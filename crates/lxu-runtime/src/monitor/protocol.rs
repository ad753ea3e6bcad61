//! The monitor's command socket: a `SOCK_SEQPACKET` unix socket at
//! `<lxcpath>/<name>/lxu.sock`, one request or reply per packet.
//!
//! A path socket (LXC uses an abstract one) so that access follows the container
//! directory's permissions and nobody else in the network namespace can squat the name;
//! both sides also check the peer's credentials: the monitor serves only its own uid and
//! root, and clients talk only to a monitor of their own uid or root.
//!
//! Requests are text: `state`, `info`, `stop halt|kill TIMEOUT NOKILL`, `pidfd`,
//! `console TTY`, `log TTY`, `config KEY`, `freeze`, `unfreeze`. Replies start with `ok`
//! or `err`. After `console` the connection carries console frames: `d` + bytes in both
//! directions, `w` + "ROWS COLS" from the client for window size changes.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use lxu_sys::channel::Channel;
use rustix::net::{
    bind, connect, listen, socket_with, sockopt, AddressFamily, SocketAddrUnix, SocketFlags,
    SocketType,
};

use crate::container::Container;
use crate::error::{Error, Result};

/// Calls `f` with a unix address for `path`, going through `/proc/self/fd/N/<file>`
/// when the path does not fit in `sun_path` (deep home directories do not).
fn with_addr<T>(path: &Path, f: impl FnOnce(&SocketAddrUnix) -> io::Result<T>) -> io::Result<T> {
    if let Ok(addr) = SocketAddrUnix::new(path) {
        return f(&addr);
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    let file = path.file_name().unwrap_or_default();
    let dirfd = rustix::fs::open(
        dir,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    let short = Path::new("/proc/self/fd")
        .join(dirfd.as_raw_fd().to_string())
        .join(file);
    let addr = SocketAddrUnix::new(&short)?;
    f(&addr)
}

/// Creates the listening socket (the caller has set a umask that makes it 0600).
pub fn listen_at(path: &Path) -> io::Result<OwnedFd> {
    let _ = std::fs::remove_file(path);
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    with_addr(path, |addr| bind(&fd, addr).map_err(io::Error::from))?;
    listen(&fd, 16)?;
    Ok(fd)
}

/// Whether a connected peer may talk to us: same uid, or root.
pub fn peer_allowed(fd: &impl AsFd, our_uid: u32) -> bool {
    match sockopt::socket_peercred(fd) {
        Ok(cred) => {
            let uid = cred.uid.as_raw();
            uid == our_uid || uid == 0
        }
        Err(_) => false,
    }
}

/// A client connection to a running container's monitor.
pub struct MonitorConn {
    pub ch: Channel,
}

/// Connects to the monitor of `c`; `Ok(None)` when nothing listens (the container is
/// stopped, or its monitor died).
pub fn connect_monitor(c: &Container) -> Result<Option<MonitorConn>> {
    let path = c.socket_path();
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| Error::sys("create a socket", e))?;
    match with_addr(&path, |addr| connect(&fd, addr).map_err(io::Error::from)) {
        Ok(()) => {}
        Err(e) => {
            return match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ECONNREFUSED) | Some(libc::ENOTDIR) => Ok(None),
                Some(libc::EACCES) | Some(libc::EPERM) => Err(Error::Privileges {
                    name: c.name.clone(),
                    reason: format!("cannot connect to `{}`", path.display()),
                }),
                _ => Err(Error::io("connect to", path, e)),
            }
        }
    }
    let me = rustix::process::geteuid().as_raw();
    if !peer_allowed(&fd, me) {
        return Err(Error::Privileges {
            name: c.name.clone(),
            reason: format!(
                "the monitor socket `{}` belongs to another user",
                path.display()
            ),
        });
    }
    Ok(Some(MonitorConn {
        ch: Channel::from_fd(fd),
    }))
}

impl MonitorConn {
    /// Sends a request and returns the payload of an `ok` reply with any descriptors.
    pub fn request(&self, req: &str) -> Result<(String, Vec<OwnedFd>)> {
        self.send(req)?;
        self.reply(req)
    }

    /// Sends a request without waiting for the reply (read it with `reply`).
    pub fn send(&self, req: &str) -> Result<()> {
        self.ch
            .send(req.as_bytes(), &[])
            .map_err(|e| Error::sys(format!("send `{req}` to the monitor"), e))
    }

    /// Reads the next reply.
    pub fn reply(&self, req: &str) -> Result<(String, Vec<OwnedFd>)> {
        let Some((msg, fds)) = self
            .ch
            .recv()
            .map_err(|e| Error::sys(format!("read the monitor's reply to `{req}`"), e))?
        else {
            return Err(Error::Msg(format!(
                "the monitor closed the connection during `{req}`"
            )));
        };
        let text = String::from_utf8_lossy(&msg).into_owned();
        if let Some(rest) = text.strip_prefix("ok") {
            Ok((rest.trim_start().to_string(), fds))
        } else if let Some(rest) = text.strip_prefix("err") {
            Err(Error::Msg(rest.trim_start().to_string()))
        } else {
            Err(Error::Msg(format!(
                "unexpected reply from the monitor: {text}"
            )))
        }
    }

    /// Blocks until the monitor closes the connection (it exits when the container is
    /// gone). Returns any `err` message received meanwhile.
    pub fn wait_closed(&self) -> Result<()> {
        loop {
            match self.ch.recv() {
                Ok(None) => return Ok(()),
                Ok(Some((msg, _))) => {
                    let text = String::from_utf8_lossy(&msg);
                    if let Some(rest) = text.strip_prefix("err") {
                        return Err(Error::Msg(rest.trim_start().to_string()));
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => return Ok(()),
                Err(e) => return Err(Error::sys("wait for the monitor", e)),
            }
        }
    }
}
