//! Named crash points for the fault-injection tests.
//!
//! `LXU_CRASH_AT=POINT` makes the process that reaches [`point`]`(POINT)` kill itself with
//! SIGKILL there, as a `kill -9` from outside or a power cut would, so the tests can stop
//! create, start, copy, snapshot and destroy at every step of the binary users run (not a
//! special test build) and check that the next command recovers. `POINT@N` crashes at the
//! N-th time the point is reached (1-based) in that process, for points inside loops.
//! Several points can be given, separated by commas.
//!
//! The variable is read once per process. A crash point never changes what the program
//! does when the variable is unset, and killing oneself needs no privilege. The setuid
//! helper `lxu-user-nic` places no points (lxu runs it with an empty environment).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The variable that arms crash points.
pub const ENV: &str = "LXU_CRASH_AT";

struct Armed {
    name: String,
    nth: u32,
    seen: AtomicU32,
}

fn armed() -> &'static [Armed] {
    static ARMED: OnceLock<Vec<Armed>> = OnceLock::new();
    ARMED.get_or_init(|| {
        let Some(spec) = std::env::var_os(ENV) else {
            return Vec::new();
        };
        parse(&spec.to_string_lossy())
    })
}

fn parse(spec: &str) -> Vec<Armed> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.rsplit_once('@') {
            Some((name, n)) => Armed {
                name: name.to_string(),
                nth: n.parse().unwrap_or(1).max(1),
                seen: AtomicU32::new(0),
            },
            None => Armed {
                name: s.to_string(),
                nth: 1,
                seen: AtomicU32::new(0),
            },
        })
        .collect()
}

/// Marks a step: kills the process with SIGKILL if `LXU_CRASH_AT` names this point (and
/// this is the N-th time it is reached, with `POINT@N`). Otherwise does nothing.
pub fn point(name: &str) {
    let list = armed();
    if list.is_empty() {
        return;
    }
    for a in list {
        if a.name == name && a.seen.fetch_add(1, Ordering::Relaxed) + 1 == a.nth {
            // Say where, so a test that expected a crash elsewhere can tell.
            eprintln!("lxu: crash point `{name}` reached: killing myself (LXU_CRASH_AT)");
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::KILL,
            );
            // SIGKILL cannot be blocked; this is never reached.
            std::process::abort();
        }
    }
}

/// Whether any crash point is armed in this process (to forward the variable to a child
/// that would otherwise not inherit it).
pub fn armed_spec() -> Option<String> {
    if armed().is_empty() {
        return None;
    }
    std::env::var(ENV).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_counts() {
        let a = parse("create.config, copy.rootfs@3,,x@0");
        let got: Vec<(&str, u32)> = a.iter().map(|a| (a.name.as_str(), a.nth)).collect();
        assert_eq!(got, [("create.config", 1), ("copy.rootfs", 3), ("x", 1)]);
    }

    #[test]
    fn unarmed_points_do_nothing() {
        // The test process has no LXU_CRASH_AT: reaching a point must return.
        assert!(std::env::var_os(ENV).is_none());
        point("create.config");
    }
}
