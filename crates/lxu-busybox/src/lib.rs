//! A system container made of one static busybox binary: the directory tree, the applet
//! links, busybox init's table, a boot script (mounts, hostname, DHCP) and the account
//! files. `lxu create -t busybox` builds it in place for a container; `lxu image build
//! busybox` builds it for an image, with `LXC_NAME` for the name (LXC's template files
//! replace it at create).

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Where Debian's busybox-static installs it.
pub const HOST_BUSYBOX: &str = "/bin/busybox";

#[derive(Debug, thiserror::Error)]
pub enum BusyboxError {
    #[error("{op} `{}`", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot run `{command}` (install Debian's busybox-static package)")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("`{}` is dynamically linked (interpreter `{interp}`): it would find no libc in the container; install busybox-static", path.display())]
    NotStatic { path: PathBuf, interp: String },
    #[error("`{}` is not an ELF executable", path.display())]
    NotElf { path: PathBuf },
    #[error("busybox `{}` lacks the `{applet}` applet", path.display())]
    MissingApplet { path: PathBuf, applet: &'static str },
    #[error("cannot tell the busybox version from `{} --help`", path.display())]
    Version { path: PathBuf },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BusyboxError + 'a {
    move |source| BusyboxError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), BusyboxError> {
    let mut f = fs::File::create(path).map_err(io_err("create", path))?;
    f.write_all(data).map_err(io_err("write", path))?;
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err("chmod", path))?;
    Ok(())
}

const DIRS: &[(&str, u32)] = &[
    ("bin", 0o755),
    ("sbin", 0o755),
    ("usr", 0o755),
    ("usr/bin", 0o755),
    ("usr/sbin", 0o755),
    ("etc", 0o755),
    ("etc/init.d", 0o755),
    ("dev", 0o755),
    ("proc", 0o555),
    ("sys", 0o555),
    ("run", 0o755),
    ("tmp", 0o1777),
    ("root", 0o700),
    ("home", 0o755),
    ("mnt", 0o755),
    ("var", 0o755),
    ("var/log", 0o755),
    ("var/tmp", 0o1777),
    ("lib", 0o755),
];

/// A host busybox that can run a system container.
#[derive(Debug, Clone)]
pub struct Busybox {
    pub binary: PathBuf,
    /// e.g. `1.35.0`
    pub version: String,
    /// Applet paths relative to `/` (`bin/ls`, `sbin/init`, ...).
    pub applets: Vec<String>,
}

/// What a built tree is for.
#[derive(Debug, Clone)]
pub struct TreeOptions<'a> {
    /// Written to /etc/hostname and /etc/hosts (`LXC_NAME` for an image).
    pub hostname: &'a str,
    /// Gettys on tty1..ttys.
    pub ttys: u32,
    /// Days since the epoch for /etc/shadow's last change field.
    pub shadow_days: u64,
}

impl Busybox {
    /// Checks that `binary` is a static busybox with the applets a system needs.
    pub fn probe(binary: &Path) -> Result<Busybox, BusyboxError> {
        check_static(binary)?;
        let version = busybox_version(binary)?;
        let applets = list_applets(binary)?;
        for needed in ["sh", "init", "mount", "hostname", "getty"] {
            if !applets.iter().any(|a| a.rsplit('/').next() == Some(needed)) {
                return Err(BusyboxError::MissingApplet {
                    path: binary.to_path_buf(),
                    applet: needed,
                });
            }
        }
        Ok(Busybox {
            binary: binary.to_path_buf(),
            version,
            applets,
        })
    }

    /// LXC keys a busybox container needs: busybox init halts on SIGUSR1 and reboots on
    /// SIGTERM, where LXC's defaults (SIGPWR, SIGINT) would be ignored.
    pub const CONFIG: &'static [(&'static str, &'static str)] = &[
        ("lxc.signal.halt", "SIGUSR1"),
        ("lxc.signal.reboot", "SIGTERM"),
    ];

    /// Builds the tree at `rootfs` (created if missing). Files get the caller's ids:
    /// run it as the container's root to have them owned by the container.
    pub fn build(&self, rootfs: &Path, o: &TreeOptions<'_>) -> Result<(), BusyboxError> {
        fs::create_dir_all(rootfs).map_err(io_err("create", rootfs))?;
        fs::set_permissions(rootfs, fs::Permissions::from_mode(0o755))
            .map_err(io_err("chmod", rootfs))?;
        for (d, mode) in DIRS {
            let p = rootfs.join(d);
            fs::create_dir_all(&p).map_err(io_err("create", &p))?;
            // Explicit chmod: create_dir honours the umask, and the sticky bit needs it anyway.
            fs::set_permissions(&p, fs::Permissions::from_mode(*mode))
                .map_err(io_err("chmod", &p))?;
        }
        let target = rootfs.join("bin/busybox");
        fs::copy(&self.binary, &target).map_err(io_err("copy busybox to", &target))?;
        fs::set_permissions(&target, fs::Permissions::from_mode(0o755))
            .map_err(io_err("chmod", &target))?;
        for applet in &self.applets {
            let rel = Path::new(applet);
            if rel == Path::new("bin/busybox") {
                continue;
            }
            let link = rootfs.join(rel);
            if fs::symlink_metadata(&link).is_ok() {
                continue;
            }
            if let Some(parent) = link.parent() {
                fs::create_dir_all(parent).map_err(io_err("create", parent))?;
            }
            symlink("/bin/busybox", &link).map_err(io_err("symlink", &link))?;
        }
        // LXC starts /sbin/init and scripts use /bin/sh, wherever the applet list puts them.
        for fixed in ["sbin/init", "bin/sh"] {
            let link = rootfs.join(fixed);
            if fs::symlink_metadata(&link).is_err() {
                symlink("/bin/busybox", &link).map_err(io_err("symlink", &link))?;
            }
        }
        let getty = self
            .applets
            .iter()
            .find(|a| a.rsplit('/').next() == Some("getty"))
            .map(|a| format!("/{a}"))
            .unwrap_or_else(|| "/sbin/getty".to_string());
        let etc = rootfs.join("etc");
        let mut inittab = String::from(
            "# busybox init(8) table written by lxu.\n\
             # Halt is SIGUSR1 and reboot SIGTERM (see lxc.signal.* in the container config).\n\
             ::sysinit:/etc/init.d/rcS\n",
        );
        for n in 1..=o.ttys {
            inittab.push_str(&format!("tty{n}::respawn:{getty} -L tty{n} 115200 vt100\n"));
        }
        inittab.push_str("console::askfirst:-/bin/sh\n::ctrlaltdel:/sbin/reboot\n");
        write_file(&etc.join("inittab"), inittab.as_bytes(), 0o644)?;
        write_file(&etc.join("init.d/rcS"), RCS.as_bytes(), 0o755)?;
        write_file(&etc.join("udhcpc.script"), UDHCPC_SCRIPT.as_bytes(), 0o755)?;
        write_file(
            &etc.join("passwd"),
            b"root::0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
            0o644,
        )?;
        write_file(
            &etc.join("group"),
            b"root:x:0:\ntty:x:5:\nnogroup:x:65534:\n",
            0o644,
        )?;
        write_file(
            &etc.join("shadow"),
            format!("root::{}:0:99999:7:::\n", o.shadow_days).as_bytes(),
            0o600,
        )?;
        write_file(
            &etc.join("hostname"),
            format!("{}\n", o.hostname).as_bytes(),
            0o644,
        )?;
        write_file(
            &etc.join("hosts"),
            HOSTS.replace("HOSTNAME", o.hostname).as_bytes(),
            0o644,
        )?;
        write_file(&etc.join("profile"), PROFILE.as_bytes(), 0o644)?;
        write_file(&etc.join("shells"), b"/bin/sh\n/bin/ash\n", 0o644)?;
        write_file(
            &etc.join("fstab"),
            b"# The runtime sets up the mounts; see /etc/init.d/rcS.\n",
            0o644,
        )?;
        let v = &self.version;
        let os_release = format!(
            "NAME=\"BusyBox\"\nID=busybox\nVERSION_ID=\"{v}\"\nVERSION=\"{v}\"\n\
             PRETTY_NAME=\"BusyBox {v}\"\nHOME_URL=\"https://busybox.net/\"\n"
        );
        write_file(&etc.join("os-release"), os_release.as_bytes(), 0o644)?;
        let mtab = etc.join("mtab");
        symlink("/proc/self/mounts", &mtab).map_err(io_err("symlink", &mtab))?;
        let var_run = rootfs.join("var/run");
        symlink("/run", &var_run).map_err(io_err("symlink", &var_run))?;
        Ok(())
    }
}

const RCS: &str = r#"#!/bin/sh
# System start-up for a busybox container (written by lxu).
# LXC usually mounts /proc, /sys and /dev already; mount only what is missing.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mounted() { grep -q "^[^ ]* $1 " /proc/mounts 2>/dev/null; }

[ -e /proc/self ] || mount -t proc proc /proc
mounted /sys || mount -t sysfs sysfs /sys 2>/dev/null
mkdir -p /dev/pts /dev/shm
mounted /dev/pts || mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts 2>/dev/null
mounted /dev/shm || mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm 2>/dev/null
mounted /run || mount -t tmpfs -o mode=0755,nosuid,nodev run /run 2>/dev/null

[ -s /etc/hostname ] && hostname -F /etc/hostname
ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null
# DHCP on every interface the container config did not give an IPv4 address.
for d in /sys/class/net/*; do
    i=${d##*/}
    [ "$i" = lo ] && continue
    [ -e "$d" ] || continue
    ip -4 addr show dev "$i" | grep -q inet && continue
    udhcpc -b -S -i "$i" -s /etc/udhcpc.script -t 20 -T 1 -A 1 >/dev/null 2>&1
done
exit 0
"#;

/// busybox udhcpc's hook: applies the lease.
const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast $broadcast} dev "$interface"
        if [ -n "$router" ]; then
            ip route del default 2>/dev/null
            for r in $router; do ip route add default via "$r" dev "$interface"; break; done
        fi
        if [ -n "$dns" ]; then
            : > /etc/resolv.conf
            for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
        fi
        ;;
esac
exit 0
"#;

const HOSTS: &str =
    "127.0.0.1\tlocalhost\n127.0.1.1\tHOSTNAME\n::1\tlocalhost ip6-localhost ip6-loopback\n\
ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

const PROFILE: &str = "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\nexport PS1='\\u@\\h:\\w\\$ '\n";

/// `busybox --list-full`: applet paths relative to `/`, e.g. `bin/sh`.
fn list_applets(busybox: &Path) -> Result<Vec<String>, BusyboxError> {
    let out = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|source| BusyboxError::Spawn {
            command: format!("{} --list-full", busybox.display()),
            source,
        })?;
    if !out.status.success() {
        return Err(BusyboxError::Failed {
            command: format!("{} --list-full", busybox.display()),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        // Applet paths are relative and plain; anything else would escape the tree.
        .filter(|l| {
            !l.is_empty()
                && Path::new(l)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)))
        })
        .map(String::from)
        .collect())
}

/// The version from the first line of `busybox --help`
/// ("BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.").
fn busybox_version(busybox: &Path) -> Result<String, BusyboxError> {
    let out = Command::new(busybox)
        .arg("--help")
        .output()
        .map_err(|source| BusyboxError::Spawn {
            command: format!("{} --help", busybox.display()),
            source,
        })?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    parse_version(&text).ok_or_else(|| BusyboxError::Version {
        path: busybox.to_path_buf(),
    })
}

fn parse_version(text: &str) -> Option<String> {
    let rest = text.split("BusyBox v").nth(1)?;
    let v: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-' || *c == '_')
        .collect();
    (!v.is_empty()).then_some(v)
}

/// Refuses a dynamically linked binary: it would find no libc in the container.
fn check_static(path: &Path) -> Result<(), BusyboxError> {
    let mut data = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut data))
        .map_err(io_err("read", path))?;
    match elf_interpreter(&data) {
        Err(()) => Err(BusyboxError::NotElf {
            path: path.to_path_buf(),
        }),
        Ok(None) => Ok(()),
        Ok(Some(interp)) => {
            let full = fs::read(path).map_err(io_err("read", path))?;
            let name = interp_name(&full, interp).unwrap_or_else(|| "?".into());
            Err(BusyboxError::NotStatic {
                path: path.to_path_buf(),
                interp: name,
            })
        }
    }
}

/// Offset and size of the PT_INTERP segment, if the ELF file has one.
fn elf_interpreter(data: &[u8]) -> Result<Option<(u64, u64)>, ()> {
    if data.len() < 64 || &data[..4] != b"\x7fELF" {
        return Err(());
    }
    let is64 = data[4] == 2;
    let le = data[5] == 1;
    let u16_at = |o: usize| -> Result<u64, ()> {
        let b: [u8; 2] = data.get(o..o + 2).ok_or(())?.try_into().map_err(|_| ())?;
        Ok(u64::from(if le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }))
    };
    let u32_at = |o: usize| -> Result<u64, ()> {
        let b: [u8; 4] = data.get(o..o + 4).ok_or(())?.try_into().map_err(|_| ())?;
        Ok(u64::from(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }))
    };
    let u64_at = |o: usize| -> Result<u64, ()> {
        let b: [u8; 8] = data.get(o..o + 8).ok_or(())?.try_into().map_err(|_| ())?;
        Ok(if le {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    };
    let (phoff, phentsize, phnum) = if is64 {
        (u64_at(0x20)?, u16_at(0x36)?, u16_at(0x38)?)
    } else {
        (u32_at(0x1c)?, u16_at(0x2a)?, u16_at(0x2c)?)
    };
    for i in 0..phnum {
        let ph = usize::try_from(phoff + i * phentsize).map_err(|_| ())?;
        if u32_at(ph)? == 3 {
            let (off, size) = if is64 {
                (u64_at(ph + 8)?, u64_at(ph + 32)?)
            } else {
                (u32_at(ph + 4)?, u32_at(ph + 16)?)
            };
            return Ok(Some((off, size)));
        }
    }
    Ok(None)
}

fn interp_name(data: &[u8], (off, size): (u64, u64)) -> Option<String> {
    let s = data.get(usize::try_from(off).ok()?..usize::try_from(off + size).ok()?)?;
    Some(String::from_utf8_lossy(s.strip_suffix(b"\0").unwrap_or(s)).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_help_banner() {
        assert_eq!(
            parse_version("BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n")
                .as_deref(),
            Some("1.35.0")
        );
        assert_eq!(parse_version("nothing here"), None);
    }

    #[test]
    fn dynamic_binaries_are_refused() {
        // /bin/sh on a Debian host is dynamically linked dash.
        let sh = fs::canonicalize("/bin/sh").unwrap();
        match check_static(&sh) {
            Err(BusyboxError::NotStatic { interp, .. }) => {
                assert!(interp.contains("ld-"), "{interp}")
            }
            other => panic!("expected NotStatic for {}, got {other:?}", sh.display()),
        }
        assert!(matches!(
            check_static(Path::new("/etc/passwd")),
            Err(BusyboxError::NotElf { .. })
        ));
    }

    #[test]
    fn host_busybox_is_static() {
        let bb = Path::new("/bin/busybox");
        if !lxu_test_support::need(bb.exists(), "/bin/busybox missing (install busybox-static)") {
            return;
        }
        check_static(bb).unwrap();
    }
}
