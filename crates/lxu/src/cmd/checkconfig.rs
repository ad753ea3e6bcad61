//! `lxu checkconfig`: what this host offers and lacks for unprivileged containers, each
//! missing item with the command that fixes it.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;
use lxu_config::{Config, IdKind};
use lxu_runtime::error::Chain;
use lxu_runtime::users;
use lxu_runtime::Context;

use crate::host::{setuid_root, sysctl};

struct Report {
    color: bool,
    missing: usize,
}

impl Report {
    fn item(&mut self, label: &str, ok: bool, detail: &str, fix: Option<&str>) {
        let word = if ok { "enabled" } else { "missing" };
        let shown = match (self.color, ok) {
            (true, true) => format!("\x1b[1;32m{word}\x1b[0m"),
            (true, false) => format!("\x1b[1;31m{word}\x1b[0m"),
            _ => word.to_string(),
        };
        if detail.is_empty() {
            println!("{label}: {shown}");
        } else {
            println!("{label}: {shown} ({detail})");
        }
        if !ok {
            self.missing += 1;
            if let Some(f) = fix {
                println!("  fix: {f}");
            }
        }
    }
}

/// Mounting overlayfs inside a user namespace (kernel 5.11+), tried for real.
fn overlay_in_userns() -> bool {
    let script = "d=$(mktemp -d) && mount -t tmpfs t \"$d\" && mkdir \"$d/l\" \"$d/u\" \"$d/w\" \"$d/m\" && mount -t overlay o -o lowerdir=\"$d/l\",upperdir=\"$d/u\",workdir=\"$d/w\" \"$d/m\"";
    let ok = std::process::Command::new("unshare")
        .args(["-Urm", "sh", "-c", script])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok
}

pub fn run() -> Result<i32> {
    let ctx = Context::new(None)?;
    let mut r = Report {
        color: std::io::stdout().is_terminal(),
        missing: 0,
    };
    println!("lxu version {}", env!("CARGO_PKG_VERSION"));
    println!("--- Namespaces ---");
    for (label, ns) in [
        ("Utsname namespace", "uts"),
        ("Ipc namespace", "ipc"),
        ("Pid namespace", "pid"),
        ("User namespace", "user"),
        ("Network namespace", "net"),
        ("Cgroup namespace", "cgroup"),
        ("Mount namespace", "mnt"),
    ] {
        r.item(
            label,
            Path::new("/proc/self/ns").join(ns).exists(),
            "",
            None,
        );
    }
    let max = sysctl("user.max_user_namespaces").unwrap_or(0);
    r.item(
        "user.max_user_namespaces",
        max > 0,
        &max.to_string(),
        Some("sysctl -w user.max_user_namespaces=15000 (as root)"),
    );
    r.item(
        "Unprivileged user namespaces",
        lxu_sys::fork::can_create(lxu_sys::fork::Namespaces {
            user: true,
            ..Default::default()
        }),
        "",
        Some("sysctl -w kernel.unprivileged_userns_clone=1 (as root)"),
    );

    println!("--- Id maps for {} (uid {}) ---", ctx.user.name, ctx.euid);
    for helper in ["newuidmap", "newgidmap"] {
        match lxu_runtime::idmap::helper_path(helper) {
            Some(p) => {
                let setuid = setuid_root(&p);
                r.item(
                    helper,
                    setuid,
                    &format!("{}{}", p.display(), if setuid { ", setuid root" } else { ", not setuid root" }),
                    Some(&format!("chown root {0} && chmod u+s {0} (as root), or apt-get install --reinstall uidmap", p.display())),
                );
            }
            None => r.item(
                helper,
                false,
                "not found",
                Some("apt-get install uidmap (as root)"),
            ),
        }
    }
    let fix_ids = format!("lxu setup-user {} (as root)", ctx.user.name);
    for kind in [IdKind::Uid, IdKind::Gid] {
        let file = users::subid_file(kind);
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let ranges = users::subid_ranges_in(&text, &ctx.user);
        let detail = users::describe_ranges(&ranges);
        let ok = ctx.is_root() || ranges.iter().any(|r| r.count >= 65536);
        r.item(
            &format!("{} ranges", file.display()),
            ok,
            &detail,
            Some(&fix_ids),
        );
    }
    let dc = &ctx.system.default_config;
    let has_map = Config::load(dc)
        .map(|c| !c.idmaps.is_empty())
        .unwrap_or(false);
    r.item(
        "lxc.idmap in default.conf",
        ctx.is_root() || has_map,
        &dc.display().to_string(),
        Some(&fix_ids),
    );

    println!("--- Control groups ---");
    match lxu_cgroup::Hierarchies::detect() {
        Ok(h) => {
            println!("Cgroup layout: {}", crate::host::cgroup_layout(&h));
            let d = h.delegation(ctx.euid);
            // Every controller that matters (memory, pids, cpu, ...) is delegated somewhere:
            // a hierarchy that is not usable then costs nothing (here: v2 with hugetlb only).
            let covered = d.warning().is_none();
            for hd in d.all() {
                let label = format!("Delegated cgroup ({})", hd.hierarchy);
                match (hd.is_usable(), hd.base()) {
                    (true, Some(base)) => r.item(&label, true, &base.display().to_string(), None),
                    _ if covered => println!(
                        "{label}: not used ({}; its controllers are delegated elsewhere or not needed)",
                        hd.reason().unwrap_or("not writable")
                    ),
                    _ => r.item(&label, false, hd.reason().unwrap_or(""), None),
                }
            }
            if !d.any_usable() {
                println!("  fix: {fix_ids}; containers still start, without resource limits");
            }
        }
        Err(e) => println!("Cgroup layout: unreadable ({})", Chain(&e)),
    }

    println!("--- Misc ---");
    r.item(
        "Overlayfs in a user namespace",
        overlay_in_userns(),
        "",
        Some("a kernel >= 5.11 is needed for overlay snapshots"),
    );
    let nic = ctx.libexec_dir.join("lxu-user-nic");
    r.item(
        "Network helper lxu-user-nic",
        setuid_root(&nic),
        &nic.display().to_string(),
        Some("run the install step as root (./x install)"),
    );
    println!();
    if r.missing == 0 {
        println!("Everything needed for unprivileged containers is here.");
    } else {
        println!("{} item(s) missing.", r.missing);
    }
    Ok(0)
}
