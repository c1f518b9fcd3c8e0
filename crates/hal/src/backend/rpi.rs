//! Raspberry Pi GPIO through `rppal` (cargo feature `rpi`): direct register access through
//! `/dev/gpiomem`, for Pi kernels and images where that is the usual way. Line numbers are BCM
//! pin numbers. `rppal` is pure Rust, so the feature builds on any Linux target; it needs a Pi
//! only at run time.

use rppal::gpio::{Gpio, InputPin, OutputPin};

use crate::gpio::{GpioError, LineConfig};
use crate::input::DigitalInput;
use crate::output::DigitalOutput;

/// The Pi's GPIO controller.
pub struct RpiGpio {
    gpio: Gpio,
}

impl RpiGpio {
    /// Opens the controller (fails off a Raspberry Pi).
    pub fn open() -> Result<RpiGpio, GpioError> {
        let gpio = Gpio::new().map_err(|source| GpioError::Open {
            device: "Raspberry Pi GPIO".to_owned(),
            source: Box::new(source),
        })?;
        Ok(RpiGpio { gpio })
    }

    /// Requests BCM pin `line.line` as an output, initially off.
    pub fn output(&self, line: LineConfig) -> Result<RpiOutput, GpioError> {
        let pin = self.pin(line)?;
        let mut output = RpiOutput {
            pin: pin.into_output(),
            line,
            on: false,
        };
        output.set(false)?;
        Ok(output)
    }

    /// Requests BCM pin `line.line` as an input.
    pub fn input(&self, line: LineConfig) -> Result<RpiInput, GpioError> {
        Ok(RpiInput {
            pin: self.pin(line)?.into_input(),
            line,
        })
    }

    fn pin(&self, line: LineConfig) -> Result<rppal::gpio::Pin, GpioError> {
        let number = u8::try_from(line.line).map_err(|source| GpioError::Request {
            line: line.line,
            source: Box::new(source),
        })?;
        self.gpio.get(number).map_err(|source| GpioError::Request {
            line: line.line,
            source: Box::new(source),
        })
    }
}

/// An output pin of the Pi.
pub struct RpiOutput {
    pin: OutputPin,
    line: LineConfig,
    on: bool,
}

impl DigitalOutput for RpiOutput {
    fn set(&mut self, on: bool) -> Result<(), GpioError> {
        if on != self.line.active_low {
            self.pin.set_high();
        } else {
            self.pin.set_low();
        }
        self.on = on;
        Ok(())
    }

    fn get(&self) -> bool {
        self.on
    }
}

/// An input pin of the Pi.
pub struct RpiInput {
    pin: InputPin,
    line: LineConfig,
}

impl DigitalInput for RpiInput {
    fn read(&self) -> Result<bool, GpioError> {
        Ok(self.pin.is_high() != self.line.active_low)
    }
}
