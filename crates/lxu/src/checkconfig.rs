//! `lxu checkconfig`: what this host offers and lacks for unprivileged containers, each
//! missing item with the command that fixes it.

use std::io::IsTerminal;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use lxu_config::{Config, IdKind};
use lxu_runtime::users;
use lxu_runtime::Context;

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

fn find_helper(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

/// Whether this process can create a user namespace (tried in a child).
fn userns_works() -> bool {
    use lxu_sys::fork::{clone_into_namespaces, Fork, Namespaces};
    let ns = Namespaces {
        user: true,
        ..Namespaces::default()
    };
    match clone_into_namespaces(ns) {
        Ok(Fork::Child) => lxu_sys::exit_immediately(0),
        Ok(Fork::Parent(pid)) => matches!(
            rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()),
            Ok(Some((_, st))) if st.exit_status() == Some(0)
        ),
        Err(_) => false,
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

fn writable(p: &Path) -> bool {
    rustix::fs::access(p, rustix::fs::Access::WRITE_OK).is_ok()
}

/// Cgroup hierarchies and whether the caller can create a child cgroup in its current
/// cgroup of each.
fn cgroups() -> (String, Vec<(String, bool)>) {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut v1 = Vec::new();
    let mut v2: Option<PathBuf> = None;
    for l in mountinfo.lines() {
        let Some((pre, post)) = l.split_once(" - ") else {
            continue;
        };
        let mp = pre.split_whitespace().nth(4).unwrap_or("");
        let mut post = post.split_whitespace();
        match post.next() {
            Some("cgroup2") => v2 = Some(PathBuf::from(mp)),
            Some("cgroup") => {
                let opts = post.nth(1).unwrap_or("");
                let ctrl: Vec<&str> = opts
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("relatime"))
                    .collect();
                v1.push((ctrl.join(","), PathBuf::from(mp)));
            }
            _ => {}
        }
    }
    let mut results = Vec::new();
    for (ctrl, mp) in &v1 {
        let rel = own
            .lines()
            .find_map(|l| {
                let mut f = l.splitn(3, ':');
                let _ = f.next();
                let c = f.next()?;
                let p = f.next()?;
                (c == ctrl).then(|| p.to_string())
            })
            .unwrap_or_default();
        let dir = mp.join(rel.trim_start_matches('/'));
        results.push((format!("v1 {ctrl}"), writable(&dir)));
    }
    if let Some(mp) = &v2 {
        let rel = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or("/")
            .to_string();
        let dir = mp.join(rel.trim_start_matches('/'));
        let controllers =
            std::fs::read_to_string(mp.join("cgroup.controllers")).unwrap_or_default();
        results.push((
            format!("v2 at {} ({})", mp.display(), controllers.trim()),
            writable(&dir) && writable(&dir.join("cgroup.procs")),
        ));
    }
    let layout = match (v1.is_empty(), v2.is_some()) {
        (true, true) => "unified (cgroup v2)",
        (false, true) => "hybrid (cgroup v1 controllers + a v2 hierarchy)",
        (false, false) => "legacy (cgroup v1)",
        (true, false) => "none",
    };
    (layout.to_string(), results)
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
    let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    r.item(
        "user.max_user_namespaces",
        max > 0,
        &max.to_string(),
        Some("sysctl -w user.max_user_namespaces=15000 (as root)"),
    );
    r.item(
        "Unprivileged user namespaces",
        userns_works(),
        "",
        Some("sysctl -w kernel.unprivileged_userns_clone=1 (as root)"),
    );

    println!("--- Id maps for {} (uid {}) ---", ctx.user.name, ctx.euid);
    for helper in ["newuidmap", "newgidmap"] {
        match find_helper(helper) {
            Some(p) => {
                let meta = std::fs::metadata(&p).ok();
                let setuid = meta
                    .as_ref()
                    .is_some_and(|m| m.uid() == 0 && m.mode() & 0o4000 != 0);
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
        let detail = if ranges.is_empty() {
            "none".to_string()
        } else {
            ranges
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
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
    let (layout, hier) = cgroups();
    println!("Cgroup layout: {layout}");
    let any = hier.iter().any(|(_, w)| *w);
    for (name, w) in &hier {
        r.item(&format!("Writable cgroup ({name})"), *w, "", None);
    }
    if !any {
        println!("  fix: {fix_ids}; containers still start, without resource limits");
    }

    println!("--- Misc ---");
    r.item(
        "Overlayfs in a user namespace",
        overlay_in_userns(),
        "",
        Some("a kernel >= 5.11 is needed for overlay snapshots"),
    );
    let nic = ctx.libexec_dir.join("lxu-user-nic");
    let nic_ok = std::fs::metadata(&nic).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o4000 != 0);
    r.item(
        "Network helper lxu-user-nic",
        nic_ok,
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
