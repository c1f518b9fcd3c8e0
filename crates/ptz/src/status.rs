//! The head's position as published by the controller thread for everyone else — above all the
//! MJPEG part header, which reads it for every frame of every stream. One atomic word holds
//! both axes, so a read is a single lock-free load and pan and tilt always belong together.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::position::Position;

/// Resolution of the published angles, per degree.
const UNITS_PER_DEGREE: f64 = 100.0;
/// How often [`PositionReader::wait_until`] looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

#[derive(Debug)]
pub(crate) struct Published {
    /// Pan in the high half, tilt in the low half, both in hundredths of a degree.
    packed: AtomicU64,
    moving: AtomicBool,
    stopped: AtomicBool,
}

impl Published {
    pub(crate) fn new(start: Position) -> Arc<Published> {
        let published = Published {
            packed: AtomicU64::new(0),
            moving: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        };
        published.store(f64::from(start.pan()), f64::from(start.tilt()), false);
        Arc::new(published)
    }

    pub(crate) fn store(&self, pan: f64, tilt: f64, moving: bool) {
        let units = |degrees: f64| (degrees * UNITS_PER_DEGREE).round().max(0.0) as u64;
        self.packed
            .store(units(pan) << 32 | units(tilt), Ordering::Release);
        self.moving.store(moving, Ordering::Release);
    }

    pub(crate) fn mark_stopped(&self) {
        self.moving.store(false, Ordering::Release);
        self.stopped.store(true, Ordering::Release);
    }
}

/// A cheap, cloneable view of the head's position.
#[derive(Clone, Debug)]
pub struct PositionReader {
    published: Arc<Published>,
}

impl PositionReader {
    pub(crate) fn new(published: Arc<Published>) -> PositionReader {
        PositionReader { published }
    }

    /// Pan and tilt in degrees, to a hundredth.
    pub fn precise(&self) -> (f64, f64) {
        let packed = self.published.packed.load(Ordering::Acquire);
        let pan = (packed >> 32) as f64 / UNITS_PER_DEGREE;
        let tilt = (packed & u64::from(u32::MAX)) as f64 / UNITS_PER_DEGREE;
        (pan, tilt)
    }

    /// The position in whole degrees, as the stream header `PT_ppp_ttt` shows it.
    pub fn position(&self) -> Position {
        let (pan, tilt) = self.precise();
        Position::clamped(pan.round() as i32, tilt.round() as i32)
    }

    /// Whether a move or swing is under way.
    pub fn is_moving(&self) -> bool {
        self.published.moving.load(Ordering::Acquire)
    }

    /// Whether the controller has stopped (shut down, or its driver failed).
    pub fn is_stopped(&self) -> bool {
        self.published.stopped.load(Ordering::Acquire)
    }

    /// Polls until `condition` holds for the current position, or `timeout` passes; says
    /// whether it held. For tests and tools that wait for a move to converge.
    pub fn wait_until(&self, timeout: Duration, condition: impl Fn(Position) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if condition(self.position()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Polls until the head rests at `target`, or `timeout` passes.
    pub fn wait_for(&self, target: Position, timeout: Duration) -> bool {
        self.wait_until(timeout, |position| position == target && !self.is_moving())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_axes_round_trip_through_one_word() {
        let published = Published::new(Position::DEFAULT_HOME);
        let reader = PositionReader::new(published.clone());
        assert_eq!(reader.position(), Position::DEFAULT_HOME);
        published.store(339.996, 0.004, true);
        assert_eq!(reader.precise(), (340.0, 0.0));
        assert_eq!(reader.position(), Position::new(340, 0).unwrap());
        assert!(reader.is_moving());
        published.store(12.346, 134.5, false);
        assert_eq!(reader.precise(), (12.35, 134.5));
        assert_eq!(reader.position(), Position::new(12, 135).unwrap());
    }

    #[test]
    fn waiting_gives_up_at_the_deadline() {
        let reader = PositionReader::new(Published::new(Position::DEFAULT_HOME));
        assert!(!reader.wait_for(Position::new(0, 0).unwrap(), Duration::from_millis(20)));
        assert!(reader.wait_for(Position::DEFAULT_HOME, Duration::ZERO));
    }
}
