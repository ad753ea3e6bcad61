//! The debian recipe: debootstrap into the build tree, then strip host- and
//! build-specific state so every container made from the image starts clean.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::{mounts_under, run_logged, write_file, BuildError, Rootfs};
use crate::error::io_err;
use crate::image_id::validate_field;
use crate::meta::ConfigIncludes;
use crate::recipe::{host_arch, DebianRecipe};

/// Where debootstrap's output goes, in the build's output directory.
pub(super) const LOG: &str = "debootstrap.log";

pub(super) fn make(r: &DebianRecipe, rootfs: &Path, out_dir: &Path) -> Result<Rootfs, BuildError> {
    if !rustix::process::geteuid().is_root() {
        return Err(BuildError::NotRoot {
            what: "debootstrap",
        });
    }
    validate_field("release", &r.release)?;
    let (arch, _) = host_arch();
    fs::create_dir(rootfs).map_err(io_err("create", rootfs))?;

    let mut cmd = Command::new(&r.debootstrap);
    if !r.variant.is_empty() {
        cmd.arg(format!("--variant={}", r.variant));
    }
    cmd.arg(format!("--arch={arch}"));
    if !r.include.is_empty() {
        cmd.arg(format!("--include={}", r.include.join(",")));
    }
    if !r.exclude.is_empty() {
        cmd.arg(format!("--exclude={}", r.exclude.join(",")));
    }
    if let Some(k) = &r.keyring {
        cmd.arg(format!("--keyring={}", k.display()));
    }
    cmd.arg(&r.release).arg(rootfs).arg(&r.mirror);
    cmd.env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive");
    let log = out_dir.join(LOG);
    let result = run_logged(cmd, &log);
    // debootstrap unmounts /proc and /sys on exit, but not always after a failure.
    unmount_leftovers(rootfs)?;
    result?;

    clean(rootfs)?;
    let etc = rootfs.join("etc");
    write_file(&etc.join("hostname"), b"LXC_NAME\n", 0o644)?;
    write_file(&etc.join("hosts"), HOSTS.as_bytes(), 0o644)?;

    let systemd = r
        .include
        .iter()
        .any(|p| p == "systemd" || p == "systemd-sysv");
    if systemd {
        systemd_in_a_container(rootfs)?;
    }
    Ok(Rootfs {
        release: r.release.clone(),
        includes: ConfigIncludes::Distro("debian".into()),
        extra_config: Vec::new(),
        templates: vec!["/etc/hostname".into(), "/etc/hosts".into()],
        create_message: format!(
            "You just created a Debian {} {{arch}} ({{serial}}) container.\n\n\
             To enable SSH, run: apt install openssh-server\n\
             No default root or user password are set by LXC.\n",
            r.release
        ),
        owner: None,
        // LXC 1.0 cannot boot systemd unprivileged; lxc-ci leaves such images
        // out of the level-1 user index.
        min_compat_user: systemd.then_some(2),
    })
}

const HOSTS: &str = "127.0.0.1\tlocalhost\n127.0.1.1\tLXC_NAME\n\n\
# The following lines are desirable for IPv6 capable hosts\n\
::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// What systemd needs to come up `running` with a DHCP address in an unprivileged
/// container (distrobuilder's images do the same with a generator):
/// - systemd-networkd configures eth0 by DHCP; it must see /sys read-only, or it waits
///   forever for a udev that no container runs (systemd treats a writable /sys as
///   "udev is available", and unprivileged containers get a writable sysfs);
/// - debugfs and tracefs cannot be mounted in a user namespace: those units are skipped
///   in containers instead of failing the boot.
fn systemd_in_a_container(rootfs: &Path) -> Result<(), BuildError> {
    let etc = rootfs.join("etc/systemd");
    let dir = |p: &Path| fs::create_dir_all(p).map_err(io_err("create", p));
    let link = |target: &str, at: &Path| -> Result<(), BuildError> {
        let _ = fs::remove_file(at);
        std::os::unix::fs::symlink(target, at).map_err(io_err("link", at))?;
        Ok(())
    };
    dir(&etc.join("network"))?;
    write_file(
        &etc.join("network/eth0.network"),
        b"[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n",
        0o644,
    )?;
    let sys = etc.join("system");
    for wants in ["multi-user.target.wants", "sockets.target.wants"] {
        dir(&sys.join(wants))?;
    }
    link(
        "/lib/systemd/system/systemd-networkd.service",
        &sys.join("multi-user.target.wants/systemd-networkd.service"),
    )?;
    link(
        "/lib/systemd/system/systemd-networkd.socket",
        &sys.join("sockets.target.wants/systemd-networkd.socket"),
    )?;
    let dropin = |unit: &str, text: &str| -> Result<(), BuildError> {
        let d = sys.join(format!("{unit}.d"));
        dir(&d)?;
        write_file(&d.join("lxu-container.conf"), text.as_bytes(), 0o644)
    };
    dropin(
        "systemd-networkd.service",
        "[Service]\nBindReadOnlyPaths=/sys\n",
    )?;
    for unit in ["sys-kernel-debug.mount", "sys-kernel-tracing.mount"] {
        dropin(unit, "[Unit]\nConditionVirtualization=!container\n")?;
    }
    Ok(())
}

fn unmount_leftovers(rootfs: &Path) -> Result<(), BuildError> {
    let mounts = mounts_under(rootfs).map_err(io_err("read mounts below", rootfs))?;
    for m in mounts.iter().rev() {
        let _ = Command::new("umount").arg("-l").arg(m).status();
    }
    match mounts_under(rootfs)
        .map_err(io_err("read mounts below", rootfs))?
        .first()
    {
        Some(m) => Err(BuildError::StillMounted { path: m.clone() }),
        None => Ok(()),
    }
}

/// Removes what only describes the build host or the build run.
fn clean(rootfs: &Path) -> Result<(), BuildError> {
    // Package lists and downloaded .debs: large, and stale by the time anyone
    // uses the image (`apt update` fetches fresh ones).
    empty_dir(&rootfs.join("var/lib/apt/lists"), &["partial", "lock"])?;
    empty_dir(&rootfs.join("var/lib/apt/lists/partial"), &[])?;
    empty_dir(&rootfs.join("var/cache/apt/archives"), &["partial", "lock"])?;
    empty_dir(&rootfs.join("var/cache/apt/archives/partial"), &[])?;
    for f in [
        "var/cache/apt/pkgcache.bin",
        "var/cache/apt/srcpkgcache.bin",
    ] {
        remove_file(&rootfs.join(f))?;
    }
    // The host's resolver config and debootstrap's own log.
    remove_file(&rootfs.join("etc/resolv.conf"))?;
    remove_file(&rootfs.join("var/log/bootstrap.log"))?;
    // Every container must generate its own machine id at first boot.
    let machine_id = rootfs.join("etc/machine-id");
    if machine_id.is_file() {
        write_file(&machine_id, b"", 0o444)?;
    }
    remove_file(&rootfs.join("var/lib/dbus/machine-id"))?;
    Ok(())
}

fn empty_dir(dir: &Path, keep: &[&str]) -> Result<(), BuildError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("list", dir)(e).into()),
    };
    for entry in entries {
        let entry = entry.map_err(io_err("list", dir))?;
        if keep.iter().any(|k| entry.file_name() == *k) {
            continue;
        }
        let p = entry.path();
        let ft = entry.file_type().map_err(io_err("stat", &p))?;
        if ft.is_dir() {
            fs::remove_dir_all(&p).map_err(io_err("remove", &p))?;
        } else {
            fs::remove_file(&p).map_err(io_err("remove", &p))?;
        }
    }
    Ok(())
}

fn remove_file(p: &Path) -> Result<(), BuildError> {
    match fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("remove", p)(e).into()),
        _ => Ok(()),
    }
}
