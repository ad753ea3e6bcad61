//! An image repository tree laid out like images.linuxcontainers.org.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lxu_download::index::IndexEntry;

use super::{sha256, TestKey};

/// An image server's document root.
pub struct Repo {
    pub dir: tempfile::TempDir,
    pub key: Arc<TestKey>,
}

impl Repo {
    pub fn new(key: Arc<TestKey>) -> Repo {
        Repo {
            dir: tempfile::tempdir().unwrap(),
            key,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn image_path(dist: &str, release: &str, arch: &str, variant: &str, build: &str) -> String {
        format!("/images/{dist}/{release}/{arch}/{variant}/{build}/")
    }

    /// Writes a file and its detached signature.
    pub fn put_signed(&self, rel: &str, data: &[u8]) {
        let p = self.root().join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        std::fs::write(
            p.with_file_name(format!("{}.asc", p.file_name().unwrap().to_string_lossy())),
            self.key.sign(data),
        )
        .unwrap();
    }

    /// Publishes one build; returns its index entry.
    pub fn publish(
        &self,
        dist: &str,
        release: &str,
        build: &str,
        rootfs: &[u8],
        meta: &[u8],
    ) -> IndexEntry {
        let path = Self::image_path(dist, release, "amd64", "default", build);
        self.put_signed(&format!("{path}rootfs.tar.xz"), rootfs);
        self.put_signed(&format!("{path}meta.tar.xz"), meta);
        IndexEntry {
            dist: dist.into(),
            release: release.into(),
            arch: "amd64".into(),
            variant: "default".into(),
            build: build.into(),
            path,
        }
    }

    /// Adds a signed `SHA256SUMS` to the published build `e`, as lxc-ci does; with
    /// `info`, also an `image.info` naming the build with the sizes of its files,
    /// listed in `SHA256SUMS`, as `lxu image publish` does.
    pub fn add_sums(&self, e: &IndexEntry, info: bool) {
        let read = |name: &str| std::fs::read(self.file(&format!("{}{name}", e.path))).unwrap();
        let (rootfs, meta) = (read("rootfs.tar.xz"), read("meta.tar.xz"));
        let mut sums = String::new();
        if info {
            let info = format!(
                "dist={}\nrelease={}\narch=amd64\nvariant=default\nserial={}\n\
                 build_time=1700000000\nexpiry=4000000000\nmin_compat_system=5\n\
                 min_compat_user=5\nfiles=meta.tar.xz rootfs.tar.xz\n\
                 size.meta.tar.xz={}\nsize.rootfs.tar.xz={}\n",
                e.dist,
                e.release,
                e.build,
                meta.len(),
                rootfs.len()
            );
            self.put_signed(&format!("{}image.info", e.path), info.as_bytes());
            sums.push_str(&format!("{}  image.info\n", sha256(info.as_bytes())));
        }
        sums.push_str(&format!(
            "{}  meta.tar.xz\n{}  rootfs.tar.xz\n",
            sha256(&meta),
            sha256(&rootfs)
        ));
        self.put_signed(&format!("{}SHA256SUMS", e.path), sums.as_bytes());
    }

    /// Writes the signed unsuffixed `index-user` (what lxc-ci serves for level 5+).
    pub fn write_index(&self, entries: &[IndexEntry]) {
        self.put_signed(
            "meta/1.0/index-user",
            lxu_download::index::serialize(entries).as_bytes(),
        );
    }

    pub fn write_index_text(&self, text: &str) {
        self.put_signed("meta/1.0/index-user", text.as_bytes());
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.root().join(rel.trim_start_matches('/'))
    }
}
