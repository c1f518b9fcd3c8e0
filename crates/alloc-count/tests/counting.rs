//! The counter sees what a thread allocates, and only that thread's.

use std::hint::black_box;

use ipcam_alloc_count::{
    allocations_while, thread_allocations, watch_this_thread, watched_allocations,
    CountingAllocator,
};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn allocations_and_growth_count_and_reuse_does_not() {
    let mut buffer: Vec<u8> = Vec::new();
    assert_eq!(allocations_while(|| buffer.reserve(16)), 1);
    assert_eq!(allocations_while(|| buffer.reserve(4096)), 1, "a realloc");
    assert_eq!(
        allocations_while(|| {
            buffer.clear();
            buffer.extend_from_slice(black_box(&[7; 4096]));
        }),
        0
    );
}

#[test]
fn other_threads_count_apart_unless_watched() {
    let before = thread_allocations();
    let watched_before = watched_allocations();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..100 {
                black_box(vec![1u8; 32]);
            }
        });
        scope.spawn(|| {
            watch_this_thread();
            black_box(vec![1u8; 32]);
            black_box(vec![2u8; 32]);
        });
    });
    assert_eq!(watched_allocations() - watched_before, 2);
    // Spawning allocates a little on this side; the other threads' 102 vectors do not count.
    let here = thread_allocations() - before;
    assert!(
        here < 100,
        "{here} allocations counted on the spawning thread"
    );
}
