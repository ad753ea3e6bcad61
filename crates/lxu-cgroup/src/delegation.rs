//! Where may the caller create child cgroups, hierarchy by hierarchy.
//!
//! The check is done with the caller's effective ids (the runtime's monitor
//! runs as the user), and `uid` only says whose per-user cgroup to look for.

use std::fmt;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::detect::{parent_cgroup, Hierarchies, V1Hierarchy, V2Hierarchy};
use crate::fsutil;

/// Name of the directory that holds per-user cgroups (`<cgroup>/lxu/<user>`).
pub const USER_DIR: &str = "lxu";

/// Controllers whose absence is worth the start-time warning; the others
/// (devices, net_cls, perf_event, rdma, misc, hugetlb, named hierarchies) are
/// either unusable in a user namespace or rarely configured.
const IMPORTANT: &[&str] = &[
    "cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "blkio", "io",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// How the base of a usable hierarchy was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseSource {
    /// The caller's own cgroup (v1 (a); v2 when no ancestor is delegated).
    Current,
    /// The per-user cgroup made by `delegate_user` (v1 only).
    UserDir,
    /// v2: the nearest delegated ancestor of the caller's cgroup (usually its
    /// parent), so the base holds no process and can enable controllers.
    Ancestor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DelegationState {
    Usable {
        /// Filesystem path below which container cgroups are created.
        base: PathBuf,
        /// The same as a path from the hierarchy root.
        cgroup: String,
        source: BaseSource,
    },
    NotWritable {
        reason: String,
    },
}

/// Verdict for one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HierarchyDelegation {
    /// `memory`, `cpu,cpuacct`, `name=systemd`, or `unified` for v2.
    pub hierarchy: String,
    pub version: CgroupVersion,
    /// v1: the controllers of the hierarchy. v2: those the base offers to its
    /// children (its `cgroup.controllers`); freezing and killing need none.
    pub controllers: Vec<String>,
    pub state: DelegationState,
}

impl HierarchyDelegation {
    pub fn is_usable(&self) -> bool {
        matches!(self.state, DelegationState::Usable { .. })
    }

    pub fn base(&self) -> Option<&Path> {
        match &self.state {
            DelegationState::Usable { base, .. } => Some(base),
            DelegationState::NotWritable { .. } => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match &self.state {
            DelegationState::Usable { .. } => None,
            DelegationState::NotWritable { reason } => Some(reason),
        }
    }
}

/// Per-hierarchy verdicts; `v1` is parallel to `Hierarchies::v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub uid: u32,
    pub v1: Vec<HierarchyDelegation>,
    pub v2: Option<HierarchyDelegation>,
}

impl Delegation {
    pub fn all(&self) -> impl Iterator<Item = &HierarchyDelegation> {
        self.v1.iter().chain(self.v2.iter())
    }

    pub fn any_usable(&self) -> bool {
        self.all().any(HierarchyDelegation::is_usable)
    }

    /// Controllers present on the host that no usable hierarchy gives this
    /// caller, with the reason of the hierarchy that holds them.
    pub fn missing_controllers(&self) -> Vec<(String, String)> {
        let usable: Vec<&str> = self
            .all()
            .filter(|d| d.is_usable())
            .flat_map(|d| d.controllers.iter().map(String::as_str))
            .collect();
        let v2_usable = self.v2.as_ref().is_some_and(HierarchyDelegation::is_usable);
        let mut out = Vec::new();
        for d in self.all() {
            let Some(reason) = d.reason() else { continue };
            for c in &d.controllers {
                // The v2 core freezer stands in for the v1 freezer controller.
                let covered = usable.contains(&c.as_str()) || (c == "freezer" && v2_usable);
                if !covered && !out.iter().any(|(n, _): &(String, String)| n == c) {
                    out.push((c.clone(), reason.to_owned()));
                }
            }
        }
        out
    }

    /// One line for the start of a container, or `None` if every controller
    /// that matters is delegated.
    pub fn warning(&self) -> Option<String> {
        if !self.any_usable() {
            let reason = self
                .all()
                .find_map(HierarchyDelegation::reason)
                .unwrap_or("no cgroup hierarchy is mounted");
            return Some(format!(
                "cgroups: none delegated to uid {}: the container runs without limits, \
                 freezer or usage statistics ({reason})",
                self.uid
            ));
        }
        let missing: Vec<(String, String)> = self
            .missing_controllers()
            .into_iter()
            .filter(|(c, _)| IMPORTANT.contains(&c.as_str()))
            .collect();
        let (_, reason) = missing.first()?;
        let names: Vec<&str> = missing.iter().map(|(c, _)| c.as_str()).collect();
        Some(format!(
            "cgroups: {} not delegated to uid {}: settings for them will fail ({reason})",
            names.join(", "),
            self.uid
        ))
    }
}

impl fmt::Display for Delegation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.all() {
            let label = match d.version {
                CgroupVersion::V1 => d.hierarchy.clone(),
                CgroupVersion::V2 => format!("{} (v2)", d.hierarchy),
            };
            match &d.state {
                DelegationState::Usable { base, source, .. } => {
                    let how = match source {
                        BaseSource::Current => "own cgroup",
                        BaseSource::UserDir => "per-user cgroup",
                        BaseSource::Ancestor => "ancestor of own cgroup",
                    };
                    write!(f, "{label}: usable below `{}` ({how})", base.display())?;
                    if d.version == CgroupVersion::V2 {
                        write!(f, ", controllers: {}", join_or_none(&d.controllers))?;
                    }
                    writeln!(f)?;
                }
                DelegationState::NotWritable { reason } => {
                    writeln!(f, "{label}: not usable: {reason}")?;
                }
            }
        }
        Ok(())
    }
}

fn join_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(" ")
    }
}

/// A v1 cgroup is usable if we can mkdir in it: containers go in children, which v1
/// gives to their creator, and a v1 move only checks the destination. (pam_cgfs, which
/// Debian's lxc recommends, makes `/user/<name>/0` owned by the user with root's
/// `cgroup.procs`: a user logged in through PAM is there.)
fn v1_usable(dir: &Path) -> bool {
    fsutil::can_write_dir(dir)
}

/// The first file that keeps a v2 cgroup from being delegated to us.
fn v2_blocker(dir: &Path) -> Option<PathBuf> {
    if !fsutil::can_write_dir(dir) {
        return Some(dir.to_owned());
    }
    ["cgroup.procs", "cgroup.subtree_control"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| !fsutil::can_write(p))
}

/// The ancestors of `cgroup` from itself up to the hierarchy root.
fn self_and_ancestors(cgroup: &str) -> Vec<String> {
    let mut out = vec![cgroup.to_owned()];
    let mut c = cgroup.to_owned();
    while let Some(p) = parent_cgroup(&c) {
        out.push(p.clone());
        c = p;
    }
    out
}

/// `<dir>/lxu/<entry owned by uid>`: looked up by owner rather than by name so that no
/// user database is needed; the name found in another hierarchy is tried first (every
/// hierarchy has the same `lxu/<user>`, so one directory scan serves them all).
fn user_dir_hinted(dir: &Path, uid: u32, hint: &mut Option<std::ffi::OsString>) -> Option<PathBuf> {
    let holder = dir.join(USER_DIR);
    if let Some(name) = hint.as_ref() {
        let p = holder.join(name);
        if fs::metadata(&p).is_ok_and(|m| m.is_dir() && m.uid() == uid && uid != 0) {
            return Some(p);
        }
    }
    let found = user_dir_scan(&holder, uid)?;
    *hint = found.file_name().map(|n| n.to_owned());
    Some(found)
}

fn user_dir_scan(holder: &Path, uid: u32) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(holder)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            e.metadata()
                .is_ok_and(|m| m.is_dir() && m.uid() == uid && uid != 0)
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found.into_iter().next()
}

/// The per-user cgroup nearest to the caller's cgroup: below the caller's
/// cgroup or one of its ancestors.
fn find_user_dir(
    fs_path: impl Fn(&str) -> Option<PathBuf>,
    current: &str,
    uid: u32,
    hint: &mut Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    self_and_ancestors(current)
        .iter()
        .filter_map(|c| fs_path(c))
        .find_map(|p| user_dir_hinted(&p, uid, hint))
}

fn v1_delegation(
    h: &V1Hierarchy,
    uid: u32,
    hint: &mut Option<std::ffi::OsString>,
) -> HierarchyDelegation {
    let mk = |state| HierarchyDelegation {
        hierarchy: h.name(),
        version: CgroupVersion::V1,
        controllers: h.controllers.clone(),
        state,
    };
    let Some(cur) = h.current_path() else {
        return mk(DelegationState::NotWritable {
            reason: format!(
                "the caller's cgroup `{}` is outside the mount at `{}`",
                h.current,
                h.mountpoint.display()
            ),
        });
    };
    if v1_usable(&cur) {
        return mk(DelegationState::Usable {
            base: cur,
            cgroup: h.current.clone(),
            source: BaseSource::Current,
        });
    }
    match find_user_dir(|c| h.fs_path(c), &h.current, uid, hint) {
        Some(dir) if v1_usable(&dir) => {
            let cgroup = cgroup_of(&h.mountpoint, &h.mount_root, &dir);
            mk(DelegationState::Usable {
                base: dir,
                cgroup,
                source: BaseSource::UserDir,
            })
        }
        Some(dir) => mk(DelegationState::NotWritable {
            reason: format!(
                "per-user cgroup `{}` is owned by uid {uid} but not writable here \
                 (its cgroup.procs must be owned by the user too; rerun `lxu setup-user` as root)",
                dir.display()
            ),
        }),
        None => mk(DelegationState::NotWritable {
            reason: format!(
                "`{}` is not writable and there is no per-user cgroup `{USER_DIR}/<user>` \
                 owned by uid {uid} in it or an ancestor (run `lxu setup-user` as root)",
                cur.display()
            ),
        }),
    }
}

/// Turns a filesystem path back into a path from the hierarchy root.
fn cgroup_of(mountpoint: &Path, mount_root: &str, path: &Path) -> String {
    let rel = path
        .strip_prefix(mountpoint)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let root = mount_root.trim_end_matches('/');
    if rel.is_empty() {
        if root.is_empty() {
            "/".to_owned()
        } else {
            root.to_owned()
        }
    } else {
        format!("{root}/{rel}")
    }
}

fn v2_delegation(h: &V2Hierarchy, uid: u32) -> HierarchyDelegation {
    let mk = |state, controllers| HierarchyDelegation {
        hierarchy: "unified".to_owned(),
        version: CgroupVersion::V2,
        controllers,
        state,
    };
    let words = |p: &Path| -> Vec<String> {
        fs::read_to_string(p.join("cgroup.controllers"))
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let usable = |dir: PathBuf, cgroup: String, source| {
        let controllers = words(&dir);
        mk(
            DelegationState::Usable {
                base: dir,
                cgroup,
                source,
            },
            controllers,
        )
    };
    let Some(cur) = h.current_path() else {
        return mk(
            DelegationState::NotWritable {
                reason: format!(
                    "the caller's cgroup `{}` is outside the mount at `{}`",
                    h.current,
                    h.mountpoint.display()
                ),
            },
            h.controllers.clone(),
        );
    };
    let cur_blocker = v2_blocker(&cur);
    // The root cgroup may hold processes and enable controllers at once.
    if h.current == "/" && cur_blocker.is_none() {
        return usable(cur, h.current.clone(), BaseSource::Current);
    }
    // The nearest delegated ancestor: container cgroups become siblings of
    // (a cgroup holding) the caller, and the base holds no process itself.
    for anc in self_and_ancestors(&h.current).into_iter().skip(1) {
        if let Some(adir) = h.fs_path(&anc) {
            if v2_blocker(&adir).is_none() {
                return usable(adir, anc, BaseSource::Ancestor);
            }
        }
    }
    let Some(blocker) = cur_blocker else {
        return usable(cur, h.current.clone(), BaseSource::Current);
    };
    let reason = match find_user_dir(|c| h.fs_path(c), &h.current, uid, &mut None) {
        Some(dir) => format!(
            "the per-user subtree `{}` exists but the caller's cgroup `{}` is outside it; \
             cgroup v2 moves a process only for a writer of `cgroup.procs` of the common \
             ancestor, so the runtime must run inside the subtree (root: `lxu setup-user --enter PID`)",
            dir.display(),
            h.current
        ),
        None => format!(
            "the caller's cgroup `{}` is not delegated (`{}` not writable) and neither is its parent",
            h.current,
            blocker.display()
        ),
    };
    mk(
        DelegationState::NotWritable { reason },
        h.controllers.clone(),
    )
}

impl Hierarchies {
    /// Where the caller may create container cgroups. See the module docs.
    pub fn delegation(&self, uid: u32) -> Delegation {
        Delegation {
            uid,
            v1: {
                let mut hint = None;
                self.v1
                    .iter()
                    .map(|h| v1_delegation(h, uid, &mut hint))
                    .collect()
            },
            v2: self.v2.as_ref().map(|h| v2_delegation(h, uid)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_are_listed_nearest_first() {
        assert_eq!(self_and_ancestors("/a/b"), ["/a/b", "/a", "/"]);
        assert_eq!(self_and_ancestors("/"), ["/"]);
    }

    #[test]
    fn cgroup_of_inverts_fs_path() {
        let mp = Path::new("/sys/fs/cgroup/memory");
        assert_eq!(cgroup_of(mp, "/", mp), "/");
        assert_eq!(cgroup_of(mp, "/", &mp.join("x/lxu/u")), "/x/lxu/u");
        assert_eq!(cgroup_of(mp, "/sub", &mp.join("lxu")), "/sub/lxu");
        assert_eq!(cgroup_of(mp, "/sub", mp), "/sub");
    }

    fn deleg(v1: Vec<(&str, bool)>, v2: Option<(Vec<&str>, bool)>) -> Delegation {
        let state = |ok: bool| {
            if ok {
                DelegationState::Usable {
                    base: PathBuf::from("/b"),
                    cgroup: "/b".into(),
                    source: BaseSource::Current,
                }
            } else {
                DelegationState::NotWritable {
                    reason: "nope".into(),
                }
            }
        };
        Delegation {
            uid: 1000,
            v1: v1
                .into_iter()
                .map(|(n, ok)| HierarchyDelegation {
                    hierarchy: n.into(),
                    version: CgroupVersion::V1,
                    controllers: n.split(',').map(str::to_owned).collect(),
                    state: state(ok),
                })
                .collect(),
            v2: v2.map(|(c, ok)| HierarchyDelegation {
                hierarchy: "unified".into(),
                version: CgroupVersion::V2,
                controllers: c.into_iter().map(str::to_owned).collect(),
                state: state(ok),
            }),
        }
    }

    #[test]
    fn warning_names_missing_important_controllers_only() {
        // This machine's shape: v1 delegated, v2 (hugetlb only) not.
        let d = deleg(
            vec![("memory", true), ("pids", true), ("devices", false)],
            Some((vec!["hugetlb"], false)),
        );
        assert_eq!(d.warning(), None);
        let names: Vec<String> = d.missing_controllers().into_iter().map(|x| x.0).collect();
        assert_eq!(names, ["devices", "hugetlb"]);

        let d = deleg(vec![("memory", false), ("pids", true)], None);
        let w = d.warning().unwrap();
        assert!(w.contains("memory not delegated to uid 1000"), "{w}");

        let d = deleg(vec![("memory", false)], Some((vec!["memory"], false)));
        assert!(d.warning().unwrap().contains("none delegated"));
    }

    #[test]
    fn v2_core_freezer_covers_v1_freezer() {
        let d = deleg(vec![("freezer", false)], Some((vec![], true)));
        assert!(d.missing_controllers().is_empty());
        assert_eq!(d.warning(), None);
    }
}
