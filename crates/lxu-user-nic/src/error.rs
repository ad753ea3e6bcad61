//! Every way the helper can refuse or fail, with the text the caller sees.

use std::io;

use lxu_net::link::LinkError;
use lxu_net::netns::NetnsError;
use lxu_net::nicdb::NicDbError;
use lxu_net::usernet::USERNET_PATH;
use lxu_net::veth::VethError;

pub const USAGE: &str = "usage: lxu-user-nic create <lxcpath> <name> <pid> veth <bridge> [<ifname>]
       lxu-user-nic delete <lxcpath> <name> /proc/<pid>/ns/net veth <bridge> <host nic>";

#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("{USAGE}")]
    Usage,
    #[error("unsupported nic type `{0}`: only veth is supported")]
    Type(String),
    #[error("invalid interface name `{0}`")]
    BadName(String),
    #[error("must be installed setuid root (effective uid is {0})")]
    NotSetuid(u32),
    #[error("uid {0} has no entry in /etc/passwd")]
    UnknownUid(u32),
    #[error("cannot read `{path}`")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The one message for every failure involving the namespace argument
    /// (no such pid, no such file, not a namespace, not the caller's, not
    /// administrable by the caller): distinct texts would tell the caller
    /// whether a path exists (CVE-2018-6556, CVE-2022-47952).
    #[error(
        "cannot use network namespace {0}: it does not exist, is not a network namespace, \
         or you may not administer it"
    )]
    NetnsDenied(String),
    #[error("{user} may not use bridge {bridge} (no line in {USERNET_PATH})")]
    NoAllowance { user: String, bridge: String },
    #[error("quota reached: user {user} may have {total} veth on {bridge} ({lines})")]
    Quota {
        user: String,
        total: u64,
        bridge: String,
        lines: String,
    },
    #[error("no veth `{nic}` on {bridge} is recorded for {user} in /run/lxu/nics")]
    NotRecorded {
        user: String,
        nic: String,
        bridge: String,
    },
    #[error("`{nic}` is not a veth whose peer is in network namespace {netns}")]
    NotConnected { nic: String, netns: String },
    #[error("cannot rename the container end to `{name}` in the target network namespace")]
    Rename {
        name: String,
        #[source]
        source: LinkError,
    },
    /// lxc-usernet is read with the caller's uid; LXC ships it 0644.
    #[error(
        "cannot read `{USERNET_PATH}` as {user}: it must be readable by every user of \
         lxu-user-nic (mode 0644, as LXC ships it)"
    )]
    UsernetUnreadable {
        user: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot {what}")]
    Setup {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot move out of the caller's cgroup through `{path}`")]
    LeaveCgroup {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot switch uid to {uid}")]
    SetUid {
        uid: u32,
        #[source]
        source: io::Error,
    },
    #[error("no free host interface name after several attempts")]
    NoFreeName,
    #[error(transparent)]
    Db(#[from] NicDbError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Veth(#[from] VethError),
    #[error(transparent)]
    Netns(#[from] NetnsError),
}

impl From<lxu_net::NetlinkError> for HelperError {
    fn from(e: lxu_net::NetlinkError) -> Self {
        HelperError::Link(e.into())
    }
}

/// Writes `err` and its causes on one line, `a: b: c`.
pub fn render(err: &HelperError) -> String {
    let mut s = err.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(e) = cur {
        s.push_str(": ");
        s.push_str(&e.to_string());
        cur = e.source();
    }
    s
}
