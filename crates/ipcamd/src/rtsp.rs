//! The camera's RTSP service: the `ipcam-rtsp` server over the same frame broadcast,
//! users and roles as `/mjpeg.cgi`.
//!
//! The server knows no camera; this module gives it the frames (each published
//! [`MjpegPart`] is the ring slot, whose JPEG it packetizes once) and a [`Gate`] that
//! decides logins exactly as the HTTP routes do: the same accounts (Basic through
//! [`authenticate`], Digest through [`authenticate_proof`]), viewer rights, anonymous only
//! while access control is disabled, failed logins counted per address together with
//! HTTP's, and open
//! sessions checked again when the access epoch moves (a deleted user's session ends).

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Instant;

use ipcam_api::{
    authenticate, authenticate_proof, decide, Access, BadCredentials, Decision, Principal,
    SharedState, State,
};
use ipcam_httpd::Broadcast;
use ipcam_rtsp::{Gate, JpegChunk, Limits, Login, Server, ServerHandle, Verdict};

use crate::camera::MjpegPart;
use crate::logins::SharedLimiter;
use crate::routes::AccessEpoch;

impl JpegChunk for MjpegPart {
    fn jpeg(&self) -> &[u8] {
        self.0.jpeg()
    }
}

/// The camera's users and roles, as the RTSP server asks about them.
pub(crate) struct CameraGate {
    pub(crate) state: SharedState,
    pub(crate) epoch: AccessEpoch,
    /// Failed logins per address, shared with the HTTP routes.
    pub(crate) limiter: SharedLimiter,
}

fn principal(state: &State, login: &Login<'_>) -> Result<Principal, BadCredentials> {
    match login {
        Login::Anonymous => Ok(Principal::Anonymous),
        Login::Password { user, password } => authenticate(state, Some((user, password))),
        Login::Digest { user, proves } => authenticate_proof(state, user, proves),
    }
}

fn may_watch(state: &State, principal: &Principal) -> bool {
    decide(Access::Viewer, principal, state.access.enabled()) == Decision::Allow
}

impl Gate for CameraGate {
    fn admit(&mut self, client: IpAddr, login: &Login<'_>) -> Verdict {
        let state = self.state.load();
        let now = Instant::now();
        let has_credentials = !matches!(login, Login::Anonymous);
        let mut limiter = self.limiter.lock();
        if has_credentials && limiter.is_blocked(client, now) {
            return Verdict::RateLimited;
        }
        match principal(&state, login) {
            Ok(principal) => {
                if has_credentials {
                    limiter.record_success(client);
                }
                if may_watch(&state, &principal) {
                    Verdict::Allowed
                } else {
                    Verdict::Refused
                }
            }
            Err(BadCredentials) => {
                limiter.record_failure(client, now);
                Verdict::Refused
            }
        }
    }

    fn still_allowed(&self, login: &Login<'_>) -> bool {
        let state = self.state.load();
        principal(&state, login).is_ok_and(|p| may_watch(&state, &p))
    }

    fn epoch(&self) -> u64 {
        self.epoch.current()
    }
}

/// A running RTSP server.
pub(crate) struct RtspService {
    pub(crate) addr: SocketAddr,
    handle: ServerHandle,
    thread: JoinHandle<io::Result<()>>,
}

impl RtspService {
    /// Serves `frames` on `listener` in a thread of its own.
    pub(crate) fn start(
        listener: TcpListener,
        frames: &Broadcast<MjpegPart>,
        gate: CameraGate,
        limits: Limits,
    ) -> io::Result<RtspService> {
        let addr = listener.local_addr()?;
        let (server, handle) = Server::new(listener, frames, gate, limits)?;
        let thread = std::thread::Builder::new()
            .name("rtsp".into())
            .spawn(move || server.run())?;
        Ok(RtspService {
            addr,
            handle,
            thread,
        })
    }

    /// Ends every session and connection.
    pub(crate) fn shutdown(&self) {
        self.handle.shutdown();
    }

    /// Waits for the thread; `false` if it panicked.
    pub(crate) fn join(self) -> bool {
        match self.thread.join() {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                log::error!("the RTSP event loop failed: {err}");
                true
            }
            Err(_) => false,
        }
    }
}

/// The RTSP listener: systemd's socket if it passed one, else the configured port on the
/// host of the first HTTP listener. A port that cannot be bound leaves the camera serving
/// HTTP with RTSP off (said in the log), rather than no camera at all.
pub(crate) fn listener(
    passed: Option<TcpListener>,
    http_addr: SocketAddr,
    port: u16,
) -> Option<TcpListener> {
    if passed.is_some() {
        return passed;
    }
    let addr = SocketAddr::new(http_addr.ip(), port);
    match TcpListener::bind(addr) {
        Ok(listener) => Some(listener),
        Err(err) => {
            log::error!("cannot listen for RTSP on {addr}: {err}; RTSP is off");
            None
        }
    }
}
