//! The key table: every key of a container configuration, defined once with its
//! current and legacy names, its documentation and what it does to a [`Config`].
//!
//! Three kinds of keys share one namespace:
//! - simple keys ([`SimpleKey`], e.g. `lxc.uts.name`), grouped in [`SECTIONS`] by
//!   what they configure (`general.rs`, `filesystem.rs`, `security.rs`);
//! - families with a free last part ([`Family`], e.g. `lxc.cgroup.<file>`,
//!   `lxc.hook.<type>`), in the same sections;
//! - network keys ([`NetKey`], `lxc.net.N.<sub>`, LXC 1.0's `lxc.network.<sub>`).
//!
//! The evaluator (`config`), `lxc-update-config` (`update`), the lossless file
//! (`file`) and the manual page (`reference`) all read these tables, so a key is
//! added or changed in one place. [`classify`] turns a key as written into a [`Key`].

mod assign;
mod filesystem;
mod general;
mod hooks;
mod net;
mod security;

use std::fmt;
use std::sync::OnceLock;

use crate::config::Config;
use crate::error::ConfigError;

pub(crate) use assign::Assign;
pub use hooks::HookType;
pub(crate) use net::{
    legacy_net_key, NetApply, NetKey, NetTarget, LEGACY_NET_PREFIX, NET_KEYS, NET_PREFIX,
};

/// A key with one value that is neither indexed nor suffixed.
pub(crate) struct SimpleKey {
    /// The LXC 3.0+ name.
    pub(crate) name: &'static str,
    /// The 1.0/2.0 spelling that LXC 3.0 dropped, if the key had another one.
    pub(crate) legacy: Option<&'static str>,
    /// The value syntax, for the manual (`0|1`, `SIGNAL`, …).
    pub(crate) syntax: &'static str,
    /// What the key does, for the manual.
    pub(crate) doc: &'static str,
    pub(crate) record: Record,
    /// Applies a non-empty value.
    pub(crate) set: fn(&mut Config, &mut Assign<'_, '_>) -> Result<(), ConfigError>,
    /// What an empty value does (it never fails).
    pub(crate) clear: fn(&mut Config),
    pub(crate) show: Show,
}

/// How the assignments of a simple key appear in [`Config::items`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Record {
    /// The last value replaces earlier ones; an empty value removes it.
    Last,
    /// Every value is kept in order; an empty value removes them all.
    List,
    /// Like `Last`, with the value as [`Show::Value`] prints it (tokens merged).
    Shown,
    /// The setter keeps its own items (`lxc.cap.*`) or none (`lxc.include`).
    Own,
}

/// What `lxc-info -c KEY` prints for a simple key.
#[derive(Clone, Copy)]
pub(crate) enum Show {
    /// The recorded values, one a line; nothing when unset.
    Recorded,
    /// The effective setting, its default when unset.
    Value(fn(&Config) -> String),
}

/// Keys with a free last part: `lxc.cgroup.<file>`, `lxc.hook.<type>`, …
pub(crate) struct Family {
    /// The key without its last part, e.g. `lxc.cgroup`.
    pub(crate) prefix: &'static str,
    /// The 1.0/2.0 prefix (`lxc.limit`), if the family had another one.
    pub(crate) legacy: Option<&'static str>,
    /// The placeholder of the last part in the manual and in errors (`<file>`).
    pub(crate) suffix: &'static str,
    pub(crate) syntax: &'static str,
    pub(crate) doc: &'static str,
    pub(crate) repeat: Repeat,
    /// Whether the prefix alone is a key (it only takes an empty value: clear all).
    pub(crate) bare: bool,
    /// Which last parts make a key at all (the others are unknown keys).
    pub(crate) known: fn(&str) -> bool,
    /// Checks a last part and its value (which may be empty) before they apply.
    pub(crate) check: fn(&str, &str) -> Result<(), String>,
    pub(crate) values: fn(&Config) -> &dyn NamedValues,
    pub(crate) values_mut: fn(&mut Config) -> &mut dyn NamedValues,
}

/// What a repeated last part of a family does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Adds another value (cgroup files, hooks).
    Append,
    /// Replaces the earlier value in its place (resource limits, sysctls).
    Replace,
}

/// The settings of a family as `(last part, value)` pairs in file order.
pub(crate) trait NamedValues {
    fn pairs(&self) -> Vec<(&str, &str)>;
    fn push(&mut self, name: &str, value: &str);
    /// Gives the first entry of `name` the value, or adds one.
    fn replace(&mut self, name: &str, value: &str);
    fn remove(&mut self, name: &str);
    fn clear(&mut self);
}

/// How a family stores its last part: as written, or parsed (hook types).
pub(crate) trait FamilyName {
    fn as_name(&self) -> &str;
    /// Only called with parts the family's `known` accepted.
    fn from_name(name: &str) -> Self;
}

impl FamilyName for String {
    fn as_name(&self) -> &str {
        self
    }
    fn from_name(name: &str) -> String {
        name.to_string()
    }
}

impl<N: FamilyName> NamedValues for Vec<(N, String)> {
    fn pairs(&self) -> Vec<(&str, &str)> {
        self.iter()
            .map(|(n, v)| (n.as_name(), v.as_str()))
            .collect()
    }
    fn push(&mut self, name: &str, value: &str) {
        self.push((N::from_name(name), value.to_string()));
    }
    fn replace(&mut self, name: &str, value: &str) {
        match self.iter_mut().find(|(n, _)| n.as_name() == name) {
            Some(e) => e.1 = value.to_string(),
            None => NamedValues::push(self, name, value),
        }
    }
    fn remove(&mut self, name: &str) {
        self.retain(|(n, _)| n.as_name() != name);
    }
    fn clear(&mut self) {
        Vec::clear(self);
    }
}

/// A part of the manual: simple keys and families that configure one thing.
pub(crate) struct Section {
    pub(crate) title: &'static str,
    pub(crate) keys: &'static [SimpleKey],
    pub(crate) families: &'static [Family],
}

/// Every section, in the manual's order.
pub(crate) const SECTIONS: &[&Section] = &[
    &general::GENERAL,
    &general::INIT,
    &general::SIGNALS,
    &general::AUTOSTART,
    &general::HOOKS,
    &general::LOGGING,
    &filesystem::ROOTFS,
    &filesystem::MOUNTS,
    &filesystem::DEVICES,
    &filesystem::TERMINALS,
    &security::IDMAP,
    &security::CAPABILITIES,
    &security::NAMESPACES,
    &security::CGROUPS,
    &security::LIMITS,
    &security::LSM,
    &security::SECCOMP,
    &security::KERNEL,
];

/// How `lxc-info -c` prints a 0/1 setting.
fn flag(v: bool) -> String {
    if v { "1" } else { "0" }.to_string()
}

/// Keys LXC 3.0 removed without a successor; they are accepted and ignored, and
/// `lxc-update-config` deletes their lines.
pub(crate) const REMOVED: &[&str] = &["lxc.rootfs.backend", "lxc.pivotdir", "lxc.kmsg"];

pub(crate) fn simple_keys() -> impl Iterator<Item = &'static SimpleKey> {
    SECTIONS.iter().flat_map(|s| s.keys)
}

pub(crate) fn families() -> impl Iterator<Item = &'static Family> {
    index().families.iter().copied()
}

/// The simple key of this current (3.0+) name.
pub(crate) fn simple_key(name: &str) -> Option<&'static SimpleKey> {
    find(&index().current, name)
}

/// The simple key of this 1.0/2.0 name.
pub(crate) fn legacy_simple_key(name: &str) -> Option<&'static SimpleKey> {
    find(&index().legacy, name)
}

/// Every line of every config file is looked up here, so the table is indexed
/// once: simple keys by the length of their name (few share one), and the
/// families in one list.
struct Index {
    current: ByLength,
    legacy: ByLength,
    families: Vec<&'static Family>,
}

/// `(name, key)` pairs, bucketed by the length of the name.
type ByLength = Vec<Vec<(&'static str, &'static SimpleKey)>>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let by_length = |names: &mut dyn Iterator<Item = (&'static str, &'static SimpleKey)>| {
            let mut v: ByLength = Vec::new();
            for (name, k) in names {
                if v.len() <= name.len() {
                    v.resize(name.len() + 1, Vec::new());
                }
                v[name.len()].push((name, k));
            }
            v
        };
        Index {
            current: by_length(&mut simple_keys().map(|k| (k.name, k))),
            legacy: by_length(&mut simple_keys().filter_map(|k| Some((k.legacy?, k)))),
            families: SECTIONS.iter().flat_map(|s| s.families).collect(),
        }
    })
}

fn find(index: &ByLength, name: &str) -> Option<&'static SimpleKey> {
    let bucket = index.get(name.len())?;
    bucket.iter().find(|(n, _)| *n == name).map(|&(_, k)| k)
}

/// Table entries are told apart by their name: `Debug` shows it, `==` compares it.
macro_rules! identified_by {
    ($ty:ty, $field:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.$field)
            }
        }
        impl PartialEq for $ty {
            fn eq(&self, other: &$ty) -> bool {
                self.$field == other.$field
            }
        }
        impl Eq for $ty {}
    };
}

identified_by!(SimpleKey, name);
identified_by!(Family, prefix);
identified_by!(NetKey, name);

/// A classified key. Borrowed parts point into the key as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key<'a> {
    Simple(&'static SimpleKey),
    /// A family member; `None` is the bare prefix, which clears the family.
    Family(&'static Family, Option<&'a str>),
    Net {
        target: NetTarget,
        sub: Option<&'static NetKey>,
    },
    /// One of [`REMOVED`]: accepted and ignored.
    Removed,
}

/// `Some(None)` for `prefix` itself, `Some(Some(part))` for `prefix.part`.
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
    key.strip_prefix("lxc.")?;
    if let Some(k) = simple_key(key) {
        return Some((Key::Simple(k), false));
    }
    if let Some(net) = net::classify(key) {
        return net;
    }
    // Every prefix starts with `lxc.`; comparing the letter after it first keeps
    // this loop cheap.
    let letter = key.as_bytes().get(4);
    for fam in families() {
        let names = [(Some(fam.prefix), false), (fam.legacy, true)];
        for (prefix, legacy) in names {
            let Some(prefix) = prefix.filter(|p| p.as_bytes().get(4) == letter) else {
                continue;
            };
            if let Some(part) = suffix_of(key, prefix) {
                let known = match part {
                    None => fam.bare,
                    Some(p) => (fam.known)(p),
                };
                return known.then_some((Key::Family(fam, part), legacy));
            }
        }
    }
    if REMOVED.contains(&key) {
        return Some((Key::Removed, true));
    }
    legacy_simple_key(key).map(|k| (Key::Simple(k), true))
}

impl Key<'_> {
    /// The 3.0+ spelling; `None` for removed keys.
    pub(crate) fn canonical(&self) -> Option<String> {
        Some(match *self {
            Key::Simple(k) => k.name.to_string(),
            Key::Family(fam, part) => join_suffix(fam.prefix, part),
            Key::Net { target, sub } => {
                let sub = sub.map(|s| s.name);
                match target {
                    NetTarget::All | NetTarget::Last => join_suffix(NET_PREFIX, sub),
                    NetTarget::Index(n) | NetTarget::LegacyOrdinal(n) => {
                        join_suffix(&format!("{NET_PREFIX}.{n}"), sub)
                    }
                }
            }
            Key::Removed => return None,
        })
    }

    /// Keys that name a whole group (`lxc.net.0`, `lxc.cgroup`, …), used for clears.
    pub(crate) fn is_group(&self) -> bool {
        matches!(self, Key::Family(_, None) | Key::Net { sub: None, .. })
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

#[cfg(test)]
mod tests;
