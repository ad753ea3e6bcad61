//! Telling xz, zstd and plain tarballs apart by their first bytes, and decoding
//! them within a memory limit.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::Corruption;

const XZ_MAGIC: &[u8] = &[0xFD, b'7', b'z', b'X', b'Z', 0x00];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xB5, 0x2F, 0xFD];

/// Memory liblzma may use before it reduces the number of decoder threads.
const XZ_MEMLIMIT_THREADING: u64 = 1 << 30;

/// Memory the xz decoder may use at all. `xz -9` needs 65 MiB to decode; a stream
/// that claims more than this is refused rather than allowed to take the host's
/// memory (the xz format allows dictionaries up to 4 GiB).
pub(crate) const XZ_MEMLIMIT: u64 = 1 << 30;

/// Passes reads through and notes whether the xz decoder stopped at its memory
/// limit, so the error can say so whatever the tar parser wraps it in.
pub(crate) struct MemlimitTap<R> {
    pub inner: R,
    pub hit: Arc<AtomicBool>,
}

impl<R: Read> Read for MemlimitTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            let memlimit = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<liblzma::stream::Error>())
                .is_some_and(|x| matches!(x, liblzma::stream::Error::MemLimit));
            if memlimit {
                self.hit.store(true, Ordering::Relaxed);
            }
        })
    }
}

/// The decompressed stream of `reader`, by its magic bytes: xz (on `xz_threads`
/// decoder threads, default one per CPU), zstd, or the bytes as they are.
/// `memlimit_hit` is set when the xz decoder stops at [`XZ_MEMLIMIT`].
pub(super) fn decompress<'r, R: Read + 'r>(
    reader: R,
    xz_threads: Option<u32>,
    memlimit_hit: &Arc<AtomicBool>,
) -> Result<Box<dyn Read + 'r>, Corruption> {
    let mut input = BufReader::with_capacity(1 << 20, reader);
    let head = input.fill_buf()?.to_vec();
    if head.starts_with(XZ_MAGIC) {
        let threads = xz_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1)
        });
        let stream = liblzma::stream::MtStreamBuilder::new()
            .threads(threads.max(1))
            .memlimit_threading(XZ_MEMLIMIT_THREADING)
            .memlimit_stop(XZ_MEMLIMIT)
            .decoder()
            .map_err(Corruption::XzDecoder)?;
        Ok(Box::new(MemlimitTap {
            inner: liblzma::bufread::XzDecoder::new_stream(input, stream),
            hit: memlimit_hit.clone(),
        }))
    } else if head.starts_with(ZSTD_MAGIC) {
        let decoder =
            zstd::stream::read::Decoder::with_buffer(input).map_err(Corruption::ZstdDecoder)?;
        Ok(Box::new(decoder))
    } else {
        Ok(Box::new(input))
    }
}
