//! Between the monitor and the container's init while it is set up (see [`super`] for
//! the order).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use super::{Message, Reader, RemoteError, WireError, Writer};

/// A veth as init configures it inside: its name there and the default routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nic {
    pub(crate) ifname: String,
    /// Resolved on the host (`auto` is the bridge's address).
    pub(crate) gateway4: Option<Ipv4Addr>,
    pub(crate) gateway6: Option<Ipv6Addr>,
}

/// One of the container's cgroup directories, shown inside under
/// `/sys/fs/cgroup/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupBind {
    pub(crate) host: PathBuf,
    pub(crate) name: String,
}

/// What init needs to know from the monitor to carry on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Go {
    /// In the order of the config's veths.
    pub(crate) nics: Vec<Nic>,
    pub(crate) cgroups: Vec<CgroupBind>,
}

/// Monitor → init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToInit {
    Go(Go),
    /// The start-host hooks ran.
    Continue,
}

/// Init → monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FromInit {
    NetnsReady,
    /// Announces the descriptors that come with it: the console master (if `console`),
    /// `ttys` tty masters, the devpts root, the netlink socket (if `netlink`).
    Ptys {
        console: bool,
        ttys: u32,
        netlink: bool,
    },
    Exec,
    Failed(RemoteError),
}

impl Message for ToInit {
    const NAME: &'static str = "message from the monitor to init";

    fn encode(&self, w: &mut Writer) {
        match self {
            ToInit::Go(go) => {
                w.kind(1).count(go.nics.len());
                for n in &go.nics {
                    w.str(&n.ifname).opt_ipv4(n.gateway4).opt_ipv6(n.gateway6);
                }
                w.count(go.cgroups.len());
                for b in &go.cgroups {
                    w.path(&b.host).str(&b.name);
                }
            }
            ToInit::Continue => {
                w.kind(2);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.kind()? {
            1 => {
                let nics = (0..r.count(6)?)
                    .map(|_| {
                        Ok(Nic {
                            ifname: r.string()?,
                            gateway4: r.opt_ipv4()?,
                            gateway6: r.opt_ipv6()?,
                        })
                    })
                    .collect::<Result<_, WireError>>()?;
                let cgroups = (0..r.count(8)?)
                    .map(|_| {
                        Ok(CgroupBind {
                            host: r.path()?,
                            name: r.string()?,
                        })
                    })
                    .collect::<Result<_, WireError>>()?;
                Ok(ToInit::Go(Go { nics, cgroups }))
            }
            2 => Ok(ToInit::Continue),
            k => Err(r.unknown(k)),
        }
    }
}

impl Message for FromInit {
    const NAME: &'static str = "message from init to the monitor";

    fn encode(&self, w: &mut Writer) {
        match self {
            FromInit::NetnsReady => {
                w.kind(1);
            }
            FromInit::Ptys {
                console,
                ttys,
                netlink,
            } => {
                w.kind(2).bool(*console).u32(*ttys).bool(*netlink);
            }
            FromInit::Exec => {
                w.kind(3);
            }
            FromInit::Failed(e) => {
                w.kind(4);
                e.encode(w);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.kind()? {
            1 => Ok(FromInit::NetnsReady),
            2 => Ok(FromInit::Ptys {
                console: r.bool()?,
                ttys: r.u32()?,
                netlink: r.bool()?,
            }),
            3 => Ok(FromInit::Exec),
            4 => Ok(FromInit::Failed(RemoteError::decode(r)?)),
            k => Err(r.unknown(k)),
        }
    }

    fn fds(&self) -> usize {
        match self {
            FromInit::Ptys {
                console,
                ttys,
                netlink,
            } => usize::from(*console) + *ttys as usize + 1 + usize::from(*netlink),
            _ => 0,
        }
    }
}
