//! The heap allocator of lxu's binaries when they are linked against musl.
//!
//! musl's allocator gives every freed group of small blocks back to the kernel at once,
//! so a command that parses many small files (`lxu ls` over 100 containers: ~270
//! mmap/munmap pairs, each mapping faulted in anew) spends more time in the kernel than
//! in its own code. dlmalloc keeps freed memory for reuse and gives the top of the heap
//! back only when asked ([`trim`], which the idle monitor calls) or past 2 MiB.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::{Mutex, MutexGuard, PoisonError};

use dlmalloc::Dlmalloc;

static HEAP: Mutex<Dlmalloc> = Mutex::new(Dlmalloc::new());

fn heap() -> MutexGuard<'static, Dlmalloc> {
    // A panic while the lock is held cannot leave dlmalloc half-updated: it does not
    // call back into Rust code that could panic.
    HEAP.lock().unwrap_or_else(PoisonError::into_inner)
}

/// dlmalloc behind one lock (lxu's threads, in the image server, allocate rarely).
/// `fork` is only called single-threaded (see the crate docs), so the lock is never held
/// by a thread that a child would not have.
pub struct Allocator;

// SAFETY: every call is forwarded to one dlmalloc instance under a mutex, with the
// layout's size and alignment; dlmalloc returns null on failure, as GlobalAlloc expects.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe { heap().malloc(layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe { heap().calloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with this layout (GlobalAlloc contract).
        unsafe { heap().free(ptr, layout.size(), layout.align()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for dealloc; dlmalloc copies and frees when it must move.
        unsafe { heap().realloc(ptr, layout.size(), layout.align(), new_size) }
    }
}

/// Gives free memory at the top of the heap, and wholly free segments, back to the kernel.
pub fn trim() {
    // SAFETY: trim only releases memory dlmalloc holds as free.
    unsafe {
        heap().trim(0);
    }
}
