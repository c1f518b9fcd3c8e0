//! The per-frame work of RTSP that does not depend on the number of viewers: parsing a
//! 640x480 JPEG (4:2:0, as the camera's test pattern) and laying it out in RFC 2435
//! packets, into a reused layout as the server does for every published frame.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipcam_rtsp::payload::{Packetized, DEFAULT_MAX_PAYLOAD};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// A 640x480 picture with gradients and sensor-like noise, so that the JPEG is as large
/// as a real camera's (about 70 KB at quality 80: some 50 packets).
fn frame(restart_interval: u16) -> Vec<u8> {
    let (width, height) = (640usize, 480usize);
    let mut noise = 0x2545_F491_u32;
    let rgb: Vec<u8> = (0..width * height)
        .flat_map(|i| {
            let (x, y) = (i % width, i / width);
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let n = (noise % 24) as usize;
            [(x / 3 + n) as u8, (y / 2 + n) as u8, ((x ^ y) & 0x7F) as u8]
        })
        .collect();
    let mut jpeg = Vec::new();
    let mut encoder = Encoder::new(&mut jpeg, 80);
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder.set_restart_interval(restart_interval);
    encoder
        .encode(&rgb, width as u16, height as u16, ColorType::Rgb)
        .expect("encode");
    jpeg
}

fn packetize(c: &mut Criterion) {
    let mut group = c.benchmark_group("rfc2435_packetize_640x480");
    for (name, restart_interval) in [("plain", 0), ("restart_markers", 40)] {
        let jpeg = frame(restart_interval);
        println!("{name}: {} bytes", jpeg.len());
        let mut layout = Packetized::new();
        group.throughput(Throughput::Bytes(jpeg.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                layout
                    .fill(std::hint::black_box(&jpeg), DEFAULT_MAX_PAYLOAD)
                    .expect("packetize");
                layout.packets().len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, packetize);
criterion_main!(benches);
