//! Memory housekeeping for long-lived, mostly idle processes (the monitor).

/// Drops this process's page-table entries for executable file mappings (the program's
/// and libraries' code). The pages stay in the page cache, shared; only the code the
/// process runs afterwards is mapped again. A monitor that forked from `lxu start`
/// otherwise keeps every code page the start path touched (plus the kernel's fault-around
/// neighbours) counted as its resident memory for as long as the container runs.
///
/// Only `r-xp` file mappings are touched: code is never written, so discarding the
/// mapping loses nothing. Writable or relocated mappings (`r--p` RELRO, data) are left.
pub fn release_code_pages() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let path = f.nth(3).unwrap_or("");
        if perms != "r-xp" || !path.starts_with('/') {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        else {
            continue;
        };
        // SAFETY: the range is a private, read-only, executable file mapping of this
        // process (from /proc/self/maps). MADV_DONTNEED on it only drops page-table
        // entries; the next access faults the unchanged file page back in. No memory that
        // Rust code could hold a reference to is freed or altered.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Returns free memory at the top of the heap to the kernel (glibc `malloc_trim`).
pub fn trim_heap() {
    // SAFETY: malloc_trim only releases memory the allocator considers free.
    unsafe {
        libc::malloc_trim(0);
    }
}
