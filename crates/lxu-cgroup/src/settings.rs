//! `lxc.cgroup.<file> = value` (v1) and `lxc.cgroup2.<file> = value` (v2),
//! translated to the other version where the asked one is not delegated and
//! an obvious equivalent exists (memory limit, pids, cpu weight and quota, cpuset).

use std::path::PathBuf;

use crate::container::{CgroupPath, ContainerCgroup};
use crate::{fsutil, CgroupError};

/// What `apply` did, for the runtime's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub written: Vec<Written>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The key as configured (`memory.limit_in_bytes`).
    pub key: String,
    /// The file written, which differs from the key when translated.
    pub file: PathBuf,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// v1 `cpu.shares` (2..262144, default 1024) to v2 `cpu.weight` (1..10000,
/// default 100), the mapping runc and crun use.
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

pub(crate) fn weight_to_shares(weight: u64) -> u64 {
    let w = weight.clamp(1, 10_000);
    2 + ((w - 1) * 262_142) / 9999
}

fn bad(key: &str, value: &str, reason: impl Into<String>) -> CgroupError {
    CgroupError::BadSetting {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn parse_num(key: &str, value: &str) -> Result<u64, CgroupError> {
    value
        .trim()
        .parse()
        .map_err(|_| bad(key, value, "not a whole number, so it cannot be translated"))
}

/// The files to write for a key of the other version; `None` when there is no obvious
/// equivalent.
type Writes = Option<Vec<(String, String)>>;

fn one(file: &str, value: String) -> Result<Writes, CgroupError> {
    Ok(Some(vec![(file.to_owned(), value)]))
}

/// `value` with "no limit" spelled as the other version spells it (v1 `-1`, v2 `max`).
fn limit(value: &str, unlimited: &str, other: &str) -> String {
    match value.trim() {
        v if v == unlimited => other.to_owned(),
        v => v.to_owned(),
    }
}

/// A CPU quota: "no limit" respelled, a number checked.
fn quota(key: &str, value: &str, unlimited: &str, other: &str) -> Result<String, CgroupError> {
    match value.trim() {
        v if v == unlimited => Ok(other.to_owned()),
        v => parse_num(key, v).map(|n| n.to_string()),
    }
}

/// A number converted to the other version's scale.
fn scaled(key: &str, value: &str, convert: fn(u64) -> u64) -> Result<String, CgroupError> {
    Ok(convert(parse_num(key, value)?).to_string())
}

/// The v2 writes for a v1 key. `cpu.cfs_period_us` is handled by the caller (it needs
/// the current quota).
fn v1_to_v2(key: &str, value: &str) -> Result<Writes, CgroupError> {
    match key {
        "memory.limit_in_bytes" => one("memory.max", limit(value, "-1", "max")),
        "pids.max" | "cpuset.cpus" | "cpuset.mems" => one(key, value.trim().to_owned()),
        "cpu.shares" => one("cpu.weight", scaled(key, value, shares_to_weight)?),
        // A lone quota keeps the period already set.
        "cpu.cfs_quota_us" => one("cpu.max", quota(key, value, "-1", "max")?),
        _ => Ok(None),
    }
}

/// The v1 writes for a v2 key.
fn v2_to_v1(key: &str, value: &str) -> Result<Writes, CgroupError> {
    match key {
        "memory.max" => one("memory.limit_in_bytes", limit(value, "max", "-1")),
        "pids.max" | "cpuset.cpus" | "cpuset.mems" => one(key, value.trim().to_owned()),
        "cpu.weight" => one("cpu.shares", scaled(key, value, weight_to_shares)?),
        "cpu.max" => {
            let mut it = value.split_whitespace();
            let quota = quota(
                key,
                it.next().ok_or_else(|| bad(key, value, "empty"))?,
                "max",
                "-1",
            )?;
            let mut out = Vec::new();
            // Period first: the quota is checked against it.
            if let Some(p) = it.next() {
                out.push((
                    "cpu.cfs_period_us".to_owned(),
                    parse_num(key, p)?.to_string(),
                ));
            }
            out.push(("cpu.cfs_quota_us".to_owned(), quota));
            Ok(Some(out))
        }
        _ => Ok(None),
    }
}

/// memsw must not be set below the memory limit, so the memory limit goes first
/// (as LXC orders them).
fn ordered(settings: &[(String, String)]) -> Vec<&(String, String)> {
    let mut v: Vec<&(String, String)> = settings.iter().collect();
    v.sort_by_key(|(k, _)| k == "memory.memsw.limit_in_bytes");
    v
}

impl ContainerCgroup {
    /// Why this container has no cgroup with `controller`.
    fn why_missing(&self, controller: &str) -> String {
        self.unavailable
            .iter()
            .find(|u| u.controllers.iter().any(|c| c == controller))
            .map(|u| format!("{}: {}", u.hierarchy, u.reason))
            .unwrap_or_else(|| match &self.v2 {
                Some(p) => format!(
                    "no v1 hierarchy has it and `{}` offers only: {}",
                    p.path.display(),
                    if p.controllers.is_empty() {
                        "none".to_owned()
                    } else {
                        p.controllers.join(" ")
                    }
                ),
                None => "no mounted hierarchy of this host has it".to_owned(),
            })
    }

    fn write_setting(
        &self,
        out: &mut Applied,
        key: &str,
        dir: &CgroupPath,
        file: &str,
        value: &str,
    ) -> Result<(), CgroupError> {
        let path = dir.path.join(file);
        fsutil::write(&path, value)?;
        out.written.push(Written {
            key: key.to_owned(),
            file: path,
            value: value.to_owned(),
        });
        Ok(())
    }

    /// Writes what a key of the other version translates to (`other`: that version).
    fn write_translated(
        &self,
        out: &mut Applied,
        key: &str,
        controller: &str,
        dir: &CgroupPath,
        writes: Writes,
        other: &str,
    ) -> Result<(), CgroupError> {
        let Some(writes) = writes else {
            let extra = format!("; and cgroup {other} has no equivalent file");
            return Err(self.not_delegated(key, controller, &extra));
        };
        for (f, v) in writes {
            self.write_setting(out, key, dir, &f, &v)?;
        }
        Ok(())
    }

    fn not_delegated(&self, key: &str, controller: &str, extra: &str) -> CgroupError {
        CgroupError::NotDelegated {
            key: key.to_owned(),
            controller: controller.to_owned(),
            reason: format!("{}{extra}", self.why_missing(controller)),
        }
    }

    fn apply_one(
        &self,
        out: &mut Applied,
        version: Version,
        key: &str,
        value: &str,
    ) -> Result<(), CgroupError> {
        let Some((controller, _)) = key.split_once('.') else {
            return Err(bad(
                key,
                value,
                "not a cgroup file name (expected `<controller>.<file>`)",
            ));
        };
        if key.contains('/') || key.starts_with('.') {
            return Err(bad(key, value, "not a cgroup file name"));
        }
        if controller == "devices" {
            return self.apply_devices(out, version, key, value);
        }
        let v1_dir = self.v1.iter().find(|p| p.has(controller));
        let v2_dir = self
            .v2
            .as_ref()
            .filter(|p| p.has(controller) || controller == "cgroup");
        match (version, v1_dir, v2_dir) {
            (Version::V1, Some(d), _) | (Version::V2, _, Some(d)) => {
                self.write_setting(out, key, d, key, value)
            }
            (Version::V1, None, Some(d)) => {
                if key == "cpu.cfs_period_us" {
                    let period = parse_num(key, value)?.to_string();
                    let cur = fsutil::read_trimmed(&d.path.join("cpu.max"))?;
                    let quota = cur.split_whitespace().next().unwrap_or("max");
                    return self.write_setting(
                        out,
                        key,
                        d,
                        "cpu.max",
                        &format!("{quota} {period}"),
                    );
                }
                let writes = v1_to_v2(key, value)?;
                self.write_translated(out, key, controller, d, writes, "v2")
            }
            (Version::V2, Some(d), None) => {
                let writes = v2_to_v1(key, value)?;
                self.write_translated(out, key, controller, d, writes, "v1")
            }
            (_, None, None) => Err(self.not_delegated(key, controller, "")),
        }
    }

    fn apply_devices(
        &self,
        out: &mut Applied,
        version: Version,
        key: &str,
        value: &str,
    ) -> Result<(), CgroupError> {
        if !rustix::process::geteuid().is_root() {
            out.skipped.push(Skipped {
                key: key.to_owned(),
                reason: "device rules need CAP_SYS_ADMIN in the initial user namespace \
                         (v1 devices files, v2 eBPF), which an unprivileged runtime lacks"
                    .to_owned(),
            });
            return Ok(());
        }
        match (version, self.v1.iter().find(|p| p.has("devices"))) {
            (_, Some(d)) if key.starts_with("devices.allow") || key.starts_with("devices.deny") => {
                self.write_setting(out, key, d, key, value)
            }
            _ => Err(bad(
                key,
                value,
                "device rules on cgroup v2 need an eBPF program, which lxu does not implement; \
                 only v1 devices.allow/devices.deny are supported",
            )),
        }
    }

    /// Writes the settings, v1 list first. Stops at the first failure.
    /// `devices.*` keys are skipped (listed in `Applied::skipped`) for an
    /// unprivileged caller.
    /// The content of the container's cgroup file `key` (`memory.limit_in_bytes`,
    /// `pids.current`, …) from the hierarchy that has its controller (v1 first).
    pub fn read_setting(&self, key: &str) -> Result<String, CgroupError> {
        let controller = key
            .split_once('.')
            .map(|(c, _)| c)
            .filter(|_| !key.contains('/') && !key.starts_with('.'))
            .ok_or_else(|| {
                bad(
                    key,
                    "",
                    "not a cgroup file name (expected `<controller>.<file>`)",
                )
            })?;
        let dir = self
            .v1
            .iter()
            .find(|p| p.has(controller))
            .or_else(|| {
                self.v2
                    .as_ref()
                    .filter(|p| p.has(controller) || controller == "cgroup")
            })
            .ok_or_else(|| self.not_delegated(key, controller, ""))?;
        fsutil::read_trimmed(&dir.path.join(key))
    }

    pub fn apply(
        &self,
        settings_v1: &[(String, String)],
        settings_v2: &[(String, String)],
    ) -> Result<Applied, CgroupError> {
        let mut out = Applied::default();
        for (k, v) in ordered(settings_v1) {
            self.apply_one(&mut out, Version::V1, k, v)?;
        }
        for (k, v) in ordered(settings_v2) {
            self.apply_one(&mut out, Version::V2, k, v)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_weight_round_trip_the_defaults() {
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(weight_to_shares(1), 2);
        assert_eq!(weight_to_shares(10_000), 262_144);
        assert_eq!(weight_to_shares(100), 2597);
    }

    /// A key, a value, and the files and values it translates to.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    /// Each case `(key, value, writes)` translates as given; `none` (a key) has no
    /// equivalent and `bad` (a key and value) is refused.
    fn check(
        translate: fn(&str, &str) -> Result<Writes, CgroupError>,
        cases: &[Case],
        none: &str,
        bad: (&str, &str),
    ) {
        for (k, v, want) in cases {
            let want = want.iter().map(|(f, v)| (f.to_string(), v.to_string()));
            assert_eq!(translate(k, v).unwrap(), Some(want.collect()), "{k} = {v}");
        }
        assert_eq!(translate(none, "1G").unwrap(), None);
        assert!(translate(bad.0, bad.1).is_err());
    }

    #[test]
    fn translations_both_ways() {
        let cases: &[Case] = &[
            ("memory.limit_in_bytes", "-1", &[("memory.max", "max")]),
            ("memory.limit_in_bytes", "64M", &[("memory.max", "64M")]),
            ("cpu.cfs_quota_us", "50000", &[("cpu.max", "50000")]),
            ("cpu.cfs_quota_us", "-1", &[("cpu.max", "max")]),
            ("cpu.shares", "512", &[("cpu.weight", "20")]),
        ];
        check(
            v1_to_v2,
            cases,
            "memory.memsw.limit_in_bytes",
            ("cpu.shares", "lots"),
        );
        let cases: &[Case] = &[
            ("memory.max", "max", &[("memory.limit_in_bytes", "-1")]),
            (
                "cpu.max",
                "25000 50000",
                &[
                    ("cpu.cfs_period_us", "50000"),
                    ("cpu.cfs_quota_us", "25000"),
                ],
            ),
            ("cpu.max", "max", &[("cpu.cfs_quota_us", "-1")]),
            ("pids.max", "20", &[("pids.max", "20")]),
        ];
        check(v2_to_v1, cases, "memory.high", ("cpu.max", ""));
    }

    #[test]
    fn memsw_goes_after_the_memory_limit() {
        let s: Vec<(String, String)> = [
            ("memory.memsw.limit_in_bytes", "2G"),
            ("pids.max", "10"),
            ("memory.limit_in_bytes", "1G"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let keys: Vec<&str> = ordered(&s).iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "pids.max",
                "memory.limit_in_bytes",
                "memory.memsw.limit_in_bytes"
            ]
        );
    }
}
