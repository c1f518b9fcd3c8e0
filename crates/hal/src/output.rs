//! A digital output line: the camera's trigger outputs (`Trigger1`/`Trigger2` of
//! `/iocontrol.cgi`), the LED, and the step/dir lines of a stepper driver.

use crate::gpio::GpioError;

/// One output line, on (`true`, the line's active level) or off.
///
/// Active-low wiring is handled by the backend from [`crate::LineConfig::active_low`], so callers
/// always speak in logical terms.
pub trait DigitalOutput: Send {
    /// Drives the line to `on`.
    fn set(&mut self, on: bool) -> Result<(), GpioError>;

    /// The level last set (outputs start off), as `/iocontrol.cgi` reports it.
    fn get(&self) -> bool;
}

impl<T: DigitalOutput + ?Sized> DigitalOutput for Box<T> {
    fn set(&mut self, on: bool) -> Result<(), GpioError> {
        (**self).set(on)
    }

    fn get(&self) -> bool {
        (**self).get()
    }
}
