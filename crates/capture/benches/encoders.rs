//! The two JPEG encoders side by side on the same YUYV frames (what a raw V4L2 camera
//! delivers): `jpeg-encoder` always, libjpeg-turbo when built with `--features turbojpeg`.
//!
//! ```sh
//! cargo bench -p ipcam-capture --features turbojpeg --bench encoders -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! `encode_yuyv/ENCODER/WxH`: one frame at quality 70 (the camera's default compression),
//! 4:2:0 output. The frame is a camera-like picture (smooth gradients, edges and fine
//! texture), so the entropy coder has realistic work.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ipcam_capture::encode::{JpegEncoder, PureRust, YuvLayout, YuvPicture};
use ipcam_capture::Mirror;

const SIZES: [(u16, u16); 3] = [(640, 480), (1280, 720), (1920, 1080)];
const QUALITY: u8 = 70;

/// A YUYV frame: diagonal luma gradient with a checkerboard of edges and some texture,
/// chroma varying slowly across the picture.
fn yuyv_frame(width: u16, height: u16) -> Vec<u8> {
    let (width, height) = (usize::from(width), usize::from(height));
    let mut frame = Vec::with_capacity(width * height * 2);
    for y in 0..height {
        for x in (0..width).step_by(2) {
            let luma = |x: usize| {
                let gradient = (x + y) * 160 / (width + height);
                let checker = if (x / 40 + y / 40) % 2 == 0 { 60 } else { 0 };
                let texture = (x * 31 + y * 17) % 23;
                (gradient + checker + texture) as u8
            };
            let cb = (64 + x * 128 / width) as u8;
            let cr = (192 - y * 128 / height) as u8;
            frame.extend_from_slice(&[luma(x), cb, luma(x + 1), cr]);
        }
    }
    frame
}

fn encode_with<E: JpegEncoder>(c: &mut Criterion, frames: &[(u16, u16, Vec<u8>)]) {
    let mut group = c.benchmark_group("encode_yuyv");
    for (width, height, frame) in frames {
        let picture = YuvPicture {
            data: frame,
            width: *width,
            height: *height,
            layout: YuvLayout::Yuyv {
                stride: usize::from(*width) * 2,
            },
            mirror: Mirror::default(),
        };
        let mut encoder = E::default();
        let mut jpeg = Vec::new();
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(
            BenchmarkId::new(E::NAME, format!("{width}x{height}")),
            &picture,
            |b, picture| {
                b.iter(|| {
                    jpeg.clear();
                    encoder
                        .encode(black_box(picture), QUALITY, &mut jpeg)
                        .expect("a valid frame encodes");
                    black_box(jpeg.len())
                })
            },
        );
    }
    group.finish();
}

fn encoders(c: &mut Criterion) {
    let frames: Vec<_> = SIZES
        .iter()
        .map(|&(width, height)| (width, height, yuyv_frame(width, height)))
        .collect();
    encode_with::<PureRust>(c, &frames);
    #[cfg(feature = "turbojpeg")]
    encode_with::<ipcam_capture::encode::TurboJpeg>(c, &frames);
}

criterion_group!(benches, encoders);
criterion_main!(benches);
