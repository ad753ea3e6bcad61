//! A synchronous rtnetlink socket: one request at a time, every reply checked.
//!
//! Every request carries a fresh sequence number; replies with another
//! sequence number or from a port other than the kernel's are ignored. Plain
//! requests ask for `NLM_F_ACK` and end at the ACK (or fail with its errno);
//! dumps end at `NLMSG_DONE` and are retried when the kernel flags them
//! `NLM_F_DUMP_INTR` (the table changed while it was being dumped).

use std::io;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// Kernel socket buffer we ask for; dumps of a few hundred links fit.
const SOCKET_RCVBUF: i32 = 1 << 20;
/// Smallest user-space receive buffer: the kernel sends dump chunks of up to
/// 32 KiB, so anything smaller would truncate them.
const MIN_RECV: usize = 64 * 1024;
/// How often an interrupted dump is retried before giving up.
const DUMP_RETRIES: usize = 5;

/// Errors from talking to the kernel over rtnetlink.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("cannot open rtnetlink socket")]
    Socket(#[source] io::Error),
    #[error("{op}")]
    Kernel {
        op: String,
        #[source]
        source: io::Error,
    },
    #[error("{op}: malformed netlink reply: {detail}")]
    Malformed { op: String, detail: String },
}

impl NetlinkError {
    /// The errno the kernel answered with, if this is a kernel refusal.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// An rtnetlink socket bound to the network namespace of the thread that
/// opened it (the kernel fixes a socket's netns at creation).
pub struct Netlink {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// Opens a socket in the calling thread's current network namespace.
    pub fn open() -> Result<Self, NetlinkError> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(NetlinkError::Socket)?;
        socket.bind_auto().map_err(NetlinkError::Socket)?;
        // Best effort: an unprivileged caller is capped at rmem_max, which is
        // still plenty because we drain every reply before the next request.
        let _ = socket.set_rx_buf_sz(SOCKET_RCVBUF);
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(NetlinkError::Socket)?;
        Ok(Netlink {
            socket,
            seq: seed_sequence(),
            buf: Vec::with_capacity(MIN_RECV),
        })
    }

    /// Wraps a socket opened elsewhere (possibly in another network namespace, then
    /// passed over a unix socket): requests act in the namespace it was created in.
    pub fn from_socket(socket: Socket) -> Self {
        Netlink {
            socket,
            seq: seed_sequence(),
            buf: Vec::with_capacity(MIN_RECV),
        }
    }

    /// The socket, e.g. to pass it to another process.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Sends a request that changes state and waits for its ACK. Returns any
    /// messages the kernel sent before the ACK (e.g. the reply to a GET).
    pub fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        op: impl Fn() -> String,
    ) -> Result<Vec<RouteNetlinkMessage>, NetlinkError> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK | flags, &op)?;
        self.collect(seq, false, &op).map(|(msgs, _)| msgs)
    }

    /// Dumps a table (links, addresses, ...), following multipart replies.
    pub fn dump(
        &mut self,
        msg: RouteNetlinkMessage,
        op: impl Fn() -> String,
    ) -> Result<Vec<RouteNetlinkMessage>, NetlinkError> {
        let mut last = Vec::new();
        for _ in 0..DUMP_RETRIES {
            let seq = self.send(msg.clone(), NLM_F_REQUEST | NLM_F_DUMP, &op)?;
            let (msgs, interrupted) = self.collect(seq, true, &op)?;
            if !interrupted {
                return Ok(msgs);
            }
            last = msgs;
        }
        // Still changing after several tries: return the last snapshot, which
        // is as consistent as anything `ip link` would show.
        Ok(last)
    }

    fn send(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        op: &impl Fn() -> String,
    ) -> Result<u32, NetlinkError> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut bytes = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut bytes);
        let sent = self
            .socket
            .send(&bytes, 0)
            .map_err(|e| NetlinkError::Kernel {
                op: op(),
                source: e,
            })?;
        if sent != bytes.len() {
            return Err(NetlinkError::Malformed {
                op: op(),
                detail: format!("short send ({sent} of {} bytes)", bytes.len()),
            });
        }
        Ok(self.seq)
    }

    /// Reads replies to `seq` until its ACK (plain request) or DONE (dump).
    /// The bool is true when the dump was flagged as interrupted.
    fn collect(
        &mut self,
        seq: u32,
        dump: bool,
        op: &impl Fn() -> String,
    ) -> Result<(Vec<RouteNetlinkMessage>, bool), NetlinkError> {
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            let from = self.recv_datagram(op)?;
            if from != 0 {
                continue; // not from the kernel
            }
            let mut offset = 0;
            while offset < self.buf.len() {
                let rest = &self.buf[offset..];
                let len = NetlinkBuffer::new_checked(rest)
                    .map(|b| b.length() as usize)
                    .map_err(|e| malformed(op, e))?;
                if len == 0 || len > rest.len() {
                    return Err(malformed(op, "bad message length"));
                }
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len])
                    .map_err(|e| malformed(op, e))?;
                offset += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue; // a late reply to an earlier request
                }
                if msg.header.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match msg.payload {
                    NetlinkPayload::Error(err) => match err.code {
                        None => return Ok((out, interrupted)),
                        Some(code) => {
                            return Err(NetlinkError::Kernel {
                                op: op(),
                                source: io::Error::from_raw_os_error(-code.get()),
                            })
                        }
                    },
                    NetlinkPayload::Done(done) => {
                        if done.code < 0 {
                            return Err(NetlinkError::Kernel {
                                op: op(),
                                source: io::Error::from_raw_os_error(-done.code),
                            });
                        }
                        if dump {
                            return Ok((out, interrupted));
                        }
                    }
                    NetlinkPayload::InnerMessage(inner) => out.push(inner),
                    NetlinkPayload::Overrun(_) => {
                        return Err(malformed(op, "kernel reported an overrun"))
                    }
                    _ => {}
                }
            }
        }
    }

    /// Receives one datagram into `self.buf`, sized by peeking first so a
    /// large dump chunk is never truncated. Returns the sender's port.
    fn recv_datagram(&mut self, op: &impl Fn() -> String) -> Result<u32, NetlinkError> {
        let kernel = |e| NetlinkError::Kernel {
            op: op(),
            source: e,
        };
        self.buf.clear();
        let (want, _) = self
            .socket
            .recv_from(&mut self.buf, libc_flags::MSG_PEEK | libc_flags::MSG_TRUNC)
            .map_err(kernel)?;
        self.buf.clear();
        self.buf.reserve(want.max(MIN_RECV));
        let (got, from) = self.socket.recv_from(&mut self.buf, 0).map_err(kernel)?;
        if got != self.buf.len() {
            return Err(malformed(op, "truncated datagram"));
        }
        Ok(from.port_number())
    }
}

fn malformed(op: &impl Fn() -> String, detail: impl std::fmt::Display) -> NetlinkError {
    NetlinkError::Malformed {
        op: op(),
        detail: detail.to_string(),
    }
}

/// Starting sequence number: distinct per process so replies meant for an
/// earlier socket user can never be mistaken for ours.
fn seed_sequence() -> u32 {
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    pid.wrapping_mul(0x9e37_79b9)
}

/// The two recv flags we need, without depending on the libc crate.
mod libc_flags {
    pub const MSG_PEEK: i32 = 0x2;
    pub const MSG_TRUNC: i32 = 0x20;
}
