//! Progress of lxu's long operations: step lines (what `lxc-download` prints) and
//! byte-count bars, the bars only when a person is watching a terminal.
//!
//! One type serves `lxu create -t download` (download and unpack) and `lxu image`
//! (build and publish); each picks how it shows progress with a constructor:
//! [`Progress::download`], [`Progress::on_terminal`], or, for tests and callers
//! that log, [`Progress::capture`].
//!
//! Bars are drawn only on request (on every `inc`), never from a ticker thread: the
//! unpack step runs in the container's user-namespace child, which must stay
//! single-threaded apart from liblzma's decoder threads.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where step lines and warnings go.
pub struct Progress {
    out: Mutex<Box<dyn Write + Send>>,
    bars: bool,
}

/// What a [`Progress::capture`] sink has received.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Progress {
    /// Step lines on stdout (as LXC prints them), bars on stderr when it is a terminal.
    fn terminal() -> Progress {
        Progress {
            out: Mutex::new(Box::new(io::stdout())),
            bars: io::stderr().is_terminal(),
        }
    }

    /// What `lxu create -t download` shows: the step lines always, as
    /// `lxc-download` prints them (on stdout when stderr is a terminal, else on
    /// stderr), and bars only on a terminal.
    pub fn download() -> Progress {
        if io::stderr().is_terminal() {
            Progress::terminal()
        } else {
            Progress::plain(Box::new(io::stderr()))
        }
    }

    /// For a command whose standard output is its result (`lxu image build`):
    /// step lines and bars on stderr when it is a terminal, nothing otherwise.
    pub fn on_terminal() -> Progress {
        if io::stderr().is_terminal() {
            Progress {
                out: Mutex::new(Box::new(io::stderr())),
                bars: true,
            }
        } else {
            Progress::quiet()
        }
    }

    /// Step lines to `w`, no bars.
    fn plain(w: Box<dyn Write + Send>) -> Progress {
        Progress {
            out: Mutex::new(w),
            bars: false,
        }
    }

    /// Nothing printed.
    pub fn quiet() -> Progress {
        Progress::plain(Box::new(io::sink()))
    }

    /// Step lines kept in memory (tests, or a caller that wants to log them).
    pub fn capture() -> (Progress, Captured) {
        let c = Captured::default();
        (Progress::plain(Box::new(CaptureWriter(c.0.clone()))), c)
    }

    /// Prints one line.
    pub fn step(&self, msg: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{msg}");
        let _ = out.flush();
    }

    /// Prints `WARNING: msg`.
    pub fn warn(&self, msg: &str) {
        self.step(&format!("WARNING: {msg}"));
    }

    /// A byte-count bar (drawn only on a terminal).
    pub fn bar(&self, len: Option<u64>, label: &str) -> Bar {
        if !self.bars {
            return Bar { pb: None };
        }
        let pb = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr_with_hz(10));
        let template = if len.is_some() {
            "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "{msg} {bytes} {bytes_per_sec}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(label.to_string());
        Bar { pb: Some(pb) }
    }
}

/// A progress bar, or nothing when not on a terminal.
pub struct Bar {
    pb: Option<ProgressBar>,
}

impl Bar {
    pub fn set_length(&self, len: u64) {
        if let Some(pb) = &self.pb {
            pb.set_length(len);
        }
    }
    pub fn set_position(&self, pos: u64) {
        if let Some(pb) = &self.pb {
            pb.set_position(pos);
        }
    }
    pub fn inc(&self, n: u64) {
        if let Some(pb) = &self.pb {
            pb.inc(n);
        }
    }
    pub fn finish(&self) {
        if let Some(pb) = &self.pb {
            pb.finish_and_clear();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A reader that advances a bar by what it reads.
pub struct BarReader<'b, R> {
    pub inner: R,
    pub bar: &'b Bar,
}

impl<R: io::Read> io::Read for BarReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// A writer that advances a bar by what it writes.
pub struct BarWriter<'b, W> {
    pub inner: W,
    pub bar: &'b Bar,
}

impl<W: Write> Write for BarWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_collects_lines_and_plain_has_no_bars() {
        let (p, c) = Progress::capture();
        p.step("Downloading the image index");
        p.warn("Running without gpg validation!");
        let b = p.bar(Some(10), "x");
        b.inc(5);
        assert!(b.pb.is_none());
        assert_eq!(
            c.text(),
            "Downloading the image index\nWARNING: Running without gpg validation!\n"
        );
    }
}
