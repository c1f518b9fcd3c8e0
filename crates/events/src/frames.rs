//! Where the workers get their pictures: anything that hands out the newest frame.
//!
//! The daemon passes the capture ring's [`RingReader`]; tests pass a closure over a ring
//! they fill themselves, so no camera (and no capture thread) is needed.

use ipcam_capture::{Frame, RingReader};

/// A source of the newest frame.
pub trait FrameProvider: Send + Sync + 'static {
    /// The newest frame, or `None` before the first one.
    fn latest(&self) -> Option<Frame>;
}

impl FrameProvider for RingReader {
    fn latest(&self) -> Option<Frame> {
        RingReader::latest(self)
    }
}

impl<F> FrameProvider for F
where
    F: Fn() -> Option<Frame> + Send + Sync + 'static,
{
    fn latest(&self) -> Option<Frame> {
        self()
    }
}
