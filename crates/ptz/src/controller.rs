//! The motion logic: the goal the head is heading for (a position, or the preset swing), the
//! speed profile that gets it there, and pre-emption (a new command replaces the running one
//! from wherever the head is, at whatever speed).
//!
//! It is driven by a [`Clock`] and knows nothing of threads, so the unit tests below run it on a
//! [`crate::SimClock`]; the controller thread (`ptz.rs`) calls [`Controller::tick`] every few
//! milliseconds while the head moves.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::clock::Clock;
use crate::driver::{DriveError, MotorDriver};
use crate::position::{Position, PAN_MAX, TILT_MAX};
use crate::preset::{PresetSlot, PresetTable};
use crate::profile::{Axis, MotionProfile};
use crate::status::Published;

/// Longest integration step: a late tick is caught up in steps no coarser than this, so the
/// profile behaves the same however the thread was scheduled.
const MAX_STEP: Duration = Duration::from_millis(10);

/// A motion request to the controller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Motion {
    /// Go to a position.
    MoveTo(Position),
    /// Move by whole degrees from the current goal (or position), clamped at the limits.
    Step { pan: i32, tilt: i32 },
    /// Start the preset swing.
    Swing,
    /// Brake to a halt.
    Stop,
}

/// Motion settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Settings {
    pub home: Position,
    pub profile: MotionProfile,
    pub swing_dwell: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Goal {
    Idle,
    Move {
        pan: f64,
        tilt: f64,
    },
    Swing {
        slot: PresetSlot,
        pan: f64,
        tilt: f64,
        /// Set on arrival: when to leave for the next preset.
        dwell_until: Option<Duration>,
    },
}

pub(crate) struct Controller<D, C> {
    driver: D,
    clock: C,
    settings: Settings,
    presets: Arc<Mutex<PresetTable>>,
    published: Arc<Published>,
    pan: Axis,
    tilt: Axis,
    goal: Goal,
    last: Duration,
}

impl<D: MotorDriver, C: Clock> Controller<D, C> {
    /// Calibrates the driver and heads for home.
    pub fn new(
        mut driver: D,
        clock: C,
        settings: Settings,
        presets: Arc<Mutex<PresetTable>>,
        published: Arc<Published>,
    ) -> Result<Self, DriveError> {
        let (pan, tilt) = driver.calibrate()?;
        let last = clock.now();
        let mut controller = Controller {
            driver,
            clock,
            settings,
            presets,
            published,
            pan: Axis::at(pan),
            tilt: Axis::at(tilt),
            goal: Goal::Idle,
            last,
        };
        controller.goal = controller.move_goal(settings.home);
        controller.publish();
        Ok(controller)
    }

    /// Whether a move or swing is under way (the thread then ticks).
    pub fn is_busy(&self) -> bool {
        self.goal != Goal::Idle
    }

    /// Replaces whatever runs with `motion`, from the head's state as of now.
    pub fn command(&mut self, motion: Motion) -> Result<(), DriveError> {
        self.tick()?;
        self.goal = match motion {
            Motion::MoveTo(target) => self.move_goal(target),
            Motion::Step { pan, tilt } => {
                let (base_pan, base_tilt) = match self.goal {
                    Goal::Move { pan, tilt } => (pan, tilt),
                    _ => (self.pan.position, self.tilt.position),
                };
                let target = Position::clamped(
                    base_pan.round() as i32 + pan,
                    base_tilt.round() as i32 + tilt,
                );
                self.move_goal(target)
            }
            Motion::Swing => self.first_swing_goal(),
            Motion::Stop => Goal::Move {
                pan: clamp(self.pan.stopping_point(&self.settings.profile), PAN_MAX),
                tilt: clamp(self.tilt.stopping_point(&self.settings.profile), TILT_MAX),
            },
        };
        self.publish();
        Ok(())
    }

    /// Advances the motion to the clock's now and drives the motors there.
    pub fn tick(&mut self) -> Result<(), DriveError> {
        let now = self.clock.now();
        let before = (self.pan, self.tilt);
        while self.last < now {
            let step = (now - self.last).min(MAX_STEP);
            self.last += step;
            self.integrate(step);
        }
        if (self.pan, self.tilt) != before {
            if let Err(error) = self.driver.drive_to(self.pan.position, self.tilt.position) {
                self.goal = Goal::Idle;
                self.publish();
                return Err(error);
            }
        }
        self.publish();
        Ok(())
    }

    fn integrate(&mut self, step: Duration) {
        let dt = step.as_secs_f64();
        let profile = self.settings.profile;
        match self.goal {
            Goal::Idle => {}
            Goal::Move { pan, tilt } => {
                self.pan.step(pan, dt, &profile);
                self.tilt.step(tilt, dt, &profile);
                if self.pan.has_arrived(pan) && self.tilt.has_arrived(tilt) {
                    self.goal = Goal::Idle;
                }
            }
            Goal::Swing {
                slot,
                dwell_until: Some(until),
                ..
            } => {
                if self.last >= until {
                    self.goal = self.next_swing_goal(slot);
                }
            }
            Goal::Swing {
                slot,
                pan,
                tilt,
                dwell_until: None,
            } => {
                self.pan.step(pan, dt, &profile);
                self.tilt.step(tilt, dt, &profile);
                if self.pan.has_arrived(pan) && self.tilt.has_arrived(tilt) {
                    self.goal = Goal::Swing {
                        slot,
                        pan,
                        tilt,
                        dwell_until: Some(self.last + self.settings.swing_dwell),
                    };
                }
            }
        }
    }

    fn move_goal(&self, target: Position) -> Goal {
        Goal::Move {
            pan: f64::from(target.pan()),
            tilt: f64::from(target.tilt()),
        }
    }

    fn first_swing_goal(&self) -> Goal {
        let presets = self.presets.lock().unwrap_or_else(PoisonError::into_inner);
        let first = presets
            .defined()
            .next()
            .map(|(slot, preset)| (slot, preset.position));
        swing_goal(first)
    }

    fn next_swing_goal(&self, after: PresetSlot) -> Goal {
        let presets = self.presets.lock().unwrap_or_else(PoisonError::into_inner);
        swing_goal(presets.next_after(after))
    }

    fn publish(&self) {
        self.published
            .store(self.pan.position, self.tilt.position, self.is_busy());
    }
}

/// A swing leg towards `preset`, or rest when no preset is left.
fn swing_goal(preset: Option<(PresetSlot, Position)>) -> Goal {
    match preset {
        Some((slot, position)) => Goal::Swing {
            slot,
            pan: f64::from(position.pan()),
            tilt: f64::from(position.tilt()),
            dwell_until: None,
        },
        None => Goal::Idle,
    }
}

fn clamp(degrees: f64, max: u16) -> f64 {
    degrees.clamp(0.0, f64::from(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimClock;
    use crate::driver::SimDriver;
    use crate::status::PositionReader;

    const TICK: Duration = Duration::from_millis(10);

    fn at(pan: u16, tilt: u16) -> Position {
        Position::new(pan, tilt).unwrap()
    }

    struct Rig {
        controller: Controller<SimDriver, SimClock>,
        clock: SimClock,
        head: SimDriver,
        presets: Arc<Mutex<PresetTable>>,
        reader: PositionReader,
    }

    impl Rig {
        fn new() -> Rig {
            Rig::starting_at(Position::DEFAULT_HOME)
        }

        fn starting_at(start: Position) -> Rig {
            let clock = SimClock::new();
            let head = SimDriver::new(start);
            let presets = Arc::new(Mutex::new(PresetTable::default()));
            let published = Published::new(start);
            let settings = Settings {
                home: start,
                profile: MotionProfile::default(),
                swing_dwell: Duration::from_secs(3),
            };
            let controller = Controller::new(
                head.clone(),
                clock.clone(),
                settings,
                presets.clone(),
                published.clone(),
            )
            .unwrap();
            Rig {
                controller,
                clock,
                head,
                presets,
                reader: PositionReader::new(published),
            }
        }

        fn run_for(&mut self, duration: Duration) {
            let end = self.clock.now() + duration;
            while self.clock.now() < end {
                self.clock.advance(TICK);
                self.controller.tick().unwrap();
            }
        }

        /// Runs until idle; returns how long that took on the simulated clock.
        fn settle(&mut self) -> Duration {
            let start = self.clock.now();
            while self.controller.is_busy() {
                self.run_for(TICK);
                assert!(
                    self.clock.now() - start < Duration::from_secs(60),
                    "never settled"
                );
            }
            self.clock.now() - start
        }

        fn command(&mut self, motion: Motion) {
            self.controller.command(motion).unwrap();
        }

        fn set_preset(&self, slot: u8, position: Position) {
            let slot = PresetSlot::try_from(slot).unwrap();
            self.presets
                .lock()
                .unwrap()
                .set(slot, None, position)
                .unwrap();
        }
    }

    #[test]
    fn an_absolute_move_progresses_and_converges() {
        let mut rig = Rig::new();
        rig.command(Motion::MoveTo(at(340, 135)));
        rig.run_for(Duration::from_secs(1));
        let (pan, tilt) = rig.reader.precise();
        assert!(170.0 < pan && pan < 340.0, "partway after 1 s: {pan}");
        assert!(45.0 < tilt && tilt < 135.0, "partway after 1 s: {tilt}");
        assert!(rig.reader.is_moving());
        let elapsed = rig.settle() + Duration::from_secs(1);
        assert_eq!(rig.reader.position(), at(340, 135));
        assert!(!rig.reader.is_moving());
        assert_eq!(rig.head.head(), (340.0, 135.0));
        // 170° of pan at 60°/s after a 0.5 s ramp, braking included: about 3.3 s.
        assert!(
            (Duration::from_millis(3000)..Duration::from_millis(3700)).contains(&elapsed),
            "{elapsed:?}"
        );
    }

    #[test]
    fn steps_move_by_the_degrees_and_stop_at_the_limits() {
        let mut rig = Rig::starting_at(at(5, 130));
        rig.command(Motion::Step { pan: -10, tilt: 10 });
        rig.settle();
        assert_eq!(rig.reader.position(), at(0, 135), "clamped at 0 and 135");
        rig.command(Motion::Step { pan: 7, tilt: -3 });
        rig.settle();
        assert_eq!(rig.reader.position(), at(7, 132));
        let mut rig = Rig::starting_at(at(335, 2));
        rig.command(Motion::Step { pan: 10, tilt: -10 });
        rig.settle();
        assert_eq!(rig.reader.position(), at(340, 0), "clamped at 340 and 0");
    }

    #[test]
    fn steps_during_a_step_accumulate() {
        let mut rig = Rig::new();
        rig.command(Motion::Step { pan: 5, tilt: 0 });
        rig.run_for(Duration::from_millis(50));
        rig.command(Motion::Step { pan: 5, tilt: 0 });
        rig.settle();
        assert_eq!(rig.reader.position(), at(180, 45));
    }

    #[test]
    fn a_new_move_pre_empts_the_running_one_without_a_jump() {
        let mut rig = Rig::new();
        rig.command(Motion::MoveTo(at(340, 45)));
        rig.run_for(Duration::from_secs(1));
        let (pan_then, _) = rig.reader.precise();
        rig.command(Motion::MoveTo(at(0, 45)));
        rig.run_for(TICK);
        let (pan_next, _) = rig.reader.precise();
        assert!(
            pan_next >= pan_then && pan_next - pan_then < 1.0,
            "still braking forward, smoothly: {pan_then} → {pan_next}"
        );
        rig.settle();
        assert_eq!(rig.reader.position(), at(0, 45));
    }

    #[test]
    fn stop_brakes_to_a_halt_short_of_the_target() {
        let mut rig = Rig::new();
        rig.command(Motion::MoveTo(at(340, 45)));
        rig.run_for(Duration::from_secs(1));
        let (pan_then, _) = rig.reader.precise();
        rig.command(Motion::Stop);
        rig.settle();
        let (pan, _) = rig.reader.precise();
        // Cruising at 60°/s, braking at 120°/s² takes 15°.
        assert!((pan - (pan_then + 15.0)).abs() < 1.0, "{pan_then} → {pan}");
    }

    #[test]
    fn swing_visits_presets_in_slot_order_with_a_dwell() {
        let mut rig = Rig::new();
        rig.set_preset(9, at(300, 10));
        rig.set_preset(2, at(100, 100));
        rig.set_preset(5, at(200, 45));
        rig.command(Motion::Swing);
        let mut visits = Vec::new();
        let mut resting_since = None;
        let mut dwell = Duration::ZERO;
        while visits.len() < 5 {
            rig.run_for(TICK);
            let position = rig.reader.position();
            let resting =
                rig.head.head() == (f64::from(position.pan()), f64::from(position.tilt()));
            match (resting, resting_since) {
                (true, None) => {
                    resting_since = Some(rig.clock.now());
                    visits.push(position);
                }
                (false, Some(since)) => {
                    dwell = rig.clock.now() - since;
                    resting_since = None;
                }
                _ => {}
            }
            assert!(rig.clock.now() < Duration::from_secs(120));
        }
        assert_eq!(
            visits,
            [
                at(100, 100),
                at(200, 45),
                at(300, 10),
                at(100, 100),
                at(200, 45)
            ]
        );
        assert!(
            (Duration::from_millis(2990)..Duration::from_millis(3030)).contains(&dwell),
            "{dwell:?}"
        );
        assert!(rig.controller.is_busy(), "swing goes on until replaced");
    }

    #[test]
    fn a_move_replaces_the_swing() {
        let mut rig = Rig::new();
        rig.set_preset(1, at(10, 10));
        rig.set_preset(2, at(20, 20));
        rig.command(Motion::Swing);
        rig.run_for(Duration::from_secs(1));
        rig.command(Motion::MoveTo(at(300, 100)));
        rig.settle();
        assert_eq!(rig.reader.position(), at(300, 100));
        rig.run_for(Duration::from_secs(30));
        assert_eq!(
            rig.reader.position(),
            at(300, 100),
            "the swing does not resume"
        );
    }

    #[test]
    fn a_preset_cleared_during_the_swing_is_skipped() {
        let mut rig = Rig::new();
        rig.set_preset(1, at(170, 50));
        rig.set_preset(2, at(250, 45));
        rig.set_preset(3, at(170, 40));
        rig.command(Motion::Swing);
        rig.run_for(Duration::from_millis(500));
        rig.presets
            .lock()
            .unwrap()
            .clear(PresetSlot::try_from(2).unwrap());
        rig.run_for(Duration::from_secs(5));
        assert_eq!(rig.reader.position(), at(170, 40), "went from 1 to 3");
    }

    #[test]
    fn swing_without_presets_stays_put() {
        let mut rig = Rig::new();
        rig.command(Motion::Swing);
        assert!(!rig.controller.is_busy());
    }

    #[test]
    fn a_coarse_tick_integrates_like_fine_ones() {
        let mut fine = Rig::new();
        let mut coarse = Rig::new();
        fine.command(Motion::MoveTo(at(0, 0)));
        coarse.command(Motion::MoveTo(at(0, 0)));
        fine.run_for(Duration::from_millis(700));
        coarse.clock.advance(Duration::from_millis(700));
        coarse.controller.tick().unwrap();
        assert_eq!(fine.reader.precise(), coarse.reader.precise());
    }
}
