//! A bar for the rootfs copy of `lxu copy` and `lxu snapshot`, drawn on stderr when that
//! is a terminal; nothing when it is not, or with `-q`.
//!
//! `cp -a` does the copying, so the bar compares the bytes under the destination with
//! those under the source, measured by a thread of the copying process every quarter
//! second.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use lxu_download::Progress;
use lxu_runtime::copy::CopyProgress;

const EVERY: Duration = Duration::from_millis(250);

pub(crate) struct CopyBar {
    label: String,
    shown: bool,
    watcher: Mutex<Option<(Arc<AtomicBool>, JoinHandle<()>)>>,
}

impl CopyBar {
    /// A bar labelled `label`, unless `quiet` or stderr is not a terminal.
    pub(crate) fn new(label: String, quiet: bool) -> CopyBar {
        CopyBar {
            label,
            shown: !quiet && std::io::stderr().is_terminal(),
            watcher: Mutex::new(None),
        }
    }
}

impl CopyProgress for CopyBar {
    fn begin(&self, from: &Path, to: &Path) {
        if !self.shown {
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (from, to, label) = (from.to_path_buf(), to.to_path_buf(), self.label.clone());
        let flag = stop.clone();
        let thread = std::thread::spawn(move || watch(&from, &to, &label, &flag));
        *self.watcher.lock().unwrap_or_else(PoisonError::into_inner) = Some((stop, thread));
    }

    fn end(&self) {
        let watcher = self
            .watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, thread)) = watcher {
            stop.store(true, Ordering::Relaxed);
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

fn watch(from: &Path, to: &Path, label: &str, stop: &AtomicBool) {
    let total = tree_bytes(from);
    let bar = Progress::on_terminal().bar(Some(total), label);
    while !stop.load(Ordering::Relaxed) {
        bar.set_position(tree_bytes(to).min(total));
        std::thread::park_timeout(EVERY);
    }
    bar.finish();
}

/// The bytes of the regular files under `root` (what `cp` has to write), not following
/// links; what cannot be read counts nothing.
fn tree_bytes(root: &Path) -> u64 {
    let mut sum = 0;
    let mut dirs: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(e.path()),
                Ok(t) if t.is_file() => sum += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_file_bytes_below_a_directory() {
        let d = std::env::temp_dir().join(format!("lxu-progress-{}", std::process::id()));
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("x"), [0u8; 10]).unwrap();
        std::fs::write(d.join("a/b/y"), [0u8; 5]).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("l")).unwrap();
        assert_eq!(tree_bytes(&d), 15);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn no_bar_when_quiet() {
        let b = CopyBar::new("x".into(), true);
        b.begin(Path::new("/nonexistent"), Path::new("/nonexistent"));
        assert!(b.watcher.lock().unwrap().is_none());
        b.end();
    }
}
