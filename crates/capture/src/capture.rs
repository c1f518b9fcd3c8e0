//! The capture thread: owns the source, paces it, and publishes into the ring.
//!
//! One named thread per camera. It is the ring's only writer, so the ring needs no lock on
//! the write path, and it is the only code that touches the source, so settings changes
//! arrive as messages ([`Capture::apply`]) that the thread applies between two frames:
//! viewers keep their connections and simply see the next frame at the new resolution.
//!
//! A failing source never takes the camera down: each error is logged and the frame is
//! retried with exponential backoff, while readers keep the last good frame.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::ring::{ring, Frame, FrameMeta, Publisher, RingReader};
use crate::source::FrameSource;
use crate::{CaptureError, ImageSettings};

/// Fills a frame's header buffer, given its metadata and JPEG length; called once per
/// frame on the capture thread (the daemon writes the MJPEG part header here, so stream
/// clients do no per-frame work of their own).
pub type HeaderWriter = Box<dyn FnMut(&FrameMeta, usize, &mut Vec<u8>) + Send>;

/// Called on the capture thread after each publish (the daemon wakes its event loop).
pub type OnPublish = Box<dyn Fn(&Frame) + Send>;

/// How the capture thread runs.
pub struct CaptureOptions {
    /// Frame rate for `FrameRate::Auto` when the source has no rate of its own (the
    /// synthetic and replay sources). Default 30.
    pub auto_fps: u32,
    /// Hard cap of the ring's slot pool; past it, frames are dropped rather than waited
    /// for (see [`crate::ring`]). Default 16.
    pub max_slots: usize,
    /// Writes each frame's header buffer; `None` leaves headers empty.
    pub header_writer: Option<HeaderWriter>,
    /// Runs after each publish.
    pub on_publish: Option<OnPublish>,
    /// First wait after a source error; doubles per consecutive error. Default 100 ms.
    pub retry_initial: Duration,
    /// Longest wait between retries. Default 5 s.
    pub retry_max: Duration,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            auto_fps: 30,
            max_slots: 16,
            header_writer: None,
            on_publish: None,
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for CaptureOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureOptions")
            .field("auto_fps", &self.auto_fps)
            .field("max_slots", &self.max_slots)
            .field("header_writer", &self.header_writer.is_some())
            .field("on_publish", &self.on_publish.is_some())
            .field("retry_initial", &self.retry_initial)
            .field("retry_max", &self.retry_max)
            .finish()
    }
}

/// Counters of a running capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames published.
    pub captured: u64,
    /// Frames dropped because readers held every slot of a full pool.
    pub dropped: u64,
    /// Source errors since start (each one retried).
    pub source_errors: u64,
    /// Slots held by readers or as the newest frame.
    pub slots_in_use: usize,
    /// Slots allocated so far.
    pub pool_size: usize,
    /// Cap of the slot pool.
    pub max_slots: usize,
}

/// A running capture thread; stops and joins it on drop.
pub struct Capture {
    control: Arc<Control>,
    reader: RingReader,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Starts the capture thread on `source` with `settings` applied before the first frame.
    pub fn spawn(
        source: Box<dyn FrameSource>,
        settings: ImageSettings,
        options: CaptureOptions,
    ) -> Result<Capture, CaptureError> {
        let (publisher, reader) = ring(options.max_slots);
        let control = Arc::new(Control {
            state: Mutex::new(ControlState {
                settings,
                pending: true,
                stop: false,
            }),
            wake: Condvar::new(),
            source_errors: AtomicU64::new(0),
        });
        let worker = Worker {
            source,
            settings,
            publisher,
            discard: Vec::new(),
            control: Arc::clone(&control),
            options,
        };
        let thread = std::thread::Builder::new()
            .name("ipcam-capture".to_owned())
            .spawn(move || worker.run())
            .map_err(CaptureError::Spawn)?;
        Ok(Capture {
            control,
            reader,
            thread: Some(thread),
        })
    }

    /// The newest frame, or `None` until the first one is captured.
    pub fn latest(&self) -> Option<Frame> {
        self.reader.latest()
    }

    /// A read handle onto the ring, for other threads (the HTTP event loop).
    pub fn reader(&self) -> RingReader {
        self.reader.clone()
    }

    /// The settings in force, or about to be (the last ones given).
    pub fn settings(&self) -> ImageSettings {
        self.control.lock().settings
    }

    /// Hands new settings to the capture thread, which applies them before its next frame.
    pub fn apply(&self, settings: ImageSettings) {
        let mut state = self.control.lock();
        state.settings = settings;
        state.pending = true;
        self.control.wake.notify_all();
    }

    /// Current counters.
    pub fn stats(&self) -> CaptureStats {
        let ring = self.reader.stats();
        CaptureStats {
            captured: ring.published,
            dropped: ring.dropped,
            source_errors: self.control.source_errors.load(Ordering::Relaxed),
            slots_in_use: ring.slots_in_use,
            pool_size: ring.pool_size,
            max_slots: ring.max_slots,
        }
    }
}

impl Drop for Capture {
    /// Stops the thread and waits for it: at most one frame read (or retry wait) long.
    fn drop(&mut self) {
        self.control.lock().stop = true;
        self.control.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the capture thread panicked");
            }
        }
    }
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("settings", &self.settings())
            .field("stats", &self.stats())
            .finish()
    }
}

/// What the owner tells the thread.
struct Control {
    state: Mutex<ControlState>,
    wake: Condvar,
    source_errors: AtomicU64,
}

struct ControlState {
    settings: ImageSettings,
    pending: bool,
    stop: bool,
}

/// Why the thread woke up.
enum Wake {
    Stop,
    Settings(ImageSettings),
    Due,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps until `deadline`, returning early to stop or to apply new settings.
    fn wait_until(&self, deadline: Instant) -> Wake {
        let mut state = self.lock();
        loop {
            if state.stop {
                return Wake::Stop;
            }
            if state.pending {
                state.pending = false;
                return Wake::Settings(state.settings);
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Wake::Due;
            };
            state = self
                .wake
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Everything the capture thread owns.
struct Worker {
    source: Box<dyn FrameSource>,
    settings: ImageSettings,
    publisher: Publisher,
    /// Where a frame goes when every slot is held: the source is still read, so a
    /// camera's queue keeps moving and the next frame is fresh.
    discard: Vec<u8>,
    control: Arc<Control>,
    options: CaptureOptions,
}

impl Worker {
    fn run(mut self) {
        log::info!("capturing from {}", self.source.describe());
        let mut next_due = Instant::now();
        let mut last_start = None;
        let mut backoff = self.options.retry_initial;
        loop {
            match self.control.wait_until(next_due) {
                Wake::Stop => return,
                Wake::Settings(settings) => {
                    self.apply(settings);
                    next_due =
                        last_start.map_or_else(Instant::now, |t: Instant| t + self.interval());
                    continue;
                }
                Wake::Due => {}
            }
            let started = Instant::now();
            last_start = Some(started);
            match self.capture_one() {
                Ok(()) => {
                    backoff = self.options.retry_initial;
                    next_due = (next_due + self.interval()).max(Instant::now());
                }
                Err(error) => {
                    self.control.source_errors.fetch_add(1, Ordering::Relaxed);
                    log::warn!(
                        "{}: {error}; retrying in {backoff:?}",
                        self.source.describe()
                    );
                    next_due = started + backoff;
                    backoff = (backoff * 2).min(self.options.retry_max);
                }
            }
        }
    }

    fn apply(&mut self, settings: ImageSettings) {
        self.settings = settings;
        if let Err(error) = self.source.apply(&settings) {
            log::warn!(
                "{}: settings not fully applied: {error}",
                self.source.describe()
            );
        }
    }

    /// Time between frames: the configured rate, or for Auto the source's own (a camera
    /// paces itself, so no wait) or the configured automatic rate.
    fn interval(&self) -> Duration {
        match (self.settings.frame_rate.fps(), self.source.native_fps()) {
            (Some(fps), _) => Duration::from_secs(1) / u32::from(fps),
            (None, Some(_)) => Duration::ZERO,
            (None, None) => Duration::from_secs(1) / self.options.auto_fps.max(1),
        }
    }

    fn capture_one(&mut self) -> Result<(), CaptureError> {
        let Some(mut slot) = self.publisher.claim() else {
            self.discard.clear();
            self.source.next_frame(&mut self.discard)?;
            return Ok(());
        };
        let info = self.source.next_frame(slot.jpeg_mut())?;
        let header_writer = &mut self.options.header_writer;
        let frame = slot.publish(
            info.width,
            info.height,
            info.captured_at,
            |meta, len, header| {
                if let Some(write) = header_writer {
                    write(meta, len, header);
                }
            },
        );
        if let Some(on_publish) = &self.options.on_publish {
            on_publish(&frame);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FrameInfo, TestPattern};
    use crate::{FrameRate, Resolution};
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;
    use std::time::SystemTime;

    const DEADLINE: Duration = Duration::from_secs(20);

    /// Polls `condition` on the newest frame until it holds or the deadline passes.
    fn wait_for_frame(capture: &Capture, condition: impl Fn(&Frame) -> bool) -> Frame {
        let reader = capture.reader();
        let deadline = Instant::now() + DEADLINE;
        let mut seen = 0;
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("no matching frame before the deadline");
            if let Some(frame) = reader.wait_newer(seen, left) {
                if condition(&frame) {
                    return frame;
                }
                seen = frame.meta().seq;
            }
        }
    }

    #[test]
    fn publishes_frames_with_headers_and_calls_on_publish() {
        let (published_tx, published_rx) = mpsc::channel();
        let options = CaptureOptions {
            header_writer: Some(Box::new(|meta, len, header| {
                header.extend_from_slice(format!("seq {} len {len}", meta.seq).as_bytes());
            })),
            on_publish: Some(Box::new(move |frame: &Frame| {
                let _ = published_tx.send(frame.meta().seq);
            })),
            ..CaptureOptions::default()
        };
        let capture = Capture::spawn(
            Box::new(TestPattern::new()),
            ImageSettings::default(),
            options,
        )
        .unwrap();
        let first = published_rx.recv_timeout(DEADLINE).unwrap();
        let second = published_rx.recv_timeout(DEADLINE).unwrap();
        assert_eq!(second, first + 1);

        let frame = wait_for_frame(&capture, |_| true);
        let expected = format!("seq {} len {}", frame.meta().seq, frame.jpeg().len());
        assert_eq!(frame.header(), expected.as_bytes());
        assert_eq!((frame.meta().width, frame.meta().height), (640, 480));
        assert!(capture.stats().captured >= 2);
    }

    #[test]
    fn settings_apply_live_without_restarting() {
        let capture = Capture::spawn(
            Box::new(TestPattern::new()),
            ImageSettings::default(),
            CaptureOptions::default(),
        )
        .unwrap();
        let held = wait_for_frame(&capture, |_| true);
        let small = ImageSettings {
            resolution: Resolution::Qqvga,
            ..ImageSettings::default()
        };
        capture.apply(small);
        assert_eq!(capture.settings(), small);
        let frame = wait_for_frame(&capture, |f| f.meta().width == 160);
        assert_eq!(frame.meta().height, 120);
        assert!(
            frame.meta().seq > held.meta().seq,
            "same stream, later frame"
        );
        let mut decoder = jpeg_decoder::Decoder::new(frame.jpeg());
        decoder.decode().unwrap();
        assert_eq!(
            decoder.info().map(|i| (i.width, i.height)),
            Some((160, 120))
        );
        assert_eq!((held.meta().width, held.jpeg().is_empty()), (640, false));
    }

    /// A source that fails on chosen calls and counts them.
    struct Flaky {
        calls: Arc<AtomicUsize>,
        fail_first: usize,
    }

    impl FrameSource for Flaky {
        fn describe(&self) -> String {
            "flaky test source".into()
        }
        fn apply(&mut self, _: &ImageSettings) -> Result<(), CaptureError> {
            Ok(())
        }
        fn native_fps(&self) -> Option<f64> {
            None
        }
        fn next_frame(&mut self, jpeg: &mut Vec<u8>) -> Result<FrameInfo, CaptureError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            if call < self.fail_first {
                return Err(CaptureError::Unsupported("simulated failure"));
            }
            jpeg.extend_from_slice(&(call as u64).to_le_bytes());
            Ok(FrameInfo {
                width: 1,
                height: 1,
                captured_at: SystemTime::now(),
            })
        }
    }

    #[test]
    fn source_errors_are_retried_not_fatal() {
        let calls = Arc::new(AtomicUsize::new(0));
        let source = Flaky {
            calls: Arc::clone(&calls),
            fail_first: 3,
        };
        let options = CaptureOptions {
            retry_initial: Duration::from_millis(1),
            retry_max: Duration::from_millis(4),
            ..CaptureOptions::default()
        };
        let capture = Capture::spawn(Box::new(source), ImageSettings::default(), options).unwrap();
        let frame = wait_for_frame(&capture, |_| true);
        assert_eq!(frame.jpeg(), 3u64.to_le_bytes());
        assert_eq!(frame.meta().seq, 1, "failed reads publish nothing");
        assert_eq!(capture.stats().source_errors, 3);
    }

    #[test]
    fn a_fixed_frame_rate_paces_the_source() {
        let calls = Arc::new(AtomicUsize::new(0));
        let source = Flaky {
            calls: Arc::clone(&calls),
            fail_first: 0,
        };
        let settings = ImageSettings {
            frame_rate: FrameRate::Fps1,
            ..ImageSettings::default()
        };
        let capture =
            Capture::spawn(Box::new(source), settings, CaptureOptions::default()).unwrap();
        wait_for_frame(&capture, |_| true);
        // At 1 fps the second frame is a second away; an unpaced loop would have made
        // thousands by the time this runs.
        assert!(
            calls.load(Ordering::SeqCst) < 3,
            "{}",
            calls.load(Ordering::SeqCst)
        );
    }

    #[test]
    fn dropping_the_capture_stops_its_thread() {
        let calls = Arc::new(AtomicUsize::new(0));
        let source = Flaky {
            calls: Arc::clone(&calls),
            fail_first: 0,
        };
        let capture = Capture::spawn(
            Box::new(source),
            ImageSettings::default(),
            CaptureOptions::default(),
        )
        .unwrap();
        let reader = capture.reader();
        wait_for_frame(&capture, |_| true);
        drop(capture);
        let after_stop = calls.load(Ordering::SeqCst);
        assert_eq!(reader.stats().published as usize, after_stop);
        assert!(reader
            .wait_newer(reader.latest_seq(), Duration::from_millis(200))
            .is_none());
        assert_eq!(calls.load(Ordering::SeqCst), after_stop);
    }
}
