//! Step/dir stepper drivers (A4988, DRV8825, TMC2208 and the like) on `ipcam-hal` GPIO lines.
//!
//! Each axis has a step line (one pulse per step), a direction line and a limit switch at its
//! 0° end. [`MotorDriver::calibrate`] homes each axis: it steps towards 0° until the switch
//! closes, and that point becomes 0°. Soft limits keep the axis inside its configured range
//! whatever it is asked, so a wrong setpoint can never drive the head into its end stops.
//!
//! The pulses of one controller tick are spaced by at least `step_interval_us`, so that a tick's
//! worth of steps never reaches the motor as a burst faster than it can follow; one GPIO write
//! through the character device takes a few microseconds, above the ~1 µs minimum pulse width
//! of common driver chips.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use ipcam_hal::{DigitalInput, DigitalOutput, Gpio, LineConfig};

use super::{AxisName, DriveError, MotorDriver};
use crate::position::{PAN_MAX, TILT_MAX};

/// Extra travel allowed when homing beyond the axis range, degrees: the head may start past
/// its soft limit after being turned by hand.
const HOMING_MARGIN_DEGREES: f64 = 20.0;

/// One axis of a stepper mechanism.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepperAxisConfig {
    /// Step pulse output.
    pub step: LineConfig,
    /// Direction output (on = towards larger angles, unless `reverse`).
    pub dir: LineConfig,
    /// Limit switch input at the 0° end (on = reached).
    pub limit: LineConfig,
    /// Motor steps (microsteps) per degree of head movement, after gearing.
    pub steps_per_degree: f64,
    /// Swap the direction line's meaning, for motors wired the other way round.
    #[serde(default)]
    pub reverse: bool,
    /// Soft limit, low end, degrees (default 0).
    #[serde(default)]
    pub min_degrees: f64,
    /// Soft limit, high end, degrees (default: the axis range, 340 or 135).
    pub max_degrees: Option<f64>,
}

/// A two-axis stepper mechanism.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepperConfig {
    /// The horizontal axis.
    pub pan: StepperAxisConfig,
    /// The vertical axis.
    pub tilt: StepperAxisConfig,
    /// Pause between homing steps, microseconds: homing runs slowly, without the profile.
    #[serde(default = "default_homing_step_interval")]
    pub homing_step_interval_us: u64,
    /// Shortest pause between steps while moving, microseconds (default 200: at most 5000
    /// steps per second).
    #[serde(default = "default_step_interval")]
    pub step_interval_us: u64,
}

fn default_homing_step_interval() -> u64 {
    2000
}

fn default_step_interval() -> u64 {
    200
}

/// Sleeps for `interval` unless it is zero (tests run the driver at full speed).
fn pause(interval: Duration) {
    if !interval.is_zero() {
        std::thread::sleep(interval);
    }
}

/// The GPIO lines of one axis, already requested.
pub struct AxisLines {
    /// Step pulse output.
    pub step: Box<dyn DigitalOutput>,
    /// Direction output.
    pub dir: Box<dyn DigitalOutput>,
    /// Limit switch input.
    pub limit: Box<dyn DigitalInput>,
}

impl AxisLines {
    fn request(config: &StepperAxisConfig, gpio: &Gpio) -> Result<AxisLines, DriveError> {
        Ok(AxisLines {
            step: gpio.output(config.step)?,
            dir: gpio.output(config.dir)?,
            limit: gpio.input(config.limit)?,
        })
    }
}

struct StepperAxis {
    name: AxisName,
    lines: AxisLines,
    steps_per_degree: f64,
    reverse: bool,
    soft_min: i64,
    soft_max: i64,
    homing_limit: u64,
    /// Steps from the limit switch.
    position: i64,
}

impl StepperAxis {
    fn new(
        name: AxisName,
        config: &StepperAxisConfig,
        range: u16,
        lines: AxisLines,
    ) -> Result<StepperAxis, DriveError> {
        let spd = config.steps_per_degree;
        if !(spd.is_finite() && spd > 0.0) {
            return Err(DriveError::InvalidSetting(format!(
                "{name} steps_per_degree must be positive, not {spd}"
            )));
        }
        let max = config.max_degrees.unwrap_or(f64::from(range));
        if !(0.0 <= config.min_degrees && config.min_degrees < max && max <= f64::from(range)) {
            return Err(DriveError::InvalidSetting(format!(
                "{name} soft limits {}..{max} must lie within 0..{range}",
                config.min_degrees
            )));
        }
        Ok(StepperAxis {
            name,
            lines,
            steps_per_degree: spd,
            reverse: config.reverse,
            soft_min: (config.min_degrees * spd).ceil() as i64,
            soft_max: (max * spd).floor() as i64,
            homing_limit: ((f64::from(range) + HOMING_MARGIN_DEGREES) * spd).ceil() as u64,
            position: 0,
        })
    }

    fn set_direction(&mut self, increasing: bool) -> Result<(), DriveError> {
        let level = increasing != self.reverse;
        if self.lines.dir.get() != level {
            self.lines.dir.set(level)?;
        }
        Ok(())
    }

    fn pulse(&mut self) -> Result<(), DriveError> {
        self.lines.step.set(true)?;
        self.lines.step.set(false)?;
        Ok(())
    }

    fn home(&mut self, interval: Duration) -> Result<(), DriveError> {
        self.set_direction(false)?;
        for _ in 0..self.homing_limit {
            if self.lines.limit.read()? {
                self.position = 0;
                return Ok(());
            }
            self.pulse()?;
            pause(interval);
        }
        Err(DriveError::HomingFailed {
            axis: self.name,
            steps: self.homing_limit,
        })
    }

    fn drive_to(&mut self, degrees: f64, interval: Duration) -> Result<(), DriveError> {
        let target =
            ((degrees * self.steps_per_degree).round() as i64).clamp(self.soft_min, self.soft_max);
        let delta = target - self.position;
        if delta == 0 {
            return Ok(());
        }
        self.set_direction(delta > 0)?;
        for _ in 0..delta.unsigned_abs() {
            self.pulse()?;
            self.position += delta.signum();
            pause(interval);
        }
        Ok(())
    }

    fn degrees(&self) -> f64 {
        self.position as f64 / self.steps_per_degree
    }
}

/// A stepper mechanism on GPIO lines.
pub struct StepperDriver {
    pan: StepperAxis,
    tilt: StepperAxis,
    homing_interval: Duration,
    step_interval: Duration,
}

impl StepperDriver {
    /// Requests the configured lines from `gpio`.
    pub fn open(config: &StepperConfig, gpio: &Gpio) -> Result<StepperDriver, DriveError> {
        let pan = AxisLines::request(&config.pan, gpio)?;
        let tilt = AxisLines::request(&config.tilt, gpio)?;
        StepperDriver::with_lines(config, pan, tilt)
    }

    /// Uses lines the caller already holds.
    pub fn with_lines(
        config: &StepperConfig,
        pan: AxisLines,
        tilt: AxisLines,
    ) -> Result<StepperDriver, DriveError> {
        Ok(StepperDriver {
            pan: StepperAxis::new(AxisName::Pan, &config.pan, PAN_MAX, pan)?,
            tilt: StepperAxis::new(AxisName::Tilt, &config.tilt, TILT_MAX, tilt)?,
            homing_interval: Duration::from_micros(config.homing_step_interval_us),
            step_interval: Duration::from_micros(config.step_interval_us),
        })
    }
}

impl MotorDriver for StepperDriver {
    fn calibrate(&mut self) -> Result<(f64, f64), DriveError> {
        self.pan.home(self.homing_interval)?;
        self.tilt.home(self.homing_interval)?;
        Ok((self.pan.degrees(), self.tilt.degrees()))
    }

    fn drive_to(&mut self, pan: f64, tilt: f64) -> Result<(), DriveError> {
        self.pan.drive_to(pan, self.step_interval)?;
        self.tilt.drive_to(tilt, self.step_interval)
    }
}

#[cfg(test)]
mod tests {
    use ipcam_hal::backend::sim::{SimGpio, SimOutput};
    use ipcam_hal::GpioError;

    use super::*;

    /// A limit switch that closes once the head, starting `distance` steps from it, has been
    /// stepped back that far (homing only steps towards it).
    struct LimitSwitch {
        steps: SimOutput,
        distance: u64,
    }

    impl DigitalInput for LimitSwitch {
        fn read(&self) -> Result<bool, GpioError> {
            Ok(self.steps.rising_edges() >= self.distance)
        }
    }

    struct Axis {
        step: SimOutput,
        dir: SimOutput,
    }

    fn axis_config(base: u32, steps_per_degree: f64) -> StepperAxisConfig {
        StepperAxisConfig {
            step: LineConfig::new(base),
            dir: LineConfig::new(base + 1),
            limit: LineConfig::new(base + 2),
            steps_per_degree,
            reverse: false,
            min_degrees: 0.0,
            max_degrees: None,
        }
    }

    fn config() -> StepperConfig {
        StepperConfig {
            pan: axis_config(10, 10.0),
            tilt: axis_config(20, 4.0),
            homing_step_interval_us: 0,
            step_interval_us: 0,
        }
    }

    fn lines(distance_to_switch: u64) -> (AxisLines, Axis) {
        let step = SimOutput::new();
        let dir = SimOutput::new();
        let lines = AxisLines {
            step: Box::new(step.clone()),
            dir: Box::new(dir.clone()),
            limit: Box::new(LimitSwitch {
                steps: step.clone(),
                distance: distance_to_switch,
            }),
        };
        (lines, Axis { step, dir })
    }

    fn homed_driver(config: &StepperConfig) -> (StepperDriver, Axis, Axis) {
        let (pan_lines, pan) = lines(123);
        let (tilt_lines, tilt) = lines(7);
        let mut driver = StepperDriver::with_lines(config, pan_lines, tilt_lines).unwrap();
        assert_eq!(driver.calibrate().unwrap(), (0.0, 0.0));
        (driver, pan, tilt)
    }

    #[test]
    fn homing_steps_down_until_the_limit_switch_closes() {
        let (_, pan, tilt) = homed_driver(&config());
        assert_eq!(pan.step.rising_edges(), 123);
        assert_eq!(tilt.step.rising_edges(), 7);
        assert!(!pan.dir.level(), "homing runs towards 0°");
    }

    #[test]
    fn moves_emit_steps_per_degree_with_the_direction_set() {
        let (mut driver, pan, tilt) = homed_driver(&config());
        let (pan_before, tilt_before) = (pan.step.rising_edges(), tilt.step.rising_edges());
        driver.drive_to(12.5, 3.0).unwrap();
        assert_eq!(pan.step.rising_edges() - pan_before, 125);
        assert_eq!(tilt.step.rising_edges() - tilt_before, 12);
        assert!(pan.dir.level() && tilt.dir.level());
        driver.drive_to(2.5, 3.0).unwrap();
        assert_eq!(pan.step.rising_edges() - pan_before, 225);
        assert!(!pan.dir.level());
    }

    #[test]
    fn reverse_wiring_inverts_the_direction_line() {
        let mut config = config();
        config.pan.reverse = true;
        let (mut driver, pan, _) = homed_driver(&config);
        assert!(pan.dir.level(), "homing (decreasing) drives the line high");
        driver.drive_to(1.0, 0.0).unwrap();
        assert!(!pan.dir.level());
    }

    #[test]
    fn soft_limits_hold_whatever_the_setpoint() {
        let mut config = config();
        config.pan.min_degrees = 10.0;
        config.pan.max_degrees = Some(300.0);
        let (mut driver, pan, _) = homed_driver(&config);
        let homed = pan.step.rising_edges();
        driver.drive_to(340.0, 0.0).unwrap();
        assert_eq!(pan.step.rising_edges() - homed, 3000, "stops at 300°");
        driver.drive_to(0.0, 0.0).unwrap();
        assert_eq!(pan.step.rising_edges() - homed, 3000 + 2900, "stops at 10°");
    }

    #[test]
    fn homing_fails_when_the_switch_never_closes() {
        let (pan_lines, _) = lines(u64::MAX);
        let (tilt_lines, _) = lines(0);
        let mut driver = StepperDriver::with_lines(&config(), pan_lines, tilt_lines).unwrap();
        let error = driver.calibrate().unwrap_err();
        assert!(matches!(
            error,
            DriveError::HomingFailed {
                axis: AxisName::Pan,
                steps: 3600
            }
        ));
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut zero = config();
        zero.tilt.steps_per_degree = 0.0;
        let mut past_range = config();
        past_range.tilt.max_degrees = Some(136.0);
        for bad in [zero, past_range] {
            let (pan_lines, _) = lines(0);
            let (tilt_lines, _) = lines(0);
            assert!(matches!(
                StepperDriver::with_lines(&bad, pan_lines, tilt_lines),
                Err(DriveError::InvalidSetting(_))
            ));
        }
    }

    #[test]
    fn lines_come_from_the_configured_gpio() {
        let sim = SimGpio::new();
        let gpio = Gpio::Sim(sim.clone());
        let mut driver = StepperDriver::open(&config(), &gpio).unwrap();
        sim.probe_input(12).unwrap().set(true);
        sim.probe_input(22).unwrap().set(true);
        driver.calibrate().unwrap();
        driver.drive_to(1.0, 1.0).unwrap();
        assert_eq!(sim.probe_output(10).unwrap().rising_edges(), 10);
        assert_eq!(sim.probe_output(20).unwrap().rising_edges(), 4);
        assert!(matches!(
            StepperDriver::open(&config(), &gpio),
            Err(DriveError::Gpio(GpioError::Busy(10)))
        ));
    }
}
