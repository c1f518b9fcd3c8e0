//! The real `ipcamd` binary under systemd's protocols, with the test playing the service
//! manager: it owns the `NOTIFY_SOCKET`, asks for watchdog pings, passes the listening
//! socket through `LISTEN_FDS`, and stops the service with SIGTERM while a viewer watches.
//! A first start without a password shows where the generated one is, never the password.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);
/// The administrator password the service is normally started with.
const PASSWORD: &str = "secret";

/// The daemon started as systemd starts a socket-activated `Type=notify` service.
struct Service {
    child: Child,
    notify: UnixDatagram,
    listener_addr: std::net::SocketAddr,
    /// The RTSP socket passed as the descriptor named `rtsp`, if any.
    rtsp_addr: Option<std::net::SocketAddr>,
    state_dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Service {
    /// Starts the service with `--admin-password` if given, else with none at all (so it
    /// generates one); its stdout and stderr are kept for [`Service::output`].
    fn start(admin_password: Option<&str>) -> Service {
        Self::launch(admin_password, false)
    }

    /// Like [`Service::start`]; with `rtsp`, a second socket is passed as descriptor 4
    /// named `rtsp`, as ipcamd-rtsp.socket does (`LISTEN_FDNAMES`).
    fn launch(admin_password: Option<&str>, rtsp: bool) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify.set_read_timeout(Some(DEADLINE)).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let listener_addr = listener.local_addr().unwrap();
        let listener_fd = listener.as_raw_fd();
        let rtsp_listener = rtsp.then(|| TcpListener::bind("127.0.0.1:0").unwrap());
        let rtsp_addr = rtsp_listener.as_ref().map(|l| l.local_addr().unwrap());
        let rtsp_fd = rtsp_listener.as_ref().map(|l| l.as_raw_fd());
        let mut command = Command::new("/bin/sh");
        // LISTEN_PID must be the daemon's own PID: the shell sets it to its PID, then execs
        // the daemon in its place, exactly what systemd does between fork and exec.
        command
            .arg("-c")
            .arg("LISTEN_PID=$$ exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_ipcamd"))
            .args(["--state-dir"])
            .arg(&state_dir)
            .args(["--log-level", "info"])
            .args(admin_password.iter().flat_map(|p| ["--admin-password", p]))
            .env_remove("IPCAMD_ADMIN_PASSWORD")
            .env_remove("RUST_LOG")
            .env("NOTIFY_SOCKET", &notify_path)
            .env("WATCHDOG_USEC", "200000")
            .env("LISTEN_FDS", if rtsp { "2" } else { "1" })
            .env(
                "LISTEN_FDNAMES",
                if rtsp {
                    "ipcamd.socket:rtsp"
                } else {
                    "ipcamd.socket"
                },
            )
            .env_remove("LISTEN_PID")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: only dup2, which is async-signal-safe, runs between fork and exec. The
        // copy on descriptor 3 has no close-on-exec flag, so it survives into the daemon.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(listener_fd, 3) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(fd) = rtsp_fd {
                    if libc::dup2(fd, 4) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn ipcamd");
        drop(listener);
        drop(rtsp_listener);
        Service {
            child,
            notify,
            listener_addr,
            rtsp_addr,
            state_dir,
            _dir: dir,
        }
    }

    /// The next notification other than a watchdog ping.
    fn next_event(&self) -> String {
        (0..50)
            .map(|_| self.next_notification())
            .find(|n| n != "WATCHDOG=1")
            .expect("a notification other than WATCHDOG=1")
    }

    /// Stops the service with SIGTERM and returns what it wrote on stdout and stderr.
    fn stop(mut self) -> (String, String) {
        // SAFETY: kill(2) on our own child's PID.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) },
            0
        );
        assert!(self.wait_exit(DEADLINE), "clean exit status");
        let mut stdout = String::new();
        let mut stderr = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (stdout, stderr)
    }

    /// The next notification the daemon sends.
    fn next_notification(&self) -> String {
        let mut buf = [0u8; 512];
        let len = self.notify.recv(&mut buf).expect("a notification in time");
        String::from_utf8_lossy(&buf[..len]).into_owned()
    }

    /// Waits for the process to exit and returns whether it exited successfully.
    fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("ipcamd did not exit within {within:?}");
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(addr: std::net::SocketAddr, path: &str) -> TcpStream {
    get_as(addr, path, PASSWORD)
}

/// `GET path` as `admin` with `password`.
fn get_as(addr: std::net::SocketAddr, path: &str, password: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let credentials = STANDARD.encode(format!("admin:{password}"));
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nAuthorization: Basic {credentials}\r\n\r\n"
    )
    .unwrap();
    stream
}

/// The status line of a whole reply.
fn status_line(mut stream: TcpStream) -> String {
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn notifies_pings_serves_the_passed_socket_and_drains_on_sigterm() {
    let mut service = Service::start(Some(PASSWORD));
    assert_eq!(service.next_notification(), "READY=1");
    assert_eq!(
        service.next_event(),
        format!("STATUS=serving on {}, source test", service.listener_addr)
    );
    for _ in 0..2 {
        assert_eq!(service.next_notification(), "WATCHDOG=1");
    }

    let mut reply = String::new();
    get(service.listener_addr, "/cgiversion.cgi")
        .read_to_string(&mut reply)
        .unwrap();
    assert!(reply.starts_with("HTTP/1.0 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\nCGIVersion=2\r\n"), "{reply}");

    let mut viewer = BufReader::new(get(service.listener_addr, "/mjpeg.cgi"));
    let mut status = String::new();
    viewer.read_line(&mut status).unwrap();
    assert_eq!(status, "HTTP/1.0 200 OK\r\n");

    let stopped_at = Instant::now();
    // SAFETY: kill(2) on our own child's PID.
    assert_eq!(
        unsafe { libc::kill(service.child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    assert_eq!(service.next_event(), "STOPPING=1");
    // The default drain bound is 5 s; the stream is closed at once, so well within it.
    assert!(
        service.wait_exit(Duration::from_secs(6)),
        "clean exit status"
    );
    assert!(stopped_at.elapsed() < Duration::from_secs(6));
    let mut rest = Vec::new();
    viewer
        .read_to_end(&mut rest)
        .expect("the stream ends with EOF, not a reset");
}

#[test]
fn the_socket_named_rtsp_serves_rtsp_and_the_other_http() {
    let service = Service::launch(Some(PASSWORD), true);
    assert_eq!(service.next_notification(), "READY=1");
    let rtsp_addr = service.rtsp_addr.unwrap();
    let mut rtsp = TcpStream::connect(rtsp_addr).unwrap();
    rtsp.set_read_timeout(Some(DEADLINE)).unwrap();
    let basic = STANDARD.encode(format!("admin:{PASSWORD}"));
    write!(
        rtsp,
        "OPTIONS rtsp://{rtsp_addr}/ RTSP/1.0\r\nCSeq: 7\r\nAuthorization: Basic {basic}\r\n\r\n"
    )
    .unwrap();
    let mut reply = BufReader::new(rtsp);
    let mut status = String::new();
    reply.read_line(&mut status).unwrap();
    assert_eq!(status, "RTSP/1.0 200 OK\r\n");
    assert!(status_line(get(service.listener_addr, "/cgiversion.cgi")).contains(" 200 "));
    let (_, stderr) = service.stop();
    assert!(
        stderr.contains(&format!("listening on rtsp://{rtsp_addr}/")),
        "{stderr}"
    );
}

#[test]
fn a_generated_password_is_only_in_a_private_file_and_never_printed() {
    let service = Service::start(None);
    assert_eq!(service.next_event(), "READY=1");
    let path = service.state_dir.join("initial-admin-password");
    let password = std::fs::read_to_string(&path).expect("the password file");
    let password = password.strip_suffix('\n').expect("one line");
    assert!(!password.is_empty());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only the service user may read it");

    assert_eq!(
        status_line(get_as(service.listener_addr, "/cgiversion.cgi", password)),
        "HTTP/1.0 200 OK",
        "the file holds the administrator's password"
    );
    assert_eq!(
        status_line(get_as(service.listener_addr, "/cgiversion.cgi", PASSWORD)),
        "HTTP/1.0 401 Unauthorized"
    );

    let (stdout, stderr) = service.stop();
    assert!(!stdout.contains(password), "stdout: {stdout}");
    assert!(!stderr.contains(password), "stderr: {stderr}");
    assert!(
        stdout.contains(&path.display().to_string()),
        "stdout: {stdout}"
    );
}
