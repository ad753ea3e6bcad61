//! `lxu net`: the host bridge with DHCP for containers.

use anyhow::{anyhow, bail, Context as _, Result};
use lxu_net::bridge::{self, BridgeConfig, Ipv6Setting};

use crate::args::{NetAction, NetArgs};

pub fn run(a: NetArgs) -> Result<i32> {
    if !rustix::process::geteuid().is_root() {
        bail!("lxu net changes the host's network: run it as root");
    }
    let report = match a.action {
        NetAction::Setup(s) => {
            let mut cfg = BridgeConfig {
                name: s.bridge.clone(),
                ipv4: Some(s.ipv4.parse().context("--ipv4")?),
                nat: s.nat,
                ..BridgeConfig::default()
            };
            cfg.ipv6 = match s.ipv6.as_str() {
                "auto" => Ipv6Setting::Auto,
                "off" | "none" => Ipv6Setting::Off,
                v => Ipv6Setting::Fixed(v.parse().context("--ipv6")?),
            };
            if let Some(r) = &s.dhcp_range {
                let (a, b) = r
                    .split_once(',')
                    .ok_or_else(|| anyhow!("--dhcp-range: expected FIRST,LAST"))?;
                cfg.dhcp_range = Some((
                    a.trim()
                        .parse()
                        .map_err(|_| anyhow!("--dhcp-range: bad address `{a}`"))?,
                    b.trim()
                        .parse()
                        .map_err(|_| anyhow!("--dhcp-range: bad address `{b}`"))?,
                ));
            }
            if s.no_dhcp {
                cfg.dnsmasq = None;
            }
            bridge::setup(&cfg)?
        }
        NetAction::Teardown(t) => {
            let cfg = BridgeConfig {
                name: t.bridge.clone(),
                ..BridgeConfig::default()
            };
            bridge::teardown(&cfg, t.force)?
        }
    };
    if report.changes.is_empty() {
        println!("nothing to change");
    }
    for c in &report.changes {
        println!("{c}");
    }
    for k in &report.kept {
        println!("kept: {k}");
    }
    Ok(0)
}
