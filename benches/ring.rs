//! Frame ring and test-pattern benches.
//!
//! `ring_fanout/N`: the per-frame cost of the hot path with N viewers: the capture side
//! writes a 40 kB JPEG into a pooled slot (the one payload copy) and publishes it, then N
//! readers each take a reference to the newest frame and release it after the next frame,
//! as stream clients do while their socket drains. The cost should grow by a refcount per
//! viewer, never by a payload copy.
//!
//! `synthetic_encode/WxH`: one frame of the synthetic test pattern, drawn and JPEG-encoded
//! at the default compression (quality 70, 4:2:0).

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ipcam_capture::ring::ring;
use ipcam_capture::source::TestPattern;
use ipcam_capture::{FrameSource, ImageSettings, Resolution};

const JPEG_BYTES: usize = 40 * 1024;

fn ring_fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring_fanout");
    let payload = vec![0x5Au8; JPEG_BYTES];
    for viewers in [1usize, 10, 100] {
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(
            BenchmarkId::from_parameter(viewers),
            &viewers,
            |b, &viewers| {
                let (mut publisher, reader) = ring(16);
                let readers: Vec<_> = (0..viewers).map(|_| reader.clone()).collect();
                let mut held: Vec<_> = Vec::with_capacity(viewers);
                b.iter(|| {
                    let mut slot = publisher.claim().expect("readers release every frame");
                    slot.jpeg_mut().extend_from_slice(&payload);
                    let frame = slot.publish(640, 480, SystemTime::now(), |meta, len, header| {
                        header.extend_from_slice(&meta.seq.to_be_bytes());
                        header.extend_from_slice(&len.to_be_bytes());
                    });
                    drop(frame);
                    held.clear();
                    held.extend(readers.iter().map(|r| r.latest().expect("just published")));
                    black_box(held.len());
                });
            },
        );
    }
    group.finish();
}

fn synthetic_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("synthetic_encode");
    for resolution in [Resolution::Qvga, Resolution::Vga] {
        let name = format!("{}x{}", resolution.width(), resolution.height());
        group.bench_function(name, |b| {
            let mut pattern = TestPattern::new();
            pattern
                .apply(&ImageSettings {
                    resolution,
                    ..ImageSettings::default()
                })
                .expect("the test pattern takes any settings");
            let mut jpeg = Vec::new();
            b.iter(|| {
                jpeg.clear();
                let info = pattern.next_frame(&mut jpeg).expect("encodes");
                black_box((info, jpeg.len()));
            });
        });
    }
    group.finish();
}

criterion_group!(benches, ring_fanout, synthetic_encode);
criterion_main!(benches);
