//! Simulated motors: the head is wherever the controller last drove it, so moves take the
//! profile's realistic travel time and tests can watch them progress. Clones share the head.

use std::sync::{Arc, Mutex, PoisonError};

use super::{DriveError, MotorDriver};
use crate::position::Position;

/// A simulated pan-tilt head.
#[derive(Clone, Debug)]
pub struct SimDriver {
    head: Arc<Mutex<(f64, f64)>>,
}

impl SimDriver {
    /// A head resting at `start`.
    pub fn new(start: Position) -> SimDriver {
        SimDriver {
            head: Arc::new(Mutex::new((
                f64::from(start.pan()),
                f64::from(start.tilt()),
            ))),
        }
    }

    /// Where the head is, (pan, tilt) degrees.
    pub fn head(&self) -> (f64, f64) {
        *self.head.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MotorDriver for SimDriver {
    fn calibrate(&mut self) -> Result<(f64, f64), DriveError> {
        Ok(self.head())
    }

    fn drive_to(&mut self, pan: f64, tilt: f64) -> Result<(), DriveError> {
        *self.head.lock().unwrap_or_else(PoisonError::into_inner) = (pan, tilt);
        Ok(())
    }
}
