//! The detector allocates nothing per frame once it has seen the picture size: counted by
//! a global allocator, per thread, over frames with motion, without, and through a
//! change of the whole scene.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ipcam_motion::{Detector, Settings};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

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

/// A 640×480 frame: grey with a bright square at `x`, or a different scene altogether.
fn frame(x: Option<usize>, shade: u8) -> Vec<u8> {
    let (w, h) = (640usize, 480usize);
    let mut rgb = vec![shade; w * h * 3];
    if let Some(x) = x {
        for y in 200..280 {
            rgb[(y * w + x) * 3..(y * w + x + 80) * 3].fill(250);
        }
    }
    let mut jpeg = Vec::new();
    let mut encoder = Encoder::new(&mut jpeg, 85);
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder
        .encode(&rgb, w as u16, h as u16, ColorType::Rgb)
        .expect("encodes");
    jpeg
}

#[test]
fn frames_after_the_first_allocate_nothing() {
    let still = frame(None, 90);
    let moving: Vec<Vec<u8>> = (0..20).map(|n| frame(Some(100 + n * 8), 90)).collect();
    let other_scene = frame(None, 200);
    let mut detector = Detector::new(Settings::default());
    detector.feed_jpeg(&still).expect("reads");
    let before = ALLOCATIONS.with(Cell::get);
    let mut started = false;
    for _ in 0..12 {
        detector.feed_jpeg(&still).expect("reads");
    }
    for jpeg in &moving {
        started |= detector.feed_jpeg(jpeg).expect("reads").started;
    }
    for _ in 0..5 {
        detector.feed_jpeg(&other_scene).expect("reads");
    }
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    assert!(started, "the moving square is motion");
    assert_eq!(allocations, 0, "allocations over {} frames", 12 + 20 + 5);
}
