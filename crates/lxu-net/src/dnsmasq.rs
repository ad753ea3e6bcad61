//! Finding the bridge's dnsmasq: through the pid file setup wrote, or, when that file is
//! gone while dnsmasq still runs (the state directory lives on `/run`, which a crash of a
//! careless cleanup or an admin's `rm -r /run/lxu` can empty without a reboot), by the
//! command line setup gave it. Starting a second one would fail ("failed to create
//! listening socket for 10.0.3.1: Address already in use"): the one found is adopted when
//! its command line is the one setup would give it now, else restarted.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bridge::{pick_dnsmasq_user as dnsmasq_user, BridgeConfig, BridgeError, Report};

/// A process's command line, one string per argument.
fn cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut args: Vec<String> = raw
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if args.last().is_some_and(String::is_empty) {
        args.pop();
    }
    Some(args)
}

fn is_zombie_or_gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')),
    }
}

/// Uid of account `name` in /etc/passwd.
fn uid_of(name: &str) -> Option<u32> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[0] == name).then(|| f[2].parse().ok())?
    })
}

/// The uid setup runs dnsmasq as (`-u`), read once per search.
fn dnsmasq_uid(cfg: &BridgeConfig) -> Option<u32> {
    uid_of(&dnsmasq_user(cfg))
}

/// Whether every uid of `pid` (real, effective, saved, fs: as this process sees them, so
/// a user namespace's root shows as its owner) is root's or `user_uid` (dnsmasq's). Any
/// user can run dnsmasq with our command line (in a user and network namespace of their
/// own it even keeps running); such a process must never be taken for the bridge's, which
/// would leave the bridge without DHCP and DNS.
fn runs_as_root_or(pid: i32, user_uid: Option<u32>) -> bool {
    let Some(want) = user_uid else {
        return false;
    };
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let Some(uids) = status.lines().find_map(|l| l.strip_prefix("Uid:")) else {
        return false;
    };
    let uids: Vec<Option<u32>> = uids.split_whitespace().map(|u| u.parse().ok()).collect();
    !uids.is_empty() && uids.iter().all(|u| *u == Some(0) || *u == Some(want))
}

fn pid_file_arg(cfg: &BridgeConfig) -> String {
    format!("--pid-file={}", cfg.pid_file().display())
}

/// The pid in our pid file, if that process is alive and is the dnsmasq we started (its
/// command line names our pid file), so a recycled pid is never mistaken for it.
pub(crate) fn running(cfg: &BridgeConfig) -> Option<i32> {
    let pid: i32 = fs::read_to_string(cfg.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if pid <= 0 {
        return None;
    }
    let want = pid_file_arg(cfg);
    let ours = cmdline(pid)?.contains(&want) && runs_as_root_or(pid, dnsmasq_uid(cfg));
    (ours && !is_zombie_or_gone(pid)).then_some(pid)
}

/// A live dnsmasq that no pid file names but that setup started for this bridge: run from
/// `program`, its command line names our pid file and the bridge. Returns its pid and
/// arguments (without the program).
pub(crate) fn orphan(cfg: &BridgeConfig, program: &Path) -> Option<(i32, Vec<String>)> {
    let program = fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    let want_pid_file = pid_file_arg(cfg);
    let want_iface = format!("--interface={}", cfg.name);
    let user_uid = dnsmasq_uid(cfg);
    let rd = fs::read_dir("/proc").ok()?;
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Some(args) = cmdline(pid) else { continue };
        if !args.contains(&want_pid_file) || !args.contains(&want_iface) {
            continue;
        }
        let exe: Option<PathBuf> = fs::read_link(format!("/proc/{pid}/exe")).ok();
        if exe.as_deref() != Some(program.as_path()) || is_zombie_or_gone(pid) {
            continue;
        }
        if !runs_as_root_or(pid, user_uid) {
            continue;
        }
        return Some((pid, args.into_iter().skip(1).collect()));
    }
    None
}

/// Makes sure at most one dnsmasq serves the bridge and that our pid file names it.
/// Returns whether one must be started: none runs, or one ran with an outdated command
/// line and was stopped.
pub(crate) fn ensure(
    cfg: &BridgeConfig,
    program: &Path,
    args: &[String],
    report: &mut Report,
) -> Result<bool, BridgeError> {
    if running(cfg).is_some() {
        return Ok(false);
    }
    let Some((pid, had)) = orphan(cfg, program) else {
        return Ok(true);
    };
    if had == args {
        let path = cfg.pid_file();
        fs::write(&path, format!("{pid}\n")).map_err(|source| BridgeError::Io {
            path: path.clone(),
            source,
        })?;
        report.changes.push(format!(
            "adopted dnsmasq (pid {pid}) for {}: its pid file `{}` was lost",
            cfg.name,
            path.display()
        ));
        return Ok(false);
    }
    stop(pid)?;
    report.changes.push(format!(
        "stopped dnsmasq (pid {pid}) for {}: its pid file was lost and its command line is outdated",
        cfg.name
    ));
    Ok(true)
}

/// SIGTERM, then waits up to 5 s for the process to go.
pub(crate) fn stop(pid: i32) -> Result<(), BridgeError> {
    let Some(p) = rustix::process::Pid::from_raw(pid) else {
        return Ok(());
    };
    match rustix::process::kill_process(p, rustix::process::Signal::TERM) {
        Ok(()) => {}
        Err(rustix::io::Errno::SRCH) => return Ok(()),
        Err(e) => {
            return Err(BridgeError::Io {
                path: PathBuf::from(format!("/proc/{pid}")),
                source: e.into(),
            })
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if is_zombie_or_gone(pid) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(BridgeError::DnsmasqStuck { pid })
}
