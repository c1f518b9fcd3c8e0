//! A counting global allocator for the tests that hold the streaming promise: "no
//! allocation per frame in the steady state" (capture ring, RTSP server, motion detector,
//! the per-frame clock stamp).
//!
//! Counts are kept per thread, so the test harness and the other threads of a test do not
//! blur them. A thread that the test cannot run its checks on (a server's own loop) can be
//! [watched](watch_this_thread): its allocations then also go to one shared total that
//! any thread reads.
//!
//! A test binary installs it once:
//!
//! ```
//! use ipcam_alloc_count::{allocations_while, CountingAllocator};
//!
//! #[global_allocator]
//! static GLOBAL: CountingAllocator = CountingAllocator;
//!
//! let buffer = Vec::<u8>::with_capacity(64);
//! assert_eq!(allocations_while(|| assert!(buffer.capacity() >= 64)), 0);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    // `const` and without a destructor: reading them never allocates, so the allocator
    // may touch them.
    static THREAD_ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static WATCHED: Cell<bool> = const { Cell::new(false) };
}

static WATCHED_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

/// std's system allocator, counting every `alloc` and `realloc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

fn count() {
    THREAD_ALLOCATIONS.with(|count| count.set(count.get() + 1));
    if WATCHED.with(Cell::get) {
        WATCHED_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed on unchanged to `System`; the counters neither allocate
// nor touch the memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `dealloc`; the new size is the caller's contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations the calling thread has made so far.
pub fn thread_allocations() -> usize {
    THREAD_ALLOCATIONS.with(Cell::get)
}

/// Allocations the calling thread makes while running `work`.
pub fn allocations_while(work: impl FnOnce()) -> usize {
    let before = thread_allocations();
    work();
    thread_allocations() - before
}

/// From now on, the calling thread's allocations also count in [`watched_allocations`].
pub fn watch_this_thread() {
    WATCHED.with(|watched| watched.set(true));
}

/// Allocations made so far by every thread that called [`watch_this_thread`].
pub fn watched_allocations() -> usize {
    WATCHED_ALLOCATIONS.load(Ordering::SeqCst)
}
