//! Time as the events workers see it, behind a trait so that schedules, intervals and
//! retry back-off are tested by moving a clock, not by waiting.
//!
//! A worker needs two kinds of time: the camera's wall clock (is it Tuesday 08:00 in the
//! camera's zone? what goes into a file name?) and a monotonic clock (is the next frame
//! due? is the back-off over?). It also needs to block until the next moment it cares
//! about; [`Clock::real_wait`] says how long that is in real time, which for a
//! [`ManualClock`] is "until the test moves the clock" ([`Clock::changes`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, Sender};
use ipcam_api::CameraClock;

/// The time source of an events worker.
pub trait Clock: Send + Sync + 'static {
    /// The camera's wall-clock time: schedule windows and file names are derived from it.
    fn now(&self) -> SystemTime;

    /// Monotonic time since an arbitrary origin: intervals and back-off. Never goes back.
    fn monotonic(&self) -> Duration;

    /// How long a worker may block, in real time, for `wait` of this clock's time to
    /// pass; `None` means until [`Clock::changes`] fires (a clock that real time does not
    /// move).
    fn real_wait(&self, wait: Duration) -> Option<Duration>;

    /// A receiver that gets a message whenever this clock is moved by hand; one per
    /// caller. A real clock never sends.
    fn changes(&self) -> Receiver<()>;
}

/// Real time: the system's monotonic clock, and the wall clock of the system or of the
/// camera (which the sim platform may offset from the system's).
#[derive(Debug, Clone)]
pub struct SystemClock {
    origin: Instant,
    camera: Option<CameraClock>,
}

impl SystemClock {
    /// Real time with the system's wall clock.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
            camera: None,
        }
    }

    /// Real time with the camera's wall clock (the daemon's [`CameraClock`]), so that file
    /// names and schedules follow the time `/datetime.cgi` shows.
    pub fn camera(clock: CameraClock) -> Self {
        SystemClock {
            origin: Instant::now(),
            camera: Some(clock),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        match &self.camera {
            Some(camera) => camera.now(),
            None => SystemTime::now(),
        }
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }

    fn real_wait(&self, wait: Duration) -> Option<Duration> {
        Some(wait)
    }

    fn changes(&self) -> Receiver<()> {
        crossbeam_channel::never()
    }
}

/// A clock that moves only when told to: for tests and simulations. Clones share the
/// same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    wall: SystemTime,
    monotonic: Duration,
    listeners: Vec<Sender<()>>,
}

impl ManualClock {
    /// A clock showing `wall`, its monotonic time at zero.
    pub fn new(wall: SystemTime) -> Self {
        ManualClock {
            inner: Arc::new(Mutex::new(ManualState {
                wall,
                monotonic: Duration::ZERO,
                listeners: Vec::new(),
            })),
        }
    }

    /// Moves wall and monotonic time forward by `step` and wakes the workers.
    pub fn advance(&self, step: Duration) {
        self.change(|state| {
            state.wall += step;
            state.monotonic += step;
        });
    }

    /// Sets the wall clock (as an NTP step or `/datetime.cgi` would); monotonic time stays.
    pub fn set_now(&self, wall: SystemTime) {
        self.change(|state| state.wall = wall);
    }

    fn change(&self, edit: impl FnOnce(&mut ManualState)) {
        let mut state = self.lock();
        edit(&mut state);
        // A full buffer means a wake-up is already pending, which is all a listener needs;
        // a disconnected one belongs to a worker that has stopped.
        state
            .listeners
            .retain(|listener| !matches!(listener.try_send(()), Err(e) if e.is_disconnected()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // Only plain assignments happen under the lock, so a poisoned state is consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.lock().wall
    }

    fn monotonic(&self) -> Duration {
        self.lock().monotonic
    }

    fn real_wait(&self, _wait: Duration) -> Option<Duration> {
        None
    }

    fn changes(&self) -> Receiver<()> {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        self.lock().listeners.push(sender);
        receiver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_wakes_listeners() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let clock = ManualClock::new(start);
        let changes = clock.changes();
        assert!(changes.try_recv().is_err());
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), start + Duration::from_secs(5));
        assert_eq!(clock.monotonic(), Duration::from_secs(5));
        assert!(changes.try_recv().is_ok());

        clock.set_now(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.monotonic(), Duration::from_secs(5));
        assert!(changes.try_recv().is_ok());
        assert_eq!(clock.real_wait(Duration::from_secs(1)), None);
    }

    #[test]
    fn system_clock_waits_in_real_time() {
        let clock = SystemClock::new();
        assert_eq!(
            clock.real_wait(Duration::from_millis(250)),
            Some(Duration::from_millis(250))
        );
        let first = clock.monotonic();
        assert!(clock.monotonic() >= first);
    }

    #[test]
    fn camera_clock_offsets_the_wall_time() {
        let camera = CameraClock::new();
        let target = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 * 365);
        camera.set_now(target);
        let clock = SystemClock::camera(camera);
        let shown = clock.now();
        let drift = shown
            .duration_since(target)
            .unwrap_or_else(|e| e.duration());
        assert!(drift < Duration::from_secs(60), "{drift:?}");
    }
}
