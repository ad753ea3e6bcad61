//! Value syntaxes shared by several keys: numbers, signals, capabilities,
//! sizes, time offsets, resource limits, architectures.

/// First real-time signal as glibc reports it (two are reserved for NPTL).
pub const SIGRTMIN: i32 = 34;
pub(crate) const SIGRTMAX: i32 = 64;

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
pub(crate) fn parse_signal(s: &str) -> Option<i32> {
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
pub(crate) const CAPABILITIES: &[&str] = &[
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

/// Kernel number of a capability as written in `lxc.cap.*`: a lower-case name
/// without `cap_` (`sys_admin`), or a plain number up to the last capability
/// the kernel knows (`checkpoint_restore`, 40).
pub fn cap_number(name: &str) -> Option<u32> {
    if let Some(i) = CAPABILITIES.iter().position(|c| *c == name) {
        return Some(i as u32);
    }
    parse_u32(name).filter(|&n| (n as usize) < CAPABILITIES.len())
}

/// Execution domain selected by `lxc.arch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Personality {
    Linux,
    Linux32,
}

/// Maps an `lxc.arch` value to a personality (LXC's table).
pub(crate) fn personality(arch: &str) -> Option<Personality> {
    use Personality::*;
    Some(match arch {
        "arm" | "armel" | "armhf" | "armv7l" | "athlon" | "i386" | "i486" | "i586" | "i686"
        | "linux32" | "mips" | "mipsel" | "ppc" | "powerpc" | "x86" => Linux32,
        "aarch64" | "amd64" | "arm64" | "linux64" | "mips64" | "mips64el" | "ppc64" | "ppc64el"
        | "ppc64le" | "powerpc64" | "riscv64" | "s390x" | "x86_64" => Linux,
        _ => return None,
    })
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
