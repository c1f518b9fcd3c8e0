//! The real `ipcamd` binary under systemd's protocols, with the test playing the service
//! manager: it owns the `NOTIFY_SOCKET`, asks for watchdog pings, passes the listening
//! socket through `LISTEN_FDS`, and stops the service with SIGTERM while a viewer watches.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);
/// `base64("admin:secret")`.
const BASIC: &str = "YWRtaW46c2VjcmV0";

/// The daemon started as systemd starts a socket-activated `Type=notify` service.
struct Service {
    child: Child,
    notify: UnixDatagram,
    listener_addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl Service {
    fn start() -> Service {
        let dir = tempfile::tempdir().unwrap();
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify.set_read_timeout(Some(DEADLINE)).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let listener_addr = listener.local_addr().unwrap();
        let listener_fd = listener.as_raw_fd();
        let mut command = Command::new("/bin/sh");
        // LISTEN_PID must be the daemon's own PID: the shell sets it to its PID, then execs
        // the daemon in its place, exactly what systemd does between fork and exec.
        command
            .arg("-c")
            .arg("LISTEN_PID=$$ exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_ipcamd"))
            .args(["--state-dir"])
            .arg(dir.path().join("state"))
            .args(["--admin-password", "secret", "--log-level", "warn"])
            .env("NOTIFY_SOCKET", &notify_path)
            .env("WATCHDOG_USEC", "200000")
            .env("LISTEN_FDS", "1")
            .env_remove("LISTEN_PID")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        // SAFETY: only dup2, which is async-signal-safe, runs between fork and exec. The
        // copy on descriptor 3 has no close-on-exec flag, so it survives into the daemon.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(listener_fd, 3) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn ipcamd");
        drop(listener);
        Service {
            child,
            notify,
            listener_addr,
            _dir: dir,
        }
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
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nAuthorization: Basic {BASIC}\r\n\r\n"
    )
    .unwrap();
    stream
}

#[test]
fn notifies_pings_serves_the_passed_socket_and_drains_on_sigterm() {
    let mut service = Service::start();
    assert_eq!(service.next_notification(), "READY=1");
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
    let stopping = (0..50)
        .map(|_| service.next_notification())
        .find(|n| n != "WATCHDOG=1");
    assert_eq!(stopping.as_deref(), Some("STOPPING=1"));
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
