//! Memory housekeeping for long-lived, mostly idle processes (the monitor).

/// Drops this process's page-table entries for read-only file mappings (the program's
/// and libraries' code and constants). The pages stay in the page cache, shared; only what
/// the process runs afterwards is mapped again. A monitor that forked from `lxu start`
/// otherwise keeps every page the start path touched (plus the kernel's fault-around
/// neighbours, 64 KiB per fault) counted as its resident memory while the container runs.
///
/// Only mappings that are read-only and hold no anonymous (copied-on-write) pages are
/// touched, so discarding them loses nothing: relocated data (RELRO) has anonymous pages
/// and is left alone, as are writable mappings.
///
/// # Safety
///
/// No other thread may map or unmap memory while this runs: a range read from
/// `/proc/self/smaps` as a read-only file mapping must still be one when `madvise` drops
/// it, or live anonymous memory would be zeroed.
pub unsafe fn release_code_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some((a, b)) = first.split_once('-') {
            // A mapping header: `start-end perms offset dev inode path`.
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            current = match (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                (Ok(s), Ok(e)) if (perms == "r-xp" || perms == "r--p") && path.starts_with('/') => {
                    Some((s, e))
                }
                _ => None,
            };
        } else if first == "Anonymous:" {
            let anon: u64 = f.next().and_then(|v| v.parse().ok()).unwrap_or(1);
            if let (Some((start, end)), 0) = (current.take(), anon) {
                // SAFETY: the range is a private, read-only file mapping of this process
                // with no anonymous pages (from /proc/self/smaps), and it still is: this
                // loop maps nothing, and no other thread does (the caller's contract).
                // MADV_DONTNEED on it only
                // drops page-table entries; the next access faults the unchanged file page
                // back in. No memory Rust code could hold a reference to is freed or altered.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
                }
            }
        }
    }
}

/// Returns free memory at the top of the heap to the kernel (glibc's `malloc_trim`, or the
/// dlmalloc heap of musl builds, see `lxu_sys::alloc`, which exists on musl only).
pub fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases memory the allocator considers free.
    unsafe {
        libc::malloc_trim(0);
    }
    #[cfg(target_env = "musl")]
    crate::alloc::trim();
}
