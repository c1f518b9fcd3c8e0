//! Choosing the GPIO backend and requesting lines from it.
//!
//! One [`Gpio`] is opened at start from [`GpioConfig`]; every output and input (triggers, LED,
//! stepper lines, limit switches) is then requested from it by [`LineConfig`], so the whole
//! camera agrees on one backend.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::backend::cdev::CdevGpio;
#[cfg(feature = "rpi")]
use crate::backend::rpi::RpiGpio;
use crate::backend::sim::SimGpio;
use crate::input::DigitalInput;
use crate::output::DigitalOutput;

/// Why a GPIO operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    /// The GPIO chip or controller could not be opened.
    #[error("cannot open GPIO {device}: {source}")]
    Open {
        /// The chip path or controller name.
        device: String,
        /// What the backend reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A line could not be requested (wrong number, or held by another user).
    #[error("cannot request GPIO line {line}: {source}")]
    Request {
        /// The line number.
        line: u32,
        /// What the backend reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A line is already requested through this [`Gpio`].
    #[error("GPIO line {0} is already in use")]
    Busy(u32),
    /// Reading or driving a line failed.
    #[error("GPIO line {line} access failed: {source}")]
    Access {
        /// The line number.
        line: u32,
        /// What the backend reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The config names a backend this build does not include.
    #[error("GPIO backend {0:?} is not built in (enable cargo feature {0:?})")]
    NotBuilt(&'static str),
}

/// One GPIO line as the config names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// Line offset on the chip (character device) or BCM pin number (Raspberry Pi).
    pub line: u32,
    /// The line is active (on) at the low electrical level.
    #[serde(default)]
    pub active_low: bool,
}

impl LineConfig {
    /// An active-high line.
    pub fn new(line: u32) -> Self {
        LineConfig {
            line,
            active_low: false,
        }
    }
}

/// Which GPIO backend drives the lines (`backend = "sim" | "cdev" | "rpi"` in TOML).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum GpioConfig {
    /// In-memory lines (the default).
    #[default]
    Sim,
    /// Linux GPIO character device.
    Cdev {
        /// The chip, e.g. `/dev/gpiochip0`.
        chip: PathBuf,
    },
    /// Raspberry Pi GPIO through `rppal` (cargo feature `rpi`).
    Rpi,
}

/// An opened GPIO backend, from which lines are requested.
pub enum Gpio {
    /// Simulated lines; tests keep a clone to observe and drive them.
    Sim(SimGpio),
    /// Linux GPIO character device.
    Cdev(CdevGpio),
    /// Raspberry Pi GPIO.
    #[cfg(feature = "rpi")]
    Rpi(RpiGpio),
}

impl Gpio {
    /// Opens the backend the config names.
    pub fn open(config: &GpioConfig) -> Result<Gpio, GpioError> {
        match config {
            GpioConfig::Sim => Ok(Gpio::Sim(SimGpio::new())),
            GpioConfig::Cdev { chip } => Ok(Gpio::Cdev(CdevGpio::open(chip)?)),
            #[cfg(feature = "rpi")]
            GpioConfig::Rpi => Ok(Gpio::Rpi(RpiGpio::open()?)),
            #[cfg(not(feature = "rpi"))]
            GpioConfig::Rpi => Err(GpioError::NotBuilt("rpi")),
        }
    }

    /// Requests `line` as an output, initially off.
    pub fn output(&self, line: LineConfig) -> Result<Box<dyn DigitalOutput>, GpioError> {
        match self {
            Gpio::Sim(sim) => Ok(Box::new(sim.output(line)?)),
            Gpio::Cdev(chip) => Ok(Box::new(chip.output(line)?)),
            #[cfg(feature = "rpi")]
            Gpio::Rpi(rpi) => Ok(Box::new(rpi.output(line)?)),
        }
    }

    /// Requests `line` as an input.
    pub fn input(&self, line: LineConfig) -> Result<Box<dyn DigitalInput>, GpioError> {
        match self {
            Gpio::Sim(sim) => Ok(Box::new(sim.input(line)?)),
            Gpio::Cdev(chip) => Ok(Box::new(chip.input(line)?)),
            #[cfg(feature = "rpi")]
            Gpio::Rpi(rpi) => Ok(Box::new(rpi.input(line)?)),
        }
    }
}
