//! The detector allocates nothing per frame once it has seen the picture size: counted by
//! a global allocator, per thread, over frames with motion, without, and through a
//! change of the whole scene.

use ipcam_alloc_count::{thread_allocations, CountingAllocator};
use ipcam_motion::{Detector, Settings};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

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
    let before = thread_allocations();
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
    let allocations = thread_allocations() - before;
    assert!(started, "the moving square is motion");
    assert_eq!(allocations, 0, "allocations over {} frames", 12 + 20 + 5);
}
