//! When a user's subordinate ids overlap another user's, setup-user gives the user a new
//! block. Containers whose id maps use the old ids would then neither start nor be
//! destroyed (their files belong to ids the user no longer owns). This module finds them
//! (working as the user), and either refuses with an account of who overlaps whom and
//! which containers depend on what, or, with `--move-ids` and every such container
//! stopped, shifts their files and id maps to the new block before the old ids go.
//!
//! The order makes a killed run finishable by the next one: (1) the new block is added to
//! /etc/subuid and /etc/subgid, the old ranges kept; (2) per container, its files are
//! shifted, then its config's `lxc.idmap` lines rewritten (the config last: a container
//! still mapping old ids is found again and its shift, idempotent, completes); (3) only
//! then are the old ranges removed and default.conf rewritten, as without containers.

use std::fmt;
use std::path::{Path, PathBuf};

use lxu_config::{IdKind, IdMap};

use crate::container::{self, Container};
use crate::error::{Chain, Error, Result};
use crate::ids::userns::{self, Outcome};
use crate::ids::users::{SubIdRange, User};
use crate::setup::shift::{self, NEW, OLD};
use crate::setup::user::BLOCK;

/// The user's ranges being taken away, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Leaving {
    pub uid: Vec<SubIdRange>,
    pub gid: Vec<SubIdRange>,
}

impl Leaving {
    pub(crate) fn from_bad(bad: &[(bool, SubIdRange)]) -> Leaving {
        let pick = |want: bool| {
            bad.iter()
                .filter(|(u, _)| *u == want)
                .map(|(_, r)| *r)
                .collect()
        };
        Leaving {
            uid: pick(true),
            gid: pick(false),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.uid.is_empty() && self.gid.is_empty()
    }

    /// Whether map line `m` uses any id being taken away.
    fn touches(&self, m: &IdMap) -> bool {
        let ranges = match m.kind {
            IdKind::Uid => &self.uid,
            IdKind::Gid => &self.gid,
        };
        let (s, e) = (
            u64::from(m.hostid),
            u64::from(m.hostid) + u64::from(m.count),
        );
        ranges.iter().any(|r| s < r.end() && r.start < e)
    }
}

/// A container (or one of its snapshots) whose id map uses ids being taken away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependent {
    pub lxcpath: PathBuf,
    pub name: String,
    pub snapshot: Option<String>,
    pub running: bool,
    /// Its `lxc.idmap` lines that use those ids.
    pub maps: Vec<IdMap>,
}

impl Dependent {
    fn dir(&self) -> PathBuf {
        let c = self.lxcpath.join(&self.name);
        match &self.snapshot {
            Some(s) => c.join("snaps").join(s),
            None => c,
        }
    }
}

impl fmt::Display for Dependent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(s) = &self.snapshot {
            write!(f, " (snapshot {s})")?;
        }
        let maps: Vec<String> = self.maps.iter().map(|m| m.to_string()).collect();
        let state = if self.running { "RUNNING" } else { "stopped" };
        write!(
            f,
            " in `{}`, {state}, maps `{}`",
            self.lxcpath.display(),
            maps.join("`, `")
        )
    }
}

/// One of the user's ranges that overlaps others'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub file: PathBuf,
    pub range: SubIdRange,
    /// The other owners and their ranges it overlaps.
    pub others: Vec<(String, SubIdRange)>,
}

/// Why setup-user will not move a user's ids: the account the admin needs to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdsInUse {
    pub user: String,
    pub overlaps: Vec<Overlap>,
    pub containers: Vec<Dependent>,
    /// The free block the user would get.
    pub block: SubIdRange,
    /// `--move-ids` was given (and refused because a container runs).
    pub move_asked: bool,
}

impl fmt::Display for IdsInUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = &self.user;
        writeln!(
            f,
            "not moving {u}'s subordinate ids: they overlap other users' ids, and containers of {u}'s use them"
        )?;
        for o in &self.overlaps {
            let others: Vec<String> = o
                .others
                .iter()
                .map(|(who, r)| format!("{who}'s {r}"))
                .collect();
            writeln!(
                f,
                "  {}: {u}'s {} overlaps {}",
                o.file.display(),
                o.range,
                others.join(", ")
            )?;
        }
        writeln!(
            f,
            "  containers that would be left unable to start or be destroyed if {u} got the free block {} instead:",
            self.block
        )?;
        for c in &self.containers {
            writeln!(f, "    {c}")?;
        }
        let running: Vec<&Dependent> = self.containers.iter().filter(|c| c.running).collect();
        if !running.is_empty() {
            let names: Vec<&str> = running.iter().map(|c| c.name.as_str()).collect();
            writeln!(
                f,
                "  stop them first (as {u}: lxu stop -n NAME, for {}): setup-user moves no container that runs",
                names.join(", ")
            )?;
        }
        let then = if running.is_empty() { "" } else { "then " };
        write!(
            f,
            "  {then}either run `lxu setup-user --move-ids {u}` (moves {u} to {} and shifts those containers' files and id maps with it), \
             or give the other users other ids in /etc/subuid and /etc/subgid",
            self.block
        )?;
        if self.move_asked && !running.is_empty() {
            write!(f, " (--move-ids was given, but a container runs)")?;
        }
        Ok(())
    }
}

/// The user's ranges in `text` being taken away, each with the other owners it overlaps.
pub(crate) fn overlaps(
    file: &Path,
    text: &str,
    user: &User,
    leaving: &[SubIdRange],
) -> Vec<Overlap> {
    let uid_s = user.uid.to_string();
    let entries = crate::setup::user::parse_subid(text);
    leaving
        .iter()
        .map(|r| Overlap {
            file: file.to_path_buf(),
            range: *r,
            others: entries
                .iter()
                .filter(|(o, x)| {
                    *o != user.name && *o != uid_s && x.start < r.end() && r.start < x.end()
                })
                .cloned()
                .collect(),
        })
        .collect()
}

/// Runs as the user (see `as_user`): the containers and snapshots, in the user's
/// lxcpaths, whose maps use ids in `leaving`, as lines for [`decode`].
pub(crate) fn find_dependents(
    user: &User,
    leaving: &Leaving,
) -> std::result::Result<String, String> {
    let system = lxu_config::SystemConfig::for_user(user.uid, &user.home)
        .map_err(|e| Chain(&e).to_string())?;
    let default = user.home.join(".local/share/lxc");
    let mut paths = vec![default];
    if !paths.contains(&system.lxcpath) {
        paths.push(system.lxcpath.clone());
    }
    let mut out = String::new();
    for lxcpath in &paths {
        for name in container::list_names(lxcpath) {
            let c = Container::at(lxcpath, &name).map_err(|e| Chain(&e).to_string())?;
            let mut units = vec![(None, c.dir.clone())];
            let snaps = crate::storage::snapshot::list(&c).map_err(|e| Chain(&e).to_string())?;
            units.extend(snaps.into_iter().map(|s| {
                let dir = s.dir.join(&s.name);
                (Some(s.name), dir)
            }));
            let mut running = None;
            for (snapshot, dir) in units {
                let maps = load_maps(&dir.join("config"))?;
                let uses: Vec<IdMap> = maps.into_iter().filter(|m| leaving.touches(m)).collect();
                if uses.is_empty() {
                    continue;
                }
                let running = *running.get_or_insert_with(|| is_running(&c));
                out.push_str(&encode(&Dependent {
                    lxcpath: lxcpath.clone(),
                    name: name.clone(),
                    snapshot,
                    running,
                    maps: uses,
                }));
            }
        }
    }
    Ok(out)
}

fn load_maps(config: &Path) -> std::result::Result<Vec<IdMap>, String> {
    lxu_config::Config::load(config)
        .map(|c| c.idmaps)
        .map_err(|e| Chain(&e).to_string())
}

/// Whether the container's lock is held (by its monitor, or by a command at work on it);
/// a lock that cannot be looked at counts as held.
fn is_running(c: &Container) -> bool {
    match std::fs::File::open(c.lock_path()) {
        Ok(f) => !matches!(f.try_lock(), Ok(())),
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// One line per dependent; the lxcpath in hex (a path may hold any byte but NUL).
fn encode(d: &Dependent) -> String {
    use std::os::unix::ffi::OsStrExt;
    let maps: Vec<String> = d
        .maps
        .iter()
        .map(|m| m.to_string().replace(' ', ":"))
        .collect();
    format!(
        "{} {} {} {} {}\n",
        u8::from(d.running),
        hex(d.lxcpath.as_os_str().as_bytes()),
        d.name,
        d.snapshot.as_deref().unwrap_or("-"),
        maps.join(",")
    )
}

pub(crate) fn decode(text: &str) -> Vec<Dependent> {
    use std::os::unix::ffi::OsStringExt;
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let [running, path, name, snap, maps] = f[..] else {
                return None;
            };
            let maps = maps
                .split(',')
                .map(|m| parse_map(&m.replace(':', " ")))
                .collect::<Option<Vec<_>>>()?;
            Some(Dependent {
                lxcpath: PathBuf::from(std::ffi::OsString::from_vec(unhex(path)?)),
                name: name.to_string(),
                snapshot: (snap != "-").then(|| snap.to_string()),
                running: running == "1",
                maps,
            })
        })
        .collect()
}

fn parse_map(v: &str) -> Option<IdMap> {
    let w: Vec<&str> = v.split_whitespace().collect();
    let [k, n, h, c] = w[..] else {
        return None;
    };
    let kind = match k {
        "u" => IdKind::Uid,
        "g" => IdKind::Gid,
        _ => return None,
    };
    Some(IdMap {
        kind,
        nsid: n.parse().ok()?,
        hostid: h.parse().ok()?,
        count: c.parse().ok()?,
    })
}

/// The line a dependent map line becomes: the container's id `n` at `block + n`.
fn moved(m: &IdMap, block: SubIdRange) -> IdMap {
    IdMap {
        hostid: block.start as u32 + m.nsid,
        ..*m
    }
}

/// Checks that every dependent line fits the new block (container ids below 65536) and
/// lies within ranges the user owns now (`owned`: /etc/subuid's and /etc/subgid's ranges
/// of theirs, the leaving ones included). The lines come from the user's config and
/// become the maps of the namespace the shift runs in: a line reaching beyond the user's
/// ids would hand that namespace ids of others (or root's).
pub(crate) fn check_movable(
    user: &User,
    deps: &[Dependent],
    owned: [(&Path, &[SubIdRange]); 2],
) -> Result<()> {
    for d in deps {
        for m in &d.maps {
            let config = d.dir().join("config");
            let (file, ranges) = match m.kind {
                IdKind::Uid => owned[0],
                IdKind::Gid => owned[1],
            };
            let (first, count) = (u64::from(m.hostid), u64::from(m.count));
            if !ranges.iter().any(|r| r.contains(first, count)) {
                return Err(Error::NotOwnedMap {
                    name: d.name.clone(),
                    config,
                    map: m.to_string(),
                    user: user.name.clone(),
                    file: file.to_path_buf(),
                });
            }
            if u64::from(m.nsid) + count > BLOCK {
                return Err(Error::NotMovable {
                    name: d.name.clone(),
                    config,
                    map: m.to_string(),
                    block: BLOCK,
                });
            }
        }
    }
    Ok(())
}

/// The maps of the namespace a dependent's files are shifted in (see `shift`).
fn helper_maps(user: &User, d: &Dependent, block: SubIdRange) -> Vec<IdMap> {
    let mut out = Vec::new();
    for (kind, own) in [(IdKind::Uid, user.uid), (IdKind::Gid, user.gid)] {
        out.push(IdMap {
            kind,
            nsid: 0,
            hostid: own,
            count: 1,
        });
        for m in d.maps.iter().filter(|m| m.kind == kind) {
            out.push(IdMap {
                kind,
                nsid: OLD + m.nsid,
                hostid: m.hostid,
                count: m.count,
            });
        }
        out.push(IdMap {
            kind,
            nsid: NEW,
            hostid: block.start as u32,
            count: BLOCK as u32,
        });
    }
    out
}

/// Config text with each `lxc.idmap` line that uses leaving ids moved to the block;
/// everything else as it was.
pub(crate) fn moved_config(text: &str, leaving: &Leaving, block: SubIdRange) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim_start();
        let new = t.split_once('=').and_then(|(k, v)| {
            let k = k.trim();
            if t.starts_with('#') || !matches!(k, "lxc.idmap" | "lxc.id_map") {
                return None;
            }
            let m = parse_map(v)?;
            leaving
                .touches(&m)
                .then(|| format!("{k} = {}", moved(&m, block)))
        });
        out.push_str(new.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Shifts one stopped dependent's files to `block` and rewrites its config, as root of a
/// user namespace holding only the user's ids, the old ones and the new block (see
/// `shift`): whatever the user's directories hold (links, files swapped meanwhile),
/// nothing outside those ids can be touched.
pub(crate) fn move_one(
    user: &User,
    d: &Dependent,
    leaving: &Leaving,
    block: SubIdRange,
) -> Result<()> {
    let maps = helper_maps(user, d, block);
    let (d2, leaving) = (d.clone(), leaving.clone());
    let outcome = userns::run_as_root(&maps, 0, move || {
        let c = Container::at(&d2.lxcpath, &d2.name).map_err(|e| Chain(&e).to_string())?;
        // Held while we work: the container cannot start meanwhile.
        let _lock = match crate::start::try_lock(&c) {
            Ok(Some(l)) => l,
            Ok(None) => return Err(format!("{} is running (or busy): stop it first", d2.name)),
            Err(e) => return Err(Chain(&e).to_string()),
        };
        let dir = d2.dir();
        let config = dir.join("config");
        let rootfs = lxu_config::Config::load(&config)
            .ok()
            .and_then(|cfg| c.rootfs_dir(&cfg));
        let skip: &[&str] = if d2.snapshot.is_none() {
            &["snaps"]
        } else {
            &[]
        };
        for tree in shift::trees(&dir, rootfs) {
            let s = if tree == dir { skip } else { &[] };
            shift::shift_tree(&tree, s)?;
        }
        lxu_sys::crash::point("setup-user.files-shifted");
        rewrite_config(&config, &leaving, block)
    })?;
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Ended(ended) => Err(Error::MoveEnded {
            name: d.name.clone(),
            ended,
        }),
    }
}

fn rewrite_config(
    config: &Path,
    leaving: &Leaving,
    block: SubIdRange,
) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let show = config.display();
    let meta = std::fs::symlink_metadata(config).map_err(|e| format!("stat `{show}`: {e}"))?;
    if !meta.is_file() {
        return Err(format!("`{show}` is not a regular file"));
    }
    let text = std::fs::read_to_string(config).map_err(|e| format!("read `{show}`: {e}"))?;
    let new = moved_config(&text, leaving, block);
    if new != text {
        let how = lxu_sys::fs::Replace::mode(meta.mode() & 0o7777);
        lxu_sys::fs::replace_file(config, new.as_bytes(), &how)
            .map_err(|e| format!("cannot {e}: {}", e.source))?;
    }
    // An id map from an included file is not ours to rewrite: say so rather than leave
    // the container unstartable.
    let left: Vec<String> = load_maps(config)?
        .iter()
        .filter(|m| leaving.touches(m))
        .map(|m| m.to_string())
        .collect();
    if !left.is_empty() {
        return Err(format!(
            "`{show}` still maps `{}` (from a file it includes?): change those lines to the block {block}, then run setup-user again",
            left.join("`, `")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, count: u64) -> SubIdRange {
        SubIdRange { start, count }
    }

    fn bob() -> User {
        User {
            name: "bob".into(),
            uid: 1002,
            gid: 1002,
            home: "/home/bob".into(),
            shell: "/bin/sh".into(),
        }
    }

    #[test]
    fn dependents_survive_the_trip_through_the_pipe() {
        let d = Dependent {
            lxcpath: PathBuf::from("/home/a b/\n.local/share/lxc"),
            name: "c1".into(),
            snapshot: Some("snap0".into()),
            running: true,
            maps: vec![
                parse_map("u 0 165536 65536").unwrap(),
                parse_map("g 0 165536 10").unwrap(),
            ],
        };
        assert_eq!(decode(&encode(&d)), vec![d.clone()]);
        let d = Dependent {
            snapshot: None,
            running: false,
            ..d
        };
        assert_eq!(decode(&encode(&d)), vec![d]);
    }

    #[test]
    fn only_maps_of_leaving_ranges_move() {
        let leaving = Leaving {
            uid: vec![r(165536, 65536)],
            gid: vec![],
        };
        let text = "# lxc.idmap = u 0 165536 65536\nlxc.idmap = u 0 165536 65536\nlxc.idmap=g 0 165536 65536\nlxc.id_map = u 70000 1000 1\nlxc.uts.name = x\n";
        assert_eq!(
            moved_config(text, &leaving, r(300000, 65536)),
            "# lxc.idmap = u 0 165536 65536\nlxc.idmap = u 0 300000 65536\nlxc.idmap=g 0 165536 65536\nlxc.id_map = u 70000 1000 1\nlxc.uts.name = x\n"
        );
    }

    #[test]
    fn a_map_beyond_the_users_ids_or_the_block_is_not_moved() {
        let user = bob();
        let mine = [r(165536, 65536)];
        let owned = [
            (Path::new("/etc/subuid"), &mine[..]),
            (Path::new("/etc/subgid"), &mine[..]),
        ];
        let dep = |maps: &str| decode(&format!("0 2f78 c1 - {maps}\n"));
        assert!(check_movable(&user, &dep("u:0:165536:65536,g:0:165536:65536"), owned).is_ok());
        // Reaching down into root's and others' ids: the shift's namespace would map them.
        let e = check_movable(&user, &dep("u:0:100000:131072"), owned).unwrap_err();
        assert!(matches!(e, Error::NotOwnedMap { .. }), "{e}");
        assert!(e.to_string().contains("`u 0 100000 131072`"), "{e}");
        let e = check_movable(&user, &dep("g:70000:165536:10"), owned).unwrap_err();
        assert!(matches!(e, Error::NotMovable { .. }), "{e}");
    }

    #[test]
    fn the_account_names_users_ranges_and_containers() {
        let user = bob();
        let text = "alice:100000:100000\nbob:165536:65536\n";
        let o = overlaps(Path::new("/etc/subuid"), text, &user, &[r(165536, 65536)]);
        assert_eq!(o[0].others, vec![("alice".to_string(), r(100000, 100000))]);
        let e = IdsInUse {
            user: "bob".into(),
            overlaps: o,
            containers: decode("1 2f78 c1 - u:0:165536:65536\n"),
            block: r(300000, 65536),
            move_asked: false,
        }
        .to_string();
        for want in [
            "/etc/subuid: bob's 165536-231071 overlaps alice's 100000-199999",
            "c1 in `/x`, RUNNING, maps `u 0 165536 65536`",
            "lxu stop -n NAME, for c1",
            "lxu setup-user --move-ids bob",
            "300000-365535",
        ] {
            assert!(e.contains(want), "{want:?} not in:\n{e}");
        }
    }
}
