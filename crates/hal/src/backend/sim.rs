//! Simulated peripherals: the embedded default when a board has no wiring for them, and the
//! backend of every test. Each one is a cloneable handle onto shared state, so a test keeps a
//! clone and watches (outputs, serial) or drives (inputs) what the daemon was handed.
//!
//! Memory stays bounded however long the daemon runs: histories keep only their newest entries.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::gpio::{GpioError, LineConfig};
use crate::input::DigitalInput;
use crate::output::DigitalOutput;
use crate::serial::{SerialError, SerialPort};

/// How many written levels a [`SimOutput`] remembers.
pub const OUTPUT_HISTORY: usize = 1024;
/// How many written bytes a [`SimSerial`] remembers.
pub const SERIAL_HISTORY: usize = 64 * 1024;

/// Locks a mutex; a panicked holder cannot leave these plain values inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
struct OutputState {
    level: bool,
    history: VecDeque<bool>,
    rising_edges: u64,
}

/// A simulated output line. Clones share the line.
#[derive(Clone, Default)]
pub struct SimOutput {
    state: Arc<Mutex<OutputState>>,
}

impl SimOutput {
    /// A new line, off, with empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current level.
    pub fn level(&self) -> bool {
        lock(&self.state).level
    }

    /// Every level written, oldest first (the newest [`OUTPUT_HISTORY`] of them).
    pub fn history(&self) -> Vec<bool> {
        lock(&self.state).history.iter().copied().collect()
    }

    /// How many off→on transitions the line has seen (step pulses of a stepper driver).
    pub fn rising_edges(&self) -> u64 {
        lock(&self.state).rising_edges
    }
}

impl DigitalOutput for SimOutput {
    fn set(&mut self, on: bool) -> Result<(), GpioError> {
        let mut state = lock(&self.state);
        if on && !state.level {
            state.rising_edges += 1;
        }
        state.level = on;
        if state.history.len() == OUTPUT_HISTORY {
            state.history.pop_front();
        }
        state.history.push_back(on);
        Ok(())
    }

    fn get(&self) -> bool {
        self.level()
    }
}

/// A simulated input line that a test drives with [`SimInput::set`]. Clones share the line.
#[derive(Clone, Default)]
pub struct SimInput {
    level: Arc<AtomicBool>,
}

impl SimInput {
    /// A new inactive line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes what readers of the line see.
    pub fn set(&self, on: bool) {
        self.level.store(on, Ordering::Release);
    }
}

impl DigitalInput for SimInput {
    fn read(&self) -> Result<bool, GpioError> {
        Ok(self.level.load(Ordering::Acquire))
    }
}

enum SimLine {
    Output(SimOutput),
    Input(SimInput),
}

/// A simulated GPIO chip: requesting a line twice fails as on real hardware, and tests look
/// lines up by number to observe or drive them. Clones share the chip.
#[derive(Clone, Default)]
pub struct SimGpio {
    lines: Arc<Mutex<HashMap<u32, SimLine>>>,
}

impl SimGpio {
    /// A chip with no line requested.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests `line` as an output.
    pub fn output(&self, line: LineConfig) -> Result<SimOutput, GpioError> {
        let output = SimOutput::new();
        self.claim(line.line, SimLine::Output(output.clone()))?;
        Ok(output)
    }

    /// Requests `line` as an input.
    pub fn input(&self, line: LineConfig) -> Result<SimInput, GpioError> {
        let input = SimInput::new();
        self.claim(line.line, SimLine::Input(input.clone()))?;
        Ok(input)
    }

    /// A view of output `line` as requested by someone else, if it is one.
    pub fn probe_output(&self, line: u32) -> Option<SimOutput> {
        match lock(&self.lines).get(&line) {
            Some(SimLine::Output(output)) => Some(output.clone()),
            _ => None,
        }
    }

    /// The driving end of input `line` as requested by someone else, if it is one.
    pub fn probe_input(&self, line: u32) -> Option<SimInput> {
        match lock(&self.lines).get(&line) {
            Some(SimLine::Input(input)) => Some(input.clone()),
            _ => None,
        }
    }

    fn claim(&self, line: u32, sim: SimLine) -> Result<(), GpioError> {
        let mut lines = lock(&self.lines);
        if lines.contains_key(&line) {
            return Err(GpioError::Busy(line));
        }
        lines.insert(line, sim);
        Ok(())
    }
}

/// A simulated serial port that keeps what was written. Clones share the port.
#[derive(Clone, Default)]
pub struct SimSerial {
    written: Arc<Mutex<VecDeque<u8>>>,
}

impl SimSerial {
    /// A port with nothing written.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far (the newest [`SERIAL_HISTORY`] of them).
    pub fn written(&self) -> Vec<u8> {
        lock(&self.written).iter().copied().collect()
    }
}

impl SerialPort for SimSerial {
    fn write_all(&mut self, data: &[u8]) -> Result<(), SerialError> {
        let mut written = lock(&self.written);
        written.extend(data);
        let excess = written.len().saturating_sub(SERIAL_HISTORY);
        written.drain(..excess);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_observable_through_a_probe() {
        let gpio = SimGpio::new();
        let mut trigger = gpio.output(LineConfig::new(17)).unwrap();
        let probe = gpio.probe_output(17).unwrap();
        trigger.set(true).unwrap();
        trigger.set(false).unwrap();
        trigger.set(true).unwrap();
        assert!(probe.level());
        assert_eq!(probe.history(), vec![true, false, true]);
        assert_eq!(probe.rising_edges(), 2);
    }

    #[test]
    fn a_line_cannot_be_requested_twice() {
        let gpio = SimGpio::new();
        gpio.output(LineConfig::new(4)).unwrap();
        assert!(matches!(
            gpio.input(LineConfig::new(4)),
            Err(GpioError::Busy(4))
        ));
        assert!(gpio.probe_input(4).is_none());
    }

    #[test]
    fn input_follows_the_test_driver() {
        let gpio = SimGpio::new();
        let input = gpio.input(LineConfig::new(5)).unwrap();
        assert!(!input.read().unwrap());
        gpio.probe_input(5).unwrap().set(true);
        assert!(input.read().unwrap());
    }

    #[test]
    fn output_history_is_bounded() {
        let mut output = SimOutput::new();
        for i in 0..OUTPUT_HISTORY + 10 {
            output.set(i % 2 == 0).unwrap();
        }
        assert_eq!(output.history().len(), OUTPUT_HISTORY);
    }

    #[test]
    fn serial_keeps_the_newest_bytes() {
        let mut port = SimSerial::new();
        port.write_all(&vec![b'a'; SERIAL_HISTORY]).unwrap();
        port.write_all(b"xyz").unwrap();
        let written = port.written();
        assert_eq!(written.len(), SERIAL_HISTORY);
        assert!(written.ends_with(b"axyz"));
    }
}
