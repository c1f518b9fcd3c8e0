//! Linux GPIO character device (`/dev/gpiochipN`) through `gpiocdev`: the portable real backend
//! for any board whose kernel exposes its GPIO controller (the sysfs interface is deprecated).
//!
//! Each line is its own request, so that the trigger outputs, the LED and the stepper lines are
//! owned by the threads that drive them; the kernel releases a line when its request is dropped.

use std::path::{Path, PathBuf};

use gpiocdev::line::Value;
use gpiocdev::Request;

use crate::gpio::{GpioError, LineConfig};
use crate::input::DigitalInput;
use crate::output::DigitalOutput;

/// The name the kernel shows as the lines' consumer (`gpioinfo`).
const CONSUMER: &str = "ipcamd";

/// A GPIO chip opened by path.
pub struct CdevGpio {
    chip: PathBuf,
}

impl CdevGpio {
    /// Checks that `chip` is a GPIO character device we may open.
    pub fn open(chip: &Path) -> Result<CdevGpio, GpioError> {
        gpiocdev::chip::Chip::from_path(chip).map_err(|source| GpioError::Open {
            device: chip.display().to_string(),
            source: Box::new(source),
        })?;
        Ok(CdevGpio {
            chip: chip.to_path_buf(),
        })
    }

    /// Requests `line` as an output, initially inactive.
    pub fn output(&self, line: LineConfig) -> Result<CdevOutput, GpioError> {
        let request = self.request(line, |builder| builder.as_output(Value::Inactive))?;
        Ok(CdevOutput {
            request,
            line: line.line,
            on: false,
        })
    }

    /// Requests `line` as an input.
    pub fn input(&self, line: LineConfig) -> Result<CdevInput, GpioError> {
        let request = self.request(line, |builder| builder.as_input())?;
        Ok(CdevInput {
            request,
            line: line.line,
        })
    }

    fn request(
        &self,
        line: LineConfig,
        direction: impl FnOnce(&mut gpiocdev::request::Builder) -> &mut gpiocdev::request::Builder,
    ) -> Result<Request, GpioError> {
        let mut builder = Request::builder();
        builder
            .on_chip(&self.chip)
            .with_consumer(CONSUMER)
            .with_line(line.line);
        direction(&mut builder);
        if line.active_low {
            builder.as_active_low();
        }
        builder.request().map_err(|source| GpioError::Request {
            line: line.line,
            source: Box::new(source),
        })
    }
}

/// An output line of a GPIO chip.
pub struct CdevOutput {
    request: Request,
    line: u32,
    on: bool,
}

impl DigitalOutput for CdevOutput {
    fn set(&mut self, on: bool) -> Result<(), GpioError> {
        let value = if on { Value::Active } else { Value::Inactive };
        self.request
            .set_value(self.line, value)
            .map_err(|source| GpioError::Access {
                line: self.line,
                source: Box::new(source),
            })?;
        self.on = on;
        Ok(())
    }

    fn get(&self) -> bool {
        self.on
    }
}

/// An input line of a GPIO chip.
pub struct CdevInput {
    request: Request,
    line: u32,
}

impl DigitalInput for CdevInput {
    fn read(&self) -> Result<bool, GpioError> {
        self.request
            .value(self.line)
            .map(|value| value == Value::Active)
            .map_err(|source| GpioError::Access {
                line: self.line,
                source: Box::new(source),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_chip_is_an_open_error_naming_it() {
        let error = CdevGpio::open(Path::new("/nonexistent/gpiochip9"))
            .err()
            .expect("a missing chip cannot open");
        assert!(matches!(error, GpioError::Open { .. }));
        assert!(error.to_string().contains("/nonexistent/gpiochip9"));
    }
}
