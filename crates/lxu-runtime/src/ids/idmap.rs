//! Writing a user namespace's id maps.
//!
//! An unprivileged caller cannot write maps of more than its own id, so maps go through
//! the setuid `newuidmap`/`newgidmap` from shadow's uidmap package, which check
//! /etc/subuid and /etc/subgid themselves. lxu checks the same rule first (see
//! `users::check_maps`) so the error names the file, the user and the ranges instead of
//! newuidmap's terse message. Root writes the maps directly.

use std::io::Write;
use std::process::{Command, Stdio};

use lxu_config::{IdKind, IdMap};

use crate::error::{Error, Result};
use crate::ids::users::{self, User};

/// Checks that `maps` fit the caller's delegated ranges (no-op for root).
pub(crate) fn check_allowed(maps: &[IdMap], user: &User, euid: u32) -> Result<()> {
    if euid == 0 {
        return Ok(());
    }
    for kind in [IdKind::Uid, IdKind::Gid] {
        let file = users::subid_file(kind);
        let text = std::fs::read_to_string(file).unwrap_or_default();
        users::check_maps(maps, kind, user, file, &text)?;
    }
    Ok(())
}

/// The text written to `uid_map`/`gid_map`: "nsid hostid count" lines.
pub(crate) fn map_text(maps: &[IdMap], kind: IdKind) -> String {
    maps.iter()
        .filter(|m| m.kind == kind)
        .map(|m| format!("{} {} {}\n", m.nsid, m.hostid, m.count))
        .collect()
}

/// Writes both maps of process `pid`.
pub(crate) fn write_maps(pid: i32, maps: &[IdMap], euid: u32) -> Result<()> {
    start_maps(pid, maps, euid)?.wait()
}

/// Map helpers still running (non-root callers); see [`start_maps`].
pub(crate) struct PendingMaps {
    helpers: Vec<Result<Running>>,
}

impl PendingMaps {
    /// Waits for the helpers and reports the first failure.
    pub(crate) fn wait(self) -> Result<()> {
        let mut result = Ok(());
        for h in self.helpers {
            let r = h.and_then(finish_helper);
            if result.is_ok() {
                result = r;
            }
        }
        result
    }
}

/// Starts writing both maps of `pid`. Root writes them at once; anyone else gets the
/// setuid `newuidmap`/`newgidmap` started side by side, to be waited for later, so the
/// caller can do other work meanwhile.
pub(crate) fn start_maps(pid: i32, maps: &[IdMap], euid: u32) -> Result<PendingMaps> {
    if euid == 0 {
        for (kind, file) in [(IdKind::Uid, "uid_map"), (IdKind::Gid, "gid_map")] {
            let text = map_text(maps, kind);
            if text.is_empty() {
                continue;
            }
            let path = format!("/proc/{pid}/{file}");
            // One write(2): the kernel takes a map only in a single write.
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| Error::io("write", path, e))?;
        }
        return Ok(PendingMaps {
            helpers: Vec::new(),
        });
    }
    let uid = spawn_helper("newuidmap", pid, maps, IdKind::Uid)?;
    let gid = spawn_helper("newgidmap", pid, maps, IdKind::Gid);
    Ok(PendingMaps {
        helpers: vec![Ok(uid), gid],
    })
}

struct Running {
    cmdline: String,
    child: std::process::Child,
}

/// Where a map helper (`newuidmap`, `newgidmap`) is installed: Debian puts them in
/// /usr/bin, other systems in /usr/sbin, /bin or /usr/local/bin.
pub fn helper_path(prog: &str) -> Option<std::path::PathBuf> {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(prog))
        .find(|p| p.exists())
}

/// Starts a map helper. `Command::spawn` uses posix_spawn here: the child shares our
/// memory until its exec instead of copying the page tables and faulting pages in, which
/// on a two-CPU machine is time taken from the other helper, init and the cgroup setup
/// running at the same moment.
fn spawn_helper(prog: &'static str, pid: i32, maps: &[IdMap], kind: IdKind) -> Result<Running> {
    let mut args = vec![pid.to_string()];
    for m in maps.iter().filter(|m| m.kind == kind) {
        args.extend([
            m.nsid.to_string(),
            m.hostid.to_string(),
            m.count.to_string(),
        ]);
    }
    let cmdline = format!("{prog} {}", args.join(" "));
    let not_found = || Error::NoMapHelper { prog };
    let path = helper_path(prog).ok_or_else(not_found)?;
    let child = Command::new(&path)
        .args(&args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => not_found(),
            _ => Error::sys(format!("cannot run {}", path.display()), e),
        })?;
    Ok(Running { cmdline, child })
}

fn finish_helper(mut r: Running) -> Result<()> {
    use std::io::Read;
    let mut msg = String::new();
    if let Some(mut e) = r.child.stderr.take() {
        let _ = e.read_to_string(&mut msg);
    }
    let status = r
        .child
        .wait()
        .map_err(|e| Error::sys(format!("wait for `{}`", r.cmdline), e))?;
    if status.success() {
        return Ok(());
    }
    Err(Error::MapHelperFailed {
        cmdline: r.cmdline,
        stderr: msg.trim().to_string(),
    })
}

/// The first namespace id above every mapped range of `kind`.
pub(crate) fn first_unmapped(maps: &[IdMap], kind: IdKind) -> u32 {
    maps.iter()
        .filter(|m| m.kind == kind)
        .map(|m| m.nsid.saturating_add(m.count))
        .max()
        .unwrap_or(0)
}

/// The container's maps plus the caller's own uid and gid mapped at the first free
/// namespace id, the way LXC runs templates: the namespace's root can then work on both
/// the container's files and the caller's (the container directory, the download cache).
/// Returns the maps and the namespace ids the caller's uid and gid got.
pub(crate) fn with_caller(maps: &[IdMap], uid: u32, gid: u32) -> (Vec<IdMap>, u32, u32) {
    let mut out = maps.to_vec();
    let mut mapped = |kind: IdKind, id: u32| -> u32 {
        if let Some(m) = maps
            .iter()
            .find(|m| m.kind == kind && id >= m.hostid && id - m.hostid < m.count)
        {
            return m.nsid + (id - m.hostid);
        }
        let ns = first_unmapped(maps, kind);
        out.push(IdMap {
            kind,
            nsid: ns,
            hostid: id,
            count: 1,
        });
        ns
    };
    let u = mapped(IdKind::Uid, uid);
    let g = mapped(IdKind::Gid, gid);
    (out, u, g)
}

/// Host id that namespace id `nsid` maps to, if any.
pub(crate) fn host_id(maps: &[IdMap], kind: IdKind, nsid: u32) -> Option<u32> {
    maps.iter()
        .find(|m| m.kind == kind && nsid >= m.nsid && nsid - m.nsid < m.count)
        .map(|m| m.hostid + (nsid - m.nsid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::id_map as m;

    #[test]
    fn caller_is_added_after_the_container_ranges() {
        let maps = [
            m(IdKind::Uid, 0, 100000, 65536),
            m(IdKind::Gid, 0, 100000, 65536),
        ];
        let (all, u, g) = with_caller(&maps, 1001, 1002);
        assert_eq!((u, g), (65536, 65536));
        assert_eq!(
            map_text(&all, IdKind::Uid),
            "0 100000 65536\n65536 1001 1\n"
        );
        assert_eq!(
            map_text(&all, IdKind::Gid),
            "0 100000 65536\n65536 1002 1\n"
        );
        assert_eq!(host_id(&all, IdKind::Uid, 0), Some(100000));
        assert_eq!(host_id(&all, IdKind::Uid, 65535), Some(165535));
        assert_eq!(host_id(&all, IdKind::Uid, 65537), None);
    }

    #[test]
    fn caller_already_mapped_is_not_mapped_twice() {
        let maps = [m(IdKind::Uid, 0, 1000, 1), m(IdKind::Gid, 0, 1000, 1)];
        let (all, u, g) = with_caller(&maps, 1000, 1000);
        assert_eq!((u, g), (0, 0));
        assert_eq!(all.len(), 2);
    }
}
