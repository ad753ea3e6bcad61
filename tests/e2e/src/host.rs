//! What the host sees: processes, mounts, users and subordinate ids.
//!
//! Zombies are treated as gone: on the test machine pid 1 does not reap, so a monitor that
//! exited (its parent, `lxu start`, exited first) stays a zombie forever.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One line of `/proc/PID/status`, the fields the tests need.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    /// `comm`, at most 15 bytes.
    pub name: String,
    /// `R`, `S`, `Z`, …
    pub state: char,
    /// Real, effective, saved, filesystem.
    pub uids: [u32; 4],
    pub gids: [u32; 4],
    /// Pid in each nested pid namespace, outermost first.
    pub nspid: Vec<i32>,
}

impl Proc {
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }

    pub fn cmdline(&self) -> String {
        std::fs::read(format!("/proc/{}/cmdline", self.pid))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .trim_end_matches('\0')
                    .replace('\0', " ")
            })
            .unwrap_or_default()
    }
}

fn ids(v: &str) -> [u32; 4] {
    let mut out = [u32::MAX; 4];
    for (i, w) in v.split_whitespace().take(4).enumerate() {
        out[i] = w.parse().unwrap_or(u32::MAX);
    }
    out
}

/// The process `pid`, if it exists (zombies included).
pub fn proc_status(pid: i32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut p = Proc {
        pid,
        ppid: 0,
        name: String::new(),
        state: '?',
        uids: [u32::MAX; 4],
        gids: [u32::MAX; 4],
        nspid: Vec::new(),
    };
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k {
            "Name" => p.name = v.to_string(),
            "State" => p.state = v.chars().next().unwrap_or('?'),
            "PPid" => p.ppid = v.parse().unwrap_or(0),
            "Uid" => p.uids = ids(v),
            "Gid" => p.gids = ids(v),
            "NSpid" => {
                p.nspid = v
                    .split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            }
            _ => {}
        }
    }
    Some(p)
}

/// Every process of the host.
pub fn procs() -> Vec<Proc> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(proc_status)
        .collect()
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    proc_status(pid).is_some_and(|p| !p.is_zombie())
}

/// Living processes whose real uid lies in `[start, start + count)`.
pub fn live_procs_with_uid_in(start: u32, count: u32) -> Vec<Proc> {
    procs()
        .into_iter()
        .filter(|p| !p.is_zombie())
        .filter(|p| {
            p.uids[0] >= start && u64::from(p.uids[0]) < u64::from(start) + u64::from(count)
        })
        .collect()
}

/// The inode of `pid`'s namespace of kind `ns` (`pid`, `mnt`, `user`, …).
pub fn ns_inode(pid: i32, ns: &str) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Living processes in the pid namespace `ns` (as [`ns_inode`] names it).
pub fn live_procs_in_pid_ns(ns: &str) -> Vec<Proc> {
    procs()
        .into_iter()
        .filter(|p| !p.is_zombie())
        .filter(|p| ns_inode(p.pid, "pid").as_deref() == Some(ns))
        .collect()
}

/// What `pid`'s open descriptors point to (only readable for our own processes).
pub fn fd_targets(pid: i32) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    rd.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .collect()
}

/// Living `lxu-monitor` processes that hold a file below `dir` open (the container's
/// lock file, which the monitor keeps for as long as the container runs).
pub fn monitors_of(dir: &Path) -> Vec<i32> {
    procs()
        .into_iter()
        .filter(|p| !p.is_zombie() && p.name == "lxu-monitor")
        .filter(|p| fd_targets(p.pid).iter().any(|t| t.starts_with(dir)))
        .map(|p| p.pid)
        .collect()
}

/// Sends `sig` to `pid`; false if that failed.
pub fn kill(pid: i32, sig: rustix::process::Signal) -> bool {
    match rustix::process::Pid::from_raw(pid) {
        Some(p) => rustix::process::kill_process(p, sig).is_ok(),
        None => false,
    }
}

/// Polls `f` every 20 ms until it is true or `timeout` passes; returns its last value.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone)]
pub struct Mount {
    pub root: String,
    pub mount_point: String,
    pub fstype: String,
    pub source: String,
}

/// The mounts of `pid`'s mount namespace (`self` for ours).
pub fn mounts_of(pid: &str) -> Vec<Mount> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let lf: Vec<&str> = left.split(' ').collect();
            let rf: Vec<&str> = right.split(' ').collect();
            Some(Mount {
                root: lxu_config::decode_octal(lf.get(3)?),
                mount_point: lxu_config::decode_octal(lf.get(4)?),
                fstype: rf.first()?.to_string(),
                source: lxu_config::decode_octal(rf.get(1).copied().unwrap_or("")),
            })
        })
        .collect()
}

/// Our own mounts.
pub fn mounts() -> Vec<Mount> {
    mounts_of("self")
}

/// An account from /etc/passwd.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

fn passwd_find(f: impl Fn(&[&str]) -> bool) -> Option<User> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let v: Vec<&str> = l.split(':').collect();
        if v.len() < 7 || !f(&v) {
            return None;
        }
        Some(User {
            name: v[0].to_string(),
            uid: v[2].parse().ok()?,
            gid: v[3].parse().ok()?,
            home: PathBuf::from(v[5]),
        })
    })
}

pub fn user_by_uid(uid: u32) -> Option<User> {
    passwd_find(|v| v[2].parse() == Ok(uid))
}

pub fn user_by_name(name: &str) -> Option<User> {
    passwd_find(|v| v[0] == name)
}

/// A range of subordinate ids: `start..start+count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub count: u64,
}

impl Range {
    pub fn end(&self) -> u64 {
        self.start + self.count
    }

    pub fn overlaps(&self, o: &Range) -> bool {
        self.start < o.end() && o.start < self.end()
    }
}

/// Every `owner:start:count` entry of a subuid/subgid text.
pub fn subid_entries(text: &str) -> Vec<(String, Range)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let owner = f.next()?.to_string();
            let start = f.next()?.parse().ok()?;
            let count = f.next()?.parse().ok()?;
            Some((owner, Range { start, count }))
        })
        .collect()
}

/// The ranges `user` owns in `file` (`/etc/subuid` or `/etc/subgid`), by name or uid.
pub fn subid_ranges(file: &str, user: &User) -> Vec<Range> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let uid = user.uid.to_string();
    subid_entries(&text)
        .into_iter()
        .filter(|(o, _)| *o == user.name || *o == uid)
        .map(|(_, r)| r)
        .collect()
}

/// Owner uid and gid of a path (not following a final symlink).
pub fn owner(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).ok()?;
    Some((m.uid(), m.gid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subid_lines() {
        let e = subid_entries("# c\nalice:100000:65536\nbad\nbob:165536:10\n");
        assert_eq!(e.len(), 2);
        assert_eq!(
            e[1],
            (
                "bob".into(),
                Range {
                    start: 165536,
                    count: 10
                }
            )
        );
        let a = Range {
            start: 10,
            count: 5,
        };
        assert!(a.overlaps(&Range {
            start: 14,
            count: 1
        }));
        assert!(!a.overlaps(&Range {
            start: 15,
            count: 1
        }));
    }

    #[test]
    fn own_process_is_visible() {
        let me = proc_status(std::process::id() as i32).expect("own status");
        assert!(!me.is_zombie());
        assert_eq!(me.uids[0], rustix::process::getuid().as_raw());
        assert!(!mounts().is_empty());
    }
}
