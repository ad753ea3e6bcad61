//! Freezing and killing everything in a container's cgroups.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

pub use rustix::process::Signal;
use rustix::process::{kill_process, Pid};

use crate::container::ContainerCgroup;
use crate::{fsutil, CgroupError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    Thawed,
    /// Asked to freeze, some tasks not frozen yet.
    Freezing,
    Frozen,
}

/// v1 `freezer.state` when the hierarchy is delegated, else the v2 core freezer.
enum Freezer {
    V1(PathBuf),
    V2(PathBuf),
}

fn v2_event(dir: &Path, key: &str) -> Result<Option<bool>, CgroupError> {
    let text = fsutil::read(&dir.join("cgroup.events"))?;
    Ok(text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim() == "1")
    }))
}

impl Freezer {
    fn state(&self) -> Result<FreezerState, CgroupError> {
        match self {
            Freezer::V1(dir) => {
                let s = fsutil::read_trimmed(&dir.join("freezer.state"))?;
                match s.as_str() {
                    "THAWED" => Ok(FreezerState::Thawed),
                    "FREEZING" => Ok(FreezerState::Freezing),
                    "FROZEN" => Ok(FreezerState::Frozen),
                    _ => Err(CgroupError::Parse {
                        what: dir.join("freezer.state").display().to_string(),
                        line: 1,
                        text: s,
                    }),
                }
            }
            Freezer::V2(dir) => {
                let asked = fsutil::read_trimmed(&dir.join("cgroup.freeze"))? == "1";
                let frozen = v2_event(dir, "frozen")?.unwrap_or(false);
                Ok(match (asked, frozen) {
                    (false, _) => FreezerState::Thawed,
                    (true, false) => FreezerState::Freezing,
                    (true, true) => FreezerState::Frozen,
                })
            }
        }
    }

    fn file(&self) -> PathBuf {
        match self {
            Freezer::V1(d) => d.join("freezer.state"),
            Freezer::V2(d) => d.join("cgroup.freeze"),
        }
    }

    fn request(&self, freeze: bool) -> Result<(), CgroupError> {
        let v = match (self, freeze) {
            (Freezer::V1(_), true) => "FROZEN",
            (Freezer::V1(_), false) => "THAWED",
            (Freezer::V2(_), true) => "1",
            (Freezer::V2(_), false) => "0",
        };
        fsutil::write(&self.file(), v)
    }

    fn set_and_wait(&self, freeze: bool, timeout: Duration) -> Result<(), CgroupError> {
        let want = if freeze {
            FreezerState::Frozen
        } else {
            FreezerState::Thawed
        };
        let start = Instant::now();
        self.request(freeze)?;
        let mut last_request = start;
        let mut pause = Duration::from_micros(200);
        loop {
            if self.state()? == want {
                return Ok(());
            }
            let now = Instant::now();
            if now - start > timeout {
                return Err(CgroupError::Timeout {
                    path: self.file(),
                    what: if freeze { "freeze" } else { "thaw" },
                    ms: timeout.as_millis(),
                });
            }
            // The v1 freezer gives up on tasks it could not freeze at once
            // (FREEZING); writing FROZEN again makes it retry them.
            if matches!(self, Freezer::V1(_))
                && freeze
                && now - last_request > Duration::from_millis(50)
            {
                self.request(true)?;
                last_request = now;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

impl ContainerCgroup {
    fn freezer(&self) -> Result<Freezer, CgroupError> {
        if let Some(p) = self.v1.iter().find(|p| p.has("freezer")) {
            return Ok(Freezer::V1(p.path.clone()));
        }
        if let Some(p) = &self.v2 {
            if p.path.join("cgroup.freeze").exists() {
                return Ok(Freezer::V2(p.path.clone()));
            }
        }
        let why = self
            .unavailable
            .iter()
            .find(|u| u.controllers.iter().any(|c| c == "freezer") || u.hierarchy == "unified")
            .map(|u| format!("{}: {}", u.hierarchy, u.reason))
            .unwrap_or_else(|| "no freezer hierarchy and no cgroup v2 freezer".to_owned());
        Err(CgroupError::NoFreezer(why))
    }

    /// Freezes every process and waits until the kernel reports FROZEN.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.freezer()?.set_and_wait(true, self.timeout)
    }

    /// Thaws and waits until the kernel reports it thawed.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.freezer()?.set_and_wait(false, self.timeout)
    }

    pub fn freezer_state(&self) -> Result<FreezerState, CgroupError> {
        self.freezer()?.state()
    }

    /// Sends `signal` to every process of the container. With SIGKILL it
    /// repeats until the cgroups are empty, so nothing escapes by forking:
    /// v2 `cgroup.kill` when present, else rounds of freeze, kill, thaw.
    /// Other signals are sent once, to the processes present while frozen.
    pub fn kill_all(&self, signal: Signal) -> Result<(), CgroupError> {
        let deadline = Instant::now() + self.timeout;
        let kill = signal == Signal::KILL;
        if kill {
            if let Some(p) = &self.v2 {
                let f = p.path.join("cgroup.kill");
                if f.exists() {
                    fsutil::write(&f, "1")?;
                    self.wait_empty(Instant::now() + Duration::from_millis(500))?;
                }
            }
        }
        let freezer = self.freezer().ok();
        let mut rounds = 0;
        loop {
            let pids = self.procs()?;
            if pids.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(CgroupError::Survivors {
                    path: self.first_path(),
                    pids,
                    rounds,
                });
            }
            rounds += 1;
            // Freezing first stops forks in flight; a failed freeze (a task in
            // uninterruptible sleep) still leaves the signal worth sending.
            let frozen = freezer
                .as_ref()
                .is_some_and(|f| f.set_and_wait(true, Duration::from_secs(1)).is_ok());
            let pids = if frozen { self.procs()? } else { pids };
            let sent = send_all(&pids, signal);
            if let Some(f) = &freezer {
                f.set_and_wait(false, self.timeout)?;
            }
            sent?;
            if !kill {
                return Ok(());
            }
            self.wait_empty(Instant::now() + Duration::from_millis(200).min(self.timeout))?;
        }
    }

    fn wait_empty(&self, until: Instant) -> Result<(), CgroupError> {
        let mut pause = Duration::from_micros(200);
        while Instant::now() < until && !self.procs()?.is_empty() {
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
        Ok(())
    }

    fn first_path(&self) -> PathBuf {
        self.paths()
            .into_iter()
            .next()
            .map(|p| p.path)
            .unwrap_or_default()
    }
}

fn send_all(pids: &[u32], signal: Signal) -> Result<(), CgroupError> {
    let mut first = None;
    for &pid in pids {
        let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            continue;
        };
        match kill_process(p, signal) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => {}
            Err(e) => {
                first.get_or_insert(CgroupError::Kill {
                    pid,
                    signal: signal.as_raw(),
                    source: e.into(),
                });
            }
        }
    }
    first.map_or(Ok(()), Err)
}
