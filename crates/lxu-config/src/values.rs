//! Value syntaxes shared by several keys.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use crate::line::words;

/// First real-time signal as glibc reports it (two are reserved for NPTL).
pub const SIGRTMIN: i32 = 34;
pub const SIGRTMAX: i32 = 64;

const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
    ("UNUSED", 31),
];

/// Parses a signal as LXC's `sig_parse` does, plus names without `SIG`:
/// `9`, `SIGKILL`, `kill`, `PWR`, `SIGRTMIN+3`, `RTMAX-2`, `SIGRTMIN`.
/// Numbers must be 1..=64. Returns `None` for anything else.
pub fn parse_signal(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.as_bytes().first()?.is_ascii_digit() {
        let n = parse_u32(s)?;
        return (1..=SIGRTMAX as u32).contains(&n).then_some(n as i32);
    }
    let name = strip_prefix_ci(s, "SIG").unwrap_or(s);
    if let Some(rt) = strip_prefix_ci(name, "RT") {
        if rt.eq_ignore_ascii_case("MIN") {
            return Some(SIGRTMIN);
        }
        if rt.eq_ignore_ascii_case("MAX") {
            return Some(SIGRTMAX);
        }
        let (plus, n) = if let Some(n) = strip_prefix_ci(rt, "MIN+") {
            (true, n)
        } else if let Some(n) = strip_prefix_ci(rt, "MAX-") {
            (false, n)
        } else {
            return None;
        };
        let n = parse_u32(n)? as i32;
        if n > SIGRTMAX - SIGRTMIN {
            return None;
        }
        return Some(if plus { SIGRTMIN + n } else { SIGRTMAX - n });
    }
    SIGNALS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| v)
}

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let head = s.get(..p.len())?;
    head.eq_ignore_ascii_case(p).then(|| &s[p.len()..])
}

/// Unsigned decimal without sign or junk (LXC's `lxc_safe_uint`).
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn parse_i32(s: &str) -> Option<i32> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn parse_bool01(s: &str) -> Option<bool> {
    match parse_u32(s)? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

/// Capabilities by name (lower case, no `cap_`), in kernel number order.
pub const CAPABILITIES: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// Kernel number of a capability as written in `lxc.cap.*` (a name from
/// [`CAPABILITIES`] or a plain number up to the last known capability).
pub fn cap_number(name: &str) -> Option<u32> {
    if let Some(i) = CAPABILITIES.iter().position(|c| *c == name) {
        return Some(i as u32);
    }
    parse_u32(name).filter(|&n| (n as usize) < CAPABILITIES.len())
}

/// uid or gid map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Uid,
    Gid,
}

/// One `lxc.idmap` line: `count` ids starting at `nsid` inside map to `hostid` outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdMap {
    pub kind: IdKind,
    pub nsid: u32,
    pub hostid: u32,
    pub count: u32,
}

impl IdMap {
    /// Parses `u 0 100000 65536`.
    pub fn parse(v: &str) -> Result<IdMap, String> {
        let mut it = v.split([' ', '\t', '\r']).filter(|w| !w.is_empty());
        let kind = match it.next() {
            Some("u") => IdKind::Uid,
            Some("g") => IdKind::Gid,
            Some(t) => return Err(format!("id map type must be `u` or `g`, not `{t}`")),
            None => return Err("empty id map".into()),
        };
        let mut num = |what: &str| -> Result<u32, String> {
            let w = it
                .next()
                .ok_or_else(|| format!("missing {what}; expected `u|g NSID HOSTID COUNT`"))?;
            parse_u32(w).ok_or_else(|| format!("{what} `{w}` is not an unsigned 32-bit number"))
        };
        let nsid = num("namespace id")?;
        let hostid = num("host id")?;
        let count = num("count")?;
        if let Some(extra) = it.next() {
            return Err(format!("trailing `{extra}` after the count"));
        }
        if count == 0 {
            return Err("count must be at least 1".into());
        }
        if u64::from(nsid) + u64::from(count) > 1 << 32
            || u64::from(hostid) + u64::from(count) > 1 << 32
        {
            return Err("range runs past 2^32".into());
        }
        Ok(IdMap {
            kind,
            nsid,
            hostid,
            count,
        })
    }
}

impl fmt::Display for IdMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = match self.kind {
            IdKind::Uid => 'u',
            IdKind::Gid => 'g',
        };
        write!(f, "{t} {} {} {}", self.nsid, self.hostid, self.count)
    }
}

/// `lxc.mount.auto` proc setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcMode {
    Mixed,
    Rw,
}

/// `lxc.mount.auto` sys setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysMode {
    Mixed,
    Ro,
    Rw,
}

/// Access mode of an automatic cgroup mount; `Default` is the bare `cgroup`
/// token (rw with CAP_SYS_ADMIN kept, else mixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    Mixed,
    Ro,
    Rw,
    Default,
}

/// `cgroup[-full][:mode][:force]`, or a `cgroup2[:ro][:force]` token (always forced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupAuto {
    pub mode: CgroupMode,
    pub full: bool,
    pub force: bool,
}

/// Parsed `lxc.mount.auto`. `cgroup` and `cgroup2` share LXC's single cgroup
/// category, so at most one of them is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountAuto {
    pub proc: Option<ProcMode>,
    pub sys: Option<SysMode>,
    pub cgroup: Option<CgroupAuto>,
    pub cgroup2: Option<CgroupAuto>,
    /// `shmounts:HOST[:CONTAINER]` (container path defaults to `/dev/.lxc-mounts`).
    pub shmounts: Option<(String, String)>,
}

impl MountAuto {
    pub fn is_empty(&self) -> bool {
        *self == MountAuto::default()
    }

    /// Applies one line of tokens; each token replaces its category.
    pub(crate) fn apply(&mut self, value: &str) -> Result<(), String> {
        for tok in words(value) {
            self.apply_token(tok)?;
        }
        Ok(())
    }

    fn apply_token(&mut self, tok: &str) -> Result<(), String> {
        let bad = || format!("invalid `lxc.mount.auto` token `{tok}`");
        match tok {
            "proc" | "proc:mixed" => self.proc = Some(ProcMode::Mixed),
            "proc:rw" => self.proc = Some(ProcMode::Rw),
            "sys" | "sys:mixed" => self.sys = Some(SysMode::Mixed),
            "sys:ro" => self.sys = Some(SysMode::Ro),
            "sys:rw" => self.sys = Some(SysMode::Rw),
            _ if tok.starts_with("shmounts:") => {
                let v = &tok["shmounts:".len()..];
                if v.is_empty() {
                    return Err(format!("`{tok}` needs a host path"));
                }
                let (host, cont) = match v.split_once(':') {
                    Some((h, c)) if !c.is_empty() => (h, c),
                    Some((h, _)) => (h, "/dev/.lxc-mounts"),
                    None => (v, "/dev/.lxc-mounts"),
                };
                self.shmounts = Some((host.to_string(), cont.to_string()));
            }
            "cgroup2" | "cgroup2:force" | "cgroup2:ro" | "cgroup2:ro:force" => {
                self.cgroup = None;
                self.cgroup2 = Some(CgroupAuto {
                    mode: if tok.starts_with("cgroup2:ro") {
                        CgroupMode::Ro
                    } else {
                        CgroupMode::Rw
                    },
                    full: false,
                    force: true,
                });
            }
            _ if tok.starts_with("cgroup2") => return Err(bad()),
            _ if tok.starts_with("cgroup") => {
                let (full, rest) = match tok.strip_prefix("cgroup-full") {
                    Some(r) => (true, r),
                    None => (false, &tok["cgroup".len()..]),
                };
                let (mode, force) = match rest {
                    "" => (CgroupMode::Default, false),
                    ":force" => (CgroupMode::Default, true),
                    ":mixed" => (CgroupMode::Mixed, false),
                    ":mixed:force" => (CgroupMode::Mixed, true),
                    ":ro" => (CgroupMode::Ro, false),
                    ":ro:force" => (CgroupMode::Ro, true),
                    ":rw" => (CgroupMode::Rw, false),
                    ":rw:force" => (CgroupMode::Rw, true),
                    _ => return Err(bad()),
                };
                self.cgroup2 = None;
                self.cgroup = Some(CgroupAuto { mode, full, force });
            }
            _ => return Err(bad()),
        }
        Ok(())
    }
}

impl fmt::Display for MountAuto {
    /// LXC's order (proc, sys, cgroup); re-parsing the output gives the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut toks: Vec<String> = Vec::new();
        match self.proc {
            Some(ProcMode::Mixed) => toks.push("proc:mixed".into()),
            Some(ProcMode::Rw) => toks.push("proc:rw".into()),
            None => {}
        }
        match self.sys {
            Some(SysMode::Mixed) => toks.push("sys:mixed".into()),
            Some(SysMode::Ro) => toks.push("sys:ro".into()),
            Some(SysMode::Rw) => toks.push("sys:rw".into()),
            None => {}
        }
        if let Some(c) = self.cgroup {
            let mut t = String::from(if c.full { "cgroup-full" } else { "cgroup" });
            match c.mode {
                CgroupMode::Mixed => t.push_str(":mixed"),
                CgroupMode::Ro => t.push_str(":ro"),
                CgroupMode::Rw => t.push_str(":rw"),
                CgroupMode::Default => {}
            }
            if c.force {
                t.push_str(":force");
            }
            toks.push(t);
        }
        if let Some(c) = self.cgroup2 {
            toks.push(
                if c.mode == CgroupMode::Ro {
                    "cgroup2:ro"
                } else {
                    "cgroup2"
                }
                .into(),
            );
        }
        if let Some((h, c)) = &self.shmounts {
            toks.push(format!("shmounts:{h}:{c}"));
        }
        f.write_str(&toks.join(" "))
    }
}

/// Storage behind `lxc.rootfs.path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootfsBackend {
    /// `dir:/path` or a plain path.
    Dir(PathBuf),
    /// `overlay:LOWER:UPPER` (1.0: `overlayfs:`).
    Overlay { lower: PathBuf, upper: PathBuf },
    /// Any other `type:` prefix (`btrfs`, `zfs`, `lvm`, `loop`, `nbd`, `rbd`, …); the type name.
    Other(String),
}

/// `lxc.rootfs.path` as written plus its parsed backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rootfs {
    pub spec: String,
    pub backend: RootfsBackend,
}

impl Rootfs {
    pub fn parse(spec: &str) -> Result<Rootfs, String> {
        let backend = match spec.split_once(':') {
            // A colon inside a plain absolute path is not a type separator.
            Some((ty, rest)) if !ty.starts_with('/') => match ty {
                "dir" => RootfsBackend::Dir(PathBuf::from(rest)),
                "overlay" | "overlayfs" => {
                    let (lower, upper) = rest
                        .rsplit_once(':')
                        .ok_or_else(|| format!("`{ty}` rootfs needs `{ty}:LOWER:UPPER`"))?;
                    if lower.is_empty() || upper.is_empty() {
                        return Err(format!("`{ty}` rootfs needs `{ty}:LOWER:UPPER`"));
                    }
                    RootfsBackend::Overlay {
                        lower: PathBuf::from(lower),
                        upper: PathBuf::from(upper),
                    }
                }
                "" => return Err("empty storage type before `:`".into()),
                other => RootfsBackend::Other(other.to_string()),
            },
            _ => RootfsBackend::Dir(PathBuf::from(spec)),
        };
        Ok(Rootfs {
            spec: spec.to_string(),
            backend,
        })
    }

    /// The path part of the spec (after `type:`), e.g. the rootfs directory
    /// for `dir:`, the device for `lvm:`, `LOWER:UPPER` for overlay.
    pub fn path(&self) -> &str {
        match self.spec.split_once(':') {
            Some((ty, rest)) if !ty.starts_with('/') => rest,
            _ => &self.spec,
        }
    }
}

/// Execution domain selected by `lxc.arch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    Linux,
    Linux32,
}

/// Maps an `lxc.arch` value to a personality (LXC's table).
pub fn personality(arch: &str) -> Option<Personality> {
    use Personality::*;
    Some(match arch {
        "arm" | "armel" | "armhf" | "armv7l" | "athlon" | "i386" | "i486" | "i586" | "i686"
        | "linux32" | "mips" | "mipsel" | "ppc" | "powerpc" | "x86" => Linux32,
        "aarch64" | "amd64" | "arm64" | "linux64" | "mips64" | "mips64el" | "ppc64" | "ppc64el"
        | "ppc64le" | "powerpc64" | "riscv64" | "s390x" | "x86_64" => Linux,
        _ => return None,
    })
}

/// Checks a MAC address template: six `:`-separated pairs of hex digits or `x`/`X`.
pub(crate) fn is_hwaddr_template(v: &str) -> bool {
    let parts: Vec<&str> = v.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b'x' || b == b'X')
        })
}

/// LXC's `rand_complete_hwaddr`: every `x`/`X` becomes a random hex digit; at
/// index 1 (low nibble of the first octet) only even digits, so the address
/// never becomes multicast.
pub(crate) fn complete_hwaddr(v: &str, rng: &mut dyn FnMut() -> u8) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    v.bytes()
        .enumerate()
        .map(|(i, b)| {
            if b == b'x' || b == b'X' {
                let r = rng();
                let mask = if i == 1 { 0x0e } else { 0x0f };
                HEX[(r & mask) as usize] as char
            } else {
                b as char
            }
        })
        .collect()
}

/// `addr[/prefix][ broadcast]`.
pub(crate) fn check_ipv4_address(v: &str) -> Result<(), String> {
    let (addr, bcast) = match v.split_once(' ') {
        Some((a, b)) => (a, Some(b.trim())),
        None => (v, None),
    };
    let (ip, prefix) = match addr.split_once('/') {
        Some((i, p)) => (i, Some(p)),
        None => (addr, None),
    };
    ip.parse::<Ipv4Addr>()
        .map_err(|_| format!("`{ip}` is not an IPv4 address"))?;
    if let Some(p) = prefix {
        match parse_u32(p) {
            Some(n) if n <= 32 => {}
            _ => return Err(format!("prefix `{p}` is not 0..32")),
        }
    }
    if let Some(b) = bcast {
        b.parse::<Ipv4Addr>()
            .map_err(|_| format!("broadcast `{b}` is not an IPv4 address"))?;
    }
    Ok(())
}

/// `addr[/prefix]`.
pub(crate) fn check_ipv6_address(v: &str) -> Result<(), String> {
    let (ip, prefix) = match v.split_once('/') {
        Some((i, p)) => (i, Some(p)),
        None => (v, None),
    };
    ip.parse::<Ipv6Addr>()
        .map_err(|_| format!("`{ip}` is not an IPv6 address"))?;
    if let Some(p) = prefix {
        match parse_u32(p) {
            Some(n) if n <= 128 => {}
            _ => return Err(format!("prefix `{p}` is not 0..128")),
        }
    }
    Ok(())
}

/// `addr/prefix` with a mandatory prefix (veth routes).
pub(crate) fn check_route(v: &str, v6: bool) -> Result<(), String> {
    let Some((ip, p)) = v.split_once('/') else {
        return Err("route needs `ADDRESS/PREFIX`".into());
    };
    let max = if v6 { 128 } else { 32 };
    match parse_u32(p) {
        Some(n) if n <= max => {}
        _ => return Err(format!("prefix `{p}` is not 0..{max}")),
    }
    let ok = if v6 {
        ip.parse::<Ipv6Addr>().is_ok()
    } else {
        ip.parse::<Ipv4Addr>().is_ok()
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{ip}` is not an IP address"))
    }
}

/// Byte size for the console ring buffer / log: `auto`, `N`, `NKB`, `NMB`, `NGB`;
/// rounded up to a power of two, at least one page (as LXC does).
pub(crate) fn parse_console_size(v: &str) -> Result<u64, String> {
    if v == "auto" {
        return Ok(1 << 17);
    }
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, suffix) = v.split_at(split);
    let n = parse_u64(num).ok_or_else(|| "expected a byte count such as `64KB`".to_string())?;
    let mult: u64 = match suffix.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        s => return Err(format!("unknown size suffix `{s}`")),
    };
    let n = n.checked_mul(mult).ok_or("size overflows")?;
    let n = n.max(4096);
    n.checked_next_power_of_two()
        .ok_or_else(|| "size overflows".into())
}

/// `lxc.time.offset.*`: signed integer and a unit (h, m, s, ms, us, ns).
pub(crate) fn check_time_offset(v: &str) -> Result<(), String> {
    let digits_end = v
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(digits_end);
    num.parse::<i64>()
        .map_err(|_| "expected an integer followed by h, m, s, ms, us or ns".to_string())?;
    match unit.trim() {
        "h" | "m" | "s" | "ms" | "us" | "ns" => Ok(()),
        u => Err(format!("unknown time unit `{u}` (h, m, s, ms, us, ns)")),
    }
}

/// `soft[:hard]`, each a number or `unlimited`.
pub(crate) fn check_prlimit(v: &str) -> Result<(), String> {
    let ok = |s: &str| s.trim() == "unlimited" || parse_u64(s.trim()).is_some();
    let (soft, hard) = match v.split_once(':') {
        Some((s, h)) => (s, Some(h)),
        None => (v, None),
    };
    if !ok(soft) || hard.is_some_and(|h| !ok(h)) {
        return Err("expected `SOFT[:HARD]` with numbers or `unlimited`".into());
    }
    Ok(())
}

pub(crate) const PRLIMIT_RESOURCES: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

pub(crate) const NAMESPACES: &[&str] =
    &["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// LXC log priority: a number 0..8 or a name (`TRACE` … `FATAL`).
pub(crate) fn parse_log_level(v: &str) -> Option<u32> {
    const NAMES: &[&str] = &[
        "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL",
    ];
    if v.as_bytes().first()?.is_ascii_digit() {
        return parse_u32(v).filter(|&n| n <= 8);
    }
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(v))
        .map(|i| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(parse_signal("SIGPWR"), Some(30));
        assert_eq!(parse_signal("PWR"), Some(30));
        assert_eq!(parse_signal("sigkill"), Some(9));
        assert_eq!(parse_signal("9"), Some(9));
        assert_eq!(parse_signal("SIGRTMIN+3"), Some(37));
        assert_eq!(parse_signal("SIGRTMIN+4"), Some(38));
        assert_eq!(parse_signal("SIGRTMAX-1"), Some(63));
        assert_eq!(parse_signal("SIGRTMIN"), Some(34));
        assert_eq!(parse_signal("SIGUSR1"), Some(10));
        assert_eq!(parse_signal("SIGCONT"), Some(18));
        for bad in [
            "",
            "0",
            "65",
            "SIGFOO",
            "SIGRTMIN+31",
            "SIGRTMIN+",
            "-1",
            "9x",
        ] {
            assert_eq!(parse_signal(bad), None, "{bad}");
        }
    }

    #[test]
    fn idmaps() {
        let m = IdMap::parse("u 0 100000 65536").unwrap();
        assert_eq!(
            m,
            IdMap {
                kind: IdKind::Uid,
                nsid: 0,
                hostid: 100000,
                count: 65536
            }
        );
        assert_eq!(m.to_string(), "u 0 100000 65536");
        assert_eq!(IdMap::parse("g\t0  1000 1").unwrap().kind, IdKind::Gid);
        for bad in [
            "x 0 1 1",
            "u 0 1",
            "u 0 1 1 1",
            "u -1 1 1",
            "u 0 1 0",
            "u a 1 1",
            "u 4294967295 0 2",
            "",
        ] {
            assert!(IdMap::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn caps() {
        assert_eq!(cap_number("chown"), Some(0));
        assert_eq!(cap_number("sys_admin"), Some(21));
        assert_eq!(cap_number("checkpoint_restore"), Some(40));
        assert_eq!(cap_number("40"), Some(40));
        assert_eq!(cap_number("41"), None);
        assert_eq!(cap_number("SYS_ADMIN"), None);
        assert_eq!(cap_number("cap_sys_admin"), None);
    }

    #[test]
    fn mount_auto_categories_replace() {
        let mut m = MountAuto::default();
        m.apply("cgroup:mixed proc:mixed sys:mixed").unwrap();
        m.apply("sys:rw").unwrap();
        assert_eq!(m.to_string(), "proc:mixed sys:rw cgroup:mixed");
        m.apply("cgroup2:ro").unwrap();
        assert_eq!(m.cgroup, None);
        assert_eq!(m.to_string(), "proc:mixed sys:rw cgroup2:ro");
        m.apply("cgroup-full:rw:force\tproc").unwrap();
        assert_eq!(m.cgroup2, None);
        assert_eq!(
            m.cgroup,
            Some(CgroupAuto {
                mode: CgroupMode::Rw,
                full: true,
                force: true
            })
        );
        for bad in [
            "cgroup:bogus",
            "proc:ro",
            "sys:",
            "cgroup2:rw",
            "foo",
            "shmounts:",
        ] {
            assert!(MountAuto::default().apply(bad).is_err(), "{bad}");
        }
        let mut m = MountAuto::default();
        m.apply("shmounts:/a").unwrap();
        assert_eq!(m.shmounts, Some(("/a".into(), "/dev/.lxc-mounts".into())));
    }

    #[test]
    fn mount_auto_display_reparses() {
        for v in [
            "proc sys cgroup",
            "cgroup:ro:force",
            "cgroup-full",
            "cgroup2",
            "proc:rw sys:ro",
        ] {
            let mut a = MountAuto::default();
            a.apply(v).unwrap();
            let mut b = MountAuto::default();
            b.apply(&a.to_string()).unwrap();
            assert_eq!(a, b, "{v}");
        }
    }

    #[test]
    fn rootfs_specs() {
        let r = Rootfs::parse("dir:/var/lib/lxc/c1/rootfs").unwrap();
        assert_eq!(
            r.backend,
            RootfsBackend::Dir("/var/lib/lxc/c1/rootfs".into())
        );
        assert_eq!(r.path(), "/var/lib/lxc/c1/rootfs");
        let r = Rootfs::parse("/var/lib/lxc/c1/rootfs").unwrap();
        assert_eq!(
            r.backend,
            RootfsBackend::Dir("/var/lib/lxc/c1/rootfs".into())
        );
        let r = Rootfs::parse("overlay:/a/rootfs:/b/delta0").unwrap();
        assert_eq!(
            r.backend,
            RootfsBackend::Overlay {
                lower: "/a/rootfs".into(),
                upper: "/b/delta0".into()
            }
        );
        assert!(matches!(
            Rootfs::parse("overlayfs:/a:/b").unwrap().backend,
            RootfsBackend::Overlay { .. }
        ));
        assert_eq!(
            Rootfs::parse("btrfs:/x").unwrap().backend,
            RootfsBackend::Other("btrfs".into())
        );
        assert!(Rootfs::parse("overlay:/only").is_err());
        assert_eq!(
            Rootfs::parse("/odd:path").unwrap().backend,
            RootfsBackend::Dir("/odd:path".into())
        );
    }

    #[test]
    fn hwaddr_templates() {
        assert!(is_hwaddr_template("00:16:3e:xx:xx:xx"));
        assert!(is_hwaddr_template("0X:16:3E:aB:xx:01"));
        for bad in [
            "00:16:3e:xx:xx",
            "00:16:3e:xx:xx:xg",
            "0016.3exx.xxxx",
            "00:16:3e:x:xx:xxx",
        ] {
            assert!(!is_hwaddr_template(bad), "{bad}");
        }
    }

    #[test]
    fn hwaddr_second_char_is_even() {
        // An rng that always returns 0xff would give `f` (odd) without the mask.
        let mut rng = || 0xffu8;
        assert_eq!(
            complete_hwaddr("xx:xx:xx:xx:xx:xx", &mut rng),
            "fe:ff:ff:ff:ff:ff"
        );
        let mut rng = || 0xffu8;
        assert_eq!(
            complete_hwaddr("00:16:3e:xx:Xx:xx", &mut rng),
            "00:16:3e:ff:ff:ff"
        );
        let mut n = 0u8;
        let mut counter = move || {
            n = n.wrapping_add(1);
            n
        };
        for _ in 0..64 {
            let mac = complete_hwaddr("xx:xx:xx:xx:xx:xx", &mut counter);
            let second = mac.as_bytes()[1];
            assert!(b"02468ace".contains(&second), "{mac}");
        }
    }

    #[test]
    fn addresses() {
        assert!(check_ipv4_address("10.0.3.5/24").is_ok());
        assert!(check_ipv4_address("10.0.3.5/24 10.0.3.255").is_ok());
        assert!(check_ipv4_address("10.0.3.5").is_ok());
        assert!(check_ipv4_address("10.0.3.5/33").is_err());
        assert!(check_ipv4_address("10.0.3/24").is_err());
        assert!(check_ipv6_address("fd00::5/64").is_ok());
        assert!(check_ipv6_address("fd00::5/129").is_err());
        assert!(check_route("10.0.0.0/8", false).is_ok());
        assert!(check_route("10.0.0.0", false).is_err());
    }

    #[test]
    fn sizes_and_offsets() {
        assert_eq!(parse_console_size("auto"), Ok(131072));
        assert_eq!(parse_console_size("1"), Ok(4096));
        assert_eq!(parse_console_size("5000"), Ok(8192));
        assert_eq!(parse_console_size("64KB"), Ok(65536));
        assert_eq!(parse_console_size("1MB"), Ok(1 << 20));
        assert!(parse_console_size("1TB").is_err());
        assert!(check_time_offset("-10s").is_ok());
        assert!(check_time_offset("5 ms").is_ok());
        assert!(check_time_offset("5d").is_err());
        assert!(check_prlimit("1024").is_ok());
        assert!(check_prlimit("1024:unlimited").is_ok());
        assert!(check_prlimit("lots").is_err());
        assert_eq!(parse_log_level("error"), Some(5));
        assert_eq!(parse_log_level("8"), Some(8));
        assert_eq!(parse_log_level("9"), None);
    }

    #[test]
    fn personalities() {
        assert_eq!(personality("amd64"), Some(Personality::Linux));
        assert_eq!(personality("i686"), Some(Personality::Linux32));
        assert_eq!(personality("sparc"), None);
    }
}
