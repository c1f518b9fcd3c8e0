//! The event loop: RTSP connections, sessions, and RTP out of one packetized frame.
//!
//! One thread runs one `mio::Poll`, like the HTTP server. When the capture publishes a
//! frame, the loop packetizes it once (RFC 2435, [`Packetized`]) into a pooled slot that
//! keeps a reference to the JPEG; every playing session then sends that slot: over TCP as
//! `$`-framed packets with one vectored write for many packets, over UDP with `sendmmsg`.
//! Per viewer only the 16 bytes of interleave prefix and RTP header are built (on the
//! stack); payload headers and scan bytes are sent by reference. A viewer starts a frame
//! only when it has finished the previous one, and then takes the newest: a slow viewer
//! skips whole frames and never sees half of one.
//!
//! Sessions over TCP live as long as their connection; UDP sessions live until TEARDOWN or
//! until nothing (request or RTCP) is heard from the client for the session timeout.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use ipcam_httpd::{Broadcast, Chunk, Follower};
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::auth::{Authenticator, Gate, Stored, Unusable, Verdict};
use crate::media::{self, FrameSlot, Sending};
use crate::payload::{Packetized, CLOCK_RATE, DEFAULT_MAX_PAYLOAD};
use crate::reply::{check_uri, sdp, Reply};
use crate::request::{self, BadRequest, Input, Method, Request, PUBLIC};
use crate::rtp::{self, SenderReport};
use crate::transport::{self, Offer};

/// A published frame the server can send: the JPEG, SOI to EOI.
pub trait JpegChunk: Chunk {
    /// The JPEG bytes.
    fn jpeg(&self) -> &[u8];
}

/// Limits and settings. Every field has a safe default.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request head in bytes.
    pub max_head_bytes: usize,
    /// Largest request body in bytes (SET_PARAMETER/GET_PARAMETER bodies are ignored).
    pub max_body_bytes: usize,
    /// Most open RTSP connections; past it clients get `503` and are closed.
    pub max_connections: usize,
    /// Most sessions (viewers); past it SETUP gets `453 Not Enough Bandwidth`.
    pub max_sessions: usize,
    /// Time a request may take to arrive once started.
    pub request_timeout: Duration,
    /// Time a UDP session (or a connection without a session) lives without a word.
    pub session_timeout: Duration,
    /// Time a TCP viewer may take no data before it is dropped.
    pub stall_timeout: Duration,
    /// Kernel send buffer of a connection: a few frames, not seconds of stale video.
    pub send_buffer: usize,
    /// RTP payload bytes per packet (MTU less IP, UDP and RTP headers).
    pub max_payload: usize,
    /// Interval of RTCP sender reports.
    pub report_interval: Duration,
    /// Realm of the authentication challenge.
    pub realm: String,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 8 * 1024,
            max_body_bytes: 4 * 1024,
            max_connections: 64,
            max_sessions: 64,
            request_timeout: Duration::from_secs(10),
            session_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(10),
            send_buffer: 256 * 1024,
            max_payload: DEFAULT_MAX_PAYLOAD,
            report_interval: Duration::from_secs(5),
            realm: "ipcam".into(),
        }
    }
}

const WAKER: Token = Token(usize::MAX);
const LISTENER: Token = Token(usize::MAX - 1);
/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 4096;
/// How often deadlines are checked.
const SWEEP: Duration = Duration::from_millis(250);
/// Queued answers past which a client that does not read them is dropped.
const OUTPUT_HIGH_WATER: usize = 64 * 1024;
const OVER_CAP: &[u8] = b"RTSP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";

/// Stops a running server from another thread. Cheap to clone.
#[derive(Clone)]
pub struct ServerHandle {
    stop: Arc<Mutex<bool>>,
    waker: Arc<Waker>,
}

impl ServerHandle {
    /// Ends every session and connection and makes [`Server::run`] return.
    pub fn shutdown(&self) {
        *self.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
        if let Err(err) = self.waker.wake() {
            log::error!("cannot wake the RTSP server: {err}");
        }
    }
}

/// What a read left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadOutcome {
    /// The peer closed or the socket failed.
    Closed,
    /// Everything available was read.
    Drained,
    /// The input buffer is full; parse it, then read on.
    Full,
}

struct Connection<C> {
    socket: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    input: Vec<u8>,
    /// Bytes of a client's interleaved frame still to discard.
    discard: usize,
    output: Vec<u8>,
    output_at: usize,
    request_since: Option<Instant>,
    last_heard: Instant,
    last_progress: Instant,
    closing: bool,
    described: bool,
    /// The interleaved session this connection carries.
    session: Option<usize>,
    sending: Option<Sending<C>>,
}

impl<C> Connection<C> {
    fn busy(&self) -> bool {
        self.output_at < self.output.len() || self.sending.is_some()
    }
}

enum Media<C> {
    Interleaved {
        conn: usize,
        rtp: u8,
        rtcp: u8,
    },
    Udp {
        rtp: UdpSocket,
        rtcp: UdpSocket,
        client_rtcp: SocketAddr,
        sending: Option<Sending<C>>,
    },
}

struct Session<C> {
    id: String,
    ssrc: u32,
    next_seq: u16,
    ts_base: u32,
    created: Instant,
    media: Media<C>,
    playing: bool,
    last_heard: Instant,
    login: Stored,
    checked_epoch: u64,
    last_frame: u64,
    packets: u32,
    octets: u32,
    next_report: Instant,
    control_uri: String,
}

impl<C> Session<C> {
    fn timestamp_at(&self, at: Instant) -> u32 {
        let ticks = at.saturating_duration_since(self.created).as_micros() * u128::from(CLOCK_RATE)
            / 1_000_000;
        self.ts_base.wrapping_add(ticks as u32)
    }
}

/// The RTSP server. Build it, then [`run`](Server::run) it on its own thread.
pub struct Server<C: JpegChunk, G: Gate> {
    poll: Poll,
    listener: TcpListener,
    follower: Follower<C>,
    gate: G,
    auth: Authenticator,
    limits: Limits,
    stop: Arc<Mutex<bool>>,
    connections: Slab<Connection<C>>,
    sessions: Slab<Session<C>>,
    session_ids: HashMap<String, usize>,
    pool: Vec<Arc<FrameSlot<C>>>,
    current: Option<Arc<FrameSlot<C>>>,
    refused_frames: u64,
    /// Reused per frame: the playing sessions (and their connections) to write to.
    playing: Vec<(usize, Option<usize>)>,
    /// Reused for RTCP reports to UDP viewers.
    report: Vec<u8>,
}

fn conn_token(key: usize) -> Token {
    Token(key * 3)
}

fn rtp_token(key: usize) -> Token {
    Token(key * 3 + 1)
}

fn rtcp_token(key: usize) -> Token {
    Token(key * 3 + 2)
}

impl<C: JpegChunk, G: Gate> Server<C, G> {
    /// A server accepting on `listener` (already bound) and sending `frames`.
    pub fn new(
        listener: std::net::TcpListener,
        frames: &Broadcast<C>,
        gate: G,
        limits: Limits,
    ) -> io::Result<(Self, ServerHandle)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let stop = Arc::new(Mutex::new(false));
        let handle = ServerHandle {
            stop: Arc::clone(&stop),
            waker: Arc::clone(&waker),
        };
        let server = Server {
            poll,
            listener,
            follower: frames.follow(&waker),
            gate,
            auth: Authenticator::new(&limits.realm),
            limits,
            stop,
            connections: Slab::new(),
            sessions: Slab::new(),
            session_ids: HashMap::new(),
            pool: Vec::new(),
            current: None,
            refused_frames: 0,
            playing: Vec::new(),
            report: Vec::new(),
        };
        Ok((server, handle))
    }

    /// Serves until [`ServerHandle::shutdown`].
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        let mut next_sweep = Instant::now() + SWEEP;
        loop {
            if *self.stop.lock().unwrap_or_else(PoisonError::into_inner) {
                self.close_all();
                return Ok(());
            }
            let timeout = next_sweep.saturating_duration_since(Instant::now());
            if let Err(err) = self.poll.poll(&mut events, Some(timeout)) {
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => self.take_frame(),
                    LISTENER => self.accept(),
                    Token(t) => match t % 3 {
                        0 => self.drive(t / 3),
                        1 => self.drive_udp(t / 3, true),
                        _ => self.drive_udp(t / 3, false),
                    },
                }
            }
            if Instant::now() >= next_sweep {
                self.sweep();
                next_sweep = Instant::now() + SWEEP;
            }
        }
    }

    fn close_all(&mut self) {
        let keys: Vec<usize> = self.connections.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.close(key);
        }
        let sessions: Vec<usize> = self.sessions.iter().map(|(k, _)| k).collect();
        for key in sessions {
            self.remove_session(key);
        }
    }

    // ---- frames ----

    /// Packetizes the newest frame once, then lets every idle playing session start it.
    fn take_frame(&mut self) {
        let Some((seq, chunk)) = self.follower.newer() else {
            return;
        };
        // Free slots (held by no viewer) let go of their JPEG: a stalled viewer pins at
        // most the one frame it is writing, never the pool's.
        for slot in &mut self.pool {
            if let Some(slot) = Arc::get_mut(slot) {
                slot.chunk = None;
            }
        }
        let index = match self.pool.iter_mut().position(|s| Arc::get_mut(s).is_some()) {
            Some(index) => index,
            None => {
                self.pool.push(Arc::new(FrameSlot {
                    chunk: None,
                    layout: Packetized::new(),
                    seq: 0,
                    observed: Instant::now(),
                }));
                self.pool.len() - 1
            }
        };
        let Some(slot) = Arc::get_mut(&mut self.pool[index]) else {
            return;
        };
        match slot.layout.fill(chunk.jpeg(), self.limits.max_payload) {
            Ok(()) => {
                slot.chunk = Some(chunk);
                slot.seq = seq;
                slot.observed = Instant::now();
                self.current = Some(Arc::clone(&self.pool[index]));
            }
            Err(err) => {
                // Said once per run of refused frames, not 30 times a second.
                if self.refused_frames == 0 {
                    log::warn!("frames cannot be sent over RTP: {err}");
                }
                self.refused_frames += 1;
                return;
            }
        }
        if self.refused_frames > 0 {
            log::info!("frames can be sent over RTP again");
            self.refused_frames = 0;
        }
        // Keys into a buffer kept from frame to frame: writing needs `&mut self`.
        let mut playing = std::mem::take(&mut self.playing);
        playing.clear();
        playing.extend(self.sessions.iter().filter(|(_, s)| s.playing).map(
            |(key, s)| match s.media {
                Media::Interleaved { conn, .. } => (key, Some(conn)),
                Media::Udp { .. } => (key, None),
            },
        ));
        for &(key, conn) in &playing {
            match conn {
                Some(conn) => self.write(conn),
                None => self.write_udp(key),
            }
        }
        self.playing = playing;
    }

    /// The newest frame if `session` has not started it yet.
    fn frame_for(&self, session: &Session<C>) -> Option<Arc<FrameSlot<C>>> {
        self.current
            .as_ref()
            .filter(|f| session.playing && f.seq > session.last_frame)
            .cloned()
    }

    /// Accounts a frame to a session and returns how to send it; queues a sender report
    /// first when one is due (into `report` as a ready RTCP packet).
    fn start_frame(
        session: &mut Session<C>,
        frame: Arc<FrameSlot<C>>,
        channel: u8,
        report: &mut Vec<u8>,
        limits: &Limits,
    ) -> Sending<C> {
        let now = Instant::now();
        if now >= session.next_report {
            session.next_report = now + limits.report_interval;
            rtp::write_sender_report(
                &SenderReport {
                    ssrc: session.ssrc,
                    wall_clock: SystemTime::now(),
                    rtp_time: session.timestamp_at(now),
                    packets: session.packets,
                    octets: session.octets,
                },
                report,
            );
        }
        let packets = frame.layout.packets().len();
        session.last_frame = frame.seq;
        let first_seq = session.next_seq;
        session.next_seq = session.next_seq.wrapping_add(packets as u16);
        session.packets = session.packets.wrapping_add(packets as u32);
        session.octets = session
            .octets
            .wrapping_add(frame.layout.payload_len() as u32);
        Sending {
            timestamp: session.timestamp_at(frame.observed),
            frame,
            packet: 0,
            offset: 0,
            first_seq,
            ssrc: session.ssrc,
            channel,
        }
    }

    // ---- TCP connections ----

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((socket, peer)) => self.admit(socket, peer),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    log::warn!("RTSP accept failed: {err}");
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut socket: TcpStream, peer: SocketAddr) {
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        if self.connections.len() >= self.limits.max_connections {
            log::warn!("RTSP connection limit reached, refusing {peer}");
            // A fresh socket's buffer takes these few bytes at once.
            let _ = socket.write(OVER_CAP);
            let _ = socket.shutdown(Shutdown::Both);
            return;
        }
        let _ = socket.set_nodelay(true);
        media::set_send_buffer(&socket, self.limits.send_buffer);
        let local = socket.local_addr().unwrap_or(peer);
        let entry = self.connections.vacant_entry();
        let key = entry.key();
        if let Err(err) = self.poll.registry().register(
            &mut socket,
            conn_token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::warn!("cannot register RTSP connection from {peer}: {err}");
            return;
        }
        let now = Instant::now();
        entry.insert(Connection {
            socket,
            peer,
            local,
            input: Vec::new(),
            discard: 0,
            output: Vec::new(),
            output_at: 0,
            request_since: None,
            last_heard: now,
            last_progress: now,
            closing: false,
            described: false,
            session: None,
            sending: None,
        });
    }

    fn drive(&mut self, key: usize) {
        loop {
            let read = self.read(key);
            if read == ReadOutcome::Closed {
                self.close(key);
                return;
            }
            self.handle_input(key);
            let Some(conn) = self.connections.get(key) else {
                return;
            };
            if conn.output.len() > OUTPUT_HIGH_WATER {
                // Requests keep coming while their answers are not read: not a viewer.
                log::info!("closing RTSP connection of {}: answers not read", conn.peer);
                self.close(key);
                return;
            }
            self.write(key);
            if read == ReadOutcome::Drained {
                return;
            }
        }
    }

    /// Reads what the socket has, up to a bounded input buffer (edge-triggered readiness:
    /// the caller comes back for the rest once this is parsed).
    fn read(&mut self, key: usize) -> ReadOutcome {
        let limit = self.limits.max_head_bytes + self.limits.max_body_bytes + 4;
        let Some(conn) = self.connections.get_mut(key) else {
            return ReadOutcome::Closed;
        };
        let mut buf = [0u8; READ_CHUNK];
        loop {
            match conn.socket.read(&mut buf) {
                Ok(0) => return ReadOutcome::Closed,
                Ok(n) => {
                    conn.last_heard = Instant::now();
                    let mut data = &buf[..n];
                    let skip = conn.discard.min(data.len());
                    conn.discard -= skip;
                    data = &data[skip..];
                    if conn.closing {
                        continue; // input after a fatal error is drained, not parsed
                    }
                    conn.input.extend_from_slice(data);
                    if conn.input.len() > limit {
                        return ReadOutcome::Full;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::Drained,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return ReadOutcome::Closed,
            }
        }
    }

    fn handle_input(&mut self, key: usize) {
        loop {
            let Some(conn) = self.connections.get_mut(key) else {
                return;
            };
            if conn.closing || conn.input.is_empty() {
                if let Some(conn) = self.connections.get_mut(key) {
                    conn.request_since = None;
                }
                return;
            }
            let parsed = request::parse(
                &conn.input,
                self.limits.max_head_bytes,
                self.limits.max_body_bytes,
            );
            match parsed {
                Ok(Input::Incomplete) => {
                    conn.request_since.get_or_insert_with(Instant::now);
                    return;
                }
                Ok(Input::Interleaved { channel, len }) => {
                    let available = conn.input.len() - 4;
                    let taken = available.min(len);
                    conn.input.drain(..4 + taken);
                    conn.discard = len - taken;
                    conn.request_since = None;
                    self.heard_on_channel(key, channel);
                }
                Ok(Input::Request(request, used)) => {
                    conn.input.drain(..used);
                    conn.request_since = None;
                    self.answer(key, &request);
                }
                Err(bad) => {
                    log::info!("RTSP request from {} refused: {bad}", conn.peer);
                    respond_bad(conn, &bad);
                    conn.input.clear();
                    conn.closing = true;
                    return;
                }
            }
        }
    }

    /// An RTCP report (or anything) from the client on an interleaved channel keeps its
    /// session alive.
    fn heard_on_channel(&mut self, key: usize, _channel: u8) {
        let session = self.connections.get(key).and_then(|c| c.session);
        if let Some(session) = session.and_then(|s| self.sessions.get_mut(s)) {
            session.last_heard = Instant::now();
        }
    }

    /// Writes what is due: the rest of the frame in progress, then queued answers and
    /// reports, then the next frame if the session plays and one is newer. Stops when the
    /// socket is full.
    fn write(&mut self, key: usize) {
        loop {
            let Some(conn) = self.connections.get_mut(key) else {
                return;
            };
            // A frame in progress is finished first: answers (and RTCP) queued meanwhile go
            // between two packets, never inside one.
            if let Some(sending) = &mut conn.sending {
                match media::write_interleaved(&mut conn.socket, sending) {
                    Ok(progress) => {
                        if progress {
                            conn.last_progress = Instant::now();
                        }
                        if sending.packet < sending.frame.layout.packets().len() {
                            return; // the socket is full
                        }
                        conn.sending = None;
                        continue;
                    }
                    Err(_) => return self.close(key),
                }
            }
            if conn.output_at < conn.output.len() {
                match conn.socket.write(&conn.output[conn.output_at..]) {
                    Ok(n) => {
                        conn.output_at += n;
                        conn.last_progress = Instant::now();
                        if conn.output_at == conn.output.len() {
                            conn.output.clear();
                            conn.output_at = 0;
                        }
                        continue;
                    }
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return self.close(key),
                }
            }
            if conn.closing {
                return self.close(key);
            }
            let Some(session_key) = conn.session else {
                return;
            };
            let Some(session) = self.sessions.get_mut(session_key) else {
                conn.session = None;
                return;
            };
            let Some(frame) = self
                .current
                .as_ref()
                .filter(|f| session.playing && f.seq > session.last_frame)
                .cloned()
            else {
                return;
            };
            let Media::Interleaved { rtp, rtcp, .. } = session.media else {
                return;
            };
            // A due RTCP report is queued with the answers (it follows this frame), framed
            // for its channel: the length is patched in once the report is written, or the
            // placeholder dropped if none was due.
            let before = conn.output.len();
            conn.output.extend_from_slice(&[b'$', rtcp, 0, 0]);
            let sending = Self::start_frame(session, frame, rtp, &mut conn.output, &self.limits);
            let len = conn.output.len() - before - 4;
            if len == 0 {
                conn.output.truncate(before);
            } else {
                conn.output[before + 2..before + 4].copy_from_slice(&(len as u16).to_be_bytes());
            }
            conn.sending = Some(sending);
            conn.last_progress = Instant::now();
        }
    }

    fn close(&mut self, key: usize) {
        let Some(mut conn) = self.connections.try_remove(key) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.socket);
        let _ = conn.socket.shutdown(Shutdown::Both);
        if let Some(session) = conn.session {
            self.remove_session(session);
        }
    }

    // ---- UDP media ----

    fn drive_udp(&mut self, key: usize, rtp_socket: bool) {
        let Some(session) = self.sessions.get_mut(key) else {
            return;
        };
        let Media::Udp { rtp, rtcp, .. } = &session.media else {
            return;
        };
        // Whatever arrives (RTCP receiver reports, NAT keep-alives) is read and dropped;
        // it proves the client is still there.
        let socket = if rtp_socket { rtp } else { rtcp };
        let mut buf = [0u8; 1500];
        let mut heard = false;
        loop {
            match socket.recv(&mut buf) {
                Ok(_) => heard = true,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock, or an ICMP error of an earlier send: nothing more to read.
                Err(_) => break,
            }
        }
        if heard {
            session.last_heard = Instant::now();
        }
        if rtp_socket {
            self.write_udp(key);
        }
    }

    fn write_udp(&mut self, key: usize) {
        loop {
            let frame = match self.sessions.get(key) {
                Some(session) => self.frame_for(session),
                None => return,
            };
            let Some(session) = self.sessions.get_mut(key) else {
                return;
            };
            let busy = matches!(
                &session.media,
                Media::Udp {
                    sending: Some(_),
                    ..
                }
            );
            if !busy {
                let Some(frame) = frame else {
                    return;
                };
                let report = &mut self.report;
                report.clear();
                let sending = Self::start_frame(session, frame, 0, report, &self.limits);
                let Media::Udp {
                    rtcp,
                    client_rtcp,
                    sending: slot,
                    ..
                } = &mut session.media
                else {
                    return;
                };
                if !report.is_empty() {
                    // A lost report is harmless; the next one follows in a few seconds.
                    let _ = rtcp.send_to(report, *client_rtcp);
                }
                *slot = Some(sending);
            }
            let Media::Udp {
                rtp, sending: slot, ..
            } = &mut session.media
            else {
                return;
            };
            let Some(sending) = slot else {
                return;
            };
            match media::send_datagrams(rtp, sending) {
                Ok(()) if sending.packet >= sending.frame.layout.packets().len() => *slot = None,
                Ok(()) => return, // the socket buffer is full: wait for writable
                Err(err) => {
                    log::info!("RTP to a UDP viewer failed: {err}");
                    *slot = None;
                    return;
                }
            }
        }
    }

    fn remove_session(&mut self, key: usize) {
        let Some(mut session) = self.sessions.try_remove(key) else {
            return;
        };
        self.session_ids.remove(&session.id);
        match &mut session.media {
            Media::Udp { rtp, rtcp, .. } => {
                let _ = self.poll.registry().deregister(rtp);
                let _ = self.poll.registry().deregister(rtcp);
            }
            Media::Interleaved { conn, .. } => {
                if let Some(conn) = self.connections.get_mut(*conn) {
                    conn.session = None;
                }
            }
        }
    }

    // ---- deadlines ----

    fn sweep(&mut self) {
        let now = Instant::now();
        let (request_timeout, stall_timeout, session_timeout) = (
            self.limits.request_timeout,
            self.limits.stall_timeout,
            self.limits.session_timeout,
        );
        let expired: Vec<usize> = self
            .connections
            .iter()
            .filter(|(_, c)| {
                let slow_request = c
                    .request_since
                    .is_some_and(|t| now.duration_since(t) > request_timeout);
                let stalled = c.busy() && now.duration_since(c.last_progress) > stall_timeout;
                let idle = c.session.is_none()
                    && !c.busy()
                    && now.duration_since(c.last_heard) > session_timeout;
                slow_request || stalled || idle
            })
            .map(|(key, _)| key)
            .collect();
        for key in expired {
            if let Some(conn) = self.connections.get(key) {
                log::info!("closing RTSP connection of {}: timed out", conn.peer);
            }
            self.close(key);
        }
        let epoch = self.gate.epoch();
        let gone: Vec<usize> = self
            .sessions
            .iter_mut()
            .filter_map(|(key, s)| {
                let timed_out = matches!(s.media, Media::Udp { .. })
                    && now.duration_since(s.last_heard) > session_timeout;
                let revoked = s.checked_epoch != epoch && {
                    s.checked_epoch = epoch;
                    !s.login.with_login(|login| self.gate.still_allowed(login))
                };
                (timed_out || revoked).then_some(key)
            })
            .collect();
        for key in gone {
            let conn = match self.sessions.get(key).map(|s| &s.media) {
                Some(Media::Interleaved { conn, .. }) => Some(*conn),
                _ => None,
            };
            self.remove_session(key);
            // An interleaved viewer whose login was revoked loses its connection too.
            if let Some(conn) = conn {
                self.close(conn);
            }
        }
    }

    // ---- requests ----

    fn answer(&mut self, key: usize, request: &Request) {
        let reply = match request.method {
            Method::Options => self.options(key, request),
            Method::Describe => self.describe(key, request),
            Method::Setup => self.setup(key, request),
            Method::Play => self.play(key, request, true),
            Method::Pause => self.play(key, request, false),
            Method::Teardown => self.teardown(request),
            Method::GetParameter | Method::SetParameter => self.keep_alive(request),
            Method::Other => Err(Reply::status(405).header("Allow", PUBLIC)),
        };
        let reply = reply.unwrap_or_else(|refusal| refusal);
        if let Some(conn) = self.connections.get_mut(key) {
            reply.render(request.cseq, &mut conn.output);
        }
    }

    /// Checks the login of a request; a refusal is a `401` with fresh challenges.
    fn authorize(&mut self, key: usize, request: &Request) -> Result<Stored, Reply> {
        let peer = self.connections[key].peer.ip();
        let challenge = |stale| {
            let [digest, basic] = self.auth.challenges(stale);
            Reply::status(401)
                .header("WWW-Authenticate", &digest)
                .header("WWW-Authenticate", &basic)
        };
        let stored = match self
            .auth
            .read(request.header("Authorization"), &request.method_token)
        {
            Ok(stored) => stored,
            Err(Unusable::StaleNonce) => return Err(challenge(true)),
            Err(Unusable::Malformed) => return Err(challenge(false)),
        };
        match stored.with_login(|login| self.gate.admit(peer, login)) {
            Verdict::Allowed => Ok(stored),
            verdict => {
                if stored != Stored::Anonymous {
                    log::info!("RTSP 401 for {peer}: {verdict:?}");
                }
                Err(challenge(false))
            }
        }
    }

    /// OPTIONS needs a login like DESCRIBE (the camera tells strangers nothing), except as
    /// the keep-alive of a session, whose id already stands for one.
    fn options(&mut self, key: usize, request: &Request) -> Result<Reply, Reply> {
        if request.session().is_some() {
            self.session_of(request, "")?;
        } else {
            self.authorize(key, request)?;
        }
        Ok(Reply::ok().header("Public", PUBLIC))
    }

    fn describe(&mut self, key: usize, request: &Request) -> Result<Reply, Reply> {
        check_uri(&request.uri)?;
        self.authorize(key, request)?;
        let conn = &mut self.connections[key];
        conn.described = true;
        let (width, height) = self
            .current
            .as_ref()
            .map(|f| (f.layout.info().width, f.layout.info().height))
            .unwrap_or_default();
        let sdp = sdp(conn.local.ip(), width, height);
        let base = if request.uri.ends_with('/') {
            request.uri.clone()
        } else {
            format!("{}/", request.uri)
        };
        Ok(Reply::ok()
            .header("Content-Base", &base)
            .body("application/sdp", sdp))
    }

    fn setup(&mut self, key: usize, request: &Request) -> Result<Reply, Reply> {
        check_uri(&request.uri)?;
        let login = self.authorize(key, request)?;
        if !self.connections[key].described {
            return Err(Reply::status(455).reason("DESCRIBE first"));
        }
        if request.session().is_some() {
            // One track: a second SETUP in a session would change nothing we can offer.
            return Err(Reply::status(459).reason("one track per session"));
        }
        let offer = request
            .header("Transport")
            .and_then(transport::choose)
            .ok_or_else(|| Reply::status(461).reason("RTP/AVP unicast, UDP or TCP"))?;
        if self.sessions.len() >= self.limits.max_sessions {
            return Err(Reply::status(453).reason("viewer limit reached"));
        }
        let conn = &self.connections[key];
        if matches!(offer, Offer::Interleaved { .. }) && conn.session.is_some() {
            return Err(Reply::status(455).reason("this connection already carries a session"));
        }
        let (peer, local) = (conn.peer, conn.local);
        let entry = self.sessions.vacant_entry();
        let session_key = entry.key();
        let (media, transport) = match offer {
            Offer::Interleaved { rtp, rtcp } => (
                Media::Interleaved {
                    conn: key,
                    rtp,
                    rtcp,
                },
                format!("RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp}"),
            ),
            Offer::Udp { rtp, rtcp } => {
                let (sockets, ports) = media::udp_pair(local.ip()).map_err(|err| {
                    log::warn!("cannot open RTP sockets: {err}");
                    Reply::status(500)
                })?;
                let (mut rtp_socket, mut rtcp_socket) = sockets;
                let client_rtp = SocketAddr::new(peer.ip(), rtp);
                let client_rtcp = SocketAddr::new(peer.ip(), rtcp);
                let registered = rtp_socket
                    .connect(client_rtp)
                    .and_then(|()| {
                        self.poll.registry().register(
                            &mut rtp_socket,
                            rtp_token(session_key),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                    })
                    .and_then(|()| {
                        self.poll.registry().register(
                            &mut rtcp_socket,
                            rtcp_token(session_key),
                            Interest::READABLE,
                        )
                    });
                if let Err(err) = registered {
                    log::warn!("cannot register RTP sockets: {err}");
                    return Err(Reply::status(500));
                }
                (
                    Media::Udp {
                        rtp: rtp_socket,
                        rtcp: rtcp_socket,
                        client_rtcp,
                        sending: None,
                    },
                    format!(
                        "RTP/AVP;unicast;client_port={rtp}-{rtcp};server_port={}-{}",
                        ports.0, ports.1
                    ),
                )
            }
        };
        let now = Instant::now();
        let ids = random_u64s::<3>().map_err(|err| {
            log::error!("no random numbers for a session id: {err}");
            Reply::status(500)
        })?;
        let id = format!("{:016X}", ids[0]);
        let ssrc = ids[1] as u32;
        let session = Session {
            id: id.clone(),
            ssrc,
            next_seq: (ids[1] >> 32) as u16,
            ts_base: ids[2] as u32,
            created: now,
            media,
            playing: false,
            last_heard: now,
            login,
            checked_epoch: self.gate.epoch(),
            last_frame: 0,
            packets: 0,
            octets: 0,
            next_report: now,
            control_uri: request.uri.clone(),
        };
        entry.insert(session);
        self.session_ids.insert(id.clone(), session_key);
        if matches!(offer, Offer::Interleaved { .. }) {
            self.connections[key].session = Some(session_key);
        }
        log::info!(
            "RTSP session for {} ({peer}): {transport}",
            self.sessions[session_key]
                .login
                .user()
                .unwrap_or("anonymous")
        );
        Ok(Reply::ok()
            .header("Transport", &format!("{transport};ssrc={ssrc:08X}"))
            .header(
                "Session",
                &format!("{id};timeout={}", self.limits.session_timeout.as_secs()),
            ))
    }

    fn session_of(&mut self, request: &Request, verb: &'static str) -> Result<usize, Reply> {
        let id = request
            .session()
            .ok_or_else(|| Reply::status(455).reason(verb))?;
        let key = *self.session_ids.get(id).ok_or_else(|| Reply::status(454))?;
        if let Some(session) = self.sessions.get_mut(key) {
            session.last_heard = Instant::now();
        }
        Ok(key)
    }

    fn play(&mut self, key: usize, request: &Request, play: bool) -> Result<Reply, Reply> {
        let verb = if play {
            "PLAY needs a session from SETUP"
        } else {
            "PAUSE needs a session from SETUP"
        };
        let session_key = self.session_of(request, verb)?;
        let current = self.current.as_ref().map_or(0, |f| f.seq);
        let session = &mut self.sessions[session_key];
        if let Media::Interleaved { conn, .. } = session.media {
            if conn != key {
                // An interleaved session's media and control share its one connection.
                return Err(Reply::status(455).reason("use the session's connection"));
            }
        }
        let was_playing = session.playing;
        session.playing = play;
        if play && !was_playing {
            // From the next frame on, like a new /mjpeg.cgi viewer.
            session.last_frame = current;
        }
        let mut reply = Reply::ok().header("Session", &session.id);
        if play {
            let rtp_info = format!(
                "url={};seq={};rtptime={}",
                session.control_uri,
                session.next_seq,
                session.timestamp_at(Instant::now())
            );
            reply = reply
                .header("Range", "npt=0.000-")
                .header("RTP-Info", &rtp_info);
        }
        Ok(reply)
    }

    fn teardown(&mut self, request: &Request) -> Result<Reply, Reply> {
        let key = self.session_of(request, "TEARDOWN needs a session")?;
        self.remove_session(key);
        Ok(Reply::ok())
    }

    fn keep_alive(&mut self, request: &Request) -> Result<Reply, Reply> {
        if request.session().is_some() {
            let key = self.session_of(request, "")?;
            return Ok(Reply::ok().header("Session", &self.sessions[key].id));
        }
        Ok(Reply::ok())
    }
}

fn respond_bad<C>(conn: &mut Connection<C>, bad: &BadRequest) {
    let mut reply = Reply::status(bad.status).reason(bad.reason);
    reply.headers.push(("Connection", "close".into()));
    let mut out = Vec::new();
    reply.render(bad.cseq.unwrap_or(0), &mut out);
    if bad.cseq.is_none() {
        // Without a CSeq to echo, the line is left out rather than invented.
        let text = String::from_utf8_lossy(&out).replace("CSeq: 0\r\n", "");
        out = text.into_bytes();
    }
    conn.output.extend_from_slice(&out);
}

/// Session ids must not be guessable: they stand for the login of later requests.
fn random_u64s<const N: usize>() -> io::Result<[u64; N]> {
    let mut words = [0u64; N];
    for word in &mut words {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).map_err(|err| io::Error::other(err.to_string()))?;
        *word = u64::from_le_bytes(bytes);
    }
    Ok(words)
}
