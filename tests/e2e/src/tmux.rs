//! A real terminal for interactive commands (`lxu console`): a tmux server of the test's
//! own, whose panes are ptys, driven with `send-keys` and read with `capture-pane`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::lab::Lab;
use crate::run::{self, Output};

/// A lab and a tmux server of the test's own; `None` (after a skip) when either cannot be
/// had.
#[track_caller]
pub fn lab_and_tmux(tag: &str) -> Option<(Lab, Tmux)> {
    let lab = Lab::new()?;
    Some((lab, Tmux::new(tag)?))
}

/// A private tmux server (`tmux -L <socket>`), killed with its sessions when dropped.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// `None` (after [`crate::skip`]) when tmux is not installed.
    #[track_caller]
    pub fn new(tag: &str) -> Option<Tmux> {
        let installed = Command::new("tmux").arg("-V").output().is_ok();
        crate::need(installed, "tmux is not installed").then(|| Tmux {
            socket: format!("lxu-e2e-{tag}-{}", std::process::id()),
        })
    }

    #[track_caller]
    fn tmux(&self, args: &[&str]) -> Output {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]).args(args);
        let desc = run::describe(&c, None);
        run::run(c, desc, None, Duration::from_secs(20))
    }

    /// A detached 120x40 session `name` running `/bin/sh` (interactive, with a plain
    /// prompt), so that what a command leaves behind on the terminal can be checked.
    #[track_caller]
    pub fn shell(&self, name: &str) -> Pane<'_> {
        self.session(name, &["env", "PS1=$ ", "ENV=", "/bin/sh"], "$ ")
    }

    /// A detached 120x40 session `name` running `argv`, once the pane shows `prompt`.
    #[track_caller]
    pub fn session(&self, name: &str, argv: &[&str], prompt: &str) -> Pane<'_> {
        let mut args = vec!["new-session", "-d", "-s", name, "-x", "120", "-y", "40"];
        args.extend_from_slice(argv);
        self.tmux(&args).success();
        // Keep the pane (and its last output) if the shell exits.
        self.tmux(&["set-option", "-t", name, "remain-on-exit", "on"]);
        let pane = Pane {
            tmux: self,
            target: name.to_string(),
        };
        pane.wait_for(prompt, Duration::from_secs(10));
        pane
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "kill-server"]);
        let desc = run::describe(&c, None);
        let _ = run::try_run(c, desc, None, Duration::from_secs(10));
    }
}

/// One session's pane.
pub struct Pane<'a> {
    tmux: &'a Tmux,
    pub target: String,
}

impl Pane<'_> {
    /// Types `text` literally (no key names).
    #[track_caller]
    pub fn type_text(&self, text: &str) {
        self.tmux
            .tmux(&["send-keys", "-t", &self.target, "-l", text])
            .success();
    }

    /// Sends tmux key names: `Enter`, `C-a`, `q`, …
    #[track_caller]
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.target];
        args.extend_from_slice(keys);
        self.tmux.tmux(&args).success();
    }

    /// Types a line and Enter.
    #[track_caller]
    pub fn line(&self, text: &str) {
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    /// The whole pane, history included, wrapped lines joined.
    #[track_caller]
    pub fn text(&self) -> String {
        let out = self
            .tmux
            .tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", &self.target]);
        out.success();
        out.stdout.clone()
    }

    /// Waits until the pane shows `needle`; returns the pane text, or panics with it.
    #[track_caller]
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        match self.try_wait_for(needle, timeout) {
            Ok(t) => t,
            Err(t) => panic!(
                "the terminal did not show {needle:?} within {} s; it shows:\n{t}",
                timeout.as_secs()
            ),
        }
    }

    /// Like [`Pane::wait_for`], returning the last text as the error.
    pub fn try_wait_for(&self, needle: &str, timeout: Duration) -> Result<String, String> {
        let end = Instant::now() + timeout;
        loop {
            let t = self.text();
            if t.contains(needle) {
                return Ok(t);
            }
            if Instant::now() >= end {
                return Err(t);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Appends everything the pane's program writes from now on to `file`, escape
    /// sequences and text that is erased later included (a progress bar).
    #[track_caller]
    pub fn log_to(&self, file: &std::path::Path) {
        let cmd = format!("cat >> '{}'", file.display());
        self.tmux
            .tmux(&["pipe-pane", "-o", "-t", &self.target, &cmd])
            .success();
    }

    /// The pid of the process the pane runs (the shell).
    #[track_caller]
    pub fn pid(&self) -> i32 {
        let out = self
            .tmux
            .tmux(&["display-message", "-p", "-t", &self.target, "#{pane_pid}"]);
        out.success();
        out.out()
            .parse()
            .unwrap_or_else(|_| panic!("no pane pid\n{out}"))
    }
}
