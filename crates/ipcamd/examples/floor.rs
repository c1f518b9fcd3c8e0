//! The fan-out floor: the least a server can do to stream MJPEG to many viewers, to measure
//! ipcamd against (issue 15; `examples/fanout_ratio.rs` runs both and prints the ratio).
//!
//! ```text
//! cargo run --release -p ipcamd --example floor -- --frames DIR [--listen 127.0.0.1:0] [--fps 30]
//! ```
//!
//! One thread: it waits in `poll` on the listening socket until the next frame is due,
//! accepts viewers (reads the request head, answers with the same multipart head as
//! ipcamd), and at each frame sends the part (boundary and headers, the JPEG, CRLF CRLF)
//! with one `writev` per viewer. Viewer sockets are blocking with the 256 KiB send buffer
//! ipcamd gives streams, so a frame is one call; a viewer whose call fails is dropped.
//! No timers, no threads, no per-viewer state beyond the socket. It prints the address it
//! listens on, then serves until killed. Frames are the `*.jpg` files of DIR in name order,
//! looped.

use std::io::{self, BufRead, BufReader, IoSlice, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const RESPONSE_HEAD: &[u8] = b"HTTP/1.0 200 OK\r\n\
    Content-Type: multipart/x-mixed-replace;boundary=--video boundary--\r\n\r\n";
/// The send buffer ipcamd gives streaming sockets.
const SEND_BUFFER: usize = 256 * 1024;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("floor: {message}");
            eprintln!("usage: floor --frames DIR [--listen ADDR] [--fps F]");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut frames_dir = None;
    let mut listen = "127.0.0.1:0".to_owned();
    let mut fps = 30.0_f64;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--frames" => frames_dir = Some(PathBuf::from(value()?)),
            "--listen" => listen = value()?,
            "--fps" => fps = value()?.parse().map_err(|e| format!("--fps: {e}"))?,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let frames = load_parts(&frames_dir.ok_or("--frames is required")?)?;
    let listener = TcpListener::bind(&listen).map_err(|e| format!("{listen}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    println!(
        "listening on {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    io::stdout().flush().map_err(|e| e.to_string())?;
    serve(&listener, &frames, Duration::from_secs_f64(1.0 / fps)).map_err(|e| e.to_string())
}

/// Each frame as the three parts of its multipart body part.
struct Part {
    head: Vec<u8>,
    jpeg: Vec<u8>,
}

fn load_parts(dir: &PathBuf) -> Result<Vec<Part>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jpg"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("{}: no .jpg files", dir.display()));
    }
    paths
        .iter()
        .map(|path| {
            let jpeg = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let head = format!(
                "--video boundary--\r\nContent-Length: {}\r\nDate: 2024-01-01 00:00:00 \
                 IO_00000000_PT_000_000\r\nContent-Type: image/jpeg\r\n\r\n",
                jpeg.len()
            )
            .into_bytes();
            Ok(Part { head, jpeg })
        })
        .collect()
}

fn serve(listener: &TcpListener, frames: &[Part], interval: Duration) -> io::Result<()> {
    let mut viewers: Vec<TcpStream> = Vec::new();
    let mut next_frame = Instant::now() + interval;
    for part in frames.iter().cycle() {
        loop {
            let wait = next_frame.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                break;
            }
            if wait_readable(listener, wait)? {
                accept_all(listener, &mut viewers);
            }
        }
        next_frame += interval;
        let slices = [
            IoSlice::new(&part.head),
            IoSlice::new(&part.jpeg),
            IoSlice::new(b"\r\n\r\n"),
        ];
        let length = part.head.len() + part.jpeg.len() + 4;
        viewers.retain_mut(|viewer| matches!(viewer.write_vectored(&slices), Ok(n) if n == length));
    }
    Ok(())
}

fn accept_all(listener: &TcpListener, viewers: &mut Vec<TcpStream>) {
    while let Ok((stream, _)) = listener.accept() {
        if let Ok(stream) = start_stream(stream) {
            viewers.push(stream);
        }
    }
}

/// Reads the request head (whatever it asks, it gets the stream) and sends the response head.
fn start_stream(stream: TcpStream) -> io::Result<TcpStream> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    set_send_buffer(&stream)?;
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    (&stream).write_all(RESPONSE_HEAD)?;
    Ok(stream)
}

/// Waits up to `timeout` for a connection to accept.
fn wait_readable(listener: &TcpListener, timeout: Duration) -> io::Result<bool> {
    let mut fd = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = libc::c_int::try_from(timeout.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd, for the duration of the call.
    match unsafe { libc::poll(&mut fd, 1, millis) } {
        -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => Ok(false),
        -1 => Err(io::Error::last_os_error()),
        ready => Ok(ready > 0),
    }
}

fn set_send_buffer(stream: &TcpStream) -> io::Result<()> {
    let value = SEND_BUFFER as libc::c_int;
    // SAFETY: an open socket and a c_int option value of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
