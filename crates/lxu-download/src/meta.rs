//! The metadata files of a cached image (`config`, `config-user`, `excludes-user`,
//! `templates`, `create-message`, `expiry`, `fstab`, each possibly with a `.N`
//! compat suffix), read with `lxc-download`'s `relevant_file` precedence.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Files only: nothing here may be larger than this.
const MAX_META_FILE: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("cannot read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{path}` is larger than {MAX_META_FILE} bytes")]
    TooLarge { path: PathBuf },
    #[error("`{path}` is not a number of seconds: `{text}`")]
    BadExpiry { path: PathBuf, text: String },
    #[error("the image metadata has no container configuration (`config` in `{dir}`)")]
    NoConfig { dir: PathBuf },
    #[error(
        "`{}` line {line}: the image sets `{key}`, which {why}; an image may only describe \
         its container, not act on the host: refusing it",
        path.display()
    )]
    HostReach {
        path: PathBuf,
        line: usize,
        key: String,
        why: &'static str,
    },
}

/// What an image's config line would do on the host, if anything: such lines are
/// refused. The image's config goes into the container's config verbatim (as
/// lxc-download does), and the container's config is the user's: a hook or a network
/// script there runs as the user on the host at the next start, an id map can give the
/// container the user's own uid, an include or a mount can pull in a file of the rootfs
/// (which the container's root writes) or of the user's home. The image server is
/// trusted with the rootfs, which runs confined, not with the user's account.
/// LXC's and lxu's images set `lxc.include = LXC_TEMPLATE_CONFIG/...`, `lxc.arch`, and
/// the like, which pass.
fn host_reach(key: &str, value: &str) -> Option<&'static str> {
    let under_config_dir = |v: &str| {
        v.strip_prefix("LXC_TEMPLATE_CONFIG/")
            .is_some_and(|rest| !rest.split('/').any(|c| c == ".."))
    };
    if key.starts_with("lxc.hook") || key.contains(".script.") {
        return Some("runs a program on the host");
    }
    match key {
        "lxc.include" | "lxc.seccomp.profile" | "lxc.seccomp" if !under_config_dir(value) => {
            Some("reads a file outside LXC_TEMPLATE_CONFIG")
        }
        "lxc.idmap" | "lxc.id_map" => Some("decides which host ids the container gets"),
        "lxc.log.file"
        | "lxc.console.logfile"
        | "lxc.rootfs.path"
        | "lxc.rootfs"
        | "lxc.rootfs.mount"
        | "lxc.mount.fstab"
        | "lxc.mount" => Some("names a host path"),
        "lxc.console.path" if !matches!(value, "none" | "auto" | "") => Some("names a host path"),
        "lxc.mount.entry" if value.starts_with('/') => {
            Some("mounts a host path into the container")
        }
        _ => None,
    }
}

/// Refuses a config fragment (or, with `fstab`, an fstab) of an image that reaches
/// beyond its container (see [`host_reach`]).
fn check_reach(path: &Path, text: &str, fstab: bool) -> Result<(), MetaError> {
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (key, value) = if fstab {
            ("lxc.mount.entry", l)
        } else {
            match l.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => continue,
            }
        };
        if let Some(why) = host_reach(key, value) {
            return Err(MetaError::HostReach {
                path: path.into(),
                line: i + 1,
                key: key.chars().filter(|c| !c.is_control()).take(80).collect(),
                why,
            });
        }
    }
    Ok(())
}

/// `system` for privileged containers, `user` for unprivileged ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    System,
    User,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::System => "system",
            Mode::User => "user",
        }
    }
}

/// `relevant_file NAME`: `<dir>/NAME`, switched to `NAME-<mode>` if that exists, then
/// to `<choice>.<compat>` if that exists. The result may not exist.
pub fn relevant_file(dir: &Path, name: &str, mode: Mode, compat: u32) -> PathBuf {
    let mut p = dir.join(name);
    let moded = dir.join(format!("{name}-{}", mode.as_str()));
    if moded.exists() {
        p = moded;
    }
    let mut s = p.clone().into_os_string();
    s.push(format!(".{compat}"));
    let compat_path = PathBuf::from(s);
    if compat_path.exists() {
        p = compat_path;
    }
    p
}

fn read_opt(path: &Path) -> Result<Option<String>, MetaError> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(MetaError::Io {
                path: path.into(),
                source,
            })
        }
    };
    let mut buf = Vec::new();
    f.take(MAX_META_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|source| MetaError::Io {
            path: path.into(),
            source,
        })?;
    if buf.len() as u64 > MAX_META_FILE {
        return Err(MetaError::TooLarge { path: path.into() });
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// What the metadata of one image says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageMeta {
    /// The LXC config fragment (`relevant_file config`).
    pub config: String,
    /// Where that fragment came from.
    pub config_path: PathBuf,
    /// `relevant_file excludes` lines (tar `--exclude` patterns like `./dev/null`).
    pub excludes: Vec<String>,
    /// `relevant_file templates`: in-rootfs paths that get placeholder substitution.
    pub templates: Vec<String>,
    /// `relevant_file create-message`, shown after creation.
    pub create_message: Option<String>,
    /// `relevant_file expiry`, Unix seconds.
    pub expiry: Option<u64>,
    /// `relevant_file fstab`, when the image has one.
    pub fstab: Option<PathBuf>,
}

fn lines(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.lines()
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
            .filter(|l| !l.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// The expiry of a cache dir, if it has one.
pub fn read_expiry(dir: &Path, mode: Mode, compat: u32) -> Result<Option<u64>, MetaError> {
    let path = relevant_file(dir, "expiry", mode, compat);
    let Some(text) = read_opt(&path)? else {
        return Ok(None);
    };
    let t = text.trim();
    t.parse::<u64>()
        .map(Some)
        .map_err(|_| MetaError::BadExpiry {
            path,
            text: t.chars().take(40).collect(),
        })
}

/// Reads all metadata of a cache dir.
pub fn read(dir: &Path, mode: Mode, compat: u32) -> Result<ImageMeta, MetaError> {
    let config_path = relevant_file(dir, "config", mode, compat);
    let Some(config) = read_opt(&config_path)? else {
        return Err(MetaError::NoConfig { dir: dir.into() });
    };
    check_reach(&config_path, &config, false)?;
    let fstab = relevant_file(dir, "fstab", mode, compat);
    if let Some(text) = read_opt(&fstab)? {
        check_reach(&fstab, &text, true)?;
    }
    Ok(ImageMeta {
        config,
        config_path,
        excludes: lines(read_opt(&relevant_file(dir, "excludes", mode, compat))?),
        templates: lines(read_opt(&relevant_file(dir, "templates", mode, compat))?),
        create_message: read_opt(&relevant_file(dir, "create-message", mode, compat))?,
        expiry: read_expiry(dir, mode, compat)?,
        fstab: fstab.is_file().then_some(fstab),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hostile image (or a server holding a trusted key) puts lines in its config that
    /// would run as the user on the host, or give the container the user's files or uid.
    #[test]
    fn an_image_config_that_reaches_the_host_is_refused() {
        let ok = "lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n\
                  lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n\
                  lxc.arch = x86_64\nlxc.signal.halt = SIGUSR1\n# lxc.hook.start = x\n\
                  lxc.mount.entry = proc proc proc nodev 0 0\nlxc.console.path = none\n";
        let d = dir_with(&[("config", ok), ("fstab", "proc proc proc nodev 0 0\n")]);
        read(d.path(), Mode::User, 7).unwrap();
        for (bad, key) in [
            (
                "lxc.hook.pre-start = /bin/sh -c 'id > /tmp/pwned'",
                "lxc.hook.pre-start",
            ),
            ("lxc.hook.version=1", "lxc.hook.version"),
            ("lxc.net.0.script.up = /tmp/x", "lxc.net.0.script.up"),
            ("lxc.include = LXC_PATH/rootfs/etc/lxc.conf", "lxc.include"),
            (
                "lxc.include = LXC_TEMPLATE_CONFIG/../../../home/u/x",
                "lxc.include",
            ),
            ("lxc.seccomp.profile = LXC_ROOTFS/p", "lxc.seccomp.profile"),
            ("lxc.idmap = u 70000 1001 1", "lxc.idmap"),
            ("lxc.log.file = /home/u/.bashrc", "lxc.log.file"),
            ("lxc.rootfs.path = dir:/home/u", "lxc.rootfs.path"),
            (
                "lxc.mount.entry = /home/u home/u none bind 0 0",
                "lxc.mount.entry",
            ),
        ] {
            let d = dir_with(&[("config", &format!("{ok}{bad}\n"))]);
            let e = read(d.path(), Mode::User, 7).unwrap_err().to_string();
            assert!(
                e.contains(&format!("line 8: the image sets `{key}`")),
                "{bad}: {e}"
            );
        }
        let d = dir_with(&[("config", ok), ("fstab", "/home/u home/u none bind 0 0\n")]);
        let e = read(d.path(), Mode::User, 7).unwrap_err().to_string();
        assert!(e.contains("mounts a host path"), "{e}");
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (n, c) in files {
            std::fs::write(d.path().join(n), c).unwrap();
        }
        d
    }

    #[test]
    fn relevant_file_precedence() {
        let d = dir_with(&[
            ("config", "c"),
            ("config.1", "c1"),
            ("config-user", "cu"),
            ("config-user.1", "cu1"),
        ]);
        let p = |mode, compat| {
            relevant_file(d.path(), "config", mode, compat)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(p(Mode::User, 1), "config-user.1");
        assert_eq!(p(Mode::User, 7), "config-user");
        assert_eq!(p(Mode::System, 1), "config.1");
        assert_eq!(p(Mode::System, 7), "config");

        // A lone config-user.1 without config-user is never seen.
        let d2 = dir_with(&[("config", "c"), ("config-user.1", "x")]);
        assert_eq!(
            relevant_file(d2.path(), "config", Mode::User, 1),
            d2.path().join("config")
        );
    }

    #[test]
    fn read_everything() {
        let d = dir_with(&[
            ("config", "lxc.arch = x86_64\n"),
            (
                "config-user",
                "lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n",
            ),
            ("excludes-user", "./dev/null\n./dev/zero\n\n"),
            ("templates", "/etc/hostname\n/etc/hosts\n"),
            ("create-message", "hello\n"),
            ("expiry", "1700000000\n"),
        ]);
        let m = read(d.path(), Mode::User, 7).unwrap();
        assert!(m.config.contains("userns.conf"));
        assert_eq!(m.excludes, vec!["./dev/null", "./dev/zero"]);
        assert_eq!(m.templates, vec!["/etc/hostname", "/etc/hosts"]);
        assert_eq!(m.create_message.as_deref(), Some("hello\n"));
        assert_eq!(m.expiry, Some(1_700_000_000));
        assert_eq!(m.fstab, None);
        let s = read(d.path(), Mode::System, 7).unwrap();
        assert_eq!(s.config, "lxc.arch = x86_64\n");
        assert!(s.excludes.is_empty(), "excludes-user is for user mode only");
    }

    #[test]
    fn errors() {
        let d = dir_with(&[("expiry", "soon")]);
        assert!(matches!(
            read(d.path(), Mode::User, 7),
            Err(MetaError::NoConfig { .. })
        ));
        assert!(matches!(
            read_expiry(d.path(), Mode::User, 7),
            Err(MetaError::BadExpiry { .. })
        ));
    }
}
