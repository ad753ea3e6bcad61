//! Tarballs (xz or plain), including entries no well-behaved tar would write.

use std::io::Write;

/// Builds tarballs, including entries no well-behaved tar would write.
pub struct Tar {
    b: tar::Builder<Vec<u8>>,
}

fn raw_header(kind: tar::EntryType, name: &[u8], mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    {
        let old = h.as_old_mut();
        assert!(name.len() < 100, "short names only");
        old.name[..name.len()].copy_from_slice(name);
    }
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(size);
    h
}

impl Tar {
    pub fn new() -> Tar {
        Tar {
            b: tar::Builder::new(Vec::new()),
        }
    }

    fn append(&mut self, mut h: tar::Header, data: &[u8]) {
        h.set_cksum();
        self.b.append(&h, data).unwrap();
    }

    pub fn dir(&mut self, name: &str, mode: u32) -> &mut Self {
        self.append(
            raw_header(tar::EntryType::Directory, name.as_bytes(), mode, 0),
            &[],
        );
        self
    }

    pub fn file(&mut self, name: &str, data: &[u8], mode: u32) -> &mut Self {
        self.append(
            raw_header(
                tar::EntryType::Regular,
                name.as_bytes(),
                mode,
                data.len() as u64,
            ),
            data,
        );
        self
    }

    pub fn file_owned(
        &mut self,
        name: &str,
        data: &[u8],
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
    ) -> &mut Self {
        let mut h = raw_header(
            tar::EntryType::Regular,
            name.as_bytes(),
            mode,
            data.len() as u64,
        );
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(mtime);
        self.append(h, data);
        self
    }

    fn link(&mut self, kind: tar::EntryType, name: &str, target: &str) -> &mut Self {
        let mut h = raw_header(kind, name.as_bytes(), 0o777, 0);
        let t = target.as_bytes();
        assert!(t.len() < 100);
        h.as_old_mut().linkname[..t.len()].copy_from_slice(t);
        self.append(h, &[]);
        self
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Symlink, name, target)
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Link, name, target)
    }

    pub fn device(&mut self, name: &str, block: bool) -> &mut Self {
        let kind = if block {
            tar::EntryType::Block
        } else {
            tar::EntryType::Char
        };
        let mut h = raw_header(kind, name.as_bytes(), 0o666, 0);
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
        self.append(h, &[]);
        self
    }

    pub fn fifo(&mut self, name: &str) -> &mut Self {
        self.append(
            raw_header(tar::EntryType::Fifo, name.as_bytes(), 0o640, 0),
            &[],
        );
        self
    }

    /// A file with PAX records (e.g. `SCHILY.xattr.user.x`).
    pub fn file_pax(&mut self, name: &str, data: &[u8], pax: &[(&str, &[u8])]) -> &mut Self {
        let mut records = Vec::new();
        for (k, v) in pax {
            // "LEN key=value\n", LEN counting itself.
            let body = 1 + k.len() + 1 + v.len() + 1;
            let mut len = body + 1;
            while len != body + len.to_string().len() {
                len = body + len.to_string().len();
            }
            records.extend_from_slice(format!("{len} {k}=").as_bytes());
            records.extend_from_slice(v);
            records.push(b'\n');
        }
        let h = raw_header(
            tar::EntryType::XHeader,
            b"./PaxHeaders/x",
            0o644,
            records.len() as u64,
        );
        self.append(h, &records);
        self.file(name, data, 0o644)
    }

    /// An old-style GNU sparse member (`S`) whose one byte of data sits at the end
    /// of `real_size` bytes of holes.
    pub fn gnu_sparse(&mut self, name: &str, real_size: u64) -> &mut Self {
        let mut h = raw_header(tar::EntryType::GNUSparse, name.as_bytes(), 0o644, 1);
        {
            let g = h.as_gnu_mut().unwrap();
            g.set_real_size(real_size);
            g.sparse[0].set_offset(real_size - 1);
            g.sparse[0].set_length(1);
        }
        self.append(h, b"x");
        self
    }

    pub fn tar(self) -> Vec<u8> {
        self.b.into_inner().unwrap()
    }

    pub fn xz(self) -> Vec<u8> {
        xz(&self.tar())
    }
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// `data` as xz whose block header claims an LZMA2 dictionary of 4 GiB, so
/// decoding it needs that much memory; the header CRC is recomputed.
pub fn xz_bomb(data: &[u8]) -> Vec<u8> {
    let mut x = xz(data);
    // Stream header: 12 bytes. Block header: size byte, flags, optional sizes, filters.
    let start = 12;
    let size = (x[start] as usize + 1) * 4;
    let flags = x[start + 1];
    assert_eq!(flags & 0x03, 0, "one filter expected");
    let mut off = start + 2;
    let skip_varint = |off: &mut usize, x: &[u8]| {
        while x[*off] & 0x80 != 0 {
            *off += 1;
        }
        *off += 1;
    };
    if flags & 0x40 != 0 {
        skip_varint(&mut off, &x);
    }
    if flags & 0x80 != 0 {
        skip_varint(&mut off, &x);
    }
    assert_eq!(x[off], 0x21, "LZMA2 filter expected");
    assert_eq!(x[off + 1], 1, "one property byte expected");
    // 40: a dictionary of 4 GiB - 1.
    x[off + 2] = 40;
    let crc = crc32(&x[start..start + size - 4]);
    x[start + size - 4..start + size].copy_from_slice(&crc.to_le_bytes());
    x
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for b in data {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A small rootfs as distrobuilder would pack it.
pub fn small_rootfs(marker: &str) -> Vec<u8> {
    let mut t = Tar::new();
    t.dir("./", 0o755)
        .dir("./etc/", 0o755)
        .file("./etc/hostname", b"LXC_NAME\n", 0o644)
        .file("./etc/marker", marker.as_bytes(), 0o644)
        .dir("./dev/", 0o755)
        .device("./dev/null", false)
        .dir("./usr/", 0o755)
        .dir("./usr/bin/", 0o755)
        .file("./usr/bin/tool", b"#!/bin/sh\n", 0o4755)
        .symlink("./bin", "usr/bin");
    t.xz()
}

/// A meta.tar.xz with the usual files; `expiry` in Unix seconds.
pub fn meta_tarball(expiry: u64, message: &str) -> Vec<u8> {
    let mut t = Tar::new();
    t.dir("./", 0o755)
        .file("./config", b"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.arch = x86_64\n", 0o644)
        .file(
            "./config-user",
            b"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.include = LXC_TEMPLATE_CONFIG/userns.conf\nlxc.arch = x86_64\n",
            0o644,
        )
        .file("./excludes-user", b"./dev/null\n", 0o644)
        .file("./templates", b"/etc/hostname\n", 0o644)
        .file("./create-message", message.as_bytes(), 0o644)
        .file("./expiry", format!("{expiry}\n").as_bytes(), 0o644);
    t.xz()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
