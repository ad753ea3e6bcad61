//! `lxu setup-user USER` (root): everything a user needs for unprivileged containers,
//! idempotent, with a dry run.
//!
//! Replaces the manual host setup LXC's unprivileged containers need: subordinate ids that do
//! not overlap anyone else's, a default.conf with the matching id map and a veth, an
//! lxc-usernet allowance, and delegated cgroups.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Chain, Error, Result};
use crate::ids::users::{self, SubIdRange, User};
use crate::setup::as_user::run_as_user;
use crate::setup::moving::{self, find_dependents, IdsInUse, Leaving};

/// Size of the block every user gets, as useradd does.
pub(crate) const BLOCK: u64 = 65536;
/// Default allowance written to lxc-usernet.
pub(crate) const USERNET: &str = "/etc/lxc/lxc-usernet";

/// One thing setup-user changed (or would change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    AddRange {
        file: PathBuf,
        user: String,
        range: SubIdRange,
    },
    RemoveRange {
        file: PathBuf,
        user: String,
        range: SubIdRange,
        reason: String,
    },
    WriteFile {
        path: PathBuf,
        what: String,
    },
    Usernet {
        line: String,
    },
    Cgroup(String),
    /// A container's files and id map shifted to the user's new block.
    MoveContainer {
        container: String,
        to: SubIdRange,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::AddRange { file, user, range } => write!(
                f,
                "{}: give {user} ids {range} ({}:{}:{})",
                file.display(),
                user,
                range.start,
                range.count
            ),
            Change::RemoveRange {
                file,
                user,
                range,
                reason,
            } => {
                write!(
                    f,
                    "{}: remove {user}'s ids {range} ({reason})",
                    file.display()
                )
            }
            Change::WriteFile { path, what } => write!(f, "{}: {what}", path.display()),
            Change::Usernet { line } => write!(f, "{USERNET}: add `{line}`"),
            Change::Cgroup(c) => write!(f, "cgroup: {c}"),
            Change::MoveContainer { container, to } => {
                write!(
                    f,
                    "container {container}: shift its files and id map to {to}"
                )
            }
        }
    }
}

/// What setup-user found wrong that it cannot fix itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub what: String,
    pub fix: String,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<Change>,
    pub problems: Vec<Problem>,
    pub range: Option<SubIdRange>,
}

/// Parsed subuid/subgid file: (owner, range) in file order, other lines kept.
pub(crate) fn parse_subid(text: &str) -> Vec<(String, SubIdRange)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let owner = f.next()?.to_string();
            let start = f.next()?.trim().parse().ok()?;
            let count = f.next()?.trim().parse().ok()?;
            (!owner.starts_with('#')).then_some((owner, SubIdRange { start, count }))
        })
        .collect()
}

fn overlaps(a: &SubIdRange, b: &SubIdRange) -> bool {
    a.start < b.end() && b.start < a.end()
}

/// `SUB_UID_MIN`/`SUB_UID_MAX` from login.defs (shadow's defaults otherwise).
fn subid_limits() -> (u64, u64) {
    let text = std::fs::read_to_string("/etc/login.defs").unwrap_or_default();
    let get = |k: &str| {
        text.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(k)).then(|| w.next()?.parse::<u64>().ok())?
        })
    };
    (
        get("SUB_UID_MIN").unwrap_or(100_000),
        get("SUB_UID_MAX").unwrap_or(600_100_000),
    )
}

/// Decides the block `user` should own, given both files: keep an existing block of
/// 65536 that is the same in both files and overlaps nobody; otherwise the lowest free
/// block. Returns the block and the user's ranges that overlap someone else's.
pub(crate) fn choose_block(
    uid_text: &str,
    gid_text: &str,
    user: &User,
    limits: (u64, u64),
) -> Result<(SubIdRange, Vec<(bool, SubIdRange)>)> {
    let uid_s = user.uid.to_string();
    let is_user = |o: &str| o == user.name || o == uid_s;
    let u = parse_subid(uid_text);
    let g = parse_subid(gid_text);
    let others: Vec<SubIdRange> = u
        .iter()
        .chain(g.iter())
        .filter(|(o, _)| !is_user(o))
        .map(|(_, r)| *r)
        .collect();
    let clean = |r: &SubIdRange| !others.iter().any(|o| overlaps(o, r));
    let mut bad = Vec::new();
    for (is_uid, list) in [(true, &u), (false, &g)] {
        for (o, r) in list.iter() {
            if is_user(o) && !clean(r) {
                bad.push((is_uid, *r));
            }
        }
    }
    let mine_u: Vec<SubIdRange> = u
        .iter()
        .filter(|(o, r)| is_user(o) && clean(r))
        .map(|(_, r)| *r)
        .collect();
    let mine_g: Vec<SubIdRange> = g
        .iter()
        .filter(|(o, r)| is_user(o) && clean(r))
        .map(|(_, r)| *r)
        .collect();
    for r in &mine_u {
        if r.count >= BLOCK
            && mine_g
                .iter()
                .any(|x| x.start == r.start && x.count >= BLOCK)
        {
            return Ok((
                SubIdRange {
                    start: r.start,
                    count: BLOCK,
                },
                bad,
            ));
        }
    }
    // Every range in either file, this user's clean ones included: a new block must not
    // collide with anything.
    let mut taken: Vec<SubIdRange> = u.iter().chain(g.iter()).map(|(_, r)| *r).collect();
    taken.sort_by_key(|r| r.start);
    let (min, max) = limits;
    let mut start = min;
    for r in &taken {
        if r.end() <= start {
            continue;
        }
        if r.start >= start + BLOCK {
            break;
        }
        start = r.end().max(start);
    }
    if start + BLOCK - 1 > max {
        return Err(Error::NoFreeBlock { block: BLOCK, max });
    }
    Ok((
        SubIdRange {
            start,
            count: BLOCK,
        },
        bad,
    ))
}

/// Replaces a root-owned file in a root-owned directory (/etc/subuid, /etc/subgid,
/// /etc/lxc/lxc-usernet) through `lxu_sys::fs` (an `O_EXCL|O_NOFOLLOW` temporary, fsync,
/// rename, fsync of the directory), with the old file's mode and owner (root's when it is
/// new). The directory must belong to root and be writable by nobody else, so that no one
/// can plant a link or swap a name between our steps.
fn replace_root_file(path: &Path, text: &str, new_mode: u32) -> Result<()> {
    use rustix::fs::AtFlags;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Error::NotAFilePath {
            path: path.to_path_buf(),
        });
    };
    let fs_err = |e: lxu_sys::fs::FsError| Error::io(e.op, e.path, e.source);
    let dfd = lxu_sys::fs::Dir::open_nofollow(dir).map_err(fs_err)?;
    let ds = rustix::fs::fstat(&dfd).map_err(|e| Error::io("stat", dir, e.into()))?;
    if ds.st_uid != 0 || ds.st_mode & 0o022 != 0 {
        return Err(Error::UnsafeDir {
            dir: dir.to_path_buf(),
            uid: ds.st_uid,
            mode: ds.st_mode & 0o7777,
        });
    }
    let (mode, uid, gid) = match rustix::fs::statat(&dfd, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if is_regular(&st) => (st.st_mode & 0o7777, st.st_uid, st.st_gid),
        Ok(_) => {
            return Err(Error::NotRegular {
                path: path.to_path_buf(),
            })
        }
        Err(rustix::io::Errno::NOENT) => (new_mode, 0, 0),
        Err(e) => return Err(Error::io("stat", path, e.into())),
    };
    // A temporary left by a run that was killed is removed: the directory is root's alone.
    let how = lxu_sys::fs::Replace::mode(mode).owner(uid, gid);
    dfd.replace(name, text.as_bytes(), &how).map_err(fs_err)
}

fn is_regular(st: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
}

/// What the child working as the user answers about default.conf: nothing to do, or
/// what it changed (would change, in a dry run).
const UNCHANGED: &str = "unchanged";

/// Runs as the user (see `as_user`): brings `~/.config/lxc/default.conf` to the id map
/// `block`, writing a new one when there is none.
///
/// Symlinks among the directories (`~/.config` into a dotfiles repository, say) are
/// followed: the child has only the user's rights, so that reaches nothing the user
/// could not reach alone. default.conf itself must be a regular file: a link there is
/// refused with an error rather than replaced, so the user learns why their setup
/// did not apply.
fn home_default_conf(
    home: &Path,
    block: SubIdRange,
    bridge: &str,
    dry_run: bool,
) -> std::result::Result<String, String> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Read;
    let conf_dir = home.join(".config/lxc");
    let conf = conf_dir.join("default.conf");
    let show = |p: &Path| p.display().to_string();
    let wanted_maps = [
        format!("u 0 {} {}", block.start, block.count),
        format!("g 0 {} {}", block.start, block.count),
    ];
    // O_NONBLOCK: a FIFO planted there must not hang us before the type check.
    let existing = match rustix::fs::open(
        &conf,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => {
            let st = rustix::fs::fstat(&fd).map_err(|e| format!("`{}`: {e}", show(&conf)))?;
            if !is_regular(&st) {
                return Err(format!(
                    "`{}` is not a regular file: remove it, then run setup-user again",
                    show(&conf)
                ));
            }
            let mut text = String::new();
            std::fs::File::from(fd)
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read `{}`: {e}", show(&conf)))?;
            Some(text)
        }
        Err(rustix::io::Errno::NOENT) => None,
        Err(rustix::io::Errno::LOOP) => {
            return Err(format!(
                "`{}` is a symbolic link; setup-user does not follow it: replace it with a \
                 regular file (or remove it), then run setup-user again",
                show(&conf)
            ))
        }
        Err(e) => return Err(format!("cannot open `{}`: {e}", show(&conf))),
    };
    let (text, what) = match existing {
        None => (
            default_conf(block, bridge),
            format!("id map {block} and a veth on {bridge}"),
        ),
        Some(text) => {
            let mut f = lxu_config::ConfigFile::parse_str(&text, &conf)
                .map_err(|e| Chain(&e).to_string())?;
            let current: Vec<String> = f
                .entries()
                .filter(|e| matches!(e.key, "lxc.idmap" | "lxc.id_map"))
                .map(|e| e.value.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            if current == wanted_maps {
                return Ok(UNCHANGED.into());
            }
            f.remove("lxc.idmap");
            f.remove("lxc.id_map");
            for m in &wanted_maps {
                f.append("lxc.idmap", m);
            }
            (f.render(), format!("set the id map to {block}"))
        }
    };
    if dry_run {
        return Ok(what);
    }
    for d in [home.join(".config"), conf_dir.clone()] {
        match rustix::fs::mkdir(&d, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(format!("cannot create `{}`: {e}", show(&d))),
        }
    }
    // A leftover temporary (or anything the user put there) is theirs to lose.
    lxu_sys::fs::replace_file(&conf, text.as_bytes(), &lxu_sys::fs::Replace::mode(0o644))
        .map_err(|e| format!("cannot {e}: {}", e.source))?;
    Ok(what)
}

/// Brings one of /etc/subuid, /etc/subgid to `user` owning `block`, without the ranges
/// `remove`; records the changes and returns the new text (the old one, unchanged, in a
/// dry run, with the changes as they would be).
fn update_subid(
    file: &Path,
    text: &str,
    user: &User,
    remove: &[SubIdRange],
    block: SubIdRange,
    dry_run: bool,
    out: &mut Outcome,
) -> Result<String> {
    for r in remove {
        out.changes.push(Change::RemoveRange {
            file: file.into(),
            user: user.name.clone(),
            range: *r,
            reason: "it overlaps another user's ids".into(),
        });
    }
    let has = parse_subid(text).iter().any(|(o, r)| {
        (o == &user.name || *o == user.uid.to_string())
            && r.start == block.start
            && r.count >= BLOCK
    });
    let add = (!has).then_some(block);
    if let Some(r) = add {
        out.changes.push(Change::AddRange {
            file: file.into(),
            user: user.name.clone(),
            range: r,
        });
    }
    if add.is_none() && remove.is_empty() {
        return Ok(text.to_string());
    }
    let new = rewrite_subid(text, user, remove, add);
    if !dry_run {
        replace_root_file(file, &new, 0o644)?;
    }
    Ok(new)
}

fn rewrite_subid(
    text: &str,
    user: &User,
    remove: &[SubIdRange],
    add: Option<SubIdRange>,
) -> String {
    let uid_s = user.uid.to_string();
    let mut out = String::new();
    for l in text.lines() {
        let mut f = l.trim().split(':');
        let owner = f.next().unwrap_or("");
        let start: Option<u64> = f.next().and_then(|s| s.trim().parse().ok());
        let count: Option<u64> = f.next().and_then(|s| s.trim().parse().ok());
        let drop = (owner == user.name || owner == uid_s)
            && matches!((start, count), (Some(s), Some(c)) if remove.contains(&SubIdRange { start: s, count: c }));
        if !drop {
            out.push_str(l);
            out.push('\n');
        }
    }
    if let Some(r) = add {
        out.push_str(&format!("{}:{}:{}\n", user.name, r.start, r.count));
    }
    out
}

/// The default.conf a user gets.
pub(crate) fn default_conf(range: SubIdRange, bridge: &str) -> String {
    format!(
        "# Written by `lxu setup-user`: the ids this user's containers map to, and a veth\n\
         # device on the host bridge, made by the setuid network helper within the quota.\n\
         lxc.idmap = u 0 {s} {c}\n\
         lxc.idmap = g 0 {s} {c}\n\
         lxc.net.0.type = veth\n\
         lxc.net.0.link = {bridge}\n\
         lxc.net.0.flags = up\n\
         lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n",
        s = range.start,
        c = range.count
    )
}

/// Remounts the cgroup2 hierarchy with `favordynmods` (Linux 6.0+). Every cgroup
/// migration otherwise waits for an RCU grace period on the global threadgroup lock
/// (6-15 ms measured here for the first move after a pause), which `lxu start` and
/// `lxu attach` pay each time; the option switches that lock to the mode that makes
/// moves cheap, for v1 hierarchies too. systemd turns it on for the same reason.
fn favor_dynmods(v2: &lxu_cgroup::V2Hierarchy, dry_run: bool) -> Option<Change> {
    if v2.mount_options.iter().any(|o| o == "favordynmods") {
        return None;
    }
    let mp = v2.mountpoint.display();
    let change = Change::Cgroup(format!(
        "remount {mp} with favordynmods (cgroup moves no longer wait for an RCU grace period)"
    ));
    if dry_run {
        return Some(change);
    }
    let data = c"favordynmods";
    rustix::mount::mount_remount(&v2.mountpoint, rustix::mount::MountFlags::empty(), data)
        .ok()
        .map(|_| change)
}

pub struct SetupOptions {
    pub dry_run: bool,
    pub bridge: String,
    pub quota: u32,
    /// Where the nic helper should be, for the check.
    pub nic_helper: PathBuf,
    /// `--move-ids`: when the user's ranges must go and stopped containers of theirs use
    /// them, shift those containers to the new block (refused otherwise).
    pub move_ids: bool,
}

pub fn setup_user(name: &str, opts: &SetupOptions) -> Result<Outcome> {
    let user = users::lookup_name(name).ok_or_else(|| Error::NoSuchUser {
        name: name.to_string(),
    })?;
    if user.uid == 0 {
        return Err(Error::RootNeedsNoSetup);
    }
    let mut out = Outcome::default();
    let (subuid, subgid) = (Path::new("/etc/subuid"), Path::new("/etc/subgid"));
    let read = |p: &Path| match std::fs::read_to_string(p) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Error::io("read", p, e)),
    };
    let (mut ut, mut gt) = (read(subuid)?, read(subgid)?);
    let (block, bad) = choose_block(&ut, &gt, &user, subid_limits())?;
    out.range = Some(block);
    let leaving = Leaving::from_bad(&bad);
    if !leaving.is_empty() {
        // As the user: the lxcpaths and configs are theirs (see `as_user`).
        let (u, l) = (user.clone(), leaving.clone());
        let found = run_as_user(&user, move || find_dependents(&u, &l))?;
        let deps = moving::decode(&found);
        if !deps.is_empty() {
            if !opts.move_ids || deps.iter().any(|d| d.running) {
                let mut overlaps = moving::overlaps(subuid, &ut, &user, &leaving.uid);
                overlaps.extend(moving::overlaps(subgid, &gt, &user, &leaving.gid));
                return Err(Error::IdsInUse(Box::new(IdsInUse {
                    user: user.name.clone(),
                    overlaps,
                    containers: deps,
                    block,
                    move_asked: opts.move_ids,
                })));
            }
            let owned_u = users::subid_ranges_in(&ut, &user);
            let owned_g = users::subid_ranges_in(&gt, &user);
            let owned = [(subuid, &owned_u[..]), (subgid, &owned_g[..])];
            moving::check_movable(&user, &deps, owned)?;
            // The new block first, the old ranges kept: the containers stay startable
            // until each is moved, and a run killed meanwhile is finished by the next.
            ut = update_subid(subuid, &ut, &user, &[], block, opts.dry_run, &mut out)?;
            gt = update_subid(subgid, &gt, &user, &[], block, opts.dry_run, &mut out)?;
            lxu_sys::crash::point("setup-user.ids-added");
            for d in &deps {
                out.changes.push(Change::MoveContainer {
                    container: d.to_string(),
                    to: block,
                });
                if !opts.dry_run {
                    moving::move_one(&user, d, &leaving, block)?;
                    lxu_sys::crash::point("setup-user.container-moved");
                }
            }
        }
    }
    update_subid(
        subuid,
        &ut,
        &user,
        &leaving.uid,
        block,
        opts.dry_run,
        &mut out,
    )?;
    update_subid(
        subgid,
        &gt,
        &user,
        &leaving.gid,
        block,
        opts.dry_run,
        &mut out,
    )?;

    // default.conf: written when missing; when present, its id map is made to match.
    // All of it happens as the user: see `as_user`.
    let conf = user.home.join(".config/lxc/default.conf");
    let (home, bridge, dry_run) = (user.home.clone(), opts.bridge.clone(), opts.dry_run);
    let what = run_as_user(&user, move || {
        home_default_conf(&home, block, &bridge, dry_run)
    })?;
    if what != UNCHANGED {
        out.changes.push(Change::WriteFile { path: conf, what });
    }

    // lxc-usernet allowance (only added when the user has no line at all).
    let usernet = Path::new(USERNET);
    let text = std::fs::read_to_string(usernet).unwrap_or_default();
    let has_line = text
        .lines()
        .any(|l| l.split_whitespace().next() == Some(user.name.as_str()));
    if !has_line {
        let line = format!("{} veth {} {}", user.name, opts.bridge, opts.quota);
        out.changes.push(Change::Usernet { line: line.clone() });
        if !opts.dry_run {
            if let Some(d) = usernet.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io("create", d, e))?;
            }
            let mut t = text.clone();
            if !t.is_empty() && !t.ends_with('\n') {
                t.push('\n');
            }
            t.push_str(&line);
            t.push('\n');
            replace_root_file(usernet, &t, 0o644)?;
        }
    }

    delegate_cgroups(&user, opts.dry_run, &mut out);
    check_helpers(opts, &mut out)?;
    Ok(out)
}

/// Delegated cgroups (gone at reboot: cgroupfs lives in memory; run again at boot).
fn delegate_cgroups(user: &User, dry_run: bool, out: &mut Outcome) {
    let h = match lxu_cgroup::Hierarchies::detect() {
        Ok(h) => h,
        Err(e) => {
            out.problems.push(Problem {
                what: format!("cannot read the cgroup layout: {}", Chain(&e)),
                fix: "containers still start, without resource limits".into(),
            });
            return;
        }
    };
    match lxu_cgroup::delegate_user(&h, &user.name, user.uid, user.gid, dry_run) {
        Ok(changes) => out
            .changes
            .extend(changes.into_iter().map(|c| Change::Cgroup(c.to_string()))),
        Err(e) => out.problems.push(Problem {
            what: format!("cgroup delegation failed: {}", Chain(&e)),
            fix: "containers still start, without resource limits".into(),
        }),
    }
    if let Some(c) = h.v2.as_ref().and_then(|v2| favor_dynmods(v2, dry_run)) {
        out.changes.push(c);
    }
}

/// The setuid helpers unprivileged containers need: the id map helpers and the nic helper.
fn check_helpers(opts: &SetupOptions, out: &mut Outcome) -> Result<()> {
    for helper in ["newuidmap", "newgidmap"] {
        let found = crate::ids::idmap::helper_path(helper);
        match found {
            None => out.problems.push(Problem {
                what: format!("{helper} is not installed"),
                fix: "apt-get install uidmap".into(),
            }),
            Some(p) => {
                let m = std::fs::metadata(&p).map_err(|e| Error::io("stat", &p, e))?;
                if m.uid() != 0 || m.mode() & 0o4000 == 0 {
                    out.problems.push(Problem {
                        what: format!("{} is not setuid root", p.display()),
                        fix: "apt-get install --reinstall uidmap".into(),
                    });
                }
            }
        }
    }
    match std::fs::metadata(&opts.nic_helper) {
        Ok(m) if m.uid() == 0 && m.mode() & 0o4000 != 0 => {}
        Ok(_) => out.problems.push(Problem {
            what: format!("{} is not setuid root", opts.nic_helper.display()),
            fix: "run the install step as root (./x install)".into(),
        }),
        Err(_) => out.problems.push(Problem {
            what: format!("{} is not installed", opts.nic_helper.display()),
            fix: "run the install step as root (./x install)".into(),
        }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, uid: u32) -> User {
        User {
            name: name.into(),
            uid,
            gid: uid,
            home: "/h".into(),
            shell: "/bin/sh".into(),
        }
    }

    #[test]
    fn keeps_a_clean_existing_block() {
        let t = "alice:100000:65536\nbob:165536:65536\n";
        let (b, bad) = choose_block(t, t, &user("bob", 1002), (100000, 600100000)).unwrap();
        assert_eq!(
            b,
            SubIdRange {
                start: 165536,
                count: 65536
            }
        );
        assert!(bad.is_empty());
    }

    #[test]
    fn picks_the_lowest_free_block() {
        let t = "alice:100000:65536\ncarol:300000:65536\n";
        let (b, _) = choose_block(t, t, &user("bob", 1002), (100000, 600100000)).unwrap();
        assert_eq!(b.start, 165536);
        // a gap too small is skipped
        let t = "alice:100000:65536\ncarol:200000:65536\n";
        let (b, _) = choose_block(t, t, &user("bob", 1002), (100000, 600100000)).unwrap();
        assert_eq!(b.start, 265536);
    }

    #[test]
    fn an_overlapping_range_is_replaced() {
        // useradd gave bob a range inside alice's (seen on a real host).
        let t = "alice:100000:200000\nbob:165536:65536\n";
        let (b, bad) = choose_block(t, t, &user("bob", 1002), (100000, 600100000)).unwrap();
        assert_eq!(b.start, 300000);
        assert_eq!(
            bad,
            vec![
                (
                    true,
                    SubIdRange {
                        start: 165536,
                        count: 65536
                    }
                ),
                (
                    false,
                    SubIdRange {
                        start: 165536,
                        count: 65536
                    }
                )
            ]
        );
        let text = rewrite_subid(
            t,
            &user("bob", 1002),
            &[SubIdRange {
                start: 165536,
                count: 65536,
            }],
            Some(b),
        );
        assert_eq!(text, "alice:100000:200000\nbob:300000:65536\n");
    }

    #[test]
    fn mismatched_uid_and_gid_blocks_get_a_common_one() {
        let u = "bob:100000:65536\n";
        let g = "bob:400000:65536\n";
        let (b, _) = choose_block(u, g, &user("bob", 1002), (100000, 600100000)).unwrap();
        assert_eq!(b.start, 165536);
    }
}
