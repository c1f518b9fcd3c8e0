//! Fan-out of one stream to 1, 10 and 100 viewers over loopback: the time from publishing
//! a 40 KiB part until every viewer has read all of it. The parts are published through
//! the real server and written with its vectored writes; each viewer is a thread reading
//! its own socket, as an NVR would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ipcam_httpd::{
    Broadcast, Chunk, Handler, Limits, Reply, Request, Response, Server, ServerHandle, StreamStats,
};

const PAYLOAD: usize = 40 * 1024;
const PART_HEADER: &[u8] = b"--video boundary--\r\nContent-Type: image/jpeg\r\n\r\n";
const PART_LEN: usize = PART_HEADER.len() + PAYLOAD + 4;

#[derive(Clone)]
struct Part(Arc<Vec<u8>>);

impl Chunk for Part {
    fn segments(&self) -> [&[u8]; 3] {
        [PART_HEADER, &self.0, b"\r\n\r\n"]
    }
}

struct Streamer(Broadcast<Part>);

impl Handler for Streamer {
    fn handle(&mut self, _request: &Request) -> Reply {
        Response::stream(
            "multipart/x-mixed-replace",
            self.0.subscribe(StreamStats::new()),
        )
        .into()
    }
}

struct Rig {
    frames: Broadcast<Part>,
    delivered: Arc<AtomicU64>,
    server: ServerHandle,
    threads: Vec<JoinHandle<()>>,
    parts: Vec<Part>,
    published: u64,
    viewers: u64,
}

impl Rig {
    fn start(viewers: u64) -> Rig {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let frames = Broadcast::new();
        let (server, handle) = Server::new(Limits::default(), Streamer(frames.clone())).unwrap();
        handle.add_listener(listener);
        let mut threads = vec![std::thread::spawn(move || {
            server.run().unwrap();
        })];
        let delivered = Arc::new(AtomicU64::new(0));
        for _ in 0..viewers {
            let delivered = Arc::clone(&delivered);
            threads.push(std::thread::spawn(move || viewer(addr, &delivered)));
        }
        let parts = (0..4u8).map(|n| Part(Arc::new(vec![n; PAYLOAD]))).collect();
        let mut rig = Rig {
            frames,
            delivered,
            server: handle,
            threads,
            parts,
            published: 0,
            viewers,
        };
        rig.wait_until_all_subscribed();
        rig
    }

    /// Publishes until one part reaches every viewer: from then on all are subscribed.
    fn wait_until_all_subscribed(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.delivered.load(Ordering::Acquire) < self.viewers {
            assert!(Instant::now() < deadline, "viewers never subscribed");
            self.delivered.store(0, Ordering::Release);
            self.publish_one_and_wait(Duration::from_millis(50));
        }
    }

    /// Publishes one part and waits until every viewer has read it (or `patience` passes).
    fn publish_one_and_wait(&mut self, patience: Duration) {
        let target = self.delivered.load(Ordering::Acquire) + self.viewers;
        let part = self.parts[(self.published % 4) as usize].clone();
        self.published += 1;
        self.frames.publish(part);
        let deadline = Instant::now() + patience;
        while self.delivered.load(Ordering::Acquire) < target && Instant::now() < deadline {
            std::hint::spin_loop();
        }
    }

    fn stop(self) {
        self.server.shutdown();
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

fn viewer(addr: SocketAddr, delivered: &AtomicU64) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(b"GET /stream HTTP/1.0\r\n\r\n").unwrap();
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
        line.clear();
    }
    let mut part = vec![0u8; PART_LEN];
    while reader.read_exact(&mut part).is_ok() {
        delivered.fetch_add(1, Ordering::AcqRel);
    }
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout 40 KiB part");
    group.sample_size(20);
    for viewers in [1u64, 10, 100] {
        group.throughput(Throughput::Elements(viewers));
        group.bench_with_input(BenchmarkId::from_parameter(viewers), &viewers, |b, &n| {
            let mut rig = Rig::start(n);
            b.iter(|| rig.publish_one_and_wait(Duration::from_secs(5)));
            rig.stop();
        });
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
