//! Work that root does on a user's behalf in places the user controls (the home
//! directory), done by a forked child that has become that user.
//!
//! Root following a path the user can change (a symlink, a renamed directory) is how a
//! user gets root to write, chown or read files it must not. A child with the user's
//! uid, gid and supplementary groups and no capabilities can do nothing there that the
//! user could not do alone, whatever the home contains, so no check of each path
//! component is needed. The root parent never opens a path under the home; it only
//! reads the child's answer from a pipe.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use lxu_sys::fork::Fork;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{kill_process, waitpid, Signal, WaitOptions};

use crate::error::{AnswerError, Error, Result};
use crate::ids::users::{self, User};

/// How long the child may take. Generous for a few small files; it exists because the
/// user (same uid as the child) could stop the child with SIGSTOP and hang root forever.
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `work` as `user` in a forked child and returns what it returned; `Err(text)`
/// from `work` becomes [`Error::Child`]. When the caller is not root (a dry run by a
/// normal user) the child keeps the caller's ids: they give no more rights than the
/// caller has anyway.
///
/// The caller must be single-threaded (the child allocates after the fork).
pub(crate) fn run_as_user(
    user: &User,
    work: impl FnOnce() -> std::result::Result<String, String>,
) -> Result<String> {
    let groups = users::group_ids(user);
    let is_root = rustix::process::geteuid().is_root();
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| Error::sys("pipe for the child that works as the user", e))?;
    // SAFETY: the callers are `lxu setup-user`, which has no other thread (see the
    // `lxu_sys` crate docs), and this module's tests, where the harness has threads: there
    // the child (`become_user`, the tests' closures, the pipe write) only makes system
    // calls and allocates through glibc's malloc, and takes no lock a thread may hold (no
    // stdio, no environment).
    #[allow(unsafe_code)]
    let forked = unsafe { lxu_sys::fork::fork() };
    match forked.map_err(|e| Error::sys("fork", e))? {
        Fork::Child => {
            drop(rd);
            let answer = if is_root {
                lxu_sys::creds::become_user(user.uid, user.gid, &groups)
                    // The child holds a copy of root's memory: the user, now its owner,
                    // must not attach to it, whatever fs.suid_dumpable says.
                    .and_then(|()| {
                        rustix::process::set_dumpable_behavior(
                            rustix::process::DumpableBehavior::NotDumpable,
                        )
                        .map_err(Into::into)
                    })
                    .map_err(|e| {
                        format!(
                            "cannot become {} (uid {}, gid {}): {e}",
                            user.name, user.uid, user.gid
                        )
                    })
            } else {
                Ok(())
            }
            .and_then(|()| work());
            let msg = match answer {
                Ok(s) => format!("ok\n{s}"),
                Err(s) => format!("err\n{s}"),
            };
            let mut f = std::fs::File::from(wr);
            let code = if f.write_all(msg.as_bytes()).is_ok() {
                0
            } else {
                1
            };
            lxu_sys::exit_immediately(code)
        }
        Fork::Parent(pid) => {
            drop(wr);
            let got = read_with_deadline(rd, DEADLINE);
            if got.is_err() {
                let _ = kill_process(pid, Signal::KILL);
            }
            let status = loop {
                match waitpid(Some(pid), WaitOptions::empty()) {
                    Err(rustix::io::Errno::INTR) => continue,
                    r => break r,
                }
            };
            let got = got.map_err(|source| Error::AsUser {
                user: user.name.clone(),
                uid: user.uid,
                source,
            })?;
            let text = inert(&got);
            if let Some(rest) = text.strip_prefix("ok\n") {
                return Ok(rest.to_string());
            }
            if let Some(rest) = text.strip_prefix("err\n") {
                return Err(Error::Child {
                    message: rest.to_string(),
                });
            }
            let how = match status {
                Ok(Some((_, st))) => format!("{st:?}"),
                _ => "an unknown status".into(),
            };
            Err(Error::NoAnswer {
                user: user.name.clone(),
                uid: user.uid,
                how,
            })
        }
    }
}

/// The child's answer with every control character but newline and tab escaped
/// (`\u{1b}`): it may quote the user's files, and root shows it on its terminal, where
/// escape sequences would act (set the title, write the clipboard, rewrite the screen).
fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn read_with_deadline(fd: OwnedFd, limit: Duration) -> std::result::Result<String, AnswerError> {
    let end = Instant::now() + limit;
    let mut f = std::fs::File::from(fd);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(AnswerError::Timeout {
                secs: limit.as_secs(),
            });
        }
        let ts = Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: left.subsec_nanos() as i64,
        };
        let mut fds = [PollFd::new(&f, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(AnswerError::Poll(e.into())),
        }
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(AnswerError::Read(e)),
        }
        // The answer is a few lines; a flood is not one.
        if out.len() > 1 << 20 {
            return Err(AnswerError::TooLong);
        }
    }
    String::from_utf8(out).map_err(|_| AnswerError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The user the tests work as, when the tests run as root; else `None` (skipped).
    fn nobody_as_root() -> Option<User> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root");
            return None;
        }
        let nobody = users::lookup_name("nobody");
        if nobody.is_none() {
            eprintln!("skipped: no user nobody");
        }
        nobody
    }

    /// The child has exactly the user's ids and groups and cannot get root back; an
    /// error in the work comes back as the error, and the parent's ids never change.
    #[test]
    fn the_child_is_the_user_and_only_the_user() {
        let Some(nobody) = nobody_as_root() else {
            return;
        };
        let got = run_as_user(&nobody, || {
            let (u, g) = lxu_sys::creds::getres_ids().map_err(|e| e.to_string())?;
            let groups = lxu_sys::creds::getgroups().map_err(|e| e.to_string())?;
            let back = lxu_sys::creds::setresuid(0, 0, 0).is_ok();
            // Root could read this; the user cannot.
            let shadow = std::fs::read("/etc/shadow").is_ok();
            let dumpable = rustix::process::dumpable_behavior().map_err(|e| e.to_string())?;
            Ok(format!(
                "{u:?} {g:?} {groups:?} {back} {shadow} {dumpable:?}"
            ))
        })
        .unwrap();
        let (uid, gid) = (nobody.uid, nobody.gid);
        let groups = users::group_ids(&nobody);
        assert_eq!(
            got,
            format!(
                "[{uid}, {uid}, {uid}] [{gid}, {gid}, {gid}] {groups:?} false false NotDumpable"
            )
        );
        assert!(rustix::process::geteuid().is_root());
        let e = run_as_user(&nobody, || Err("`/x/y` is wrong".into())).unwrap_err();
        assert_eq!(e.to_string(), "`/x/y` is wrong");
    }

    /// What the child answers can hold text of the user's (a line of their default.conf
    /// quoted in a parse error): root prints it on its terminal, so terminal escape
    /// sequences in it (window title, OSC 52 clipboard, ...) must arrive inert.
    #[test]
    fn the_answer_reaches_root_without_control_characters() {
        let Some(nobody) = nobody_as_root() else {
            return;
        };
        let evil = "line `\x1b]52;c;ZWNobyBoaQ==\x07\x1b[2J\r\x08`\nnext\tline";
        let e = run_as_user(&nobody, || Err(evil.into()))
            .unwrap_err()
            .to_string();
        assert!(
            !e.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{e:?}"
        );
        assert!(e.contains("\\u{1b}]52;c;"), "{e:?}");
        assert!(e.contains("`\nnext\tline"), "{e:?}");
        let ok = run_as_user(&nobody, || Ok("a\x1bb".into())).unwrap();
        assert_eq!(ok, "a\\u{1b}b");
    }
}
