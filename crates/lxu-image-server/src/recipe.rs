//! What to build: the image recipes and their settings.

use std::path::PathBuf;

/// An image recipe. Every recipe builds for the architecture of the machine it
/// runs on (busybox copies the host binary; debootstrap is not run foreign).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipe {
    Busybox(BusyboxRecipe),
    Debian(DebianRecipe),
}

impl Recipe {
    /// The `dist` field this recipe publishes under by default.
    pub(crate) fn dist(&self) -> &'static str {
        match self {
            Recipe::Busybox(_) => "busybox",
            Recipe::Debian(_) => "debian",
        }
    }
}

/// A system container made of the host's static busybox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyboxRecipe {
    /// Must be statically linked: it runs inside the container without a libc.
    pub busybox: PathBuf,
    /// Gettys on tty1..ttys (LXC's common.conf sets `lxc.tty.max = 4`).
    pub ttys: u32,
    /// Release field; `None` = the busybox version (e.g. `1.35.0`).
    pub release: Option<String>,
}

impl Default for BusyboxRecipe {
    fn default() -> Self {
        BusyboxRecipe {
            busybox: PathBuf::from("/bin/busybox"),
            ttys: 4,
            release: None,
        }
    }
}

/// A Debian root file system made by debootstrap (needs root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebianRecipe {
    pub release: String,
    pub mirror: String,
    /// debootstrap `--variant` (`minbase`, `buildd`, `fakechroot`, or empty for
    /// debootstrap's default). minbase has no init: pass e.g. `systemd-sysv` or
    /// `sysvinit-core` in `include` for a bootable system container.
    pub variant: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub debootstrap: PathBuf,
    /// `--keyring`; `None` = debootstrap's default (debian-archive-keyring).
    pub keyring: Option<PathBuf>,
}

impl Default for DebianRecipe {
    fn default() -> Self {
        DebianRecipe {
            release: "bookworm".into(),
            mirror: "http://deb.debian.org/debian".into(),
            variant: "minbase".into(),
            include: Vec::new(),
            exclude: Vec::new(),
            debootstrap: PathBuf::from("debootstrap"),
            keyring: None,
        }
    }
}

/// The host architecture as (Debian name used in the index, LXC `lxc.arch`
/// personality), from the architecture this program was compiled for.
pub(crate) fn host_arch() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", "x86_64"),
        "x86" => ("i386", "i686"),
        "aarch64" => ("arm64", "aarch64"),
        "arm" => ("armhf", "armv7l"),
        "powerpc64" if cfg!(target_endian = "little") => ("ppc64el", "ppc64le"),
        "powerpc64" => ("ppc64", "ppc64"),
        "s390x" => ("s390x", "s390x"),
        "riscv64" => ("riscv64", "riscv64"),
        "loongarch64" => ("loong64", "loongarch64"),
        other => (other, other),
    }
}
