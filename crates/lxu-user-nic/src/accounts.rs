//! Who is calling: the real uid's name and groups from `/etc/passwd` and
//! `/etc/group` (root-owned files; nothing here comes from the caller), and
//! the administrator's allowances from `lxc-usernet`.
//!
//! All three are world-readable, so they are read with the caller's uid:
//! root's privileges are not needed, and a mistake here (a path, a parser)
//! then cannot reveal anything the caller could not read anyway.
//!
//! Group membership is the account database's view (primary group plus
//! every group listing the user), like `getgrouplist(3)`. LXC 5 uses the
//! calling process's supplementary groups instead; the database is what the
//! administrator wrote, and a caller can only ever drop groups from a
//! process, never add them, so neither choice lets a caller gain access.

use std::fs;
use std::io::ErrorKind;

use lxu_net::usernet::USERNET_PATH;
use rustix::process::Uid;

use crate::error::HelperError;
use crate::privs::as_caller;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub name: String,
    pub groups: Vec<String>,
}

impl Caller {
    /// Owners whose database entries this caller may act on: their name and
    /// `@group` for each of their groups.
    pub fn owner_names(&self) -> Vec<String> {
        std::iter::once(self.name.clone())
            .chain(self.groups.iter().map(|g| format!("@{g}")))
            .collect()
    }
}

/// Looks up `uid`, reading the account files as that uid.
pub fn lookup(uid: u32) -> Result<Caller, HelperError> {
    let (passwd, group) = as_caller(Uid::from_raw(uid), || {
        Ok::<_, HelperError>((read("/etc/passwd")?, read("/etc/group")?))
    })??;
    let (name, gid) = find_user(&passwd, uid).ok_or(HelperError::UnknownUid(uid))?;
    let groups = groups_of(&group, &name, gid);
    Ok(Caller {
        uid,
        gid,
        name,
        groups,
    })
}

fn read(path: &str) -> Result<String, HelperError> {
    fs::read_to_string(path).map_err(|source| HelperError::Read {
        path: path.to_string(),
        source,
    })
}

/// The text of `lxc-usernet`, read as the caller (empty if it does not
/// exist). A file root made unreadable to the caller (LXC ships it 0644) is
/// an error that says so.
pub fn read_usernet(caller: &Caller) -> Result<String, HelperError> {
    let read = as_caller(Uid::from_raw(caller.uid), || fs::read(USERNET_PATH))?;
    match read {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(String::new()),
        Err(source) if source.kind() == ErrorKind::PermissionDenied => {
            Err(HelperError::UsernetUnreadable {
                user: caller.name.clone(),
                source,
            })
        }
        Err(source) => Err(HelperError::Read {
            path: USERNET_PATH.to_string(),
            source,
        }),
    }
}

/// First `/etc/passwd` entry with this uid: (name, primary gid).
fn find_user(passwd: &str, uid: u32) -> Option<(String, u32)> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || f[0].is_empty() || f[0].starts_with(['+', '-']) {
            return None;
        }
        if f[2].parse::<u32>().ok()? != uid {
            return None;
        }
        Some((f[0].to_string(), f[3].parse().ok()?))
    })
}

/// Names of the groups `user` belongs to: the one with the primary gid and
/// every group listing the user as a member, each once, in file order.
fn groups_of(group: &str, user: &str, gid: u32) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in group.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || f[0].is_empty() || f[0].starts_with(['+', '-']) {
            continue;
        }
        let primary = f[2].parse::<u32>().ok() == Some(gid);
        let member = f[3].split(',').any(|m| m.trim() == user);
        if (primary || member) && !out.iter().any(|g| g == f[0]) {
            out.push(f[0].to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
+nis::::::
alice:x:1000:1000:Alice:/home/alice:/bin/sh
alice2:x:1002:1000::/home/alice2:/bin/sh
broken:x:abc:1
bob:x:1001:100::/home/bob:/bin/sh
";
    const GROUP: &str = "\
root:x:0:
users:x:100:alice
alice:x:1000:
lxc:x:500:bob, alice2 ,carol
alicefans:x:501:alice2
";

    #[test]
    fn users_by_uid() {
        assert_eq!(find_user(PASSWD, 0), Some(("root".to_string(), 0)));
        assert_eq!(find_user(PASSWD, 1000), Some(("alice".to_string(), 1000)));
        assert_eq!(find_user(PASSWD, 1001), Some(("bob".to_string(), 100)));
        assert_eq!(find_user(PASSWD, 4242), None);
    }

    #[test]
    fn groups_are_whole_word_members_plus_primary() {
        assert_eq!(groups_of(GROUP, "alice", 1000), vec!["users", "alice"]);
        assert_eq!(
            groups_of(GROUP, "alice2", 1000),
            vec!["alice", "lxc", "alicefans"]
        );
        assert_eq!(groups_of(GROUP, "bob", 100), vec!["users", "lxc"]);
        assert!(groups_of(GROUP, "nobody", 65534).is_empty());
    }

    #[test]
    fn owners_include_groups_with_at() {
        let c = Caller {
            uid: 1,
            gid: 1,
            name: "bob".to_string(),
            groups: vec!["lxc".to_string()],
        };
        assert_eq!(c.owner_names(), vec!["bob", "@lxc"]);
    }
}
