//! Root side: giving a user cgroups of their own (`lxu setup-user`).
//!
//! cgroupfs lives in memory, so all of this is gone after a reboot; every
//! function here is idempotent so that it can simply run again at boot.

use std::fmt;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::container::remove_tree;
use crate::delegation::USER_DIR;
use crate::detect::Hierarchies;
use crate::{fsutil, CgroupError};

/// v2 leaf that `enter_user_subtree` puts a user's process into.
pub const SESSION_LEAF: &str = "lxu.session";

/// One change made (or, with `dry_run`, to be made) to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Mkdir(PathBuf),
    Chown { path: PathBuf, uid: u32, gid: u32 },
    Write { path: PathBuf, value: String },
    MoveProcess { pid: u32, cgroup_procs: PathBuf },
    Rmdir(PathBuf),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Mkdir(p) => write!(f, "mkdir {}", p.display()),
            Change::Chown { path, uid, gid } => write!(f, "chown {uid}:{gid} {}", path.display()),
            Change::Write { path, value } => write!(f, "write `{value}` to {}", path.display()),
            Change::MoveProcess { pid, cgroup_procs } => {
                write!(f, "move pid {pid} via {}", cgroup_procs.display())
            }
            Change::Rmdir(p) => write!(f, "rmdir {}", p.display()),
        }
    }
}

struct Plan {
    dry_run: bool,
    changes: Vec<Change>,
}

impl Plan {
    fn mkdir(&mut self, dir: &Path) -> Result<(), CgroupError> {
        if dir.is_dir() {
            return Ok(());
        }
        if !self.dry_run {
            fs::create_dir(dir).map_err(|e| CgroupError::Mkdir {
                path: dir.to_owned(),
                source: e,
            })?;
        }
        self.changes.push(Change::Mkdir(dir.to_owned()));
        Ok(())
    }

    fn chown(&mut self, path: &Path, uid: u32, gid: u32) -> Result<(), CgroupError> {
        match fs::metadata(path) {
            Ok(m) if m.uid() == uid && m.gid() == gid => return Ok(()),
            Ok(_) => {}
            // Not there yet in a dry run; a real run made it a moment ago.
            Err(_) if self.dry_run => {}
            Err(e) => return Err(CgroupError::read(path, e)),
        }
        if !self.dry_run {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| {
                CgroupError::Chown {
                    path: path.to_owned(),
                    uid,
                    gid,
                    source: e,
                }
            })?;
        }
        self.changes.push(Change::Chown {
            path: path.to_owned(),
            uid,
            gid,
        });
        Ok(())
    }

    fn write(&mut self, path: &Path, value: &str) -> Result<(), CgroupError> {
        if !self.dry_run {
            fsutil::write(path, value)?;
        }
        self.changes.push(Change::Write {
            path: path.to_owned(),
            value: value.to_owned(),
        });
        Ok(())
    }

    /// Writes `value` unless the file already holds it.
    fn ensure(&mut self, path: &Path, value: &str) -> Result<(), CgroupError> {
        let cur = fsutil::read_opt(path)?;
        if cur.as_deref().map(str::trim) == Some(value) {
            return Ok(());
        }
        self.write(path, value)
    }

    /// Enables in `dir` each of `wanted` not yet in its `cgroup.subtree_control`.
    fn enable(&mut self, dir: &Path, wanted: &[String]) -> Result<(), CgroupError> {
        let f = dir.join("cgroup.subtree_control");
        let on = words(&f);
        for c in wanted.iter().filter(|c| !on.contains(c)) {
            self.write(&f, &format!("+{c}"))?;
        }
        Ok(())
    }
}

fn words(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn validate_user(user: &str) -> Result<(), CgroupError> {
    let bad = |reason| {
        Err(CgroupError::InvalidName {
            what: "user name",
            name: user.to_owned(),
            reason,
        })
    };
    if user.is_empty() || user == "." || user == ".." {
        return bad("empty, `.` or `..`");
    }
    if user.contains('/') || user.contains('\0') || user.contains('\n') {
        return bad("contains `/`, NUL or a newline");
    }
    Ok(())
}

fn need_root(what: &'static str, dry_run: bool) -> Result<(), CgroupError> {
    if dry_run || rustix::process::geteuid().is_root() {
        Ok(())
    } else {
        Err(CgroupError::NotRoot(what))
    }
}

/// cpuset.cpus/mems of a new v1 cpuset cgroup are empty (and it refuses
/// tasks) unless filled from the parent.
fn fill_cpuset(plan: &mut Plan, parent: &Path, dir: &Path) -> Result<(), CgroupError> {
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let cur = fsutil::read_opt(&dir.join(f))?.unwrap_or_default();
        if !cur.trim().is_empty() {
            continue;
        }
        let from = fsutil::read_opt(&parent.join(f))?.unwrap_or_default();
        if !from.trim().is_empty() {
            plan.write(&dir.join(f), from.trim())?;
        }
    }
    Ok(())
}

/// Creates (root only, idempotent) a cgroup owned by `user` in every
/// hierarchy, below root's own cgroup there:
///
/// - v1: `<cgroup>/lxu/<user>` with the directory, `tasks`, `cgroup.procs`
///   (and for cpuset `cgroup.clone_children`) owned by the user; cpuset
///   files filled from the parent, `memory.use_hierarchy` set where it is 0.
///   The user can move its own processes in from anywhere.
/// - v2: `<cgroup>/lxu/<user>` with the directory, `cgroup.procs`,
///   `cgroup.subtree_control` and `cgroup.threads` owned by the user and every
///   available controller enabled on the way down. The user can use it only
///   from processes already inside it (see `enter_user_subtree`).
///
/// Returns what was changed; a second run returns nothing. With `dry_run`
/// nothing is touched and the changes that would be made are returned.
pub fn delegate_user(
    h: &Hierarchies,
    user: &str,
    uid: u32,
    gid: u32,
    dry_run: bool,
) -> Result<Vec<Change>, CgroupError> {
    validate_user(user)?;
    need_root("delegating cgroups", dry_run)?;
    let mut plan = Plan {
        dry_run,
        changes: Vec::new(),
    };
    for hier in &h.v1 {
        let Some(parent) = hier.current_path() else {
            continue;
        };
        let holder = parent.join(USER_DIR);
        plan.mkdir(&holder)?;
        if hier.has("memory")
            && fsutil::read_opt(&holder.join("memory.use_hierarchy"))?
                .as_deref()
                .map(str::trim)
                == Some("0")
        {
            plan.write(&holder.join("memory.use_hierarchy"), "1")?;
        }
        let dir = holder.join(user);
        if hier.has("cpuset") {
            fill_cpuset(&mut plan, &parent, &holder)?;
            plan.mkdir(&dir)?;
            // In a dry run `holder` may not exist yet: fill from `parent` then.
            let src = if holder.is_dir() { &holder } else { &parent };
            fill_cpuset(&mut plan, src, &dir)?;
            plan.ensure(&dir.join("cgroup.clone_children"), "1")?;
        } else {
            plan.mkdir(&dir)?;
        }
        plan.chown(&dir, uid, gid)?;
        let mut files = vec!["tasks", "cgroup.procs"];
        if hier.has("cpuset") {
            files.push("cgroup.clone_children");
        }
        for f in files {
            plan.chown(&dir.join(f), uid, gid)?;
        }
    }
    if let Some(v2) = &h.v2 {
        if let Some(parent) = v2.current_path() {
            let available = words(&parent.join("cgroup.controllers"));
            plan.enable(&parent, &available)?;
            let holder = parent.join(USER_DIR);
            plan.mkdir(&holder)?;
            plan.enable(&holder, &available)?;
            let dir = holder.join(user);
            plan.mkdir(&dir)?;
            plan.chown(&dir, uid, gid)?;
            for f in ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
                plan.chown(&dir.join(f), uid, gid)?;
            }
        }
    }
    Ok(plan.changes)
}

/// v2 only (root): puts process `pid` into `lxu/<user>/lxu.session`, a leaf
/// owned by the user inside the delegated subtree, so that the user's runtime
/// started from it may move processes (the kernel checks the common ancestor
/// of source and destination). A login hook would do this for each session.
pub fn enter_user_subtree(
    h: &Hierarchies,
    user: &str,
    uid: u32,
    gid: u32,
    pid: u32,
    dry_run: bool,
) -> Result<Vec<Change>, CgroupError> {
    validate_user(user)?;
    need_root("moving a process into a user's cgroup", dry_run)?;
    let mut plan = Plan {
        dry_run,
        changes: Vec::new(),
    };
    let Some(parent) = h.v2.as_ref().and_then(|v2| v2.current_path()) else {
        return Ok(plan.changes);
    };
    let dir = parent.join(USER_DIR).join(user);
    if !dir.is_dir() && !dry_run {
        return Err(CgroupError::Mkdir {
            path: dir.join(SESSION_LEAF),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the user's subtree does not exist; delegate it first",
            ),
        });
    }
    let leaf = dir.join(SESSION_LEAF);
    plan.mkdir(&leaf)?;
    plan.chown(&leaf, uid, gid)?;
    for f in ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
        plan.chown(&leaf.join(f), uid, gid)?;
    }
    let procs = leaf.join("cgroup.procs");
    if !fsutil::procs_of(&leaf)?.contains(&pid) {
        if !dry_run {
            fsutil::write(&procs, &pid.to_string())?;
        }
        plan.changes.push(Change::MoveProcess {
            pid,
            cgroup_procs: procs,
        });
    }
    Ok(plan.changes)
}

/// Root: removes what `delegate_user` made for `user` (and `lxu` when no
/// other user is left in it). Fails with `Busy` while processes remain.
pub fn undelegate_user(
    h: &Hierarchies,
    user: &str,
    dry_run: bool,
) -> Result<Vec<Change>, CgroupError> {
    validate_user(user)?;
    need_root("removing delegated cgroups", dry_run)?;
    let mut changes = Vec::new();
    let parents =
        h.v1.iter()
            .filter_map(|x| x.current_path())
            .chain(h.v2.iter().filter_map(|x| x.current_path()));
    for parent in parents {
        let holder = parent.join(USER_DIR);
        let dir = holder.join(user);
        if dir.is_dir() {
            let mut pids = Vec::new();
            fsutil::procs_recursive(&dir, &mut pids)?;
            if !pids.is_empty() {
                return Err(CgroupError::Busy { path: dir, pids });
            }
            if !dry_run {
                remove_tree(&dir, std::time::Duration::from_secs(2))?;
            }
            changes.push(Change::Rmdir(dir.clone()));
        }
        // In a dry run the user's directory is still there; count it as gone.
        if holder.is_dir()
            && fsutil::subdirs(&holder)?
                .iter()
                .all(|d| dry_run && *d == dir)
        {
            if !dry_run {
                fs::remove_dir(&holder).map_err(|e| CgroupError::Rmdir {
                    path: holder.clone(),
                    source: e,
                })?;
            }
            changes.push(Change::Rmdir(holder));
        }
    }
    Ok(changes)
}
