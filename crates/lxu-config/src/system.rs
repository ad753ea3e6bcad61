//! The system configuration `lxc.conf` (`lxc-config`).

use std::io;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// Effective `lxc.conf` values (file value or built-in default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemConfig {
    pub lxcpath: PathBuf,
    pub default_config: PathBuf,
    pub cgroup_pattern: Option<String>,
    pub cgroup_use: Option<String>,
    pub bdev_lvm_vg: String,
    pub bdev_lvm_thin_pool: String,
    pub bdev_zfs_root: String,
}

impl SystemConfig {
    /// What `lxc-config -l` lists, in its order.
    pub const KEYS: &'static [&'static str] = &{
        let mut names = [""; GETTERS.len()];
        let mut i = 0;
        while i < GETTERS.len() {
            names[i] = GETTERS[i].0;
            i += 1;
        }
        names
    };

    /// Where the file is: `/etc/lxc/lxc.conf` for root, else
    /// `$HOME/.config/lxc/lxc.conf` (HOME, not XDG, like LXC).
    pub(crate) fn path_for(euid: u32, home: &Path) -> PathBuf {
        if euid == 0 {
            PathBuf::from("/etc/lxc/lxc.conf")
        } else {
            home.join(".config/lxc/lxc.conf")
        }
    }

    /// Reads the caller's `lxc.conf`; a missing file means all defaults.
    pub fn for_user(euid: u32, home: &Path) -> Result<SystemConfig, ConfigError> {
        let path = SystemConfig::path_for(euid, home);
        let text = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(ConfigError::Io { path, source }),
        };
        Ok(SystemConfig::from_str(&text, euid, home))
    }

    /// Parses `lxc.conf` text the way LXC's small reader does: a line counts if
    /// it is `<blanks>KEY<blanks>=<blanks>VALUE` with a non-empty value and no
    /// `#` in the first column; the first such line wins; the value runs to the
    /// end of the line. The format has no errors to report.
    pub(crate) fn from_str(text: &str, euid: u32, home: &Path) -> SystemConfig {
        let user = euid != 0;
        let home_s = home.to_string_lossy();
        let home_s = if home_s.is_empty() {
            "/".into()
        } else {
            home_s
        };
        let find = |k: &str| lookup(text, k);
        let lxcpath = match find("lxc.lxcpath") {
            Some(v) => strip_trailing_slashes(&v),
            None if user => strip_trailing_slashes(&format!("{home_s}/.local/share/lxc/")),
            None => "/var/lib/lxc".to_string(),
        };
        let default_config = find("lxc.default_config").unwrap_or_else(|| {
            if user {
                format!("{home_s}/.config/lxc/default.conf")
            } else {
                "/etc/lxc/default.conf".into()
            }
        });
        SystemConfig {
            lxcpath: PathBuf::from(lxcpath),
            default_config: PathBuf::from(default_config),
            // Debian builds LXC 5 with an empty default pattern.
            cgroup_pattern: find("lxc.cgroup.pattern"),
            cgroup_use: find("lxc.cgroup.use"),
            bdev_lvm_vg: find("lxc.bdev.lvm.vg").unwrap_or_else(|| "lxc".into()),
            bdev_lvm_thin_pool: find("lxc.bdev.lvm.thin_pool").unwrap_or_else(|| "lxc".into()),
            bdev_zfs_root: find("lxc.bdev.zfs.root").unwrap_or_else(|| "lxc".into()),
        }
    }

    /// `lxc-config KEY`: `None` for unknown keys and for unset optional ones
    /// (`lxc.cgroup.pattern`, `lxc.cgroup.use`).
    pub fn get(&self, key: &str) -> Option<String> {
        let (_, get) = GETTERS.iter().find(|(name, _)| *name == key)?;
        get(self)
    }
}

/// What `lxc-config KEY` prints for one key (`None`: nothing, it is unset).
type Getter = fn(&SystemConfig) -> Option<String>;

/// Every key of `lxc.conf` in `lxc-config -l` order, with what `lxc-config KEY` prints.
const GETTERS: [(&str, Getter); 7] = [
    ("lxc.default_config", |c| {
        Some(c.default_config.display().to_string())
    }),
    ("lxc.lxcpath", |c| Some(c.lxcpath.display().to_string())),
    ("lxc.bdev.lvm.vg", |c| Some(c.bdev_lvm_vg.clone())),
    ("lxc.bdev.lvm.thin_pool", |c| {
        Some(c.bdev_lvm_thin_pool.clone())
    }),
    ("lxc.bdev.zfs.root", |c| Some(c.bdev_zfs_root.clone())),
    ("lxc.cgroup.use", |c| c.cgroup_use.clone()),
    ("lxc.cgroup.pattern", |c| c.cgroup_pattern.clone()),
];

fn strip_trailing_slashes(s: &str) -> String {
    s.trim_end_matches(['/', '\n']).to_string()
}

fn lookup(text: &str, key: &str) -> Option<String> {
    for line in text.split('\n') {
        if line.starts_with('#') {
            continue;
        }
        let Some(pos) = line.find(key) else {
            continue;
        };
        if !line[..pos].bytes().all(|b| b == b' ' || b == b'\t') {
            continue;
        }
        let after_key = &line[pos + key.len()..];
        let Some(eq) = after_key.find('=') else {
            continue;
        };
        if !after_key[..eq].bytes().all(|b| b == b' ' || b == b'\t') {
            continue;
        }
        let value = after_key[eq + 1..].trim_start_matches([' ', '\t']);
        if value.is_empty() {
            continue;
        }
        return Some(value.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> &'static Path {
        Path::new("/home/u")
    }

    #[test]
    fn defaults() {
        let r = SystemConfig::from_str("", 0, home());
        assert_eq!(r.lxcpath, Path::new("/var/lib/lxc"));
        assert_eq!(r.default_config, Path::new("/etc/lxc/default.conf"));
        assert_eq!(r.get("lxc.bdev.lvm.vg").as_deref(), Some("lxc"));
        assert_eq!(r.get("lxc.cgroup.pattern"), None);
        let u = SystemConfig::from_str("", 1000, home());
        assert_eq!(u.lxcpath, Path::new("/home/u/.local/share/lxc"));
        assert_eq!(
            u.default_config,
            Path::new("/home/u/.config/lxc/default.conf")
        );
        assert_eq!(
            SystemConfig::path_for(1000, home()),
            Path::new("/home/u/.config/lxc/lxc.conf")
        );
        assert_eq!(
            SystemConfig::path_for(0, home()),
            Path::new("/etc/lxc/lxc.conf")
        );
    }

    #[test]
    fn file_values() {
        let text = "# lxc.lxcpath = /nope\n  lxc.lxcpath\t=  /srv/lxc//\nlxc.lxcpath = /second\nlxc.cgroup.use = memory,pids \nlxc.bdev.zfs.root=tank/lxc\n";
        let r = SystemConfig::from_str(text, 1000, home());
        assert_eq!(r.get("lxc.lxcpath").as_deref(), Some("/srv/lxc"));
        // LXC keeps trailing blanks of values.
        assert_eq!(r.get("lxc.cgroup.use").as_deref(), Some("memory,pids "));
        assert_eq!(r.bdev_zfs_root, "tank/lxc");
        assert_eq!(r.get("lxc.bogus"), None);
    }

    #[test]
    fn lines_that_do_not_count() {
        let text = "x lxc.lxcpath = /a\nlxc.lxcpathx = /b\nlxc.lxcpath =\nlxc.lxcpath = /c\n";
        let r = SystemConfig::from_str(text, 0, home());
        assert_eq!(r.lxcpath, Path::new("/c"));
    }

    #[test]
    fn missing_file_means_defaults() {
        let dir = std::env::temp_dir().join(format!("lxu-config-sys-{}", std::process::id()));
        let r = SystemConfig::for_user(4242, &dir).unwrap();
        assert_eq!(r.lxcpath, dir.join(".local/share/lxc"));
        std::fs::create_dir_all(dir.join(".config/lxc")).unwrap();
        std::fs::write(dir.join(".config/lxc/lxc.conf"), "lxc.lxcpath = /srv/x\n").unwrap();
        let r = SystemConfig::for_user(4242, &dir).unwrap();
        assert_eq!(r.lxcpath, Path::new("/srv/x"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
