//! The camera's serial port, written by `/comport.cgi` (`ComOut=<data>&ComSend=Yes`) to talk to
//! whatever hangs off it (a PTZ head, a relay board, a display).
//!
//! A write may wait for the line (a slow baud rate, flow control), so the daemon never writes
//! from its event loop: [`SerialWriter`] gives the port its own thread and a bounded queue.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::sim::SimSerial;
use crate::backend::termios::TermiosSerial;

mod writer;

pub use writer::{EnqueueError, SerialWriter, MAX_REQUEST_BYTES, QUEUE_DEPTH};

/// Why a serial operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SerialError {
    /// The device could not be opened.
    #[error("cannot open serial port {device}: {source}")]
    Open {
        /// The device path.
        device: PathBuf,
        /// What the system reported.
        #[source]
        source: std::io::Error,
    },
    /// The device is not a terminal, or refused the line settings.
    #[error("cannot configure serial port {device}: {source}")]
    Configure {
        /// The device path.
        device: PathBuf,
        /// What the system reported.
        #[source]
        source: nix::Error,
    },
    /// The config asks for a baud rate termios has no constant for.
    #[error("unsupported baud rate {0}")]
    UnsupportedBaud(u32),
    /// The config asks for a frame format a UART cannot do.
    #[error("invalid serial setting: {0}")]
    InvalidSetting(&'static str),
    /// Writing failed.
    #[error("serial write failed: {0}")]
    Write(#[source] std::io::Error),
    /// The line took no byte for this long: flow control holds it (RTS/CTS with nothing
    /// connected, XOFF) or the device is wedged. The rest of the data was not sent.
    #[error(
        "serial port took nothing for {0:?} (flow control holding the line, or nothing connected)"
    )]
    Stalled(Duration),
}

/// A port that sends bytes.
pub trait SerialPort: Send {
    /// Sends all of `data` to the driver. This may wait while the driver's buffer is full, so it
    /// belongs on the port's own thread ([`SerialWriter`]), never on an event loop.
    fn write_all(&mut self, data: &[u8]) -> Result<(), SerialError>;
}

impl<T: SerialPort + ?Sized> SerialPort for Box<T> {
    fn write_all(&mut self, data: &[u8]) -> Result<(), SerialError> {
        (**self).write_all(data)
    }
}

/// Parity bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// No parity bit (the "N" of 8N1).
    #[default]
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

/// Flow control.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowControl {
    /// None (the default: most camera peripherals have only TX, RX and ground).
    #[default]
    None,
    /// RTS/CTS.
    Hardware,
    /// XON/XOFF.
    Software,
}

/// Line settings of a termios port; the defaults are 9600 8N1 without flow control.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SerialConfig {
    /// The device, e.g. `/dev/ttyS1` or `/dev/ttyUSB0`.
    pub device: PathBuf,
    /// Bits per second; one of the standard termios rates.
    pub baud: u32,
    /// Data bits, 5 to 8.
    pub data_bits: u8,
    /// Parity bit.
    pub parity: Parity,
    /// Stop bits, 1 or 2.
    pub stop_bits: u8,
    /// Flow control.
    pub flow_control: FlowControl,
}

impl Default for SerialConfig {
    fn default() -> Self {
        SerialConfig {
            device: PathBuf::from("/dev/ttyS1"),
            baud: 9600,
            data_bits: 8,
            parity: Parity::None,
            stop_bits: 1,
            flow_control: FlowControl::None,
        }
    }
}

/// Which serial backend the camera uses (`backend = "sim" | "termios"` in TOML).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum SerialBackendConfig {
    /// Bytes are kept in memory (the default).
    #[default]
    Sim,
    /// A real port through termios.
    Termios(SerialConfig),
}

/// An opened serial port of either backend.
pub enum Serial {
    /// In-memory port; tests keep a clone to read what was written.
    Sim(SimSerial),
    /// A termios device.
    Termios(TermiosSerial),
}

impl Serial {
    /// Opens the port the config names.
    pub fn open(config: &SerialBackendConfig) -> Result<Serial, SerialError> {
        match config {
            SerialBackendConfig::Sim => Ok(Serial::Sim(SimSerial::new())),
            SerialBackendConfig::Termios(settings) => {
                Ok(Serial::Termios(TermiosSerial::open(settings)?))
            }
        }
    }
}

impl SerialPort for Serial {
    fn write_all(&mut self, data: &[u8]) -> Result<(), SerialError> {
        match self {
            Serial::Sim(port) => port.write_all(data),
            Serial::Termios(port) => port.write_all(data),
        }
    }
}
