//! Running a command with a deadline and looking at what it did.

use std::fmt;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Default deadline for one command. Generous: `lxu stop` waits up to 60 s for a guest
/// that ignores its halt signal, and a hung command must fail the test, not CI.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for failure messages.
    pub cmd: String,
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.cmd)?;
        match (self.code, self.signal) {
            (Some(c), _) => writeln!(f, "exit code: {c}")?,
            (None, Some(s)) => writeln!(f, "killed by signal {s}")?,
            _ => writeln!(f, "no exit status")?,
        }
        writeln!(f, "took: {:.3} s", self.elapsed.as_secs_f64())?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

impl Output {
    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        if self.code != Some(0) {
            panic!("expected success\n{self}");
        }
        self
    }

    /// Asserts a non-zero exit (a crash by signal does not count as a clean failure).
    #[track_caller]
    pub fn failure(&self) -> &Self {
        match self.code {
            Some(0) => panic!("expected failure, got success\n{self}"),
            None => panic!("expected a clean failure, got a crash\n{self}"),
            _ => self,
        }
    }

    #[track_caller]
    pub fn code_is(&self, code: i32) -> &Self {
        if self.code != Some(code) {
            panic!("expected exit code {code}\n{self}");
        }
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        if !self.stdout.contains(needle) {
            panic!("expected stdout to contain {needle:?}\n{self}");
        }
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Self {
        if self.stdout.contains(needle) {
            panic!("expected stdout not to contain {needle:?}\n{self}");
        }
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        if !self.stderr.contains(needle) {
            panic!("expected stderr to contain {needle:?}\n{self}");
        }
        self
    }

    /// Asserts stdout is exactly `want` after trimming surrounding white space.
    #[track_caller]
    pub fn stdout_is(&self, want: &str) -> &Self {
        if self.stdout.trim() != want.trim() {
            panic!("expected stdout {:?}\n{self}", want.trim());
        }
        self
    }

    /// Stdout without surrounding white space.
    pub fn out(&self) -> &str {
        self.stdout.trim()
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// The first word after `prefix` on the first stdout line that starts with it.
    pub fn word_after(&self, prefix: &str) -> Option<&str> {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|l| l.split_whitespace().next())
    }
}

/// Describes a command for messages: `argv[0]` as given (it may differ from the program,
/// for multi-call names), then the arguments.
pub fn describe(cmd: &Command, arg0: Option<&str>) -> String {
    let mut s = arg0
        .map(str::to_string)
        .unwrap_or_else(|| cmd.get_program().to_string_lossy().into_owned());
    for a in cmd.get_args() {
        s.push(' ');
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$;|&<>()".contains(c)) {
            s.push('\'');
            s.push_str(&a.replace('\'', "'\\''"));
            s.push('\'');
        } else {
            s.push_str(&a);
        }
    }
    s
}

fn reader(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Runs `cmd` to completion or until `timeout`; `Err` describes a command that could not
/// be started, hung, or left its output pipes open behind it.
pub fn try_run(
    mut cmd: Command,
    desc: String,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, String> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run `{desc}`: {e}"))?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let data = data.to_vec();
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let out_rx = reader(child.stdout.take().expect("piped stdout"));
    let err_rx = reader(child.stderr.take().expect("piped stderr"));
    let deadline = started + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("wait for `{desc}`: {e}")),
        }
    };
    let elapsed = started.elapsed();
    let hung = status.is_none();
    if hung {
        let _ = child.kill();
        let _ = child.wait();
    }
    // A daemon that keeps our pipes open would block these forever.
    let grace = Duration::from_secs(5);
    let stdout = out_rx.recv_timeout(grace);
    let stderr = err_rx.recv_timeout(grace);
    let text = |r: &Result<Vec<u8>, mpsc::RecvTimeoutError>| {
        r.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_else(|_| "<pipe still held open by another process>".into())
    };
    let out = Output {
        cmd: desc,
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)),
        stdout: text(&stdout),
        stderr: text(&stderr),
        elapsed,
    };
    if hung {
        return Err(format!("timed out after {} s\n{out}", timeout.as_secs()));
    }
    if stdout.is_err() || stderr.is_err() {
        return Err(format!(
            "the command exited but something it started kept its stdout/stderr open\n{out}"
        ));
    }
    Ok(out)
}

/// Like [`try_run`], panicking with the description on error.
#[track_caller]
pub fn run(cmd: Command, desc: String, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    match try_run(cmd, desc, stdin, timeout) {
        Ok(o) => o,
        Err(e) => panic!("{e}"),
    }
}

/// Runs a plain host command (not lxu), e.g. `useradd`.
#[track_caller]
pub fn sh(program: &str, args: &[&str]) -> Output {
    let mut c = Command::new(program);
    c.args(args);
    let desc = describe(&c, None);
    run(c, desc, None, DEFAULT_TIMEOUT)
}
