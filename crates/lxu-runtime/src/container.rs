//! A container: its name, its directory and its files.

use std::path::{Path, PathBuf};

use lxu_config::Config;

use crate::context::Context;
use crate::error::{Error, Result};

/// Longest container name: it becomes the default hostname (HOST_NAME_MAX is 64).
pub(crate) const MAX_NAME: usize = 64;

/// Checks a user-supplied container name. Names become directory names, hostnames and
/// parts of socket paths, so only a conservative set is allowed.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::BadName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME {
        return bad("it is longer than 64 bytes");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not names");
    }
    if name.contains('/') {
        return bad("it contains `/`");
    }
    if name.starts_with('.') || name.starts_with('-') {
        return bad("it starts with `.` or `-`");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')))
    {
        let _ = c;
        return bad("only letters, digits, `_`, `-`, `.` and `+` are allowed");
    }
    Ok(())
}

/// A container of a given lxcpath.
#[derive(Debug, Clone)]
pub struct Container {
    pub name: String,
    pub lxcpath: PathBuf,
    pub dir: PathBuf,
}

impl Container {
    pub fn new(ctx: &Context, name: &str) -> Result<Container> {
        Container::at(&ctx.lxcpath, name)
    }

    pub fn at(lxcpath: &Path, name: &str) -> Result<Container> {
        validate_name(name)?;
        Ok(Container {
            name: name.to_string(),
            lxcpath: lxcpath.to_path_buf(),
            dir: lxcpath.join(name),
        })
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config")
    }

    /// The monitor's command socket.
    pub(crate) fn socket_path(&self) -> PathBuf {
        self.dir.join("lxu.sock")
    }

    /// Held (flock) by the monitor for as long as the container runs, and by create, copy,
    /// snapshot restore and destroy while they work.
    pub(crate) fn lock_path(&self) -> PathBuf {
        self.dir.join("lxu.lock")
    }

    /// Present while a create, copy or destroy is in progress or after one died half-way
    /// (as LXC's `partial` file): such a directory is not a container, and the next create
    /// or destroy of the name removes it.
    pub(crate) fn partial_path(&self) -> PathBuf {
        self.dir.join("partial")
    }

    /// A container exists when its config file does (as for LXC) and no `partial` marker
    /// says it is half-made or half-destroyed.
    pub fn exists(&self) -> bool {
        self.config_path().is_file() && !self.partial_path().exists()
    }

    pub fn ensure_exists(&self) -> Result<()> {
        if self.exists() {
            return Ok(());
        }
        // A container of another user: its directory exists but cannot be entered.
        if let Err(e) = std::fs::metadata(self.config_path()) {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                return Err(Error::Privileges {
                    name: self.name.clone(),
                    reason: format!("cannot access `{}`", self.dir.display()),
                });
            }
        }
        Err(Error::NotFound {
            name: self.name.clone(),
            lxcpath: self.lxcpath.clone(),
        })
    }

    pub fn load_config(&self) -> Result<Config> {
        self.ensure_exists()?;
        let path = self.config_path();
        if let Err(e) = std::fs::File::open(&path) {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                return Err(Error::Privileges {
                    name: self.name.clone(),
                    reason: format!("cannot read `{}`", path.display()),
                });
            }
        }
        Ok(Config::load(&path)?)
    }

    /// The rootfs directory named by the config, `dir:` prefix removed.
    pub(crate) fn rootfs_dir(&self, config: &Config) -> Option<PathBuf> {
        match &config.rootfs.as_ref()?.backend {
            lxu_config::RootfsBackend::Dir(p) => Some(p.clone()),
            _ => None,
        }
    }
}

/// Names of the containers of an lxcpath, sorted. A directory with a `partial` marker (a
/// create, copy or destroy in progress or killed half-way) is not listed: LXC too removes
/// such a directory as soon as it loads the container, so it never shows as one.
pub fn list_names(lxcpath: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(lxcpath) {
        Ok(rd) => rd
            .filter_map(|e| {
                let e = e.ok()?;
                let name = e.file_name().into_string().ok()?;
                let dir = e.path();
                (dir.join("config").is_file() && !dir.join("partial").exists()).then_some(name)
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["c1", "web-01", "a.b", "x_y", "a+b", &"a".repeat(64)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        let cases = [
            ("", "it is empty"),
            ("a/b", "it contains `/`"),
            ("..", "`.` and `..` are not names"),
            (".hidden", "it starts with `.` or `-`"),
            ("-n", "it starts with `.` or `-`"),
            (
                "a b",
                "only letters, digits, `_`, `-`, `.` and `+` are allowed",
            ),
        ];
        for (name, reason) in cases {
            let e = validate_name(name).unwrap_err().to_string();
            assert_eq!(e, format!("invalid container name `{name}`: {reason}"));
        }
        let long = "a".repeat(65);
        assert!(validate_name(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than 64"));
    }
}
