//! Pan-tilt control of the camera: pan `0..=340`, tilt `0..=135` degrees (see [`position`] for
//! which way is up), the operations of IPCamCGI 5.1.5–5.1.10, 24 named presets and the preset
//! swing.
//!
//! A controller thread owns the motor driver and takes commands over a channel; each move
//! follows a speed/acceleration profile and is pre-empted by the next command. The position is
//! published lock-free for the MJPEG part headers. Drivers: a simulation with realistic travel
//! time (the default) and step/dir steppers on `ipcam-hal` GPIO lines with homing and soft
//! limits.
//!
//! ```
//! use std::time::Duration;
//! use ipcam_hal::{Gpio, GpioConfig};
//! use ipcam_ptz::{cgi, Effect, Position, Ptz, PtzConfig};
//!
//! let config = PtzConfig::default();
//! let gpio = Gpio::open(&GpioConfig::Sim).unwrap();
//! let driver = config.motors.build(&gpio, config.home).unwrap();
//! let ptz = Ptz::spawn(&config, driver, &[]).unwrap();
//! let handle = ptz.handle();
//!
//! let params = [("PanTiltHorizontal".to_owned(), "180".to_owned()),
//!               ("PanTiltVertical".to_owned(), "50".to_owned()),
//!               ("PanTiltPositionMove".to_owned(), "true".to_owned())];
//! let command = cgi::parse_pantilt(&params).unwrap();
//! assert_eq!(handle.execute(command).unwrap(), Effect::Motion);
//! let target = Position::new(180, 50).unwrap();
//! assert!(handle.reader().wait_for(target, Duration::from_secs(10)));
//! ```

pub mod cgi;
mod clock;
mod command;
mod controller;
pub mod driver;
pub mod position;
pub mod preset;
mod profile;
mod ptz;
mod status;

pub use clock::{Clock, MonotonicClock, SimClock};
pub use command::{Command, Direction, Effect, SwingMode, MAX_STEP_DEGREES};
pub use driver::{DriveError, DriverConfig, MotorDriver};
pub use position::{Position, PAN_MAX, TILT_MAX};
pub use preset::{PresetError, PresetRecord, PresetSlot};
pub use profile::MotionProfile;
pub use ptz::{Ptz, PtzConfig, PtzError, PtzHandle};
pub use status::PositionReader;
