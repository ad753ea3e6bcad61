//! `lxu net setup` / `lxu net teardown`: the host bridge with DHCP and DNS,
//! what LXC's `lxc-net` script does for `lxcbr0`.
//!
//! Setup is idempotent: each step first looks at what is there and only acts
//! on a difference, and the report lists what changed (empty on a rerun).
//! NAT is off unless asked for, so by default the host's firewall is never
//! touched.

use std::fmt;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;

use crate::dnsmasq;
use crate::ifname;
use crate::link::{Address, LinkError};
use crate::netlink::Netlink;

/// Where setup keeps pid, lease and marker files.
pub(crate) const STATE_DIR: &str = "/run/lxu/net";

/// An address with its prefix length, e.g. `10.0.3.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr<A> {
    pub addr: A,
    pub prefix: u8,
}

pub type Ipv4Cidr = Cidr<Ipv4Addr>;
pub type Ipv6Cidr = Cidr<Ipv6Addr>;

impl<A: fmt::Display> fmt::Display for Cidr<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

macro_rules! cidr_from_str {
    ($addr:ty, $max:expr) => {
        impl FromStr for Cidr<$addr> {
            type Err = BridgeError;
            fn from_str(s: &str) -> Result<Self, BridgeError> {
                let bad = || BridgeError::BadCidr(s.to_string());
                let (a, p) = s.split_once('/').ok_or_else(bad)?;
                let addr = a.parse::<$addr>().map_err(|_| bad())?;
                let prefix = p.parse::<u8>().map_err(|_| bad())?;
                if prefix > $max || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                Ok(Cidr { addr, prefix })
            }
        }
    };
}
cidr_from_str!(Ipv4Addr, 32);
cidr_from_str!(Ipv6Addr, 128);

impl Ipv4Cidr {
    fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }
    /// Network address, e.g. 10.0.3.0 for 10.0.3.1/24.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }
    /// First and last usable host after the bridge's own address range:
    /// network+2 .. broadcast-1, as lxc-net's 10.0.3.2,10.0.3.254.
    pub fn default_dhcp_range(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        if self.prefix > 29 {
            return None;
        }
        let net = u32::from(self.network());
        let bcast = net | !self.mask();
        Some((Ipv4Addr::from(net + 2), Ipv4Addr::from(bcast - 1)))
    }
}

/// How the bridge gets its IPv6 ULA prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv6Setting {
    /// None at all.
    Off,
    /// A random `fdXX:XXXX:XXXX::1/64` (RFC 4193), chosen once and kept in
    /// the state dir (or reused from the bridge if it already has one).
    Auto,
    Fixed(Ipv6Cidr),
}

/// Everything `lxu net setup` can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    pub name: String,
    pub ipv4: Option<Ipv4Cidr>,
    /// DHCP range; default network+2 .. broadcast-1.
    pub dhcp_range: Option<(Ipv4Addr, Ipv4Addr)>,
    /// `--dhcp-lease-max`; default: size of the range.
    pub dhcp_max: Option<u32>,
    pub ipv6: Ipv6Setting,
    /// Fixed bridge MAC so the host side keeps one address however ports
    /// come and go (lxc-net uses 00:16:3e:00:00:00).
    pub mac: Option<[u8; 6]>,
    /// Masquerade the IPv4 subnet and enable forwarding (nftables).
    pub nat: bool,
    /// DNS domain served by dnsmasq (`-s`, `-S /domain/`).
    pub domain: Option<String>,
    /// dnsmasq binary; `None` runs no DHCP/DNS.
    pub dnsmasq: Option<PathBuf>,
    /// User dnsmasq drops to; default: the first of `lxc-dnsmasq`,
    /// `dnsmasq`, `nobody` that exists.
    pub dnsmasq_user: Option<String>,
    pub state_dir: PathBuf,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            name: "lxcbr0".to_string(),
            ipv4: Some(Cidr {
                addr: Ipv4Addr::new(10, 0, 3, 1),
                prefix: 24,
            }),
            dhcp_range: None,
            dhcp_max: None,
            ipv6: Ipv6Setting::Auto,
            mac: Some([0x00, 0x16, 0x3e, 0x00, 0x00, 0x00]),
            nat: false,
            domain: None,
            dnsmasq: Some(PathBuf::from("/usr/sbin/dnsmasq")),
            dnsmasq_user: None,
            state_dir: PathBuf::from(STATE_DIR),
        }
    }
}

/// What setup or teardown changed; empty when there was nothing to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub changes: Vec<String>,
    /// Things deliberately left alone (e.g. a bridge with ports at teardown).
    pub kept: Vec<String>,
}

/// Errors of bridge setup and teardown.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("invalid address/prefix `{0}`")]
    BadCidr(String),
    #[error("invalid bridge configuration: invalid bridge name `{}`", .0.escape_debug())]
    BadName(String),
    #[error("invalid bridge configuration: dhcp range {lo}..{hi} is not inside {net}")]
    DhcpOutside {
        lo: Ipv4Addr,
        hi: Ipv4Addr,
        net: Ipv4Cidr,
    },
    #[error("invalid bridge configuration: invalid domain `{}`", .0.escape_debug())]
    BadDomain(String),
    #[error("invalid bridge configuration: nat needs an IPv4 address")]
    NatWithoutIpv4,
    #[error("`{0}` exists but is not a bridge")]
    NotABridge(String),
    #[error("cannot access `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot run `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("`{program}` failed ({status}): {stderr}")]
    Command {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("`{}` {reason}: the state directory and those above it must be root's alone", path.display())]
    UnsafeDir { path: PathBuf, reason: String },
    #[error("dnsmasq (pid {pid}) did not exit within 5 s of SIGTERM")]
    DnsmasqStuck { pid: i32 },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BridgeError + '_ {
    move |source| BridgeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl BridgeConfig {
    fn validate(&self) -> Result<(), BridgeError> {
        if !ifname::is_valid(&self.name) {
            return Err(BridgeError::BadName(self.name.clone()));
        }
        if let (Some(v4), Some((lo, hi))) = (self.ipv4, self.dhcp_range) {
            if !v4.contains(lo) || !v4.contains(hi) || u32::from(lo) > u32::from(hi) {
                return Err(BridgeError::DhcpOutside { lo, hi, net: v4 });
            }
        }
        if let Some(d) = &self.domain {
            if d.is_empty()
                || !d
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            {
                return Err(BridgeError::BadDomain(d.clone()));
            }
        }
        Ok(())
    }

    pub(crate) fn pid_file(&self) -> PathBuf {
        self.state_dir.join(format!("dnsmasq.{}.pid", self.name))
    }
    fn lease_file(&self) -> PathBuf {
        self.state_dir.join(format!("dnsmasq.{}.leases", self.name))
    }
    fn ula_file(&self) -> PathBuf {
        self.state_dir.join(format!("{}.ula", self.name))
    }
    fn nat_marker(&self) -> PathBuf {
        self.state_dir.join(format!("{}.nat", self.name))
    }
    fn nft_table(&self) -> String {
        // nft identifiers allow [a-zA-Z0-9_]; map anything else to '_'.
        let safe: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("lxu_{safe}")
    }
}

/// Brings the bridge to the configured state, as root, in the calling
/// thread's network namespace.
pub fn setup(cfg: &BridgeConfig) -> Result<Report, BridgeError> {
    cfg.validate()?;
    let mut report = Report::default();
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&cfg.state_dir)
        .map_err(io_err(&cfg.state_dir))?;
    check_state_dir(&cfg.state_dir)?;

    let mut nl = Netlink::open().map_err(LinkError::from)?;
    let br = match nl.link_by_name(&cfg.name)? {
        Some(l) if l.kind.as_deref() == Some("bridge") => l,
        Some(_) => return Err(BridgeError::NotABridge(cfg.name.clone())),
        None => {
            let l = nl.create_bridge(&cfg.name, cfg.mac)?;
            report.changes.push(format!("created bridge {}", cfg.name));
            l
        }
    };
    if let Some(mac) = cfg.mac {
        if br.mac != Some(mac) {
            nl.set_mac(br.index, mac)?;
            report.changes.push(format!(
                "set MAC of {} to {}",
                cfg.name,
                ifname::format_mac(&mac)
            ));
        }
    }

    let have: Vec<Address> = nl
        .addresses()?
        .into_iter()
        .filter(|a| a.index == br.index)
        .collect();
    let has = |ip: IpAddr, prefix: u8| have.iter().any(|a| a.addr == ip && a.prefix == prefix);
    if let Some(v4) = cfg.ipv4 {
        if !has(IpAddr::V4(v4.addr), v4.prefix) {
            nl.add_address(br.index, IpAddr::V4(v4.addr), v4.prefix, false)?;
            report.changes.push(format!("added {v4} to {}", cfg.name));
        }
    }
    let ipv6 = resolve_ipv6(cfg, &have)?;
    if let Some(v6) = ipv6 {
        if !has(IpAddr::V6(v6.addr), v6.prefix) {
            nl.add_address(br.index, IpAddr::V6(v6.addr), v6.prefix, true)?;
            report.changes.push(format!("added {v6} to {}", cfg.name));
        }
    }
    if !br.up {
        nl.set_up(br.index, true)?;
        report.changes.push(format!("set {} up", cfg.name));
    }

    if cfg.nat {
        setup_nat(cfg, &mut report)?;
    }
    if let Some(dnsmasq) = &cfg.dnsmasq {
        if dnsmasq::ensure(cfg, dnsmasq, &dnsmasq_args(cfg, ipv6), &mut report)? {
            start_dnsmasq(cfg, dnsmasq, ipv6)?;
            report
                .changes
                .push(format!("started dnsmasq for {}", cfg.name));
        }
    }
    Ok(report)
}

/// Stops dnsmasq, removes NAT added by setup, and deletes the bridge. A
/// bridge that still has ports (running containers) is kept unless `force`.
pub fn teardown(cfg: &BridgeConfig, force: bool) -> Result<Report, BridgeError> {
    cfg.validate()?;
    let mut report = Report::default();
    if cfg.state_dir.exists() {
        check_state_dir(&cfg.state_dir)?;
    }
    let program = cfg.dnsmasq.clone().unwrap_or_default();
    if let Some(pid) = dnsmasq::running(cfg).or_else(|| dnsmasq::orphan(cfg, &program).map(|o| o.0))
    {
        dnsmasq::stop(pid)?;
        report.changes.push(format!("stopped dnsmasq (pid {pid})"));
    }
    remove_if_exists(&cfg.pid_file())?;

    let marker = cfg.nat_marker();
    if marker.exists() {
        teardown_nat(cfg, &marker)?;
        report
            .changes
            .push(format!("removed NAT table {}", cfg.nft_table()));
    }

    let mut nl = Netlink::open().map_err(LinkError::from)?;
    if let Some(br) = nl.link_by_name(&cfg.name)? {
        if br.kind.as_deref() != Some("bridge") {
            return Err(BridgeError::NotABridge(cfg.name.clone()));
        }
        let ports: Vec<String> = nl
            .links()?
            .into_iter()
            .filter(|l| l.master == Some(br.index))
            .map(|l| l.name)
            .collect();
        if ports.is_empty() || force {
            nl.delete_link(br.index)?;
            report.changes.push(format!("deleted bridge {}", cfg.name));
        } else {
            report.kept.push(format!(
                "bridge {} kept: ports {} still attached",
                cfg.name,
                ports.join(", ")
            ));
        }
    }
    Ok(report)
}

/// Root writes pid, lease, ULA and NAT marker files in the state directory by name and
/// trusts what it reads back there (teardown stops the pid it finds, restores the
/// forwarding setting it finds). That is safe only if no one else can create, rename
/// or replace names in it or above it: each directory up to `/` must be a directory
/// (not a link) owned by root and writable by no group or other user; above the state
/// directory itself a sticky one (`/tmp`) will do, since there others cannot rename or
/// remove what root made.
fn check_state_dir(dir: &Path) -> Result<(), BridgeError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let mut d = Some(dir);
    while let Some(p) = d {
        let m = fs::symlink_metadata(p).map_err(io_err(p))?;
        let bad = |reason: String| BridgeError::UnsafeDir {
            path: p.to_path_buf(),
            reason,
        };
        if !m.is_dir() {
            return Err(bad("is not a directory".into()));
        }
        if m.uid() != 0 {
            return Err(bad(format!("belongs to uid {}", m.uid())));
        }
        let sticky_above = p != dir && m.permissions().mode() & 0o1000 != 0;
        if m.permissions().mode() & 0o022 != 0 && !sticky_above {
            return Err(bad(format!(
                "is writable by others (mode {:o})",
                m.permissions().mode() & 0o7777
            )));
        }
        d = p.parent().filter(|q| !q.as_os_str().is_empty());
    }
    Ok(())
}

fn remove_if_exists(path: &Path) -> Result<(), BridgeError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn is_ula(ip: &Ipv6Addr) -> bool {
    ip.segments()[0] & 0xfe00 == 0xfc00
}

fn resolve_ipv6(cfg: &BridgeConfig, have: &[Address]) -> Result<Option<Ipv6Cidr>, BridgeError> {
    match &cfg.ipv6 {
        Ipv6Setting::Off => Ok(None),
        Ipv6Setting::Fixed(c) => Ok(Some(*c)),
        Ipv6Setting::Auto => {
            let path = cfg.ula_file();
            match fs::read_to_string(&path) {
                Ok(s) => return s.trim().parse().map(Some),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
            // The file is gone (a lost /run) but the bridge keeps its prefix: the one
            // setup added ends in ::1; the bridge may also have derived others from it.
            let ulas: Vec<Ipv6Addr> = have
                .iter()
                .filter_map(|a| match a.addr {
                    IpAddr::V6(v6) if is_ula(&v6) && a.prefix == 64 => Some(v6),
                    _ => None,
                })
                .collect();
            let existing = ulas
                .iter()
                .find(|v6| v6.segments()[4..] == [0, 0, 0, 1])
                .or(ulas.first())
                .map(|&addr| Cidr { addr, prefix: 64 });
            let cidr = match existing {
                Some(c) => c,
                None => random_ula().map_err(io_err(&path))?,
            };
            fs::write(&path, format!("{cidr}\n")).map_err(io_err(&path))?;
            Ok(Some(cidr))
        }
    }
}

/// `fdXX:XXXX:XXXX::1/64` with a random 40-bit global ID and subnet 0.
fn random_ula() -> io::Result<Ipv6Cidr> {
    let mac = ifname::random_mac(None)?; // six random bytes; use five
    let g = [mac[1], mac[2], mac[3], mac[4], mac[5]];
    let addr = Ipv6Addr::new(
        0xfd00 | u16::from(g[0]),
        u16::from_be_bytes([g[1], g[2]]),
        u16::from_be_bytes([g[3], g[4]]),
        0,
        0,
        0,
        0,
        1,
    );
    Ok(Cidr { addr, prefix: 64 })
}

pub(crate) fn pick_dnsmasq_user(cfg: &BridgeConfig) -> String {
    if let Some(u) = &cfg.dnsmasq_user {
        return u.clone();
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let exists = |name: &str| passwd.lines().any(|l| l.split(':').next() == Some(name));
    ["lxc-dnsmasq", "dnsmasq", "nobody"]
        .into_iter()
        .find(|u| exists(u))
        .unwrap_or("nobody")
        .to_string()
}

/// The dnsmasq command line, as lxc-net builds it, plus RA and stateless
/// DHCPv6 for the ULA prefix.
pub(crate) fn dnsmasq_args(cfg: &BridgeConfig, ipv6: Option<Ipv6Cidr>) -> Vec<String> {
    let mut a = vec![
        "--conf-file=/dev/null".to_string(),
        "-u".to_string(),
        pick_dnsmasq_user(cfg),
        "--strict-order".to_string(),
        "--bind-interfaces".to_string(),
        format!("--pid-file={}", cfg.pid_file().display()),
    ];
    if let Some(d) = &cfg.domain {
        a.extend([
            "-s".to_string(),
            d.clone(),
            "-S".to_string(),
            format!("/{d}/"),
        ]);
    }
    if let Some(v4) = cfg.ipv4 {
        a.extend(["--listen-address".to_string(), v4.addr.to_string()]);
        if let Some((lo, hi)) = cfg.dhcp_range.or_else(|| v4.default_dhcp_range()) {
            let size = u32::from(hi) - u32::from(lo) + 1;
            a.extend([
                "--dhcp-range".to_string(),
                format!("{lo},{hi}"),
                format!("--dhcp-lease-max={}", cfg.dhcp_max.unwrap_or(size)),
            ]);
        }
    }
    a.extend([
        "--dhcp-no-override".to_string(),
        "--except-interface=lo".to_string(),
        format!("--interface={}", cfg.name),
        format!("--dhcp-leasefile={}", cfg.lease_file().display()),
        "--dhcp-authoritative".to_string(),
        // dnsmasq pings an address before offering it and serves nobody else for those
        // ~3 s; on a bridge only containers use, that just delays every container's
        // first lease (two starting together waited ~26 s).
        "--no-ping".to_string(),
    ]);
    if let Some(v6) = ipv6 {
        a.extend([
            "--listen-address".to_string(),
            v6.addr.to_string(),
            "--enable-ra".to_string(),
            format!(
                "--dhcp-range=::,constructor:{},ra-stateless,ra-names",
                cfg.name
            ),
        ]);
    }
    a
}

fn start_dnsmasq(
    cfg: &BridgeConfig,
    program: &Path,
    ipv6: Option<Ipv6Cidr>,
) -> Result<(), BridgeError> {
    let out = Command::new(program)
        .args(dnsmasq_args(cfg, ipv6))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| BridgeError::Spawn {
            program: program.display().to_string(),
            source: e,
        })?;
    // dnsmasq daemonises and its parent exits only once the daemon has
    // bound its sockets, so a zero status means it is serving.
    if !out.status.success() {
        return Err(BridgeError::Command {
            program: program.display().to_string(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

fn run(program: &str, args: &[&str]) -> Result<String, BridgeError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BridgeError::Spawn {
            program: program.to_string(),
            source: e,
        })?;
    if !out.status.success() {
        return Err(BridgeError::Command {
            program: format!("{program} {}", args.join(" ")),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

fn setup_nat(cfg: &BridgeConfig, report: &mut Report) -> Result<(), BridgeError> {
    let Some(v4) = cfg.ipv4 else {
        return Err(BridgeError::NatWithoutIpv4);
    };
    let marker = cfg.nat_marker();
    let table = cfg.nft_table();
    if !marker.exists() {
        // Remember the forwarding setting we found, to restore it at teardown.
        let before = fs::read_to_string(IP_FORWARD).map_err(io_err(Path::new(IP_FORWARD)))?;
        fs::write(&marker, format!("ip_forward={}\n", before.trim())).map_err(io_err(&marker))?;
    }
    if fs::read_to_string(IP_FORWARD)
        .map_err(io_err(Path::new(IP_FORWARD)))?
        .trim()
        != "1"
    {
        fs::write(IP_FORWARD, "1\n").map_err(io_err(Path::new(IP_FORWARD)))?;
        report.changes.push("enabled IPv4 forwarding".to_string());
    }
    if run("nft", &["list", "table", "ip", &table]).is_err() {
        let net = Cidr {
            addr: v4.network(),
            prefix: v4.prefix,
        };
        let script = format!(
            "add table ip {table}; \
             add chain ip {table} postrouting {{ type nat hook postrouting priority 100; }}; \
             add rule ip {table} postrouting ip saddr {net} ip daddr != {net} counter masquerade"
        );
        run("nft", &[&script])?;
        report
            .changes
            .push(format!("added NAT table {table} for {net}"));
    }
    Ok(())
}

fn teardown_nat(cfg: &BridgeConfig, marker: &Path) -> Result<(), BridgeError> {
    let table = cfg.nft_table();
    if run("nft", &["list", "table", "ip", &table]).is_ok() {
        run("nft", &["delete", "table", "ip", &table])?;
    }
    let saved = fs::read_to_string(marker).map_err(io_err(marker))?;
    if let Some(v) = saved.trim().strip_prefix("ip_forward=") {
        if v == "0" {
            fs::write(IP_FORWARD, "0\n").map_err(io_err(Path::new(IP_FORWARD)))?;
        }
    }
    remove_if_exists(marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 16: with the state directory lost, the ULA prefix comes back from the bridge:
    /// the address setup added (::1), not one the bridge derived from it, so that the
    /// running dnsmasq's command line still matches and it is adopted, not restarted.
    #[test]
    fn a_lost_ula_file_is_recovered_from_the_bridges_own_address() {
        let t = tempfile::tempdir().unwrap();
        let cfg = BridgeConfig {
            state_dir: t.path().to_path_buf(),
            ..BridgeConfig::default()
        };
        let addr = |s: &str| Address {
            index: 3,
            addr: s.parse().unwrap(),
            prefix: 64,
            global: true,
        };
        let have = [
            addr("fdc4:cd09:9359:0:216:3eff:fe00:0"),
            addr("fdc4:cd09:9359::1"),
        ];
        let got = resolve_ipv6(&cfg, &have).unwrap().unwrap();
        assert_eq!(got.to_string(), "fdc4:cd09:9359::1/64");
        assert_eq!(
            fs::read_to_string(t.path().join("lxcbr0.ula")).unwrap(),
            "fdc4:cd09:9359::1/64\n"
        );
    }

    #[test]
    fn cidr_parsing_and_ranges() {
        let c: Ipv4Cidr = "10.0.3.1/24".parse().unwrap();
        assert_eq!(c.network(), Ipv4Addr::new(10, 0, 3, 0));
        assert_eq!(
            c.default_dhcp_range(),
            Some((Ipv4Addr::new(10, 0, 3, 2), Ipv4Addr::new(10, 0, 3, 254)))
        );
        assert!(c.contains(Ipv4Addr::new(10, 0, 3, 200)));
        assert!(!c.contains(Ipv4Addr::new(10, 0, 4, 1)));
        for bad in [
            "10.0.3.1",
            "10.0.3.1/33",
            "10.0.3.1/+4",
            "x/24",
            "10.0.3.1/",
        ] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
        let v6: Ipv6Cidr = "fd12:3456:789a::1/64".parse().unwrap();
        assert_eq!(v6.to_string(), "fd12:3456:789a::1/64");
        assert!("fd00::1/129".parse::<Ipv6Cidr>().is_err());
    }

    #[test]
    fn a_state_dir_others_can_write_or_own_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root (ownership checks apply to root only)");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("net");
        fs::create_dir(&d).unwrap();
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        check_state_dir(&d).unwrap();
        // A sticky, world-writable directory above it (/tmp itself) is fine, but not
        // as the state directory, nor a plain world-writable one above it.
        fs::set_permissions(&d, fs::Permissions::from_mode(0o1777)).unwrap();
        let e = check_state_dir(&d).unwrap_err().to_string();
        assert!(
            e.contains(&d.display().to_string()) && e.contains("1777"),
            "{e}"
        );
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_state_dir(&d).unwrap_err().to_string();
        assert!(e.contains("writable by others"), "{e}");
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&d, Some(65534), None).unwrap();
        let e = check_state_dir(&d).unwrap_err().to_string();
        assert!(e.contains("belongs to uid 65534"), "{e}");
        // A link in place of the directory is not followed.
        fs::remove_dir(&d).unwrap();
        std::os::unix::fs::symlink("/run", &d).unwrap();
        let e = check_state_dir(&d).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
    }

    #[test]
    fn random_ula_is_a_ula_64() {
        let a = random_ula().unwrap();
        assert!(is_ula(&a.addr));
        assert_eq!(a.prefix, 64);
        assert_eq!(a.addr.segments()[0] >> 8, 0xfd);
        assert_eq!(a.addr.segments()[7], 1);
    }

    #[test]
    fn dnsmasq_command_line_matches_lxc_net() {
        let cfg = BridgeConfig {
            state_dir: PathBuf::from("/run/lxu/net"),
            dnsmasq_user: Some("dnsmasq".to_string()),
            ..BridgeConfig::default()
        };
        let args = dnsmasq_args(&cfg, Some("fd01:2:3::1/64".parse().unwrap()));
        let joined = args.join(" ");
        for want in [
            "--conf-file=/dev/null -u dnsmasq --strict-order --bind-interfaces",
            "--pid-file=/run/lxu/net/dnsmasq.lxcbr0.pid",
            "--listen-address 10.0.3.1 --dhcp-range 10.0.3.2,10.0.3.254 --dhcp-lease-max=253",
            "--dhcp-no-override --except-interface=lo --interface=lxcbr0",
            "--dhcp-leasefile=/run/lxu/net/dnsmasq.lxcbr0.leases --dhcp-authoritative --no-ping",
            "--listen-address fd01:2:3::1 --enable-ra --dhcp-range=::,constructor:lxcbr0,ra-stateless",
        ] {
            assert!(joined.contains(want), "missing {want:?} in {joined}");
        }
    }

    #[test]
    fn config_validation() {
        let mut cfg = BridgeConfig {
            name: "br 0".to_string(),
            ..BridgeConfig::default()
        };
        assert!(cfg.validate().is_err());
        cfg.name = "lxcbr0".to_string();
        cfg.dhcp_range = Some((Ipv4Addr::new(10, 0, 4, 2), Ipv4Addr::new(10, 0, 4, 9)));
        assert!(cfg.validate().is_err());
        cfg.dhcp_range = None;
        cfg.domain = Some("lxc; rm -rf".to_string());
        assert!(cfg.validate().is_err());
        cfg.domain = Some("lxc.example".to_string());
        assert!(cfg.validate().is_ok());
        assert_eq!(cfg.nft_table(), "lxu_lxcbr0");
    }
}
