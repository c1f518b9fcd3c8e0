//! The camera's small peripherals — two trigger outputs, two trigger inputs, the status LED and
//! the serial port — behind small traits, so that the daemon and the pan-tilt driver never know
//! which hardware they run on.
//!
//! Every peripheral has a simulated backend (the embedded default and the tests' backend, observable
//! through cloneable handles) and real ones: the Linux GPIO character device (`/dev/gpiochipN`),
//! the Raspberry Pi through `rppal` (cargo feature `rpi`), and a termios serial port.
//!
//! The daemon builds everything at once from its TOML config with [`Hal::from_config`]:
//!
//! ```
//! use ipcam_hal::{Hal, HalConfig, SerialWriter};
//! let config: HalConfig = toml::from_str("").unwrap(); // all-sim defaults
//! let mut hal = Hal::from_config(&config).unwrap();
//! hal.trigger_outputs[0].set(true).unwrap();
//! assert!(hal.trigger_outputs[0].get());
//! // The port gets its own thread: a write may wait for the line, a queued request never does.
//! let serial = SerialWriter::spawn(hal.serial).unwrap();
//! serial.try_send(b"hello").unwrap();
//! ```

pub mod backend;
mod config;
pub mod gpio;
pub mod input;
pub mod led;
pub mod output;
pub mod serial;

pub use config::{Hal, HalConfig, HalError};
pub use gpio::{Gpio, GpioConfig, GpioError, LineConfig};
pub use input::DigitalInput;
pub use led::{Led, LedMode};
pub use output::DigitalOutput;
pub use serial::{
    EnqueueError, Serial, SerialBackendConfig, SerialConfig, SerialError, SerialPort, SerialWriter,
};
