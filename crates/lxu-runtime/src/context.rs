//! Who is calling and where their containers live.

use std::path::{Path, PathBuf};

use lxu_config::SystemConfig;

use crate::error::{Error, Result};
use crate::ids::users::{self, User};

/// The caller and the paths that follow from it, as LXC derives them for an unprivileged
/// user.
#[derive(Debug, Clone)]
pub struct Context {
    pub euid: u32,
    pub egid: u32,
    pub user: User,
    /// `$HOME` as LXC uses it (literally, not XDG), else the passwd home.
    pub home: PathBuf,
    pub system: SystemConfig,
    /// Where containers live: `-P`, else `lxc.lxcpath` from lxc.conf, else the default.
    pub lxcpath: PathBuf,
    /// Where lxu's shipped files are (config includes, trusted keys).
    pub share_dir: PathBuf,
    /// Where lxu's helpers are (the setuid nic helper).
    pub libexec_dir: PathBuf,
}

impl Context {
    /// Where a rootfs is mounted while `lxc.hook.mount` and friends run, when
    /// `lxc.rootfs.mount` does not say: an empty directory the install makes, readable by
    /// every id (LXC's is `/usr/lib/<arch>/lxc/rootfs`).
    pub(crate) fn default_rootfs_mount(&self) -> PathBuf {
        self.libexec_dir.join("rootfs")
    }

    pub fn new(lxcpath: Option<&Path>) -> Result<Context> {
        let euid = rustix::process::geteuid().as_raw();
        let egid = rustix::process::getegid().as_raw();
        let user = users::lookup_uid(euid).unwrap_or_else(|| User {
            name: euid.to_string(),
            uid: euid,
            gid: egid,
            home: PathBuf::from("/"),
            shell: "/bin/sh".into(),
        });
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| user.home.clone());
        let system = SystemConfig::for_user(euid, &home)?;
        let lxcpath = match lxcpath {
            Some(p) => absolute(p)?,
            None => system.lxcpath.clone(),
        };
        let (share_dir, libexec_dir) = install_dirs();
        Ok(Context {
            euid,
            egid,
            user,
            home,
            system,
            lxcpath,
            share_dir,
            libexec_dir,
        })
    }

    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// Directory of lxu's own config fragments (what LXC_TEMPLATE_CONFIG points to).
    pub fn template_config_dir(&self) -> PathBuf {
        self.share_dir.join("config")
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::sys("read the current directory", e))?;
    Ok(cwd.join(p))
}

/// `<prefix>/share/lxu` and `<prefix>/libexec/lxu` for a binary installed in
/// `<prefix>/bin`; `LXU_SHARE_DIR`/`LXU_LIBEXEC_DIR` override (used by uninstalled builds).
fn install_dirs() -> (PathBuf, PathBuf) {
    let prefix = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent()?.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/usr/local"));
    let share = std::env::var_os("LXU_SHARE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| prefix.join("share/lxu"));
    let libexec = std::env::var_os("LXU_LIBEXEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| prefix.join("libexec/lxu"));
    (share, libexec)
}
