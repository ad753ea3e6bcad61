//! Times `Config::load` of a typical unprivileged container config (which pulls
//! in common.conf, common.conf.d/ and userns.conf) — `lxu ls --fancy` does this
//! once per container. Run with `cargo run --release --example parse_bench`.

use std::path::Path;
use std::time::Instant;

use lxu_config::{Config, ConfigFile};

fn time<T>(label: &str, n: u32, mut f: impl FnMut() -> T) {
    for _ in 0..n / 10 {
        std::hint::black_box(f());
    }
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(f());
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("{label:<58} {per:>8.2} µs");
}

fn main() {
    let shipped = Path::new("/usr/share/lxc/config");
    if !shipped.join("common.conf").exists() {
        eprintln!("needs /usr/share/lxc/config (Debian's lxc package)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lxu-config-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let top = dir.join("config");
    // A typical unprivileged container from the download template.
    let mut config = ConfigFile::parse_str("", &top).unwrap();
    for (key, value) in [
        ("lxc.include", "/usr/share/lxc/config/common.conf"),
        ("lxc.include", "/usr/share/lxc/config/userns.conf"),
        ("lxc.arch", "linux64"),
        ("lxc.idmap", "u 0 100000 65536"),
        ("lxc.idmap", "g 0 100000 65536"),
        ("lxc.rootfs.path", "dir:/home/u/.local/share/lxc/c1/rootfs"),
        ("lxc.uts.name", "c1"),
        ("lxc.net.0.type", "veth"),
        ("lxc.net.0.link", "lxcbr0"),
        ("lxc.net.0.flags", "up"),
        ("lxc.net.0.hwaddr", "00:16:3e:5a:21:0c"),
    ] {
        config.append(key, value);
    }
    std::fs::write(&top, config.render()).unwrap();
    let n = 20_000;
    time(
        "Config::load (config + common.conf + common.conf.d + userns.conf)",
        n,
        || Config::load(&top).unwrap(),
    );
    let common = std::fs::read_to_string(shipped.join("common.conf")).unwrap();
    time(
        "Config::parse_str(common.conf text), no I/O except its include",
        n,
        || Config::parse_str(&common, Path::new("/x")).unwrap(),
    );
    let no_inc: String = common
        .lines()
        .filter(|l| !l.starts_with("lxc.include"))
        .map(|l| format!("{l}\n"))
        .collect();
    time(
        "Config::parse_str(common.conf text without include), no I/O",
        n,
        || Config::parse_str(&no_inc, Path::new("/x")).unwrap(),
    );
    time("ConfigFile::parse_str + render (common.conf)", n, || {
        ConfigFile::parse_str(&common, Path::new("/x"))
            .unwrap()
            .render()
    });
    // The files Config::load reads: common.conf.d holds what packages drop in (lxcfs's
    // 00-lxcfs.conf on Debian), or nothing.
    let mut files = vec![top.clone(), shipped.join("common.conf")];
    if let Ok(rd) = std::fs::read_dir(shipped.join("common.conf.d")) {
        files.extend(
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "conf")),
        );
    }
    files.push(shipped.join("userns.conf"));
    time(
        &format!("std::fs::read of the {} files alone", files.len()),
        n,
        || {
            for p in &files {
                std::hint::black_box(std::fs::read(p).unwrap());
            }
        },
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
