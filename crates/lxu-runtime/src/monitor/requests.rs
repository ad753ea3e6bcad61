//! The monitor's side of the command socket: its clients, their queues, and the requests
//! other than the console's and the stop's (see `crate::wire::monitor`).

use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use lxu_sys::channel::Channel;
use rustix::thread::ThreadNameSpaceType as Ns;

use super::{dup, socket, Monitor};
use crate::state::State;
use crate::wire::monitor::{Frame, Reply, Request};
use crate::wire::{Message, RemoteError};

/// Bound on data queued for one slow client or one tty nobody reads.
pub(super) const QUEUE_LIMIT: usize = 256 * 1024;

/// What the monitor turns down, as the client will show it.
#[derive(Debug, thiserror::Error)]
pub(super) enum Refusal {
    #[error("permission denied: not the container's owner")]
    NotOwner,
    #[error("{name} is not running")]
    NotRunning { name: String },
    #[error("{name} is frozen: unfreeze it first (lxu unfreeze -n {name})")]
    Frozen { name: String },
    #[error("{name} did not stop within the timeout")]
    StopTimeout { name: String },
    #[error("{name} has no ttys (lxc.tty.max = 0); use -t 0 for the console")]
    NoTtys { name: String },
    #[error("all {ttys} ttys of {name} are busy")]
    AllTtysBusy { name: String, ttys: usize },
    #[error("tty {tty} is invalid for {name}: it has {ttys} ttys (lxc.tty.max){}",
        if *console { " and a console (0)" } else { "" })]
    BadTty {
        name: String,
        tty: i32,
        ttys: usize,
        console: bool,
    },
    #[error("tty {tty} of {name} is busy")]
    TtyBusy { name: String, tty: usize },
    #[error("no tty {tty}")]
    NoTty { tty: u32 },
}

/// What a client's connection carries now.
pub(super) enum Kind {
    Idle,
    /// Console frames for tty N.
    Console(usize),
    /// Nothing more: it waits for the container to stop (the connection closes then).
    WaitStop,
}

pub(super) struct Client {
    pub(super) id: u64,
    pub(super) ch: Channel,
    pub(super) kind: Kind,
    pub(super) out: VecDeque<Vec<u8>>,
    queued: usize,
    pub(super) closing: bool,
}

impl Monitor {
    pub(super) fn accept(&mut self, listener: &OwnedFd) {
        loop {
            let fd = match rustix::net::accept_with(
                listener,
                rustix::net::SocketFlags::CLOEXEC | rustix::net::SocketFlags::NONBLOCK,
            ) {
                Ok(fd) => fd,
                Err(_) => return,
            };
            if !socket::peer_allowed(&fd, self.setup.euid) {
                let refused = Reply::Failed(RemoteError::of(&Refusal::NotOwner));
                let _ = Channel::from_fd(fd).send(&refused.to_bytes(), &[]);
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

    pub(super) fn set_kind(&mut self, id: u64, kind: Kind) {
        if let Some(c) = self.client(id) {
            c.kind = kind;
        }
    }

    /// Queues an encoded frame for a client that may be slow to read.
    pub(super) fn send_to(&mut self, id: u64, msg: Vec<u8>) {
        let Some(c) = self.client(id) else { return };
        if c.queued + msg.len() > QUEUE_LIMIT {
            // A client that does not read its console loses old output, not the monitor.
            return;
        }
        c.queued += msg.len();
        c.out.push_back(msg);
        self.flush_client(id);
    }

    pub(super) fn reply(&mut self, id: u64, reply: &Reply, fds: &[BorrowedFd<'_>]) {
        if let Some(c) = self.client(id) {
            if c.ch.send(&reply.to_bytes(), fds).is_err() {
                c.closing = true;
            }
        }
    }

    /// Answers with the error `e`.
    pub(super) fn refuse(&mut self, id: u64, e: &dyn std::error::Error) {
        self.reply(id, &Reply::Failed(RemoteError::of(e)), &[]);
    }

    pub(super) fn flush_client(&mut self, id: u64) {
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

    pub(super) fn client_readable(&mut self, id: u64) {
        loop {
            let Some(c) = self.client(id) else { return };
            if c.closing {
                return;
            }
            match c.ch.recv() {
                Ok(Some((msg, _))) => self.message(id, &msg),
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

    /// A console frame from a console client, else a request.
    fn message(&mut self, id: u64, msg: &[u8]) {
        if let Some(Kind::Console(i)) = self.client(id).map(|c| &c.kind) {
            let i = *i;
            // A frame that does not decode is dropped, like input nobody reads.
            if let Ok(f) = Frame::from_bytes(msg) {
                self.console_frame(i, f);
            }
            return;
        }
        match Request::from_bytes(msg) {
            Ok(req) => self.request(id, req),
            Err(e) => self.refuse(id, &e),
        }
    }

    fn request(&mut self, id: u64, req: Request) {
        match req {
            Request::State => {
                let reply = Reply::State {
                    state: self.state,
                    pid: self.init_pid(),
                };
                self.reply(id, &reply, &[]);
            }
            Request::Info => {
                let facts = self.info_facts();
                self.reply(id, &Reply::Info(facts), &[]);
            }
            Request::Pidfd => self.send_pidfd(id),
            Request::Freeze => match self.setup.resources.freeze() {
                Ok(()) => {
                    self.state = State::Frozen;
                    self.reply(id, &Reply::Done, &[]);
                }
                Err(e) => self.refuse(id, &e),
            },
            Request::Unfreeze => match self.setup.resources.thaw() {
                Ok(()) => {
                    if self.state == State::Frozen {
                        self.state = State::Running;
                    }
                    self.reply(id, &Reply::Done, &[]);
                }
                Err(e) => self.refuse(id, &e),
            },
            Request::Cgroup { key, value } => {
                match self.setup.resources.cgroup_item(&key, value.as_deref()) {
                    Ok(v) if value.is_none() => self.reply(id, &Reply::Value(v), &[]),
                    Ok(_) => self.reply(id, &Reply::Done, &[]),
                    Err(e) => self.refuse(id, &e),
                }
            }
            Request::Stop {
                mode,
                timeout,
                nokill,
            } => self.stop_request(id, mode, timeout, nokill),
            Request::Console { tty } => self.console_request(id, tty),
            Request::Log { tty } => self.log_request(id, tty),
        }
    }

    fn info_facts(&mut self) -> Vec<(String, String)> {
        let mut facts = Vec::new();
        let mut fact = |k: &str, v: String| facts.push((k.to_string(), v));
        fact("state", self.state.to_string());
        fact("pid", self.init_pid().to_string());
        fact("monitor", std::process::id().to_string());
        fact("ttys", self.ttys.len().saturating_sub(1).to_string());
        if let Some(t) = self.ttys.first() {
            fact("console_buffered", t.ring.len().to_string());
        }
        self.setup.resources.info_facts(&mut facts);
        facts
    }

    fn send_pidfd(&mut self, id: u64) {
        let name = self.setup.container.name.clone();
        if self.state == State::Frozen {
            // Joining the frozen cgroup would freeze the attaching process too.
            return self.refuse(id, &Refusal::Frozen { name });
        }
        let Some(init) = self
            .init
            .as_ref()
            .filter(|_| matches!(self.state, State::Running | State::Frozen))
        else {
            return self.refuse(id, &Refusal::NotRunning { name });
        };
        let pid = init.pid.as_raw_nonzero().get();
        let fds = dup(init.pidfd.as_fd()).and_then(|p| {
            let d = init.devpts.as_ref().map(|d| dup(d.as_fd())).transpose()?;
            Ok((p, d))
        });
        let (pidfd, devpts) = match fds {
            Ok(fds) => fds,
            Err(e) => return self.refuse(id, &e),
        };
        // Which namespaces are the container's own: joining one that is shared with
        // the host (the network namespace, say) would need host privileges.
        let plan = &self.setup.plan;
        let mut namespaces = Ns::MOUNT
            | Ns::PROCESS_ID
            | Ns::HOST_NAME_AND_NIS_DOMAIN_NAME
            | Ns::INTER_PROCESS_COMMUNICATION
            | Ns::CONTROL_GROUP;
        if plan.userns {
            namespaces |= Ns::USER;
        }
        if plan.own_netns {
            namespaces |= Ns::NETWORK;
        }
        let reply = Reply::Pidfd {
            pid,
            devpts: devpts.is_some(),
            namespaces,
            // The attach helper puts itself into the container's cgroups.
            cgroup_procs: self.setup.resources.procs_files(),
        };
        let mut fds = vec![pidfd.as_fd()];
        fds.extend(devpts.as_ref().map(|d| d.as_fd()));
        self.reply(id, &reply, &fds);
    }
}
