//! ipcamd against the fan-out floor (`examples/floor.rs`), measured side by side (issue 15).
//!
//! ```text
//! cargo build --release -p ipcamd --bin ipcamd --example floor --example fanout_ratio
//! target/release/examples/fanout_ratio [--clients 100] [--seconds 10] [--rounds 6]
//!     [--ipcamd target/release/ipcamd] [--floor target/release/examples/floor]
//! ```
//!
//! Both servers stream the same 640×480 JPEGs (test-pattern frames written to a temporary
//! folder; ipcamd plays them with `--source replay:DIR` at its automatic 30 fps) to the
//! same number of loopback viewers, in alternating runs so that load from elsewhere on the
//! machine hits both alike. Each viewer is a thread that parses the multipart stream and
//! timestamps every complete frame. Per run it prints the frames delivered per second of
//! server CPU (utime + stime of all its threads from /proc, as the issue measured; and by
//! the scheduler's exact run time from /proc/PID/task/*/schedstat), the slowest viewer's rate, the
//! 99th-percentile and largest gap between consecutive frames at a viewer, context switches
//! per frame, and for ipcamd its resident memory idle (2 s after start, no viewer) and the
//! peak with all viewers; then the medians and the ratio ipcamd / floor.
//!
//! First it reports ipcamd's memory as shipped, with its default source (the test pattern,
//! encoding every frame itself): resident memory 2 s after start with no viewer, and the
//! peak while the viewers watch.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ipcam_capture::source::TestPattern;
use ipcam_capture::FrameSource;

const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

const PASSWORD: &str = "ratio123";
const FRAMES: usize = 30;

struct Options {
    clients: usize,
    seconds: f64,
    rounds: usize,
    ipcamd: PathBuf,
    floor: PathBuf,
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
struct RunReport {
    /// By utime + stime.
    frames_per_cpu_second: f64,
    /// By the scheduler's run time.
    frames_per_scheduled_second: f64,
    slowest_fps: f64,
    p99_gap_ms: f64,
    max_gap_ms: f64,
    switches_per_frame: f64,
    idle_rss_kib: Option<u64>,
    peak_rss_kib: Option<u64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Floor,
    Ipcamd,
}

fn main() -> ExitCode {
    match parse_args().and_then(|options| run(&options).map_err(|e| e.to_string())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fanout_ratio: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> io::Result<()> {
    memory_report(options)?;
    let frames_dir = write_frames()?;
    let mut floor_runs = Vec::new();
    let mut ipcamd_runs = Vec::new();
    for round in 1..=options.rounds {
        for kind in [Kind::Floor, Kind::Ipcamd] {
            let report = measure(options, kind, frames_dir.path())?;
            let name = if kind == Kind::Floor {
                "floor "
            } else {
                "ipcamd"
            };
            println!("round {round} {name} {}", describe(&report));
            match kind {
                Kind::Floor => floor_runs.push(report),
                Kind::Ipcamd => ipcamd_runs.push(report),
            }
        }
    }
    let floor = median_report(&floor_runs);
    let ipcamd = median_report(&ipcamd_runs);
    println!("median floor  {}", describe(&floor));
    println!("median ipcamd {}", describe(&ipcamd));
    println!(
        "ratio ipcamd / floor: {:.2} of the floor's frames per CPU-second ({:.2} by run time)",
        ipcamd.frames_per_cpu_second / floor.frames_per_cpu_second,
        ipcamd.frames_per_scheduled_second / floor.frames_per_scheduled_second
    );
    Ok(())
}

fn describe(report: &RunReport) -> String {
    let mut text = format!(
        "{:>7.0} frames/CPU-s ({:>7.0} by run time), slowest viewer {:.1} fps, gap p99 \
         {:.1} ms max {:.1} ms, {:.2} context switches/frame",
        report.frames_per_cpu_second,
        report.frames_per_scheduled_second,
        report.slowest_fps,
        report.p99_gap_ms,
        report.max_gap_ms,
        report.switches_per_frame
    );
    if let (Some(idle), Some(peak)) = (report.idle_rss_kib, report.peak_rss_kib) {
        text += &format!(
            ", RSS idle {:.1} MiB, with viewers {:.1} MiB",
            mib(idle),
            mib(peak)
        );
    }
    text
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn median_report(runs: &[RunReport]) -> RunReport {
    let median = |value: fn(&RunReport) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(value).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let median_kib = |value: fn(&RunReport) -> Option<u64>| {
        let mut values: Vec<u64> = runs.iter().filter_map(value).collect();
        values.sort_unstable();
        values.get(values.len() / 2).copied()
    };
    RunReport {
        frames_per_cpu_second: median(|r| r.frames_per_cpu_second),
        frames_per_scheduled_second: median(|r| r.frames_per_scheduled_second),
        slowest_fps: median(|r| r.slowest_fps),
        p99_gap_ms: median(|r| r.p99_gap_ms),
        max_gap_ms: median(|r| r.max_gap_ms),
        switches_per_frame: median(|r| r.switches_per_frame),
        idle_rss_kib: median_kib(|r| r.idle_rss_kib),
        peak_rss_kib: median_kib(|r| r.peak_rss_kib),
    }
}

/// Test-pattern frames (640×480, default compression) as numbered `.jpg` files.
fn write_frames() -> io::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let mut pattern = TestPattern::new();
    let mut jpeg = Vec::new();
    for index in 0..FRAMES {
        jpeg.clear();
        pattern.next_frame(&mut jpeg).map_err(io::Error::other)?;
        std::fs::write(dir.path().join(format!("{index:04}.jpg")), &jpeg)?;
    }
    Ok(dir)
}

/// A server process, killed on drop.
struct Server {
    child: Child,
    address: SocketAddr,
    _state: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ipcamd's resident memory with the test pattern: idle, then with the viewers.
fn memory_report(options: &Options) -> io::Result<()> {
    let server = start_ipcamd(options, "test")?;
    let pid = server.child.id();
    thread::sleep(Duration::from_secs(2));
    let idle = rss_kib(pid).unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let viewers: Vec<_> = (0..options.clients)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let address = server.address;
            thread::spawn(move || watch(address, &stop))
        })
        .collect();
    let mut peak = 0;
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        thread::sleep(Duration::from_millis(250));
        peak = peak.max(rss_kib(pid).unwrap_or(0));
    }
    stop.store(true, Ordering::Relaxed);
    let mut frames = Vec::new();
    for viewer in viewers {
        let stamps = viewer
            .join()
            .map_err(|_| io::Error::other("a viewer thread panicked"))??;
        frames.push(stamps.len());
    }
    println!(
        "ipcamd, test pattern: RSS idle {:.1} MiB, with {} viewers {:.1} MiB (fewest frames at a viewer in 5 s: {})",
        mib(idle),
        options.clients,
        mib(peak),
        frames.iter().min().copied().unwrap_or(0)
    );
    Ok(())
}

fn start(options: &Options, kind: Kind, frames: &Path) -> io::Result<Server> {
    match kind {
        Kind::Floor => {
            let mut child = Command::new(&options.floor)
                .arg("--frames")
                .arg(frames)
                .stdout(Stdio::piped())
                .spawn()?;
            let mut line = String::new();
            let stdout = child
                .stdout
                .take()
                .ok_or_else(|| io::Error::other("no stdout"))?;
            BufReader::new(stdout).read_line(&mut line)?;
            let address = line
                .trim()
                .strip_prefix("listening on ")
                .and_then(|a| a.parse().ok())
                .ok_or_else(|| io::Error::other(format!("floor said {line:?}")))?;
            Ok(Server {
                child,
                address,
                _state: None,
            })
        }
        Kind::Ipcamd => start_ipcamd(options, &format!("replay:{}", frames.display())),
    }
}

/// ipcamd with `source`, on a free port, its state in a temporary directory.
fn start_ipcamd(options: &Options, source: &str) -> io::Result<Server> {
    let state = tempfile::tempdir()?;
    // A free port: bound and released here, then given to ipcamd.
    let address = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let child = Command::new(&options.ipcamd)
        .arg("--listen")
        .arg(address.to_string())
        .arg("--state-dir")
        .arg(state.path())
        .arg("--source")
        .arg(source)
        .arg("--admin-password")
        .arg(PASSWORD)
        .arg("--log-level")
        .arg("warn")
        .stdout(Stdio::null())
        .spawn()?;
    let server = Server {
        child,
        address,
        _state: Some(state),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(address).is_err() {
        if Instant::now() > deadline {
            return Err(io::Error::other("ipcamd did not start listening"));
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(server)
}

fn measure(options: &Options, kind: Kind, frames: &Path) -> io::Result<RunReport> {
    let server = start(options, kind, frames)?;
    let pid = server.child.id();
    let idle_rss_kib = if kind == Kind::Ipcamd {
        thread::sleep(Duration::from_secs(2));
        rss_kib(pid)
    } else {
        None
    };
    let stop = Arc::new(AtomicBool::new(false));
    let viewers: Vec<_> = (0..options.clients)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let address = server.address;
            thread::spawn(move || watch(address, &stop))
        })
        .collect();
    // Every viewer has a few frames before the window opens.
    thread::sleep(Duration::from_secs(2));
    let (cpu_before, switches_before) = (cpu_seconds(pid)?, context_switches(pid)?);
    let scheduled_before = scheduled_seconds(pid)?;
    let window_start = Instant::now();
    let window = Duration::from_secs_f64(options.seconds);
    let mut peak_rss_kib = None;
    while window_start.elapsed() < window {
        thread::sleep(Duration::from_millis(250));
        peak_rss_kib = peak_rss_kib.max(rss_kib(pid));
    }
    let (cpu_after, switches_after) = (cpu_seconds(pid)?, context_switches(pid)?);
    let scheduled = (scheduled_seconds(pid)? - scheduled_before).max(1e-6);
    let window_end = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let mut delivered = 0u64;
    let mut slowest = u64::MAX;
    let mut gaps = Vec::new();
    for viewer in viewers {
        let stamps = viewer
            .join()
            .map_err(|_| io::Error::other("a viewer thread panicked"))??;
        let inside: Vec<Instant> = stamps
            .into_iter()
            .filter(|&t| t >= window_start && t < window_end)
            .collect();
        delivered += inside.len() as u64;
        slowest = slowest.min(inside.len() as u64);
        gaps.extend(
            inside
                .windows(2)
                .map(|w| (w[1] - w[0]).as_secs_f64() * 1000.0),
        );
    }
    gaps.sort_by(f64::total_cmp);
    let seconds = (window_end - window_start).as_secs_f64();
    let cpu = (cpu_after - cpu_before).max(1.0 / CLOCK_TICKS_PER_SECOND);
    let frames_sent = (delivered as f64).max(1.0);
    Ok(RunReport {
        frames_per_cpu_second: delivered as f64 / cpu,
        frames_per_scheduled_second: delivered as f64 / scheduled,
        slowest_fps: slowest as f64 / seconds,
        p99_gap_ms: gaps.get(gaps.len() * 99 / 100).copied().unwrap_or(f64::NAN),
        max_gap_ms: gaps.last().copied().unwrap_or(f64::NAN),
        switches_per_frame: (switches_after - switches_before) as f64 / frames_sent,
        idle_rss_kib,
        peak_rss_kib,
    })
}

/// One viewer: the stream's frames' arrival times until `stop`.
fn watch(address: SocketAddr, stop: &AtomicBool) -> io::Result<Vec<Instant>> {
    let stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("admin:{PASSWORD}"));
    write!(
        &stream,
        "GET /mjpeg.cgi HTTP/1.0\r\nAuthorization: Basic {credentials}\r\n\r\n"
    )?;
    let mut reader = BufReader::with_capacity(64 * 1024, &stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if !line.contains(" 200 ") {
        return Err(io::Error::other(format!("answer {line:?}")));
    }
    while !read_line(&mut reader, &mut line)?.is_empty() {}
    let mut stamps = Vec::with_capacity(64 * 1024);
    let mut jpeg = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let mut length = None;
        // Blank lines (the previous part's CRLF CRLF), the boundary, then headers.
        let mut seen_boundary = false;
        loop {
            let text = read_line(&mut reader, &mut line)?;
            if text.is_empty() && seen_boundary {
                break;
            }
            seen_boundary |= text.starts_with("--");
            if let Some(value) = text.strip_prefix("Content-Length: ") {
                length = value.parse::<usize>().ok();
            }
        }
        let length = length.ok_or_else(|| io::Error::other("a part without Content-Length"))?;
        jpeg.resize(length, 0);
        reader.read_exact(&mut jpeg)?;
        stamps.push(Instant::now());
    }
    Ok(stamps)
}

fn read_line<'a>(reader: &mut impl BufRead, line: &'a mut String) -> io::Result<&'a str> {
    line.clear();
    if reader.read_line(line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end())
}

/// utime + stime of all the process's threads from /proc/PID/stat, in seconds: what the
/// issue's figures use, in 10 ms ticks (a run costs a few dozen), charged by sampling.
fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok((user + system) as f64 / CLOCK_TICKS_PER_SECOND),
        _ => Err(io::Error::other("unreadable /proc/PID/stat")),
    }
}

/// Time all the process's threads ran on a CPU, in seconds, from the scheduler's own
/// nanosecond count (/proc/PID/task/*/schedstat): exact, but without interrupt time.
fn scheduled_seconds(pid: u32) -> io::Result<f64> {
    let mut nanoseconds = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let schedstat = std::fs::read_to_string(task?.path().join("schedstat")).unwrap_or_default();
        nanoseconds += schedstat
            .split_whitespace()
            .next()
            .and_then(|field| field.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(nanoseconds as f64 / 1e9)
}

/// Voluntary plus involuntary context switches summed over the process's threads.
fn context_switches(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let status = std::fs::read_to_string(task?.path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Ok(total)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        clients: 100,
        seconds: 10.0,
        rounds: 6,
        ipcamd: PathBuf::from("target/release/ipcamd"),
        floor: PathBuf::from("target/release/examples/floor"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--clients" => options.clients = number(&value)? as usize,
            "--seconds" => options.seconds = number(&value)?,
            "--rounds" => options.rounds = number(&value)? as usize,
            "--ipcamd" => options.ipcamd = value.into(),
            "--floor" => options.floor = value.into(),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if options.clients == 0 || options.rounds == 0 || options.seconds <= 0.0 {
        return Err("--clients, --rounds and --seconds must be positive".into());
    }
    Ok(options)
}
