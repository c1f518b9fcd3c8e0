//! Helpers shared by the black-box tests: a raw HTTP/1.x client over real TCP, and
//! polling with a deadline instead of sleeping.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use base64::Engine as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long any single wait in a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Connects with read/write timeouts so that a hung server fails the test instead of
/// hanging it.
/// With `RUST_LOG` set, the daemon's log goes to the output of the test that started the
/// camera (shown when it fails, or always with `--nocapture`); without it tests stay quiet.
fn show_log_when_asked() {
    if std::env::var_os("RUST_LOG").is_some() {
        // A second camera in the same process finds the logger already set: fine.
        let _ = env_logger::builder().is_test(true).try_init();
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// Reads one response (head, then a `Content-Length` body; a HEAD answer has none).
pub fn read_reply(reader: &mut impl BufRead, head_request: bool) -> Reply {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status_line = status_line.trim_end().to_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("header has a colon");
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut reply = Reply {
        status_line,
        status,
        headers,
        body: Vec::new(),
    };
    if let (false, Some(length)) = (head_request, reply.header("Content-Length")) {
        let mut body = vec![0; length.parse().expect("numeric Content-Length")];
        reader.read_exact(&mut body).expect("body");
        reply.body = body;
    }
    reply
}

/// Sends raw bytes on a new connection and reads one response.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = connect(addr);
    stream.write_all(raw).unwrap();
    read_reply(&mut BufReader::new(stream), raw.starts_with(b"HEAD"))
}

/// `GET path` over HTTP/1.0, optionally with Basic credentials.
pub fn get(addr: SocketAddr, path: &str, credentials: Option<(&str, &str)>) -> Reply {
    exchange(addr, request("GET", path, credentials, "").as_bytes())
}

/// `POST path` with a form body over HTTP/1.0.
pub fn post(addr: SocketAddr, path: &str, credentials: Option<(&str, &str)>, body: &str) -> Reply {
    exchange(addr, request("POST", path, credentials, body).as_bytes())
}

/// An HTTP/1.0 request as old camera clients send it.
pub fn request(method: &str, path: &str, credentials: Option<(&str, &str)>, body: &str) -> String {
    let mut text = format!("{method} {path} HTTP/1.0\r\n");
    if let Some((user, password)) = credentials {
        text += &format!("Authorization: Basic {}\r\n", basic(user, password));
    }
    if method == "POST" {
        text += &format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    text + "\r\n" + body
}

/// The base64 of `user:password`, as a Basic `Authorization` header carries it.
pub fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Polls `check` until it returns `Some` or the deadline passes.
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether the server has closed `stream`: reads until EOF, an error, or the deadline.
pub fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + DEADLINE;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

/// The administrator password every test camera starts with.
pub const ADMIN_PASSWORD: &str = "secret";
/// Admin credentials for the helpers above.
pub const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));

/// An in-process camera on 127.0.0.1, port 0, with its own state directory; stopped and
/// joined on drop.
pub struct TestCamera {
    pub daemon: Option<ipcamd::Daemon>,
    pub addr: SocketAddr,
    pub state_dir: std::path::PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl TestCamera {
    /// A camera with the embedded default configuration.
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// A camera whose configuration `tweak` adjusts first.
    pub fn start_with(tweak: impl FnOnce(&mut ipcamd::config::Config)) -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_owned();
        let mut camera = Self::start_in(&dir, tweak);
        camera._temp = Some(temp);
        camera
    }

    /// A camera on an existing state directory (for restart tests).
    pub fn start_in(
        state_dir: &std::path::Path,
        tweak: impl FnOnce(&mut ipcamd::config::Config),
    ) -> Self {
        show_log_when_asked();
        let mut config = ipcamd::config::Config {
            state_dir: state_dir.to_owned(),
            ..Default::default()
        };
        // Tests that want WS-Discovery turn it on, on a port of their own.
        config.onvif.discovery = false;
        // Tests that want SSDP turn it on (UPnPEnable=1 would announce on 1900 of lo).
        config.upnp.ssdp = false;
        // Any free port: tests run side by side, and each camera serves RTSP.
        config.rtsp.port = 0;
        // A camera on the Linux platform backend writes its OS files here, never to /etc.
        let system_dir = state_dir.join("system");
        std::fs::create_dir_all(&system_dir).expect("system config dir");
        config.platform.config_dir = system_dir;
        // DDNS updates go nowhere off this machine: a loopback port nothing listens on
        // (discard, privileged), whatever provider a test picks (tests/ddns.rs sets its own).
        config.ddns.server = "http://127.0.0.1:9".into();
        tweak(&mut config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let options = ipcamd::StartOptions {
            admin_password: Some(ADMIN_PASSWORD.into()),
            ..Default::default()
        };
        let daemon = ipcamd::Daemon::start(&config, vec![listener], options).expect("start");
        TestCamera {
            daemon: Some(daemon),
            addr,
            state_dir: state_dir.to_owned(),
            _temp: None,
        }
    }

    pub fn daemon(&self) -> &ipcamd::Daemon {
        self.daemon.as_ref().expect("running")
    }

    /// Stops the camera and waits for it, keeping the state directory.
    pub fn stop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.shutdown();
            daemon.join().expect("clean stop");
        }
    }

    pub fn get(&self, path: &str, credentials: Option<(&str, &str)>) -> Reply {
        get(self.addr, path, credentials)
    }

    pub fn post(&self, path: &str, credentials: Option<(&str, &str)>, body: &str) -> Reply {
        post(self.addr, path, credentials, body)
    }
}

impl Drop for TestCamera {
    fn drop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.shutdown();
            let _ = daemon.join();
        }
    }
}

/// `Name=value` lines of a CGI body, in order.
pub fn table(reply: &Reply) -> Vec<(String, String)> {
    reply
        .text()
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap_or((line, ""));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// Percent-encodes a form name or value as a browser does, so that `+`, `&`, `=`, spaces,
/// CR/LF and non-ASCII characters arrive as sent.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out += &format!("%{byte:02X}");
        }
    }
    out
}

/// `a=1&b=2` from pairs, every name and value percent-encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of `name` in a parsed table.
pub fn value_of<'t>(table: &'t [(String, String)], name: &str) -> Option<&'t str> {
    table
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// One part of `/mjpeg.cgi` as spec 4.1.2 lays it out.
pub struct MjpegPart {
    /// The value of the `Date:` line: `yyyy-mm-dd hh:mm:ss IO_xxxxxxxx_PT_ppp_ttt`.
    pub date: String,
    /// The JPEG, exactly `Content-Length` bytes.
    pub jpeg: Vec<u8>,
}

/// A `/mjpeg.cgi` viewer that checks every line of the stream against spec 4.1.2.
pub struct MjpegStream {
    reader: BufReader<TcpStream>,
}

impl MjpegStream {
    /// Opens the stream over HTTP/1.0 and checks the response head.
    pub fn open(addr: SocketAddr, credentials: Option<(&str, &str)>) -> Self {
        Self::open_path(addr, "/mjpeg.cgi", credentials)
    }

    /// Opens the stream at `path` (an alias of `/mjpeg.cgi`) and checks the response head.
    pub fn open_path(addr: SocketAddr, path: &str, credentials: Option<(&str, &str)>) -> Self {
        let mut stream = connect(addr);
        stream
            .write_all(request("GET", path, credentials, "").as_bytes())
            .unwrap();
        let mut reader = BufReader::new(stream);
        let head = read_reply(&mut reader, true);
        assert_eq!(head.status_line, "HTTP/1.0 200 OK");
        assert_eq!(
            head.header("Content-Type"),
            Some("multipart/x-mixed-replace;boundary=--video boundary--")
        );
        assert_eq!(head.header("Content-Length"), None);
        MjpegStream { reader }
    }

    /// Whether the server ends the stream (within the deadline), whatever parts were
    /// still on their way.
    pub fn ended_by_server(&mut self) -> bool {
        closed_by_server(self.reader.get_mut())
    }

    /// One CRLF-terminated line, without the CRLF.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a part line");
        line.strip_suffix("\r\n")
            .unwrap_or_else(|| panic!("line not ended by CRLF: {line:?}"))
            .to_owned()
    }

    /// The next part: boundary, `Content-Length`, `Date`, `Content-Type`, blank line, the
    /// JPEG of that length, CRLF CRLF — in exactly that order.
    pub fn next_part(&mut self) -> MjpegPart {
        assert_eq!(self.line(), "--video boundary--");
        let length = self.line();
        let length: usize = length
            .strip_prefix("Content-Length: ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("Content-Length expected, got {length:?}"));
        let date = self.line();
        let date = date
            .strip_prefix("Date: ")
            .unwrap_or_else(|| panic!("Date expected, got {date:?}"))
            .to_owned();
        assert_eq!(self.line(), "Content-Type: image/jpeg");
        assert_eq!(self.line(), "");
        let mut jpeg = vec![0; length];
        self.reader.read_exact(&mut jpeg).expect("the JPEG");
        assert!(
            jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]),
            "a whole JPEG of Content-Length bytes"
        );
        let mut trailer = [0; 4];
        self.reader.read_exact(&mut trailer).expect("the trailer");
        assert_eq!(&trailer, b"\r\n\r\n");
        MjpegPart { date, jpeg }
    }
}

/// Width and height of a JPEG that decodes completely, `None` for anything else.
pub fn jpeg_size(jpeg: &[u8]) -> Option<(u16, u16)> {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    decoder.decode().ok()?;
    decoder.info().map(|info| (info.width, info.height))
}
