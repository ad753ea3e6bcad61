//! Root side: giving a user cgroups of their own (`lxu setup-user`).
//!
//! cgroupfs lives in memory, so all of this is gone after a reboot; every
//! function here is idempotent so that it can simply run again at boot.

use std::fmt;
use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Gid, Mode, OFlags, Uid};

use crate::container::remove_tree;
use crate::delegation::USER_DIR;
use crate::detect::Hierarchies;
use crate::{fsutil, CgroupError};

/// The files of a v2 cgroup whose owner may use it as a delegated subtree
/// (cgroup-v2.rst, "Delegation Containment").
const V2_DELEGATED: [&str; 3] = ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"];

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

/// How root touches cgroup directories it gives away. cgroupfs has no symlinks, but a
/// directory may already be delegated to someone (root's own cgroup inside a user's
/// session, or a user's directory from an earlier run), who may have made, removed or
/// renamed entries in it. So each directory is opened without following a final link,
/// checked to be a directory owned by whom we expect, and changed through that open
/// descriptor (`fchown`, `*at` calls with `AT_SYMLINK_NOFOLLOW`), never by path again.
fn open_dir(dir: &Path) -> Result<Option<OwnedFd>, CgroupError> {
    match rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(CgroupError::read(dir, e.into())),
    }
}

fn check_owner(path: &Path, st: &rustix::fs::Stat, owners: &[u32]) -> Result<(), CgroupError> {
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::Directory {
        return Err(CgroupError::Unexpected {
            path: path.to_owned(),
            reason: "is not a directory".into(),
        });
    }
    if !owners.contains(&st.st_uid) {
        let want: Vec<String> = owners.iter().map(u32::to_string).collect();
        return Err(CgroupError::Unexpected {
            path: path.to_owned(),
            reason: format!(
                "belongs to uid {}, not uid {}",
                st.st_uid,
                want.join(" or uid ")
            ),
        });
    }
    Ok(())
}

impl Plan {
    /// Makes `dir` if missing and opens it; what is there must be a directory owned by
    /// one of `owners`. `None` only in a dry run where it does not exist yet.
    fn mkdir(&mut self, dir: &Path, owners: &[u32]) -> Result<Option<OwnedFd>, CgroupError> {
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            return Err(CgroupError::Unexpected {
                path: dir.to_owned(),
                reason: "has no parent".into(),
            });
        };
        let mkdir_err = |e: rustix::io::Errno| CgroupError::Mkdir {
            path: dir.to_owned(),
            source: e.into(),
        };
        let Some(pfd) = open_dir(parent)? else {
            if self.dry_run {
                self.changes.push(Change::Mkdir(dir.to_owned()));
                return Ok(None);
            }
            return Err(mkdir_err(rustix::io::Errno::NOENT));
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(&pfd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) if self.dry_run => {
                self.changes.push(Change::Mkdir(dir.to_owned()));
                return Ok(None);
            }
            Err(rustix::io::Errno::NOENT) => {
                rustix::fs::mkdirat(&pfd, name, Mode::from_raw_mode(0o755)).map_err(mkdir_err)?;
                self.changes.push(Change::Mkdir(dir.to_owned()));
                rustix::fs::openat(&pfd, name, flags, Mode::empty()).map_err(mkdir_err)?
            }
            Err(e) => return Err(mkdir_err(e)),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| CgroupError::read(dir, e.into()))?;
        check_owner(dir, &st, owners)?;
        Ok(Some(fd))
    }

    /// Gives the open directory `fd` (at `path`) and its `files` to `uid:gid`.
    fn chown(
        &mut self,
        fd: Option<&OwnedFd>,
        path: &Path,
        files: &[&str],
        uid: u32,
        gid: u32,
    ) -> Result<(), CgroupError> {
        let chown_err = |p: PathBuf| {
            move |e: rustix::io::Errno| CgroupError::Chown {
                path: p,
                uid,
                gid,
                source: e.into(),
            }
        };
        let (u, g) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
        let Some(fd) = fd else {
            // Not there yet in a dry run.
            self.changes.push(Change::Chown {
                path: path.to_owned(),
                uid,
                gid,
            });
            for f in files {
                self.changes.push(Change::Chown {
                    path: path.join(f),
                    uid,
                    gid,
                });
            }
            return Ok(());
        };
        // Every file is checked before anything changes hands.
        let mut todo = Vec::new();
        for f in files {
            let p = path.join(f);
            let st = rustix::fs::statat(fd, *f, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| CgroupError::read(&p, e.into()))?;
            if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile
            {
                return Err(CgroupError::Unexpected {
                    path: p,
                    reason: "is not a regular file".into(),
                });
            }
            if st.st_uid != uid || st.st_gid != gid {
                todo.push((*f, p));
            }
        }
        let st = rustix::fs::fstat(fd).map_err(|e| CgroupError::read(path, e.into()))?;
        if st.st_uid != uid || st.st_gid != gid {
            if !self.dry_run {
                rustix::fs::fchown(fd, u, g).map_err(chown_err(path.to_owned()))?;
            }
            self.changes.push(Change::Chown {
                path: path.to_owned(),
                uid,
                gid,
            });
        }
        for (f, p) in todo {
            if !self.dry_run {
                rustix::fs::chownat(fd, f, u, g, AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(chown_err(p.clone()))?;
            }
            self.changes.push(Change::Chown { path: p, uid, gid });
        }
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
    fsutil::check_name("user name", user, |u| {
        matches!(u, "" | "." | "..").then_some("empty, `.` or `..`")
    })
}

fn need_root(what: &'static str, dry_run: bool) -> Result<(), CgroupError> {
    if dry_run || rustix::process::geteuid().is_root() {
        Ok(())
    } else {
        Err(CgroupError::NotRoot(what))
    }
}

impl Plan {
    /// Root's work (`what`) on the cgroups of `user`, after checking both; also root's
    /// effective uid, which owns what it makes.
    fn for_user(user: &str, what: &'static str, dry_run: bool) -> Result<(Plan, u32), CgroupError> {
        validate_user(user)?;
        need_root(what, dry_run)?;
        let plan = Plan {
            dry_run,
            changes: Vec::new(),
        };
        Ok((plan, rustix::process::geteuid().as_raw()))
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
    let (mut plan, me) = Plan::for_user(user, "delegating cgroups", dry_run)?;
    for hier in &h.v1 {
        let Some(parent) = hier.current_path() else {
            continue;
        };
        let holder = parent.join(USER_DIR);
        plan.mkdir(&holder, &[me])?;
        if hier.has("memory")
            && fsutil::read_opt(&holder.join("memory.use_hierarchy"))?
                .as_deref()
                .map(str::trim)
                == Some("0")
        {
            plan.write(&holder.join("memory.use_hierarchy"), "1")?;
        }
        let dir = holder.join(user);
        let fd = if hier.has("cpuset") {
            fill_cpuset(&mut plan, &parent, &holder)?;
            let fd = plan.mkdir(&dir, &[me, uid])?;
            // In a dry run `holder` may not exist yet: fill from `parent` then.
            let src = if holder.is_dir() { &holder } else { &parent };
            fill_cpuset(&mut plan, src, &dir)?;
            plan.ensure(&dir.join("cgroup.clone_children"), "1")?;
            fd
        } else {
            plan.mkdir(&dir, &[me, uid])?
        };
        let mut files = vec!["tasks", "cgroup.procs"];
        if hier.has("cpuset") {
            files.push("cgroup.clone_children");
        }
        plan.chown(fd.as_ref(), &dir, &files, uid, gid)?;
    }
    if let Some(v2) = &h.v2 {
        if let Some(parent) = v2.current_path() {
            let available = words(&parent.join("cgroup.controllers"));
            plan.enable(&parent, &available)?;
            let holder = parent.join(USER_DIR);
            plan.mkdir(&holder, &[me])?;
            plan.enable(&holder, &available)?;
            let dir = holder.join(user);
            let fd = plan.mkdir(&dir, &[me, uid])?;
            plan.chown(fd.as_ref(), &dir, &V2_DELEGATED, uid, gid)?;
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
    let (mut plan, me) = Plan::for_user(user, "moving a process into a user's cgroup", dry_run)?;
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
    // Inside the user's own subtree: the user may have made the leaf already.
    let fd = plan.mkdir(&leaf, &[me, uid])?;
    plan.chown(fd.as_ref(), &leaf, &V2_DELEGATED, uid, gid)?;
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
