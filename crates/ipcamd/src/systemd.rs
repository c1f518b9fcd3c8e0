//! The daemon's side of systemd's service protocols.
//!
//! Under `Type=notify` systemd waits for `READY=1` before it considers the camera started,
//! restarts it when `WATCHDOG=1` pings stop arriving (a hung event loop), and shows
//! `STATUS=` lines in `systemctl status`. With socket activation `ipcamd.socket` owns the
//! privileged port 80 and hands the listening sockets over (`LISTEN_FDS`), so the service
//! itself runs with no capabilities at all.
//!
//! Each protocol has a core that takes its inputs as arguments ([`Notifier::connect`],
//! [`watchdog_interval`], [`parse_listen_fds`], [`adopt_listeners`]) and a thin wrapper that
//! reads (and clears) the environment ([`Notifier::from_env`], [`watchdog_interval_from_env`],
//! [`listen_fds`]). Tests use the cores, so they never race on the process environment.
//! Call the wrappers once, early in `main`, before other threads start: clearing environment
//! variables is not thread-safe.

use std::env;
use std::io;
use std::net::TcpListener;
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`): 0–2 are stdio.
pub const LISTEN_FDS_START: RawFd = 3;

/// What can go wrong talking to systemd; each names the offending input.
#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    /// `NOTIFY_SOCKET` is neither an absolute path nor an abstract (`@`) address.
    #[error("NOTIFY_SOCKET={0:?} is neither an absolute path nor an abstract '@' address")]
    InvalidNotifySocket(String),
    /// An environment variable set by systemd does not hold the number it must.
    #[error("{name}={value:?} is not a valid value")]
    InvalidVariable {
        /// The variable, e.g. `LISTEN_FDS`.
        name: &'static str,
        /// What it held.
        value: String,
    },
    /// A state sent to systemd contains a newline, which would smuggle in other assignments.
    #[error("notification {0:?} contains a newline")]
    NewlineInState(String),
    /// A passed descriptor is not a listening TCP socket (e.g. a `ListenDatagram=` unit).
    #[error("passed file descriptor {0} is not a listening TCP socket")]
    NotATcpListener(RawFd),
    /// The operating system refused an operation on a socket.
    #[error("systemd socket I/O: {0}")]
    Io(#[from] io::Error),
}

/// Sends state changes to the service manager's notification socket.
///
/// A notifier built without a socket (not started by systemd) accepts every call and sends
/// nothing, so the daemon calls it unconditionally.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// A notifier that sends nothing: the daemon was not started with `Type=notify`.
    pub fn disabled() -> Self {
        Notifier { target: None }
    }

    /// Reads `NOTIFY_SOCKET` and removes it from the environment, so that no child process
    /// can report on this service's behalf. Disabled when the variable is unset.
    pub fn from_env() -> Result<Self, SystemdError> {
        let Some(address) = env::var_os("NOTIFY_SOCKET") else {
            return Ok(Notifier::disabled());
        };
        env::remove_var("NOTIFY_SOCKET");
        Notifier::connect(&address.to_string_lossy())
    }

    /// A notifier for `address`: an absolute socket path, or `@name` for Linux's abstract
    /// namespace, exactly as systemd writes `NOTIFY_SOCKET`.
    pub fn connect(address: &str) -> Result<Self, SystemdError> {
        let target = if let Some(name) = address.strip_prefix('@') {
            SocketAddr::from_abstract_name(name)?
        } else if address.starts_with('/') {
            SocketAddr::from_pathname(address)?
        } else {
            return Err(SystemdError::InvalidNotifySocket(address.to_owned()));
        };
        let socket = UnixDatagram::unbound()?;
        // A full manager queue must cost a dropped ping, never a stalled event loop.
        socket.set_nonblocking(true)?;
        Ok(Notifier {
            target: Some((socket, target)),
        })
    }

    /// Whether notifications go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// `READY=1`: listening, with the first frame captured; `systemctl start` returns.
    pub fn ready(&self) -> Result<(), SystemdError> {
        self.send(b"READY=1")
    }

    /// `STOPPING=1`: shutdown has begun and streams are being drained.
    pub fn stopping(&self) -> Result<(), SystemdError> {
        self.send(b"STOPPING=1")
    }

    /// `WATCHDOG=1`: the event loop is alive. One syscall, no allocation.
    pub fn ping(&self) -> Result<(), SystemdError> {
        self.send(b"WATCHDOG=1")
    }

    /// `STATUS=<text>`: a one-line status shown by `systemctl status ipcamd`.
    pub fn status(&self, text: &str) -> Result<(), SystemdError> {
        if text.contains('\n') {
            return Err(SystemdError::NewlineInState(text.to_owned()));
        }
        if !self.is_enabled() {
            return Ok(());
        }
        self.send(format!("STATUS={text}").as_bytes())
    }

    fn send(&self, state: &[u8]) -> Result<(), SystemdError> {
        if let Some((socket, target)) = &self.target {
            socket.send_to_addr(state, target)?;
        }
        Ok(())
    }
}

/// The ping interval systemd expects, from the values of `WATCHDOG_USEC` and
/// `WATCHDOG_PID`: half the timeout, so one late loop turn never trips it.
///
/// `None` when the watchdog is off or meant for another process (`WATCHDOG_PID` differs
/// from `own_pid`).
pub fn watchdog_interval(
    usec: Option<&str>,
    pid: Option<&str>,
    own_pid: u32,
) -> Result<Option<Duration>, SystemdError> {
    let Some(usec) = usec else {
        return Ok(None);
    };
    if let Some(pid) = pid {
        if parse_pid("WATCHDOG_PID", pid)? != own_pid {
            return Ok(None);
        }
    }
    let timeout = usec
        .parse::<u64>()
        .ok()
        .filter(|&micros| micros > 0)
        .ok_or_else(|| invalid("WATCHDOG_USEC", usec))?;
    Ok(Some(Duration::from_micros(timeout) / 2))
}

/// [`watchdog_interval`] for this process, from its environment.
pub fn watchdog_interval_from_env() -> Result<Option<Duration>, SystemdError> {
    let usec = env::var("WATCHDOG_USEC").ok();
    let pid = env::var("WATCHDOG_PID").ok();
    watchdog_interval(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// Paces `WATCHDOG=1` pings from the event loop; time is passed in, so it is testable
/// without waiting.
#[derive(Debug)]
pub struct Watchdog {
    interval: Duration,
    due: Instant,
}

impl Watchdog {
    /// A watchdog that pings every `interval`, first at `now + interval`.
    pub fn new(interval: Duration, now: Instant) -> Self {
        Watchdog {
            interval,
            due: now + interval,
        }
    }

    /// The ping interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How long the event loop may block before the next ping is due: use it to cap the
    /// poll timeout.
    pub fn timeout(&self, now: Instant) -> Duration {
        self.due.saturating_duration_since(now)
    }

    /// Pings when due and schedules the next one; returns whether it pinged.
    pub fn tick(&mut self, notifier: &Notifier, now: Instant) -> Result<bool, SystemdError> {
        if now < self.due {
            return Ok(false);
        }
        self.due = now + self.interval;
        notifier.ping()?;
        Ok(true)
    }
}

/// The descriptors passed to this process, from the values of `LISTEN_PID` and
/// `LISTEN_FDS`: an empty range when there are none or they are meant for another process.
pub fn parse_listen_fds(
    pid: Option<&str>,
    fds: Option<&str>,
    own_pid: u32,
) -> Result<Range<RawFd>, SystemdError> {
    let none = LISTEN_FDS_START..LISTEN_FDS_START;
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Ok(none);
    };
    if parse_pid("LISTEN_PID", pid)? != own_pid {
        return Ok(none);
    }
    let count = fds
        .parse::<RawFd>()
        .ok()
        .filter(|count| (0..=RawFd::MAX - LISTEN_FDS_START).contains(count))
        .ok_or_else(|| invalid("LISTEN_FDS", fds))?;
    Ok(LISTEN_FDS_START..LISTEN_FDS_START + count)
}

/// Takes ownership of the descriptors in `fds` and turns each into a non-blocking,
/// close-on-exec [`TcpListener`]. All or nothing: if one is not a listening TCP socket,
/// every descriptor in the range is closed and the error names it.
///
/// # Safety
/// Every descriptor in `fds` must be open and owned by nobody else in this process; they
/// are closed when the returned listeners (or the error path) drop them.
pub unsafe fn adopt_listeners(fds: Range<RawFd>) -> Result<Vec<TcpListener>, SystemdError> {
    let owned: Vec<OwnedFd> = fds
        // SAFETY: the caller guarantees each descriptor is open and unowned.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    for fd in &owned {
        check_tcp_listener(fd.as_fd())?;
    }
    owned
        .into_iter()
        .map(|fd| {
            set_cloexec(fd.as_fd())?;
            let listener = TcpListener::from(fd);
            listener.set_nonblocking(true)?;
            Ok(listener)
        })
        .collect()
}

/// The listening sockets systemd passed to this process (socket activation), or none.
/// Clears `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES`, so a second call, or a child
/// process, cannot adopt the same descriptors again.
pub fn listen_fds() -> Result<Vec<TcpListener>, SystemdError> {
    Ok(named_listen_fds()?
        .into_iter()
        .map(|(_, listener)| listener)
        .collect())
}

/// Like [`listen_fds`], with each socket's `FileDescriptorName=` (from `LISTEN_FDNAMES`;
/// empty when systemd gave none), so that e.g. the RTSP socket is told from the HTTP ones.
pub fn named_listen_fds() -> Result<Vec<(String, TcpListener)>, SystemdError> {
    let pid = env::var("LISTEN_PID").ok();
    let fds = env::var("LISTEN_FDS").ok();
    let names = env::var("LISTEN_FDNAMES").ok();
    for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        env::remove_var(name);
    }
    let range = parse_listen_fds(pid.as_deref(), fds.as_deref(), std::process::id())?;
    // SAFETY: systemd passed these descriptors to this very process (LISTEN_PID matched) and
    // nothing else adopts them: the variables naming them are gone.
    let listeners = unsafe { adopt_listeners(range) }?;
    let names = fd_names(names.as_deref(), listeners.len());
    Ok(names.into_iter().zip(listeners).collect())
}

/// The names of `count` passed descriptors: `LISTEN_FDNAMES` is colon-separated, one per
/// descriptor; missing names are empty.
pub fn fd_names(names: Option<&str>, count: usize) -> Vec<String> {
    let mut given = names.map(|n| n.split(':')).into_iter().flatten();
    (0..count)
        .map(|_| given.next().unwrap_or("").to_owned())
        .collect()
}

fn parse_pid(name: &'static str, value: &str) -> Result<u32, SystemdError> {
    value.parse().map_err(|_| invalid(name, value))
}

fn invalid(name: &'static str, value: &str) -> SystemdError {
    SystemdError::InvalidVariable {
        name,
        value: value.to_owned(),
    }
}

fn check_tcp_listener(fd: BorrowedFd<'_>) -> Result<(), SystemdError> {
    let domain = socket_option(fd, libc::SO_DOMAIN);
    let kind = socket_option(fd, libc::SO_TYPE);
    let listening = socket_option(fd, libc::SO_ACCEPTCONN);
    match (domain, kind, listening) {
        (Ok(libc::AF_INET | libc::AF_INET6), Ok(libc::SOCK_STREAM), Ok(1)) => Ok(()),
        _ => Err(SystemdError::NotATcpListener(fd.as_raw_fd())),
    }
}

fn socket_option(fd: BorrowedFd<'_>, option: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes and `len` holds the size of `value`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_GETFD only reads the flags of a descriptor we borrow.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: F_SETFD only writes the flags of a descriptor we borrow.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, flags | libc::FD_CLOEXEC) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::net::{TcpStream, UdpSocket};
    use std::os::fd::IntoRawFd;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A manager-side notification socket in the abstract namespace, unique per test.
    fn manager_socket() -> (UnixDatagram, String) {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "ipcamd-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let addr = SocketAddr::from_abstract_name(&name).unwrap();
        let socket = UnixDatagram::bind_addr(&addr).unwrap();
        socket.set_nonblocking(true).unwrap();
        (socket, format!("@{name}"))
    }

    fn received(socket: &UnixDatagram) -> Vec<String> {
        let mut buf = [0u8; 256];
        let mut messages = Vec::new();
        loop {
            match socket.recv(&mut buf) {
                Ok(n) => messages.push(String::from_utf8(buf[..n].to_vec()).unwrap()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return messages,
                Err(e) => panic!("recv: {e}"),
            }
        }
    }

    #[test]
    fn manager_receives_ready_status_watchdog_and_stopping_in_order() {
        let (manager, address) = manager_socket();
        let notifier = Notifier::connect(&address).unwrap();
        notifier.ready().unwrap();
        notifier.status("streaming to 2 viewers").unwrap();
        notifier.ping().unwrap();
        notifier.stopping().unwrap();
        assert_eq!(
            received(&manager),
            [
                "READY=1",
                "STATUS=streaming to 2 viewers",
                "WATCHDOG=1",
                "STOPPING=1"
            ]
        );
    }

    #[test]
    fn path_notify_socket_receives_ready() {
        let path = env::temp_dir().join(format!("ipcamd-notify-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let manager = UnixDatagram::bind(&path).unwrap();
        manager.set_nonblocking(true).unwrap();
        Notifier::connect(path.to_str().unwrap())
            .unwrap()
            .ready()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(received(&manager), ["READY=1"]);
    }

    #[test]
    fn relative_notify_socket_is_rejected() {
        assert!(matches!(
            Notifier::connect("run/notify"),
            Err(SystemdError::InvalidNotifySocket(a)) if a == "run/notify"
        ));
    }

    #[test]
    fn status_with_newline_is_refused_and_nothing_is_sent() {
        let (manager, address) = manager_socket();
        let notifier = Notifier::connect(&address).unwrap();
        assert!(matches!(
            notifier.status("ok\nREADY=1"),
            Err(SystemdError::NewlineInState(_))
        ));
        assert!(received(&manager).is_empty());
    }

    #[test]
    fn disabled_notifier_accepts_every_call() {
        let notifier = Notifier::disabled();
        assert!(!notifier.is_enabled());
        notifier.ready().unwrap();
        notifier.status("idle").unwrap();
        notifier.ping().unwrap();
        notifier.stopping().unwrap();
    }

    #[test]
    fn vanished_manager_is_reported() {
        let (manager, address) = manager_socket();
        let notifier = Notifier::connect(&address).unwrap();
        drop(manager);
        assert!(matches!(notifier.ready(), Err(SystemdError::Io(_))));
    }

    #[test]
    fn watchdog_interval_is_half_the_timeout() {
        assert_eq!(
            watchdog_interval(Some("20000000"), None, 42).unwrap(),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            watchdog_interval(Some("3000000"), Some("42"), 42).unwrap(),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn watchdog_for_another_process_or_unset_is_off() {
        assert_eq!(
            watchdog_interval(Some("3000000"), Some("7"), 42).unwrap(),
            None
        );
        assert_eq!(watchdog_interval(None, Some("42"), 42).unwrap(), None);
    }

    #[test]
    fn malformed_watchdog_values_are_errors() {
        for (usec, pid) in [("0", "42"), ("ten", "42"), ("-5", "42"), ("1000", "me")] {
            assert!(
                matches!(
                    watchdog_interval(Some(usec), Some(pid), 42),
                    Err(SystemdError::InvalidVariable { .. })
                ),
                "WATCHDOG_USEC={usec} WATCHDOG_PID={pid}"
            );
        }
    }

    #[test]
    fn watchdog_pings_only_when_due_and_shortens_the_poll_timeout() {
        let (manager, address) = manager_socket();
        let notifier = Notifier::connect(&address).unwrap();
        let start = Instant::now();
        let interval = Duration::from_secs(5);
        let mut watchdog = Watchdog::new(interval, start);

        assert_eq!(watchdog.timeout(start), interval);
        assert!(!watchdog
            .tick(&notifier, start + Duration::from_secs(4))
            .unwrap());
        assert_eq!(
            watchdog.timeout(start + Duration::from_secs(4)),
            Duration::from_secs(1)
        );
        assert!(received(&manager).is_empty());

        let late = start + Duration::from_secs(6);
        assert!(watchdog.tick(&notifier, late).unwrap());
        assert_eq!(received(&manager), ["WATCHDOG=1"]);
        assert_eq!(watchdog.timeout(late), interval);
        assert_eq!(
            watchdog.timeout(late + Duration::from_secs(9)),
            Duration::ZERO
        );
    }

    #[test]
    fn listen_fds_for_this_process_start_at_three() {
        assert_eq!(parse_listen_fds(Some("42"), Some("2"), 42).unwrap(), 3..5);
    }

    #[test]
    fn listen_fds_for_another_process_or_unset_are_ignored() {
        assert!(parse_listen_fds(Some("41"), Some("2"), 42)
            .unwrap()
            .is_empty());
        assert!(parse_listen_fds(None, Some("2"), 42).unwrap().is_empty());
        assert!(parse_listen_fds(Some("42"), None, 42).unwrap().is_empty());
    }

    #[test]
    fn descriptor_names_pair_up_in_order() {
        assert_eq!(
            fd_names(Some("ipcamd.socket:rtsp"), 2),
            ["ipcamd.socket", "rtsp"]
        );
        assert_eq!(fd_names(Some("http"), 2), ["http", ""]);
        assert_eq!(fd_names(None, 1), [""]);
    }

    #[test]
    fn malformed_listen_fds_are_errors() {
        for (pid, fds) in [("42", "two"), ("42", "-1"), ("me", "1")] {
            assert!(
                matches!(
                    parse_listen_fds(Some(pid), Some(fds), 42),
                    Err(SystemdError::InvalidVariable { .. })
                ),
                "LISTEN_PID={pid} LISTEN_FDS={fds}"
            );
        }
    }

    fn cloexec(listener: &TcpListener) -> bool {
        // SAFETY: F_GETFD only reads the flags of an open descriptor.
        let flags = unsafe { libc::fcntl(listener.as_raw_fd(), libc::F_GETFD) };
        flags & libc::FD_CLOEXEC != 0
    }

    #[test]
    fn adopted_listener_is_nonblocking_cloexec_and_accepts() {
        let original = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = original.local_addr().unwrap();
        // Clear the flag std sets, to see that adoption sets it.
        // SAFETY: F_SETFD on a descriptor we own.
        unsafe { libc::fcntl(original.as_raw_fd(), libc::F_SETFD, 0) };
        let fd = original.into_raw_fd();

        // SAFETY: `fd` was released by `into_raw_fd` and is owned by nobody else.
        let listeners = unsafe { adopt_listeners(fd..fd + 1) }.unwrap();
        let [listener] = listeners.as_slice() else {
            panic!("expected one listener, got {listeners:?}");
        };
        assert!(cloexec(listener));
        assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        let _client = TcpStream::connect(address).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Err(e) = listener.accept() {
            assert_eq!(e.kind(), ErrorKind::WouldBlock);
            assert!(
                Instant::now() < deadline,
                "connection never became acceptable"
            );
            std::thread::yield_now();
        }
    }

    #[test]
    fn datagram_socket_is_refused() {
        let fd = UdpSocket::bind("127.0.0.1:0").unwrap().into_raw_fd();
        // SAFETY: `fd` was released by `into_raw_fd` and is owned by nobody else.
        let result = unsafe { adopt_listeners(fd..fd + 1) };
        assert!(matches!(result, Err(SystemdError::NotATcpListener(f)) if f == fd));
    }

    #[test]
    fn unix_socket_is_refused() {
        let (socket, _) = manager_socket();
        let fd = socket.into_raw_fd();
        // SAFETY: `fd` was released by `into_raw_fd` and is owned by nobody else.
        let result = unsafe { adopt_listeners(fd..fd + 1) };
        assert!(matches!(result, Err(SystemdError::NotATcpListener(f)) if f == fd));
    }
}
