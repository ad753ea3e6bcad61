//! Host users and their subordinate id ranges (/etc/passwd, /etc/subuid, /etc/subgid).

use std::fmt;
use std::path::{Path, PathBuf};

use lxu_config::{IdKind, IdMap};

/// A host account, as far as lxu needs one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    pub shell: String,
}

/// Looks a uid up in a passwd-format text.
pub(crate) fn lookup_uid_in(passwd: &str, uid: u32) -> Option<User> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || f[2].parse::<u32>().ok()? != uid {
            return None;
        }
        Some(User {
            name: f[0].to_string(),
            uid,
            gid: f[3].parse().ok()?,
            home: PathBuf::from(f[5]),
            shell: f[6].to_string(),
        })
    })
}

/// Looks a user name up in a passwd-format text.
pub(crate) fn lookup_name_in(passwd: &str, name: &str) -> Option<User> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || f[0] != name {
            return None;
        }
        Some(User {
            name: name.to_string(),
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: PathBuf::from(f[5]),
            shell: f[6].to_string(),
        })
    })
}

/// The host account of `uid` from /etc/passwd.
pub(crate) fn lookup_uid(uid: u32) -> Option<User> {
    lookup_uid_in(&std::fs::read_to_string("/etc/passwd").ok()?, uid)
}

/// The host account called `name` from /etc/passwd.
pub fn lookup_name(name: &str) -> Option<User> {
    lookup_name_in(&std::fs::read_to_string("/etc/passwd").ok()?, name)
}

/// Ids of the groups `user` belongs to (primary and supplementary), from /etc/group, as
/// `initgroups(3)` would set them for a login.
pub(crate) fn group_ids(user: &User) -> Vec<u32> {
    group_ids_in(
        &std::fs::read_to_string("/etc/group").unwrap_or_default(),
        user,
    )
}

pub(crate) fn group_ids_in(group: &str, user: &User) -> Vec<u32> {
    let mut out = vec![user.gid];
    for line in group.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || !f[3].split(',').any(|m| m == user.name) {
            continue;
        }
        if let Ok(gid) = f[2].parse::<u32>() {
            if !out.contains(&gid) {
                out.push(gid);
            }
        }
    }
    out
}

/// A block of subordinate ids `[start, start + count)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubIdRange {
    pub start: u64,
    pub count: u64,
}

impl SubIdRange {
    pub(crate) fn end(&self) -> u64 {
        self.start + self.count
    }
    pub(crate) fn contains(&self, first: u64, count: u64) -> bool {
        first >= self.start && first.saturating_add(count) <= self.end()
    }
}

impl fmt::Display for SubIdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end().saturating_sub(1))
    }
}

/// `ranges` as messages show them: `100000-165535, 300000-300009`, or `none`.
pub fn describe_ranges(ranges: &[SubIdRange]) -> String {
    if ranges.is_empty() {
        return "none".to_string();
    }
    ranges
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ranges a subuid/subgid-format text gives `user` (by name or by numeric uid).
pub fn subid_ranges_in(text: &str, user: &User) -> Vec<SubIdRange> {
    let uid = user.uid.to_string();
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let mut f = line.split(':');
            let owner = f.next()?;
            let start = f.next()?.trim().parse().ok()?;
            let count = f.next()?.trim().parse().ok()?;
            (owner == user.name || owner == uid).then_some(SubIdRange { start, count })
        })
        .collect()
}

/// Where the subordinate ids of one kind are delegated.
pub fn subid_file(kind: IdKind) -> &'static Path {
    match kind {
        IdKind::Uid => Path::new("/etc/subuid"),
        IdKind::Gid => Path::new("/etc/subgid"),
    }
}

/// Why an id map cannot be written for this user.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct MapDenied {
    pub detail: String,
}

/// Checks every line of `maps` of one kind against the ranges `user` owns in `file_text`
/// (the same rule `newuidmap`/`newgidmap` apply: inside one delegated range, or exactly the
/// caller's own id with count 1).
pub(crate) fn check_maps(
    maps: &[IdMap],
    kind: IdKind,
    user: &User,
    file: &Path,
    file_text: &str,
) -> Result<(), MapDenied> {
    let ranges = subid_ranges_in(file_text, user);
    let own = match kind {
        IdKind::Uid => user.uid,
        IdKind::Gid => user.gid,
    };
    for m in maps.iter().filter(|m| m.kind == kind) {
        let first = u64::from(m.hostid);
        let count = u64::from(m.count);
        if count == 1 && m.hostid == own {
            continue;
        }
        if ranges.iter().any(|r| r.contains(first, count)) {
            continue;
        }
        let have = describe_ranges(&ranges);
        let letter = if kind == IdKind::Uid { 'u' } else { 'g' };
        return Err(MapDenied {
            detail: format!(
                "lxc.idmap = {letter} {} {} {} maps host ids {}-{}, which {} does not own in {} (ranges of {}: {have})",
                m.nsid,
                m.hostid,
                m.count,
                first,
                first + count - 1,
                user.name,
                file.display(),
                user.name,
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::id_map as map;

    fn alice() -> User {
        User {
            name: "alice".into(),
            uid: 1001,
            gid: 1001,
            home: "/home/alice".into(),
            shell: "/bin/sh".into(),
        }
    }

    #[test]
    fn passwd_lookup() {
        let text = "root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1002:A:/home/alice:/bin/zsh\n";
        let u = lookup_uid_in(text, 1001).unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(u.gid, 1002);
        assert_eq!(u.shell, "/bin/zsh");
        assert_eq!(lookup_name_in(text, "root").unwrap().uid, 0);
        assert!(lookup_uid_in(text, 5).is_none());
    }

    #[test]
    fn ranges_by_name_and_uid() {
        let text = "bob:1:5\nalice:100000:65536\n# c\n1001:300000:10\nalicex:5:5\n";
        let r = subid_ranges_in(text, &alice());
        assert_eq!(
            r,
            vec![
                SubIdRange {
                    start: 100000,
                    count: 65536
                },
                SubIdRange {
                    start: 300000,
                    count: 10
                }
            ]
        );
    }

    #[test]
    fn map_checks() {
        let text = "alice:100000:65536\n";
        let f = Path::new("/etc/subuid");
        let ok = [
            map(IdKind::Uid, 0, 100000, 65536),
            map(IdKind::Uid, 65536, 1001, 1),
        ];
        assert!(check_maps(&ok, IdKind::Uid, &alice(), f, text).is_ok());
        let bad = [map(IdKind::Uid, 0, 100001, 65536)];
        let e = check_maps(&bad, IdKind::Uid, &alice(), f, text).unwrap_err();
        assert_eq!(
            e.to_string(),
            "lxc.idmap = u 0 100001 65536 maps host ids 100001-165536, which alice does not own in /etc/subuid (ranges of alice: 100000-165535)"
        );
        let none = check_maps(&bad, IdKind::Uid, &alice(), f, "").unwrap_err();
        assert!(none.to_string().ends_with("(ranges of alice: none)"));
        // gid lines are not checked against the uid file
        let g = [map(IdKind::Gid, 0, 5, 1)];
        assert!(check_maps(&g, IdKind::Uid, &alice(), f, text).is_ok());
    }
}
