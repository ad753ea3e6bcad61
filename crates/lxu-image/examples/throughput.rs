//! Measures verify + decompress + unpack of a ~100 MB rootfs tarball against
//! `gpg --verify` + `tar xJf` on the same files.
//!
//! `cargo run --release -p lxu-image --example throughput [WORKDIR] [MB]`
//! Needs gpg, xz and GNU tar. Builds its corpus from /usr.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lxu_image::trust::Keyring;
use lxu_image::unpack::{unpack_file, UnpackOptions};

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn corpus(tar_path: &Path, limit: u64) -> u64 {
    let mut b = tar::Builder::new(std::fs::File::create(tar_path).unwrap());
    b.follow_symlinks(false);
    let mut total = 0u64;
    let mut stack = vec![PathBuf::from("/usr")];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        let name = dir.strip_prefix("/").unwrap();
        b.append_dir(name, &dir).unwrap();
        for p in entries {
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() {
                stack.push(p);
            } else if (m.is_file() || m.file_type().is_symlink()) && total + m.len() <= limit {
                let rel = p.strip_prefix("/").unwrap();
                if b.append_path_with_name(&p, rel).is_ok() {
                    total += m.len();
                }
            }
        }
        if total >= limit {
            break;
        }
    }
    b.finish().unwrap();
    total
}

fn best<F: FnMut() -> f64>(n: usize, mut f: F) -> f64 {
    (0..n).map(|_| f()).fold(f64::MAX, f64::min)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let work = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/lxu-throughput".into()));
    let mb: u64 = args.next().map(|s| s.parse().unwrap()).unwrap_or(100);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let tar = work.join("rootfs.tar");
    let content = corpus(&tar, mb * 1024 * 1024);
    let tar_size = std::fs::metadata(&tar).unwrap().len();

    let gnupg = work.join("gnupg");
    std::fs::create_dir(&gnupg).unwrap();
    std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let gpg = |args: &[&str]| {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", &gnupg)
            .args([
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args);
        c
    };
    run(&mut gpg(&[
        "--quick-gen-key",
        "bench <bench@example.invalid>",
        "ed25519",
        "sign,cert",
        "0",
    ]));
    let key = work.join("key.asc");
    run(&mut gpg(&[
        "--armor",
        "--output",
        key.to_str().unwrap(),
        "--export",
        "bench@example.invalid",
    ]));
    let mut keyring = Keyring::new();
    keyring.add_file(&key).unwrap();

    println!(
        "corpus: {} MB of file content, tar {:.1} MB, {} threads available",
        content / 1_000_000,
        tar_size as f64 / 1e6,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for (label, xz_args) in [
        ("xz -6 -T2 (multi-block)", ["-6", "-T2"]),
        ("xz -6 -T1 (one block)", ["-6", "-T1"]),
    ] {
        let xz = work.join("rootfs.tar.xz");
        let out = std::fs::File::create(&xz).unwrap();
        run(Command::new("xz")
            .args(xz_args)
            .args(["-c", "-k"])
            .arg(&tar)
            .stdout(out));
        let xz_size = std::fs::metadata(&xz).unwrap().len();
        let sig = work.join("rootfs.tar.xz.asc");
        run(&mut gpg(&[
            "--armor",
            "--detach-sign",
            "--output",
            sig.to_str().unwrap(),
            xz.to_str().unwrap(),
        ]));

        let verify = best(3, || {
            let t = Instant::now();
            keyring.verify_file(&xz, &sig, "rootfs.tar.xz").unwrap();
            t.elapsed().as_secs_f64()
        });
        let mut stats = None;
        let unpack = best(2, || {
            let dest = work.join("rootfs-lxu");
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::create_dir(&dest).unwrap();
            let t = Instant::now();
            stats = Some(unpack_file(&xz, &dest, &UnpackOptions::new(Vec::new()), None).unwrap());
            t.elapsed().as_secs_f64()
        });
        let gpg_verify = best(3, || {
            let t = Instant::now();
            run(&mut gpg(&[
                "--verify",
                sig.to_str().unwrap(),
                xz.to_str().unwrap(),
            ]));
            t.elapsed().as_secs_f64()
        });
        let tar_x = best(2, || {
            let dest = work.join("rootfs-tar");
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::create_dir(&dest).unwrap();
            let t = Instant::now();
            run(Command::new("tar")
                .args(["--numeric-owner", "-xpJf"])
                .arg(&xz)
                .arg("-C")
                .arg(&dest));
            t.elapsed().as_secs_f64()
        });
        let mbs = |bytes: u64, secs: f64| bytes as f64 / 1e6 / secs;
        println!("\n{label}: {:.1} MB compressed", xz_size as f64 / 1e6);
        println!(
            "  lxu verify (rPGP, streaming)   {verify:6.2} s  {:7.1} MB/s of .xz",
            mbs(xz_size, verify)
        );
        println!(
            "  gpg --verify                    {gpg_verify:6.2} s  {:7.1} MB/s of .xz",
            mbs(xz_size, gpg_verify)
        );
        println!(
            "  lxu decompress+unpack           {unpack:6.2} s  {:7.1} MB/s of tar",
            mbs(tar_size, unpack)
        );
        println!(
            "  tar --numeric-owner -xpJf       {tar_x:6.2} s  {:7.1} MB/s of tar",
            mbs(tar_size, tar_x)
        );
        println!(
            "  total lxu {:.2} s vs gpg+tar {:.2} s; {:?}",
            verify + unpack,
            gpg_verify + tar_x,
            stats.unwrap()
        );
    }
    if std::env::var_os("LXU_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
}
