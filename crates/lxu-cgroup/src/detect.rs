//! Which cgroup hierarchies are mounted and where the caller sits in each,
//! from /proc/self/mountinfo and /proc/self/cgroup.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{fsutil, CgroupError};

/// All cgroup hierarchies visible to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchies {
    /// Mounted v1 hierarchies, in /proc/self/cgroup order.
    pub v1: Vec<V1Hierarchy>,
    /// The cgroup2 mount, if any (hybrid or pure v2 host).
    pub v2: Option<V2Hierarchy>,
}

/// One mounted cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// Controllers bound to it as /proc/self/cgroup names them: `cpu`,
    /// `cpuacct`, or a named hierarchy such as `name=systemd`.
    pub controllers: Vec<String>,
    /// Where it is mounted (prefixed by the root given to `detect_at`).
    pub mountpoint: PathBuf,
    /// The cgroup that the mount shows at `mountpoint` (`/` unless a subtree is mounted).
    pub mount_root: String,
    /// The caller's cgroup, as a path from the hierarchy root.
    pub current: String,
}

/// The cgroup2 mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Hierarchy {
    pub mountpoint: PathBuf,
    pub mount_root: String,
    pub current: String,
    /// `cgroup.controllers` at the mountpoint: what v2 can offer at all here.
    pub controllers: Vec<String>,
    /// `cgroup.subtree_control` at the mountpoint.
    pub subtree_control: Vec<String>,
    /// The superblock's options (`nsdelegate`, `favordynmods`, …).
    pub mount_options: Vec<String>,
}

impl V1Hierarchy {
    /// `cpu,cpuacct` or `name=systemd`: the name used in messages and reports.
    pub fn name(&self) -> String {
        self.controllers.join(",")
    }

    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// Filesystem path of a cgroup given as a path from the hierarchy root;
    /// `None` if it is outside the mounted subtree.
    pub fn fs_path(&self, cgroup: &str) -> Option<PathBuf> {
        fs_path(&self.mountpoint, &self.mount_root, cgroup)
    }

    /// Filesystem path of the caller's cgroup.
    pub fn current_path(&self) -> Option<PathBuf> {
        self.fs_path(&self.current)
    }
}

impl V2Hierarchy {
    pub fn fs_path(&self, cgroup: &str) -> Option<PathBuf> {
        fs_path(&self.mountpoint, &self.mount_root, cgroup)
    }

    pub fn current_path(&self) -> Option<PathBuf> {
        self.fs_path(&self.current)
    }
}

fn fs_path(mountpoint: &Path, mount_root: &str, cgroup: &str) -> Option<PathBuf> {
    let rest = if mount_root == "/" {
        cgroup
    } else {
        let r = cgroup.strip_prefix(mount_root)?;
        if !(r.is_empty() || r.starts_with('/')) {
            return None;
        }
        r
    };
    let rest = rest.trim_start_matches('/');
    // A cgroup namespace shows cgroups outside it as `/..`: not reachable here.
    if rest.split('/').any(|c| c == "..") {
        return None;
    }
    Some(if rest.is_empty() {
        mountpoint.to_owned()
    } else {
        mountpoint.join(rest)
    })
}

/// Joins a child name to a hierarchy path (`/` + `a` = `/a`, `/x` + `a` = `/x/a`).
pub(crate) fn join_cgroup(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

pub(crate) fn parent_cgroup(cgroup: &str) -> Option<String> {
    if cgroup == "/" || cgroup.is_empty() {
        return None;
    }
    let i = cgroup.rfind('/')?;
    Some(if i == 0 {
        "/".to_owned()
    } else {
        cgroup[..i].to_owned()
    })
}

struct MountEntry {
    root: String,
    mountpoint: String,
    fstype: String,
    super_opts: Vec<String>,
}

/// Parses each non-blank line of `text` (the file `what`) with `parse`; a line it
/// refuses is a [`CgroupError::Parse`].
fn parse_lines<T>(
    text: &str,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, CgroupError> {
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    lines
        .map(|(n, line)| {
            parse(line).ok_or_else(|| CgroupError::Parse {
                what: what.to_owned(),
                line: n + 1,
                text: line.to_owned(),
            })
        })
        .collect()
}

fn parse_mountinfo(text: &str) -> Result<Vec<MountEntry>, CgroupError> {
    parse_lines(text, "mountinfo", |line| {
        let (pre, post) = line.split_once(" - ")?;
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 6 || post.len() < 3 {
            return None;
        }
        Some(MountEntry {
            root: lxu_config::decode_octal(pre[3]),
            mountpoint: lxu_config::decode_octal(pre[4]),
            fstype: post[0].to_owned(),
            super_opts: post[2].split(',').map(str::to_owned).collect(),
        })
    })
}

struct CgroupLine {
    id: u32,
    controllers: Vec<String>,
    path: String,
}

fn parse_proc_cgroup(text: &str) -> Result<Vec<CgroupLine>, CgroupError> {
    parse_lines(text, "/proc/self/cgroup", |line| {
        let mut it = line.splitn(3, ':');
        let id = it.next()?.parse().ok()?;
        let ctrls = it.next()?;
        let path = it.next()?;
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        Some(CgroupLine {
            id,
            controllers: ctrls
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            path: path.to_owned(),
        })
    })
}

/// Picks the mount of a hierarchy that shows the caller's cgroup, preferring
/// the mount of the whole hierarchy over bind mounts of subtrees. If none
/// shows it, any mount is kept so that delegation can say why it is unusable.
fn best_mount<'a>(
    candidates: impl Iterator<Item = &'a MountEntry> + Clone,
    current: &str,
) -> Option<&'a MountEntry> {
    candidates
        .clone()
        .filter(|m| fs_path(Path::new("/"), &m.root, current).is_some())
        .min_by_key(|m| m.root.len())
        .or_else(|| candidates.min_by_key(|m| m.root.len()))
}

fn words(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

impl Hierarchies {
    /// Reads the caller's own view from /proc/self.
    pub fn detect() -> Result<Hierarchies, CgroupError> {
        let mi = fsutil::read(Path::new("/proc/self/mountinfo"))?;
        let cg = fsutil::read(Path::new("/proc/self/cgroup"))?;
        Self::detect_at(Path::new("/"), &mi, &cg)
    }

    /// Like `detect`, with mountpoints taken below `root` (for tests against a
    /// directory tree).
    pub fn detect_at(
        root: &Path,
        mountinfo: &str,
        proc_cgroup: &str,
    ) -> Result<Hierarchies, CgroupError> {
        let mounts = parse_mountinfo(mountinfo)?;
        let lines = parse_proc_cgroup(proc_cgroup)?;
        let rooted = |mp: &str| root.join(mp.trim_start_matches('/'));

        let mut v1 = Vec::new();
        let mut v2 = None;
        for line in &lines {
            if line.id == 0 && line.controllers.is_empty() {
                let cands = mounts.iter().filter(|m| m.fstype == "cgroup2");
                if let Some(m) = best_mount(cands, &line.path) {
                    let mountpoint = rooted(&m.mountpoint);
                    v2 = Some(V2Hierarchy {
                        controllers: words(&mountpoint.join("cgroup.controllers")),
                        subtree_control: words(&mountpoint.join("cgroup.subtree_control")),
                        mountpoint,
                        mount_root: m.root.clone(),
                        current: line.path.clone(),
                        mount_options: m.super_opts.clone(),
                    });
                }
                continue;
            }
            if line.controllers.is_empty() {
                continue;
            }
            let cands = mounts.iter().filter(|m| {
                m.fstype == "cgroup"
                    && line
                        .controllers
                        .iter()
                        .all(|c| m.super_opts.iter().any(|o| o == c))
            });
            // A hierarchy that is not mounted cannot be used; skip it.
            if let Some(m) = best_mount(cands, &line.path) {
                v1.push(V1Hierarchy {
                    controllers: line.controllers.clone(),
                    mountpoint: rooted(&m.mountpoint),
                    mount_root: m.root.clone(),
                    current: line.path.clone(),
                });
            }
        }
        Ok(Hierarchies { v1, v2 })
    }

    /// The v1 hierarchy holding `controller`, if mounted.
    pub fn v1_with(&self, controller: &str) -> Option<&V1Hierarchy> {
        self.v1.iter().find(|h| h.has(controller))
    }

    /// True if nothing is mounted at all.
    pub fn is_empty(&self) -> bool {
        self.v1.is_empty() && self.v2.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MI: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
50 23 0:32 /lxc/c1 /mnt/mem\\040bind rw,relatime - cgroup cgroup rw,memory
";
    const HYBRID_CG: &str = "\
12:pids:/
9:name=systemd:/user/1000
4:memory:/process_api/abc
3:cpuset:/
2:cpu,cpuacct:/
0::/
";

    #[test]
    fn hybrid_host_is_parsed() {
        let h = Hierarchies::detect_at(Path::new("/r"), HYBRID_MI, HYBRID_CG).unwrap();
        let names: Vec<String> = h.v1.iter().map(V1Hierarchy::name).collect();
        // pids is listed in /proc/self/cgroup but not mounted: skipped.
        assert_eq!(names, ["name=systemd", "memory", "cpuset", "cpu,cpuacct"]);
        let mem = h.v1_with("memory").unwrap();
        // The whole-hierarchy mount wins over the bind mount of /lxc/c1.
        assert_eq!(mem.mountpoint, Path::new("/r/sys/fs/cgroup/memory"));
        assert_eq!(
            mem.current_path().unwrap(),
            Path::new("/r/sys/fs/cgroup/memory/process_api/abc")
        );
        assert_eq!(
            h.v1_with("cpuacct").unwrap().mountpoint,
            Path::new("/r/sys/fs/cgroup/cpu,cpuacct")
        );
        let v2 = h.v2.unwrap();
        assert_eq!(v2.mountpoint, Path::new("/r/sys/fs/cgroup/unified"));
        assert_eq!(v2.current_path().unwrap(), v2.mountpoint);
    }

    #[test]
    fn subtree_mount_maps_paths_and_rejects_outside() {
        let mi = "50 23 0:32 /lxc/c1 /mnt/mem\\040bind rw - cgroup cgroup rw,memory\n";
        let h = Hierarchies::detect_at(Path::new("/"), mi, "4:memory:/lxc/c1/sub\n").unwrap();
        let m = &h.v1[0];
        assert_eq!(m.mountpoint, Path::new("/mnt/mem bind"));
        assert_eq!(m.current_path().unwrap(), Path::new("/mnt/mem bind/sub"));
        assert_eq!(m.fs_path("/lxc/c10"), None);
        assert_eq!(m.fs_path("/other"), None);
        let h = Hierarchies::detect_at(Path::new("/"), mi, "4:memory:/elsewhere\n").unwrap();
        assert_eq!(
            h.v1[0].current_path(),
            None,
            "mount does not show the caller's cgroup"
        );
    }

    #[test]
    fn pure_v2_host() {
        let mi = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let cg = "0::/user.slice/user-1000.slice/session-1.scope\n";
        let h = Hierarchies::detect_at(Path::new("/"), mi, cg).unwrap();
        assert!(h.v1.is_empty());
        let v2 = h.v2.unwrap();
        assert_eq!(
            v2.current_path().unwrap(),
            Path::new("/sys/fs/cgroup/user.slice/user-1000.slice/session-1.scope")
        );
    }

    #[test]
    fn cgroup_namespace_outside_paths_are_unreachable() {
        let mi = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let h = Hierarchies::detect_at(Path::new("/"), mi, "0::/../sibling\n").unwrap();
        assert_eq!(h.v2.unwrap().current_path(), None);
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        let e = Hierarchies::detect_at(Path::new("/"), "garbage\n", "0::/\n").unwrap_err();
        assert!(e.to_string().contains("line 1 of mountinfo"), "{e}");
        let e = Hierarchies::detect_at(Path::new("/"), "", "0::/\nx:y\n").unwrap_err();
        assert!(e.to_string().contains("line 2 of /proc/self/cgroup"), "{e}");
    }

    #[test]
    fn path_helpers() {
        assert_eq!(join_cgroup("/", "a"), "/a");
        assert_eq!(join_cgroup("/x", "a"), "/x/a");
        assert_eq!(parent_cgroup("/x/a").as_deref(), Some("/x"));
        assert_eq!(parent_cgroup("/x").as_deref(), Some("/"));
        assert_eq!(parent_cgroup("/"), None);
    }
}
