//! The key table: LXC 5.0's names plus the 1.0/2.0 spellings that 2.1 still accepted.

/// A key that is neither indexed nor takes a free suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Sk {
    Arch,
    ApparmorProfile,
    ApparmorAllowIncomplete,
    ApparmorAllowNesting,
    ApparmorRaw,
    AutodevTmpfsSize,
    Autodev,
    CapDrop,
    CapKeep,
    CgroupDirMonitorPivot,
    CgroupDirMonitor,
    CgroupDirContainerInner,
    CgroupDirContainer,
    CgroupDir,
    CgroupRelative,
    ConsoleBufferSize,
    ConsoleLogfile,
    ConsolePath,
    ConsoleRotate,
    ConsoleSize,
    SchedCore,
    Environment,
    Ephemeral,
    ExecuteCmd,
    Group,
    HookVersion,
    Idmap,
    Include,
    InitCmd,
    InitGid,
    InitGroups,
    InitUid,
    InitCwd,
    KeyringSession,
    LogFile,
    LogLevel,
    LogSyslog,
    MonitorUnshare,
    MonitorSignalPdeath,
    MountAuto,
    MountEntry,
    MountFstab,
    NamespaceClone,
    NamespaceKeep,
    TimeOffsetBoot,
    TimeOffsetMonotonic,
    NoNewPrivs,
    PtyMax,
    RootfsManaged,
    RootfsMount,
    RootfsOptions,
    RootfsPath,
    SeccompAllowNesting,
    SeccompNotifyCookie,
    SeccompNotifyProxy,
    SeccompProfile,
    SelinuxContextKeyring,
    SelinuxContext,
    SignalHalt,
    SignalReboot,
    SignalStop,
    StartAuto,
    StartDelay,
    StartOrder,
    TtyDir,
    TtyMax,
    UtsName,
}

impl Sk {
    pub(crate) const ALL: &'static [Sk] = &[
        Sk::Arch,
        Sk::ApparmorProfile,
        Sk::ApparmorAllowIncomplete,
        Sk::ApparmorAllowNesting,
        Sk::ApparmorRaw,
        Sk::AutodevTmpfsSize,
        Sk::Autodev,
        Sk::CapDrop,
        Sk::CapKeep,
        Sk::CgroupDirMonitorPivot,
        Sk::CgroupDirMonitor,
        Sk::CgroupDirContainerInner,
        Sk::CgroupDirContainer,
        Sk::CgroupDir,
        Sk::CgroupRelative,
        Sk::ConsoleBufferSize,
        Sk::ConsoleLogfile,
        Sk::ConsolePath,
        Sk::ConsoleRotate,
        Sk::ConsoleSize,
        Sk::SchedCore,
        Sk::Environment,
        Sk::Ephemeral,
        Sk::ExecuteCmd,
        Sk::Group,
        Sk::HookVersion,
        Sk::Idmap,
        Sk::Include,
        Sk::InitCmd,
        Sk::InitGid,
        Sk::InitGroups,
        Sk::InitUid,
        Sk::InitCwd,
        Sk::KeyringSession,
        Sk::LogFile,
        Sk::LogLevel,
        Sk::LogSyslog,
        Sk::MonitorUnshare,
        Sk::MonitorSignalPdeath,
        Sk::MountAuto,
        Sk::MountEntry,
        Sk::MountFstab,
        Sk::NamespaceClone,
        Sk::NamespaceKeep,
        Sk::TimeOffsetBoot,
        Sk::TimeOffsetMonotonic,
        Sk::NoNewPrivs,
        Sk::PtyMax,
        Sk::RootfsManaged,
        Sk::RootfsMount,
        Sk::RootfsOptions,
        Sk::RootfsPath,
        Sk::SeccompAllowNesting,
        Sk::SeccompNotifyCookie,
        Sk::SeccompNotifyProxy,
        Sk::SeccompProfile,
        Sk::SelinuxContextKeyring,
        Sk::SelinuxContext,
        Sk::SignalHalt,
        Sk::SignalReboot,
        Sk::SignalStop,
        Sk::StartAuto,
        Sk::StartDelay,
        Sk::StartOrder,
        Sk::TtyDir,
        Sk::TtyMax,
        Sk::UtsName,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Sk::Arch => "lxc.arch",
            Sk::ApparmorProfile => "lxc.apparmor.profile",
            Sk::ApparmorAllowIncomplete => "lxc.apparmor.allow_incomplete",
            Sk::ApparmorAllowNesting => "lxc.apparmor.allow_nesting",
            Sk::ApparmorRaw => "lxc.apparmor.raw",
            Sk::AutodevTmpfsSize => "lxc.autodev.tmpfs.size",
            Sk::Autodev => "lxc.autodev",
            Sk::CapDrop => "lxc.cap.drop",
            Sk::CapKeep => "lxc.cap.keep",
            Sk::CgroupDirMonitorPivot => "lxc.cgroup.dir.monitor.pivot",
            Sk::CgroupDirMonitor => "lxc.cgroup.dir.monitor",
            Sk::CgroupDirContainerInner => "lxc.cgroup.dir.container.inner",
            Sk::CgroupDirContainer => "lxc.cgroup.dir.container",
            Sk::CgroupDir => "lxc.cgroup.dir",
            Sk::CgroupRelative => "lxc.cgroup.relative",
            Sk::ConsoleBufferSize => "lxc.console.buffer.size",
            Sk::ConsoleLogfile => "lxc.console.logfile",
            Sk::ConsolePath => "lxc.console.path",
            Sk::ConsoleRotate => "lxc.console.rotate",
            Sk::ConsoleSize => "lxc.console.size",
            Sk::SchedCore => "lxc.sched.core",
            Sk::Environment => "lxc.environment",
            Sk::Ephemeral => "lxc.ephemeral",
            Sk::ExecuteCmd => "lxc.execute.cmd",
            Sk::Group => "lxc.group",
            Sk::HookVersion => "lxc.hook.version",
            Sk::Idmap => "lxc.idmap",
            Sk::Include => "lxc.include",
            Sk::InitCmd => "lxc.init.cmd",
            Sk::InitGid => "lxc.init.gid",
            Sk::InitGroups => "lxc.init.groups",
            Sk::InitUid => "lxc.init.uid",
            Sk::InitCwd => "lxc.init.cwd",
            Sk::KeyringSession => "lxc.keyring.session",
            Sk::LogFile => "lxc.log.file",
            Sk::LogLevel => "lxc.log.level",
            Sk::LogSyslog => "lxc.log.syslog",
            Sk::MonitorUnshare => "lxc.monitor.unshare",
            Sk::MonitorSignalPdeath => "lxc.monitor.signal.pdeath",
            Sk::MountAuto => "lxc.mount.auto",
            Sk::MountEntry => "lxc.mount.entry",
            Sk::MountFstab => "lxc.mount.fstab",
            Sk::NamespaceClone => "lxc.namespace.clone",
            Sk::NamespaceKeep => "lxc.namespace.keep",
            Sk::TimeOffsetBoot => "lxc.time.offset.boot",
            Sk::TimeOffsetMonotonic => "lxc.time.offset.monotonic",
            Sk::NoNewPrivs => "lxc.no_new_privs",
            Sk::PtyMax => "lxc.pty.max",
            Sk::RootfsManaged => "lxc.rootfs.managed",
            Sk::RootfsMount => "lxc.rootfs.mount",
            Sk::RootfsOptions => "lxc.rootfs.options",
            Sk::RootfsPath => "lxc.rootfs.path",
            Sk::SeccompAllowNesting => "lxc.seccomp.allow_nesting",
            Sk::SeccompNotifyCookie => "lxc.seccomp.notify.cookie",
            Sk::SeccompNotifyProxy => "lxc.seccomp.notify.proxy",
            Sk::SeccompProfile => "lxc.seccomp.profile",
            Sk::SelinuxContextKeyring => "lxc.selinux.context.keyring",
            Sk::SelinuxContext => "lxc.selinux.context",
            Sk::SignalHalt => "lxc.signal.halt",
            Sk::SignalReboot => "lxc.signal.reboot",
            Sk::SignalStop => "lxc.signal.stop",
            Sk::StartAuto => "lxc.start.auto",
            Sk::StartDelay => "lxc.start.delay",
            Sk::StartOrder => "lxc.start.order",
            Sk::TtyDir => "lxc.tty.dir",
            Sk::TtyMax => "lxc.tty.max",
            Sk::UtsName => "lxc.uts.name",
        }
    }

    /// Current (5.0) spelling only.
    pub(crate) fn from_name(name: &str) -> Option<Sk> {
        Some(match name {
            "lxc.arch" => Sk::Arch,
            "lxc.apparmor.profile" => Sk::ApparmorProfile,
            "lxc.apparmor.allow_incomplete" => Sk::ApparmorAllowIncomplete,
            "lxc.apparmor.allow_nesting" => Sk::ApparmorAllowNesting,
            "lxc.apparmor.raw" => Sk::ApparmorRaw,
            "lxc.autodev.tmpfs.size" => Sk::AutodevTmpfsSize,
            "lxc.autodev" => Sk::Autodev,
            "lxc.cap.drop" => Sk::CapDrop,
            "lxc.cap.keep" => Sk::CapKeep,
            "lxc.cgroup.dir.monitor.pivot" => Sk::CgroupDirMonitorPivot,
            "lxc.cgroup.dir.monitor" => Sk::CgroupDirMonitor,
            "lxc.cgroup.dir.container.inner" => Sk::CgroupDirContainerInner,
            "lxc.cgroup.dir.container" => Sk::CgroupDirContainer,
            "lxc.cgroup.dir" => Sk::CgroupDir,
            "lxc.cgroup.relative" => Sk::CgroupRelative,
            "lxc.console.buffer.size" => Sk::ConsoleBufferSize,
            "lxc.console.logfile" => Sk::ConsoleLogfile,
            "lxc.console.path" => Sk::ConsolePath,
            "lxc.console.rotate" => Sk::ConsoleRotate,
            "lxc.console.size" => Sk::ConsoleSize,
            "lxc.sched.core" => Sk::SchedCore,
            "lxc.environment" => Sk::Environment,
            "lxc.ephemeral" => Sk::Ephemeral,
            "lxc.execute.cmd" => Sk::ExecuteCmd,
            "lxc.group" => Sk::Group,
            "lxc.hook.version" => Sk::HookVersion,
            "lxc.idmap" => Sk::Idmap,
            "lxc.include" => Sk::Include,
            "lxc.init.cmd" => Sk::InitCmd,
            "lxc.init.gid" => Sk::InitGid,
            "lxc.init.groups" => Sk::InitGroups,
            "lxc.init.uid" => Sk::InitUid,
            "lxc.init.cwd" => Sk::InitCwd,
            "lxc.keyring.session" => Sk::KeyringSession,
            "lxc.log.file" => Sk::LogFile,
            "lxc.log.level" => Sk::LogLevel,
            "lxc.log.syslog" => Sk::LogSyslog,
            "lxc.monitor.unshare" => Sk::MonitorUnshare,
            "lxc.monitor.signal.pdeath" => Sk::MonitorSignalPdeath,
            "lxc.mount.auto" => Sk::MountAuto,
            "lxc.mount.entry" => Sk::MountEntry,
            "lxc.mount.fstab" => Sk::MountFstab,
            "lxc.namespace.clone" => Sk::NamespaceClone,
            "lxc.namespace.keep" => Sk::NamespaceKeep,
            "lxc.time.offset.boot" => Sk::TimeOffsetBoot,
            "lxc.time.offset.monotonic" => Sk::TimeOffsetMonotonic,
            "lxc.no_new_privs" => Sk::NoNewPrivs,
            "lxc.pty.max" => Sk::PtyMax,
            "lxc.rootfs.managed" => Sk::RootfsManaged,
            "lxc.rootfs.mount" => Sk::RootfsMount,
            "lxc.rootfs.options" => Sk::RootfsOptions,
            "lxc.rootfs.path" => Sk::RootfsPath,
            "lxc.seccomp.allow_nesting" => Sk::SeccompAllowNesting,
            "lxc.seccomp.notify.cookie" => Sk::SeccompNotifyCookie,
            "lxc.seccomp.notify.proxy" => Sk::SeccompNotifyProxy,
            "lxc.seccomp.profile" => Sk::SeccompProfile,
            "lxc.selinux.context.keyring" => Sk::SelinuxContextKeyring,
            "lxc.selinux.context" => Sk::SelinuxContext,
            "lxc.signal.halt" => Sk::SignalHalt,
            "lxc.signal.reboot" => Sk::SignalReboot,
            "lxc.signal.stop" => Sk::SignalStop,
            "lxc.start.auto" => Sk::StartAuto,
            "lxc.start.delay" => Sk::StartDelay,
            "lxc.start.order" => Sk::StartOrder,
            "lxc.tty.dir" => Sk::TtyDir,
            "lxc.tty.max" => Sk::TtyMax,
            "lxc.uts.name" => Sk::UtsName,
            _ => return None,
        })
    }

    /// 1.0/2.0 spellings removed in 3.0.
    pub(crate) fn from_legacy_name(name: &str) -> Option<Sk> {
        Some(match name {
            "lxc.id_map" => Sk::Idmap,
            "lxc.pts" => Sk::PtyMax,
            "lxc.tty" => Sk::TtyMax,
            "lxc.devttydir" => Sk::TtyDir,
            "lxc.aa_profile" => Sk::ApparmorProfile,
            "lxc.aa_allow_incomplete" => Sk::ApparmorAllowIncomplete,
            "lxc.se_context" => Sk::SelinuxContext,
            "lxc.mount" => Sk::MountFstab,
            "lxc.rootfs" => Sk::RootfsPath,
            "lxc.utsname" => Sk::UtsName,
            "lxc.seccomp" => Sk::SeccompProfile,
            "lxc.console" => Sk::ConsolePath,
            "lxc.haltsignal" => Sk::SignalHalt,
            "lxc.rebootsignal" => Sk::SignalReboot,
            "lxc.stopsignal" => Sk::SignalStop,
            "lxc.syslog" => Sk::LogSyslog,
            "lxc.loglevel" => Sk::LogLevel,
            "lxc.logfile" => Sk::LogFile,
            "lxc.init_cmd" => Sk::InitCmd,
            "lxc.init_uid" => Sk::InitUid,
            "lxc.init_gid" => Sk::InitGid,
            _ => return None,
        })
    }
}

/// Keys of one network interface (`lxc.net.N.<sub>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NetSub {
    Flags,
    Hwaddr,
    Ipv4Address,
    Ipv4Gateway,
    Ipv6Address,
    Ipv6Gateway,
    Link,
    L2proxy,
    MacvlanMode,
    IpvlanMode,
    IpvlanIsolation,
    Mtu,
    Name,
    ScriptDown,
    ScriptUp,
    Type,
    VlanId,
    VethMode,
    VethNRxqueues,
    VethNTxqueues,
    VethPair,
    VethIpv4Route,
    VethIpv6Route,
    VethVlanId,
    VethVlanTaggedId,
}

impl NetSub {
    pub(crate) const ALL: &'static [NetSub] = &[
        NetSub::Flags,
        NetSub::Hwaddr,
        NetSub::Ipv4Address,
        NetSub::Ipv4Gateway,
        NetSub::Ipv6Address,
        NetSub::Ipv6Gateway,
        NetSub::Link,
        NetSub::L2proxy,
        NetSub::MacvlanMode,
        NetSub::IpvlanMode,
        NetSub::IpvlanIsolation,
        NetSub::Mtu,
        NetSub::Name,
        NetSub::ScriptDown,
        NetSub::ScriptUp,
        NetSub::Type,
        NetSub::VlanId,
        NetSub::VethMode,
        NetSub::VethNRxqueues,
        NetSub::VethNTxqueues,
        NetSub::VethPair,
        NetSub::VethIpv4Route,
        NetSub::VethIpv6Route,
        NetSub::VethVlanId,
        NetSub::VethVlanTaggedId,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            NetSub::Flags => "flags",
            NetSub::Hwaddr => "hwaddr",
            NetSub::Ipv4Address => "ipv4.address",
            NetSub::Ipv4Gateway => "ipv4.gateway",
            NetSub::Ipv6Address => "ipv6.address",
            NetSub::Ipv6Gateway => "ipv6.gateway",
            NetSub::Link => "link",
            NetSub::L2proxy => "l2proxy",
            NetSub::MacvlanMode => "macvlan.mode",
            NetSub::IpvlanMode => "ipvlan.mode",
            NetSub::IpvlanIsolation => "ipvlan.isolation",
            NetSub::Mtu => "mtu",
            NetSub::Name => "name",
            NetSub::ScriptDown => "script.down",
            NetSub::ScriptUp => "script.up",
            NetSub::Type => "type",
            NetSub::VlanId => "vlan.id",
            NetSub::VethMode => "veth.mode",
            NetSub::VethNRxqueues => "veth.n_rxqueues",
            NetSub::VethNTxqueues => "veth.n_txqueues",
            NetSub::VethPair => "veth.pair",
            NetSub::VethIpv4Route => "veth.ipv4.route",
            NetSub::VethIpv6Route => "veth.ipv6.route",
            NetSub::VethVlanId => "veth.vlan.id",
            NetSub::VethVlanTaggedId => "veth.vlan.tagged.id",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<NetSub> {
        NetSub::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// The subkeys LXC 1.0 knew under `lxc.network.`.
    pub(crate) fn from_legacy_name(name: &str) -> Option<NetSub> {
        Some(match name {
            "type" => NetSub::Type,
            "flags" => NetSub::Flags,
            "link" => NetSub::Link,
            "name" => NetSub::Name,
            "macvlan.mode" => NetSub::MacvlanMode,
            "veth.pair" => NetSub::VethPair,
            "script.up" => NetSub::ScriptUp,
            "script.down" => NetSub::ScriptDown,
            "hwaddr" => NetSub::Hwaddr,
            "mtu" => NetSub::Mtu,
            "vlan.id" => NetSub::VlanId,
            "ipv4.gateway" => NetSub::Ipv4Gateway,
            "ipv4" => NetSub::Ipv4Address,
            "ipv6.gateway" => NetSub::Ipv6Gateway,
            "ipv6" => NetSub::Ipv6Address,
            _ => return None,
        })
    }

    /// Subkeys whose lines accumulate instead of replacing.
    pub(crate) fn is_list(self) -> bool {
        matches!(
            self,
            NetSub::Ipv4Address
                | NetSub::Ipv6Address
                | NetSub::VethIpv4Route
                | NetSub::VethIpv6Route
                | NetSub::VethVlanTaggedId
        )
    }
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookType {
    PreStart,
    StartHost,
    PreMount,
    Mount,
    Autodev,
    Start,
    Stop,
    PostStop,
    Clone,
    Destroy,
}

impl HookType {
    pub const ALL: &'static [HookType] = &[
        HookType::PreStart,
        HookType::StartHost,
        HookType::PreMount,
        HookType::Mount,
        HookType::Autodev,
        HookType::Start,
        HookType::Stop,
        HookType::PostStop,
        HookType::Clone,
        HookType::Destroy,
    ];

    /// The suffix after `lxc.hook.` (also the third argument of a version-0 hook).
    pub fn name(self) -> &'static str {
        match self {
            HookType::PreStart => "pre-start",
            HookType::StartHost => "start-host",
            HookType::PreMount => "pre-mount",
            HookType::Mount => "mount",
            HookType::Autodev => "autodev",
            HookType::Start => "start",
            HookType::Stop => "stop",
            HookType::PostStop => "post-stop",
            HookType::Clone => "clone",
            HookType::Destroy => "destroy",
        }
    }

    pub fn from_name(name: &str) -> Option<HookType> {
        HookType::ALL.iter().copied().find(|h| h.name() == name)
    }
}

/// Which interface an `lxc.net*`/`lxc.network*` key addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetTarget {
    /// `lxc.net` / `lxc.network`: every interface.
    All,
    /// `lxc.net.N.*`.
    Index(u32),
    /// 1.0 `lxc.network.<sub>`: the interface the latest `type` line opened.
    Last,
    /// Late-1.x `lxc.network.N.<sub>`: the N-th interface opened by a legacy `type` line.
    LegacyOrdinal(u32),
}

/// A classified key. Borrowed suffixes point into the key as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key<'a> {
    Simple(Sk),
    /// `lxc.cgroup[2].<file>`; `file == None` is the bare clear-all key.
    Cgroup {
        v2: bool,
        file: Option<&'a str>,
    },
    Prlimit(Option<&'a str>),
    Sysctl(Option<&'a str>),
    Proc(Option<&'a str>),
    Hook(Option<HookType>),
    NsShare(&'a str),
    Net {
        target: NetTarget,
        sub: Option<NetSub>,
    },
    /// `lxc.pivotdir`, `lxc.kmsg`, `lxc.rootfs.backend`: accepted and ignored.
    Removed,
}

/// Parses a network index the way LXC does (decimal digits, below `i32::MAX`).
fn parse_index(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|&n| n < i32::MAX as u32)
}

fn suffix_of<'a>(key: &'a str, prefix: &str) -> Option<Option<&'a str>> {
    let rest = key.strip_prefix(prefix)?;
    if rest.is_empty() {
        return Some(None);
    }
    let sub = rest.strip_prefix('.')?;
    if sub.is_empty() {
        return None;
    }
    Some(Some(sub))
}

/// Classifies a key; the flag says whether it is a legacy (pre-3.0) spelling.
pub(crate) fn classify(key: &str) -> Option<(Key<'_>, bool)> {
    let rest = key.strip_prefix("lxc.")?;
    if let Some(sk) = Sk::from_name(key) {
        return Some((Key::Simple(sk), false));
    }
    // Dispatch on the first component so lookups stay cheap.
    let first = rest.split('.').next().unwrap_or("");
    match first {
        "cgroup" => {
            let f = suffix_of(key, "lxc.cgroup")?;
            Some((Key::Cgroup { v2: false, file: f }, false))
        }
        "cgroup2" => {
            let f = suffix_of(key, "lxc.cgroup2")?;
            Some((Key::Cgroup { v2: true, file: f }, false))
        }
        "prlimit" => Some((Key::Prlimit(suffix_of(key, "lxc.prlimit")?), false)),
        "limit" => Some((Key::Prlimit(suffix_of(key, "lxc.limit")?), true)),
        "sysctl" => Some((Key::Sysctl(suffix_of(key, "lxc.sysctl")?), false)),
        "proc" => Some((Key::Proc(suffix_of(key, "lxc.proc")?), false)),
        "hook" => match suffix_of(key, "lxc.hook")? {
            None => Some((Key::Hook(None), false)),
            Some(t) => Some((Key::Hook(Some(HookType::from_name(t)?)), false)),
        },
        "namespace" => {
            let ns = key.strip_prefix("lxc.namespace.share.")?;
            (!ns.is_empty()).then_some((Key::NsShare(ns), false))
        }
        "net" => {
            let Some(tail) = suffix_of(key, "lxc.net")? else {
                return Some((
                    Key::Net {
                        target: NetTarget::All,
                        sub: None,
                    },
                    false,
                ));
            };
            let (idx, sub) = match tail.split_once('.') {
                Some((i, s)) => (i, Some(s)),
                None => (tail, None),
            };
            let idx = parse_index(idx)?;
            let sub = match sub {
                Some(s) => Some(NetSub::from_name(s)?),
                None => None,
            };
            Some((
                Key::Net {
                    target: NetTarget::Index(idx),
                    sub,
                },
                false,
            ))
        }
        "network" => {
            let Some(tail) = suffix_of(key, "lxc.network")? else {
                return Some((
                    Key::Net {
                        target: NetTarget::All,
                        sub: None,
                    },
                    true,
                ));
            };
            if tail.as_bytes()[0].is_ascii_digit() {
                let (idx, sub) = tail.split_once('.')?;
                let idx = parse_index(idx)?;
                let sub = NetSub::from_legacy_name(sub)?;
                return Some((
                    Key::Net {
                        target: NetTarget::LegacyOrdinal(idx),
                        sub: Some(sub),
                    },
                    true,
                ));
            }
            let sub = NetSub::from_legacy_name(tail)?;
            Some((
                Key::Net {
                    target: NetTarget::Last,
                    sub: Some(sub),
                },
                true,
            ))
        }
        "pivotdir" | "kmsg" if rest == first => Some((Key::Removed, true)),
        "rootfs" if rest == "rootfs.backend" => Some((Key::Removed, true)),
        _ => Sk::from_legacy_name(key).map(|sk| (Key::Simple(sk), true)),
    }
}

impl Key<'_> {
    /// The 5.0 spelling; `None` for removed keys.
    pub(crate) fn canonical(&self) -> Option<String> {
        Some(match *self {
            Key::Simple(sk) => sk.name().to_string(),
            Key::Cgroup { v2, file } => {
                let base = if v2 { "lxc.cgroup2" } else { "lxc.cgroup" };
                join_suffix(base, file)
            }
            Key::Prlimit(r) => join_suffix("lxc.prlimit", r),
            Key::Sysctl(r) => join_suffix("lxc.sysctl", r),
            Key::Proc(r) => join_suffix("lxc.proc", r),
            Key::Hook(h) => join_suffix("lxc.hook", h.map(HookType::name)),
            Key::NsShare(ns) => format!("lxc.namespace.share.{ns}"),
            Key::Net { target, sub } => {
                let sub = sub.map(NetSub::name);
                match target {
                    NetTarget::All => join_suffix("lxc.net", sub),
                    NetTarget::Index(n) | NetTarget::LegacyOrdinal(n) => {
                        join_suffix(&format!("lxc.net.{n}"), sub)
                    }
                    NetTarget::Last => join_suffix("lxc.net", sub),
                }
            }
            Key::Removed => return None,
        })
    }

    /// Keys that name a whole group (`lxc.net.0`, `lxc.cgroup`, …), used for clears.
    pub(crate) fn is_group(&self) -> bool {
        matches!(
            self,
            Key::Cgroup { file: None, .. }
                | Key::Prlimit(None)
                | Key::Sysctl(None)
                | Key::Proc(None)
                | Key::Hook(None)
                | Key::Net { sub: None, .. }
        )
    }
}

fn join_suffix(base: &str, sub: Option<&str>) -> String {
    match sub {
        Some(s) => format!("{base}.{s}"),
        None => base.to_string(),
    }
}

/// The current (LXC 3.0+) name of a key: legacy spellings are translated
/// (`lxc.utsname` → `lxc.uts.name`, `lxc.network.3.ipv4` → `lxc.net.3.ipv4.address`).
/// A 1.0 network key without an index (`lxc.network.link`) yields the index-less
/// 2.1 form (`lxc.net.link`); the parser assigns the real index from the section
/// it is in. `None` for unknown keys and for the removed `lxc.pivotdir`,
/// `lxc.kmsg` and `lxc.rootfs.backend` (which the parser accepts and ignores).
pub fn canonical_key(key: &str) -> Option<String> {
    classify(key.trim_matches([' ', '\t']))?.0.canonical()
}

/// Whether `key` is a pre-3.0 spelling that LXC 3.0+ rejects.
pub fn is_legacy_key(key: &str) -> bool {
    classify(key).is_some_and(|(_, legacy)| legacy)
}

/// Every fixed key of LXC 5.0 (keys with free suffixes appear as their prefix,
/// e.g. `lxc.cgroup`, `lxc.net`), for `lxc-config`-style listings and completions.
pub fn known_keys() -> Vec<String> {
    let mut v: Vec<String> = Sk::ALL.iter().map(|s| s.name().to_string()).collect();
    v.extend(
        HookType::ALL
            .iter()
            .map(|h| format!("lxc.hook.{}", h.name())),
    );
    for k in [
        "lxc.cgroup",
        "lxc.cgroup2",
        "lxc.prlimit",
        "lxc.sysctl",
        "lxc.proc",
        "lxc.hook",
        "lxc.namespace.share",
        "lxc.net",
    ] {
        v.push(k.to_string());
    }
    v.extend(
        NetSub::ALL
            .iter()
            .map(|s| format!("lxc.net.N.{}", s.name())),
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_table_round_trips() {
        for &sk in Sk::ALL {
            assert_eq!(Sk::from_name(sk.name()), Some(sk), "{}", sk.name());
            assert_eq!(classify(sk.name()), Some((Key::Simple(sk), false)));
        }
        for &s in NetSub::ALL {
            assert_eq!(NetSub::from_name(s.name()), Some(s));
        }
        for &h in HookType::ALL {
            assert_eq!(HookType::from_name(h.name()), Some(h));
        }
    }

    #[test]
    fn legacy_names_map_to_current() {
        let pairs = [
            ("lxc.id_map", "lxc.idmap"),
            ("lxc.pts", "lxc.pty.max"),
            ("lxc.tty", "lxc.tty.max"),
            ("lxc.devttydir", "lxc.tty.dir"),
            ("lxc.aa_profile", "lxc.apparmor.profile"),
            ("lxc.aa_allow_incomplete", "lxc.apparmor.allow_incomplete"),
            ("lxc.se_context", "lxc.selinux.context"),
            ("lxc.mount", "lxc.mount.fstab"),
            ("lxc.rootfs", "lxc.rootfs.path"),
            ("lxc.utsname", "lxc.uts.name"),
            ("lxc.seccomp", "lxc.seccomp.profile"),
            ("lxc.console", "lxc.console.path"),
            ("lxc.haltsignal", "lxc.signal.halt"),
            ("lxc.rebootsignal", "lxc.signal.reboot"),
            ("lxc.stopsignal", "lxc.signal.stop"),
            ("lxc.syslog", "lxc.log.syslog"),
            ("lxc.loglevel", "lxc.log.level"),
            ("lxc.logfile", "lxc.log.file"),
            ("lxc.init_cmd", "lxc.init.cmd"),
            ("lxc.init_uid", "lxc.init.uid"),
            ("lxc.init_gid", "lxc.init.gid"),
            ("lxc.limit.nofile", "lxc.prlimit.nofile"),
            ("lxc.network.type", "lxc.net.type"),
            ("lxc.network.ipv4", "lxc.net.ipv4.address"),
            ("lxc.network.2.ipv6", "lxc.net.2.ipv6.address"),
            ("lxc.network.0.ipv4.gateway", "lxc.net.0.ipv4.gateway"),
            ("lxc.network", "lxc.net"),
        ];
        for (old, new) in pairs {
            assert_eq!(canonical_key(old).as_deref(), Some(new), "{old}");
            assert!(is_legacy_key(old), "{old}");
            assert!(!is_legacy_key(new) || new.starts_with("lxc.net."), "{new}");
        }
    }

    #[test]
    fn suffix_keys() {
        assert_eq!(
            canonical_key("lxc.cgroup.devices.allow").as_deref(),
            Some("lxc.cgroup.devices.allow")
        );
        assert_eq!(
            canonical_key("lxc.cgroup2.memory.max").as_deref(),
            Some("lxc.cgroup2.memory.max")
        );
        assert_eq!(
            canonical_key("lxc.cgroup.dir").as_deref(),
            Some("lxc.cgroup.dir")
        );
        assert_eq!(canonical_key("lxc.cgroup").as_deref(), Some("lxc.cgroup"));
        assert_eq!(
            canonical_key("lxc.net.12.veth.pair").as_deref(),
            Some("lxc.net.12.veth.pair")
        );
        assert_eq!(canonical_key("lxc.net.1").as_deref(), Some("lxc.net.1"));
        assert_eq!(
            canonical_key("lxc.namespace.share.net").as_deref(),
            Some("lxc.namespace.share.net")
        );
        assert_eq!(
            canonical_key("lxc.hook.start-host").as_deref(),
            Some("lxc.hook.start-host")
        );
    }

    #[test]
    fn unknown_keys() {
        for k in [
            "lxc.foo",
            "lxc.tty.maxx",
            "lxc.cgroup.",
            "lxc.cgroupx",
            "lxc.net.x.type",
            "lxc.net.0.bogus",
            "lxc.net.0.ipv4",
            "lxc.network.0",
            "lxc.network.ipv4.address",
            "lxc.hook.bogus",
            "lxc.namespace.share.",
            "lxc.network.-1.link",
            "lxc.",
            "foo",
        ] {
            assert_eq!(canonical_key(k), None, "{k}");
        }
        assert!(classify("lxc.pivotdir").is_some());
        assert_eq!(canonical_key("lxc.pivotdir"), None);
        assert_eq!(canonical_key("lxc.rootfs.backend"), None);
    }
}
