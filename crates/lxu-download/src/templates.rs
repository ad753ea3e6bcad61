//! Placeholder substitution (`sed -i s#TOKEN#value#g` in `lxc-download`) for the
//! files an image lists in `templates`, resolved inside the rootfs.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Largest template file rewritten (they are small text files like /etc/hosts).
const MAX_TEMPLATE: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot open rootfs `{path}`")]
    Rootfs {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot rewrite template `{path}` in the rootfs")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("template `{path}` in the rootfs is larger than {MAX_TEMPLATE} bytes")]
    TooLarge { path: String },
}

/// The values of LXC's placeholders.
#[derive(Debug, Clone, Default)]
pub struct TemplateVars {
    /// `LXC_NAME`
    pub name: String,
    /// `LXC_PATH`: the container directory.
    pub path: String,
    /// `LXC_ROOTFS`
    pub rootfs: String,
    /// `LXC_TEMPLATE_CONFIG`: where `common.conf`/`userns.conf` live.
    pub template_config: String,
    /// `LXC_HOOK_DIR`
    pub hook_dir: String,
}

impl TemplateVars {
    /// Replaces every token, in LXC's order, as plain substrings.
    pub fn apply(&self, text: &str) -> String {
        text.replace("LXC_NAME", &self.name)
            .replace("LXC_PATH", &self.path)
            .replace("LXC_ROOTFS", &self.rootfs)
            .replace("LXC_TEMPLATE_CONFIG", &self.template_config)
            .replace("LXC_HOOK_DIR", &self.hook_dir)
    }
}

/// Rewrites each listed path that is a regular file in the rootfs (paths are taken
/// relative to the rootfs; symlinks resolve inside it). Missing files are skipped,
/// as in LXC. Returns the in-rootfs paths that were changed.
pub fn substitute_templates<S: AsRef<str>>(
    rootfs_dir: &Path,
    template_paths: &[S],
    vars: &TemplateVars,
) -> Result<Vec<String>, TemplateError> {
    let root = rustix::fs::open(
        rootfs_dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| TemplateError::Rootfs {
        path: rootfs_dir.into(),
        source: e.into(),
    })?;
    let mut changed = Vec::new();
    for p in template_paths {
        let p = p.as_ref();
        let rel = p.trim_start_matches('/');
        if rel.is_empty() {
            continue;
        }
        let io_err = |e: io::Error| TemplateError::Io {
            path: p.to_string(),
            source: e,
        };
        let fd = match rustix::fs::openat2(
            &root,
            rel,
            OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) | Err(Errno::ISDIR) | Err(Errno::NOTDIR) | Err(Errno::LOOP) => {
                continue
            }
            Err(e) => return Err(io_err(e.into())),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| io_err(e.into()))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            continue;
        }
        if st.st_size as u64 > MAX_TEMPLATE {
            return Err(TemplateError::TooLarge {
                path: p.to_string(),
            });
        }
        let mut f = File::from(fd);
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).map_err(io_err)?;
        let text = String::from_utf8_lossy(&bytes);
        let new = vars.apply(&text);
        if new.as_bytes() == bytes.as_slice() {
            continue;
        }
        // Rewritten in place so owner, mode and xattrs of the file stay as unpacked.
        f.seek(SeekFrom::Start(0)).map_err(io_err)?;
        f.set_len(0).map_err(io_err)?;
        f.write_all(new.as_bytes()).map_err(io_err)?;
        changed.push(p.to_string());
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars {
        TemplateVars {
            name: "c1".into(),
            path: "/var/lib/lxc/c1".into(),
            rootfs: "/var/lib/lxc/c1/rootfs".into(),
            template_config: "/usr/share/lxc/config".into(),
            hook_dir: "/usr/share/lxc/hooks".into(),
        }
    }

    #[test]
    fn substring_replacement_in_order() {
        assert_eq!(
            vars().apply("LXC_NAME LXC_NAMEx xLXC_PATH LXC_ROOTFS"),
            "c1 c1x x/var/lib/lxc/c1 /var/lib/lxc/c1/rootfs"
        );
        assert_eq!(
            vars().apply("LXC_TEMPLATE_CONFIG/common.conf LXC_HOOK_DIR"),
            "/usr/share/lxc/config/common.conf /usr/share/lxc/hooks"
        );
    }

    #[test]
    fn rewrites_only_inside_rootfs() {
        let outer = tempfile::tempdir().unwrap();
        let rootfs = outer.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        std::fs::write(rootfs.join("etc/hostname"), "LXC_NAME\n").unwrap();
        std::fs::write(rootfs.join("etc/hosts.real"), "127.0.1.1 LXC_NAME\n").unwrap();
        std::os::unix::fs::symlink("/etc/hosts.real", rootfs.join("etc/hosts")).unwrap();
        // A symlink pointing "outside" must resolve inside the rootfs.
        std::fs::write(outer.path().join("victim"), "LXC_NAME\n").unwrap();
        std::os::unix::fs::symlink("../../victim", rootfs.join("etc/escape")).unwrap();
        std::fs::create_dir(rootfs.join("etc/dir")).unwrap();
        let changed = substitute_templates(
            &rootfs,
            &[
                "/etc/hostname",
                "/etc/hosts",
                "/etc/escape",
                "/etc/missing",
                "/etc/dir",
                "../../victim",
            ],
            &vars(),
        )
        .unwrap();
        assert_eq!(changed, vec!["/etc/hostname", "/etc/hosts"]);
        assert_eq!(
            std::fs::read_to_string(rootfs.join("etc/hostname")).unwrap(),
            "c1\n"
        );
        assert_eq!(
            std::fs::read_to_string(rootfs.join("etc/hosts.real")).unwrap(),
            "127.0.1.1 c1\n"
        );
        assert_eq!(
            std::fs::read_to_string(outer.path().join("victim")).unwrap(),
            "LXC_NAME\n"
        );
    }
}
