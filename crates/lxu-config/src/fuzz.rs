//! Bodies of the `cargo fuzz` targets (`fuzz/`), shared with the corpus tests that run
//! on stable (`tests/fuzz_corpus.rs`), so CI replays every corpus input and crash
//! through the same code. Not an API.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{parse_fstab, update_config, Config, ConfigFile};

/// Files the `config` input is split into (at NUL bytes), in order. The first is the
/// one loaded; the others are there to be included.
const FILES: [&str; 5] = ["config", "inc.conf", "d/a.conf", "d/b.conf", "fstab"];

/// Keys whose `lxc-info -c` rendering is exercised on a parsed config.
const ITEMS: [&str; 10] = [
    "lxc.net",
    "lxc.net.0.type",
    "lxc.idmap",
    "lxc.mount.entry",
    "lxc.cgroup",
    "lxc.cgroup2.memory.max",
    "lxc.hook",
    "lxc.prlimit",
    "lxc.uts.name",
    "lxc.rootfs.path",
];

/// A directory of its own for one input, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("lxu-fuzz-config.{}.{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("d")).expect("scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `config` target: the lossless file layer (which must render back to its input),
/// `lxc-update-config`, the fstab parser, and a full load with includes. The input is
/// up to five files separated by NUL bytes (see [`FILES`]); `@/` in them stands for the
/// input's scratch directory, so `lxc.include = @/d/` includes the fuzzer's own files.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\0').collect();
    let first = parts[0];
    if let Ok(f) = ConfigFile::parse_str(first, Path::new("fuzz.conf")) {
        assert_eq!(f.render(), first, "the config file layer is not lossless");
        let _ = Config::from_file(&f);
    }
    let _ = update_config(first);
    let _ = parse_fstab(first, Path::new("fuzz.fstab"));

    let scratch = Scratch::new();
    let prefix = format!("{}/", scratch.0.display());
    for (name, part) in FILES.iter().zip(&parts) {
        std::fs::write(scratch.0.join(name), part.replace("@/", &prefix)).expect("scratch file");
    }
    if let Ok(cfg) = Config::load(&scratch.0.join("config")) {
        for key in ITEMS {
            let _ = cfg.get_item(key);
        }
        let _ = cfg.is_unprivileged();
    }
}
