//! The real `ipcamd` binary killed with SIGKILL in the middle of a burst of configuration
//! changes comes back with a state file that loads and holds one complete version: every
//! section of the layout, and a `CameraName` that is one of the values sent, no older than
//! the last change the daemon acknowledged (it answers only once the change is durable).

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);
/// The administrator password the daemon is started with.
const PASSWORD: &str = "secret";
/// `base64("admin:secret")`, the Basic credentials for [`PASSWORD`].
const BASIC: &str = "YWRtaW46c2VjcmV0";
/// Kill rounds, each after a different number of acknowledged changes.
const KILL_AFTER: [usize; 4] = [1, 3, 7, 12];

/// A running daemon process, killed and reaped on drop so a failing test leaves none.
struct Daemon {
    child: Child,
    addr: SocketAddr,
}

impl Daemon {
    /// Starts the binary on a free loopback port with `state_dir` and waits until it answers.
    fn start(state_dir: &Path) -> Daemon {
        // The port is found by binding port 0 and released for the daemon; should another
        // process take it in between, the daemon exits and we try another.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let child = Command::new(env!("CARGO_BIN_EXE_ipcamd"))
                .arg("--listen")
                .arg(addr.to_string())
                .arg("--state-dir")
                .arg(state_dir)
                .args(["--admin-password", PASSWORD, "--log-level", "error"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn ipcamd");
            let mut daemon = Daemon { child, addr };
            if daemon.wait_until_serving() {
                return daemon;
            }
        }
        panic!("ipcamd did not start");
    }

    /// Polls until the daemon answers (true) or exits (false).
    fn wait_until_serving(&mut self) -> bool {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Ok((200, _)) = get(self.addr, "/cgiversion.cgi") {
                return true;
            }
            if self.child.try_wait().expect("try_wait").is_some() {
                return false;
            }
            assert!(Instant::now() < deadline, "ipcamd never answered");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL (what `Child::kill` sends) and reap.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `CameraName` as `/system.cgi` shows it.
    fn camera_name(&self) -> String {
        let (status, body) = get(self.addr, "/system.cgi").expect("GET /system.cgi");
        assert_eq!(status, 200, "{body}");
        body.lines()
            .find_map(|line| line.strip_prefix("CameraName="))
            .expect("a CameraName line")
            .to_owned()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP/1.0 GET as the administrator: status and body (the daemon closes after it).
fn get(addr: SocketAddr, target: &str) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    write!(
        stream,
        "GET {target} HTTP/1.0\r\nAuthorization: Basic {BASIC}\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no status line in {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// The name sent as change number `n` of `round`.
fn name(round: usize, n: usize) -> String {
    format!("crash-{round}-{n}")
}

/// Sets `CameraName` over and over until the daemon stops answering; returns how many
/// were sent. `acked` counts those answered 200.
fn burst(addr: SocketAddr, round: usize, acked: &AtomicUsize) -> usize {
    let mut sent = 0;
    loop {
        let target = format!("/system.cgi?CameraName={}", name(round, sent));
        sent += 1;
        match get(addr, &target) {
            Ok((200, _)) => acked.store(sent, Ordering::SeqCst),
            _ => return sent,
        }
    }
}

/// Checks the file a restart will load: present, mode 0600, every key of the layout, and
/// valid. Returns its `CameraName`.
fn read_state_file(dir: &Path) -> String {
    let path = dir.join("state.toml");
    let mode = std::fs::metadata(&path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the state file holds passwords");
    let text = std::fs::read_to_string(&path).unwrap();
    let file: toml::Table = toml::from_str(&text).expect("state.toml parses");
    let layout: toml::Table =
        toml::from_str(&toml::to_string(&ipcam_api::State::factory(PASSWORD)).unwrap()).unwrap();
    assert_same_keys(&layout, &file, "state.toml");
    let state: ipcam_api::State = toml::from_str(&text).expect("state.toml is a State");
    state.validate().expect("state.toml holds valid values");
    assert_eq!(state.version, ipcam_api::STATE_VERSION);
    state.system.camera_name
}

/// Every key of `layout` is in `file`, recursively through tables: nothing was cut off.
fn assert_same_keys(layout: &toml::Table, file: &toml::Table, at: &str) {
    for (key, value) in layout {
        let found = file
            .get(key)
            .unwrap_or_else(|| panic!("{at}: {key} is missing"));
        if let (toml::Value::Table(layout), toml::Value::Table(file)) = (value, found) {
            assert_same_keys(layout, file, &format!("{at}.{key}"));
        }
    }
}

#[test]
fn sigkill_during_a_burst_of_sets_leaves_one_complete_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut survivor: Option<String> = None;
    for (round, &kill_after) in KILL_AFTER.iter().enumerate() {
        let mut daemon = Daemon::start(dir.path());
        if let Some(expected) = &survivor {
            assert_eq!(
                &daemon.camera_name(),
                expected,
                "round {round} starts where the file was"
            );
        }

        let acked = Arc::new(AtomicUsize::new(0));
        let burster = {
            let (addr, acked) = (daemon.addr, Arc::clone(&acked));
            std::thread::spawn(move || burst(addr, round, &acked))
        };
        let deadline = Instant::now() + DEADLINE;
        while acked.load(Ordering::SeqCst) < kill_after {
            assert!(!burster.is_finished(), "the burst stopped before the kill");
            assert!(Instant::now() < deadline, "too few changes acknowledged");
            std::thread::yield_now();
        }
        daemon.kill();
        let sent = burster.join().expect("burst thread");
        let acked = acked.load(Ordering::SeqCst);

        let stored = read_state_file(dir.path());
        let candidates: Vec<String> = (acked - 1..sent).map(|n| name(round, n)).collect();
        assert!(
            candidates.contains(&stored),
            "round {round}: the file holds {stored:?}; acknowledged {acked}, sent {sent}"
        );
        survivor = Some(stored);
    }
    let daemon = Daemon::start(dir.path());
    assert_eq!(Some(daemon.camera_name()), survivor);
}
