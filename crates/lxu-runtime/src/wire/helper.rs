//! Between a command and the helper child it forks into a namespace: the namespace
//! helper of `crate::ids::userns` and the attach helper (see [`super`]).

use super::{Message, Reader, RemoteError, WireError, Writer};

/// Parent → helper: what the helper waited for is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToHelper {
    /// The id maps are written: the namespace helper may become root.
    MapsWritten,
    /// The attach helper is in the container's cgroups: it may change its ids and fork.
    CgroupsJoined,
}

/// Namespace helper → parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FromNsHelper {
    Done,
    Failed(RemoteError),
}

/// Attach helper → `lxu attach`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FromAttachHelper {
    /// The command runs as `pid`; with the master of its pty when `pty`.
    Started {
        pid: i32,
        pty: bool,
    },
    Failed(RemoteError),
}

impl Message for ToHelper {
    const NAME: &'static str = "message to a helper";

    fn encode(&self, w: &mut Writer) {
        match self {
            ToHelper::MapsWritten => w.kind(1),
            ToHelper::CgroupsJoined => w.kind(2),
        };
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.kind()? {
            1 => Ok(ToHelper::MapsWritten),
            2 => Ok(ToHelper::CgroupsJoined),
            k => Err(r.unknown(k)),
        }
    }
}

impl Message for FromNsHelper {
    const NAME: &'static str = "message from the namespace helper";

    fn encode(&self, w: &mut Writer) {
        match self {
            FromNsHelper::Done => {
                w.kind(1);
            }
            FromNsHelper::Failed(e) => {
                w.kind(2);
                e.encode(w);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.kind()? {
            1 => Ok(FromNsHelper::Done),
            2 => Ok(FromNsHelper::Failed(RemoteError::decode(r)?)),
            k => Err(r.unknown(k)),
        }
    }
}

impl Message for FromAttachHelper {
    const NAME: &'static str = "message from the attach helper";

    fn encode(&self, w: &mut Writer) {
        match self {
            FromAttachHelper::Started { pid, pty } => {
                w.kind(1).i32(*pid).bool(*pty);
            }
            FromAttachHelper::Failed(e) => {
                w.kind(2);
                e.encode(w);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.kind()? {
            1 => Ok(FromAttachHelper::Started {
                pid: r.i32()?,
                pty: r.bool()?,
            }),
            2 => Ok(FromAttachHelper::Failed(RemoteError::decode(r)?)),
            k => Err(r.unknown(k)),
        }
    }

    fn fds(&self) -> usize {
        match self {
            FromAttachHelper::Started { pty, .. } => usize::from(*pty),
            FromAttachHelper::Failed(_) => 0,
        }
    }
}
