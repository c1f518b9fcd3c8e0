//! The MJPEG part header stamps every frame with [`CameraClock::format_now`]: it must not
//! allocate, in a zone with DST rules (parsed when the zone is set, not per call) as in a
//! fixed offset. Counted by a global allocator, per thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ipcam_api::timezone::DATE_TIME_LEN;
use ipcam_api::CameraClock;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_while(work: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    work();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn formatting_the_current_time_allocates_nothing() {
    let clock = CameraClock::new();
    // Berlin (a DST rule), Jerusalem (a rule beyond POSIX hours), Kathmandu (+05:45), and
    // row 0 (a fixed offset).
    for (index, offset) in [(32, 1), (43, 2), (60, 5), (0, -5)] {
        clock.set_time_zone(index, offset);
        let mut buf = [0; DATE_TIME_LEN];
        let mut shown = 0;
        let count = allocations_while(|| {
            for _ in 0..1000 {
                shown += clock.format_now(&mut buf).len();
            }
        });
        assert_eq!(count, 0, "row {index}: {count} allocations in 1000 calls");
        assert_eq!(shown, 1000 * DATE_TIME_LEN);
    }
}
