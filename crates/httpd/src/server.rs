//! The event loop: listeners, connections, limits, deferred replies and shutdown.
//!
//! One thread runs one `mio::Poll`. Sockets are registered once, edge-triggered, for both
//! readiness kinds, so the loop never re-registers on the hot path. Every connection is driven
//! by the same routine — read what is there, answer what is complete, write what can be
//! written — after any event that may have changed it: socket readiness, a deferred reply
//! arriving from another thread, a new stream chunk, or the periodic sweep of deadlines.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::request::{parse_head, parse_params, BadRequest, Head, Method, Request};
use crate::response::{Body, Response, Status};
use crate::stream::{lock, StreamBody};

/// Limits that keep one client from hurting the others. Every field has a safe default.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request head (request line and headers) in bytes.
    pub max_head_bytes: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Most open connections; past it new clients get `503` and are closed.
    pub max_connections: usize,
    /// Time allowed for a whole request to arrive once its first byte has (slowloris guard).
    pub request_timeout: Duration,
    /// Time an idle keep-alive connection stays open.
    pub keepalive_timeout: Duration,
    /// Time a response or stream may make no write progress before the client is dropped.
    pub stall_timeout: Duration,
    /// Time shutdown waits for responses in flight before closing everything.
    pub drain_timeout: Duration,
    /// Kernel send buffer of a streaming connection. Small enough that a slow viewer holds
    /// a few chunks, not seconds of stale video, in the kernel; large enough for one chunk.
    pub stream_send_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 8 * 1024,
            max_body_bytes: 64 * 1024,
            max_connections: 256,
            request_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(5),
            stream_send_buffer: 256 * 1024,
        }
    }
}

/// Turns requests into responses. It runs on the event loop: it must not block. Slow work
/// (disk syncs, network) is handed to another thread with [`Request::defer`].
pub trait Handler: Send + 'static {
    /// Answers one request.
    fn handle(&mut self, request: &Request) -> Reply;

    /// Called from the loop a few times a second, whatever the traffic: proof of life for a
    /// watchdog, a chance for periodic housekeeping. Must not block either.
    fn tick(&mut self, _now: Instant) {}
}

/// A handler's answer: a response now, or the promise of one from a [`Responder`].
pub enum Reply {
    /// Send this response.
    Now(Response),
    /// A [`Responder`] obtained from [`Request::defer`] will complete the request.
    Later(Pending),
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Reply::Now(response)
    }
}

/// Proof that a [`Responder`] exists for the request; only [`Request::defer`] makes one.
pub struct Pending(());

/// Completes a deferred request from any thread. Dropping it unanswered sends `500`.
pub struct Responder {
    inbox: Arc<Inbox>,
    token: Token,
    request_id: u64,
    answered: bool,
}

impl Responder {
    /// Sends `response` to the client whose request was deferred.
    pub fn complete(mut self, response: Response) {
        self.answered = true;
        self.inbox
            .deliver(self.token, self.request_id, response, None);
    }

    /// Sends `response` like [`Responder::complete`], and returns a [`Flushed`] that tells
    /// when its last byte has been written to the socket: for work that must not start
    /// before the client has its answer (a reboot, a new address).
    pub fn complete_watched(mut self, response: Response) -> Flushed {
        self.answered = true;
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        self.inbox
            .deliver(self.token, self.request_id, response, Some(sender));
        Flushed(receiver)
    }
}

/// Learns when a response sent with [`Responder::complete_watched`] has been written.
#[derive(Debug)]
pub struct Flushed(std::sync::mpsc::Receiver<()>);

impl Flushed {
    /// Waits until the response has been written to the socket (`true`), the connection
    /// closed before that, or `timeout` passed (`false`).
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        self.0.recv_timeout(timeout).is_ok()
    }
}

/// Signals a [`Flushed`] once the output queued so far has gone out; dropping it
/// unsignalled (the connection closed) wakes the waiter with `false`.
type FlushSignal = std::sync::mpsc::SyncSender<()>;

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.answered {
            let response = Response::error(Status::InternalError, "request was not answered");
            self.inbox
                .deliver(self.token, self.request_id, response, None);
        }
    }
}

/// Where deferred replies wait for the event loop.
struct Inbox {
    replies: Mutex<Vec<Delivery>>,
    waker: Arc<Waker>,
}

/// A deferred reply for a connection's request, with who wants to know it went out.
type Delivery = (Token, u64, Response, Option<FlushSignal>);

impl Inbox {
    fn deliver(
        &self,
        token: Token,
        request_id: u64,
        response: Response,
        flushed: Option<FlushSignal>,
    ) {
        lock(&self.replies).push((token, request_id, response, flushed));
        if let Err(err) = self.waker.wake() {
            log::error!("cannot wake the HTTP server: {err}");
        }
    }
}

/// What a [`Request`] needs to defer itself.
pub(crate) struct Deferral {
    inbox: Arc<Inbox>,
    token: Token,
    request_id: u64,
}

impl Request {
    /// Defers the answer: return the [`Pending`] as `Reply::Later` and complete the
    /// [`Responder`] from any thread. Requests behind it on the connection wait their turn.
    pub fn defer(&self) -> (Responder, Pending) {
        let responder = Responder {
            inbox: Arc::clone(&self.deferral.inbox),
            token: self.deferral.token,
            request_id: self.deferral.request_id,
            answered: false,
        };
        (responder, Pending(()))
    }
}

/// Identifies a listener added to a running server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

enum Control {
    AddListener(ListenerId, std::net::TcpListener),
    RemoveListener(ListenerId),
    Shutdown,
}

struct ControlQueue {
    commands: Mutex<Vec<Control>>,
    waker: Arc<Waker>,
    next_listener: AtomicU64,
}

/// Controls a running [`Server`] from other threads: listeners and shutdown. Cheap to clone.
#[derive(Clone)]
pub struct ServerHandle {
    control: Arc<ControlQueue>,
}

impl ServerHandle {
    /// Starts accepting on `listener` (already bound), e.g. the spec's second HTTP port.
    pub fn add_listener(&self, listener: std::net::TcpListener) -> ListenerId {
        let id = ListenerId(self.control.next_listener.fetch_add(1, Ordering::Relaxed));
        self.send(Control::AddListener(id, listener));
        id
    }

    /// Stops accepting on a listener; its open connections carry on.
    pub fn remove_listener(&self, id: ListenerId) {
        self.send(Control::RemoveListener(id));
    }

    /// Stops accepting, lets responses in flight finish, closes streams, then ends `run`.
    pub fn shutdown(&self) {
        self.send(Control::Shutdown);
    }

    fn send(&self, command: Control) {
        lock(&self.control.commands).push(command);
        if let Err(err) = self.control.waker.wake() {
            log::error!("cannot wake the HTTP server: {err}");
        }
    }
}

const WAKER: Token = Token(usize::MAX);
/// Listener tokens live in the upper half of the token space, far above any connection
/// slot (bounded by `max_connections`). Half of `usize` rather than a fixed power of two,
/// so the split holds on 32-bit targets (armv7 camera SoCs) as on 64-bit ones.
const LISTENER_BASE: usize = usize::MAX / 2;
/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 4096;
/// Queued output past which a connection stops answering pipelined requests until the
/// client reads: bounds memory per connection.
const OUTPUT_HIGH_WATER: usize = 256 * 1024;
/// How long a closing connection keeps draining input so that the client sees our answer
/// instead of a reset.
const LINGER: Duration = Duration::from_secs(2);
/// The interim answer to a request head with `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// Refused connections held at once while their `503` goes out.
const MAX_REFUSED: usize = 64;
const CAP_REACHED: &[u8] = b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Content-Length: 26\r\nConnection: close\r\n\r\nconnection limit reached\r\n";

/// The HTTP server. Build it, add listeners, then [`run`](Server::run) it on its own thread.
pub struct Server<H: Handler> {
    poll: Poll,
    handler: H,
    limits: Limits,
    connections: Slab<Connection>,
    listeners: HashMap<ListenerId, TcpListener>,
    control: Arc<ControlQueue>,
    inbox: Arc<Inbox>,
    waker: Arc<Waker>,
    next_request_id: u64,
    draining_since: Option<Instant>,
    stream_keys: Vec<usize>,
    /// Connections refused past the cap, held (unregistered) until their deadline so that
    /// the `503` reaches the client before the close; see [`Server::refuse_over_cap`].
    refused: VecDeque<(TcpStream, Instant)>,
}

impl<H: Handler> Server<H> {
    /// A server with no listeners yet.
    pub fn new(limits: Limits, handler: H) -> io::Result<(Self, ServerHandle)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let control = Arc::new(ControlQueue {
            commands: Mutex::new(Vec::new()),
            waker: Arc::clone(&waker),
            next_listener: AtomicU64::new(0),
        });
        let inbox = Arc::new(Inbox {
            replies: Mutex::new(Vec::new()),
            waker: Arc::clone(&waker),
        });
        let handle = ServerHandle {
            control: Arc::clone(&control),
        };
        let server = Server {
            poll,
            handler,
            limits,
            connections: Slab::new(),
            listeners: HashMap::new(),
            control,
            inbox,
            waker,
            next_request_id: 0,
            draining_since: None,
            stream_keys: Vec::new(),
            refused: VecDeque::new(),
        };
        Ok((server, handle))
    }

    /// Serves until [`ServerHandle::shutdown`] and the drain that follows it.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        let tick = self.sweep_interval();
        let mut next_sweep = Instant::now() + tick;
        loop {
            self.apply_control()?;
            if self.drained() {
                return Ok(());
            }
            let timeout = next_sweep.saturating_duration_since(Instant::now());
            if let Err(err) = self.poll.poll(&mut events, Some(timeout)) {
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            let mut woken = false;
            for event in events.iter() {
                match event.token() {
                    WAKER => woken = true,
                    Token(t) if t >= LISTENER_BASE => {
                        self.accept(ListenerId((t - LISTENER_BASE) as u64))
                    }
                    token => {
                        if let Some(conn) = self.connections.get_mut(token.0) {
                            conn.note_readiness(event);
                        }
                        self.drive(token);
                    }
                }
            }
            if woken {
                self.deliver_replies();
                self.pump_streams();
            }
            if Instant::now() >= next_sweep {
                self.sweep();
                self.handler.tick(Instant::now());
                next_sweep = Instant::now() + tick;
            }
        }
    }

    fn sweep_interval(&self) -> Duration {
        let shortest = [
            self.limits.request_timeout,
            self.limits.keepalive_timeout,
            self.limits.stall_timeout,
        ]
        .into_iter()
        .min()
        .unwrap_or(Duration::from_secs(1));
        (shortest / 4).clamp(Duration::from_millis(10), Duration::from_millis(500))
    }

    fn apply_control(&mut self) -> io::Result<()> {
        let commands = std::mem::take(&mut *lock(&self.control.commands));
        for command in commands {
            match command {
                Control::AddListener(id, listener) => {
                    listener.set_nonblocking(true)?;
                    let mut listener = TcpListener::from_std(listener);
                    let token = Token(LISTENER_BASE + id.0 as usize);
                    self.poll
                        .registry()
                        .register(&mut listener, token, Interest::READABLE)?;
                    self.listeners.insert(id, listener);
                }
                Control::RemoveListener(id) => {
                    if let Some(mut listener) = self.listeners.remove(&id) {
                        self.poll.registry().deregister(&mut listener)?;
                    }
                }
                Control::Shutdown => self.begin_drain(),
            }
        }
        Ok(())
    }

    fn begin_drain(&mut self) {
        if self.draining_since.is_some() {
            return;
        }
        self.draining_since = Some(Instant::now());
        self.listeners.clear();
        let idle: Vec<usize> = self
            .connections
            .iter()
            .filter(|(_, c)| c.is_idle_or_streaming())
            .map(|(key, _)| key)
            .collect();
        for key in idle {
            self.close(Token(key));
        }
    }

    fn drained(&mut self) -> bool {
        let Some(since) = self.draining_since else {
            return false;
        };
        let out_of_time = since.elapsed() >= self.limits.drain_timeout;
        let keys: Vec<usize> = self
            .connections
            .iter()
            .filter(|(_, c)| out_of_time || matches!(c.phase, Phase::Lingering(_)))
            .map(|(key, _)| key)
            .collect();
        {
            for key in keys {
                self.close(Token(key));
            }
        }
        self.connections.is_empty()
    }

    fn accept(&mut self, id: ListenerId) {
        loop {
            let Some(listener) = self.listeners.get(&id) else {
                return;
            };
            match listener.accept() {
                Ok((socket, peer)) => self.admit(socket, peer),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    log::warn!("accept failed: {err}");
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut socket: TcpStream, peer: SocketAddr) {
        // An IPv4 client of a dual-stack socket (systemd's `BindIPv6Only=both`) arrives as
        // `::ffff:a.b.c.d`; handlers and logs see the plain IPv4 address NVRs expect.
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        if self.connections.len() >= self.limits.max_connections {
            log::warn!("connection limit reached, refusing {peer}");
            self.refuse_over_cap(socket);
            return;
        }
        let _ = socket.set_nodelay(true);
        let entry = self.connections.vacant_entry();
        let token = Token(entry.key());
        if let Err(err) = self.poll.registry().register(
            &mut socket,
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::warn!("cannot register connection from {peer}: {err}");
            return;
        }
        entry.insert(Connection::new(socket, peer));
    }

    fn deliver_replies(&mut self) {
        let replies = std::mem::take(&mut *lock(&self.inbox.replies));
        for (token, request_id, response, flushed) in replies {
            let Some(conn) = self.connections.get_mut(token.0) else {
                continue;
            };
            if let Phase::Waiting(waiting) = &conn.phase {
                if waiting.request_id == request_id {
                    let waiting = *waiting;
                    conn.phase = Phase::Reading;
                    let draining = self.draining_since.is_some();
                    conn.queue(response, waiting, draining, &self.waker, &self.limits);
                    conn.flushed.extend(flushed);
                    self.drive(token);
                }
            }
        }
    }

    /// Offers the newest chunk to every streaming connection; runs once per published
    /// chunk, so it reuses one list of keys instead of allocating.
    fn pump_streams(&mut self) {
        let mut streaming = std::mem::take(&mut self.stream_keys);
        streaming.clear();
        streaming.extend(
            self.connections
                .iter()
                .filter(|(_, c)| matches!(c.phase, Phase::Streaming(_)))
                .map(|(key, _)| key),
        );
        for &key in &streaming {
            self.drive(Token(key));
        }
        self.stream_keys = streaming;
    }

    /// Reads, answers and writes until the connection can make no more progress.
    fn drive(&mut self, token: Token) {
        let outcome = loop {
            let Some(conn) = self.connections.get_mut(token.0) else {
                return;
            };
            let read = match conn.read_available(&self.limits) {
                Ok(read) => read,
                Err(_) => break Drive::Close,
            };
            let answered = self.answer_complete_requests(token);
            let Some(conn) = self.connections.get_mut(token.0) else {
                return;
            };
            let wrote = match conn.write_available() {
                Ok(wrote) => wrote,
                Err(_) => break Drive::Close,
            };
            if conn.finished() {
                break Drive::Close;
            }
            if !(read || answered || wrote) {
                break Drive::Idle;
            }
        };
        if let Drive::Close = outcome {
            self.close(token);
        }
    }

    /// Hands every complete request in the input buffer to the handler, in order.
    fn answer_complete_requests(&mut self, token: Token) -> bool {
        let mut answered = false;
        let draining = self.draining_since.is_some();
        loop {
            let Some(conn) = self.connections.get_mut(token.0) else {
                return answered;
            };
            if !matches!(conn.phase, Phase::Reading) || conn.output_len >= OUTPUT_HIGH_WATER {
                return answered;
            }
            let (head, head_len) = match conn.take_request(&self.limits) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => return answered,
                Err(BadRequest(reason)) => {
                    conn.refuse(reason);
                    return true;
                }
            };
            answered = true;
            let request = match self.build_request(token, &head, head_len) {
                Ok(request) => request,
                Err(BadRequest(reason)) => {
                    let conn = &mut self.connections[token.0];
                    conn.consume(head_len + head.content_length);
                    conn.refuse(reason);
                    return true;
                }
            };
            let reply = self.call_handler(&request);
            let conn = &mut self.connections[token.0];
            conn.consume(head_len + head.content_length);
            let waiting = Waiting {
                request_id: request.deferral.request_id,
                version: request.version,
                keep_alive: !head.wants_close,
                head_only: head.method == Method::Head,
            };
            match reply {
                Reply::Now(response) => {
                    conn.queue(response, waiting, draining, &self.waker, &self.limits)
                }
                Reply::Later(Pending(())) => conn.phase = Phase::Waiting(waiting),
            }
        }
    }

    fn build_request(
        &mut self,
        token: Token,
        head: &Head,
        head_len: usize,
    ) -> Result<Request, BadRequest> {
        let conn = &self.connections[token.0];
        let (mut params, mut binary_params) = (Vec::new(), Vec::new());
        parse_params(head.query.as_bytes(), &mut params, &mut binary_params)?;
        let start = conn.input_start + head_len;
        let body = &conn.input[start..start + head.content_length];
        let mut raw_body = Vec::new();
        if head.method == Method::Post && head.body_is_form {
            parse_params(body, &mut params, &mut binary_params)?;
        } else if head.method == Method::Post && head.body_is_xml {
            raw_body = body.to_vec();
        }
        self.next_request_id += 1;
        Ok(Request {
            method: head.method,
            path: head.path.clone(),
            version: head.version,
            params,
            binary_params,
            credentials: head.credentials.clone(),
            body: raw_body,
            host: head.host.clone(),
            peer: conn.peer,
            if_none_match: head.if_none_match.clone(),
            forwarded_for: head.forwarded_for.clone(),
            foreign_origin: head.foreign_origin,
            deferral: Deferral {
                inbox: Arc::clone(&self.inbox),
                token,
                request_id: self.next_request_id,
            },
        })
    }

    fn call_handler(&mut self, request: &Request) -> Reply {
        let handler = &mut self.handler;
        catch_unwind(AssertUnwindSafe(|| handler.handle(request))).unwrap_or_else(|_| {
            log::error!("handler panicked on {}", request.path);
            Reply::Now(Response::error(Status::InternalError, "internal error"))
        })
    }

    /// Answers `503` and keeps the socket for [`LINGER`] before closing it, its input
    /// drained: a socket closed with the client's request still unread makes the kernel
    /// send a reset, which can overtake the `503` and leave the client with only "connection
    /// reset". At most [`MAX_REFUSED`] are held (the oldest goes first), so a flood past
    /// the cap costs a bounded number of descriptors.
    fn refuse_over_cap(&mut self, mut socket: TcpStream) {
        let _ = socket.write(CAP_REACHED);
        let _ = socket.shutdown(Shutdown::Write);
        if self.refused.len() >= MAX_REFUSED {
            if let Some((oldest, _)) = self.refused.pop_front() {
                close_drained(oldest);
            }
        }
        self.refused.push_back((socket, Instant::now() + LINGER));
    }

    fn sweep(&mut self) {
        let now = Instant::now();
        while self.refused.front().is_some_and(|(_, until)| *until <= now) {
            if let Some((socket, _)) = self.refused.pop_front() {
                close_drained(socket);
            }
        }
        let expired: Vec<usize> = self
            .connections
            .iter_mut()
            .filter_map(|(key, conn)| conn.check_deadlines(now, &self.limits).then_some(key))
            .collect();
        for key in expired {
            self.drive(Token(key));
            if let Some(conn) = self.connections.get(key) {
                if conn.expired(now, &self.limits) {
                    self.close(Token(key));
                }
            }
        }
    }

    fn close(&mut self, token: Token) {
        if self.connections.contains(token.0) {
            let mut conn = self.connections.remove(token.0);
            let _ = self.poll.registry().deregister(&mut conn.socket);
        }
    }
}

enum Drive {
    Idle,
    Close,
}

/// What a connection remembers of the request being answered.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    request_id: u64,
    version: crate::request::Version,
    keep_alive: bool,
    head_only: bool,
}

enum Phase {
    /// Reading and answering requests.
    Reading,
    /// A deferred reply is outstanding; input waits in the buffer.
    Waiting(Waiting),
    /// Writing a stream after its head.
    Streaming(StreamState),
    /// Flushing the last response; then the write side closes.
    Closing,
    /// Our side is closed; discard input until the client closes or time runs out.
    Lingering(Instant),
}

struct StreamState {
    body: StreamBody,
    writing: bool,
    offset: usize,
}

struct Connection {
    socket: TcpStream,
    peer: SocketAddr,
    input: Vec<u8>,
    input_start: usize,
    output: VecDeque<Bytes>,
    output_offset: usize,
    output_len: usize,
    phase: Phase,
    peer_closed: bool,
    request_started: Option<Instant>,
    /// Whether a whole request has arrived on this connection yet.
    served_any: bool,
    /// `100 Continue` went out for the request whose body is arriving.
    continue_sent: bool,
    last_activity: Instant,
    last_progress: Instant,
    /// The socket may have input: set by a readable event, cleared when a read would
    /// block. Sockets are edge-triggered, so a read or write that would block is a system
    /// call wasted; a frame pushed to a hundred viewers would cost three calls a viewer
    /// instead of one `writev`.
    may_read: bool,
    /// The socket may take output: set by a writable event, cleared when a write would block.
    may_write: bool,
    /// Signalled once the output queued with watched deferred replies is all written.
    flushed: Vec<FlushSignal>,
}

impl Connection {
    fn new(socket: TcpStream, peer: SocketAddr) -> Self {
        let now = Instant::now();
        Connection {
            socket,
            peer,
            input: Vec::new(),
            input_start: 0,
            output: VecDeque::new(),
            output_offset: 0,
            output_len: 0,
            phase: Phase::Reading,
            peer_closed: false,
            request_started: None,
            served_any: false,
            continue_sent: false,
            last_activity: now,
            last_progress: now,
            may_read: true,
            may_write: true,
            flushed: Vec::new(),
        }
    }

    /// Records what an event says the socket can do now.
    fn note_readiness(&mut self, event: &mio::event::Event) {
        self.may_read |= event.is_readable() || event.is_read_closed() || event.is_error();
        self.may_write |= event.is_writable() || event.is_write_closed() || event.is_error();
    }

    fn is_idle_or_streaming(&self) -> bool {
        match self.phase {
            Phase::Reading => self.output_len == 0,
            Phase::Streaming(_) => true,
            _ => false,
        }
    }

    fn pending_input(&self) -> &[u8] {
        &self.input[self.input_start..]
    }

    /// Reads whatever the socket holds, up to the room the limits leave.
    fn read_available(&mut self, limits: &Limits) -> io::Result<bool> {
        let capacity = limits.max_head_bytes + limits.max_body_bytes;
        let discard = matches!(self.phase, Phase::Streaming(_) | Phase::Lingering(_));
        let mut progressed = false;
        let mut chunk = [0u8; READ_CHUNK];
        while self.may_read
            && !self.peer_closed
            && (discard || self.pending_input().len() < capacity)
        {
            let room = if discard {
                READ_CHUNK
            } else {
                READ_CHUNK.min(capacity - self.pending_input().len())
            };
            match self.socket.read(&mut chunk[..room]) {
                Ok(0) => {
                    self.peer_closed = true;
                    progressed = true;
                }
                Ok(n) => {
                    progressed = true;
                    self.last_activity = Instant::now();
                    if !discard {
                        self.append_input(&chunk[..n]);
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.may_read = false,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
        Ok(progressed)
    }

    fn append_input(&mut self, bytes: &[u8]) {
        if self.input_start == self.input.len() {
            self.input.clear();
            self.input_start = 0;
        }
        if self.request_started.is_none() {
            self.request_started = Some(Instant::now());
        }
        self.input.extend_from_slice(bytes);
    }

    fn consume(&mut self, len: usize) {
        self.continue_sent = false;
        self.input_start += len;
        if self.input_start == self.input.len() {
            self.input.clear();
            self.input_start = 0;
            self.request_started = None;
            self.served_any = true;
            // Give back the memory of an unusually large request.
            if self.input.capacity() > 2 * READ_CHUNK {
                self.input.shrink_to(READ_CHUNK);
            }
        } else {
            self.request_started = Some(Instant::now());
        }
    }

    /// The next complete request head, once its body has arrived too.
    fn take_request(&mut self, limits: &Limits) -> Result<Option<(Head, usize)>, BadRequest> {
        let pending = self.pending_input();
        if pending.is_empty() {
            return Ok(None);
        }
        match parse_head(pending, limits.max_body_bytes)? {
            None if pending.len() > limits.max_head_bytes => {
                Err(BadRequest("request head too large"))
            }
            None => Ok(None),
            Some((_, head_len)) if head_len > limits.max_head_bytes => {
                Err(BadRequest("request head too large"))
            }
            Some((head, head_len)) if pending.len() < head_len + head.content_length => {
                if self.peer_closed {
                    return Err(BadRequest("request body shorter than Content-Length"));
                }
                // The head passed every check a body could still fail: ask for the body
                // (RFC 9110 10.1.1) instead of letting the client wait out its timeout.
                if head.expects_continue && !self.continue_sent {
                    self.continue_sent = true;
                    self.push_output(Bytes::from_static(CONTINUE));
                }
                Ok(None)
            }
            Some(parsed) => Ok(Some(parsed)),
        }
    }

    /// Answers `400` with a reason and closes: after a malformed request the stream cannot
    /// be trusted to be in sync.
    fn refuse(&mut self, reason: &'static str) {
        self.input.clear();
        self.input_start = 0;
        let response = Response::error(Status::BadRequest, reason);
        let head = response.render_head(crate::request::Version::Http11, false);
        self.push_output(Bytes::from(head));
        if let Body::Full(body) = response.body {
            self.push_output(body);
        }
        self.phase = Phase::Closing;
    }

    /// Queues the answer to the request described by `waiting`.
    fn queue(
        &mut self,
        response: Response,
        waiting: Waiting,
        draining: bool,
        waker: &Arc<Waker>,
        limits: &Limits,
    ) {
        let keep_alive = waiting.keep_alive
            && waiting.version == crate::request::Version::Http11
            && !response.is_stream()
            && !draining;
        self.push_output(Bytes::from(
            response.render_head(waiting.version, keep_alive),
        ));
        let trailer = response.close_trailer;
        match response.body {
            _ if waiting.head_only => {}
            Body::Full(body) => {
                self.push_output(body);
                if !keep_alive && !trailer.is_empty() {
                    self.push_output(Bytes::from_static(trailer));
                }
            }
            Body::Stream(mut body) => {
                if let Err(err) = set_send_buffer(&self.socket, limits.stream_send_buffer) {
                    log::warn!("cannot size the send buffer for {}: {err}", self.peer);
                }
                body.source.attach(waker);
                self.phase = Phase::Streaming(StreamState {
                    body,
                    writing: false,
                    offset: 0,
                });
                return;
            }
        }
        if !keep_alive {
            self.phase = Phase::Closing;
        }
    }

    fn push_output(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        if self.output_len == 0 {
            self.last_progress = Instant::now();
        }
        self.output_len += bytes.len();
        self.output.push_back(bytes);
    }

    /// Writes queued output, then stream chunks; `true` if any byte went out.
    fn write_available(&mut self) -> io::Result<bool> {
        let mut progressed = self.write_output()?;
        if self.output_len == 0 {
            match &mut self.phase {
                Phase::Streaming(stream) if self.may_write => {
                    let (wrote, blocked) =
                        write_stream(&mut self.socket, stream, &mut self.last_progress)?;
                    progressed |= wrote;
                    self.may_write = !blocked;
                }
                Phase::Closing => {
                    let _ = self.socket.shutdown(Shutdown::Write);
                    self.phase = Phase::Lingering(Instant::now() + LINGER);
                    progressed = true;
                }
                _ => {}
            }
        }
        Ok(progressed)
    }

    fn write_output(&mut self) -> io::Result<bool> {
        let mut progressed = false;
        while self.may_write && self.output_len > 0 {
            let mut slices = [IoSlice::new(&[]); 8];
            let mut count = 0;
            for (i, bytes) in self.output.iter().take(slices.len()).enumerate() {
                let skip = if i == 0 { self.output_offset } else { 0 };
                slices[count] = IoSlice::new(&bytes[skip..]);
                count += 1;
            }
            match self.socket.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    progressed = true;
                    self.last_progress = Instant::now();
                    self.advance_output(n);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.may_write = false;
                    break;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
        Ok(progressed)
    }

    fn advance_output(&mut self, mut written: usize) {
        self.output_len -= written;
        if self.output_len == 0 {
            for flushed in self.flushed.drain(..) {
                // The waiter may have given up already; nothing to tell then.
                let _ = flushed.try_send(());
            }
        }
        while written > 0 {
            let front_left = self.output[0].len() - self.output_offset;
            if written >= front_left {
                written -= front_left;
                self.output.pop_front();
                self.output_offset = 0;
            } else {
                self.output_offset += written;
                written = 0;
            }
        }
    }

    /// Whether the connection has nothing more to do.
    fn finished(&self) -> bool {
        match self.phase {
            Phase::Lingering(_) => self.peer_closed,
            Phase::Streaming(_) => self.peer_closed,
            Phase::Reading => self.peer_closed && self.output_len == 0,
            Phase::Waiting(_) | Phase::Closing => false,
        }
    }

    /// Applies the request deadline (answering `400`); `true` if the connection needs driving.
    fn check_deadlines(&mut self, now: Instant, limits: &Limits) -> bool {
        if let (Phase::Reading, Some(started)) = (&self.phase, self.request_started) {
            if now.duration_since(started) > limits.request_timeout && self.output_len == 0 {
                self.refuse("request took too long to arrive");
                return true;
            }
        }
        self.expired(now, limits)
    }

    /// Whether a deadline other than the request's has passed.
    fn expired(&self, now: Instant, limits: &Limits) -> bool {
        let stalled = now.duration_since(self.last_progress) > limits.stall_timeout;
        match &self.phase {
            Phase::Reading if self.output_len > 0 => stalled,
            Phase::Reading => {
                // Connecting and staying silent is the cheapest slowloris: until a first
                // request has arrived, idling gets the request deadline, not keep-alive's.
                // The close is silent, as for an idle keep-alive connection, so a browser's
                // speculative connection never reads an answer it did not ask for.
                let idle_limit = if self.served_any {
                    limits.keepalive_timeout
                } else {
                    limits.request_timeout
                };
                self.request_started.is_none()
                    && now.duration_since(self.last_activity) > idle_limit
            }
            Phase::Waiting(_) => false,
            Phase::Streaming(stream) => (stream.writing || self.output_len > 0) && stalled,
            Phase::Closing => stalled,
            Phase::Lingering(until) => now >= *until,
        }
    }
}

/// Reads and discards what the client sent, then closes: with nothing unread, the close
/// is a FIN, not a reset.
fn close_drained(mut socket: TcpStream) {
    let mut sink = [0u8; READ_CHUNK];
    // Bounded: the socket is non-blocking and the client's input is finite.
    for _ in 0..64 {
        match socket.read(&mut sink) {
            Ok(n) if n > 0 => continue,
            _ => break,
        }
    }
}

/// Caps the kernel's send buffer of one socket (mio does not expose `SO_SNDBUF`).
fn set_send_buffer(socket: &TcpStream, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: the descriptor is open for the lifetime of `socket`, and the option value is a
    // c_int of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Writes stream chunks until the socket is full or no newer chunk exists; says whether
/// anything was written and whether the socket is full.
fn write_stream(
    socket: &mut TcpStream,
    stream: &mut StreamState,
    last_progress: &mut Instant,
) -> io::Result<(bool, bool)> {
    let mut progressed = false;
    loop {
        if !stream.writing {
            if !stream.body.allowed() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "the stream's viewer is no longer allowed",
                ));
            }
            if !stream.body.source.advance() {
                return Ok((progressed, false));
            }
            stream.writing = true;
            stream.offset = 0;
            *last_progress = Instant::now();
        }
        let segments = stream.body.source.segments();
        let total: usize = segments.iter().map(|s| s.len()).sum();
        let mut slices = [IoSlice::new(&[]); 3];
        let mut count = 0;
        let mut skip = stream.offset;
        for segment in segments {
            if skip >= segment.len() {
                skip -= segment.len();
                continue;
            }
            slices[count] = IoSlice::new(&segment[skip..]);
            skip = 0;
            count += 1;
        }
        if count == 0 {
            stream.writing = false;
            stream.body.source.release();
            continue;
        }
        match socket.write_vectored(&slices[..count]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                progressed = true;
                *last_progress = Instant::now();
                stream.offset += n;
                if stream.offset >= total {
                    stream.writing = false;
                    stream.body.stats.record_sent();
                    stream.body.source.release();
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok((progressed, true)),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}
