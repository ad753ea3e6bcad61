//! Evaluating network keys: interfaces opened by `type` lines, 1.0 sections.

use super::{Config, Ctx};
use crate::error::{ConfigError, Location};
use crate::keys::{Assign, NetApply, NetKey, NetTarget, NET_PREFIX};
use crate::net::{NetType, Network};

impl Config {
    /// The interface a key addresses, if it exists yet.
    fn net_index(&self, target: NetTarget) -> Option<u32> {
        match target {
            NetTarget::Index(n) => Some(n),
            NetTarget::Last => self.state.last_net,
            NetTarget::LegacyOrdinal(k) => self.state.legacy_nets.get(k as usize).copied(),
            NetTarget::All => None,
        }
    }

    /// [`Config::get_item`] of a network key.
    pub(super) fn net_item(&self, target: NetTarget, sub: Option<&NetKey>) -> String {
        if target == NetTarget::All && sub.is_none() {
            let v: Vec<&str> = self.networks.iter().map(|n| n.kind.as_str()).collect();
            return v.join("\n");
        }
        let Some(n) = self.net_index(target) else {
            return String::new();
        };
        if let Some(s) = sub {
            return self.recorded(&format!("{NET_PREFIX}.{n}.{}", s.name));
        }
        // Like `lxc_list_net`: the subkeys that are set.
        let prefix = format!("{NET_PREFIX}.{n}.");
        let mut subs: Vec<&str> = Vec::new();
        for i in &self.items {
            if let Some(s) = i.key.strip_prefix(&prefix) {
                if !subs.contains(&s) {
                    subs.push(s);
                }
            }
        }
        subs.join("\n")
    }

    fn remove_net(&mut self, n: u32) {
        self.networks.retain(|x| x.index != n);
        if self.state.last_net == Some(n) {
            self.state.last_net = None;
        }
        let prefix = format!("{NET_PREFIX}.{n}.");
        self.items.retain(|i| !i.key.starts_with(&prefix));
    }

    fn clear_nets(&mut self) {
        self.networks.clear();
        self.state.legacy_nets.clear();
        self.state.last_net = None;
        let prefix = format!("{NET_PREFIX}.");
        self.items.retain(|i| !i.key.starts_with(&prefix));
    }

    fn open_net(&mut self, idx: u32, kind: NetType, value: &str, loc: &Location) {
        self.remove_net(idx);
        let pos = self.networks.partition_point(|x| x.index < idx);
        self.networks
            .insert(pos, Network::new(idx, kind, loc.clone()));
        self.state.last_net = Some(idx);
        self.item_push(format!("{NET_PREFIX}.{idx}.type"), value, loc);
    }

    pub(super) fn apply_net(
        &mut self,
        target: NetTarget,
        sub: Option<&NetKey>,
        key: &str,
        v: &str,
        loc: &Location,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ConfigError> {
        let bad = |reason: String| ConfigError::bad(loc, key, v, reason);
        let Some(sub) = sub else {
            if !v.is_empty() {
                return Err(bad(
                    "only takes an empty value, which removes the interface(s)".into(),
                ));
            }
            match target {
                NetTarget::Index(n) => self.remove_net(n),
                _ => self.clear_nets(),
            }
            return Ok(());
        };
        let idx = self.net_index(target);
        let NetApply::Setting {
            list,
            only,
            set,
            clear,
        } = sub.apply
        else {
            return self.apply_net_type(target, idx, key, v, loc);
        };
        let Some(n) = idx else {
            if v.is_empty() {
                return Ok(());
            }
            return Err(bad(match target {
                NetTarget::LegacyOrdinal(k) => {
                    format!("there is no network section {k} (`lxc.network.type` opens one)")
                }
                _ => "no network interface yet: `lxc.network.type` must come first".into(),
            }));
        };
        let Some(net) = self.networks.iter_mut().find(|x| x.index == n) else {
            if v.is_empty() {
                return Ok(());
            }
            return Err(bad(format!(
                "`lxc.net.{n}.type` must be set before other keys of interface {n}"
            )));
        };
        let recorded = if v.is_empty() {
            clear(net);
            None
        } else {
            if let Some(t) = only.filter(|&t| t != net.kind) {
                return Err(bad(format!(
                    "only valid for `{}` interfaces, this one is `{}`",
                    t.as_str(),
                    net.kind.as_str()
                )));
            }
            let mut a = Assign {
                key,
                value: v,
                loc,
                ctx,
                recorded: None,
            };
            set(net, &mut a)?;
            a.recorded
        };
        let recorded = recorded.as_deref().unwrap_or(v);
        let ck = net_item_key(target, n, sub, key);
        if !list {
            self.item_set(&ck, recorded, loc);
        } else if v.is_empty() {
            self.items.retain(|i| i.key != ck);
        } else {
            self.item_push(ck, recorded, loc);
        }
        Ok(())
    }

    /// `type` opens an interface (1.0: the next one) or, empty, drops it (1.0: all).
    fn apply_net_type(
        &mut self,
        target: NetTarget,
        idx: Option<u32>,
        key: &str,
        v: &str,
        loc: &Location,
    ) -> Result<(), ConfigError> {
        let legacy_new = target == NetTarget::Last
            || (idx.is_none() && matches!(target, NetTarget::LegacyOrdinal(_)));
        if v.is_empty() {
            match (legacy_new, idx) {
                (true, _) => self.clear_nets(),
                (false, Some(n)) => self.remove_net(n),
                (false, None) => {}
            }
            return Ok(());
        }
        let kind = NetType::parse(v).ok_or_else(|| {
            ConfigError::bad(
                loc,
                key,
                v,
                "unknown type (empty, veth, vlan, macvlan, ipvlan, phys, none)",
            )
        })?;
        let n = if legacy_new {
            let n = self.networks.iter().map(|x| x.index + 1).max().unwrap_or(0);
            self.state.legacy_nets.push(n);
            n
        } else {
            idx.expect("indexed")
        };
        self.open_net(n, kind, v, loc);
        Ok(())
    }
}

/// The item key of a network setting: as written when that is current and
/// canonical, else `lxc.net.N.<sub>`.
fn net_item_key(target: NetTarget, n: u32, sub: &NetKey, key: &str) -> String {
    let idx_text = key.strip_prefix("lxc.net.").unwrap_or("");
    let leading_zero =
        idx_text.len() > 1 && idx_text.starts_with('0') && idx_text.as_bytes()[1].is_ascii_digit();
    if target == NetTarget::Index(n) && !leading_zero {
        key.to_string()
    } else {
        format!("{NET_PREFIX}.{n}.{}", sub.name)
    }
}
