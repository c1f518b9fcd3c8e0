//! Request parsing and small-response rendering: the per-request CPU cost of the server,
//! without sockets.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipcam_httpd::harness::parse_and_render;
use std::hint::black_box;

const NVR_POLL: &[u8] = b"GET /cgiversion.cgi HTTP/1.1\r\nHost: 192.168.0.20\r\n\
User-Agent: ZoneMinder\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nAccept: */*\r\n\r\n";
const SET_WITH_QUERY: &[u8] = b"GET /image.cgi?VideoResolution=2&CompressionRate=1&FrameRate=15\
&BrightnessControl=64&ContrastControl=64&SaturationControl=64&ConfigReboot=No HTTP/1.0\r\n\
Authorization: Basic YWRtaW46c2VjcmV0\r\n\r\n";

fn requests(c: &mut Criterion) {
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse+render cgiversion", |b| {
        b.iter(|| parse_and_render(black_box(NVR_POLL), "CGIVersion=2\r\n"))
    });
    group.bench_function("parse+render set with 7 params", |b| {
        b.iter(|| parse_and_render(black_box(SET_WITH_QUERY), "VideoResolution=2\r\n"))
    });
    group.finish();
}

criterion_group!(benches, requests);
criterion_main!(benches);
