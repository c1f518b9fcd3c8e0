//! The implementations behind the peripheral traits: simulated, Linux character device,
//! Raspberry Pi and termios.

pub mod cdev;
#[cfg(feature = "rpi")]
pub mod rpi;
pub mod sim;
pub mod termios;
