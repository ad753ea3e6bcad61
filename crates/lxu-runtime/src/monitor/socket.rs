//! The monitor's command socket: a `SOCK_SEQPACKET` unix socket at
//! `<lxcpath>/<name>/lxu.sock`, and the client side of it (the messages are in
//! `crate::wire::monitor`).
//!
//! A path socket (LXC uses an abstract one) so that access follows the container
//! directory's permissions and nobody else in the network namespace can squat the name;
//! both sides also check the peer's credentials: the monitor serves only its own uid and
//! root, and clients talk only to a monitor of their own uid or root.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use lxu_sys::channel::Channel;
use rustix::net::{
    bind, connect, listen, socket_with, sockopt, AddressFamily, SocketAddrUnix, SocketFlags,
    SocketType,
};

use crate::container::Container;
use crate::error::{Error, Result};
use crate::wire::monitor::{Frame, Reply, Request};
use crate::wire::{self, Message, Problem, RecvError, WireError};

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
pub(crate) fn listen_at(path: &Path) -> io::Result<OwnedFd> {
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
pub(crate) fn peer_allowed(fd: &impl AsFd, our_uid: u32) -> bool {
    match sockopt::socket_peercred(fd) {
        Ok(cred) => {
            let uid = cred.uid.as_raw();
            uid == our_uid || uid == 0
        }
        Err(_) => false,
    }
}

/// A client connection to a running container's monitor.
pub(crate) struct MonitorConn {
    ch: Channel,
    /// The container's name, for errors.
    name: String,
    /// The monitor's pid, as the kernel gave it with the connection.
    pid: Option<i32>,
}

/// Connects to the monitor of `c`; `Ok(None)` when nothing listens (the container is
/// stopped, or its monitor died).
pub(crate) fn connect_monitor(c: &Container) -> Result<Option<MonitorConn>> {
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
    let pid = sockopt::socket_peercred(&fd)
        .ok()
        .map(|c| c.pid.as_raw_nonzero().get());
    Ok(Some(MonitorConn {
        ch: Channel::from_fd(fd),
        name: c.name.clone(),
        pid,
    }))
}

/// Connects to the monitor of `c`, which must be running.
pub(crate) fn connect_running(c: &Container) -> Result<MonitorConn> {
    connect_monitor(c)?.ok_or_else(|| Error::NotRunning {
        name: c.name.clone(),
    })
}

impl MonitorConn {
    /// A connection over `ch`, for tests that play the monitor.
    #[cfg(test)]
    pub(crate) fn over(ch: Channel, name: &str, pid: Option<i32>) -> MonitorConn {
        MonitorConn {
            ch,
            name: name.to_string(),
            pid,
        }
    }

    /// Sends a request and reads the reply; a `Failed` reply is the error.
    pub(crate) fn request(&self, req: &Request) -> Result<(Reply, Vec<OwnedFd>)> {
        self.send(req)?;
        self.reply(req)
    }

    /// Sends a request without waiting for the reply (read it with `reply`).
    pub(crate) fn send(&self, req: &Request) -> Result<()> {
        wire::send(&self.ch, req, &[])
            .map_err(|e| Error::sys(format!("send `{req}` to the monitor"), e))
    }

    /// A reply that does not decode: from a monitor of another version, or broken.
    fn unreadable(&self, e: RecvError, context: &str) -> Error {
        let theirs = match &e {
            RecvError::Wire(WireError {
                problem: Problem::Unversioned,
                ..
            }) => None,
            RecvError::Wire(WireError {
                problem: Problem::Version(v),
                ..
            }) => Some(*v),
            _ => return e.into_error(context),
        };
        Error::OtherVersion {
            name: self.name.clone(),
            theirs,
            monitor: self.pid,
        }
    }

    /// Reads the reply to `req`.
    pub(crate) fn reply(&self, req: &Request) -> Result<(Reply, Vec<OwnedFd>)> {
        match wire::recv::<Reply>(&self.ch) {
            Err(e) => Err(self.unreadable(e, &format!("read the monitor's reply to `{req}`"))),
            Ok(None) => Err(Error::MonitorClosed {
                name: self.name.clone(),
                request: req.to_string(),
            }),
            Ok(Some((Reply::Failed(e), _))) => Err(Error::Remote(e)),
            Ok(Some(r)) => Ok(r),
        }
    }

    /// Sends a console frame.
    pub(crate) fn send_frame(&self, f: &Frame) -> io::Result<()> {
        wire::send(&self.ch, f, &[])
    }

    /// The next console frame; `None` when the monitor closed the connection.
    pub(crate) fn frame(&self) -> Result<Option<Frame>> {
        match wire::recv::<Frame>(&self.ch) {
            Ok(f) => Ok(f.map(|(f, _)| f)),
            Err(e) => Err(e.into_error("read from the monitor")),
        }
    }

    /// Blocks until the monitor closes the connection (it exits when the container is
    /// gone). Returns the error the monitor sends meanwhile, if any.
    pub(crate) fn wait_closed(&self) -> Result<()> {
        loop {
            match wire::recv::<Reply>(&self.ch) {
                Ok(None) => return Ok(()),
                Ok(Some((Reply::Failed(e), _))) => return Err(Error::Remote(e)),
                Ok(Some(_)) => {}
                Err(RecvError::Io(e)) if e.raw_os_error() == Some(libc::ECONNRESET) => {
                    return Ok(())
                }
                Err(e) => return Err(self.unreadable(e, "wait for the monitor")),
            }
        }
    }
}

impl AsFd for MonitorConn {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ch.as_fd()
    }
}

/// The error for a reply that does not answer `req` (a bug: both sides ship together).
pub(crate) fn unexpected(req: &Request) -> Error {
    Error::Wire(WireError {
        message: Reply::NAME,
        problem: Problem::NotAnAnswer(req.to_string()),
    })
}
