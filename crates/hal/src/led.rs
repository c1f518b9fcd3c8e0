//! The status LED and the spec's `LEDControl` setting of `/system.cgi`.
//!
//! What each mode does (the spec names them only):
//! - **Normal** (`0`): steady on while the camera runs; blinking (2 Hz) while at least one client
//!   streams video, so that people in view can tell they are being watched.
//! - **Off** (`1`): always off — a camera that should not draw attention (or light up a bedroom).
//! - **Dummy** (`2`): blinks all the time as if someone were watching, whether anyone is or not:
//!   the "dummy camera" deterrent.
//!
//! The pattern is the pure function [`LedMode::level`]; [`BlinkingLed`] applies it to an output
//! from its own small thread, which sleeps while the LED is steady.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use serde::{Deserialize, Serialize};

use crate::output::DigitalOutput;

/// Half a blink period: on for this long, then off for this long.
pub const BLINK_HALF_PERIOD: Duration = Duration::from_millis(250);

/// The spec's `LEDControl` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum LedMode {
    /// `0`: on, blinking while streaming.
    #[default]
    Normal,
    /// `1`: always off.
    Off,
    /// `2`: always blinking.
    Dummy,
}

/// A `LEDControl` value outside 0, 1, 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("LEDControl must be 0 (Normal), 1 (Off) or 2 (Dummy), not {0}")]
pub struct InvalidLedMode(pub u8);

impl TryFrom<u8> for LedMode {
    type Error = InvalidLedMode;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(LedMode::Normal),
            1 => Ok(LedMode::Off),
            2 => Ok(LedMode::Dummy),
            other => Err(InvalidLedMode(other)),
        }
    }
}

impl From<LedMode> for u8 {
    fn from(mode: LedMode) -> u8 {
        match mode {
            LedMode::Normal => 0,
            LedMode::Off => 1,
            LedMode::Dummy => 2,
        }
    }
}

impl LedMode {
    /// Whether the LED blinks in this mode, given whether anyone streams.
    pub fn blinks(self, streaming: bool) -> bool {
        match self {
            LedMode::Normal => streaming,
            LedMode::Off => false,
            LedMode::Dummy => true,
        }
    }

    /// The LED level in this mode; `blink_on` is the current half of the blink period.
    pub fn level(self, streaming: bool, blink_on: bool) -> bool {
        match self {
            LedMode::Off => false,
            _ if self.blinks(streaming) => blink_on,
            _ => true,
        }
    }
}

/// The camera's LED as the daemon drives it.
pub trait Led: Send + Sync {
    /// Applies a new `LEDControl` setting.
    fn set_mode(&self, mode: LedMode);

    /// Tells the LED whether at least one client is streaming video.
    fn set_streaming(&self, streaming: bool);
}

enum LedCommand {
    Mode(LedMode),
    Streaming(bool),
}

/// An LED on a digital output, blinked by its own thread. Dropping it stops the thread and
/// turns the LED off.
pub struct BlinkingLed {
    commands: Option<Sender<LedCommand>>,
    thread: Option<JoinHandle<()>>,
}

impl BlinkingLed {
    /// Starts driving `output` in `mode`.
    pub fn spawn(output: Box<dyn DigitalOutput>, mode: LedMode) -> std::io::Result<BlinkingLed> {
        let (commands, receiver) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("led".to_owned())
            .spawn(move || run(output, mode, receiver))?;
        Ok(BlinkingLed {
            commands: Some(commands),
            thread: Some(thread),
        })
    }

    fn send(&self, command: LedCommand) {
        if let Some(commands) = &self.commands {
            // The thread only ends when this sender is dropped, so sending cannot fail.
            let _ = commands.send(command);
        }
    }
}

impl Led for BlinkingLed {
    fn set_mode(&self, mode: LedMode) {
        self.send(LedCommand::Mode(mode));
    }

    fn set_streaming(&self, streaming: bool) {
        self.send(LedCommand::Streaming(streaming));
    }
}

impl Drop for BlinkingLed {
    fn drop(&mut self) {
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(mut output: Box<dyn DigitalOutput>, mut mode: LedMode, commands: Receiver<LedCommand>) {
    let mut streaming = false;
    let mut blink_on = true;
    loop {
        let level = mode.level(streaming, blink_on);
        if level != output.get() {
            if let Err(error) = output.set(level) {
                log::warn!("LED: {error}");
            }
        }
        let received = if mode.blinks(streaming) {
            commands.recv_timeout(BLINK_HALF_PERIOD)
        } else {
            commands.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        match received {
            Ok(LedCommand::Mode(new_mode)) => mode = new_mode,
            Ok(LedCommand::Streaming(now_streaming)) => streaming = now_streaming,
            Err(RecvTimeoutError::Timeout) => blink_on = !blink_on,
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Err(error) = output.set(false) {
        log::warn!("LED: {error}");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::backend::sim::SimOutput;

    #[test]
    fn normal_is_steady_on_and_blinks_while_streaming() {
        assert!(LedMode::Normal.level(false, true));
        assert!(LedMode::Normal.level(false, false));
        assert!(LedMode::Normal.level(true, true));
        assert!(!LedMode::Normal.level(true, false));
    }

    #[test]
    fn off_is_always_off() {
        for (streaming, blink_on) in [(false, false), (false, true), (true, false), (true, true)] {
            assert!(!LedMode::Off.level(streaming, blink_on));
        }
    }

    #[test]
    fn dummy_blinks_with_nobody_watching() {
        assert!(LedMode::Dummy.level(false, true));
        assert!(!LedMode::Dummy.level(false, false));
    }

    #[test]
    fn spec_values_map_to_modes() {
        assert_eq!(LedMode::try_from(0), Ok(LedMode::Normal));
        assert_eq!(LedMode::try_from(1), Ok(LedMode::Off));
        assert_eq!(LedMode::try_from(2), Ok(LedMode::Dummy));
        assert_eq!(LedMode::try_from(3), Err(InvalidLedMode(3)));
        assert_eq!(u8::from(LedMode::Dummy), 2);
    }

    /// Polls `condition` until it holds or a generous deadline passes.
    fn eventually(condition: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if condition() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        condition()
    }

    #[test]
    fn the_thread_drives_the_output_and_turns_it_off_when_dropped() {
        let output = SimOutput::new();
        let led = BlinkingLed::spawn(Box::new(output.clone()), LedMode::Normal).unwrap();
        assert!(eventually(|| output.level()), "Normal lights the LED");
        led.set_mode(LedMode::Dummy);
        assert!(
            eventually(|| output.history().len() >= 4),
            "Dummy blinks: {:?}",
            output.history()
        );
        led.set_mode(LedMode::Off);
        assert!(eventually(|| !output.level()));
        led.set_mode(LedMode::Normal);
        assert!(eventually(|| output.level()));
        drop(led);
        assert!(!output.level(), "dropping the LED turns it off");
    }
}
