//! Events: motion and the alarm inputs raise them; they upload and mail frames, switch the
//! trigger outputs for a while, and are kept in a short log.
//!
//! One thread, `ipcam-alarm`, owns the moving parts: it follows the frames the capture
//! thread taps off for it (a channel of one, filled with `try_send`, so the capture
//! thread never waits), keeps the newest few as the pre-event buffer (references into the
//! ring, never copies), hands frames on to the motion detector's own thread the same
//! way, polls the alarm inputs with a debounce, and times the trigger outputs. An event:
//!
//! 1. is dropped when its source raised one less than `EventInterval` seconds ago (the
//!    rate limit is per source: motion, input 1, input 2);
//! 2. goes into the event log (newest first, `[events] log_size` entries) with the
//!    camera's local time;
//! 3. switches on the outputs of `EventTrigger` for `EventTriggerSeconds`;
//! 4. hands the pre-event frames and a count of post-event frames to the FTP and e-mail
//!    workers, as `EventUpload`/`EventEmail` say.
//!
//! What clients see of it besides: `Motion`, `Input1`, `Input2` on GET `/iocontrol.cgi`
//! and the log on `/eventlog.cgi`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use crossbeam_channel::{select, Receiver, Sender, TrySendError};
use ipcam_api::timezone::{format_date_time, DATE_TIME_LEN};
use ipcam_api::{CameraClock, MotionConfig};
use ipcam_capture::Frame;
use ipcam_events::{EventBurst, EventsHandle};
use ipcam_hal::{DigitalInput, DigitalOutput};
use ipcam_motion::MotionThread;
use serde::Deserialize;

use crate::camera::{IoBit, IoStatus, JpegBytes};

/// The capture side of the alarm thread's frame feed.
#[derive(Clone)]
pub(crate) struct FrameTap {
    sender: Sender<Frame>,
    wanted: Arc<AtomicBool>,
}

impl FrameTap {
    /// Offers a frame, never waiting: when the alarm thread has not taken the last one
    /// yet it skips this one. Nothing is sent while no event source is on (motion
    /// detection off, no alarm input wired), so an idle camera pins no frames for events.
    pub(crate) fn offer(&self, frame: &Frame) {
        if self.wanted.load(Ordering::Relaxed) {
            let _ = self.sender.try_send(frame.clone());
        }
    }
}

/// The alarm thread's end of the feed.
pub(crate) struct TapReceiver {
    frames: Receiver<Frame>,
    wanted: Arc<AtomicBool>,
}

/// A feed of frames from the capture thread to the alarm thread.
pub(crate) fn frame_tap() -> (FrameTap, TapReceiver) {
    let (sender, frames) = crossbeam_channel::bounded(1);
    let wanted = Arc::new(AtomicBool::new(false));
    let tap = FrameTap {
        sender,
        wanted: Arc::clone(&wanted),
    };
    (tap, TapReceiver { frames, wanted })
}

/// The trigger outputs, shared by `/iocontrol.cgi` (HTTP thread) and events.
pub(crate) type TriggerOutputs = Arc<Mutex<[Box<dyn DigitalOutput>; 2]>>;

/// Locks a mutex whose holders only assign plain values or write a GPIO line.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `[events]` of the daemon's config: what the CGI does not change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Frames from before an event that it delivers (0..=8).
    pub pre_event_frames: u32,
    /// Frames from after an event that it delivers (0..=16).
    pub post_event_frames: u32,
    /// Events the log keeps (1..=1000).
    pub log_size: usize,
    /// How long an alarm input must hold a new level before it counts, in ms (0..=10000).
    pub input_debounce_ms: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            pre_event_frames: 2,
            post_event_frames: 3,
            log_size: 100,
            input_debounce_ms: 50,
        }
    }
}

impl EventsConfig {
    /// The range checks of `Config::validate`: `(bad, key, reason)`.
    pub(crate) fn checks(&self) -> [(bool, &'static str, &'static str); 4] {
        [
            (
                self.pre_event_frames > 8,
                "events.pre_event_frames",
                "must be 0..=8",
            ),
            (
                self.post_event_frames > 16,
                "events.post_event_frames",
                "must be 0..=16",
            ),
            (
                !(1..=1000).contains(&self.log_size),
                "events.log_size",
                "must be 1..=1000",
            ),
            (
                self.input_debounce_ms > 10_000,
                "events.input_debounce_ms",
                "must be 0..=10000",
            ),
        ]
    }

    /// Ring slots events may pin at once: the pre-event buffer, the frames on their way
    /// to the detector, and a burst in each of the two workers.
    pub(crate) fn pinned_frames(&self) -> usize {
        let burst = (self.pre_event_frames + self.post_event_frames) as usize;
        self.pre_event_frames as usize + 2 + 2 * burst
    }
}

/// What raised an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Motion,
    Input1,
    Input2,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Motion => "motion",
            Source::Input1 => "input1",
            Source::Input2 => "input2",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoggedEvent {
    pub(crate) at: NaiveDateTime,
    pub(crate) source: Source,
}

/// What other threads read: the log and the live bits.
#[derive(Default)]
struct Shared {
    log: Mutex<VecDeque<LoggedEvent>>,
    motion: AtomicBool,
    inputs: [AtomicBool; 2],
}

enum Signal {
    Configure(Box<MotionConfig>),
    Motion(bool),
    Stop,
}

/// The events side of the daemon, for other threads: cheap to clone.
#[derive(Clone)]
pub(crate) struct AlarmsHandle {
    shared: Arc<Shared>,
    signals: Sender<Signal>,
}

impl AlarmsHandle {
    /// Takes the settings of `/motion.cgi` (at start and after every change).
    pub(crate) fn configure(&self, config: &MotionConfig) {
        let _ = self
            .signals
            .send(Signal::Configure(Box::new(config.clone())));
    }

    /// The extension fields of GET `/iocontrol.cgi`, appended to its line.
    pub(crate) fn status_fields(&self) -> String {
        let bit = |on: &AtomicBool| u8::from(on.load(Ordering::Relaxed));
        format!(
            "&Motion={}&Input1={}&Input2={}",
            bit(&self.shared.motion),
            bit(&self.shared.inputs[0]),
            bit(&self.shared.inputs[1])
        )
    }

    /// The body of `/eventlog.cgi`: `EventCount=N`, then `Event1=<time> <source>` ...
    /// newest first.
    pub(crate) fn log_body(&self) -> String {
        let log = lock(&self.shared.log);
        let mut body = format!("EventCount={}\r\n", log.len());
        for (n, event) in log.iter().enumerate() {
            let mut time = [0u8; DATE_TIME_LEN];
            body += &format!(
                "Event{}={} {}\r\n",
                n + 1,
                format_date_time(&event.at, &mut time),
                event.source.name()
            );
        }
        body
    }
}

/// What the alarm thread drives.
pub(crate) struct AlarmParts {
    pub(crate) config: EventsConfig,
    pub(crate) inputs: [Option<Box<dyn DigitalInput>>; 2],
    pub(crate) outputs: TriggerOutputs,
    pub(crate) io: Arc<IoStatus>,
    pub(crate) events: EventsHandle,
    pub(crate) clock: CameraClock,
    /// Whether the pan-tilt head is moving (motion detection pauses).
    pub(crate) head_moving: Box<dyn Fn() -> bool + Send>,
}

/// The running alarm thread (with the motion detector's); stops both on drop.
pub(crate) struct Alarms {
    handle: AlarmsHandle,
    thread: Option<JoinHandle<()>>,
}

impl Alarms {
    /// Starts the alarm and motion threads on the capture's `tap`. Wired inputs are
    /// watched at once; motion detection and the event actions follow
    /// [`AlarmsHandle::configure`].
    pub(crate) fn spawn(parts: AlarmParts, tap: TapReceiver) -> std::io::Result<Alarms> {
        let (signals, inbox) = crossbeam_channel::unbounded();
        let (to_detector, detector_frames) = crossbeam_channel::bounded(1);
        let motion_signals = signals.clone();
        let AlarmParts {
            config,
            inputs,
            outputs,
            io,
            events,
            clock,
            head_moving,
        } = parts;
        let detector = MotionThread::spawn(
            detector_frames,
            head_moving,
            ipcam_motion::SETTLE,
            Box::new(move |on| {
                let _ = motion_signals.send(Signal::Motion(on));
            }),
        )?;
        let shared = Arc::new(Shared::default());
        // Wired inputs need the pre-event frames from the start; motion once enabled.
        tap.wanted
            .store(inputs.iter().any(Option::is_some), Ordering::Relaxed);
        let debounce = Duration::from_millis(config.input_debounce_ms);
        let worker = Worker {
            inputs: inputs.map(|line| line.map(|line| Input::new(line, debounce))),
            pre_event: VecDeque::with_capacity(config.pre_event_frames as usize),
            config,
            outputs,
            io,
            events,
            clock,
            shared: Arc::clone(&shared),
            frames: tap.frames,
            frames_wanted: tap.wanted,
            inbox,
            detector,
            to_detector,
            settings: MotionConfig::default(),
            last_fired: [None; 3],
            outputs_off_at: None,
            outputs_on: 0,
        };
        let thread = std::thread::Builder::new()
            .name("ipcam-alarm".into())
            .spawn(move || worker.run())?;
        Ok(Alarms {
            handle: AlarmsHandle { shared, signals },
            thread: Some(thread),
        })
    }

    /// A handle for other threads.
    pub(crate) fn handle(&self) -> AlarmsHandle {
        self.handle.clone()
    }
}

impl Drop for Alarms {
    fn drop(&mut self) {
        let _ = self.handle.signals.send(Signal::Stop);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the alarm thread panicked");
            }
        }
    }
}

/// How often wired alarm inputs are read.
const INPUT_POLL: Duration = Duration::from_millis(10);

/// An alarm input with its debounce.
struct Input {
    line: Box<dyn DigitalInput>,
    debounce: Duration,
    /// The accepted (debounced) level.
    level: bool,
    /// A different level seen, and since when.
    candidate: Option<(bool, Instant)>,
    failed: bool,
}

impl Input {
    fn new(line: Box<dyn DigitalInput>, debounce: Duration) -> Self {
        Input {
            line,
            debounce,
            level: false,
            candidate: None,
            failed: false,
        }
    }

    /// Reads the line; `true` when it has just become active (debounced).
    fn poll(&mut self, now: Instant) -> bool {
        let raw = match self.line.read() {
            Ok(raw) => {
                self.failed = false;
                raw
            }
            Err(err) => {
                if !self.failed {
                    log::warn!("cannot read an alarm input: {err}");
                    self.failed = true;
                }
                return false;
            }
        };
        if raw == self.level {
            self.candidate = None;
            return false;
        }
        let since = match self.candidate {
            Some((level, since)) if level == raw => since,
            _ => {
                self.candidate = Some((raw, now));
                now
            }
        };
        if now.duration_since(since) < self.debounce {
            return false;
        }
        self.level = raw;
        self.candidate = None;
        raw
    }
}

struct Worker {
    config: EventsConfig,
    inputs: [Option<Input>; 2],
    outputs: TriggerOutputs,
    io: Arc<IoStatus>,
    events: EventsHandle,
    clock: CameraClock,
    shared: Arc<Shared>,
    frames: Receiver<Frame>,
    frames_wanted: Arc<AtomicBool>,
    inbox: Receiver<Signal>,
    detector: MotionThread,
    to_detector: Sender<JpegBytes>,
    pre_event: VecDeque<Frame>,
    settings: MotionConfig,
    last_fired: [Option<Instant>; 3],
    outputs_off_at: Option<Instant>,
    /// Outputs an event switched on and not yet off (bits as `EventTrigger`).
    outputs_on: u8,
}

impl Worker {
    fn run(mut self) {
        loop {
            let timeout = self.next_wake(Instant::now());
            select! {
                recv(self.frames) -> frame => match frame {
                    Ok(frame) => self.take_frame(frame),
                    // The capture side is gone for good only at shutdown.
                    Err(_) => self.frames = crossbeam_channel::never(),
                },
                recv(self.inbox) -> signal => match signal {
                    Ok(Signal::Configure(config)) => self.configure(*config),
                    Ok(Signal::Motion(on)) => self.motion(on),
                    Ok(Signal::Stop) | Err(_) => break,
                },
                default(timeout) => {}
            }
            let now = Instant::now();
            self.poll_inputs(now);
            self.time_outputs(now);
        }
        self.release_outputs();
    }

    fn next_wake(&self, now: Instant) -> Duration {
        let inputs = self.inputs.iter().any(Option::is_some);
        let poll = if inputs {
            INPUT_POLL
        } else {
            Duration::from_secs(1)
        };
        match self.outputs_off_at {
            Some(at) => poll.min(at.saturating_duration_since(now)),
            None => poll,
        }
    }

    fn take_frame(&mut self, frame: Frame) {
        if self.settings.enabled() {
            match self.to_detector.try_send(JpegBytes(frame.clone())) {
                Ok(()) | Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Disconnected(_)) => log::error!("the motion detector stopped"),
            }
        }
        if self.config.pre_event_frames == 0 {
            return;
        }
        if self.pre_event.len() == self.config.pre_event_frames as usize {
            self.pre_event.pop_front();
        }
        self.pre_event.push_back(frame);
    }

    fn configure(&mut self, config: MotionConfig) {
        if config == self.settings {
            return;
        }
        let detector = match config.parsed_mask() {
            Ok(mask) if config.enabled() => Some(ipcam_motion::Settings {
                sensitivity: config.sensitivity,
                mask,
            }),
            Ok(_) => None,
            Err(err) => {
                log::error!("motion detection off: stored {err}");
                None
            }
        };
        self.detector.configure(detector);
        if detector.is_none() {
            self.shared.motion.store(false, Ordering::Relaxed);
        }
        let wanted = detector.is_some() || self.inputs.iter().any(Option::is_some);
        self.frames_wanted.store(wanted, Ordering::Relaxed);
        if !wanted {
            self.pre_event.clear();
        }
        self.settings = config;
    }

    /// The detector's news. The bit is published after the event is raised, so a client
    /// that sees `Motion=1` finds the event in the log already.
    fn motion(&mut self, on: bool) {
        if on && self.settings.enabled() {
            self.fire(Source::Motion, Instant::now());
        }
        self.shared.motion.store(on, Ordering::Relaxed);
    }

    fn poll_inputs(&mut self, now: Instant) {
        for (n, source) in [(0, Source::Input1), (1, Source::Input2)] {
            let Some(input) = &mut self.inputs[n] else {
                continue;
            };
            let rose = input.poll(now);
            self.shared.inputs[n].store(input.level, Ordering::Relaxed);
            if rose {
                self.fire(source, now);
            }
        }
    }

    /// Raises an event from `source`, unless its rate limit holds it back.
    fn fire(&mut self, source: Source, now: Instant) {
        let interval = Duration::from_secs(self.settings.interval.into());
        let last = &mut self.last_fired[source.index()];
        if last.is_some_and(|at| now.duration_since(at) < interval) {
            log::debug!("{} event within EventInterval: not raised", source.name());
            return;
        }
        *last = Some(now);
        let at = self.clock.now_local();
        log::info!("event: {}", source.name());
        {
            let mut log = lock(&self.shared.log);
            if log.len() == self.config.log_size {
                log.pop_back();
            }
            log.push_front(LoggedEvent { at, source });
        }
        if self.settings.trigger != 0 {
            self.set_outputs(self.settings.trigger, true);
            self.outputs_on |= self.settings.trigger;
            self.outputs_off_at =
                Some(now + Duration::from_secs(self.settings.trigger_seconds.into()));
        }
        let (upload, email) = (self.settings.upload == 1, self.settings.email == 1);
        if upload || email {
            let burst = EventBurst {
                source: source.name().to_owned(),
                pre: self.pre_event.iter().cloned().collect(),
                post: self.config.post_event_frames,
            };
            self.events.fire(burst, upload, email);
        }
    }

    fn time_outputs(&mut self, now: Instant) {
        if self.outputs_off_at.is_some_and(|at| now >= at) {
            self.outputs_off_at = None;
            self.release_outputs();
        }
    }

    /// Switches off the outputs events switched on (even if `EventTrigger` has changed
    /// since).
    fn release_outputs(&mut self) {
        let on = std::mem::take(&mut self.outputs_on);
        self.set_outputs(on, false);
    }

    /// Sets the outputs of `mask` (bit 0 Trigger1, bit 1 Trigger2).
    fn set_outputs(&self, mask: u8, on: bool) {
        if mask == 0 {
            return;
        }
        let mut outputs = lock(&self.outputs);
        for (n, bit) in [IoBit::Trigger1, IoBit::Trigger2].into_iter().enumerate() {
            if mask & (1 << n) == 0 {
                continue;
            }
            match outputs[n].set(on) {
                Ok(()) => self.io.set(bit, on),
                Err(err) => log::error!("cannot drive {bit:?} for an event: {err}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipcam_hal::backend::sim::SimInput;

    #[test]
    fn an_input_counts_only_after_holding_its_level_for_the_debounce() {
        let line = SimInput::new();
        let mut input = Input::new(Box::new(line.clone()), Duration::from_millis(50));
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        line.set(true);
        assert!(!input.poll(ms(0)));
        line.set(false);
        assert!(!input.poll(ms(20)), "a 20 ms bounce");
        line.set(true);
        assert!(!input.poll(ms(30)));
        assert!(!input.poll(ms(70)));
        assert!(input.poll(ms(80)), "held for 50 ms");
        assert!(!input.poll(ms(90)), "one edge, one event");
        line.set(false);
        assert!(!input.poll(ms(100)));
        assert!(!input.poll(ms(160)), "release is no event");
        assert!(!input.level);
    }

    #[test]
    fn config_ranges_name_their_key() {
        let bad = EventsConfig {
            post_event_frames: 17,
            ..EventsConfig::default()
        };
        let failed: Vec<&str> = bad
            .checks()
            .iter()
            .filter(|(b, _, _)| *b)
            .map(|(_, key, _)| *key)
            .collect();
        assert_eq!(failed, ["events.post_event_frames"]);
        assert!(EventsConfig::default().checks().iter().all(|(b, _, _)| !b));
    }
}
