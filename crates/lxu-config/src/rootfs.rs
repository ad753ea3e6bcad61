//! `lxc.rootfs.path`: the storage spec of the root file system.

use std::path::PathBuf;

/// Storage behind `lxc.rootfs.path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootfsBackend {
    /// `dir:/path` or a plain path.
    Dir(PathBuf),
    /// `overlay:LOWER:UPPER` (1.0: `overlayfs:`).
    Overlay { lower: PathBuf, upper: PathBuf },
    /// Any other `type:` prefix (`btrfs`, `zfs`, `lvm`, `loop`, `nbd`, `rbd`, …); the type name.
    Other(String),
}

/// `lxc.rootfs.path` as written plus its parsed backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rootfs {
    pub spec: String,
    pub backend: RootfsBackend,
}

impl Rootfs {
    pub(crate) fn parse(spec: &str) -> Result<Rootfs, String> {
        let backend = match spec.split_once(':') {
            // A colon inside a plain absolute path is not a type separator.
            Some((ty, rest)) if !ty.starts_with('/') => match ty {
                "dir" => RootfsBackend::Dir(PathBuf::from(rest)),
                "overlay" | "overlayfs" => {
                    let (lower, upper) = rest
                        .rsplit_once(':')
                        .ok_or_else(|| format!("`{ty}` rootfs needs `{ty}:LOWER:UPPER`"))?;
                    if lower.is_empty() || upper.is_empty() {
                        return Err(format!("`{ty}` rootfs needs `{ty}:LOWER:UPPER`"));
                    }
                    RootfsBackend::Overlay {
                        lower: PathBuf::from(lower),
                        upper: PathBuf::from(upper),
                    }
                }
                "" => return Err("empty storage type before `:`".into()),
                other => RootfsBackend::Other(other.to_string()),
            },
            _ => RootfsBackend::Dir(PathBuf::from(spec)),
        };
        Ok(Rootfs {
            spec: spec.to_string(),
            backend,
        })
    }

    /// The path part of the spec (after `type:`), e.g. the rootfs directory
    /// for `dir:`, the device for `lvm:`, `LOWER:UPPER` for overlay.
    pub fn path(&self) -> &str {
        match self.spec.split_once(':') {
            Some((ty, rest)) if !ty.starts_with('/') => rest,
            _ => &self.spec,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootfs_specs() {
        let r = Rootfs::parse("dir:/var/lib/lxc/c1/rootfs").unwrap();
        assert_eq!(
            r.backend,
            RootfsBackend::Dir("/var/lib/lxc/c1/rootfs".into())
        );
        assert_eq!(r.path(), "/var/lib/lxc/c1/rootfs");
        let r = Rootfs::parse("/var/lib/lxc/c1/rootfs").unwrap();
        assert_eq!(
            r.backend,
            RootfsBackend::Dir("/var/lib/lxc/c1/rootfs".into())
        );
        let r = Rootfs::parse("overlay:/a/rootfs:/b/delta0").unwrap();
        assert_eq!(
            r.backend,
            RootfsBackend::Overlay {
                lower: "/a/rootfs".into(),
                upper: "/b/delta0".into()
            }
        );
        assert!(matches!(
            Rootfs::parse("overlayfs:/a:/b").unwrap().backend,
            RootfsBackend::Overlay { .. }
        ));
        assert_eq!(
            Rootfs::parse("btrfs:/x").unwrap().backend,
            RootfsBackend::Other("btrfs".into())
        );
        assert!(Rootfs::parse("overlay:/only").is_err());
        assert_eq!(
            Rootfs::parse("/odd:path").unwrap().backend,
            RootfsBackend::Dir("/odd:path".into())
        );
    }
}
