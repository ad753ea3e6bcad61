//! The host's cgroup hierarchies as the tests see them: where a process's cgroups are,
//! and which container cgroups exist.

use std::path::{Path, PathBuf};

/// One mounted hierarchy: its controllers (`memory`, `name=systemd`; empty for cgroup2)
/// and where it is mounted.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    pub controllers: Vec<String>,
    pub mount_point: PathBuf,
    pub v2: bool,
}

/// The cgroup hierarchies mounted in our mount namespace.
pub fn hierarchies() -> Vec<Hierarchy> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            let mut rf = right.split(' ');
            let fstype = rf.next()?;
            let _source = rf.next()?;
            let opts = rf.next().unwrap_or("");
            match fstype {
                "cgroup" => Some(Hierarchy {
                    controllers: opts
                        .split(',')
                        .filter(|o| {
                            !matches!(*o, "rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime")
                                && !o.starts_with("release_agent")
                                && *o != "clone_children"
                                && *o != "xattr"
                                && *o != "noprefix"
                        })
                        .map(str::to_string)
                        .collect(),
                    mount_point: PathBuf::from(mount_point),
                    v2: false,
                }),
                "cgroup2" => Some(Hierarchy {
                    controllers: Vec::new(),
                    mount_point: PathBuf::from(mount_point),
                    v2: true,
                }),
                _ => None,
            }
        })
        .collect()
}

/// One line of `/proc/PID/cgroup` resolved to a host directory.
#[derive(Debug, Clone)]
pub struct Membership {
    /// The controllers field (`memory`, `cpu,cpuacct`, `name=systemd`, empty for v2).
    pub controllers: String,
    /// The path inside the hierarchy.
    pub path: String,
    /// The directory on the host, if the hierarchy is mounted.
    pub dir: Option<PathBuf>,
}

/// Where `pid`'s cgroups are, hierarchy by hierarchy.
pub fn memberships(pid: i32) -> Vec<Membership> {
    let hs = hierarchies();
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
            let dir = if ctrl.is_empty() {
                hs.iter().find(|h| h.v2)
            } else {
                let want: Vec<&str> = ctrl.split(',').collect();
                hs.iter()
                    .find(|h| !h.v2 && want.iter().all(|w| h.controllers.iter().any(|c| c == w)))
            }
            .map(|h| h.mount_point.join(path.trim_start_matches('/')));
            Some(Membership {
                controllers: ctrl.to_string(),
                path: path.to_string(),
                dir,
            })
        })
        .collect()
}

/// The host directory of `pid`'s cgroup in the hierarchy holding `controller`.
pub fn dir_of(pid: i32, controller: &str) -> Option<PathBuf> {
    memberships(pid)
        .into_iter()
        .find(|m| m.controllers.split(',').any(|c| c == controller))
        .and_then(|m| m.dir)
}

/// Every directory below the cgroup mounts whose name starts with `prefix`.
pub fn dirs_named(prefix: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with(prefix) {
                out.push(p.clone());
            }
            walk(&p, prefix, depth - 1, out);
        }
    }
    let mut out = Vec::new();
    for h in hierarchies() {
        walk(&h.mount_point, prefix, 12, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// The cgroup directories lxu makes for container `name` (LXC's scheme with lxu's
/// prefix: `lxu.payload.NAME`, and variants `lxu.payload.NAME-N` if one was left over).
pub fn payload_dirs(name: &str) -> Vec<PathBuf> {
    dirs_named(&format!("lxu.payload.{name}"))
        .into_iter()
        .filter(|p| {
            let n = p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let rest = &n[format!("lxu.payload.{name}").len()..];
            rest.is_empty()
                || rest
                    .strip_prefix('-')
                    .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()))
        })
        .collect()
}

/// Reads a cgroup file, trimmed.
pub fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file))
        .ok()
        .map(|s| s.trim().to_string())
}
