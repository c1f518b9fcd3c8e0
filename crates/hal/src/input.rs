//! A digital input line: the camera's trigger inputs (alarm sensors) and the limit switches of
//! the pan-tilt homing routine.

use crate::gpio::GpioError;

/// One input line, read in logical terms (`true` = active, whatever the wiring polarity).
pub trait DigitalInput: Send {
    /// The line's current level.
    fn read(&self) -> Result<bool, GpioError>;
}

impl<T: DigitalInput + ?Sized> DigitalInput for Box<T> {
    fn read(&self) -> Result<bool, GpioError> {
        (**self).read()
    }
}
