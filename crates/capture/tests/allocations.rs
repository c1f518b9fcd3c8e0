//! Heap allocations on the frame path, counted by a global allocator.
//!
//! The streaming promise is "no allocation per frame in the steady state": once slots and
//! buffers have grown to the frame size, publishing and reading frames must not touch the
//! heap. Allocations are counted per thread, so the test harness's own bookkeeping on
//! other threads does not blur the count.

use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ipcam_alloc_count::{allocations_while, thread_allocations, CountingAllocator};
use ipcam_capture::ring::ring;
use ipcam_capture::source::{Replay, TestPattern};
use ipcam_capture::{Capture, CaptureOptions, FrameSource, ImageSettings};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn encoded_jpeg(width: u16, height: u16, shade: u8) -> Vec<u8> {
    let pixels = vec![shade; usize::from(width) * usize::from(height) * 3];
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    jpeg
}

#[test]
fn the_frame_path_does_not_allocate_per_frame() {
    ring_publish_and_read();
    replay_into_ring_slots();
    capture_thread_with_replay_and_header_writer();
    test_pattern_allocations_are_the_encoders_only();
}

fn ring_publish_and_read() {
    let (mut publisher, reader) = ring(8);
    let readers: Vec<_> = (0..100).map(|_| reader.clone()).collect();
    let payload = vec![7u8; 30_000];
    let mut held = Vec::with_capacity(readers.len());
    let mut publish = || {
        let mut slot = publisher.claim().unwrap();
        slot.jpeg_mut().extend_from_slice(&payload);
        drop(
            slot.publish(640, 480, SystemTime::now(), |meta, len, header| {
                header.extend_from_slice(&meta.seq.to_be_bytes());
                header.extend_from_slice(&len.to_be_bytes());
            }),
        );
        held.clear();
        held.extend(readers.iter().map(|r| r.latest().unwrap()));
    };
    for _ in 0..10 {
        publish();
    }
    let count = allocations_while(|| (0..1000).for_each(|_| publish()));
    assert_eq!(
        count, 0,
        "ring: {count} allocations in 1000 frames × 100 readers"
    );
}

fn replay_into_ring_slots() {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<Vec<u8>> = (0..3).map(|i| encoded_jpeg(64, 48, 40 * i)).collect();
    for (i, frame) in frames.iter().enumerate() {
        fs::write(dir.path().join(format!("{i}.jpg")), frame).unwrap();
    }
    let clip = dir.path().join("clip.mjpeg");
    fs::write(&clip, frames.concat()).unwrap();

    for path in [dir.path().to_path_buf(), clip] {
        let mut replay = Replay::open(&path).unwrap();
        let (mut publisher, _reader) = ring(4);
        let mut step = || {
            let mut slot = publisher.claim().unwrap();
            let info = replay.next_frame(slot.jpeg_mut()).unwrap();
            slot.publish(info.width, info.height, info.captured_at, |_, _, _| {});
        };
        for _ in 0..10 {
            step();
        }
        let count = allocations_while(|| (0..300).for_each(|_| step()));
        assert_eq!(
            count,
            0,
            "replay of {}: {count} allocations in 300 frames",
            path.display()
        );
    }
}

fn capture_thread_with_replay_and_header_writer() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.jpg"), encoded_jpeg(64, 48, 10)).unwrap();
    fs::write(dir.path().join("b.jpg"), encoded_jpeg(64, 48, 200)).unwrap();
    // The capture thread reports its own running count after each publish.
    let capture_thread_count = Arc::new(AtomicUsize::new(0));
    let report = Arc::clone(&capture_thread_count);
    let options = CaptureOptions {
        auto_fps: 1000,
        header_writer: Some(Box::new(|meta, len, header| {
            let _ = write!(
                header,
                "--video boundary--\r\nContent-Length: {len}\r\nSeq: {}\r\n\r\n",
                meta.seq
            );
        })),
        on_publish: Some(Box::new(move |_| {
            report.store(thread_allocations(), Ordering::SeqCst);
        })),
        ..CaptureOptions::default()
    };
    let source = Box::new(Replay::open(dir.path()).unwrap());
    let capture = Capture::spawn(source, ImageSettings::default(), options).unwrap();
    let reader = capture.reader();
    let wait = Duration::from_secs(20);
    let warm = reader
        .wait_newer(20, wait)
        .expect("capture runs")
        .meta()
        .seq;
    let before = capture_thread_count.load(Ordering::SeqCst);
    let mut seq = warm;
    while seq < warm + 200 {
        seq = reader
            .wait_newer(seq, wait)
            .expect("capture keeps running")
            .meta()
            .seq;
    }
    let count = capture_thread_count.load(Ordering::SeqCst) - before;
    drop(capture);
    assert_eq!(
        count,
        0,
        "capture thread: {count} allocations over {} frames",
        seq - warm
    );
}

fn test_pattern_allocations_are_the_encoders_only() {
    let mut pattern = TestPattern::new();
    let mut jpeg = Vec::new();
    for _ in 0..3 {
        jpeg.clear();
        pattern.next_frame(&mut jpeg).unwrap();
    }
    let frames = 50;
    let count = allocations_while(|| {
        for _ in 0..frames {
            jpeg.clear();
            pattern.next_frame(&mut jpeg).unwrap();
        }
    });
    let per_frame = count / frames;
    println!(
        "test pattern 640x480: {per_frame} allocations per frame (jpeg-encoder's working rows)"
    );
    assert!(per_frame <= 16, "{per_frame} allocations per frame");
}
