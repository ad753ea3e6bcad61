//! What lxu's test trees share (a dev-dependency only): the rule for a test that cannot
//! run on this host, and the checks made before deciding.
//!
//! The rule: a test that needs something this host lacks (root, a tool, a kernel feature)
//! says what is missing and passes by skipping, so `cargo test` works anywhere; under
//! `LXU_MUST_WORK=1`, which `./x test` sets on the machines it targets, it fails instead,
//! so a missing prerequisite there cannot hide behind a green run.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether a test that cannot run here must fail instead of skipping (`LXU_MUST_WORK=1`).
pub fn must_work() -> bool {
    std::env::var("LXU_MUST_WORK").is_ok_and(|v| v == "1")
}

/// Reports a test that cannot run here: a skip with the reason on stderr, or a panic (a
/// failure) under `LXU_MUST_WORK=1`.
#[track_caller]
pub fn skip(reason: impl Display) {
    if must_work() {
        panic!("cannot run this test: {reason} (LXU_MUST_WORK=1 forbids skipping)");
    }
    eprintln!("skipped: {reason}");
}

/// `true` when `ok`; otherwise reports `reason` with [`skip`] and returns `false`, for
/// `if !need(…) { return; }`.
#[track_caller]
pub fn need(ok: bool, reason: impl Display) -> bool {
    if !ok {
        skip(reason);
    }
    ok
}

/// Whether this process runs with effective uid 0.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|ids| ids.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Where the program `tool` is: the first directory of `PATH` that has it, else the
/// system directories (a user's `PATH` often lacks the sbin ones root's tools live in).
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Whether the program `tool` is installed ([`find_tool`]).
pub fn have_tool(tool: &str) -> bool {
    find_tool(tool).is_some()
}

/// What a test needs of the host, gathered so that one skip names everything missing.
#[derive(Debug, Default)]
pub struct Needs {
    missing: Vec<String>,
}

impl Needs {
    pub fn new() -> Needs {
        Needs::default()
    }

    /// Effective uid 0.
    pub fn root(self) -> Needs {
        self.and(is_root(), "root")
    }

    /// Each program in `tools`, found by [`find_tool`].
    pub fn tools(mut self, tools: &[&str]) -> Needs {
        for t in tools {
            self = self.and(have_tool(t), format!("`{t}`"));
        }
        self
    }

    /// The file or directory `path`.
    pub fn path(self, path: &Path) -> Needs {
        self.and(path.exists(), format!("`{}`", path.display()))
    }

    /// Anything else: `what` is missing unless `ok`.
    pub fn and(mut self, ok: bool, what: impl Into<String>) -> Needs {
        if !ok {
            self.missing.push(what.into());
        }
        self
    }

    /// `true` when nothing is missing; otherwise [`skip`]s with "needs A, B" and returns
    /// `false`.
    #[track_caller]
    pub fn met(self) -> bool {
        need(
            self.missing.is_empty(),
            format_args!("needs {}", self.missing.join(", ")),
        )
    }
}

/// A directory of the test's own below the system's temporary directory, removed with
/// everything in it when dropped (for test trees that do without the `tempfile` crate).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// `<tmp>/<prefix>-<pid>-<n>`, new and empty.
    pub fn new(prefix: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        // A leftover of a crashed run with the same pid.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("create `{}`: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` to `rel` below the directory (making its parents); returns the path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create `{}`: {e}", parent.display()));
        }
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write `{}`: {e}", p.display()));
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs `prog` with `args`, asserts that it succeeded, and returns its stdout.
#[track_caller]
pub fn run_ok(prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Replays every input kept for the `cargo fuzz` target `target` (`fuzz/corpus/<target>/`
/// and the crashes in `fuzz/regressions/<target>/`) through `body`, the function the
/// fuzz target calls, and fails naming each input that panics. This is how CI, on
/// stable, keeps what the fuzzer found (fuzz/README.md).
pub fn replay_fuzz_corpus(target: &str, body: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut inputs = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = fuzz.join(kind).join(target);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        inputs.extend(rd.map(|e| e.expect("fuzz input directory entry").path()));
    }
    assert!(
        !inputs.is_empty(),
        "no fuzz inputs for `{target}` in `{}`",
        fuzz.display()
    );
    inputs.sort();
    let failed: Vec<String> = inputs
        .iter()
        .filter(|p| {
            let data = std::fs::read(p).expect("fuzz input");
            std::panic::catch_unwind(|| body(&data)).is_err()
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} `{target}` inputs panic: {failed:#?}",
        failed.len(),
        inputs.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_passes_through_a_met_condition() {
        assert!(need(true, "never printed"));
        assert!(Needs::new().and(true, "x").tools(&["sh"]).met());
    }

    #[test]
    fn a_temp_dir_is_new_and_goes_when_dropped() {
        let (a, b) = (TempDir::new("lxu-ts"), TempDir::new("lxu-ts"));
        assert_ne!(a.path(), b.path());
        let f = a.write("x/y", "z");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "z");
        let p = a.path().to_path_buf();
        drop(a);
        assert!(!p.exists());
    }

    #[test]
    fn a_missing_tool_is_not_found() {
        assert!(find_tool("sh").is_some());
        assert!(find_tool("lxu-no-such-tool-here").is_none());
    }

    #[test]
    fn the_root_check_matches_the_kernels_answer() {
        let euid = std::fs::metadata("/proc/self").map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid()
        });
        assert_eq!(is_root(), euid.unwrap() == 0);
    }
}
