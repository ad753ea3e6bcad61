//! The metadata tarball (`meta.tar.xz`): LXC config fragments per compat level,
//! the placeholder list, the user-mode excludes, the expiry and a message.
//!
//! Compat levels follow lxc-ci/distrobuilder: level 5 is written unsuffixed
//! (`config`, `config-user`) and levels 1-4 get a `.N` suffix, but only when
//! their content differs from the unsuffixed file.

use std::collections::BTreeMap;
use std::io::{self, Write};

/// The newest compat level an image server writes (clients at 6 and 7 fall back
/// to the unsuffixed files).
pub(crate) const MAX_COMPAT: u8 = 5;

/// Which `lxc.include` lines the config fragments carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigIncludes {
    /// `common.conf` (+ `userns.conf`) only. Such an image needs LXC >= 2.0's
    /// generic config files, so it is listed only in the level-5 index.
    Generic,
    /// Level 5: `common.conf` (+ `userns.conf`); levels 1-4:
    /// `<dist>.common.conf` (+ `<dist>.userns.conf`), as lxc-ci's images do.
    Distro(String),
}

impl ConfigIncludes {
    /// Lowest compat level this image can serve.
    pub(crate) fn min_compat(&self) -> u8 {
        match self {
            ConfigIncludes::Generic => MAX_COMPAT,
            ConfigIncludes::Distro(_) => 1,
        }
    }
}

/// Everything needed to render `meta.tar.xz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetaSpec {
    pub includes: ConfigIncludes,
    /// `lxc.arch` value (a personality such as `x86_64`).
    pub personality: String,
    /// Lines appended to every config after the includes and `lxc.arch`.
    pub extra_config: Vec<String>,
    /// In-rootfs paths that get LXC_NAME etc. substituted.
    pub templates: Vec<String>,
    /// `./dev/null`-style paths skipped when unpacking as a user.
    pub excludes_user: Vec<String>,
    pub create_message: String,
    /// Unix time after which clients re-download.
    pub expiry: u64,
}

impl MetaSpec {
    fn config(&self, level: u8, user: bool) -> String {
        let mut s = String::new();
        let distro = match &self.includes {
            ConfigIncludes::Distro(d) if level < MAX_COMPAT => Some(d.as_str()),
            _ => None,
        };
        match distro {
            Some(d) => {
                s.push_str(&format!(
                    "lxc.include = LXC_TEMPLATE_CONFIG/{d}.common.conf\n"
                ));
                if user {
                    s.push_str(&format!(
                        "lxc.include = LXC_TEMPLATE_CONFIG/{d}.userns.conf\n"
                    ));
                }
            }
            None => {
                s.push_str("lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n");
                if user {
                    s.push_str("lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n");
                }
            }
        }
        s.push_str(&format!("lxc.arch = {}\n", self.personality));
        for line in &self.extra_config {
            s.push_str(line);
            s.push('\n');
        }
        s
    }

    /// File name → content, for every file of the tarball.
    pub(crate) fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        for (name, user) in [("config", false), ("config-user", true)] {
            let current = self.config(MAX_COMPAT, user);
            for level in self.includes.min_compat()..MAX_COMPAT {
                let older = self.config(level, user);
                if older != current {
                    files.insert(format!("{name}.{level}"), older.into_bytes());
                }
            }
            files.insert(name.to_string(), current.into_bytes());
        }
        files.insert("templates".into(), lines(&self.templates));
        files.insert("excludes-user".into(), lines(&self.excludes_user));
        files.insert("expiry".into(), format!("{}\n", self.expiry).into_bytes());
        let mut msg = self.create_message.clone();
        if !msg.is_empty() && !msg.ends_with('\n') {
            msg.push('\n');
        }
        files.insert("create-message".into(), msg.into_bytes());
        files
    }

    /// Writes the uncompressed tar of [`MetaSpec::files`]: plain names (the
    /// client extracts it flat into its cache directory), root-owned, 0644.
    pub(crate) fn write_tar<W: Write>(&self, out: W, mtime: u64) -> io::Result<W> {
        let mut b = tar::Builder::new(out);
        for (name, data) in self.files() {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(mtime);
            h.set_size(data.len() as u64);
            h.set_path(&name)?;
            h.set_cksum();
            b.append(&h, data.as_slice())?;
        }
        b.into_inner()
    }
}

fn lines(items: &[String]) -> Vec<u8> {
    let mut s = String::new();
    for i in items {
        s.push_str(i);
        s.push('\n');
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(includes: ConfigIncludes) -> MetaSpec {
        MetaSpec {
            includes,
            personality: "x86_64".into(),
            extra_config: vec!["lxc.signal.halt = SIGUSR1".into()],
            templates: vec!["/etc/hostname".into(), "/etc/hosts".into()],
            excludes_user: vec!["./dev/null".into()],
            create_message: "hello".into(),
            expiry: 1_700_000_000,
        }
    }

    #[test]
    fn generic_image_has_only_level_five_configs() {
        let f = spec(ConfigIncludes::Generic).files();
        let names: Vec<&str> = f.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "config",
                "config-user",
                "create-message",
                "excludes-user",
                "expiry",
                "templates"
            ]
        );
        assert_eq!(
            String::from_utf8_lossy(&f["config-user"]),
            "lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n\
             lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n\
             lxc.arch = x86_64\nlxc.signal.halt = SIGUSR1\n"
        );
        assert_eq!(f["templates"], b"/etc/hostname\n/etc/hosts\n");
        assert_eq!(f["expiry"], b"1700000000\n");
        assert_eq!(f["create-message"], b"hello\n");
    }

    #[test]
    fn distro_image_has_old_level_variants() {
        let f = spec(ConfigIncludes::Distro("debian".into())).files();
        for n in 1..=4 {
            assert_eq!(
                String::from_utf8_lossy(&f[&format!("config.{n}")]),
                "lxc.include = LXC_TEMPLATE_CONFIG/debian.common.conf\n\
                 lxc.arch = x86_64\nlxc.signal.halt = SIGUSR1\n"
            );
            assert!(String::from_utf8_lossy(&f[&format!("config-user.{n}")])
                .contains("LXC_TEMPLATE_CONFIG/debian.userns.conf\n"));
        }
        assert!(!f.contains_key("config.5"));
        assert!(String::from_utf8_lossy(&f["config"])
            .starts_with("lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n"));
    }

    #[test]
    fn tar_lists_plain_names() {
        let data = spec(ConfigIncludes::Generic)
            .write_tar(Vec::new(), 5)
            .unwrap();
        let mut ar = tar::Archive::new(data.as_slice());
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names[0], "config");
        assert_eq!(names.len(), 6);
    }
}
