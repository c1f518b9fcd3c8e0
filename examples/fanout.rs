//! Load tool: N MJPEG stream clients against a running ipcamd for S seconds.
//!
//! ```text
//! cargo run --release --example fanout -- --url http://127.0.0.1:8080/mjpeg.cgi \
//!     --clients 100 --seconds 10 [--user U --password P] [--pid PID] [--fps 30]
//! cargo run --release --example fanout -- --url rtsp://127.0.0.1:8554/live ...
//! ```
//!
//! With an `rtsp://` URL each client is an RTSP viewer instead: DESCRIBE, SETUP with RTP
//! interleaved on the TCP connection, PLAY, then it reads the `$`-framed RTP packets and
//! counts a frame at each marker bit, as complete only if its packets' sequence numbers
//! had no gap (RTP over TCP loses nothing, so a gap would be a server bug).
//!
//! Each client is a thread with a plain std TCP connection that parses the multipart
//! stream exactly as spec 4.1.2 frames it (`--video boundary--`, headers with
//! Content-Length, the JPEG, CRLF CRLF) and counts complete frames. At the end it prints
//! frames per client (min/avg/max), and, given the server's PID, the server's CPU seconds
//! (utime + stime from /proc/PID/stat, assuming the usual 100 clock ticks per second) and
//! its resident memory (VmRSS from /proc/PID/status, sampled during the run). With
//! `--fps`, it also prints the share of the expected frames the slowest client got.
//!
//! Only loopback or the project's own test hosts are meant as targets.

use base64::Engine as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// Command-line options.
struct Options {
    host: String,
    address: SocketAddr,
    path: String,
    clients: usize,
    seconds: f64,
    credentials: Option<(String, String)>,
    pid: Option<u32>,
    fps: Option<f64>,
    rtsp: bool,
}

/// What one client saw.
#[derive(Debug, Default, Clone)]
struct ClientReport {
    frames: u64,
    bytes: u64,
    bad_frames: u64,
    error: Option<String>,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("fanout: {message}");
            eprintln!(
                "usage: fanout --url http://HOST:PORT/mjpeg.cgi|rtsp://HOST:PORT/ --clients N --seconds S \
                 [--user U --password P] [--pid PID] [--fps F]"
            );
            return ExitCode::from(2);
        }
    };
    let options = Arc::new(options);
    let start_barrier = Arc::new(Barrier::new(options.clients + 1));
    let clients: Vec<_> = (0..options.clients)
        .map(|index| {
            let options = Arc::clone(&options);
            let barrier = Arc::clone(&start_barrier);
            thread::Builder::new()
                .name(format!("client-{index}"))
                .stack_size(256 * 1024)
                .spawn(move || run_client(&options, &barrier))
                .expect("spawn a client thread")
        })
        .collect();

    let cpu_before = options.pid.and_then(server_cpu_seconds);
    let rss_before = options.pid.and_then(server_rss_kib);
    start_barrier.wait();
    let started = Instant::now();
    let mut rss_peak = rss_before.unwrap_or(0);
    while started.elapsed().as_secs_f64() < options.seconds {
        thread::sleep(Duration::from_millis(250));
        if let Some(rss) = options.pid.and_then(server_rss_kib) {
            rss_peak = rss_peak.max(rss);
        }
    }
    let cpu_after = options.pid.and_then(server_cpu_seconds);
    let reports: Vec<ClientReport> = clients
        .into_iter()
        .map(|client| {
            client.join().unwrap_or_else(|_| ClientReport {
                error: Some("client thread panicked".into()),
                ..ClientReport::default()
            })
        })
        .collect();
    print_summary(&options, &reports, started.elapsed());
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        let cpu = after - before;
        let total: u64 = reports.iter().map(|r| r.frames).sum();
        println!(
            "server CPU: {cpu:.2} s ({:.0} delivered frames per CPU second)",
            total as f64 / cpu.max(0.01)
        );
    }
    if let Some(before) = rss_before {
        println!("server RSS: {before} KiB before, {rss_peak} KiB peak during the run");
    }
    if reports.iter().any(|r| r.error.is_some()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_summary(options: &Options, reports: &[ClientReport], elapsed: Duration) {
    let frames: Vec<u64> = reports.iter().map(|r| r.frames).collect();
    let min = frames.iter().copied().min().unwrap_or(0);
    let max = frames.iter().copied().max().unwrap_or(0);
    let total: u64 = frames.iter().sum();
    let avg = total as f64 / frames.len().max(1) as f64;
    let seconds = options.seconds;
    println!(
        "{} clients, {:.1} s: frames per client min {min} / avg {avg:.1} / max {max} \
         ({:.1} fps average per client)",
        reports.len(),
        elapsed.as_secs_f64(),
        avg / seconds
    );
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    let bad: u64 = reports.iter().map(|r| r.bad_frames).sum();
    println!(
        "total: {total} frames, {:.1} MB of JPEG, {bad} malformed parts",
        bytes as f64 / 1e6
    );
    if let Some(fps) = options.fps {
        let expected = fps * seconds;
        println!(
            "slowest client got {:.1} % of the {expected:.0} frames expected at {fps} fps",
            100.0 * min as f64 / expected
        );
    }
    let failures: Vec<&ClientReport> = reports.iter().filter(|r| r.error.is_some()).collect();
    if let Some(first) = failures.first() {
        println!(
            "{} clients failed; first error: {}",
            failures.len(),
            first.error.as_deref().unwrap_or("")
        );
    }
}

fn run_client(options: &Options, start: &Barrier) -> ClientReport {
    if options.rtsp {
        let connection = rtsp_play(options);
        start.wait();
        let mut report = ClientReport::default();
        if let Err(error) = connection.and_then(|stream| rtp_frames(options, stream, &mut report)) {
            report.error = Some(error.to_string());
        }
        return report;
    }
    let connection = connect(options);
    start.wait();
    let mut report = ClientReport::default();
    let result = connection.and_then(|stream| stream_frames(options, stream, &mut report));
    if let Err(error) = result {
        report.error = Some(error.to_string());
    }
    report
}

fn connect(options: &Options) -> io::Result<BufReader<TcpStream>> {
    let mut stream = TcpStream::connect_timeout(&options.address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut request = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: ipcam-fanout\r\n",
        options.path, options.host
    );
    if let Some((user, password)) = &options.credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    Ok(BufReader::with_capacity(64 * 1024, stream))
}

/// Reads the response head, then parts until the run's time is up.
fn stream_frames(
    options: &Options,
    mut stream: BufReader<TcpStream>,
    report: &mut ClientReport,
) -> io::Result<()> {
    let head = read_head(&mut stream)?;
    let status = head.first().map(String::as_str).unwrap_or("");
    if !status.contains(" 200 ") {
        return Err(io::Error::other(format!("server answered {status:?}")));
    }
    let content_type = header_value(&head, "content-type").unwrap_or_default();
    // ipcamd's boundary is the spec's `--video boundary--`, used as is for the delimiter
    // line; other servers (e.g. mjpg-streamer, for comparisons) use RFC 2046's `--` prefix.
    let Some((_, boundary)) = content_type.split_once("boundary=") else {
        return Err(io::Error::other(format!(
            "unexpected Content-Type {content_type:?}"
        )));
    };
    let boundary = boundary.trim().trim_matches('"').to_owned();
    let deadline = Instant::now() + Duration::from_secs_f64(options.seconds);
    let mut jpeg = Vec::new();
    while Instant::now() < deadline {
        let length = read_part_head(&mut stream, &boundary)?;
        jpeg.resize(length, 0);
        stream.read_exact(&mut jpeg)?;
        let valid = jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]);
        if valid {
            report.frames += 1;
            report.bytes += length as u64;
        } else {
            report.bad_frames += 1;
        }
    }
    Ok(())
}

/// Opens an RTSP session with RTP interleaved on the connection and starts it playing.
fn rtsp_play(options: &Options) -> io::Result<BufReader<TcpStream>> {
    let stream = TcpStream::connect_timeout(&options.address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let url = format!("rtsp://{}{}", options.host, options.path);
    let auth = match &options.credentials {
        Some((user, password)) => format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        ),
        None => String::new(),
    };
    let mut session = String::new();
    let steps = [
        ("DESCRIBE", url.clone(), String::new()),
        (
            "SETUP",
            format!("{url}/track1"),
            "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n".to_owned(),
        ),
        ("PLAY", url.clone(), String::new()),
    ];
    for (cseq, (method, uri, extra)) in steps.into_iter().enumerate() {
        let session_line = if session.is_empty() {
            String::new()
        } else {
            format!("Session: {session}\r\n")
        };
        let request = format!(
            "{method} {uri} RTSP/1.0\r\nCSeq: {}\r\n{auth}{session_line}{extra}\r\n",
            cseq + 1
        );
        writer.write_all(request.as_bytes())?;
        let head = read_head(&mut reader)?;
        let status = head.first().cloned().unwrap_or_default();
        if !status.contains(" 200 ") {
            return Err(io::Error::other(format!("{method} answered {status:?}")));
        }
        if let Some(length) = header_value(&head, "content-length") {
            let mut body = vec![0; length.parse().unwrap_or(0)];
            reader.read_exact(&mut body)?;
        }
        if let Some(value) = header_value(&head, "session") {
            session = value.split(';').next().unwrap_or("").to_owned();
        }
    }
    Ok(reader)
}

/// Counts complete frames of the interleaved RTP stream until the run's time is up.
fn rtp_frames(
    options: &Options,
    mut stream: BufReader<TcpStream>,
    report: &mut ClientReport,
) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs_f64(options.seconds);
    let mut packet = vec![0u8; 65536];
    let mut expected_seq: Option<u16> = None;
    let (mut frame_ok, mut frame_bytes) = (true, 0u64);
    while Instant::now() < deadline {
        let mut prefix = [0u8; 4];
        stream.read_exact(&mut prefix)?;
        if prefix[0] != b'$' {
            return Err(io::Error::other("expected an interleaved packet"));
        }
        let len = usize::from(u16::from_be_bytes([prefix[2], prefix[3]]));
        stream.read_exact(&mut packet[..len])?;
        if prefix[1] != 0 || len < 12 {
            continue; // RTCP
        }
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        // Frames start at any sequence number (a slow viewer skips frames, not packets
        // within one); within a frame the numbers must follow on.
        if expected_seq.is_some_and(|e| e != seq) && frame_bytes > 0 {
            frame_ok = false;
        }
        expected_seq = Some(seq.wrapping_add(1));
        frame_bytes += len as u64 - 12;
        if packet[1] & 0x80 != 0 {
            if frame_ok {
                report.frames += 1;
                report.bytes += frame_bytes;
            } else {
                report.bad_frames += 1;
            }
            frame_ok = true;
            frame_bytes = 0;
        }
    }
    Ok(())
}

/// Lines up to the blank line that ends a header block.
fn read_head(stream: &mut impl BufRead) -> io::Result<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            return Ok(lines);
        }
        lines.push(line);
    }
}

/// Skips the CRLFs after the previous JPEG, expects the boundary, returns Content-Length.
fn read_part_head(stream: &mut impl BufRead, boundary: &str) -> io::Result<usize> {
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended"));
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed == boundary || trimmed.strip_prefix("--") == Some(boundary) {
            break;
        }
        if !trimmed.is_empty() {
            return Err(io::Error::other(format!(
                "expected the boundary, got {trimmed:?}"
            )));
        }
    }
    let headers = read_head(stream)?;
    header_value(&headers, "content-length")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other("part without a valid Content-Length"))
}

fn header_value(lines: &[String], name: &str) -> Option<String> {
    lines.iter().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// utime + stime of a process, in seconds.
fn server_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may itself contain spaces and parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_SECOND)
}

/// Resident set size of a process, in KiB.
fn server_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut url = None;
    let mut clients = None;
    let mut seconds = None;
    let mut user = None;
    let mut password = None;
    let mut pid = None;
    let mut fps = None;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--clients" => clients = Some(parse_number::<usize>("--clients", &value()?)?),
            "--seconds" => seconds = Some(parse_number::<f64>("--seconds", &value()?)?),
            "--user" => user = Some(value()?),
            "--password" => password = Some(value()?),
            "--pid" => pid = Some(parse_number::<u32>("--pid", &value()?)?),
            "--fps" => fps = Some(parse_number::<f64>("--fps", &value()?)?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let (rest, rtsp, default_port) = if let Some(rest) = url.strip_prefix("rtsp://") {
        (rest, true, 554)
    } else {
        let rest = url
            .strip_prefix("http://")
            .ok_or("only http:// and rtsp:// URLs are supported")?;
        (rest, false, 80)
    };
    let (host, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let with_port = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:{default_port}")
    };
    let address = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or(format!("{host} has no address"))?;
    let clients = clients.ok_or("--clients is required")?;
    let seconds = seconds.ok_or("--seconds is required")?;
    if clients == 0 || seconds <= 0.0 {
        return Err("--clients and --seconds must be positive".into());
    }
    let credentials = match (user, password) {
        (Some(user), password) => Some((user, password.unwrap_or_default())),
        (None, Some(_)) => return Err("--password needs --user".into()),
        (None, None) => None,
    };
    Ok(Options {
        host: host.to_owned(),
        address,
        path: path.to_owned(),
        clients,
        seconds,
        credentials,
        pid,
        fps,
        rtsp,
    })
}

fn parse_number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: {text:?} is not a valid number"))
}
