//! Motor drivers: what turns the controller's setpoints into motion. The controller owns the
//! speed profile and calls [`MotorDriver::drive_to`] every tick with a nearby setpoint, so a
//! driver only has to get there; the simulated one simply arrives, the stepper emits the
//! pulses for the difference.

use serde::{Deserialize, Serialize};

use ipcam_hal::{Gpio, GpioError};

pub mod sim;
pub mod stepper;

pub use sim::SimDriver;
pub use stepper::{StepperAxisConfig, StepperConfig, StepperDriver};

/// Which axis a fault concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxisName {
    /// Horizontal.
    Pan,
    /// Vertical.
    Tilt,
}

impl std::fmt::Display for AxisName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AxisName::Pan => "pan",
            AxisName::Tilt => "tilt",
        })
    }
}

/// Why a driver failed.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// A GPIO line failed.
    #[error(transparent)]
    Gpio(#[from] GpioError),
    /// The limit switch never closed during homing.
    #[error("{axis} homing failed: limit switch not reached within {steps} steps")]
    HomingFailed {
        /// The axis.
        axis: AxisName,
        /// Steps tried.
        steps: u64,
    },
    /// A setting that cannot work (e.g. zero steps per degree).
    #[error("invalid driver setting: {0}")]
    InvalidSetting(String),
}

/// A pan-tilt mechanism.
pub trait MotorDriver: Send {
    /// Establishes where the head is (homing, for drivers that need it) and returns that
    /// position as (pan, tilt) degrees. Called once, before any move.
    fn calibrate(&mut self) -> Result<(f64, f64), DriveError>;

    /// Moves the head to (pan, tilt) degrees, a short way from where it is.
    fn drive_to(&mut self, pan: f64, tilt: f64) -> Result<(), DriveError>;
}

impl<T: MotorDriver + ?Sized> MotorDriver for Box<T> {
    fn calibrate(&mut self) -> Result<(f64, f64), DriveError> {
        (**self).calibrate()
    }

    fn drive_to(&mut self, pan: f64, tilt: f64) -> Result<(), DriveError> {
        (**self).drive_to(pan, tilt)
    }
}

/// Which driver moves the head (`driver = "sim" | "stepper"` in TOML).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "driver", rename_all = "lowercase")]
pub enum DriverConfig {
    /// Simulated motors (the default).
    #[default]
    Sim,
    /// Step/dir stepper drivers on GPIO lines.
    Stepper(StepperConfig),
}

impl DriverConfig {
    /// Builds the driver, requesting its lines from `gpio`. The simulated head starts at
    /// `home`.
    pub fn build(
        &self,
        gpio: &Gpio,
        home: crate::Position,
    ) -> Result<Box<dyn MotorDriver>, DriveError> {
        match self {
            DriverConfig::Sim => Ok(Box::new(SimDriver::new(home))),
            DriverConfig::Stepper(config) => Ok(Box::new(StepperDriver::open(config, gpio)?)),
        }
    }
}
