//! One cgroup per container below the delegated base of every usable hierarchy.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::delegation::{BaseSource, CgroupVersion, Delegation, DelegationState};
use crate::detect::{join_cgroup, Hierarchies, V1Hierarchy, V2Hierarchy};
use crate::{fsutil, CgroupError};

/// Container cgroups are `<base>/lxu.payload.<name>`.
pub const PAYLOAD_PREFIX: &str = "lxu.payload.";
/// v2 leaf for monitors when their own cgroup is the base (see `create`).
pub const MONITOR_LEAF: &str = "lxu.monitor";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The container's cgroup in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPath {
    /// `memory`, `cpu,cpuacct`, `name=systemd`, or `unified`.
    pub hierarchy: String,
    pub version: CgroupVersion,
    /// v1: the hierarchy's controllers. v2: the container cgroup's
    /// `cgroup.controllers` (what limits can be set there).
    pub controllers: Vec<String>,
    /// Mountpoint of the hierarchy on the host.
    pub mountpoint: PathBuf,
    /// The cgroup as a path from the hierarchy root (what /proc/PID/cgroup shows).
    pub cgroup: String,
    /// The cgroup's directory.
    pub path: PathBuf,
}

impl CgroupPath {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// The container's cgroup `leaf` below `base` (cgroup `base_cgroup`) of a v1 hierarchy.
    fn v1(hier: &V1Hierarchy, base: &Path, base_cgroup: &str, leaf: &str) -> CgroupPath {
        CgroupPath {
            hierarchy: hier.name(),
            version: CgroupVersion::V1,
            controllers: hier.controllers.clone(),
            mountpoint: hier.mountpoint.clone(),
            cgroup: join_cgroup(base_cgroup, leaf),
            path: base.join(leaf),
        }
    }

    /// The same in the v2 hierarchy, with the controllers the cgroup has.
    fn v2(hier: &V2Hierarchy, base: &Path, base_cgroup: &str, leaf: &str) -> CgroupPath {
        let path = base.join(leaf);
        CgroupPath {
            hierarchy: "unified".to_owned(),
            version: CgroupVersion::V2,
            controllers: words(&path.join("cgroup.controllers")),
            mountpoint: hier.mountpoint.clone(),
            cgroup: join_cgroup(base_cgroup, leaf),
            path,
        }
    }
}

/// Why an existing container has no cgroup `leaf` in a hierarchy.
fn reason_absent(state: &DelegationState, leaf: &str) -> String {
    match state {
        DelegationState::NotWritable { reason } => reason.clone(),
        DelegationState::Usable { base, .. } => {
            format!("`{}` does not exist", base.join(leaf).display())
        }
    }
}

/// A hierarchy the container has no cgroup in, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unavailable {
    pub hierarchy: String,
    pub controllers: Vec<String>,
    pub reason: String,
}

/// The monitor moved itself into `<base>/lxu.monitor` so that the base could
/// enable controllers ("no internal processes").
#[derive(Debug, Clone, PartialEq, Eq)]
struct MonitorLeaf {
    base: PathBuf,
    leaf: PathBuf,
    /// Controllers this monitor enabled in the base, to undo when it is the last.
    enabled: Vec<String>,
}

/// The cgroups of one container.
#[derive(Debug)]
pub struct ContainerCgroup {
    name: String,
    pub(crate) v1: Vec<CgroupPath>,
    pub(crate) v2: Option<CgroupPath>,
    pub(crate) unavailable: Vec<Unavailable>,
    monitor_leaf: Option<MonitorLeaf>,
    notes: Vec<String>,
    pub(crate) timeout: Duration,
}

fn validate_name(name: &str) -> Result<(), CgroupError> {
    fsutil::check_name("container name", name, |n| match n.len() {
        0 => Some("empty"),
        201.. => Some("longer than 200 bytes"),
        _ => None,
    })
}

fn words(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn errno(e: &io::Error) -> Option<rustix::io::Errno> {
    rustix::io::Errno::from_io_error(e)
}

/// rmdir with retries while the kernel still counts exiting tasks (EBUSY).
fn rmdir_retry(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    let mut pause = Duration::from_millis(1);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if errno(&e) == Some(rustix::io::Errno::BUSY) && Instant::now() < deadline => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => {
                let mut pids = Vec::new();
                let _ = fsutil::procs_recursive(dir, &mut pids);
                if errno(&e) == Some(rustix::io::Errno::BUSY) && !pids.is_empty() {
                    return Err(CgroupError::Busy {
                        path: dir.to_owned(),
                        pids,
                    });
                }
                return Err(CgroupError::Rmdir {
                    path: dir.to_owned(),
                    source: e,
                });
            }
        }
    }
}

/// Removes `dir` and every cgroup below it, deepest first.
/// Removes empty cgroup directories in the given order (deepest first), retrying while the
/// last tasks of each exit.
pub fn remove_dirs(dirs: &[PathBuf], timeout: Duration) -> Result<(), CgroupError> {
    let deadline = Instant::now() + timeout;
    for d in dirs {
        rmdir_retry(d, deadline)?;
    }
    Ok(())
}

pub(crate) fn remove_tree(dir: &Path, timeout: Duration) -> Result<(), CgroupError> {
    if !dir.exists() {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    let mut dirs = Vec::new();
    fsutil::subtree_deepest_first(dir, &mut dirs)?;
    dirs.push(dir.to_owned());
    for d in dirs {
        rmdir_retry(&d, deadline)?;
    }
    Ok(())
}

/// v1 cpuset cgroups start with empty cpus/mems unless the parent has
/// `cgroup.clone_children`; an empty cpuset refuses tasks.
fn init_cpuset(parent: &Path, dir: &Path) -> Result<(), CgroupError> {
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let cur = fsutil::read_opt(&dir.join(f))?.unwrap_or_default();
        if !cur.trim().is_empty() {
            continue;
        }
        let from_parent = fsutil::read_trimmed(&parent.join(f))?;
        if !from_parent.is_empty() {
            fsutil::write(&dir.join(f), &from_parent)?;
        }
    }
    Ok(())
}

struct Builder {
    created: Vec<PathBuf>,
    notes: Vec<String>,
    timeout: Duration,
}

impl Builder {
    /// mkdir, or take over a leftover of a crashed monitor if nothing runs in it.
    fn prepare(&mut self, dir: &Path) -> Result<(), CgroupError> {
        match fs::create_dir(dir) {
            Ok(()) => {
                self.created.push(dir.to_owned());
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(CgroupError::Mkdir {
                    path: dir.to_owned(),
                    source: e,
                })
            }
        }
        let mut pids = Vec::new();
        fsutil::procs_recursive(dir, &mut pids)?;
        if !pids.is_empty() {
            return Err(CgroupError::Busy {
                path: dir.to_owned(),
                pids,
            });
        }
        // Recreate it so no limit of the previous run lingers.
        if remove_tree(dir, Duration::from_millis(200)).is_ok() && fs::create_dir(dir).is_ok() {
            self.created.push(dir.to_owned());
            self.notes.push(format!(
                "removed the empty leftover cgroup `{}` of an earlier run",
                dir.display()
            ));
        } else {
            self.notes.push(format!(
                "reusing the empty leftover cgroup `{}` of an earlier run",
                dir.display()
            ));
        }
        Ok(())
    }

    fn rollback(&mut self) {
        for d in self.created.drain(..).rev() {
            let _ = remove_tree(&d, self.timeout);
        }
    }
}

impl ContainerCgroup {
    /// Creates `lxu.payload.<name>` below the delegated base in every usable
    /// hierarchy. Hierarchies that are not usable are left out (the container
    /// runs without them; `apply` names them when a setting needs one). With
    /// no usable hierarchy at all the result is empty (`is_empty`).
    ///
    /// v2: when the base is the caller's own (non-root) cgroup and the caller
    /// is the only process in it, the caller moves into `<base>/lxu.monitor`
    /// first so that the base may enable controllers for the container.
    pub fn create(
        h: &Hierarchies,
        deleg: &Delegation,
        name: &str,
    ) -> Result<ContainerCgroup, CgroupError> {
        validate_name(name)?;
        let mut b = Builder {
            created: Vec::new(),
            notes: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        };
        let mut cg = ContainerCgroup::empty(name);
        match cg.build(h, deleg, &mut b) {
            Ok(()) => {
                cg.notes = b.notes;
                Ok(cg)
            }
            Err(e) => {
                b.rollback();
                cg.undo_monitor_leaf();
                Err(e)
            }
        }
    }

    /// The existing cgroups of container `name` (for attach, freeze, stats or
    /// kill from another process than the monitor). Hierarchies where the
    /// directory does not exist are left out.
    pub fn open(
        h: &Hierarchies,
        deleg: &Delegation,
        name: &str,
    ) -> Result<ContainerCgroup, CgroupError> {
        validate_name(name)?;
        let leaf = format!("{PAYLOAD_PREFIX}{name}");
        let mut cg = ContainerCgroup::empty(name);
        for (hier, d) in h.v1.iter().zip(&deleg.v1) {
            match &d.state {
                DelegationState::Usable { base, cgroup, .. } if base.join(&leaf).is_dir() => {
                    cg.v1.push(CgroupPath::v1(hier, base, cgroup, &leaf))
                }
                state => cg.unavailable.push(Unavailable {
                    hierarchy: hier.name(),
                    controllers: hier.controllers.clone(),
                    reason: reason_absent(state, &leaf),
                }),
            }
        }
        if let (Some(hier), Some(d)) = (&h.v2, &deleg.v2) {
            match &d.state {
                DelegationState::Usable { base, cgroup, .. } if base.join(&leaf).is_dir() => {
                    cg.v2 = Some(CgroupPath::v2(hier, base, cgroup, &leaf))
                }
                state => cg.unavailable.push(Unavailable {
                    hierarchy: "unified".to_owned(),
                    controllers: hier.controllers.clone(),
                    reason: reason_absent(state, &leaf),
                }),
            }
        }
        Ok(cg)
    }

    fn empty(name: &str) -> ContainerCgroup {
        ContainerCgroup {
            name: name.to_owned(),
            v1: Vec::new(),
            v2: None,
            unavailable: Vec::new(),
            monitor_leaf: None,
            notes: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    fn build(
        &mut self,
        h: &Hierarchies,
        deleg: &Delegation,
        b: &mut Builder,
    ) -> Result<(), CgroupError> {
        let leaf = format!("{PAYLOAD_PREFIX}{}", self.name);
        for (hier, d) in h.v1.iter().zip(&deleg.v1) {
            let (base, cgroup) = match &d.state {
                DelegationState::Usable { base, cgroup, .. } => (base, cgroup),
                DelegationState::NotWritable { reason } => {
                    self.unavailable.push(Unavailable {
                        hierarchy: hier.name(),
                        controllers: hier.controllers.clone(),
                        reason: reason.clone(),
                    });
                    continue;
                }
            };
            let path = base.join(&leaf);
            b.prepare(&path)?;
            if hier.has("cpuset") {
                init_cpuset(base, &path)?;
            }
            self.v1.push(CgroupPath::v1(hier, base, cgroup, &leaf));
        }
        let (Some(hier), Some(d)) = (&h.v2, &deleg.v2) else {
            return Ok(());
        };
        let (base, cgroup, source) = match &d.state {
            DelegationState::Usable {
                base,
                cgroup,
                source,
            } => (base, cgroup, *source),
            DelegationState::NotWritable { reason } => {
                self.unavailable.push(Unavailable {
                    hierarchy: "unified".to_owned(),
                    controllers: hier.controllers.clone(),
                    reason: reason.clone(),
                });
                return Ok(());
            }
        };
        if source == BaseSource::Current && cgroup != "/" {
            self.enter_monitor_leaf(base, b)?;
        }
        b.prepare(&base.join(&leaf))?;
        let enabled = self.enable_controllers(base, b);
        if let Some(ml) = &mut self.monitor_leaf {
            ml.enabled = enabled;
        }
        self.v2 = Some(CgroupPath::v2(hier, base, cgroup, &leaf));
        Ok(())
    }

    /// "No internal processes": a non-root v2 cgroup holding processes cannot
    /// enable controllers, so the monitor leaves the base for a leaf of its own.
    fn enter_monitor_leaf(&mut self, base: &Path, b: &mut Builder) -> Result<(), CgroupError> {
        let procs = fsutil::procs_of(base)?;
        if procs.is_empty() {
            return Ok(());
        }
        let me = rustix::process::getpid()
            .as_raw_nonzero()
            .get()
            .unsigned_abs();
        if procs != [me] {
            b.notes.push(format!(
                "v2: `{}` holds other processes ({procs:?}) besides the monitor, so it cannot \
                 enable controllers for the container (no internal processes rule)",
                base.display()
            ));
            return Ok(());
        }
        let leaf = base.join(MONITOR_LEAF);
        match fs::create_dir(&leaf) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(CgroupError::Mkdir {
                    path: leaf,
                    source: e,
                })
            }
        }
        fsutil::write_hint(&leaf.join("cgroup.procs"), &me.to_string(), |e| {
            fsutil::errno_hint_for_move(e, true)
        })?;
        self.monitor_leaf = Some(MonitorLeaf {
            base: base.to_owned(),
            leaf,
            enabled: Vec::new(),
        });
        Ok(())
    }

    /// Enables in the base every controller it has; returns those this call enabled.
    fn enable_controllers(&self, base: &Path, b: &mut Builder) -> Vec<String> {
        let available = words(&base.join("cgroup.controllers"));
        let already = words(&base.join("cgroup.subtree_control"));
        let mut enabled = Vec::new();
        for c in available.iter().filter(|c| !already.contains(c)) {
            let f = base.join("cgroup.subtree_control");
            match fsutil::write_raw(&f, &format!("+{c}")) {
                Ok(()) => enabled.push(c.clone()),
                Err(e) => b.notes.push(format!(
                    "v2: cannot enable controller `{c}` in `{}`: {e}",
                    f.display()
                )),
            }
        }
        enabled
    }

    /// Moves the monitor back and removes its leaf when no container of this
    /// base is left; otherwise the leaf stays for the monitors still running.
    fn undo_monitor_leaf(&mut self) {
        let Some(ml) = &self.monitor_leaf else { return };
        let me = rustix::process::getpid()
            .as_raw_nonzero()
            .get()
            .unsigned_abs();
        let others = fsutil::subdirs(&ml.base)
            .unwrap_or_default()
            .into_iter()
            .any(|d| {
                d.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(PAYLOAD_PREFIX))
            });
        if others || fsutil::procs_of(&ml.leaf).unwrap_or_default() != [me] {
            self.notes.push(format!(
                "v2: left `{}` in place: other containers or monitors use it",
                ml.leaf.display()
            ));
            return;
        }
        let ctl = ml.base.join("cgroup.subtree_control");
        for c in &ml.enabled {
            let _ = fsutil::write_raw(&ctl, &format!("-{c}"));
        }
        let back = fsutil::write_raw(&ml.base.join("cgroup.procs"), &me.to_string());
        if back.is_ok() && fs::remove_dir(&ml.leaf).is_ok() {
            self.monitor_leaf = None;
        } else {
            self.notes.push(format!(
                "v2: could not leave `{}` (the base enables controllers it did not enable itself)",
                ml.leaf.display()
            ));
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container's cgroup in every hierarchy it has one in, v1 first.
    pub fn paths(&self) -> Vec<CgroupPath> {
        self.v1.iter().chain(self.v2.iter()).cloned().collect()
    }

    /// What to give the container's root so that an init that manages cgroups itself
    /// (systemd) can build its tree below: each directory, and on v2 the files that
    /// enable controllers and threads for children. `cgroup.procs` of the container's own
    /// cgroups stays the caller's (attach moves processes in as the caller), and so do the
    /// limit files: the container can subdivide its limits, never raise them.
    pub fn delegation_targets(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self.v1.iter().map(|p| p.path.clone()).collect();
        if let Some(p) = &self.v2 {
            out.push(p.path.clone());
            for f in ["cgroup.subtree_control", "cgroup.threads"] {
                out.push(p.path.join(f));
            }
        }
        out
    }

    /// Cgroups the container made below its own, deepest first.
    pub fn subcgroups(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for p in self.v1.iter().chain(self.v2.iter()) {
            let _ = fsutil::subtree_deepest_first(&p.path, &mut out);
        }
        out
    }

    /// True when no hierarchy was usable: the container runs without cgroups.
    pub fn is_empty(&self) -> bool {
        self.v1.is_empty() && self.v2.is_none()
    }

    /// Things worth a log line that did not stop `create`/`remove`.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// How long freeze, thaw, kill_all and remove wait for the kernel.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Moves process `pid` (all its threads) into the container's cgroups.
    /// v1 requires the caller's euid to equal the target's uid unless root:
    /// call it while init still runs as the user.
    pub fn attach(&self, pid: u32) -> Result<(), CgroupError> {
        let v = pid.to_string();
        for p in &self.v1 {
            fsutil::write_hint(&p.path.join("cgroup.procs"), &v, |e| {
                fsutil::errno_hint_for_move(e, false)
            })?;
        }
        if let Some(p) = &self.v2 {
            fsutil::write_hint(&p.path.join("cgroup.procs"), &v, |e| {
                fsutil::errno_hint_for_move(e, true)
            })?;
        }
        Ok(())
    }

    /// Every process in the container's cgroups (and cgroups below them), sorted.
    pub fn procs(&self) -> Result<Vec<u32>, CgroupError> {
        let mut out = Vec::new();
        for p in self.v1.iter().chain(self.v2.iter()) {
            fsutil::procs_recursive(&p.path, &mut out)?;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Removes the container's cgroups (and any the container made below
    /// them), deepest first, retrying while the last tasks exit. Already
    /// removed directories are fine, so it can be called again after an error.
    pub fn remove(&mut self) -> Result<(), CgroupError> {
        let mut first = None;
        for p in self.v1.iter().chain(self.v2.iter()) {
            if let Err(e) = remove_tree(&p.path, self.timeout) {
                first.get_or_insert(e);
            }
        }
        if first.is_none() {
            self.undo_monitor_leaf();
        }
        first.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(validate_name("c1").is_ok());
        for bad in ["", "a/b", "x\ny", &"n".repeat(201)] {
            let e = validate_name(bad).unwrap_err();
            assert!(e.to_string().starts_with("invalid container name"), "{e}");
        }
    }

    #[test]
    fn remove_tree_removes_nested_dirs_and_tolerates_missing() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("lxu.payload.c");
        fs::create_dir_all(d.join("a/b")).unwrap();
        fs::create_dir_all(d.join("c")).unwrap();
        remove_tree(&d, Duration::from_millis(10)).unwrap();
        assert!(!d.exists());
        remove_tree(&d, Duration::from_millis(10)).unwrap();
    }
}
