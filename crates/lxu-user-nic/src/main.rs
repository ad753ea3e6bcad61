//! `lxu-user-nic`: the setuid-root helper that gives an unprivileged
//! container a veth on a bridge the administrator allowed in
//! `/etc/lxc/lxc-usernet`, command-line compatible with LXC 5's
//! `lxc-user-nic`. See SECURITY.md for the threat model.
//!
//! Nothing is taken from the environment: the allowance file, the database
//! and PATH are fixed, the user is the real uid the helper starts with, and
//! every caller-named path is opened with the caller's uid.
//!
//! Order of a run: drop every capability not needed; read the accounts and
//! allowances as the caller; refuse a caller without an allowance for the
//! bridge; check the caller's namespace; then shut the caller out (no
//! signals, no freezer) and only then take the database lock.

mod accounts;
mod args;
mod cgroup;
mod create;
mod delete;
mod error;
mod privs;
mod target;

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use error::{render, HelperError};
use lxu_net::nicdb::NicDb;

/// The only PATH the helper runs with (it executes nothing, but libraries
/// must never see the caller's).
const SAFE_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
/// How long to wait for another caller's helper to release the database.
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Process-wide facts fixed at start.
pub struct Env {
    /// The netns the helper started in (the host's), opened by root from a
    /// fixed path, to return to after visiting the caller's.
    pub home: OwnedFd,
    pub lock_timeout: Duration,
    /// The text of lxc-usernet, read as the caller.
    pub usernet: String,
}

impl Env {
    /// Locks the nics database once the caller can no longer stop the
    /// helper: while it holds the lock, every other user's request waits.
    pub fn lock_db(&self) -> Result<NicDb, HelperError> {
        privs::shut_out_caller()?;
        Ok(NicDb::open_locked(
            Path::new(lxu_net::nicdb::DB_DIR),
            self.lock_timeout,
        )?)
    }
}

fn main() -> ExitCode {
    // Before anything else can read it.
    sanitize_environment();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match run(&argv) {
        Ok(out) => {
            if !out.is_empty() {
                let mut stdout = std::io::stdout().lock();
                if writeln!(stdout, "{out}")
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lxu-user-nic: {}", render(&e));
            ExitCode::from(1)
        }
    }
}

fn sanitize_environment() {
    let keys: Vec<_> = std::env::vars_os().map(|(k, _)| k).collect();
    for k in keys {
        std::env::remove_var(k);
    }
    std::env::set_var("PATH", SAFE_PATH);
    // The caller's umask would otherwise shape the database's modes.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
}

fn run(argv: &[std::ffi::OsString]) -> Result<String, HelperError> {
    let euid = rustix::process::geteuid();
    if !euid.is_root() {
        return Err(HelperError::NotSetuid(euid.as_raw()));
    }
    privs::drop_privileges()?;
    let req = args::parse(argv)?;
    let caller = accounts::lookup(rustix::process::getuid().as_raw())?;
    let env = Env {
        home: lxu_net::netns::current()?,
        lock_timeout: LOCK_TIMEOUT,
        usernet: accounts::read_usernet(&caller)?,
    };
    match req {
        args::Request::Create {
            pid_arg,
            pid,
            bridge,
            ifname,
        } => create::run(
            &env,
            &caller,
            &create::CreateArgs {
                pid_arg: &pid_arg,
                pid,
                bridge: &bridge,
                ifname: ifname.as_deref(),
            },
        ),
        args::Request::Delete {
            netns_path,
            netns_arg,
            bridge,
            nic,
        } => delete::run(
            &env,
            &caller,
            &delete::DeleteArgs {
                netns_path: &netns_path,
                netns_arg: &netns_arg,
                bridge: &bridge,
                nic: &nic,
            },
        )
        .map(|()| String::new()),
    }
}
