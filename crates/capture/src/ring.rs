//! The frame ring: a pool of refcounted JPEG slots with one writer and any number of readers.
//!
//! This is the camera's hot path. Each JPEG is written once, by the capture thread, into a
//! slot it owns alone; publishing makes that slot the newest frame. Readers (snapshot and
//! stream clients) take a [`Frame`], which is one `Arc` clone: they never copy the payload,
//! and they never block the writer.
//!
//! Recycling: a slot whose `Arc` is held by nobody but the pool (not by a reader, not as
//! the newest frame) is free, and the writer reuses it with its buffers' capacity intact,
//! so the steady state allocates nothing per frame. When every slot is still held, the
//! pool grows by one slot, up to a hard cap (`max_slots`); past the cap the writer drops
//! that frame (counted in [`RingStats::dropped`]) instead of waiting. A slow reader
//! therefore pins only the slots it holds, and a reader that holds many frames at once
//! costs dropped frames, never unbounded memory.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// What a reader knows about a frame besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMeta {
    /// Position in the stream: 1 for the first frame published, then +1 per frame.
    pub seq: u64,
    /// When the frame was captured (wall clock, for the `Date:` stream header).
    pub captured_at: SystemTime,
    /// Picture width in pixels.
    pub width: u16,
    /// Picture height in pixels.
    pub height: u16,
}

/// One pooled buffer set. Owned mutably by the writer while free, shared read-only once
/// published.
#[derive(Debug)]
struct Slot {
    jpeg: Vec<u8>,
    header: Vec<u8>,
    meta: FrameMeta,
}

impl Slot {
    fn empty() -> Self {
        Slot {
            jpeg: Vec::new(),
            header: Vec::new(),
            meta: FrameMeta {
                seq: 0,
                captured_at: SystemTime::UNIX_EPOCH,
                width: 0,
                height: 0,
            },
        }
    }
}

/// A published frame: a reference into the ring, cheap to clone, released on drop.
#[derive(Clone)]
pub struct Frame(Arc<Slot>);

impl Frame {
    /// The JPEG image, SOI to EOI.
    pub fn jpeg(&self) -> &[u8] {
        &self.0.jpeg
    }

    /// The bytes the capture's header writer put before this frame (the MJPEG part
    /// header in `ipcamd`); empty if no header writer is installed.
    pub fn header(&self) -> &[u8] {
        &self.0.header
    }

    /// Sequence number, capture time and dimensions.
    pub fn meta(&self) -> &FrameMeta {
        &self.0.meta
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("meta", self.meta())
            .field("jpeg_len", &self.jpeg().len())
            .field("header_len", &self.header().len())
            .finish()
    }
}

/// Counters of a ring, for logs and `/activeuser.cgi`-style status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingStats {
    /// Frames published since the ring was made.
    pub published: u64,
    /// Frames dropped because every slot was held and the pool was at its cap.
    pub dropped: u64,
    /// Slots allocated so far (grows on demand, never past `max_slots`).
    pub pool_size: usize,
    /// Slots held by readers or as the newest frame, as of the last write.
    pub slots_in_use: usize,
    /// The hard cap on `pool_size`.
    pub max_slots: usize,
}

/// State the writer shares with readers.
#[derive(Debug)]
struct Shared {
    latest: Mutex<Option<Frame>>,
    published_signal: Condvar,
    latest_seq: AtomicU64,
    dropped: AtomicU64,
    pool_size: AtomicUsize,
    slots_in_use: AtomicUsize,
    max_slots: usize,
}

impl Shared {
    fn lock_latest(&self) -> MutexGuard<'_, Option<Frame>> {
        // Nothing panics while the lock is held (an Arc clone or swap), so a poisoned
        // lock still holds a consistent value.
        self.latest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Makes a ring whose pool grows on demand up to `max_slots` (at least 2: one being
/// written while another is the newest frame).
pub fn ring(max_slots: usize) -> (Publisher, RingReader) {
    let max_slots = max_slots.max(2);
    let shared = Arc::new(Shared {
        latest: Mutex::new(None),
        published_signal: Condvar::new(),
        latest_seq: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        pool_size: AtomicUsize::new(0),
        slots_in_use: AtomicUsize::new(0),
        max_slots,
    });
    let publisher = Publisher {
        pool: Vec::with_capacity(max_slots),
        next_seq: 1,
        shared: Arc::clone(&shared),
    };
    (publisher, RingReader { shared })
}

/// The read side: any number of clones, on any threads.
#[derive(Debug, Clone)]
pub struct RingReader {
    shared: Arc<Shared>,
}

impl RingReader {
    /// The newest frame, or `None` before the first publish.
    pub fn latest(&self) -> Option<Frame> {
        self.shared.lock_latest().clone()
    }

    /// Sequence number of the newest frame (0 before the first publish), without taking
    /// the lock: lets an event loop see cheaply whether a client is behind.
    pub fn latest_seq(&self) -> u64 {
        self.shared.latest_seq.load(Ordering::Acquire)
    }

    /// Waits until a frame newer than `after_seq` is published, up to `timeout`.
    /// Returns the newest frame, or `None` if none came in time.
    pub fn wait_newer(&self, after_seq: u64, timeout: Duration) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        let mut latest = self.shared.lock_latest();
        loop {
            if let Some(frame) = latest.as_ref().filter(|f| f.meta().seq > after_seq) {
                return Some(frame.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            latest = self
                .shared
                .published_signal
                .wait_timeout(latest, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Current counters.
    pub fn stats(&self) -> RingStats {
        let s = &self.shared;
        RingStats {
            published: s.latest_seq.load(Ordering::Acquire),
            dropped: s.dropped.load(Ordering::Relaxed),
            pool_size: s.pool_size.load(Ordering::Relaxed),
            slots_in_use: s.slots_in_use.load(Ordering::Relaxed),
            max_slots: s.max_slots,
        }
    }
}

/// The write side: exactly one, owned by the capture thread.
#[derive(Debug)]
pub struct Publisher {
    pool: Vec<Arc<Slot>>,
    next_seq: u64,
    shared: Arc<Shared>,
}

impl Publisher {
    /// A read handle onto this ring.
    pub fn reader(&self) -> RingReader {
        RingReader {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Takes a free slot to write the next frame into, growing the pool if every slot is
    /// held. Returns `None`, and counts a dropped frame, when the pool is at its cap and
    /// every slot is still held: the caller skips this frame rather than wait.
    pub fn claim(&mut self) -> Option<SlotMut<'_>> {
        let mut free = None;
        let mut in_use = 0;
        for (index, slot) in self.pool.iter_mut().enumerate() {
            if Arc::get_mut(slot).is_some() {
                free.get_or_insert(index);
            } else {
                in_use += 1;
            }
        }
        self.shared.slots_in_use.store(in_use, Ordering::Relaxed);
        let index = match free {
            Some(index) => index,
            None if self.pool.len() < self.shared.max_slots => {
                self.pool.push(Arc::new(Slot::empty()));
                self.shared
                    .pool_size
                    .store(self.pool.len(), Ordering::Relaxed);
                self.pool.len() - 1
            }
            None => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        let mut claimed = SlotMut {
            slot: &mut self.pool[index],
            next_seq: &mut self.next_seq,
            shared: &self.shared,
        };
        claimed.slot_mut().jpeg.clear();
        Some(claimed)
    }
}

/// A slot the writer owns alone until it publishes it. Dropping it unpublished leaves the
/// slot free (the frame is abandoned, e.g. when the source failed).
#[derive(Debug)]
pub struct SlotMut<'a> {
    slot: &'a mut Arc<Slot>,
    next_seq: &'a mut u64,
    shared: &'a Shared,
}

impl SlotMut<'_> {
    /// The JPEG buffer, empty but with the capacity of earlier frames: the source writes
    /// the new image here.
    pub fn jpeg_mut(&mut self) -> &mut Vec<u8> {
        &mut self.slot_mut().jpeg
    }

    /// Stamps the frame, lets `write_header` fill the header buffer (given the metadata
    /// and the JPEG length), and makes the frame the ring's newest. Returns the frame.
    pub fn publish(
        mut self,
        width: u16,
        height: u16,
        captured_at: SystemTime,
        write_header: impl FnOnce(&FrameMeta, usize, &mut Vec<u8>),
    ) -> Frame {
        let seq = *self.next_seq;
        *self.next_seq += 1;
        let slot = self.slot_mut();
        slot.meta = FrameMeta {
            seq,
            captured_at,
            width,
            height,
        };
        slot.header.clear();
        write_header(&slot.meta, slot.jpeg.len(), &mut slot.header);
        let frame = Frame(Arc::clone(self.slot));
        let previous = self.shared.lock_latest().replace(frame.clone());
        self.shared.latest_seq.store(seq, Ordering::Release);
        self.shared.published_signal.notify_all();
        // Released outside the lock: readers never wait on the writer's bookkeeping.
        drop(previous);
        frame
    }

    fn slot_mut(&mut self) -> &mut Slot {
        Arc::get_mut(self.slot)
            .expect("claim() checked the slot is unreferenced and only the publisher can clone it")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish_bytes(publisher: &mut Publisher, bytes: &[u8]) -> Option<Frame> {
        let mut slot = publisher.claim()?;
        slot.jpeg_mut().extend_from_slice(bytes);
        Some(
            slot.publish(640, 480, SystemTime::now(), |meta, len, header| {
                header.extend_from_slice(format!("seq={} len={len}", meta.seq).as_bytes());
            }),
        )
    }

    #[test]
    fn readers_see_the_newest_frame_with_its_header() {
        let (mut publisher, reader) = ring(4);
        assert!(reader.latest().is_none());
        assert_eq!(reader.latest_seq(), 0);
        publish_bytes(&mut publisher, b"first").unwrap();
        publish_bytes(&mut publisher, b"second!").unwrap();
        let frame = reader.latest().unwrap();
        assert_eq!(frame.jpeg(), b"second!");
        assert_eq!(frame.header(), b"seq=2 len=7");
        assert_eq!(frame.meta().seq, 2);
        assert_eq!((frame.meta().width, frame.meta().height), (640, 480));
        assert_eq!(reader.latest_seq(), 2);
    }

    #[test]
    fn sequence_numbers_increase_by_one() {
        let (mut publisher, reader) = ring(4);
        let seqs: Vec<u64> = (0..10)
            .map(|_| {
                publish_bytes(&mut publisher, b"x").unwrap();
                reader.latest().unwrap().meta().seq
            })
            .collect();
        assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    }

    #[test]
    fn steady_state_recycles_two_slots_and_keeps_buffer_memory() {
        let (mut publisher, reader) = ring(8);
        let payload = vec![0xAB; 50_000];
        for _ in 0..3 {
            publish_bytes(&mut publisher, &payload).unwrap();
        }
        let buffers_before: Vec<*const u8> =
            publisher.pool.iter().map(|s| s.jpeg.as_ptr()).collect();
        for _ in 0..1000 {
            let frame = publish_bytes(&mut publisher, &payload).unwrap();
            drop(frame);
            drop(reader.latest());
        }
        let stats = reader.stats();
        assert_eq!(stats.pool_size, 2, "{stats:?}");
        assert_eq!(stats.dropped, 0);
        let buffers_after: Vec<*const u8> =
            publisher.pool.iter().map(|s| s.jpeg.as_ptr()).collect();
        assert_eq!(buffers_before, buffers_after, "buffers were reallocated");
    }

    #[test]
    fn a_slow_reader_pins_only_its_own_slot() {
        let (mut publisher, reader) = ring(8);
        publish_bytes(&mut publisher, b"old").unwrap();
        let held = reader.latest().unwrap();
        for i in 0..100u32 {
            publish_bytes(&mut publisher, &i.to_le_bytes()).unwrap();
        }
        assert_eq!(
            held.jpeg(),
            b"old",
            "a held frame must never be overwritten"
        );
        assert_eq!(held.meta().seq, 1);
        let stats = reader.stats();
        assert_eq!(stats.pool_size, 3, "{stats:?}");
        assert_eq!(stats.dropped, 0);
    }

    #[test]
    fn past_the_cap_frames_are_dropped_not_waited_for() {
        let (mut publisher, reader) = ring(3);
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(publish_bytes(&mut publisher, b"held").unwrap());
        }
        assert!(publish_bytes(&mut publisher, b"no room").is_none());
        assert!(publish_bytes(&mut publisher, b"no room").is_none());
        let stats = reader.stats();
        assert_eq!(
            (stats.dropped, stats.pool_size, stats.slots_in_use),
            (2, 3, 3)
        );
        assert_eq!(reader.latest().unwrap().meta().seq, 3);

        held.clear();
        let frame = publish_bytes(&mut publisher, b"room again").unwrap();
        assert_eq!(frame.meta().seq, 4, "dropped frames use no sequence number");
        assert_eq!(reader.stats().pool_size, 3);
    }

    #[test]
    fn an_abandoned_claim_leaves_the_slot_free() {
        let (mut publisher, reader) = ring(2);
        for _ in 0..10 {
            let mut slot = publisher.claim().unwrap();
            slot.jpeg_mut().extend_from_slice(b"half-written");
        }
        assert_eq!(reader.stats().pool_size, 1);
        assert!(reader.latest().is_none());
    }

    #[test]
    fn wait_newer_returns_a_frame_published_by_another_thread() {
        let (mut publisher, reader) = ring(4);
        let writer = std::thread::spawn(move || {
            publish_bytes(&mut publisher, b"from the thread").unwrap();
            publisher
        });
        let frame = reader.wait_newer(0, Duration::from_secs(10)).unwrap();
        assert_eq!(frame.jpeg(), b"from the thread");
        let publisher = writer.join().unwrap();
        assert!(reader.wait_newer(1, Duration::from_millis(1)).is_none());
        drop(publisher);
    }

    #[test]
    fn frames_can_cross_threads() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Frame>();
        assert_traits::<RingReader>();
    }
}
