//! The nics database: which owner created which host-side device on which
//! bridge, so quotas can be counted and deletes authorised.
//!
//! Format as LXC's `/run/lxc/nics`: one `owner type bridge hostnic` line per
//! device. lxu keeps its own copy at `/run/lxu/nics` (root, 0600).
//!
//! Robustness: the database is only touched while holding an exclusive
//! `flock` on a separate lock file (`nics.lock`), and every change writes a
//! complete new file that is renamed over the old one. A caller that kills
//! the setuid helper at any instant (it may: the helper runs with the
//! caller's real uid) leaves either the old or the new file, never a torn
//! one. The lock lives on its own file because a rename would otherwise
//! leave waiters holding a lock on an unlinked inode.

use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;

use crate::ifname;

/// Directory of the real database.
pub const DB_DIR: &str = "/run/lxu";
/// File name of the database inside its directory.
pub const DB_FILE: &str = "nics";
const LOCK_FILE: &str = "nics.lock";
const TMP_FILE: &str = "nics.new";

/// Errors of the nics database.
#[derive(Debug, thiserror::Error)]
pub enum NicDbError {
    #[error("cannot create directory `{path}`")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{path}` must be a directory owned by root and writable only by root")]
    UnsafeDir { path: PathBuf },
    #[error("cannot open `{path}`")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot lock `{path}`")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{path}` is busy: still locked after {secs} s")]
    Busy { path: PathBuf, secs: u64 },
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid database entry field `{0}`")]
    BadField(String),
}

/// One database line. Fields are single words (no blanks, no control
/// characters), checked on construction so a line can never split or merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicEntry {
    pub owner: String,
    pub kind: String,
    pub bridge: String,
    pub nic: String,
}

impl NicEntry {
    pub fn new(owner: &str, kind: &str, bridge: &str, nic: &str) -> Result<Self, NicDbError> {
        for f in [owner, kind, bridge] {
            if !is_word(f) {
                return Err(NicDbError::BadField(f.escape_debug().to_string()));
            }
        }
        if !ifname::is_valid(nic) {
            return Err(NicDbError::BadField(nic.escape_debug().to_string()));
        }
        Ok(NicEntry {
            owner: owner.to_string(),
            kind: kind.to_string(),
            bridge: bridge.to_string(),
            nic: nic.to_string(),
        })
    }

    /// Whole-word comparison of all four fields (CVE-2026-39402: LXC's
    /// matcher compared word prefixes and ignored the owner when looking for
    /// a device).
    pub fn matches(&self, owner: &str, kind: &str, bridge: &str, nic: &str) -> bool {
        self.owner == owner && self.kind == kind && self.bridge == bridge && self.nic == nic
    }

    pub(crate) fn line(&self) -> String {
        format!(
            "{} {} {} {}\n",
            self.owner, self.kind, self.bridge, self.nic
        )
    }
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Parses database text. Lines that are not four valid words are returned
/// separately (1-based numbers) and are dropped at the next write.
pub fn parse(text: &str) -> (Vec<NicEntry>, Vec<usize>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        match words.as_slice() {
            [o, k, b, n] => match NicEntry::new(o, k, b, n) {
                Ok(e) => entries.push(e),
                Err(_) => bad.push(i + 1),
            },
            _ => bad.push(i + 1),
        }
    }
    (entries, bad)
}

/// The locked database. The lock is held until this value is dropped.
pub struct NicDb {
    dir: PathBuf,
    _lock: fs::File,
    entries: Vec<NicEntry>,
    malformed: Vec<usize>,
    dirty: bool,
}

impl NicDb {
    /// Locks and reads the database in `dir` (created 0755 if missing; it
    /// must be root-owned and not group/world-writable, so nobody else can
    /// plant links in it). Waits up to `timeout` for the lock.
    pub fn open_locked(dir: &Path, timeout: Duration) -> Result<NicDb, NicDbError> {
        ensure_dir(dir)?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&lock_path)
            .map_err(|e| NicDbError::Open {
                path: lock_path.clone(),
                source: e,
            })?;
        root_owned(&lock, &lock_path)?;
        lock_with_timeout(&lock, &lock_path, timeout)?;
        let db_path = dir.join(DB_FILE);
        let text = match fs::read(&db_path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(NicDbError::Read {
                    path: db_path,
                    source: e,
                })
            }
        };
        let (entries, malformed) = parse(&text);
        Ok(NicDb {
            dir: dir.to_path_buf(),
            _lock: lock,
            dirty: !malformed.is_empty(),
            entries,
            malformed,
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    pub fn entries(&self) -> &[NicEntry] {
        &self.entries
    }

    /// Line numbers of lines that did not parse (dropped on commit).
    pub fn malformed(&self) -> &[usize] {
        &self.malformed
    }

    /// Drops entries whose device no longer exists (as told by `exists`,
    /// which must look in the host netns, e.g. via a netlink link dump).
    /// Returns the removed entries.
    pub fn cull(&mut self, mut exists: impl FnMut(&str) -> bool) -> Vec<NicEntry> {
        let (keep, gone): (Vec<_>, Vec<_>) = self.entries.drain(..).partition(|e| exists(&e.nic));
        self.entries = keep;
        if !gone.is_empty() {
            self.dirty = true;
        }
        gone
    }

    /// Number of devices `owner` has of `kind` on `bridge`.
    pub fn count(&self, owner: &str, kind: &str, bridge: &str) -> usize {
        self.entries
            .iter()
            .filter(|e| e.owner == owner && e.kind == kind && e.bridge == bridge)
            .count()
    }

    /// The entry matching all four fields, whole-word.
    pub fn find(&self, owner: &str, kind: &str, bridge: &str, nic: &str) -> Option<&NicEntry> {
        self.entries
            .iter()
            .find(|e| e.matches(owner, kind, bridge, nic))
    }

    /// True when any entry, of any owner, records device `nic`.
    pub fn has_nic(&self, nic: &str) -> bool {
        self.entries.iter().any(|e| e.nic == nic)
    }

    pub fn add(&mut self, entry: NicEntry) {
        self.entries.push(entry);
        self.dirty = true;
    }

    /// Removes the entry equal to `entry`; false if there was none.
    pub fn remove(&mut self, entry: &NicEntry) -> bool {
        match self.entries.iter().position(|e| e == entry) {
            Some(i) => {
                self.entries.remove(i);
                self.dirty = true;
                true
            }
            None => false,
        }
    }

    /// Writes the database if anything changed: complete new file, fsync,
    /// rename over the old one, fsync of the directory (`lxu_sys::fs`).
    pub fn commit(&mut self) -> Result<(), NicDbError> {
        if !self.dirty {
            return Ok(());
        }
        // A temporary left by a killed writer is replaced: we hold the lock.
        let mut how = lxu_sys::fs::Replace::mode(0o600).temp_name(TMP_FILE);
        if rustix::process::geteuid().is_root() {
            // Not the caller's gid, which a setuid-root process creates files with.
            how = how.owner(0, 0);
        }
        let text: String = self.entries.iter().map(NicEntry::line).collect();
        lxu_sys::fs::replace_file(&self.path(), text.as_bytes(), &how).map_err(|e| {
            NicDbError::Write {
                path: e.path,
                source: e.source,
            }
        })?;
        self.dirty = false;
        self.malformed.clear();
        Ok(())
    }
}

/// A setuid-root process creates files with the caller's gid; give them
/// to root's group so no caller's group ever owns a database file.
fn root_owned(f: &fs::File, path: &Path) -> Result<(), NicDbError> {
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    rustix::fs::fchown(f, Some(rustix::fs::Uid::ROOT), Some(rustix::fs::Gid::ROOT)).map_err(|e| {
        NicDbError::Write {
            path: path.to_path_buf(),
            source: e.into(),
        }
    })
}

fn ensure_dir(dir: &Path) -> Result<(), NicDbError> {
    match fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {
            if rustix::process::geteuid().is_root() {
                let d = fs::File::open(dir).map_err(|e| NicDbError::CreateDir {
                    path: dir.to_path_buf(),
                    source: e,
                })?;
                root_owned(&d, dir)?;
            }
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(NicDbError::CreateDir {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    }
    let meta = fs::symlink_metadata(dir).map_err(|e| NicDbError::CreateDir {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let me = rustix::process::geteuid().as_raw();
    if !meta.is_dir() || meta.uid() != me || meta.permissions().mode() & 0o022 != 0 {
        return Err(NicDbError::UnsafeDir {
            path: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// Polls a non-blocking flock so a caller who stops (SIGSTOP) a helper that
/// holds the lock delays the others by at most `timeout` instead of forever.
fn lock_with_timeout(f: &fs::File, path: &Path, timeout: Duration) -> Result<(), NicDbError> {
    let start = Instant::now();
    let mut nap = Duration::from_millis(1);
    loop {
        match rustix::fs::flock(f.as_fd(), FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::WOULDBLOCK) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(NicDbError::Lock {
                    path: path.to_path_buf(),
                    source: e.into(),
                })
            }
        }
        if start.elapsed() >= timeout {
            return Err(NicDbError::Busy {
                path: path.to_path_buf(),
                secs: timeout.as_secs(),
            });
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_in(dir: &Path) -> NicDb {
        NicDb::open_locked(dir, Duration::from_secs(5)).unwrap()
    }

    fn tmpdir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    #[test]
    fn whole_word_matching_of_all_four_fields() {
        let (entries, bad) = parse(
            "alice veth lxcbr0 veth1000_abcd\n\
             alice2 veth lxcbr0 veth1000_abcde\n\
             @grp veth lxcbr0 veth1001_zzzz\n",
        );
        assert!(bad.is_empty());
        let e = &entries[0];
        assert!(e.matches("alice", "veth", "lxcbr0", "veth1000_abcd"));
        // Prefixes and extensions of any field do not match.
        assert!(!e.matches("alic", "veth", "lxcbr0", "veth1000_abcd"));
        assert!(!e.matches("alice2", "veth", "lxcbr0", "veth1000_abcd"));
        assert!(!e.matches("alice", "vet", "lxcbr0", "veth1000_abcd"));
        assert!(!e.matches("alice", "veth", "lxcbr", "veth1000_abcd"));
        assert!(!e.matches("alice", "veth", "lxcbr0", "veth1000_abc"));
        assert!(!e.matches("alice", "veth", "lxcbr0", "veth1000_abcde"));
        // The device of another owner is not found under alice's name.
        let dir = tmpdir();
        fs::write(
            dir.path().join(DB_FILE),
            "alice2 veth lxcbr0 veth1000_abcde\n",
        )
        .unwrap();
        let db = db_in(dir.path());
        assert!(db
            .find("alice", "veth", "lxcbr0", "veth1000_abcde")
            .is_none());
        assert!(db
            .find("alice2", "veth", "lxcbr0", "veth1000_abcde")
            .is_some());
        assert_eq!(db.count("alice", "veth", "lxcbr0"), 0);
        assert_eq!(db.count("alice2", "veth", "lxcbr0"), 1);
    }

    #[test]
    fn entry_fields_cannot_inject_lines() {
        assert!(NicEntry::new("a b", "veth", "br", "nic").is_err());
        assert!(NicEntry::new("a", "veth", "br\nx y z w", "nic").is_err());
        assert!(NicEntry::new("a", "veth", "br", "nic\n").is_err());
        assert!(NicEntry::new("a", "veth", "br", "waytoolongname123").is_err());
        assert!(NicEntry::new("", "veth", "br", "nic").is_err());
    }

    #[test]
    fn cull_drops_missing_devices_and_malformed_lines() {
        let dir = tmpdir();
        fs::write(
            dir.path().join(DB_FILE),
            "alice veth lxcbr0 gone0\n\
             torn line\n\
             alice veth lxcbr0 here0\n\
             bob veth lxcbr0 here1\n\
             bob veth lxcbr0 gone1\n\
             bob veth lxcbr0 par",
        )
        .unwrap();
        let mut db = db_in(dir.path());
        assert_eq!(db.malformed(), &[2]);
        let gone = db.cull(|nic| nic.starts_with("here"));
        let gone: Vec<&str> = gone.iter().map(|e| e.nic.as_str()).collect();
        assert_eq!(gone, vec!["gone0", "gone1", "par"]);
        db.commit().unwrap();
        drop(db);
        assert_eq!(
            fs::read_to_string(dir.path().join(DB_FILE)).unwrap(),
            "alice veth lxcbr0 here0\nbob veth lxcbr0 here1\n"
        );
        let mode = fs::metadata(dir.path().join(DB_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn add_remove_commit_roundtrip() {
        let dir = tmpdir();
        let mut db = db_in(dir.path());
        assert!(db.entries().is_empty());
        let e = NicEntry::new("@grp", "veth", "lxcbr0", "veth5_abcd").unwrap();
        db.add(e.clone());
        db.add(NicEntry::new("bob", "veth", "lxcbr0", "veth6_abcd").unwrap());
        db.commit().unwrap();
        drop(db);
        let mut db = db_in(dir.path());
        assert_eq!(db.entries().len(), 2);
        assert!(db.has_nic("veth5_abcd"));
        assert!(db.remove(&e));
        assert!(!db.remove(&e));
        db.commit().unwrap();
        drop(db);
        let db = db_in(dir.path());
        assert_eq!(db.entries().len(), 1);
        assert!(!dir.path().join(TMP_FILE).exists());
    }

    #[test]
    fn lock_excludes_and_times_out() {
        let dir = tmpdir();
        let held = db_in(dir.path());
        let err = NicDb::open_locked(dir.path(), Duration::from_millis(50))
            .err()
            .expect("second lock must fail while the first is held");
        assert!(matches!(err, NicDbError::Busy { .. }), "{err}");
        drop(held);
        NicDb::open_locked(dir.path(), Duration::from_millis(50)).unwrap();
    }

    #[test]
    fn refuses_writable_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let err = NicDb::open_locked(dir.path(), Duration::from_millis(50))
            .err()
            .unwrap();
        assert!(matches!(err, NicDbError::UnsafeDir { .. }), "{err}");
    }

    #[test]
    fn creates_missing_directory() {
        let parent = tmpdir();
        let dir = parent.path().join("lxu");
        let mut db = db_in(&dir);
        db.add(NicEntry::new("a", "veth", "b", "c").unwrap());
        db.commit().unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn stale_tmp_file_from_killed_writer_is_replaced() {
        let dir = tmpdir();
        fs::write(dir.path().join(DB_FILE), "a veth b c\n").unwrap();
        fs::write(dir.path().join(TMP_FILE), "half a li").unwrap();
        let mut db = db_in(dir.path());
        assert_eq!(db.entries().len(), 1);
        db.add(NicEntry::new("a", "veth", "b", "d").unwrap());
        db.commit().unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join(DB_FILE)).unwrap(),
            "a veth b c\na veth b d\n"
        );
    }
}
