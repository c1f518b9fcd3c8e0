//! The controller thread and the handle the daemon talks to it through.
//!
//! The thread owns the motor driver; commands reach it over a `crossbeam-channel`, whose
//! receive timeout doubles as the motion tick (it blocks without waking while the head rests).
//! Preset edits are configuration, not motion: the handle applies them itself, under a mutex
//! shared with the thread (which reads the table at each swing leg), and answers at once.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use serde::{Deserialize, Serialize};

use crate::clock::MonotonicClock;
use crate::command::{Command, Effect, SwingMode};
use crate::controller::{Controller, Motion, Settings};
use crate::driver::{DriverConfig, MotorDriver};
use crate::position::Position;
use crate::preset::{PresetError, PresetRecord, PresetSlot, PresetTable};
use crate::profile::MotionProfile;
use crate::status::{PositionReader, Published};

/// How often the thread advances a move.
const TICK: Duration = Duration::from_millis(10);

/// The daemon's `[ptz]` config section.
///
/// ```toml
/// home = { pan = 170, tilt = 45 }
/// swing_dwell_seconds = 5.0
/// [profile]
/// max_speed = 60.0
/// acceleration = 120.0
/// [motors]
/// driver = "sim"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PtzConfig {
    /// Where Home (`PanTiltSingleMove=4`, preset 0) points; the head goes there at start.
    pub home: Position,
    /// Speed and acceleration.
    pub profile: MotionProfile,
    /// Pause at each preset during the swing, seconds.
    pub swing_dwell_seconds: f64,
    /// The motor driver.
    pub motors: DriverConfig,
}

impl Default for PtzConfig {
    fn default() -> Self {
        PtzConfig {
            home: Position::DEFAULT_HOME,
            profile: MotionProfile::default(),
            swing_dwell_seconds: 5.0,
            motors: DriverConfig::Sim,
        }
    }
}

/// Why a pan-tilt command or start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum PtzError {
    /// A preset could not be stored or loaded.
    #[error(transparent)]
    Preset(#[from] PresetError),
    /// Going to a preset that is not set.
    #[error("preset {0} is not set")]
    PresetNotSet(u8),
    /// Swing asked for with no preset set.
    #[error("no preset is set to swing between")]
    NoPresets,
    /// A setting that cannot work.
    #[error("invalid pan-tilt setting: {0}")]
    InvalidSetting(String),
    /// The controller thread has ended (shut down, or its driver failed; the log says which).
    #[error("the pan-tilt controller is not running")]
    Stopped,
    /// The controller thread could not start.
    #[error("cannot start the pan-tilt thread: {0}")]
    Spawn(#[source] std::io::Error),
}

enum Message {
    Motion(Motion),
    Shutdown,
}

/// The running controller. Dropping it stops the thread (the head stays where it is).
pub struct Ptz {
    handle: PtzHandle,
    thread: Option<JoinHandle<()>>,
}

impl Ptz {
    /// Starts the controller thread with `driver` and the stored `presets` (validated all or
    /// nothing). The driver calibrates on the thread, then the head goes home.
    pub fn spawn(
        config: &PtzConfig,
        driver: Box<dyn MotorDriver>,
        presets: &[PresetRecord],
    ) -> Result<Ptz, PtzError> {
        let settings = settings(config)?;
        let presets = Arc::new(Mutex::new(PresetTable::from_records(presets)?));
        let published = Published::new(config.home);
        let (sender, receiver) = crossbeam_channel::unbounded();
        let thread = {
            let presets = presets.clone();
            let published = published.clone();
            std::thread::Builder::new()
                .name("ptz".to_owned())
                .spawn(move || {
                    run(driver, settings, presets, published.clone(), receiver);
                    published.mark_stopped();
                })
                .map_err(PtzError::Spawn)?
        };
        Ok(Ptz {
            handle: PtzHandle {
                sender,
                presets,
                reader: PositionReader::new(published),
                home: config.home,
            },
            thread: Some(thread),
        })
    }

    /// A handle for sending commands and reading state; clone it freely.
    pub fn handle(&self) -> PtzHandle {
        self.handle.clone()
    }
}

impl Drop for Ptz {
    fn drop(&mut self) {
        let _ = self.handle.sender.send(Message::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn settings(config: &PtzConfig) -> Result<Settings, PtzError> {
    let MotionProfile {
        max_speed,
        acceleration,
    } = config.profile;
    if !(max_speed.is_finite() && max_speed > 0.0 && acceleration.is_finite() && acceleration > 0.0)
    {
        return Err(PtzError::InvalidSetting(format!(
            "speed {max_speed}°/s and acceleration {acceleration}°/s² must be positive"
        )));
    }
    let swing_dwell = Duration::try_from_secs_f64(config.swing_dwell_seconds).map_err(|_| {
        PtzError::InvalidSetting(format!(
            "swing dwell {} s must be a non-negative number",
            config.swing_dwell_seconds
        ))
    })?;
    Ok(Settings {
        home: config.home,
        profile: config.profile,
        swing_dwell,
    })
}

fn run(
    driver: Box<dyn MotorDriver>,
    settings: Settings,
    presets: Arc<Mutex<PresetTable>>,
    published: Arc<Published>,
    receiver: Receiver<Message>,
) {
    let clock = MonotonicClock::new();
    let mut controller = match Controller::new(driver, clock, settings, presets, published) {
        Ok(controller) => controller,
        Err(error) => {
            log::error!("pan-tilt calibration failed, motors disabled: {error}");
            return;
        }
    };
    loop {
        let message = if controller.is_busy() {
            receiver.recv_timeout(TICK)
        } else {
            receiver.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        let result = match message {
            Ok(Message::Motion(motion)) => controller.command(motion),
            Err(RecvTimeoutError::Timeout) => controller.tick(),
            Ok(Message::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
        };
        if let Err(error) = result {
            log::error!("pan-tilt driver failed, motion stopped: {error}");
        }
    }
}

/// Sends commands to the controller and reads its state. Cheap to clone.
#[derive(Clone)]
pub struct PtzHandle {
    sender: Sender<Message>,
    presets: Arc<Mutex<PresetTable>>,
    reader: PositionReader,
    home: Position,
}

impl PtzHandle {
    /// Carries out `command`: motion is handed to the thread (and pre-empts what runs), preset
    /// edits are applied at once. Errors change nothing.
    pub fn execute(&self, command: Command) -> Result<Effect, PtzError> {
        match command {
            Command::Step {
                direction,
                pan_degrees,
                tilt_degrees,
            } => {
                let (pan_sign, tilt_sign) = direction.signs();
                if (pan_sign, tilt_sign) == (0, 0) {
                    return self.execute(Command::Home);
                }
                self.send(Motion::Step {
                    pan: pan_sign * i32::from(pan_degrees),
                    tilt: tilt_sign * i32::from(tilt_degrees),
                })
            }
            Command::Home => self.send(Motion::MoveTo(self.home)),
            Command::GotoPreset(slot) => {
                let position = self.table().get(slot).map(|preset| preset.position);
                let position = position.ok_or(PtzError::PresetNotSet(slot.number()))?;
                self.send(Motion::MoveTo(position))
            }
            Command::SetPreset {
                slot,
                name,
                position,
            } => self.set_preset(slot, name.as_deref(), position),
            Command::ClearPreset(slot) => {
                self.table().clear(slot);
                Ok(Effect::PresetsChanged)
            }
            Command::Swing(SwingMode::Disable) => self.send(Motion::Stop),
            Command::Swing(SwingMode::Presets) => {
                if self.table().defined().next().is_none() {
                    return Err(PtzError::NoPresets);
                }
                self.send(Motion::Swing)
            }
            Command::MoveTo(position) => self.send(Motion::MoveTo(position)),
        }
    }

    /// The head's position, lock-free (see [`PositionReader`]).
    pub fn position(&self) -> Position {
        self.reader.position()
    }

    /// A reader for the stream headers.
    pub fn reader(&self) -> PositionReader {
        self.reader.clone()
    }

    /// The defined presets, for the daemon's state file.
    pub fn presets(&self) -> Vec<PresetRecord> {
        self.table().records()
    }

    fn set_preset(
        &self,
        slot: PresetSlot,
        name: Option<&str>,
        position: Option<Position>,
    ) -> Result<Effect, PtzError> {
        let position = position.unwrap_or_else(|| self.reader.position());
        self.table().set(slot, name, position)?;
        Ok(Effect::PresetsChanged)
    }

    fn send(&self, motion: Motion) -> Result<Effect, PtzError> {
        if self.reader.is_stopped() {
            return Err(PtzError::Stopped);
        }
        self.sender
            .send(Message::Motion(motion))
            .map_err(|_| PtzError::Stopped)?;
        Ok(Effect::Motion)
    }

    fn table(&self) -> MutexGuard<'_, PresetTable> {
        self.presets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Direction;
    use crate::driver::{DriveError, SimDriver};

    const PATIENCE: Duration = Duration::from_secs(20);

    fn at(pan: u16, tilt: u16) -> Position {
        Position::new(pan, tilt).unwrap()
    }

    fn slot(number: u8) -> PresetSlot {
        PresetSlot::try_from(number).unwrap()
    }

    /// Ten times the default speed, so that tests on the real clock are quick.
    fn fast_config() -> PtzConfig {
        PtzConfig {
            profile: MotionProfile {
                max_speed: 600.0,
                acceleration: 1200.0,
            },
            swing_dwell_seconds: 0.2,
            ..PtzConfig::default()
        }
    }

    fn spawn(presets: &[PresetRecord]) -> Ptz {
        let config = fast_config();
        Ptz::spawn(&config, Box::new(SimDriver::new(config.home)), presets).unwrap()
    }

    #[test]
    fn commands_move_the_head_and_the_reader_follows() {
        let ptz = spawn(&[]);
        let handle = ptz.handle();
        assert_eq!(handle.position(), Position::DEFAULT_HOME);
        assert_eq!(
            handle.execute(Command::MoveTo(at(300, 100))).unwrap(),
            Effect::Motion
        );
        assert!(handle.reader().wait_for(at(300, 100), PATIENCE));
        handle
            .execute(Command::Step {
                direction: Direction::DownLeft,
                pan_degrees: 10,
                tilt_degrees: 3,
            })
            .unwrap();
        assert!(handle.reader().wait_for(at(290, 97), PATIENCE));
        handle.execute(Command::Home).unwrap();
        assert!(handle.reader().wait_for(Position::DEFAULT_HOME, PATIENCE));
    }

    #[test]
    fn presets_are_set_visited_cleared_and_reloaded() {
        let ptz = spawn(&[]);
        let handle = ptz.handle();
        handle.execute(Command::MoveTo(at(20, 30))).unwrap();
        assert!(handle.reader().wait_for(at(20, 30), PATIENCE));
        let here = Command::SetPreset {
            slot: slot(2),
            name: Some("Door".into()),
            position: None,
        };
        assert_eq!(handle.execute(here).unwrap(), Effect::PresetsChanged);
        let there = Command::SetPreset {
            slot: slot(5),
            name: None,
            position: Some(at(300, 130)),
        };
        handle.execute(there).unwrap();
        let records = handle.presets();
        assert_eq!(
            records,
            [
                PresetRecord {
                    position: 2,
                    name: "Door".into(),
                    pan: 20,
                    tilt: 30
                },
                PresetRecord {
                    position: 5,
                    name: String::new(),
                    pan: 300,
                    tilt: 130
                },
            ]
        );
        handle.execute(Command::GotoPreset(slot(5))).unwrap();
        assert!(handle.reader().wait_for(at(300, 130), PATIENCE));
        assert_eq!(
            handle.execute(Command::ClearPreset(slot(5))).unwrap(),
            Effect::PresetsChanged
        );
        assert!(matches!(
            handle.execute(Command::GotoPreset(slot(5))),
            Err(PtzError::PresetNotSet(5))
        ));
        drop(ptz);

        let restarted = spawn(&handle.presets());
        let handle = restarted.handle();
        assert_eq!(handle.presets(), records[..1]);
        handle.execute(Command::GotoPreset(slot(2))).unwrap();
        assert!(handle.reader().wait_for(at(20, 30), PATIENCE));
    }

    #[test]
    fn swing_needs_presets_and_stops_when_disabled() {
        let ptz = spawn(&[]);
        let handle = ptz.handle();
        assert!(matches!(
            handle.execute(Command::Swing(SwingMode::Presets)),
            Err(PtzError::NoPresets)
        ));
        for (number, pan) in [(1, 100), (2, 240)] {
            handle
                .execute(Command::SetPreset {
                    slot: slot(number),
                    name: None,
                    position: Some(at(pan, 45)),
                })
                .unwrap();
        }
        handle.execute(Command::Swing(SwingMode::Presets)).unwrap();
        let reader = handle.reader();
        assert!(reader.wait_until(PATIENCE, |p| p == at(100, 45)));
        assert!(reader.wait_until(PATIENCE, |p| p == at(240, 45)));
        assert!(reader.wait_until(PATIENCE, |p| p == at(100, 45)));
        handle.execute(Command::Swing(SwingMode::Disable)).unwrap();
        assert!(reader.wait_until(PATIENCE, |_| !reader.is_moving()));
    }

    #[test]
    fn bad_presets_or_settings_refuse_to_start() {
        let bad = PresetRecord {
            position: 25,
            name: String::new(),
            pan: 0,
            tilt: 0,
        };
        let config = fast_config();
        let driver = || Box::new(SimDriver::new(config.home));
        assert!(matches!(
            Ptz::spawn(&config, driver(), &[bad]),
            Err(PtzError::Preset(PresetError::NoSuchSlot(25)))
        ));
        let stalled = PtzConfig {
            profile: MotionProfile {
                max_speed: 0.0,
                acceleration: 1.0,
            },
            ..fast_config()
        };
        assert!(matches!(
            Ptz::spawn(&stalled, driver(), &[]),
            Err(PtzError::InvalidSetting(_))
        ));
    }

    struct BrokenMotors;

    impl MotorDriver for BrokenMotors {
        fn calibrate(&mut self) -> Result<(f64, f64), DriveError> {
            Err(DriveError::InvalidSetting("unplugged".into()))
        }

        fn drive_to(&mut self, _: f64, _: f64) -> Result<(), DriveError> {
            unreachable!("never calibrated")
        }
    }

    #[test]
    fn a_failed_calibration_stops_the_controller_and_says_so() {
        let ptz = Ptz::spawn(&fast_config(), Box::new(BrokenMotors), &[]).unwrap();
        let handle = ptz.handle();
        let reader = handle.reader();
        assert!(reader.wait_until(PATIENCE, |_| reader.is_stopped()));
        assert!(matches!(
            handle.execute(Command::Home),
            Err(PtzError::Stopped)
        ));
    }

    #[test]
    fn the_config_section_parses() {
        let text = r#"
            home = { pan = 100, tilt = 40 }
            swing_dwell_seconds = 2.5
            [profile]
            max_speed = 90.0
            [motors]
            driver = "stepper"
            homing_step_interval_us = 500
            [motors.pan]
            step = { line = 5 }
            dir = { line = 6 }
            limit = { line = 13, active_low = true }
            steps_per_degree = 17.78
            [motors.tilt]
            step = { line = 19 }
            dir = { line = 26 }
            limit = { line = 21 }
            steps_per_degree = 8.9
            max_degrees = 120.0
        "#;
        let config: PtzConfig = toml::from_str(text).unwrap();
        assert_eq!(config.home, at(100, 40));
        assert_eq!(config.profile.max_speed, 90.0);
        assert_eq!(config.profile.acceleration, 120.0, "default kept");
        let DriverConfig::Stepper(stepper) = config.motors else {
            panic!("stepper expected")
        };
        assert!(stepper.pan.limit.active_low);
        assert_eq!(stepper.tilt.max_degrees, Some(120.0));
        assert_eq!(
            toml::from_str::<PtzConfig>("").unwrap(),
            PtzConfig::default()
        );
        assert!(toml::from_str::<PtzConfig>("home = { pan = 400, tilt = 0 }").is_err());
    }
}
