//! Leaving the caller's cgroups before the lock window.
//!
//! The helper starts in its caller's cgroups, and a caller may own one:
//! `lxu setup-user` delegates a v1 freezer cgroup to each user, systemd
//! delegates the user manager's v2 subtree. Freezing that cgroup
//! (`freezer.state`, `cgroup.freeze`) stops every process in it without
//! any signal, so a real uid of 0 alone would not keep the caller from
//! stopping a helper that holds the lock. Before taking it, the helper
//! moves itself to the top cgroup of every hierarchy mounted in its mount
//! namespace (root's choice: an unprivileged caller cannot give a setuid
//! program another mount namespace). That also leaves the caller's CPU
//! quota behind.

use std::fs;
use std::io::Write;

use crate::error::HelperError;

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One cgroup filesystem mount.
#[derive(Debug, PartialEq, Eq)]
struct CgroupMount {
    dir: String,
    /// A hierarchy that can freeze its tasks: cgroup2, or v1 with the
    /// freezer controller.
    freezes: bool,
}

/// Moves the helper into the top cgroup of every mounted hierarchy. A
/// failure is an error for hierarchies that can freeze (the caller could
/// stop the helper there) unless the mount is read-only, and ignored for
/// the others.
pub fn leave_caller_cgroups() -> Result<(), HelperError> {
    let text = fs::read_to_string(MOUNTINFO).map_err(|source| HelperError::Read {
        path: MOUNTINFO.to_string(),
        source,
    })?;
    for m in cgroup_mounts(&text) {
        let procs = format!("{}/cgroup.procs", m.dir);
        // "0" names the writing process.
        let moved = fs::OpenOptions::new()
            .write(true)
            .open(&procs)
            .and_then(|mut f| f.write_all(b"0\n"));
        match moved {
            Ok(()) => {}
            // Read-only here means nobody in this mount namespace (the
            // caller's) can freeze through it either.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::ROFS.raw_os_error()) => {}
            Err(source) if m.freezes => {
                return Err(HelperError::LeaveCgroup {
                    path: procs,
                    source,
                })
            }
            Err(_) => {}
        }
    }
    Ok(())
}

/// cgroup and cgroup2 mounts from mountinfo text. Mount points with escaped
/// characters are skipped (no distribution mounts cgroups there).
fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let Some(dir) = before.split(' ').nth(4) else {
            continue;
        };
        let mut f = after.split(' ');
        let (Some(fstype), Some(_source), Some(opts)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if dir.contains('\\') {
            continue;
        }
        let freezes = match fstype {
            "cgroup2" => true,
            "cgroup" => opts.split(',').any(|o| o == "freezer"),
            _ => continue,
        };
        out.push(CgroupMount {
            dir: dir.to_string(),
            freezes,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cgroup_mounts_and_which_can_freeze() {
        let text = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:5 master:1 - cgroup2 cgroup2 rw,nsdelegate
42 31 0:39 / /odd\\040dir rw - cgroup2 cgroup2 rw
";
        let got = cgroup_mounts(text);
        let want = [
            ("/sys/fs/cgroup/cpu,cpuacct", false),
            ("/sys/fs/cgroup/freezer", true),
            ("/sys/fs/cgroup/systemd", false),
            ("/sys/fs/cgroup/unified", true),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(d, f)| CgroupMount {
                    dir: d.to_string(),
                    freezes: *f
                })
                .collect::<Vec<_>>()
        );
    }
}
