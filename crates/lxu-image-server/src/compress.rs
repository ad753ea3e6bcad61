//! Compressors for image tarballs.
//!
//! xz is written with liblzma's multithreaded encoder so the stream is split
//! into independent blocks: that is what lets a client decode it on several
//! threads (a single-block .xz, like `xz` without `-T`, can only be decoded
//! serially). zstd is offered beside it because it decodes ~6x faster.

use std::io::{self, Write};

use liblzma::stream::{Check, MtStreamBuilder};
use liblzma::write::XzEncoder;

/// liblzma's LZMA2 dictionary size for presets 0-9.
const DICT_SIZES: [u64; 10] = [
    256 << 10,
    1 << 20,
    2 << 20,
    4 << 20,
    4 << 20,
    8 << 20,
    8 << 20,
    16 << 20,
    32 << 20,
    64 << 20,
];

/// Settings for `rootfs.tar.xz` / `meta.tar.xz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XzOptions {
    /// 0-9 (`xz -0` … `xz -9`).
    pub preset: u32,
    /// Encoder threads; 0 = one per available CPU.
    pub threads: u32,
    /// Uncompressed bytes per block. `None` = choose from the input size so
    /// that there are about [`XzOptions::TARGET_BLOCKS`] blocks, each between
    /// 1 MiB and liblzma's default (3 × dictionary, 24 MiB at preset 6).
    pub block_size: Option<u64>,
}

impl XzOptions {
    /// How many blocks `block_size: None` aims for.
    pub const TARGET_BLOCKS: u64 = 8;

    /// The block size to use for an input of about `input_size` bytes.
    pub(crate) fn effective_block_size(&self, input_size: u64) -> u64 {
        if let Some(b) = self.block_size {
            return b.max(4096);
        }
        let dict = DICT_SIZES[self.preset.min(9) as usize];
        let max = (3 * dict).max(1 << 20);
        let wanted = input_size.div_ceil(Self::TARGET_BLOCKS);
        // Round up to a MiB so the figure is stable across tiny size changes.
        wanted
            .div_ceil(1 << 20)
            .saturating_mul(1 << 20)
            .clamp(1 << 20, max)
    }

    pub(crate) fn effective_threads(&self) -> u32 {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
        }
    }

    /// An xz encoder writing into `out`, sized for about `input_size` bytes.
    pub(crate) fn encoder<W: Write>(&self, out: W, input_size: u64) -> io::Result<XzEncoder<W>> {
        let stream = MtStreamBuilder::new()
            .threads(self.effective_threads())
            .preset(self.preset.min(9))
            .block_size(self.effective_block_size(input_size))
            .check(Check::Crc64)
            // Without a timeout liblzma may hold a write call for a whole block.
            .timeout_ms(300)
            .encoder()
            .map_err(io::Error::other)?;
        Ok(XzEncoder::new_stream(out, stream))
    }
}

impl Default for XzOptions {
    fn default() -> Self {
        XzOptions {
            preset: 6,
            threads: 0,
            block_size: None,
        }
    }
}

/// A zstd encoder (with content checksum) writing into `out`.
pub(crate) fn zstd_encoder<W: Write>(
    out: W,
    level: i32,
    threads: u32,
) -> io::Result<zstd::stream::write::Encoder<'static, W>> {
    let mut enc = zstd::stream::write::Encoder::new(out, level)?;
    enc.include_checksum(true)?;
    if threads > 1 {
        enc.multithread(threads)?;
    }
    Ok(enc)
}

/// Writes everything to both writers (one tar walk feeds the .xz and the .zst).
pub(crate) struct Tee<A, B> {
    pub a: A,
    pub b: Option<B>,
}

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.a.write_all(buf)?;
        if let Some(b) = &mut self.b {
            b.write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.a.flush()?;
        if let Some(b) = &mut self.b {
            b.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn block_size_targets_several_blocks() {
        let o = XzOptions::default();
        assert_eq!(o.effective_block_size(2 << 20), 1 << 20);
        assert_eq!(o.effective_block_size(80 << 20), 10 << 20);
        assert_eq!(o.effective_block_size(4 << 30), 24 << 20);
        let fixed = XzOptions {
            block_size: Some(3 << 20),
            ..o
        };
        assert_eq!(fixed.effective_block_size(1 << 30), 3 << 20);
    }

    #[test]
    fn multiblock_stream_round_trips_and_has_blocks() {
        // Incompressible-ish data so blocks are real work.
        let mut data = Vec::with_capacity(3 << 20);
        let mut x: u32 = 1;
        while data.len() < (3 << 20) {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            data.extend_from_slice(&x.to_le_bytes()[..2]);
        }
        let o = XzOptions {
            preset: 1,
            threads: 2,
            block_size: Some(1 << 20),
        };
        let mut enc = o.encoder(Vec::new(), data.len() as u64).unwrap();
        enc.write_all(&data).unwrap();
        let xz = enc.finish().unwrap();
        let mut back = Vec::new();
        liblzma::read::XzDecoder::new(xz.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.xz");
        std::fs::write(&p, &xz).unwrap();
        let Ok(out) = std::process::Command::new("xz")
            .args(["--robot", "--list"])
            .arg(&p)
            .output()
        else {
            eprintln!("SKIP: xz not installed, block count not checked");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let blocks: u64 = text
            .lines()
            .find(|l| l.starts_with("file\t"))
            .and_then(|l| l.split('\t').nth(2))
            .and_then(|b| b.parse().ok())
            .unwrap();
        assert_eq!(blocks, 3, "{text}");
    }

    #[test]
    fn tee_feeds_both() {
        let mut t = Tee {
            a: Vec::new(),
            b: Some(Vec::new()),
        };
        t.write_all(b"abc").unwrap();
        assert_eq!(t.a, b"abc");
        assert_eq!(t.b.unwrap(), b"abc");
    }
}
