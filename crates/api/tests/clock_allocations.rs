//! The MJPEG part header stamps every frame with [`CameraClock::format_now`]: it must not
//! allocate, in a zone with DST rules (parsed when the zone is set, not per call) as in a
//! fixed offset. Counted by a global allocator, per thread.

use ipcam_alloc_count::{allocations_while, CountingAllocator};
use ipcam_api::timezone::DATE_TIME_LEN;
use ipcam_api::CameraClock;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

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
