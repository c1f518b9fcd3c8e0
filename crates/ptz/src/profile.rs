//! The speed/acceleration profile of one axis: accelerate to the top speed, cruise, and brake so
//! as to stop exactly on the target. Because the state is position *and* velocity, a new target
//! can be set at any moment (pre-emption): the axis brakes, reverses if needed, and goes on
//! without a jump.

use serde::{Deserialize, Serialize};

/// Top speed and acceleration, shared by both axes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MotionProfile {
    /// Top speed, degrees per second.
    pub max_speed: f64,
    /// Acceleration and braking, degrees per second squared.
    pub acceleration: f64,
}

impl Default for MotionProfile {
    /// 60°/s reached in half a second: a full pan takes about six seconds, like the cameras
    /// this imitates.
    fn default() -> Self {
        MotionProfile {
            max_speed: 60.0,
            acceleration: 120.0,
        }
    }
}

/// Distances below this count as arrived, degrees.
const ARRIVED: f64 = 1e-6;

/// One axis in motion.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Axis {
    /// Current angle, degrees.
    pub position: f64,
    /// Current speed, degrees per second (signed).
    pub velocity: f64,
}

impl Axis {
    /// An axis at rest at `position`.
    pub fn at(position: f64) -> Axis {
        Axis {
            position,
            velocity: 0.0,
        }
    }

    /// Whether the axis rests on `target`.
    pub fn has_arrived(&self, target: f64) -> bool {
        self.velocity == 0.0 && (target - self.position).abs() < ARRIVED
    }

    /// Where the axis would come to rest if it braked now.
    pub fn stopping_point(&self, profile: &MotionProfile) -> f64 {
        self.position + self.velocity * self.velocity.abs() / (2.0 * profile.acceleration)
    }

    /// Advances `dt` seconds towards `target`.
    pub fn step(&mut self, target: f64, dt: f64, profile: &MotionProfile) {
        let distance = target - self.position;
        let max_dv = profile.acceleration * dt;
        if distance.abs() < ARRIVED && self.velocity.abs() <= max_dv {
            *self = Axis::at(target);
            return;
        }
        // The fastest speed from which braking still stops on the target.
        let braking_speed = (2.0 * profile.acceleration * distance.abs()).sqrt();
        let wanted = distance.signum() * braking_speed.min(profile.max_speed);
        self.velocity += (wanted - self.velocity).clamp(-max_dv, max_dv);
        let travel = self.velocity * dt;
        // Braking keeps the speed near sqrt(2·a·d), so the last step that would pass the
        // target is a slow one: settling on it is no visible jump.
        let reaches_target = travel.signum() == distance.signum() && travel.abs() >= distance.abs();
        if reaches_target {
            *self = Axis::at(target);
        } else {
            self.position += travel;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DT: f64 = 0.01;

    /// Steps until arrival; returns the seconds it took and the highest speed seen.
    fn travel(axis: &mut Axis, target: f64) -> (f64, f64) {
        let profile = MotionProfile::default();
        let mut elapsed = 0.0;
        let mut top_speed: f64 = 0.0;
        while !axis.has_arrived(target) {
            axis.step(target, DT, &profile);
            elapsed += DT;
            top_speed = top_speed.max(axis.velocity.abs());
            assert!(elapsed < 60.0, "never arrived: {axis:?}");
        }
        (elapsed, top_speed)
    }

    #[test]
    fn a_long_move_cruises_at_top_speed_and_takes_realistic_time() {
        let mut axis = Axis::at(0.0);
        let (seconds, top_speed) = travel(&mut axis, 340.0);
        // 340° at 60°/s plus half a second lost to accelerating and braking: 6.17 s.
        assert!((6.0..6.5).contains(&seconds), "took {seconds} s");
        assert!((top_speed - 60.0).abs() < 1e-9);
        assert_eq!(axis.position, 340.0);
    }

    #[test]
    fn a_short_move_never_reaches_top_speed() {
        let mut axis = Axis::at(100.0);
        let (seconds, top_speed) = travel(&mut axis, 105.0);
        assert!(top_speed < 30.0, "top speed {top_speed}");
        // Triangle profile: 2·sqrt(5/120) = 0.41 s.
        assert!((0.35..0.6).contains(&seconds), "took {seconds} s");
    }

    #[test]
    fn the_axis_speeds_up_gradually() {
        let profile = MotionProfile::default();
        let mut axis = Axis::at(0.0);
        axis.step(100.0, DT, &profile);
        assert!((axis.velocity - 1.2).abs() < 1e-9, "{axis:?}");
    }

    #[test]
    fn a_reversed_target_brakes_before_turning_back() {
        let profile = MotionProfile::default();
        let mut axis = Axis::at(0.0);
        for _ in 0..100 {
            axis.step(300.0, DT, &profile);
        }
        let cruising = axis;
        assert!((cruising.velocity - 60.0).abs() < 1e-9);
        axis.step(0.0, DT, &profile);
        assert!(axis.velocity > 0.0, "it cannot reverse at once");
        assert!(axis.position > cruising.position);
        let (_, _) = travel(&mut axis, 0.0);
        assert_eq!(axis.position, 0.0);
    }

    #[test]
    fn stopping_point_is_ahead_by_the_braking_distance() {
        let axis = Axis {
            position: 50.0,
            velocity: -60.0,
        };
        // v²/2a = 3600 / 240 = 15°.
        assert!((axis.stopping_point(&MotionProfile::default()) - 35.0).abs() < 1e-9);
    }
}
