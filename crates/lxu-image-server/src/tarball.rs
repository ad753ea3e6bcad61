//! Writes a directory tree as a tar stream the way image tarballs are expected to
//! look: entries named `./path` (so `tar --anchored --exclude=./dev/null` matches),
//! names sorted bytewise within each directory, numeric owners only (no user or
//! group names), hard links kept as links, device nodes and fifos kept, extended
//! attributes as PAX `SCHILY.xattr.*` records (what GNU tar `--xattrs` reads).
//!
//! The tree is read without following symlinks and without crossing into other
//! file systems (a leftover `/proc` mount in a debootstrap tree stays an empty
//! directory), like `tar --one-file-system`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use crate::error::{io_err, IoError};

/// PAX extended-header records (key, value), raw bytes.
type PaxRecords = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("cannot write tar stream (at `{path}`)")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{path}` changed size while being archived (expected {expected} bytes)")]
    Shrunk { path: PathBuf, expected: u64 },
}

/// How to map the tree onto tar entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct TarOptions {
    /// Force every entry to this uid/gid (a tree built by an unprivileged user
    /// must still be owned by root inside the container).
    pub owner: Option<(u32, u32)>,
    /// Store extended attributes (`user.*`, `security.*`, `trusted.*`). POSIX
    /// ACLs (`system.*`) are left out: GNU tar keeps those only with `--acls`.
    pub xattrs: bool,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TarStats {
    pub entries: u64,
    /// Bytes of the uncompressed tar stream.
    pub bytes: u64,
    /// Every character and block device node, as `./dev/null`: the
    /// `excludes-user` list (mknod fails inside a user namespace).
    pub device_nodes: Vec<String>,
    /// Entries skipped because tar cannot represent them (sockets).
    pub skipped: Vec<String>,
}

/// Sum of regular file sizes plus a header per entry: an upper-bound estimate of
/// the tar size, used to choose the xz block size before compressing.
pub(crate) fn estimate_size(root: &Path) -> io::Result<u64> {
    let root_dev = fs::symlink_metadata(root)?.dev();
    let mut total = 1024u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let md = entry.metadata()?;
            total += 512;
            if md.is_file() {
                total += md.len().div_ceil(512) * 512;
            } else if md.is_dir() && md.dev() == root_dev {
                stack.push(entry.path());
            }
        }
    }
    Ok(total)
}

/// Archives the contents of `root` (not `root` itself by name: it becomes `./`).
pub(crate) fn write_tree<W: Write>(
    root: &Path,
    out: W,
    opts: &TarOptions,
) -> Result<TarStats, TarError> {
    let mut w = TreeWriter {
        builder: tar::Builder::new(CountingWriter::new(out)),
        opts,
        links: HashMap::new(),
        stats: TarStats::default(),
        root_dev: 0,
    };
    let md = fs::symlink_metadata(root).map_err(io_err("stat", root))?;
    w.root_dev = md.dev();
    w.entry(root, b"./".to_vec(), &md)?;
    w.dir_contents(root, b".")?;
    let counter = w.builder.into_inner().map_err(|source| TarError::Write {
        path: root.to_path_buf(),
        source,
    })?;
    w.stats.bytes = counter.count;
    Ok(w.stats)
}

struct TreeWriter<'a, W: Write> {
    builder: tar::Builder<CountingWriter<W>>,
    opts: &'a TarOptions,
    /// (dev, ino) of multiply-linked non-directories already written, with the
    /// archive name they were written under.
    links: HashMap<(u64, u64), Vec<u8>>,
    stats: TarStats,
    root_dev: u64,
}

impl<W: Write> TreeWriter<'_, W> {
    fn dir_contents(&mut self, dir: &Path, name: &[u8]) -> Result<(), TarError> {
        let mut names: Vec<OsString> = fs::read_dir(dir)
            .map_err(io_err("list", dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io_err("list", dir))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for child in names {
            let path = dir.join(&child);
            let md = fs::symlink_metadata(&path).map_err(io_err("stat", &path))?;
            let mut child_name = name.to_vec();
            child_name.push(b'/');
            child_name.extend_from_slice(child.as_bytes());
            if md.is_dir() {
                let mut dir_name = child_name.clone();
                dir_name.push(b'/');
                self.entry(&path, dir_name, &md)?;
                if md.dev() == self.root_dev {
                    self.dir_contents(&path, &child_name)?;
                }
            } else {
                self.entry(&path, child_name, &md)?;
            }
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, name: Vec<u8>, md: &Metadata) -> Result<(), TarError> {
        let ft = md.file_type();
        let mut header = Header::new_ustar();
        let mut pax: PaxRecords = Vec::new();
        let mut size = 0u64;
        let mut link_target: Option<Vec<u8>> = None;

        if ft.is_socket() {
            self.stats
                .skipped
                .push(String::from_utf8_lossy(&name).into_owned());
            return Ok(());
        }
        let hardlink_key = (!ft.is_dir() && md.nlink() > 1).then(|| (md.dev(), md.ino()));
        if let Some(first) = hardlink_key.and_then(|k| self.links.get(&k)) {
            header.set_entry_type(EntryType::Link);
            link_target = Some(first.clone());
        } else if ft.is_dir() {
            header.set_entry_type(EntryType::Directory);
        } else if ft.is_symlink() {
            header.set_entry_type(EntryType::Symlink);
            let target = fs::read_link(path).map_err(io_err("read link", path))?;
            link_target = Some(target.into_os_string().into_vec());
        } else if ft.is_file() {
            header.set_entry_type(EntryType::Regular);
            size = md.len();
        } else if ft.is_char_device() || ft.is_block_device() {
            header.set_entry_type(if ft.is_char_device() {
                EntryType::Char
            } else {
                EntryType::Block
            });
            let rdev = md.rdev();
            let (major, minor) = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
            header
                .set_device_major(major)
                .map_err(|source| TarError::Write {
                    path: path.to_path_buf(),
                    source,
                })?;
            header
                .set_device_minor(minor)
                .map_err(|source| TarError::Write {
                    path: path.to_path_buf(),
                    source,
                })?;
            self.stats
                .device_nodes
                .push(String::from_utf8_lossy(&name).into_owned());
        } else if ft.is_fifo() {
            header.set_entry_type(EntryType::Fifo);
        }
        if let (Some(key), None) = (hardlink_key, &link_target) {
            self.links.insert(key, name.clone());
        }

        header.set_mode(md.mode() & 0o7777);
        let (uid, gid) = self.opts.owner.unwrap_or((md.uid(), md.gid()));
        header.set_uid(uid.into());
        header.set_gid(gid.into());
        header.set_mtime(md.mtime().max(0) as u64);
        header.set_size(size);

        set_name_field(&mut header.as_old_mut().name, &name, b"path", &mut pax);
        if let Some(target) = &link_target {
            set_name_field(
                &mut header.as_old_mut().linkname,
                target,
                b"linkpath",
                &mut pax,
            );
        }
        if self.opts.xattrs && header.entry_type() != EntryType::Link {
            for (key, value) in read_xattrs(path)? {
                let mut k = b"SCHILY.xattr.".to_vec();
                k.extend_from_slice(&key);
                pax.push((k, value));
            }
        }
        header.set_cksum();

        let write_err = |source| TarError::Write {
            path: path.to_path_buf(),
            source,
        };
        if !pax.is_empty() {
            let (pax_header, records) = pax_entry(&name, md.mtime().max(0) as u64, &pax);
            self.builder
                .append(&pax_header, records.as_slice())
                .map_err(write_err)?;
        }
        if size > 0 {
            let file = File::open(path).map_err(io_err("open", path))?;
            let mut exact = ExactReader {
                inner: file.take(size),
                remaining: size,
            };
            match self.builder.append(&header, &mut exact) {
                Ok(()) if exact.remaining == 0 => {}
                Ok(()) => {
                    return Err(TarError::Shrunk {
                        path: path.to_path_buf(),
                        expected: size,
                    })
                }
                Err(e) => return Err(write_err(e)),
            }
        } else {
            self.builder
                .append(&header, io::empty())
                .map_err(write_err)?;
        }
        self.stats.entries += 1;
        Ok(())
    }
}

/// Puts `value` into a fixed-size ustar name field, or, when it does not fit,
/// a truncated copy there and the full value into a PAX record.
fn set_name_field(field: &mut [u8], value: &[u8], pax_key: &[u8], pax: &mut PaxRecords) {
    field.fill(0);
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
    if value.len() > field.len() {
        pax.push((pax_key.to_vec(), value.to_vec()));
    }
}

/// A PAX extended header (`x`) entry carrying `records` for the entry named `name`.
fn pax_entry(name: &[u8], mtime: u64, records: &[(Vec<u8>, Vec<u8>)]) -> (Header, Vec<u8>) {
    let mut data = Vec::new();
    for (k, v) in records {
        // Each record is "<len> <key>=<value>\n" where <len> counts itself.
        let body = k.len() + v.len() + 3; // ' ', '=', '\n'
        let mut len = body + 1;
        while len != body + len.to_string().len() {
            len = body + len.to_string().len();
        }
        data.extend_from_slice(len.to_string().as_bytes());
        data.push(b' ');
        data.extend_from_slice(k);
        data.push(b'=');
        data.extend_from_slice(v);
        data.push(b'\n');
    }
    let mut h = Header::new_ustar();
    h.set_entry_type(EntryType::XHeader);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_size(data.len() as u64);
    // GNU tar names these "<dir>/PaxHeaders/<base>"; readers ignore the name.
    let trimmed = name.strip_suffix(b"/").unwrap_or(name);
    let base = trimmed.rsplit(|&b| b == b'/').next().unwrap_or(b"");
    let mut pax_name = b"./PaxHeaders/".to_vec();
    pax_name.extend_from_slice(base);
    let mut ignored = Vec::new();
    set_name_field(&mut h.as_old_mut().name, &pax_name, b"path", &mut ignored);
    h.set_cksum();
    (h, data)
}

fn read_xattrs(path: &Path) -> Result<PaxRecords, TarError> {
    let err = |e: rustix::io::Errno| {
        TarError::from(io_err("read extended attributes of", path)(e.into()))
    };
    let mut buf = vec![0u8; 4096];
    let len = loop {
        match rustix::fs::llistxattr(path, &mut buf[..]) {
            Ok(n) => break n,
            Err(rustix::io::Errno::RANGE) => buf.resize(buf.len() * 4, 0),
            Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(err(e)),
        }
    };
    let mut names: Vec<&[u8]> = buf[..len]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty() && !n.starts_with(b"system."))
        .collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let cname = std::ffi::CString::new(name).expect("xattr names come NUL-split");
        let mut value = vec![0u8; 256];
        let n = loop {
            match rustix::fs::lgetxattr(path, cname.as_c_str(), &mut value[..]) {
                Ok(n) => break n,
                Err(rustix::io::Errno::RANGE) => value.resize(value.len() * 4, 0),
                // Removed between list and get: nothing to store.
                Err(rustix::io::Errno::NODATA) => break usize::MAX,
                Err(e) => return Err(err(e)),
            }
        };
        if n != usize::MAX {
            value.truncate(n);
            out.push((name.to_vec(), value));
        }
    }
    Ok(out)
}

/// Counts the bytes that pass through.
pub(crate) struct CountingWriter<W> {
    inner: W,
    pub count: u64,
}

impl<W> CountingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        CountingWriter { inner, count: 0 }
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Tracks how much of the promised size was actually read, so a file that
/// shrinks while being archived is reported instead of corrupting the stream.
struct ExactReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::process::Command;

    fn sample_tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("etc/init.d")).unwrap();
        fs::create_dir_all(r.join("dev")).unwrap();
        fs::create_dir_all(r.join("bin")).unwrap();
        fs::write(r.join("etc/zz"), b"last\n").unwrap();
        fs::write(r.join("etc/aa"), b"first\n").unwrap();
        fs::write(r.join("bin/busybox"), vec![7u8; 3000]).unwrap();
        fs::hard_link(r.join("bin/busybox"), r.join("bin/hardlinked")).unwrap();
        symlink("/bin/busybox", r.join("bin/sh")).unwrap();
        let long = "d".repeat(120);
        fs::create_dir_all(r.join(&long)).unwrap();
        fs::write(r.join(&long).join("file-with-a-long-path"), b"x").unwrap();
        symlink("t".repeat(150), r.join("bin/longlink")).unwrap();
        fs::set_permissions(r.join("etc/init.d"), fs::Permissions::from_mode(0o750)).unwrap();
        d
    }

    fn names_via_tar_crate(data: &[u8]) -> Vec<(String, EntryType, u64, u64)> {
        let mut ar = tar::Archive::new(data);
        ar.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    String::from_utf8(e.path_bytes().into_owned()).unwrap(),
                    h.entry_type(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn sorted_dot_slash_names_and_forced_owner() {
        let d = sample_tree();
        let mut out = Vec::new();
        let opts = TarOptions {
            owner: Some((0, 0)),
            xattrs: false,
        };
        let stats = write_tree(d.path(), &mut out, &opts).unwrap();
        assert_eq!(stats.bytes, out.len() as u64);
        let entries = names_via_tar_crate(&out);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        let long = "d".repeat(120);
        assert_eq!(
            names,
            vec![
                "./".to_string(),
                "./bin/".into(),
                "./bin/busybox".into(),
                "./bin/hardlinked".into(),
                "./bin/longlink".into(),
                "./bin/sh".into(),
                format!("./{long}/"),
                format!("./{long}/file-with-a-long-path"),
                "./dev/".into(),
                "./etc/".into(),
                "./etc/aa".into(),
                "./etc/init.d/".into(),
                "./etc/zz".into(),
            ]
        );
        assert!(entries.iter().all(|e| e.2 == 0 && e.3 == 0));
        let kinds: HashMap<_, _> = entries.iter().map(|e| (e.0.clone(), e.1)).collect();
        assert_eq!(kinds["./bin/hardlinked"], EntryType::Link);
        assert_eq!(kinds["./bin/sh"], EntryType::Symlink);
        assert_eq!(stats.entries, 13);
    }

    #[test]
    fn gnu_tar_extracts_it_faithfully() {
        let d = sample_tree();
        let mut out = Vec::new();
        write_tree(d.path(), &mut out, &TarOptions::default()).unwrap();
        let x = tempfile::tempdir().unwrap();
        let tarball = x.path().join("t.tar");
        fs::write(&tarball, &out).unwrap();
        let dest = x.path().join("root");
        fs::create_dir(&dest).unwrap();
        let st = Command::new("tar")
            .args(["--numeric-owner", "-xpf"])
            .arg(&tarball)
            .arg("-C")
            .arg(&dest)
            .status()
            .unwrap();
        assert!(st.success());
        let long = "d".repeat(120);
        assert_eq!(
            fs::read(dest.join(&long).join("file-with-a-long-path")).unwrap(),
            b"x"
        );
        assert_eq!(
            fs::read_link(dest.join("bin/longlink")).unwrap(),
            PathBuf::from("t".repeat(150))
        );
        let a = fs::metadata(dest.join("bin/busybox")).unwrap();
        let b = fs::metadata(dest.join("bin/hardlinked")).unwrap();
        assert_eq!(a.ino(), b.ino());
        assert_eq!(a.len(), 3000);
        assert_eq!(
            fs::metadata(dest.join("etc/init.d"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o750
        );
        // tar's own listing shows the `./` names that `--anchored --exclude` matches.
        let list = Command::new("tar")
            .arg("-tf")
            .arg(&tarball)
            .output()
            .unwrap();
        let list = String::from_utf8(list.stdout).unwrap();
        assert!(list.lines().any(|l| l == "./etc/aa"), "{list}");
    }

    #[test]
    fn xattrs_round_trip_through_gnu_tar() {
        let d = sample_tree();
        let f = d.path().join("etc/aa");
        let name = c"user.lxu.test";
        if let Err(e) = rustix::fs::lsetxattr(&f, name, b"v1", rustix::fs::XattrFlags::empty()) {
            eprintln!("SKIP: file system of the temp dir refuses user xattrs: {e}");
            return;
        }
        let mut out = Vec::new();
        let opts = TarOptions {
            owner: None,
            xattrs: true,
        };
        write_tree(d.path(), &mut out, &opts).unwrap();
        let mut ar = tar::Archive::new(out.as_slice());
        let mut found = false;
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path_bytes().as_ref() == b"./etc/aa" {
                let exts = e.pax_extensions().unwrap().unwrap();
                for ext in exts {
                    let ext = ext.unwrap();
                    if ext.key().unwrap() == "SCHILY.xattr.user.lxu.test" {
                        assert_eq!(ext.value_bytes(), b"v1");
                        found = true;
                    }
                }
            }
        }
        assert!(found);
        let x = tempfile::tempdir().unwrap();
        let tarball = x.path().join("t.tar");
        fs::write(&tarball, &out).unwrap();
        let st = Command::new("tar")
            .args(["--xattrs", "--xattrs-include=user.*", "-xpf"])
            .arg(&tarball)
            .arg("-C")
            .arg(x.path())
            .status()
            .unwrap();
        assert!(st.success());
        let mut v = [0u8; 16];
        let n = rustix::fs::lgetxattr(x.path().join("etc/aa"), name, &mut v).unwrap();
        assert_eq!(&v[..n], b"v1");
    }

    #[test]
    fn device_nodes_are_listed_for_excludes() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("SKIP: mknod needs root");
            return;
        }
        let d = sample_tree();
        let null = d.path().join("dev/null");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &null,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, 3),
        )
        .unwrap();
        let mut out = Vec::new();
        let stats = write_tree(d.path(), &mut out, &TarOptions::default()).unwrap();
        assert_eq!(stats.device_nodes, vec!["./dev/null".to_string()]);
        let mut ar = tar::Archive::new(out.as_slice());
        let e = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .find(|e| e.path_bytes().as_ref() == b"./dev/null")
            .unwrap();
        assert_eq!(e.header().entry_type(), EntryType::Char);
        assert_eq!(e.header().device_major().unwrap(), Some(1));
        assert_eq!(e.header().device_minor().unwrap(), Some(3));
    }

    #[test]
    fn pax_record_length_counts_itself() {
        // 98 bytes besides the length: "99" would make 100, so it must say 101.
        let (_, data) = pax_entry(b"./x", 0, &[(b"path".to_vec(), vec![b'a'; 91])]);
        assert_eq!(data.len(), 101);
        assert!(data.starts_with(b"101 path="));
    }
}
