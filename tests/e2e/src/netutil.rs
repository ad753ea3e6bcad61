//! Containers on the host bridge (`lxu net setup`'s lxcbr0 with DHCP), and what the host
//! sees of their veth devices.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::lab::Lab;

/// The bridge `lxu net setup` makes and `lxu setup-user` allows.
pub const BRIDGE: &str = "lxcbr0";
/// Its IPv4 address (the containers' gateway and DHCP server).
pub const BRIDGE_IP: &str = "10.0.3.1";

/// Writes a `-f` file giving a container a veth on `link` (the same lines setup-user puts
/// in default.conf, so the tests do not depend on how old the user's default.conf is).
pub fn veth_conf(lab: &Lab, link: &str) -> PathBuf {
    lab.write(
        &format!("veth-{link}.conf"),
        &format!(
            "lxc.net.0.type = veth\nlxc.net.0.link = {link}\nlxc.net.0.flags = up\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n"
        ),
    )
}

/// Whether the host has `lxcbr0` with its address: skips (or fails under
/// `LXU_MUST_WORK=1`) otherwise.
#[track_caller]
pub fn bridge_ready() -> bool {
    let up = Path::new("/sys/class/net")
        .join(BRIDGE)
        .join("bridge")
        .is_dir();
    crate::need(
        up,
        format!("no bridge {BRIDGE} on this host (run `lxu net setup` as root)"),
    )
}

static NET: Mutex<()> = Mutex::new(());

/// The network tests of one test binary take turns: they count the user's host veths, and
/// the user's veth allowance on lxcbr0 is shared.
pub fn serial() -> MutexGuard<'static, ()> {
    NET.lock().unwrap_or_else(|p| p.into_inner())
}

/// A lab, if the bridge exists.
#[track_caller]
pub fn lab() -> Option<Lab> {
    let lab = Lab::new()?;
    bridge_ready().then_some(lab)
}

/// Network devices of the host (our network namespace).
pub fn host_links() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// The ports of bridge `br`.
pub fn bridge_ports(br: &str) -> Vec<String> {
    std::fs::read_dir(Path::new("/sys/class/net").join(br).join("brif"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The host veth devices named for `uid` (`veth<uid>_XXXX`).
pub fn user_veths(uid: u32) -> Vec<String> {
    let prefix = format!("veth{uid}_");
    let mut v: Vec<String> = host_links()
        .into_iter()
        .filter(|l| l.starts_with(&prefix))
        .collect();
    v.sort();
    v
}

/// `lxu info -i -H`: the container's addresses.
#[track_caller]
pub fn ips(lab: &Lab, name: &str) -> Vec<String> {
    let out = lab.lxu(&["info", "-n", name, "-i", "-H"]);
    out.success();
    out.lines().iter().map(|l| l.trim().to_string()).collect()
}

/// Polls until the container has an address for which `want` holds; returns it, or
/// `None` after `timeout`.
pub fn wait_ip(
    lab: &Lab,
    name: &str,
    timeout: Duration,
    want: impl Fn(&str) -> bool,
) -> Option<String> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(ip) = ips(lab, name).into_iter().find(|a| want(a)) {
            return Some(ip);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An address from lxcbr0's DHCP range.
pub fn is_bridge_v4(a: &str) -> bool {
    a.starts_with("10.0.3.") && a != BRIDGE_IP
}

/// An IPv6 unique local address (lxcbr0's prefix is a ULA).
pub fn is_ula(a: &str) -> bool {
    a.starts_with("fd") && a.contains(':')
}

/// The host-side device names from `lxu info -S` (`Link:` lines).
#[track_caller]
pub fn host_links_of(lab: &Lab, name: &str) -> Vec<String> {
    let out = lab.lxu(&["info", "-n", name, "-S"]);
    out.success();
    out.lines()
        .iter()
        .filter_map(|l| l.strip_prefix("Link:"))
        .map(|v| v.trim().to_string())
        .collect()
}
