//! The daemon's `[hal]` config section and the one call that builds every peripheral from it.

use serde::{Deserialize, Serialize};

use crate::backend::sim::SimOutput;
use crate::gpio::{Gpio, GpioConfig, GpioError, LineConfig};
use crate::input::DigitalInput;
use crate::led::{BlinkingLed, Led, LedMode};
use crate::output::DigitalOutput;
use crate::serial::{Serial, SerialBackendConfig, SerialError};

/// Which backends drive the peripherals, and on which lines.
///
/// A line left out is not wired: it gets an in-memory stand-in, so `/iocontrol.cgi` still keeps
/// and reports the trigger states. No line is ever driven unless the config names it.
///
/// ```toml
/// [gpio]
/// backend = "cdev"
/// chip = "/dev/gpiochip0"
/// [trigger1_output]
/// line = 17
/// [led]
/// line = 27
/// active_low = true
/// [serial]
/// backend = "termios"
/// device = "/dev/ttyS1"
/// baud = 9600
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HalConfig {
    /// The GPIO backend (default: sim).
    pub gpio: GpioConfig,
    /// Output driven by `Trigger1`.
    pub trigger1_output: Option<LineConfig>,
    /// Output driven by `Trigger2`.
    pub trigger2_output: Option<LineConfig>,
    /// Alarm input 1 (a door contact, a PIR sensor): raises an event when it becomes
    /// active. `active_low` for contacts that pull the line to ground.
    pub trigger1_input: Option<LineConfig>,
    /// Alarm input 2.
    pub trigger2_input: Option<LineConfig>,
    /// The status LED.
    pub led: Option<LineConfig>,
    /// The serial port of `/comport.cgi` (default: sim).
    pub serial: SerialBackendConfig,
}

/// Why the peripherals could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HalError {
    /// A GPIO chip or line failed.
    #[error(transparent)]
    Gpio(#[from] GpioError),
    /// The serial port failed.
    #[error(transparent)]
    Serial(#[from] SerialError),
    /// A peripheral's thread (the LED's or the serial port's writer) could not start.
    #[error("cannot start a peripheral thread (LED or serial port): {0}")]
    Thread(#[from] std::io::Error),
}

/// Every peripheral of the camera, built from a [`HalConfig`].
pub struct Hal {
    /// The GPIO backend, for further lines (the pan-tilt driver's) and, with the sim backend,
    /// for tests to probe configured lines.
    pub gpio: Gpio,
    /// `Trigger1` and `Trigger2` outputs.
    pub trigger_outputs: [Box<dyn DigitalOutput>; 2],
    /// Alarm inputs 1 and 2, where wired.
    pub trigger_inputs: [Option<Box<dyn DigitalInput>>; 2],
    /// The status LED, starting in [`LedMode::Normal`].
    pub led: Box<dyn Led>,
    /// The serial port.
    pub serial: Serial,
}

impl Hal {
    /// Opens the backends and requests every configured line.
    pub fn from_config(config: &HalConfig) -> Result<Hal, HalError> {
        let gpio = Gpio::open(&config.gpio)?;
        let trigger_outputs = [
            output(&gpio, config.trigger1_output)?,
            output(&gpio, config.trigger2_output)?,
        ];
        let trigger_inputs = [
            config
                .trigger1_input
                .map(|line| gpio.input(line))
                .transpose()?,
            config
                .trigger2_input
                .map(|line| gpio.input(line))
                .transpose()?,
        ];
        let led = Box::new(BlinkingLed::spawn(
            output(&gpio, config.led)?,
            LedMode::Normal,
        )?);
        let serial = Serial::open(&config.serial)?;
        Ok(Hal {
            gpio,
            trigger_outputs,
            trigger_inputs,
            led,
            serial,
        })
    }
}

fn output(gpio: &Gpio, line: Option<LineConfig>) -> Result<Box<dyn DigitalOutput>, GpioError> {
    match line {
        Some(line) => gpio.output(line),
        None => Ok(Box::new(SimOutput::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::{Parity, SerialConfig};
    use crate::SerialPort;

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
            [gpio]
            backend = "cdev"
            chip = "/dev/gpiochip0"
            [trigger1_output]
            line = 17
            [led]
            line = 27
            active_low = true
            [serial]
            backend = "termios"
            device = "/dev/ttyS1"
            baud = 9600
            parity = "even"
        "#;
        let config: HalConfig = toml::from_str(text).unwrap();
        assert_eq!(
            config.gpio,
            GpioConfig::Cdev {
                chip: "/dev/gpiochip0".into()
            }
        );
        assert_eq!(config.trigger1_output, Some(LineConfig::new(17)));
        assert_eq!(config.trigger2_output, None);
        assert_eq!(
            config.led,
            Some(LineConfig {
                line: 27,
                active_low: true
            })
        );
        assert_eq!(
            config.serial,
            SerialBackendConfig::Termios(SerialConfig {
                parity: Parity::Even,
                ..SerialConfig::default()
            })
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<HalConfig>("[trigger1_output]\npin = 3").is_err());
        assert!(toml::from_str::<HalConfig>("[gpio]\nbackend = \"parport\"").is_err());
    }

    #[test]
    fn triggers_on_configured_sim_lines_are_observable() {
        let config: HalConfig = toml::from_str("[trigger1_output]\nline = 1").unwrap();
        let mut hal = Hal::from_config(&config).unwrap();
        let Gpio::Sim(sim) = &hal.gpio else {
            panic!("sim is the default backend")
        };
        let trigger1 = sim.probe_output(1).unwrap();

        hal.trigger_outputs[0].set(true).unwrap();
        assert!(trigger1.level());
        assert!(hal.trigger_outputs[0].get());
        hal.trigger_outputs[0].set(false).unwrap();
        assert_eq!(trigger1.history(), vec![true, false]);
    }

    #[test]
    fn configured_sim_inputs_are_driven_through_a_probe() {
        let config: HalConfig =
            toml::from_str("[trigger2_input]\nline = 4\nactive_low = true").unwrap();
        let hal = Hal::from_config(&config).unwrap();
        assert!(hal.trigger_inputs[0].is_none());
        let input = hal.trigger_inputs[1].as_ref().expect("wired");
        let Gpio::Sim(sim) = &hal.gpio else {
            panic!("sim is the default backend")
        };
        assert!(!input.read().unwrap());
        sim.probe_input(4).expect("requested").set(true);
        assert!(input.read().unwrap());
    }

    #[test]
    fn unwired_triggers_still_keep_their_state() {
        let mut hal = Hal::from_config(&HalConfig::default()).unwrap();
        hal.trigger_outputs[1].set(true).unwrap();
        assert!(hal.trigger_outputs[1].get());
        assert!(!hal.trigger_outputs[0].get());
        hal.serial.write_all(b"abc").unwrap();
        let Serial::Sim(port) = &hal.serial else {
            panic!("sim is the default serial backend")
        };
        assert_eq!(port.written(), b"abc");
    }

    #[test]
    fn a_line_configured_twice_is_an_error() {
        let config: HalConfig =
            toml::from_str("[trigger1_output]\nline = 1\n[led]\nline = 1").unwrap();
        assert!(matches!(
            Hal::from_config(&config),
            Err(HalError::Gpio(GpioError::Busy(1)))
        ));
    }

    #[cfg(not(feature = "rpi"))]
    #[test]
    fn the_rpi_backend_needs_its_feature() {
        let config: HalConfig = toml::from_str("[gpio]\nbackend = \"rpi\"").unwrap();
        assert!(matches!(
            Hal::from_config(&config),
            Err(HalError::Gpio(GpioError::NotBuilt("rpi")))
        ));
    }
}
