//! Live streams: one publisher, many connections, no copies and no queues.
//!
//! A [`Broadcast`] holds only the newest chunk. Publishing replaces it and wakes the event
//! loop; each streaming connection then takes a reference to the newest chunk whenever it has
//! finished writing the previous one. A client that reads slowly therefore skips chunks
//! instead of growing a queue, never slows the others, and pins at most the one chunk it is
//! writing (the idea of ustreamer's refcounted frame slots).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mio::Waker;

/// A unit of a stream: up to three byte slices sent back to back with one vectored write,
/// e.g. a multipart part header, a JPEG and its trailer. Cloning must be cheap (a refcount).
pub trait Chunk: Clone + Send + Sync + 'static {
    /// The slices, in order; any may be empty.
    fn segments(&self) -> [&[u8]; 3];
}

/// Delivery figures of one streaming connection, updated by the server, readable anywhere
/// (e.g. by an "active users" page).
#[derive(Debug)]
pub struct StreamStats {
    started: Instant,
    chunks_sent: AtomicU64,
}

impl StreamStats {
    /// Fresh figures for a stream starting now.
    pub fn new() -> Arc<Self> {
        Arc::new(StreamStats {
            started: Instant::now(),
            chunks_sent: AtomicU64::new(0),
        })
    }

    /// Chunks completely written to the client so far.
    pub fn chunks_sent(&self) -> u64 {
        self.chunks_sent.load(Ordering::Relaxed)
    }

    /// Mean milliseconds between delivered chunks since the stream started (0 before the first).
    pub fn millis_per_chunk(&self) -> u64 {
        let sent = self.chunks_sent();
        if sent == 0 {
            return 0;
        }
        self.started.elapsed().as_millis() as u64 / sent
    }

    pub(crate) fn record_sent(&self) {
        self.chunks_sent.fetch_add(1, Ordering::Relaxed);
    }
}

struct Shared<C> {
    newest: Mutex<Option<(u64, C)>>,
    published: Condvar,
    /// Threads in [`Broadcast::wait_newest`]: publishing signals `published` only when
    /// some wait, so the per-chunk path makes no wake-up system call for a start-up need.
    waiting: AtomicUsize,
    wakers: Mutex<Vec<Arc<Waker>>>,
}

/// The publishing side of a stream. Cheap to clone; all clones publish to the same readers.
pub struct Broadcast<C: Chunk> {
    shared: Arc<Shared<C>>,
}

impl<C: Chunk> Clone for Broadcast<C> {
    fn clone(&self) -> Self {
        Broadcast {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C: Chunk> Default for Broadcast<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Chunk> Broadcast<C> {
    /// A broadcast with nothing published yet.
    pub fn new() -> Self {
        Broadcast {
            shared: Arc::new(Shared {
                newest: Mutex::new(None),
                published: Condvar::new(),
                waiting: AtomicUsize::new(0),
                wakers: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Makes `chunk` the newest and wakes every server with readers. Never blocks on readers:
    /// the lock only guards a pointer swap.
    pub fn publish(&self, chunk: C) {
        let replaced = {
            let mut newest = lock(&self.shared.newest);
            let seq = newest.as_ref().map_or(1, |(seq, _)| seq + 1);
            newest.replace((seq, chunk))
        };
        // A waiter counts itself before it takes the lock to look, so once our swap above
        // is done under that lock, either it saw the chunk or this load sees it waiting.
        if self.shared.waiting.load(Ordering::SeqCst) > 0 {
            self.shared.published.notify_all();
        }
        // The previous chunk is released outside the lock: its drop may return a frame slot.
        drop(replaced);
        for waker in lock(&self.shared.wakers).iter() {
            if let Err(err) = waker.wake() {
                log::warn!("cannot wake the HTTP server: {err}");
            }
        }
    }

    /// The newest chunk, if any was published.
    pub fn newest(&self) -> Option<C> {
        lock(&self.shared.newest).as_ref().map(|(_, c)| c.clone())
    }

    /// The newest chunk, waiting up to `timeout` for the first one to be published (a daemon
    /// starting up uses it so that it answers snapshot requests as soon as it listens).
    pub fn wait_newest(&self, timeout: Duration) -> Option<C> {
        self.shared.waiting.fetch_add(1, Ordering::SeqCst);
        let newest = lock(&self.shared.newest);
        let (newest, _) = self
            .shared
            .published
            .wait_timeout_while(newest, timeout, |newest| newest.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        let chunk = newest.as_ref().map(|(_, c)| c.clone());
        drop(newest);
        self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        chunk
    }

    /// A stream body that delivers this broadcast's chunks from the next one published on.
    pub fn subscribe(&self, stats: Arc<StreamStats>) -> StreamBody {
        let last_seq = lock(&self.shared.newest)
            .as_ref()
            .map_or(0, |(seq, _)| *seq);
        StreamBody {
            source: Box::new(Subscription {
                shared: Arc::clone(&self.shared),
                last_seq,
                current: None,
            }),
            stats,
            permit: None,
        }
    }

    /// A reader for another event loop (e.g. an RTSP server): `waker` is woken on every
    /// publish, and [`Follower::newer`] takes the newest chunk once, like a stream here.
    pub fn follow(&self, waker: &Arc<Waker>) -> Follower<C> {
        let mut subscription = Subscription {
            shared: Arc::clone(&self.shared),
            last_seq: 0,
            current: None,
        };
        subscription.attach(waker);
        Follower(subscription)
    }
}

/// Follows a [`Broadcast`] from outside this crate's server; see [`Broadcast::follow`].
pub struct Follower<C: Chunk>(Subscription<C>);

impl<C: Chunk> Follower<C> {
    /// The newest chunk and its sequence number (1, 2, ... in publishing order) if it is
    /// newer than the last one this follower took.
    pub fn newer(&mut self) -> Option<(u64, C)> {
        if !self.0.advance() {
            return None;
        }
        self.0.current.take().map(|chunk| (self.0.last_seq, chunk))
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every critical
/// section here is a single push, take or swap), so poisoning is ignored.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a streaming connection reads from; type-erased so that one server can carry streams
/// of different chunk types.
pub(crate) trait Source: Send {
    /// Registers the server's waker so that publishing wakes it.
    fn attach(&mut self, waker: &Arc<Waker>);
    /// Takes the newest chunk if it is newer than the last one taken; `true` if it did.
    fn advance(&mut self) -> bool;
    /// The segments of the chunk taken by the last successful `advance`.
    fn segments(&self) -> [&[u8]; 3];
    /// Drops the reference to the current chunk once it is written.
    fn release(&mut self);
}

struct Subscription<C: Chunk> {
    shared: Arc<Shared<C>>,
    last_seq: u64,
    current: Option<C>,
}

impl<C: Chunk> Source for Subscription<C> {
    fn attach(&mut self, waker: &Arc<Waker>) {
        let mut wakers = lock(&self.shared.wakers);
        if !wakers.iter().any(|w| Arc::ptr_eq(w, waker)) {
            wakers.push(Arc::clone(waker));
        }
    }

    fn advance(&mut self) -> bool {
        let newest = lock(&self.shared.newest);
        match newest.as_ref() {
            Some((seq, chunk)) if *seq > self.last_seq => {
                self.last_seq = *seq;
                self.current = Some(chunk.clone());
                true
            }
            _ => false,
        }
    }

    fn segments(&self) -> [&[u8]; 3] {
        match &self.current {
            Some(chunk) => chunk.segments(),
            None => [&[], &[], &[]],
        }
    }

    fn release(&mut self) {
        self.current = None;
    }
}

/// Asked before each chunk whether the stream may go on; `false` ends it (see
/// [`StreamBody::while_allowed`]).
pub type Permit = Box<dyn Fn() -> bool + Send>;

/// The body of a streaming response: a subscription plus the figures the server keeps for it.
pub struct StreamBody {
    pub(crate) source: Box<dyn Source>,
    pub(crate) stats: Arc<StreamStats>,
    pub(crate) permit: Option<Permit>,
}

impl StreamBody {
    /// Ends the stream, between two chunks, once `permit` answers `false`: e.g. when the
    /// viewer's login is deleted or access control is switched on. The check runs on the
    /// event loop before every chunk, so it must be cheap in the common case (an atomic
    /// load), doing real work only when something changed.
    pub fn while_allowed(mut self, permit: impl Fn() -> bool + Send + 'static) -> Self {
        self.permit = Some(Box::new(permit));
        self
    }

    /// Whether the stream may send its next chunk.
    pub(crate) fn allowed(&self) -> bool {
        self.permit.as_ref().is_none_or(|permit| permit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Text(Arc<str>);

    impl Chunk for Text {
        fn segments(&self) -> [&[u8]; 3] {
            [self.0.as_bytes(), b"", b"|"]
        }
    }

    fn text(s: &str) -> Text {
        Text(Arc::from(s))
    }

    #[test]
    fn waiting_for_the_newest_returns_once_something_is_published() {
        let broadcast = Broadcast::new();
        assert!(broadcast.wait_newest(Duration::from_millis(1)).is_none());
        let publisher = broadcast.clone();
        let thread = std::thread::spawn(move || publisher.publish(text("first")));
        let newest = broadcast.wait_newest(Duration::from_secs(30));
        assert_eq!(newest.map(|t| t.0), Some(Arc::from("first")));
        thread.join().unwrap();
    }

    #[test]
    fn a_subscriber_sees_only_what_is_published_after_it_joined() {
        let broadcast = Broadcast::new();
        broadcast.publish(text("old"));
        let mut body = broadcast.subscribe(StreamStats::new());
        assert!(!body.source.advance());
        broadcast.publish(text("new"));
        assert!(body.source.advance());
        assert_eq!(body.source.segments(), [&b"new"[..], b"", b"|"]);
        assert!(
            !body.source.advance(),
            "the same chunk is not delivered twice"
        );
    }

    #[test]
    fn a_slow_subscriber_skips_to_the_newest_chunk() {
        let broadcast = Broadcast::new();
        let mut body = broadcast.subscribe(StreamStats::new());
        for n in 0..5 {
            broadcast.publish(text(&n.to_string()));
        }
        assert!(body.source.advance());
        assert_eq!(body.source.segments()[0], b"4");
    }

    #[test]
    fn a_follower_takes_the_newest_chunk_once_and_is_woken() {
        let mut poll = mio::Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), mio::Token(7)).unwrap());
        let broadcast = Broadcast::new();
        let mut follower = broadcast.follow(&waker);
        assert!(follower.newer().is_none());
        broadcast.publish(text("a"));
        broadcast.publish(text("b"));
        let mut events = mio::Events::with_capacity(4);
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        assert!(events.iter().any(|e| e.token() == mio::Token(7)));
        let (seq, chunk) = follower.newer().unwrap();
        assert_eq!((seq, &*chunk.0), (2, "b"), "the newest, numbered in order");
        assert!(follower.newer().is_none(), "taken once");
    }

    #[test]
    fn a_released_chunk_is_no_longer_referenced() {
        let broadcast = Broadcast::new();
        let mut body = broadcast.subscribe(StreamStats::new());
        let chunk = text("frame");
        broadcast.publish(chunk.clone());
        body.source.advance();
        broadcast.publish(text("next"));
        assert_eq!(
            Arc::strong_count(&chunk.0),
            2,
            "the test's copy and the reader's"
        );
        body.source.release();
        assert_eq!(Arc::strong_count(&chunk.0), 1);
    }
}
