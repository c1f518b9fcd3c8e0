//! What the black-box tests of ipcam-events share: a camera stand-in (the capture ring
//! filled with the synthetic test pattern), a real FTP server (libunftp with its file
//! system backend) and a small SMTP sink, all on 127.0.0.1, and polling with a deadline.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use chrono::NaiveDate;
use ipcam_capture::ring::{self, Publisher};
use ipcam_capture::source::TestPattern;
use ipcam_capture::{Frame, FrameSource, ImageSettings, Resolution, RingReader};

/// Polls `check` until it returns `Some`, failing the test after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A port on 127.0.0.1 that nothing listens on (until a test starts a server there).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The wall-clock instant of a camera-local time, for a camera in UTC.
pub fn utc(date: (i32, u32, u32), time: (u32, u32, u32)) -> SystemTime {
    let local = NaiveDate::from_ymd_opt(date.0, date.1, date.2)
        .and_then(|d| d.and_hms_opt(time.0, time.1, time.2))
        .expect("valid date and time");
    SystemTime::UNIX_EPOCH + Duration::from_secs(local.and_utc().timestamp() as u64)
}

/// The capture ring with frames of the synthetic test pattern, published on demand.
pub struct Camera {
    publisher: Mutex<(Publisher, TestPattern)>,
    reader: RingReader,
}

impl Camera {
    /// A camera that has published one 160×120 frame.
    pub fn new() -> Arc<Camera> {
        let (publisher, reader) = ring::ring(8);
        let mut pattern = TestPattern::new();
        let settings = ImageSettings {
            resolution: Resolution::Qqvga,
            ..ImageSettings::default()
        };
        pattern.apply(&settings).expect("pattern takes settings");
        let camera = Arc::new(Camera {
            publisher: Mutex::new((publisher, pattern)),
            reader,
        });
        camera.capture();
        camera
    }

    /// Publishes a new frame and returns it.
    pub fn capture(&self) -> Frame {
        let mut guard = self.publisher.lock().expect("camera lock");
        let (publisher, pattern) = &mut *guard;
        let mut slot = publisher.claim().expect("a free slot");
        let info = pattern.next_frame(slot.jpeg_mut()).expect("pattern frame");
        slot.publish(info.width, info.height, info.captured_at, |_, _, _| {})
    }

    /// The read side, as the daemon would pass it.
    pub fn reader(&self) -> RingReader {
        self.reader.clone()
    }
}

/// Asserts that `bytes` is a JPEG that decodes to `width`×`height`.
pub fn assert_jpeg(bytes: &[u8], width: u16, height: u16) {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.decode().expect("a decodable JPEG");
    let info = decoder.info().expect("JPEG info");
    assert_eq!((info.width, info.height), (width, height));
}

/// Lists the files under `root` (relative paths, sorted), directories excluded.
pub fn files_under(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

pub mod ftp {
    //! libunftp on 127.0.0.1 with a file system root, one user, active and passive mode,
    //! and a switch that makes the disk "full".

    use super::*;
    use async_trait::async_trait;
    use libunftp::options::ActivePassiveMode;
    use libunftp::ServerBuilder;
    use unftp_core::auth::{
        AuthenticationError, Authenticator, Credentials, DefaultUser, Principal,
    };
    use unftp_core::storage::{Error, ErrorKind, Fileinfo, Result, StorageBackend};
    use unftp_sbe_fs::{Filesystem, Meta};

    /// The only account: user `camera`, password `secret-pw`.
    pub const USER: &str = "camera";
    /// Its password.
    pub const PASSWORD: &str = "secret-pw";

    /// A running FTP server; stops when dropped.
    pub struct Server {
        pub port: u16,
        pub root: tempfile::TempDir,
        full: Arc<AtomicBool>,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Server {
        /// Starts a server on a free port, taking active and passive mode.
        pub fn start() -> Server {
            Server::start_on(free_port())
        }

        /// Starts a server that takes only passive (`PASV`) or only active (`PORT`) mode.
        pub fn start_only(passive: bool) -> Server {
            let mode = if passive {
                ActivePassiveMode::PassiveOnly
            } else {
                ActivePassiveMode::ActiveOnly
            };
            Server::start_with(free_port(), mode)
        }

        /// Starts a server on `port` of 127.0.0.1.
        pub fn start_on(port: u16) -> Server {
            Server::start_with(port, ActivePassiveMode::ActiveAndPassive)
        }

        fn start_with(port: u16, mode: ActivePassiveMode) -> Server {
            let root = tempfile::tempdir().expect("server root");
            let full = Arc::new(AtomicBool::new(false));
            let listener = TcpListener::bind(("127.0.0.1", port)).expect("FTP port");
            listener.set_nonblocking(true).expect("nonblocking");
            let (stop, stopped) = tokio::sync::oneshot::channel();
            let root_path = root.path().to_path_buf();
            let disk_full = Arc::clone(&full);
            let thread =
                std::thread::spawn(move || serve(listener, root_path, disk_full, mode, stopped));
            Server {
                port,
                root,
                full,
                stop: Some(stop),
                thread: Some(thread),
            }
        }

        /// Makes every store fail with 452 (insufficient storage) while `full`.
        pub fn set_full(&self, full: bool) {
            self.full.store(full, Ordering::Relaxed);
        }

        /// Files received so far, relative to the server root.
        pub fn files(&self) -> Vec<String> {
            files_under(self.root.path())
        }

        /// The content of a received file.
        pub fn read(&self, relative: &str) -> Vec<u8> {
            std::fs::read(self.root.path().join(relative)).expect("received file")
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    fn serve(
        listener: TcpListener,
        root: PathBuf,
        full: Arc<AtomicBool>,
        mode: ActivePassiveMode,
        mut stopped: tokio::sync::oneshot::Receiver<()>,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            loop {
                let stream = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => continue,
                    },
                    _ = &mut stopped => break,
                };
                let root = root.clone();
                let full = Arc::clone(&full);
                let server = ServerBuilder::with_authenticator(
                    Box::new(move || Quota {
                        inner: Filesystem::new(root.clone()).expect("fs backend"),
                        full: Arc::clone(&full),
                    }),
                    Arc::new(OneUser),
                )
                .active_passive_mode(mode)
                .build()
                .expect("server");
                tokio::spawn(async move {
                    let _ = server.service(stream).await;
                });
            }
        });
    }

    #[derive(Debug)]
    struct OneUser;

    #[async_trait]
    impl Authenticator for OneUser {
        async fn authenticate(
            &self,
            username: &str,
            creds: &Credentials,
        ) -> std::result::Result<Principal, AuthenticationError> {
            if username == USER && creds.password.as_deref() == Some(PASSWORD) {
                Ok(Principal {
                    username: username.to_owned(),
                })
            } else {
                Err(AuthenticationError::BadPassword)
            }
        }
    }

    /// The file system backend, with a disk that can be made full.
    #[derive(Debug)]
    struct Quota {
        inner: Filesystem,
        full: Arc<AtomicBool>,
    }

    #[async_trait]
    impl StorageBackend<DefaultUser> for Quota {
        type Metadata = Meta;

        fn enter(&mut self, user: &DefaultUser) -> std::io::Result<()> {
            StorageBackend::<DefaultUser>::enter(&mut self.inner, user)
        }

        fn supported_features(&self) -> u32 {
            StorageBackend::<DefaultUser>::supported_features(&self.inner)
        }

        async fn metadata<P: AsRef<Path> + Send + std::fmt::Debug>(
            &self,
            user: &DefaultUser,
            path: P,
        ) -> Result<Meta> {
            self.inner.metadata(user, path).await
        }

        async fn list<P: AsRef<Path> + Send + std::fmt::Debug>(
            &self,
            user: &DefaultUser,
            path: P,
        ) -> Result<Vec<Fileinfo<PathBuf, Meta>>> {
            self.inner.list(user, path).await
        }

        async fn get<P: AsRef<Path> + Send + std::fmt::Debug>(
            &self,
            user: &DefaultUser,
            path: P,
            start_pos: u64,
        ) -> Result<Box<dyn tokio::io::AsyncRead + Send + Sync + Unpin>> {
            self.inner.get(user, path, start_pos).await
        }

        async fn put<
            P: AsRef<Path> + Send + std::fmt::Debug,
            R: tokio::io::AsyncRead + Send + Sync + Unpin + 'static,
        >(
            &self,
            user: &DefaultUser,
            input: R,
            path: P,
            start_pos: u64,
        ) -> Result<u64> {
            if self.full.load(Ordering::Relaxed) {
                return Err(Error::from(ErrorKind::InsufficientStorageSpaceError));
            }
            self.inner.put(user, input, path, start_pos).await
        }

        async fn del<P: AsRef<Path> + Send + std::fmt::Debug>(
            &self,
            user: &DefaultUser,
            path: P,
        ) -> Result<()> {
            self.inner.del(user, path).await
        }

        async fn mkd<P: AsRef<Path> + Send + std::fmt::Debug>(
            &self,
            user: &DefaultUser,
            path: P,
        ) -> Result<()> {
            self.inner.mkd(user, path).await
        }

        async fn rename<P: AsRef<Path> + Send + std::fmt::Debug>(
            &self,
            user: &DefaultUser,
            from: P,
            to: P,
        ) -> Result<()> {
            self.inner.rename(user, from, to).await
        }

        async fn rmd<P: AsRef<Path> + Send + std::fmt::Debug>(
            &self,
            user: &DefaultUser,
            path: P,
        ) -> Result<()> {
            self.inner.rmd(user, path).await
        }

        async fn cwd<P: AsRef<Path> + Send + std::fmt::Debug>(
            &self,
            user: &DefaultUser,
            path: P,
        ) -> Result<()> {
            self.inner.cwd(user, path).await
        }
    }
}

pub mod smtp {
    //! An SMTP sink on 127.0.0.1 speaking just enough RFC 5321 for a client: EHLO with
    //! AUTH PLAIN/LOGIN (no STARTTLS), MAIL, RCPT, DATA, RSET, NOOP, QUIT. It keeps every
    //! message it accepts, and can be told to refuse logins or be out of space.

    use super::*;

    /// The account the sink accepts when it requires a login.
    pub const USER: &str = "cam@example.com";
    /// Its password.
    pub const PASSWORD: &str = "mail-secret";

    /// A message as received.
    #[derive(Debug, Clone)]
    pub struct Received {
        pub from: String,
        pub to: Vec<String>,
        pub authenticated_as: Option<String>,
        pub data: Vec<u8>,
    }

    #[derive(Default)]
    struct Shared {
        messages: Mutex<Vec<Received>>,
        require_login: AtomicBool,
        full: AtomicBool,
        stop: AtomicBool,
    }

    /// A running SMTP sink; stops when dropped.
    pub struct Sink {
        pub port: u16,
        shared: Arc<Shared>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Sink {
        /// Starts a sink on a free port.
        pub fn start() -> Sink {
            Sink::start_on(free_port())
        }

        /// Starts a sink on `port` of 127.0.0.1.
        pub fn start_on(port: u16) -> Sink {
            let listener = TcpListener::bind(("127.0.0.1", port)).expect("SMTP port");
            let shared = Arc::new(Shared::default());
            let accepting = Arc::clone(&shared);
            let thread = std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if accepting.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let session = Arc::clone(&accepting);
                        std::thread::spawn(move || {
                            let _ = converse(stream, &session);
                        });
                    }
                }
            });
            Sink {
                port,
                shared,
                thread: Some(thread),
            }
        }

        /// Requires AUTH with [`USER`]/[`PASSWORD`] before MAIL.
        pub fn require_login(&self) {
            self.shared.require_login.store(true, Ordering::Relaxed);
        }

        /// Answers the end of DATA with 452 (insufficient system storage) while `full`.
        pub fn set_full(&self, full: bool) {
            self.shared.full.store(full, Ordering::Relaxed);
        }

        /// Messages received so far.
        pub fn messages(&self) -> Vec<Received> {
            self.shared.messages.lock().expect("sink lock").clone()
        }
    }

    impl Drop for Sink {
        fn drop(&mut self) {
            self.shared.stop.store(true, Ordering::Relaxed);
            // Wakes the accept loop so it sees the stop flag.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    fn converse(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        let mut reply = |text: &str| writer.write_all(format!("{text}\r\n").as_bytes());
        reply("220 sink.test ESMTP ready")?;
        let mut from = String::new();
        let mut to = Vec::new();
        let mut user = None;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let command = line.trim_end();
            let verb = command
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            match verb.as_str() {
                "EHLO" | "HELO" => {
                    reply("250-sink.test greets you")?;
                    reply("250-AUTH PLAIN LOGIN")?;
                    reply("250 8BITMIME")?;
                }
                "AUTH" => {
                    let login = authenticate(command, &mut reader, &mut reply)?;
                    match login {
                        Some((name, password)) if name == USER && password == PASSWORD => {
                            user = Some(name);
                            reply("235 2.7.0 Authentication successful")?;
                        }
                        _ => reply("535 5.7.8 Authentication credentials invalid")?,
                    }
                }
                "MAIL" => {
                    if shared.require_login.load(Ordering::Relaxed) && user.is_none() {
                        reply("530 5.7.0 Authentication required")?;
                    } else {
                        from = address_in(command);
                        to.clear();
                        reply("250 OK")?;
                    }
                }
                "RCPT" => {
                    to.push(address_in(command));
                    reply("250 OK")?;
                }
                "DATA" => {
                    reply("354 End data with <CR><LF>.<CR><LF>")?;
                    let data = read_data(&mut reader)?;
                    if shared.full.load(Ordering::Relaxed) {
                        reply("452 4.3.1 Insufficient system storage")?;
                    } else {
                        shared.messages.lock().expect("sink lock").push(Received {
                            from: from.clone(),
                            to: to.clone(),
                            authenticated_as: user.clone(),
                            data,
                        });
                        reply("250 OK queued")?;
                    }
                }
                "RSET" | "NOOP" => reply("250 OK")?,
                "QUIT" => {
                    reply("221 Bye")?;
                    return Ok(());
                }
                _ => reply("502 Command not implemented")?,
            }
        }
    }

    /// Handles AUTH PLAIN (initial response or not) and AUTH LOGIN.
    fn authenticate(
        command: &str,
        reader: &mut impl BufRead,
        reply: &mut impl FnMut(&str) -> std::io::Result<()>,
    ) -> std::io::Result<Option<(String, String)>> {
        let mut words = command.split_whitespace().skip(1);
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        let mut next_line = |reply: &mut dyn FnMut(&str) -> std::io::Result<()>,
                             prompt: &str|
         -> std::io::Result<String> {
            reply(prompt)?;
            let mut answer = String::new();
            reader.read_line(&mut answer)?;
            Ok(answer.trim_end().to_owned())
        };
        let decode = |text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
        };
        Ok(match mechanism.as_str() {
            "PLAIN" => {
                let initial = match words.next() {
                    Some(initial) => initial.to_owned(),
                    None => next_line(reply, "334 ")?,
                };
                decode(&initial).and_then(|plain| {
                    let mut parts = plain.split('\0').skip(1);
                    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
                })
            }
            "LOGIN" => {
                let name = next_line(reply, "334 VXNlcm5hbWU6")?;
                let password = next_line(reply, "334 UGFzc3dvcmQ6")?;
                decode(&name).zip(decode(&password))
            }
            _ => None,
        })
    }

    fn address_in(command: &str) -> String {
        let start = command.find('<').map_or(0, |i| i + 1);
        let end = command.rfind('>').unwrap_or(command.len());
        command.get(start..end).unwrap_or("").to_owned()
    }

    /// Reads DATA up to the lone dot, undoing dot-stuffing.
    fn read_data(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
        let mut data = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == b".\r\n" {
                return Ok(data);
            }
            let unstuffed = if line.starts_with(b"..") {
                &line[1..]
            } else {
                &line[..]
            };
            data.extend_from_slice(unstuffed);
        }
    }
}
