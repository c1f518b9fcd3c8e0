//! The loop both workers (FTP and e-mail) run on their own thread: decide whether the
//! channel is active now, send the newest frame when it is due, pace the next one, and
//! back off after failures.
//!
//! Pacing: the first frame goes out as soon as a channel becomes active (schedule window
//! opens, manual switch on, new settings), then one per interval at a fixed rate. A
//! worker that falls behind (slow server, back-off) does not burst to catch up: it
//! skips the frames it missed.
//!
//! Failures: each failed attempt doubles the wait before the next (1 s up to 60 s); the
//! first failure of an episode, and each change of its kind, is logged as a warning with
//! the reason, repeats only at debug level, and the recovery as info. New settings end
//! an episode, since they may be the fix.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::NaiveDateTime;
use crossbeam_channel::{select, Receiver, RecvError};
use ipcam_api::CameraTimeZone;
use ipcam_capture::Frame;

use crate::clock::Clock;
use crate::error::{DeliveryError, FailureKind};
use crate::frames::FrameProvider;

/// Longest a worker sleeps without looking at the clock again: schedule windows open
/// and wall clocks jump without telling anyone.
const RECHECK: Duration = Duration::from_secs(1);
/// How often `Auto` frequency looks for a frame newer than the one it sent.
const AUTO_POLL: Duration = Duration::from_millis(20);
/// How soon to look again when the capture has not produced a frame yet.
const NO_FRAME_RETRY: Duration = Duration::from_millis(200);
/// First wait after a failure.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// Longest wait between attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Why a channel is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Its schedule is on.
    Schedule,
    /// Its manual switch (`ImageUpload`/`ImageEmail`) is on and manual mode enabled.
    Manual,
}

/// How often frames go out while active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// One frame per interval.
    Every(Duration),
    /// Each new frame as soon as the previous delivery is done.
    NewFrames,
}

/// What a channel should be doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Why it is active.
    pub trigger: Trigger,
    /// How often it sends.
    pub pace: Pace,
}

/// One kind of delivery (FTP upload, e-mail), as the worker loop drives it.
pub trait Job: Send + 'static {
    /// The settings pushed by the daemon.
    type Settings: Send + 'static;
    /// Name for logs and threads, e.g. `FTP upload`.
    const NAME: &'static str;

    /// Takes new settings; `true` when they change when or where frames go, which starts
    /// the schedule afresh and forgets the back-off, `false` when they are equal or change
    /// only what a delivery says (the camera name in a mail).
    fn configure(&mut self, settings: Self::Settings) -> bool;
    /// Where deliveries go, for logs: no user name, no password.
    fn destination(&self) -> String;
    /// Whether the channel is active at local time `local` with the manual switch as given.
    fn plan(&self, manual: bool, local: NaiveDateTime) -> Option<Plan>;
    /// Sends `frame`; `local` is the camera's time, `now` monotonic time.
    fn deliver(
        &mut self,
        frame: &Frame,
        trigger: Trigger,
        local: NaiveDateTime,
        now: Duration,
    ) -> Result<(), DeliveryError>;
    /// Whether events can be delivered at all (a server is configured).
    fn takes_events(&self) -> bool;
    /// Whether an event's frames go out together (one e-mail) rather than one by one
    /// as they arrive (FTP files).
    const EVENT_FRAMES_TOGETHER: bool;
    /// Sends frames of an event that `source` raised.
    fn deliver_event(
        &mut self,
        frames: &[Frame],
        source: &str,
        local: NaiveDateTime,
        now: Duration,
    ) -> Result<(), DeliveryError>;
    /// Called while nothing is due: a chance to close idle connections.
    fn rest(&mut self, now: Duration);
    /// Called once when the worker stops.
    fn close(&mut self);
}

/// A message from the daemon to a worker.
pub enum Command<S> {
    /// New settings and the camera's time zone.
    Configure(S, CameraTimeZone),
    /// The manual switch.
    Manual(bool),
    /// An event happened: deliver its frames.
    Event(Arc<EventBurst>),
    /// Finish the current delivery and stop.
    Stop,
}

/// The frames of one event: references into the capture ring taken just before it, and
/// how many newer frames to add as they are captured.
#[derive(Debug, Clone)]
pub struct EventBurst {
    /// What raised the event, for logs, the e-mail subject and file names (`motion`,
    /// `input1`).
    pub source: String,
    /// Frames from before the event, oldest first (references, not copies).
    pub pre: Vec<Frame>,
    /// Frames to take after the event.
    pub post: u32,
}

/// Longest an event waits for its post-event frames (a source that stopped).
const EVENT_GATHER_LIMIT: Duration = Duration::from_secs(10);
/// Attempts per event before it is given up (each after the back-off).
const EVENT_ATTEMPTS: u32 = 3;

/// An event being delivered.
struct PendingEvent {
    burst: Arc<EventBurst>,
    /// Frames gathered and not yet delivered, oldest first.
    frames: Vec<Frame>,
    post_left: u32,
    last_seq: u64,
    give_up_gathering: Duration,
    attempts: u32,
}

/// What a worker publishes for other threads; every read is a cheap atomic load.
#[derive(Debug, Default)]
pub struct ChannelStatus {
    active: AtomicBool,
    delivered: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<DeliveryError>>,
}

/// A snapshot of a channel's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStats {
    /// The channel is in an active period (delivering, or retrying after a failure).
    pub active: bool,
    /// Frames delivered since start.
    pub delivered: u64,
    /// Attempts that failed since start.
    pub failed: u64,
    /// The most recent failure, kept after recovery.
    pub last_error: Option<DeliveryError>,
}

impl ChannelStatus {
    /// Whether the channel is active, for the I/O bits of the stream header.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// The counters and the last error.
    pub fn stats(&self) -> ChannelStats {
        ChannelStats {
            active: self.is_active(),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            last_error: self.lock_error().clone(),
        }
    }

    fn lock_error(&self) -> std::sync::MutexGuard<'_, Option<DeliveryError>> {
        // Only assignments happen under the lock, so a poisoned value is consistent.
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Exponential back-off on the monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Backoff {
    retry_at: Duration,
    delay: Duration,
}

impl Backoff {
    fn new() -> Self {
        Backoff {
            retry_at: Duration::ZERO,
            delay: BACKOFF_FIRST,
        }
    }

    fn fail(&mut self, now: Duration) {
        self.retry_at = now + self.delay;
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
    }
}

/// The state of one worker thread.
pub struct Worker<J: Job> {
    job: J,
    frames: Arc<dyn FrameProvider>,
    clock: Arc<dyn Clock>,
    commands: Receiver<Command<J::Settings>>,
    clock_changes: Receiver<()>,
    status: Arc<ChannelStatus>,
    zone: CameraTimeZone,
    manual: bool,
    current: Option<Trigger>,
    next_due: Duration,
    last_seq: u64,
    backoff: Backoff,
    episode: Option<FailureKind>,
    failures_in_episode: u64,
    event: Option<PendingEvent>,
}

impl<J: Job> Worker<J> {
    /// A worker for `job`, idle until the first [`Command::Configure`].
    pub fn new(
        job: J,
        frames: Arc<dyn FrameProvider>,
        clock: Arc<dyn Clock>,
        commands: Receiver<Command<J::Settings>>,
        status: Arc<ChannelStatus>,
    ) -> Self {
        let clock_changes = clock.changes();
        Worker {
            job,
            frames,
            clock,
            commands,
            clock_changes,
            status,
            zone: CameraTimeZone::default(),
            manual: false,
            current: None,
            next_due: Duration::ZERO,
            last_seq: 0,
            backoff: Backoff::new(),
            episode: None,
            failures_in_episode: 0,
            event: None,
        }
    }

    /// Runs until [`Command::Stop`] or until every sender is gone.
    pub fn run(mut self) {
        loop {
            let wait = self.step();
            if !self.wait(wait) {
                break;
            }
        }
        self.status.active.store(false, Ordering::Relaxed);
        self.job.close();
    }

    /// Does what is due now; returns how long (clock time) until it should look again.
    fn step(&mut self) -> Duration {
        let now = self.clock.monotonic();
        let local = self.zone.local(self.clock.now());
        if self.event.is_some() {
            return self.step_event(now, local);
        }
        let Some(plan) = self.job.plan(self.manual, local) else {
            self.status.active.store(false, Ordering::Relaxed);
            self.current = None;
            self.job.rest(now);
            return RECHECK;
        };
        self.status.active.store(true, Ordering::Relaxed);
        if self.current != Some(plan.trigger) {
            self.current = Some(plan.trigger);
            self.next_due = now;
        }
        let due = self.next_due.max(self.backoff.retry_at);
        if now < due {
            self.job.rest(now);
            return (due - now).min(RECHECK);
        }
        self.attempt(plan, now, local)
    }

    fn attempt(&mut self, plan: Plan, started: Duration, local: NaiveDateTime) -> Duration {
        let Some(frame) = self.frames.latest() else {
            log::debug!("{}: no frame captured yet", J::NAME);
            self.next_due = started + NO_FRAME_RETRY;
            return NO_FRAME_RETRY;
        };
        if plan.pace == Pace::NewFrames && frame.meta().seq == self.last_seq {
            self.next_due = started + AUTO_POLL;
            return AUTO_POLL;
        }
        let result = self.job.deliver(&frame, plan.trigger, local, started);
        let finished = self.clock.monotonic();
        match result {
            Ok(()) => {
                self.succeeded();
                self.last_seq = frame.meta().seq;
                self.next_due = match plan.pace {
                    Pace::Every(interval) if self.next_due + interval >= started => {
                        self.next_due + interval
                    }
                    Pace::Every(interval) => started + interval,
                    Pace::NewFrames => finished,
                };
            }
            Err(error) => self.failed(error, finished),
        }
        Duration::ZERO
    }

    /// Gathers the pending event's post-event frames and delivers what is ready.
    fn step_event(&mut self, now: Duration, local: NaiveDateTime) -> Duration {
        let Some(event) = self.event.as_mut() else {
            return Duration::ZERO;
        };
        if event.post_left > 0 {
            match self.frames.latest() {
                Some(frame) if frame.meta().seq > event.last_seq => {
                    event.last_seq = frame.meta().seq;
                    event.frames.push(frame);
                    event.post_left -= 1;
                }
                _ if now >= event.give_up_gathering => event.post_left = 0,
                _ => {}
            }
        }
        if event.frames.is_empty() && event.post_left == 0 {
            self.event = None;
            return Duration::ZERO;
        }
        let ready = if J::EVENT_FRAMES_TOGETHER {
            event.post_left == 0
        } else {
            !event.frames.is_empty()
        };
        if !ready || now < self.backoff.retry_at {
            return AUTO_POLL;
        }
        let batch = if J::EVENT_FRAMES_TOGETHER {
            event.frames.len()
        } else {
            1
        };
        let burst = Arc::clone(&event.burst);
        let frames: Vec<Frame> = event.frames.drain(..batch).collect();
        let result = self.job.deliver_event(&frames, &burst.source, local, now);
        let finished = self.clock.monotonic();
        match result {
            Ok(()) => self.succeeded(),
            Err(error) => {
                self.failed(error, finished);
                if let Some(event) = self.event.as_mut() {
                    event.attempts += 1;
                    if event.attempts < EVENT_ATTEMPTS {
                        // Put the frames back for the next attempt after the back-off.
                        event.frames.splice(0..0, frames);
                    } else {
                        log::warn!(
                            "{}: giving up the frames of a {} event after {EVENT_ATTEMPTS} attempts",
                            J::NAME,
                            burst.source
                        );
                    }
                }
            }
        }
        Duration::ZERO
    }

    fn start_event(&mut self, burst: Arc<EventBurst>) {
        if !self.job.takes_events() {
            log::debug!(
                "{}: not configured; {} event not delivered",
                J::NAME,
                burst.source
            );
            return;
        }
        let last_seq = burst.pre.last().map_or(0, |f| f.meta().seq);
        self.event = Some(PendingEvent {
            frames: burst.pre.clone(),
            post_left: burst.post,
            last_seq,
            give_up_gathering: self.clock.monotonic() + EVENT_GATHER_LIMIT,
            attempts: 0,
            burst,
        });
    }

    fn succeeded(&mut self) {
        self.status.delivered.fetch_add(1, Ordering::Relaxed);
        if self.episode.take().is_some() {
            log::info!(
                "{} to {} works again after {} failed attempts",
                J::NAME,
                self.job.destination(),
                self.failures_in_episode
            );
        }
        self.failures_in_episode = 0;
        self.backoff = Backoff::new();
    }

    fn failed(&mut self, error: DeliveryError, now: Duration) {
        self.status.failed.fetch_add(1, Ordering::Relaxed);
        self.failures_in_episode += 1;
        self.backoff.fail(now);
        if self.episode != Some(error.kind) {
            log::warn!(
                "{} to {} failed: {error}; retrying with back-off up to {} s",
                J::NAME,
                self.job.destination(),
                BACKOFF_MAX.as_secs()
            );
            self.episode = Some(error.kind);
        } else {
            log::debug!(
                "{} to {} failed again: {error}",
                J::NAME,
                self.job.destination()
            );
        }
        *self.status.lock_error() = Some(error);
    }

    /// Blocks up to `wait` of clock time for a command or a clock change. `false` to stop.
    fn wait(&mut self, wait: Duration) -> bool {
        let received = if wait.is_zero() {
            None
        } else {
            match self.clock.real_wait(wait) {
                Some(timeout) => select! {
                    recv(self.commands) -> command => Some(command),
                    recv(self.clock_changes) -> _ => None,
                    default(timeout) => None,
                },
                None => select! {
                    recv(self.commands) -> command => Some(command),
                    recv(self.clock_changes) -> _ => None,
                },
            }
        };
        if let Some(command) = received {
            if !self.handle(command) {
                return false;
            }
        }
        while let Ok(command) = self.commands.try_recv() {
            if !self.handle(Ok(command)) {
                return false;
            }
        }
        true
    }

    fn handle(&mut self, command: Result<Command<J::Settings>, RecvError>) -> bool {
        match command {
            Err(RecvError) | Ok(Command::Stop) => false,
            Ok(Command::Configure(settings, zone)) => {
                self.zone = zone;
                if self.job.configure(settings) {
                    self.current = None;
                    self.backoff = Backoff::new();
                    self.episode = None;
                    self.failures_in_episode = 0;
                }
                true
            }
            Ok(Command::Manual(on)) => {
                self.manual = on;
                true
            }
            Ok(Command::Event(burst)) => {
                // A newer event replaces one still pending: rate limits keep this rare,
                // and the newest pictures matter most.
                self.start_event(burst);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::time::SystemTime;

    use crossbeam_channel::Sender;
    use ipcam_capture::ring::{self, Publisher};

    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut backoff = Backoff::new();
        let mut waits = Vec::new();
        let mut now = Duration::ZERO;
        for _ in 0..9 {
            backoff.fail(now);
            waits.push((backoff.retry_at - now).as_secs());
            now = backoff.retry_at;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    /// A job whose plan and results the test sets, and which records when it delivered.
    struct Fake {
        plan: Option<Plan>,
        manual_plan: Option<Plan>,
        results: VecDeque<Result<(), DeliveryError>>,
        attempts: Vec<(u64, Trigger)>,
        clock: ManualClock,
        takes: Duration,
        /// (time, frame seq) of every event frame delivered.
        events: Vec<(u64, u64)>,
    }

    impl Job for Fake {
        type Settings = Option<Plan>;
        const NAME: &'static str = "fake";

        fn configure(&mut self, plan: Option<Plan>) -> bool {
            let changed = plan != self.plan;
            self.plan = plan;
            changed
        }

        fn destination(&self) -> String {
            "nowhere".into()
        }

        fn plan(&self, manual: bool, _local: NaiveDateTime) -> Option<Plan> {
            if manual {
                self.manual_plan
            } else {
                self.plan
            }
        }

        fn deliver(
            &mut self,
            _frame: &Frame,
            trigger: Trigger,
            _local: NaiveDateTime,
            now: Duration,
        ) -> Result<(), DeliveryError> {
            self.attempts.push((now.as_secs(), trigger));
            self.clock.advance(self.takes);
            self.results.pop_front().unwrap_or(Ok(()))
        }

        fn takes_events(&self) -> bool {
            true
        }

        const EVENT_FRAMES_TOGETHER: bool = false;

        fn deliver_event(
            &mut self,
            frames: &[Frame],
            _source: &str,
            _local: NaiveDateTime,
            now: Duration,
        ) -> Result<(), DeliveryError> {
            self.events
                .extend(frames.iter().map(|f| (now.as_secs(), f.meta().seq)));
            self.results.pop_front().unwrap_or(Ok(()))
        }

        fn rest(&mut self, _now: Duration) {}

        fn close(&mut self) {}
    }

    struct Rig {
        worker: Worker<Fake>,
        clock: ManualClock,
        commands: Sender<Command<Option<Plan>>>,
        publisher: Publisher,
    }

    fn every(seconds: u64) -> Option<Plan> {
        Some(Plan {
            trigger: Trigger::Schedule,
            pace: Pace::Every(Duration::from_secs(seconds)),
        })
    }

    fn rig(plan: Option<Plan>, results: Vec<Result<(), DeliveryError>>) -> Rig {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        let (mut publisher, reader) = ring::ring(4);
        publish(&mut publisher);
        let (commands, receiver) = crossbeam_channel::unbounded();
        let job = Fake {
            plan,
            manual_plan: None,
            results: results.into(),
            attempts: Vec::new(),
            clock: clock.clone(),
            takes: Duration::ZERO,
            events: Vec::new(),
        };
        let worker = Worker::new(
            job,
            Arc::new(reader),
            Arc::new(clock.clone()),
            receiver,
            Arc::default(),
        );
        Rig {
            worker,
            clock,
            commands,
            publisher,
        }
    }

    fn publish(publisher: &mut Publisher) {
        let mut slot = publisher.claim().expect("free slot");
        slot.jpeg_mut().extend_from_slice(&[0xff, 0xd8, 0xff, 0xd9]);
        slot.publish(1, 1, SystemTime::UNIX_EPOCH, |_, _, _| {});
    }

    impl Rig {
        /// Steps the worker once per second of clock time up to `until` seconds.
        /// Commands sent before are handled first, as the thread would on waking.
        fn run_until(&mut self, until: u64) {
            while self.clock.monotonic().as_secs() <= until {
                self.worker.wait(Duration::ZERO);
                while self.worker.step().is_zero() && self.clock.monotonic().as_secs() <= until {}
                self.clock.advance(Duration::from_secs(1));
            }
        }

        fn attempt_times(&self) -> Vec<u64> {
            self.worker.job.attempts.iter().map(|(t, _)| *t).collect()
        }
    }

    fn unreachable() -> Result<(), DeliveryError> {
        Err(DeliveryError::new(FailureKind::Unreachable, "refused"))
    }

    #[test]
    fn delivers_at_once_then_at_a_fixed_rate() {
        let mut rig = rig(every(10), Vec::new());
        rig.run_until(35);
        assert_eq!(rig.attempt_times(), [0, 10, 20, 30]);
        assert!(rig.worker.status.is_active());
        assert_eq!(rig.worker.status.stats().delivered, 4);
    }

    #[test]
    fn failures_back_off_and_recovery_does_not_burst() {
        let failures = vec![unreachable(); 5];
        let mut rig = rig(every(1), failures);
        rig.run_until(33);
        assert_eq!(rig.attempt_times(), [0, 1, 3, 7, 15, 31, 32, 33]);
        let stats = rig.worker.status.stats();
        assert_eq!((stats.failed, stats.delivered), (5, 3));
        assert_eq!(
            stats.last_error.map(|e| e.kind),
            Some(FailureKind::Unreachable)
        );
    }

    #[test]
    fn a_slow_server_sets_the_pace_without_bursts() {
        let mut rig = rig(every(10), Vec::new());
        rig.worker.job.takes = Duration::from_secs(25);
        rig.run_until(80);
        assert_eq!(rig.attempt_times(), [0, 25, 50, 75]);
    }

    #[test]
    fn new_settings_end_the_back_off_and_send_at_once() {
        let mut rig = rig(every(60), vec![unreachable(), unreachable()]);
        rig.run_until(1);
        assert_eq!(rig.attempt_times(), [0, 1], "second try after 1 s");
        rig.commands
            .send(Command::Configure(every(30), CameraTimeZone::default()))
            .expect("send");
        rig.run_until(4);
        assert_eq!(
            rig.attempt_times(),
            [0, 1, 2],
            "retried at once on the new settings"
        );
        rig.commands
            .send(Command::Configure(every(30), CameraTimeZone::default()))
            .expect("send");
        rig.run_until(10);
        assert_eq!(
            rig.attempt_times(),
            [0, 1, 2],
            "same settings change nothing"
        );
    }

    #[test]
    fn auto_pace_sends_each_new_frame_once() {
        let auto = Some(Plan {
            trigger: Trigger::Schedule,
            pace: Pace::NewFrames,
        });
        let mut rig = rig(auto, Vec::new());
        rig.run_until(3);
        assert_eq!(rig.attempt_times(), [0]);
        publish(&mut rig.publisher);
        rig.run_until(5);
        assert_eq!(rig.attempt_times(), [0, 4]);
    }

    #[test]
    fn the_manual_switch_starts_at_once_and_stops_when_off() {
        let mut rig = rig(None, Vec::new());
        rig.worker.job.manual_plan = Some(Plan {
            trigger: Trigger::Manual,
            pace: Pace::Every(Duration::from_secs(5)),
        });
        rig.run_until(2);
        assert!(rig.attempt_times().is_empty());
        assert!(!rig.worker.status.is_active());
        rig.commands.send(Command::Manual(true)).expect("send");
        rig.run_until(13);
        assert_eq!(rig.attempt_times(), [3, 8, 13]);
        assert!(rig.worker.status.is_active());
        rig.commands.send(Command::Manual(false)).expect("send");
        rig.run_until(30);
        assert_eq!(rig.attempt_times(), [3, 8, 13]);
        assert!(!rig.worker.status.is_active());
        assert!(rig
            .worker
            .job
            .attempts
            .iter()
            .all(|(_, t)| *t == Trigger::Manual));
    }

    #[test]
    fn an_event_sends_its_pre_frames_then_each_new_frame_up_to_its_count() {
        let mut rig = rig(None, Vec::new());
        let pre = rig.worker.frames.latest().into_iter().collect();
        let burst = EventBurst {
            source: "motion".into(),
            pre,
            post: 2,
        };
        rig.commands
            .send(Command::Event(Arc::new(burst)))
            .expect("send");
        rig.run_until(1);
        assert_eq!(
            rig.worker.job.events,
            [(0, 1)],
            "the pre-event frame at once"
        );
        publish(&mut rig.publisher);
        rig.run_until(2);
        publish(&mut rig.publisher);
        publish(&mut rig.publisher);
        rig.run_until(5);
        assert_eq!(
            rig.worker.job.events,
            [(0, 1), (2, 2), (3, 4)],
            "two post-event frames, the newest each time"
        );
        assert!(rig.worker.event.is_none());
        assert!(rig.worker.job.attempts.is_empty(), "no schedule delivery");
    }

    #[test]
    fn a_failed_event_frame_is_retried_after_the_back_off_then_given_up() {
        let failures = vec![unreachable(); 3];
        let mut rig = rig(None, failures);
        let burst = EventBurst {
            source: "input1".into(),
            pre: rig.worker.frames.latest().into_iter().collect(),
            post: 0,
        };
        rig.commands
            .send(Command::Event(Arc::new(burst)))
            .expect("send");
        rig.run_until(10);
        assert_eq!(rig.worker.job.events, [(0, 1), (1, 1), (3, 1)]);
        assert!(rig.worker.event.is_none(), "given up after three attempts");
        assert_eq!(rig.worker.status.stats().failed, 3);
    }

    #[test]
    fn stop_and_a_dropped_handle_end_the_worker() {
        let rig = rig(None, Vec::new());
        let Rig {
            mut worker,
            commands,
            ..
        } = rig;
        commands.send(Command::Stop).expect("send");
        assert!(!worker.wait(Duration::ZERO));
        drop(commands);
        assert!(!worker.wait(Duration::from_secs(1)));
    }
}
