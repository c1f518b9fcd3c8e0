//! Cost of the motion detector per frame: reading the DC luma of a real JPEG and updating
//! the background model, at the camera's sizes. The goal: ≤ 2 ms per 640×480 frame, so
//! that 30 fps costs at most 5 % of a core.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ipcam_motion::{Detector, Settings};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// A camera-like frame: a smooth scene with edges and fine texture in places, 4:2:0,
/// quality 85 (about 40 KiB at 640×480, like a webcam's MJPEG), with `shift` moving its
/// content.
fn frame(width: u16, height: u16, shift: usize) -> Vec<u8> {
    let (w, h) = (usize::from(width), usize::from(height));
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let xs = (x + shift) as f32;
            let yf = y as f32;
            let smooth = 110.0 + 60.0 * (xs / 40.0).sin() * (yf / 55.0).cos();
            let texture = if (x / 160 + y / 120) % 3 == 0 {
                25.0 * ((xs * 0.9).sin() * (yf * 0.7).cos())
            } else {
                0.0
            };
            let edge = if (xs as usize / 97 + y / 83) % 2 == 0 {
                30.0
            } else {
                0.0
            };
            let v = (smooth + texture + edge).clamp(0.0, 255.0) as u8;
            rgb.extend_from_slice(&[v, v.saturating_add(20), 255 - v / 2]);
        }
    }
    let mut jpeg = Vec::new();
    let mut encoder = Encoder::new(&mut jpeg, 85);
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder
        .encode(&rgb, width, height, ColorType::Rgb)
        .expect("encodes");
    jpeg
}

fn per_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("motion_detector_per_frame");
    for (width, height) in [(640u16, 480u16), (1280, 720)] {
        let frames: Vec<Vec<u8>> = (0..4).map(|n| frame(width, height, n * 2)).collect();
        println!("{width}x{height}: JPEG of {} bytes", frames[0].len());
        let mut detector = Detector::new(Settings::default());
        let mut n = 0;
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{width}x{height}")),
            &frames,
            |b, frames| {
                b.iter(|| {
                    n = (n + 1) % frames.len();
                    detector.feed_jpeg(&frames[n]).expect("reads")
                })
            },
        );
    }
    group.finish();
}

/// The alternative the DC reader replaces: jpeg-decoder's own 1/8-scale decode (DC-only
/// IDCT, colour conversion, a new buffer per frame), for comparison.
fn jpeg_decoder_at_one_eighth(c: &mut Criterion) {
    let mut group = c.benchmark_group("jpeg_decoder_scaled_1_8");
    for (width, height) in [(640u16, 480u16), (1280, 720)] {
        let jpeg = frame(width, height, 0);
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{width}x{height}")),
            &jpeg,
            |b, jpeg| {
                b.iter(|| {
                    let mut decoder = jpeg_decoder::Decoder::new(&jpeg[..]);
                    decoder.read_info().expect("header");
                    decoder.scale(width / 8, height / 8).expect("scales");
                    decoder.decode().expect("decodes")
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, per_frame, jpeg_decoder_at_one_eighth);
criterion_main!(benches);
