//! Heap allocations of the RTSP server per frame, counted by a global allocator.
//!
//! The promise is "no allocation per frame in the steady state": once the frame pool and
//! the buffers have grown, packetizing a frame and sending it to a TCP-interleaved and a
//! UDP viewer must not touch the heap. Only the server's own thread is counted, so the
//! test's publisher and clients do not blur the figure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipcam_alloc_count::{watch_this_thread, watched_allocations, CountingAllocator};
use ipcam_httpd::{Broadcast, Chunk};
use ipcam_rtsp::{JpegChunk, Limits, Open, Server};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[derive(Clone)]
struct Jpeg(Arc<Vec<u8>>);

impl Chunk for Jpeg {
    fn segments(&self) -> [&[u8]; 3] {
        [&self.0, &[], &[]]
    }
}

impl JpegChunk for Jpeg {
    fn jpeg(&self) -> &[u8] {
        &self.0
    }
}

fn jpeg(shade: u8) -> Vec<u8> {
    let pixels: Vec<u8> = (0..640 * 480 * 3)
        .map(|i| (i % 251) as u8 ^ shade)
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 80)
        .encode(&pixels, 640, 480, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// Sends a request and reads its response head (and body), returning the head.
fn exchange(reader: &mut BufReader<TcpStream>, request: &str) -> String {
    reader.get_mut().write_all(request.as_bytes()).unwrap();
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |n| n.trim().parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    assert!(head.starts_with("RTSP/1.0 200"), "{head}");
    head
}

/// DESCRIBE and SETUP with `transport`, then PLAY; returns the connection.
fn play(addr: std::net::SocketAddr, transport: &str) -> BufReader<TcpStream> {
    let mut reader = BufReader::new(TcpStream::connect(addr).unwrap());
    let url = format!("rtsp://{addr}/live");
    exchange(
        &mut reader,
        &format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
    );
    let head = exchange(
        &mut reader,
        &format!("SETUP {url}/track1 RTSP/1.0\r\nCSeq: 2\r\nTransport: {transport}\r\n\r\n"),
    );
    let session = head
        .lines()
        .find_map(|l| l.strip_prefix("Session: "))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    exchange(
        &mut reader,
        &format!("PLAY {url} RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\n\r\n"),
    );
    reader
}

/// Counts RTP marker bits (frame ends) of an interleaved stream into `frames`.
fn count_tcp(mut reader: BufReader<TcpStream>, frames: Arc<AtomicU64>) {
    let mut packet = vec![0u8; 65536];
    loop {
        let mut prefix = [0u8; 4];
        if reader.read_exact(&mut prefix).is_err() {
            return;
        }
        let len = usize::from(u16::from_be_bytes([prefix[2], prefix[3]]));
        if reader.read_exact(&mut packet[..len]).is_err() {
            return;
        }
        if prefix[1] == 0 && packet[1] & 0x80 != 0 {
            frames.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn count_udp(socket: UdpSocket, frames: Arc<AtomicU64>) {
    let mut packet = [0u8; 2048];
    while let Ok(len) = socket.recv(&mut packet) {
        if len > 12 && packet[1] & 0x80 != 0 {
            frames.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn wait_until(frames: &[&AtomicU64], at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while frames.iter().any(|f| f.load(Ordering::SeqCst) < at_least) {
        assert!(
            Instant::now() < deadline,
            "viewers did not get frame {at_least}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn sending_frames_to_tcp_and_udp_viewers_does_not_allocate() {
    let frames: Broadcast<Jpeg> = Broadcast::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        // A sender report is due at the first frame; later ones would come every 5 s.
        report_interval: Duration::from_secs(3600),
        ..Limits::default()
    };
    let (server, handle) = Server::new(listener, &frames, Open, limits).unwrap();
    let server = std::thread::spawn(move || {
        watch_this_thread();
        server.run()
    });

    let tcp_frames = Arc::new(AtomicU64::new(0));
    let tcp = play(addr, "RTP/AVP/TCP;unicast;interleaved=0-1");
    let counter = Arc::clone(&tcp_frames);
    std::thread::spawn(move || count_tcp(tcp, counter));

    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rtp.local_addr().unwrap().port();
    let _control = play(
        addr,
        &format!("RTP/AVP;unicast;client_port={port}-{}", port + 1),
    );
    let udp_frames = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&udp_frames);
    std::thread::spawn(move || count_udp(rtp, counter));

    let pictures = [Arc::new(jpeg(0)), Arc::new(jpeg(0x55))];
    let mut published = 0;
    let mut publish_and_wait = |count: u64| {
        for _ in 0..count {
            published += 1;
            frames.publish(Jpeg(Arc::clone(&pictures[published as usize % 2])));
            wait_until(&[&tcp_frames, &udp_frames], published);
        }
    };
    publish_and_wait(20);
    let before = watched_allocations();
    publish_and_wait(60);
    let during = watched_allocations() - before;
    assert_eq!(during, 0, "allocations on the server thread for 60 frames");

    handle.shutdown();
    server.join().unwrap().unwrap();
}
