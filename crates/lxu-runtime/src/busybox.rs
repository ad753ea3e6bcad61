//! The built-in `busybox` template: a system container from the host's busybox-static,
//! built in-process (LXC's shell template takes ~400 ms; this takes a few).

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// Run by busybox init at boot: a tmpfs on /run, the hostname, DHCP on every interface
/// that has no IPv4 address from the config.
const RCS: &str = r#"#!/bin/sh
/bin/mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run 2>/dev/null
[ -s /etc/hostname ] && /bin/hostname -F /etc/hostname
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

/// Where Debian's busybox-static puts the binary.
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// What the template needs from the host, gathered before entering the user namespace.
#[derive(Debug, Clone)]
pub struct Busybox {
    pub binary: PathBuf,
    pub version: String,
    /// Applet paths relative to the root (`bin/ls`, `sbin/init`, …).
    pub applets: Vec<String>,
}

impl Busybox {
    pub fn probe() -> Result<Busybox> {
        let binary = PathBuf::from(HOST_BUSYBOX);
        if !binary.is_file() {
            return Err(Error::Msg(format!(
                "the busybox template needs `{HOST_BUSYBOX}`: install Debian's `busybox-static` package (apt-get install busybox-static)"
            )));
        }
        let out = Command::new(&binary)
            .arg("--list-full")
            .output()
            .map_err(|e| Error::sys(format!("run `{HOST_BUSYBOX} --list-full`"), e))?;
        let applets: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().trim_start_matches('/').to_string())
            .filter(|l| !l.is_empty() && !l.contains(".."))
            .collect();
        if !applets.iter().any(|a| a == "sbin/init") {
            return Err(Error::Msg(format!(
                "`{HOST_BUSYBOX}` has no init applet; the busybox template needs busybox-static"
            )));
        }
        let help = Command::new(&binary)
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default();
        let version = String::from_utf8_lossy(&help)
            .split_whitespace()
            .nth(1)
            .unwrap_or("v0")
            .trim_start_matches('v')
            .to_string();
        Ok(Busybox {
            binary,
            version,
            applets,
        })
    }

    /// Lines the template adds to the container's config.
    pub fn config_lines(&self) -> Vec<(&'static str, String)> {
        vec![
            // busybox init: SIGUSR1 halts, SIGTERM reboots.
            ("lxc.signal.halt", "SIGUSR1".into()),
            ("lxc.signal.reboot", "SIGTERM".into()),
            ("lxc.tty.max", "4".into()),
            ("lxc.pty.max", "1024".into()),
            (
                "lxc.cap.drop",
                "sys_module mac_admin mac_override sys_time".into(),
            ),
            ("lxc.mount.auto", "cgroup:mixed proc:mixed sys:mixed".into()),
            (
                "lxc.mount.entry",
                "shm dev/shm tmpfs defaults,nosuid,nodev,create=dir 0 0".into(),
            ),
        ]
    }

    /// Builds the root filesystem at `rootfs` (run as root of the container's user
    /// namespace, so everything is owned by the container's ids).
    pub fn build(&self, rootfs: &Path, name: &str, ttys: u32) -> std::result::Result<(), String> {
        let err =
            |what: &str, p: &Path, e: std::io::Error| format!("{what} `{}`: {e}", p.display());
        let mkdir = |rel: &str, mode: u32| -> std::result::Result<(), String> {
            let p = rootfs.join(rel);
            fs::create_dir_all(&p).map_err(|e| err("create", &p, e))?;
            fs::set_permissions(&p, fs::Permissions::from_mode(mode))
                .map_err(|e| err("chmod", &p, e))
        };
        let write = |rel: &str, text: &str, mode: u32| -> std::result::Result<(), String> {
            let p = rootfs.join(rel);
            fs::write(&p, text).map_err(|e| err("write", &p, e))?;
            fs::set_permissions(&p, fs::Permissions::from_mode(mode))
                .map_err(|e| err("chmod", &p, e))
        };
        mkdir("", 0o755)?;
        for d in [
            "bin",
            "sbin",
            "usr/bin",
            "usr/sbin",
            "lib",
            "etc/init.d",
            "dev",
            "proc",
            "sys",
            "home",
            "var/log",
            "var/run",
            "run",
            "mnt",
            "root",
        ] {
            mkdir(d, 0o755)?;
        }
        mkdir("root", 0o700)?;
        mkdir("tmp", 0o1777)?;
        let bin = rootfs.join("bin/busybox");
        fs::copy(&self.binary, &bin).map_err(|e| err("copy busybox to", &bin, e))?;
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755))
            .map_err(|e| err("chmod", &bin, e))?;
        for applet in &self.applets {
            if applet == "bin/busybox" {
                continue;
            }
            let p = rootfs.join(applet);
            if let Some(parent) = p.parent() {
                if !parent.exists() {
                    fs::create_dir_all(parent).map_err(|e| err("create", parent, e))?;
                }
            }
            match symlink("/bin/busybox", &p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(err("link", &p, e)),
            }
        }
        let mut inittab = String::from("::sysinit:/etc/init.d/rcS\n");
        for i in 1..=ttys {
            inittab.push_str(&format!(
                "tty{i}::respawn:/sbin/getty -L tty{i} 115200 vt100\n"
            ));
        }
        inittab.push_str("console::askfirst:-/bin/sh\n");
        inittab.push_str("::ctrlaltdel:/sbin/reboot\n::shutdown:/bin/umount -a -r\n");
        write("etc/inittab", &inittab, 0o644)?;
        write("etc/init.d/rcS", RCS, 0o755)?;
        write("etc/udhcpc.script", UDHCPC_SCRIPT, 0o755)?;
        write(
            "etc/passwd",
            "root::0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
            0o644,
        )?;
        write("etc/shadow", "root::19000:0:99999:7:::\n", 0o600)?;
        write(
            "etc/group",
            "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n",
            0o644,
        )?;
        write("etc/hostname", &format!("{name}\n"), 0o644)?;
        write(
            "etc/hosts",
            &format!("127.0.0.1 localhost\n127.0.1.1 {name}\n::1 localhost ip6-localhost\n"),
            0o644,
        )?;
        write(
            "etc/os-release",
            &format!(
                "NAME=\"BusyBox\"\nID=busybox\nVERSION_ID=\"{v}\"\nPRETTY_NAME=\"BusyBox {v}\"\n",
                v = self.version
            ),
            0o644,
        )?;
        write(
            "etc/profile",
            "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='\\h:\\w\\$ '\n",
            0o644,
        )?;
        write("etc/fstab", "", 0o644)?;
        Ok(())
    }
}
