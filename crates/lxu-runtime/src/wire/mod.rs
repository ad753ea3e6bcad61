//! Every message that crosses a process boundary inside lxu, and the one description of
//! the protocols they make up. Both ends of every channel are built from this module, so
//! the bytes may change between versions; a message that does not decode is a
//! [`WireError`] that names it.
//!
//! # Encoding
//!
//! A message is a kind byte, then its fields in order: numbers little-endian (u16, u32,
//! i32, i64, u64), flags one byte (0 or 1), text, paths and byte strings a u32 length and
//! the bytes, lists a u32 count and the items, optional values a flag and the value,
//! IP addresses their 4 or 16 octets. Console data is the exception: its bytes run to
//! the end of the packet. An error travels as its chain of messages (the error, then each
//! cause) and comes out as a [`RemoteError`] whose `source()`s are the causes, so that
//! the user sees what the other process would have printed.
//!
//! On sockets (`SOCK_SEQPACKET`, see [`lxu_sys::channel::Channel`]) one packet is one
//! message and descriptors travel as `SCM_RIGHTS` on the message that announces them. On
//! the report pipe each message is preceded by its length (u32).
//!
//! # Starting a container ([`init`], [`report`])
//!
//! `lxu start` forks the monitor; in daemon mode it keeps the read end of a pipe on
//! which the monitor sends [`report::Report`]s: any number of `Warning`s, then `Started`
//! with init's pid or `Failed` with the error, then the pipe closes.
//!
//! The monitor clones the container's init with a socketpair between them:
//!
//! 1. init → monitor [`init::FromInit::NetnsReady`] once it has made its own network
//!    namespace (only when the container has one); the monitor waits for it before it
//!    creates veths in that namespace.
//! 2. monitor → init [`init::ToInit::Go`] once the id maps are written, init is in its
//!    cgroups and its veths exist: per veth its name and gateways inside, and the cgroup
//!    directories to show under `/sys/fs/cgroup`.
//! 3. init → monitor [`init::FromInit::Ptys`] with, in this order, the console's pty
//!    master (when there is a console), one master per tty, an `O_PATH` descriptor of the
//!    container's devpts, and the netlink socket of its network namespace (when it has
//!    one).
//! 4. monitor → init [`init::ToInit::Continue`] after the `lxc.hook.start-host` hooks
//!    (only when there are some; init waits for it before pivot_root).
//! 5. init → monitor [`init::FromInit::Exec`] right before it executes `lxc.init.cmd`;
//!    the exec closes init's end (close-on-exec), and that end-of-file is the monitor's
//!    sign that the exec happened. End-of-file without `Exec` means init died.
//!
//! At any step init may send [`init::FromInit::Failed`] instead and exit.
//!
//! # The command socket ([`monitor`])
//!
//! Each running container's monitor listens on `<lxcpath>/<name>/lxu.sock`; both sides
//! check the peer's credentials (see `crate::monitor::socket`). A client sends one
//! [`monitor::Request`] and reads one [`monitor::Reply`]; any request may be answered
//! with `Failed`.
//!
//! Unlike the other channels, whose two ends are always the same binary (forked), the
//! command socket joins a client to a monitor that may have been started by the lxu
//! installed before an upgrade. So every request and reply starts with a mark
//! ([`monitor::MAGIC`], a byte no request or reply kind of an lxu without versions had)
//! and the protocol version ([`monitor::VERSION`]): an older monitor refuses a new request
//! as of unknown kind instead of misreading it, and a reply without the mark or with
//! another version makes the client stop with `Error::OtherVersion`, which names the
//! container and its monitor's pid. `lxu stop` then asks that monitor nothing: it signals
//! the container's init itself (`crate::control::other_version`). Console and log frames
//! follow a versioned reply on the same connection and carry no mark.
//!
//! | request | reply |
//! |---|---|
//! | `State` | `State` (state, init's pid) |
//! | `Info` | `Info` (`key value` facts for `lxu info` and `lxu ls`) |
//! | `Pidfd` | `Pidfd` with a pidfd of init and, when it says so, the devpts descriptor |
//! | `Freeze`, `Unfreeze` | `Done` |
//! | `Cgroup` | `Value` when reading, `Done` when writing |
//! | `Stop` | `Done`; for a halt or a kill the connection then closes when the container is gone, or `Failed` comes when it did not stop in time and must not be killed |
//! | `Console` | `Tty` (the tty connected); then [`monitor::Frame`]s both ways: `Data` to and from the tty, `Winsize` from the client |
//! | `Log` | `Log` (how many bytes), then that many bytes in `Data` frames |
//!
//! # Helper processes ([`helper`])
//!
//! - The namespace helper of `crate::ids::userns` (root of a new user namespace): the
//!   parent sends [`helper::ToHelper::MapsWritten`] once it has written the id maps; the
//!   child answers [`helper::FromNsHelper`] `Done` or `Failed`, or executes a program
//!   (end-of-file).
//! - The attach helper (the child of `lxu attach` that joins the container's
//!   namespaces): when the container has cgroups the parent sends
//!   [`helper::ToHelper::CgroupsJoined`] once it has moved the helper into them; the
//!   helper answers [`helper::FromAttachHelper`] `Started` with the command's pid (and the
//!   pty master, when it says so) or `Failed`. The channel closes when the command
//!   executes.
//! - `lxu-user-nic create` prints one line on stdout, [`lxu_net::reply::NicCreated`]
//!   (the format of LXC's `lxc-user-nic`).

pub(crate) mod codec;
pub(crate) mod helper;
pub(crate) mod init;
pub(crate) mod monitor;
pub(crate) mod report;

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use lxu_sys::channel::Channel;

pub use codec::WireError;
pub(crate) use codec::{Message, Problem, Reader, Writer};

/// An error another lxu process reported: its message, and its causes as `source()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    message: String,
    cause: Option<Box<RemoteError>>,
}

impl RemoteError {
    /// The error of a process that described it in one piece of text.
    pub(crate) fn new(message: impl Into<String>) -> RemoteError {
        RemoteError {
            message: message.into(),
            cause: None,
        }
    }

    /// `e` as it will reach the other process: it and each of its causes, as they
    /// display.
    pub(crate) fn of(e: &dyn std::error::Error) -> RemoteError {
        let mut chain = vec![e.to_string()];
        let mut cur = e.source();
        while let Some(c) = cur {
            chain.push(c.to_string());
            cur = c.source();
        }
        RemoteError::from_chain(chain)
    }

    fn from_chain(chain: Vec<String>) -> RemoteError {
        let mut err: Option<RemoteError> = None;
        for message in chain.into_iter().rev() {
            err = Some(RemoteError {
                message,
                cause: err.map(Box::new),
            });
        }
        err.unwrap_or_else(|| RemoteError::new(""))
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let mut chain = vec![self.message.as_str()];
        let mut cur = self.cause.as_deref();
        while let Some(c) = cur {
            chain.push(&c.message);
            cur = c.cause.as_deref();
        }
        w.count(chain.len());
        for m in chain {
            w.str(m);
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<RemoteError, WireError> {
        let n = r.count(4)?;
        if n == 0 {
            return Err(r.invalid("an error without a message"));
        }
        let chain = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
        Ok(RemoteError::from_chain(chain))
    }
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RemoteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as _)
    }
}

/// Why reading a message from a channel failed.
#[derive(Debug)]
pub(crate) enum RecvError {
    Io(io::Error),
    Wire(WireError),
}

impl RecvError {
    /// The crate's error, `context` saying what was being read.
    pub(crate) fn into_error(self, context: &str) -> crate::Error {
        match self {
            RecvError::Io(e) => crate::Error::sys(context, e),
            RecvError::Wire(e) => crate::Error::Wire(e),
        }
    }
}

/// Sends `m` with its descriptors (as many as [`Message::fds`] says).
pub(crate) fn send<M: Message>(ch: &Channel, m: &M, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    debug_assert_eq!(fds.len(), m.fds(), "{}", M::NAME);
    ch.send(&m.to_bytes(), fds)
}

/// Receives one message; `None` at end-of-file.
pub(crate) fn recv<M: Message>(ch: &Channel) -> Result<Option<(M, Vec<OwnedFd>)>, RecvError> {
    let Some((bytes, fds)) = ch.recv().map_err(RecvError::Io)? else {
        return Ok(None);
    };
    let m = M::from_bytes(&bytes).map_err(RecvError::Wire)?;
    if fds.len() != m.fds() {
        return Err(RecvError::Wire(WireError {
            message: M::NAME,
            problem: Problem::Descriptors {
                expected: m.fds(),
                got: fds.len(),
            },
        }));
    }
    Ok(Some((m, fds)))
}

#[cfg(test)]
mod tests;
