//! `lxu-bench-unpack KEY TARBALL SIG DEST [EXCLUDES_FILE]`
//!
//! Verifies TARBALL against SIG with the public key KEY, then unpacks it into DEST
//! (which must exist and be empty) with the excludes listed in EXCLUDES_FILE (the
//! image's `excludes-user`), exactly as `lxu create -t download` does with a cached
//! image. Prints one JSON object: the two durations and what the unpack did.
//! Run it as root of a user namespace, as lxu's create does, so owners are applied.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use lxu_download::trust::Keyring;
use lxu_download::unpack::{unpack_file, UnpackOptions};

// The allocator of the installed `lxu` when it is a musl build.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: lxu_sys::alloc::Allocator = lxu_sys::alloc::Allocator;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if !(4..=5).contains(&args.len()) {
        eprintln!("usage: lxu-bench-unpack KEY TARBALL SIG DEST [EXCLUDES_FILE]");
        return ExitCode::from(2);
    }
    let (key, tarball, sig, dest) = (&args[0], &args[1], &args[2], &args[3]);
    let excludes = match args.get(4).map(std::fs::read_to_string).transpose() {
        Ok(text) => text
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect(),
        Err(e) => {
            eprintln!("lxu-bench-unpack: cannot read the excludes: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut keyring = Keyring::new();
    if let Err(e) = keyring.add_file(key) {
        eprintln!("lxu-bench-unpack: {}", shown(&e));
        return ExitCode::FAILURE;
    }
    let t0 = Instant::now();
    if let Err(e) = keyring.verify_file(tarball, sig, &tarball.display().to_string()) {
        eprintln!("lxu-bench-unpack: {}", shown(&e));
        return ExitCode::FAILURE;
    }
    let verify = t0.elapsed();
    let opts = UnpackOptions::new(excludes);
    let t1 = Instant::now();
    let stats = match unpack_file(tarball, dest, &opts, None) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lxu-bench-unpack: {}", shown(&e));
            return ExitCode::FAILURE;
        }
    };
    let unpack = t1.elapsed();
    println!(
        "{{\"verify_ns\": {}, \"unpack_ns\": {}, \"preserve_owner\": {}, \"files\": {}, \"dirs\": {}, \
         \"symlinks\": {}, \"hardlinks\": {}, \"skipped_excludes\": {}, \"skipped_devices\": {}, \
         \"skipped_xattrs\": {}, \"bytes\": {}}}",
        verify.as_nanos(),
        unpack.as_nanos(),
        opts.preserve_owner,
        stats.files,
        stats.dirs,
        stats.symlinks,
        stats.hardlinks,
        stats.skipped_excludes,
        stats.skipped_devices,
        stats.skipped_xattrs,
        stats.bytes
    );
    ExitCode::SUCCESS
}

/// The error and its causes joined with ": ", as lxu prints them.
fn shown(e: &dyn std::error::Error) -> String {
    let causes = std::iter::successors(Some(e), |e| e.source());
    causes.map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
