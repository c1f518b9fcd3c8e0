//! Soak: a real `ipcamd` process under load and faults for a given time (`scripts/soak`).
//!
//! ```text
//! cargo run --release --example soak -- --ipcamd target/release/ipcamd --minutes 30 \
//!     [--viewers 100] [--clients 32] [--kill-every 240] [--steady-minutes 10]
//! ```
//!
//! What runs at once, all on 127.0.0.1:
//! - `--viewers` MJPEG viewers that reconnect whenever their stream ends;
//! - `--clients` keep-alive clients: one sets `CameraName=soakN` with N counting up (the
//!   ledger of acknowledged settings), four add and delete a user each, the rest read
//!   tables, take snapshots and change the image compression;
//! - a real FTP server and SMTP sink (ipcam-testkit) that the camera uploads to and mails
//!   on an always-on schedule, each going away for 30 s of every 90 s;
//! - `kill -9` of the camera every `--kill-every` seconds, then a restart, until the last
//!   `--steady-minutes`, which run without kills so memory can be watched.
//!
//! After every kill, with the clients parked, it checks what a user relies on: the last
//! acknowledged `CameraName` (or the one in flight) is what the camera reads back, each
//! user exists exactly as its last acknowledged change left it, the state loads, and every
//! viewer sees frames again. During the steady phase it samples the process's RSS and open
//! descriptors. It ends with a report, and exits non-zero if the camera crashed on its own,
//! a setting was lost or torn, a viewer did not resume, or RSS or descriptors grew.
//!
//! Only loopback is a target; every loop is bounded by the run's deadline.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ipcam_testkit::{free_port, ftp, smtp};

const ADMIN_PASSWORD: &str = "soakpass";
/// Users the user clients add and delete, one each.
const USER_CLIENTS: usize = 4;
/// How long viewers may take to see frames again after a restart.
const RESUME_DEADLINE: Duration = Duration::from_secs(30);
/// The part of the steady phase whose samples count as warm-up.
const WARM_UP: Duration = Duration::from_secs(60);
/// RSS growth between the first and the last third of the steady phase that counts as a
/// leak; below it is allocator noise (arena trimming, a few buffers resized).
const RSS_SLACK_KB: u64 = 512;
/// Descriptor growth that counts as a leak (clients reconnecting race the sample).
const FD_SLACK: usize = 4;
/// The FTP and SMTP servers are away for the first `SERVER_AWAY` of each `SERVER_CYCLE`.
const SERVER_CYCLE: Duration = Duration::from_secs(90);
const SERVER_AWAY: Duration = Duration::from_secs(30);

struct Options {
    ipcamd: PathBuf,
    run: Duration,
    viewers: usize,
    clients: usize,
    kill_every: Duration,
    steady: Duration,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("soak: {message}");
            return ExitCode::from(2);
        }
    };
    match Soak::new(&options).and_then(|soak| soak.run(&options)) {
        Ok(report) => {
            report.print();
            if report.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("soak: {err}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        ipcamd: PathBuf::from("target/release/ipcamd"),
        run: Duration::from_secs(30 * 60),
        viewers: 100,
        clients: 32,
        kill_every: Duration::from_secs(240),
        steady: Duration::from_secs(10 * 60),
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |text: String| {
            text.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, got {text:?}"))
        };
        match flag.as_str() {
            "--ipcamd" => options.ipcamd = PathBuf::from(value()?),
            "--minutes" => options.run = Duration::from_secs(60 * number(value()?)?),
            "--viewers" => options.viewers = number(value()?)? as usize,
            "--clients" => options.clients = number(value()?)? as usize,
            "--kill-every" => options.kill_every = Duration::from_secs(number(value()?)?),
            "--steady-minutes" => options.steady = Duration::from_secs(60 * number(value()?)?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if options.clients <= USER_CLIENTS {
        return Err(format!("--clients must be above {USER_CLIENTS}"));
    }
    if options.steady < 3 * WARM_UP || options.steady >= options.run {
        return Err("--steady-minutes must be at least 3 and less than --minutes".into());
    }
    Ok(options)
}

/// What the clients share with the fault driver.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Set by the driver around a kill; clients finish their request and wait.
    paused: AtomicBool,
    parked: AtomicU64,
    /// Milliseconds since the start at which each viewer last completed a frame.
    last_frame: Vec<AtomicU64>,
    frames: AtomicU64,
    requests: AtomicU64,
    /// The `CameraName=soakN` ledger: last acknowledged N and the N in flight.
    name_acked: AtomicU64,
    name_in_flight: AtomicU64,
    /// Per user client: whether its user exists after the last acknowledged change, and
    /// after the change in flight (equal when nothing is in flight).
    user_acked: Vec<AtomicU8>,
    user_in_flight: Vec<AtomicU8>,
}

impl Shared {
    fn millis(&self, start: Instant) -> u64 {
        start.elapsed().as_millis() as u64
    }

    /// Waits while the driver has the clients paused; false once the run stops.
    fn wait_while_paused(&self) -> bool {
        if self.paused.load(Ordering::Acquire) {
            self.parked.fetch_add(1, Ordering::AcqRel);
            while self.paused.load(Ordering::Acquire) && !self.stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(20));
            }
            self.parked.fetch_sub(1, Ordering::AcqRel);
        }
        !self.stop.load(Ordering::Relaxed)
    }
}

/// The camera process and where it keeps its state.
struct Camera {
    binary: PathBuf,
    address: SocketAddr,
    state_dir: PathBuf,
    log: PathBuf,
    child: Child,
}

impl Camera {
    fn start(binary: &Path, work: &Path) -> io::Result<Camera> {
        let address = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let state_dir = work.join("state");
        let log = work.join("ipcamd.log");
        let child = spawn(binary, address, &state_dir, &log)?;
        let camera = Camera {
            binary: binary.to_owned(),
            address,
            state_dir,
            log,
            child,
        };
        camera.wait_until_serving()?;
        Ok(camera)
    }

    fn kill_and_restart(&mut self) -> io::Result<Duration> {
        self.child.kill()?;
        self.child.wait()?;
        let started = Instant::now();
        self.child = spawn(&self.binary, self.address, &self.state_dir, &self.log)?;
        self.wait_until_serving()?;
        Ok(started.elapsed())
    }

    fn wait_until_serving(&self) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let mut http = match Http::connect(self.address) {
                Ok(http) => http,
                Err(_) => {
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if matches!(http.request("GET", "/image.jpg", ""), Ok((200, _))) {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(50));
        }
        Err(io::Error::other("the camera did not serve within 30 s"))
    }

    /// Whether the process ended by itself (a crash) since it was started.
    fn exited(&mut self) -> io::Result<Option<std::process::ExitStatus>> {
        self.child.try_wait()
    }

    fn rss_kb(&self) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    fn open_fds(&self) -> Option<usize> {
        Some(
            fs::read_dir(format!("/proc/{}/fd", self.child.id()))
                .ok()?
                .count(),
        )
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(binary: &Path, address: SocketAddr, state_dir: &Path, log: &Path) -> io::Result<Child> {
    let log = fs::OpenOptions::new().create(true).append(true).open(log)?;
    Command::new(binary)
        .arg("--listen")
        .arg(address.to_string())
        .arg("--state-dir")
        .arg(state_dir)
        .args(["--admin-password", ADMIN_PASSWORD, "--log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
}

/// A keep-alive HTTP/1.1 client with the administrator's login, enough for the CGIs.
struct Http {
    reader: BufReader<TcpStream>,
    authorization: String,
}

impl Http {
    fn connect(address: SocketAddr) -> io::Result<Http> {
        let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(15)))?;
        stream.set_write_timeout(Some(Duration::from_secs(15)))?;
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
        Ok(Http {
            reader: BufReader::new(stream),
            authorization: format!("Basic {token}"),
        })
    }

    /// Sends one request and reads the status and body of its answer.
    fn request(&mut self, method: &str, path: &str, form: &str) -> io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: camera\r\nAuthorization: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            self.authorization,
            form.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(form.as_bytes())?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
        let mut length = 0;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().map_err(io::Error::other)?;
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, body))
    }

    fn table(&mut self, path: &str) -> io::Result<String> {
        match self.request("GET", path, "")? {
            (200, body) => String::from_utf8(body).map_err(io::Error::other),
            (status, _) => Err(io::Error::other(format!("GET {path}: {status}"))),
        }
    }
}

/// Reads `/mjpeg.cgi` part by part until the stream ends, stamping each complete frame.
fn watch(address: SocketAddr, index: usize, shared: &Shared, start: Instant) -> io::Result<()> {
    let mut http = Http::connect(address)?;
    let request = format!(
        "GET /mjpeg.cgi HTTP/1.0\r\nAuthorization: {}\r\n\r\n",
        http.authorization
    );
    http.reader.get_mut().write_all(request.as_bytes())?;
    let mut line = String::new();
    let mut length = None;
    let mut frame = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        line.clear();
        if http.reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let text = line.trim_end();
        if let Some(value) = text.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        } else if text.is_empty() {
            if let Some(length) = length.take() {
                frame.resize(length, 0);
                http.reader.read_exact(&mut frame)?;
                shared.frames.fetch_add(1, Ordering::Relaxed);
                shared.last_frame[index].store(shared.millis(start), Ordering::Relaxed);
            }
        }
    }
    Ok(())
}

fn viewer(address: SocketAddr, index: usize, shared: Arc<Shared>, start: Instant) {
    while !shared.stop.load(Ordering::Relaxed) {
        if watch(address, index, &shared, start).is_err() {
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One configuration client's next request, by role and turn.
fn client(address: SocketAddr, index: usize, shared: Arc<Shared>) {
    let mut turn = 0u64;
    while shared.wait_while_paused() {
        let Ok(mut http) = Http::connect(address) else {
            thread::sleep(Duration::from_millis(100));
            continue;
        };
        while shared.wait_while_paused() {
            turn += 1;
            let done = match index {
                0 => set_camera_name(&mut http, &shared),
                i if i <= USER_CLIENTS => add_or_delete_user(&mut http, &shared, i - 1),
                _ => browse(&mut http, turn),
            };
            if done.is_err() {
                break;
            }
            shared.requests.fetch_add(1, Ordering::Relaxed);
            // A person-like pace: the point is faults under steady load, not throughput.
            thread::sleep(Duration::from_millis(50));
        }
    }
}

fn set_camera_name(http: &mut Http, shared: &Shared) -> io::Result<()> {
    let next = shared.name_acked.load(Ordering::Acquire) + 1;
    shared.name_in_flight.store(next, Ordering::Release);
    match http.request("POST", "/system.cgi", &format!("CameraName=soak{next}"))? {
        (200, _) => {
            shared.name_acked.store(next, Ordering::Release);
            Ok(())
        }
        (status, _) => Err(io::Error::other(format!("set CameraName: {status}"))),
    }
}

fn user_name(slot: usize) -> String {
    format!("soakuser{slot}")
}

fn add_or_delete_user(http: &mut Http, shared: &Shared, slot: usize) -> io::Result<()> {
    let present = shared.user_acked[slot].load(Ordering::Acquire) == 1;
    shared.user_in_flight[slot].store(u8::from(!present), Ordering::Release);
    let name = user_name(slot);
    let form = if present {
        format!("UserName={name}&UserDelete=Yes")
    } else {
        format!("UserName={name}&UserPassword=pw{slot}&UserPrivilege=0&UserAdd=Yes")
    };
    match http.request("POST", "/userlist.cgi", &form)? {
        (200, _) => {
            shared.user_acked[slot].store(u8::from(!present), Ordering::Release);
            Ok(())
        }
        (status, _) => Err(io::Error::other(format!("user {name}: {status}"))),
    }
}

fn browse(http: &mut Http, turn: u64) -> io::Result<()> {
    let (method, path, form) = match turn % 6 {
        0 => ("GET", "/image.jpg", String::new()),
        1 => ("GET", "/iocontrol.cgi", String::new()),
        2 => ("GET", "/system.cgi", String::new()),
        3 => ("GET", "/network.cgi", String::new()),
        4 => (
            "POST",
            "/image.cgi",
            format!("CompressionRate={}", turn % 5),
        ),
        _ => ("GET", "/userlist.cgi", String::new()),
    };
    match http.request(method, path, &form)? {
        (200 | 204, _) => Ok(()),
        (status, _) => Err(io::Error::other(format!("{method} {path}: {status}"))),
    }
}

/// The FTP server and SMTP sink the camera delivers to, and what they received.
struct Receivers {
    ftp_port: u16,
    smtp_port: u16,
    ftp: Option<ftp::Server>,
    smtp: Option<smtp::Sink>,
    uploads: usize,
    mails: usize,
    outages: usize,
}

impl Receivers {
    fn start() -> Receivers {
        let ftp = ftp::Server::start();
        let smtp = smtp::Sink::start();
        Receivers {
            ftp_port: ftp.port,
            smtp_port: smtp.port,
            ftp: Some(ftp),
            smtp: Some(smtp),
            uploads: 0,
            mails: 0,
            outages: 0,
        }
    }

    /// Away for the first [`SERVER_AWAY`] of every [`SERVER_CYCLE`], present otherwise.
    fn follow_schedule(&mut self, since_start: Duration) {
        let away = since_start.as_secs() % SERVER_CYCLE.as_secs() < SERVER_AWAY.as_secs();
        if away && self.ftp.is_some() {
            self.uploads += self.ftp.take().map_or(0, |s| s.files().len());
            self.mails += self.smtp.take().map_or(0, |s| s.messages().len());
            self.outages += 1;
        } else if !away && self.ftp.is_none() {
            self.ftp = Some(ftp::Server::start_on(self.ftp_port));
            self.smtp = Some(smtp::Sink::start_on(self.smtp_port));
        }
    }

    fn totals(&self) -> (usize, usize) {
        let ftp = self.ftp.as_ref().map_or(0, |s| s.files().len());
        let smtp = self.smtp.as_ref().map_or(0, |s| s.messages().len());
        (self.uploads + ftp, self.mails + smtp)
    }

    /// Always-on schedules: a picture every 2 s by FTP, one every 10 s by mail.
    fn settings(&self) -> [(&'static str, String); 2] {
        [
            (
                "/upload.cgi",
                format!(
                    "FTPHostAddress=127.0.0.1&FTPPortNumber={}&FTPUserName={}&FTPPassword={}\
                     &FTPDirectoryPath=/soak&FTPPassiveMode=1&FTPScheduleEnable=1\
                     &FTPScheduleMode=0&FTPScheduleVideoFrequencyMode=1\
                     &FTPScheduleSecondPerFrame=2&FTPScheduleFileMode=1",
                    self.ftp_port,
                    ftp::USER,
                    ftp::PASSWORD
                ),
            ),
            (
                "/email.cgi",
                format!(
                    "EmailSMTPServerAddress=127.0.0.1&EmailSMTPPortNumber={}\
                     &EmailSenderAddress=camera@example.com&EmailReceiverAddress=owner@example.com\
                     &EmailScheduleEnable=1&EmailScheduleMode=0&EmailScheduleInterval=10",
                    self.smtp_port
                ),
            ),
        ]
    }
}

/// One sample of the camera process.
#[derive(Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kb: u64,
    fds: usize,
}

#[derive(Default)]
struct Report {
    minutes: f64,
    kills: usize,
    restart_ms: Vec<u128>,
    resume_ms: Vec<u128>,
    frames: u64,
    requests: u64,
    names_acked: u64,
    user_changes_checked: usize,
    uploads: usize,
    mails: usize,
    outages: usize,
    steady: Vec<Sample>,
    failures: Vec<String>,
}

impl Report {
    fn print(&self) {
        let max = |v: &[u128]| v.iter().max().copied().unwrap_or(0);
        println!(
            "soak: {:.1} min, {} kill -9 + restart",
            self.minutes, self.kills
        );
        println!(
            "  restart to first snapshot: max {} ms; every viewer streaming again: max {} ms",
            max(&self.restart_ms),
            max(&self.resume_ms)
        );
        println!(
            "  frames to viewers: {}; CGI requests answered: {}; CameraName sets acknowledged: {}",
            self.frames, self.requests, self.names_acked
        );
        println!(
            "  after each kill: ledger and {} user states checked",
            self.user_changes_checked
        );
        println!(
            "  FTP uploads: {}, mails: {}, server outages: {}",
            self.uploads, self.mails, self.outages
        );
        if let (Some(first), Some(last)) = (self.steady.first(), self.steady.last()) {
            let rss = self.steady.iter().map(|s| s.rss_kb);
            let fds = self.steady.iter().map(|s| s.fds);
            println!(
                "  steady phase ({} samples, {:.0}-{:.0} s): RSS {}-{} KiB, open fds {}-{}",
                self.steady.len(),
                first.at.as_secs_f64(),
                last.at.as_secs_f64(),
                rss.clone().min().unwrap_or(0),
                rss.max().unwrap_or(0),
                fds.clone().min().unwrap_or(0),
                fds.max().unwrap_or(0)
            );
        }
        for failure in &self.failures {
            println!("  FAILED: {failure}");
        }
        println!(
            "soak: {}",
            if self.failures.is_empty() {
                "PASS"
            } else {
                "FAIL"
            }
        );
    }

    /// RSS and descriptors of the last third of the steady phase against its first third.
    fn judge_steady_phase(&mut self) {
        let warm: Vec<Sample> = match self.steady.first() {
            Some(first) => {
                let from = first.at + WARM_UP;
                self.steady
                    .iter()
                    .copied()
                    .filter(|s| s.at >= from)
                    .collect()
            }
            None => Vec::new(),
        };
        if warm.len() < 6 {
            self.failures
                .push(format!("only {} steady samples after warm-up", warm.len()));
            return;
        }
        let third = warm.len() / 3;
        let (early, late) = (&warm[..third], &warm[warm.len() - third..]);
        let peak = |s: &[Sample], f: fn(&Sample) -> u64| s.iter().map(f).max().unwrap_or(0);
        let (rss_early, rss_late) = (peak(early, |s| s.rss_kb), peak(late, |s| s.rss_kb));
        if rss_late > rss_early + RSS_SLACK_KB {
            self.failures
                .push(format!("RSS grew from {rss_early} to {rss_late} KiB"));
        }
        let (fds_early, fds_late) = (peak(early, |s| s.fds as u64), peak(late, |s| s.fds as u64));
        if fds_late > fds_early + FD_SLACK as u64 {
            self.failures.push(format!(
                "open descriptors grew from {fds_early} to {fds_late}"
            ));
        }
    }
}

/// Fields drop in order: the camera is killed before its state directory goes.
struct Soak {
    camera: Camera,
    _work: tempfile::TempDir,
    receivers: Receivers,
    shared: Arc<Shared>,
    start: Instant,
}

impl Soak {
    fn new(options: &Options) -> io::Result<Soak> {
        if !options.ipcamd.is_file() {
            return Err(io::Error::other(format!(
                "{} is not a file (build it: cargo build --release -p ipcamd)",
                options.ipcamd.display()
            )));
        }
        let work = tempfile::tempdir()?;
        let camera = Camera::start(&options.ipcamd, work.path())?;
        let receivers = Receivers::start();
        let mut http = Http::connect(camera.address)?;
        for (path, form) in receivers.settings() {
            let (status, body) = http.request("POST", path, &form)?;
            if status != 200 {
                let reason = String::from_utf8_lossy(&body).into_owned();
                return Err(io::Error::other(format!("{path}: {status} {reason}")));
            }
        }
        let shared = Arc::new(Shared {
            last_frame: (0..options.viewers).map(|_| AtomicU64::new(0)).collect(),
            user_acked: (0..USER_CLIENTS).map(|_| AtomicU8::new(0)).collect(),
            user_in_flight: (0..USER_CLIENTS).map(|_| AtomicU8::new(0)).collect(),
            ..Shared::default()
        });
        Ok(Soak {
            camera,
            _work: work,
            receivers,
            shared,
            start: Instant::now(),
        })
    }

    fn run(mut self, options: &Options) -> io::Result<Report> {
        let address = self.camera.address;
        let mut threads = Vec::new();
        for index in 0..options.viewers {
            let (shared, start) = (Arc::clone(&self.shared), self.start);
            threads.push(thread::spawn(move || viewer(address, index, shared, start)));
        }
        for index in 0..options.clients {
            let shared = Arc::clone(&self.shared);
            threads.push(thread::spawn(move || client(address, index, shared)));
        }
        let mut report = Report::default();
        let steady_from = options.run - options.steady;
        let mut next_kill = options.kill_every.min(steady_from);
        let mut next_sample = Duration::ZERO;
        while self.start.elapsed() < options.run {
            thread::sleep(Duration::from_millis(250));
            let now = self.start.elapsed();
            self.receivers.follow_schedule(now);
            if let Some(status) = self.camera.exited()? {
                report
                    .failures
                    .push(format!("ipcamd exited by itself ({status}) at {now:?}"));
                self.camera.kill_and_restart()?;
            }
            if now >= next_kill && now < steady_from {
                self.kill_and_check(&mut report, options)?;
                next_kill += options.kill_every;
            }
            if now >= steady_from && now >= next_sample {
                if let (Some(rss_kb), Some(fds)) = (self.camera.rss_kb(), self.camera.open_fds()) {
                    report.steady.push(Sample {
                        at: now,
                        rss_kb,
                        fds,
                    });
                }
                next_sample = now + Duration::from_secs(5);
            }
        }
        self.check_viewers_streaming(&mut report, options.viewers, Duration::from_secs(10));
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in threads {
            let _ = thread.join();
        }
        report.minutes = self.start.elapsed().as_secs_f64() / 60.0;
        report.frames = self.shared.frames.load(Ordering::Relaxed);
        report.requests = self.shared.requests.load(Ordering::Relaxed);
        report.names_acked = self.shared.name_acked.load(Ordering::Relaxed);
        (report.uploads, report.mails) = self.receivers.totals();
        report.outages = self.receivers.outages;
        if report.uploads == 0 || report.mails == 0 {
            report.failures.push("no upload or no mail arrived".into());
        }
        report.judge_steady_phase();
        Ok(report)
    }

    /// kill -9 with requests in flight, restart, and check with the clients parked.
    fn kill_and_check(&mut self, report: &mut Report, options: &Options) -> io::Result<()> {
        self.shared.paused.store(true, Ordering::Release);
        let restart = self.camera.kill_and_restart()?;
        report.kills += 1;
        report.restart_ms.push(restart.as_millis());
        let resumed_from = self.shared.millis(self.start);
        self.wait_for_parked_clients(options.clients);
        let mut http = Http::connect(self.camera.address)?;
        self.check_ledger(&mut http, report)?;
        self.check_users(&mut http, report)?;
        self.shared.paused.store(false, Ordering::Release);
        let waited = Instant::now();
        self.wait_for_viewers(resumed_from, options.viewers, report);
        report
            .resume_ms
            .push(waited.elapsed().as_millis() + restart.as_millis());
        Ok(())
    }

    /// Waits until every client has seen the pause, so none changes what is checked.
    fn wait_for_parked_clients(&self, clients: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while (self.shared.parked.load(Ordering::Acquire) as usize) < clients
            && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn check_ledger(&self, http: &mut Http, report: &mut Report) -> io::Result<()> {
        let acked = self.shared.name_acked.load(Ordering::Acquire);
        let in_flight = self.shared.name_in_flight.load(Ordering::Acquire);
        let table = http.table("/system.cgi")?;
        let stored = table
            .lines()
            .find_map(|l| l.strip_prefix("CameraName=soak"))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        if stored != acked && stored != in_flight {
            report.failures.push(format!(
                "CameraName is soak{stored} after a kill; acknowledged soak{acked}, in flight soak{in_flight}"
            ));
        }
        // The client continues from what the camera has.
        self.shared.name_acked.store(stored, Ordering::Release);
        Ok(())
    }

    fn check_users(&self, http: &mut Http, report: &mut Report) -> io::Result<()> {
        let table = http.table("/userlist.cgi")?;
        for slot in 0..self.shared.user_acked.len() {
            let name = user_name(slot);
            let stored = table
                .lines()
                .any(|l| l.split('=').nth(1) == Some(name.as_str()));
            let acked = self.shared.user_acked[slot].load(Ordering::Acquire) == 1;
            let in_flight = self.shared.user_in_flight[slot].load(Ordering::Acquire) == 1;
            if stored != acked && stored != in_flight {
                report.failures.push(format!(
                    "user {name} {} after a kill; its acknowledged change left it {}",
                    if stored { "exists" } else { "is missing" },
                    if acked { "present" } else { "absent" }
                ));
            }
            self.shared.user_acked[slot].store(u8::from(stored), Ordering::Release);
            report.user_changes_checked += 1;
        }
        Ok(())
    }

    fn wait_for_viewers(&self, since_ms: u64, viewers: usize, report: &mut Report) {
        let deadline = Instant::now() + RESUME_DEADLINE;
        loop {
            let behind = self.viewers_without_frames_since(since_ms);
            if behind == 0 {
                return;
            }
            if Instant::now() >= deadline {
                report.failures.push(format!(
                    "{behind} of {viewers} viewers saw no frame within {RESUME_DEADLINE:?} of a restart"
                ));
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn check_viewers_streaming(&self, report: &mut Report, viewers: usize, window: Duration) {
        let since = self
            .shared
            .millis(self.start)
            .saturating_sub(window.as_millis() as u64);
        let behind = self.viewers_without_frames_since(since);
        if behind > 0 {
            report.failures.push(format!(
                "{behind} of {viewers} viewers got no frame in the last {window:?}"
            ));
        }
    }

    fn viewers_without_frames_since(&self, since_ms: u64) -> usize {
        self.shared
            .last_frame
            .iter()
            .filter(|at| at.load(Ordering::Relaxed) <= since_ms)
            .count()
    }
}
