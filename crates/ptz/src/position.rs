//! Where the head points, in the spec's whole degrees: pan `0..=340`, tilt `0..=135`.
//!
//! Conventions (the spec gives only the ranges): pan grows to the right, tilt grows upwards.
//! The usual mechanics of these cameras turn ±170° and tilt from 45° below the horizon to
//! straight up, so pan 170 looks ahead and tilt 45 is level — which is why the default home
//! is (170, 45).

use serde::{Deserialize, Serialize};

/// Largest pan angle, degrees.
pub const PAN_MAX: u16 = 340;
/// Largest tilt angle, degrees.
pub const TILT_MAX: u16 = 135;

/// A pan/tilt position inside the limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPosition", into = "RawPosition")]
pub struct Position {
    pan: u16,
    tilt: u16,
}

/// A position outside `0..=340` × `0..=135`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("position ({pan}, {tilt}) is outside pan 0..=340, tilt 0..=135")]
pub struct OutOfRange {
    /// The pan asked for.
    pub pan: u16,
    /// The tilt asked for.
    pub tilt: u16,
}

impl Position {
    /// The default home: looking ahead, level.
    pub const DEFAULT_HOME: Position = Position { pan: 170, tilt: 45 };

    /// A position, if inside the limits.
    pub fn new(pan: u16, tilt: u16) -> Result<Position, OutOfRange> {
        if pan <= PAN_MAX && tilt <= TILT_MAX {
            Ok(Position { pan, tilt })
        } else {
            Err(OutOfRange { pan, tilt })
        }
    }

    /// The nearest position inside the limits.
    pub fn clamped(pan: i32, tilt: i32) -> Position {
        Position {
            pan: pan.clamp(0, i32::from(PAN_MAX)) as u16,
            tilt: tilt.clamp(0, i32::from(TILT_MAX)) as u16,
        }
    }

    /// Pan, degrees.
    pub fn pan(self) -> u16 {
        self.pan
    }

    /// Tilt, degrees.
    pub fn tilt(self) -> u16 {
        self.tilt
    }
}

impl Default for Position {
    fn default() -> Self {
        Position::DEFAULT_HOME
    }
}

/// The serde form, validated on the way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPosition {
    pan: u16,
    tilt: u16,
}

impl TryFrom<RawPosition> for Position {
    type Error = OutOfRange;

    fn try_from(raw: RawPosition) -> Result<Self, Self::Error> {
        Position::new(raw.pan, raw.tilt)
    }
}

impl From<Position> for RawPosition {
    fn from(position: Position) -> Self {
        RawPosition {
            pan: position.pan,
            tilt: position.tilt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive() {
        assert!(Position::new(340, 135).is_ok());
        assert!(Position::new(0, 0).is_ok());
        assert_eq!(Position::new(341, 0), Err(OutOfRange { pan: 341, tilt: 0 }));
        assert!(Position::new(0, 136).is_err());
    }

    #[test]
    fn clamping_stops_at_the_limits() {
        assert_eq!(Position::clamped(-5, 140), Position::new(0, 135).unwrap());
        assert_eq!(Position::clamped(345, -1), Position::new(340, 0).unwrap());
    }

    #[test]
    fn serde_rejects_positions_outside_the_limits() {
        assert!(toml::from_str::<Position>("pan = 341\ntilt = 0").is_err());
        let home: Position = toml::from_str("pan = 170\ntilt = 45").unwrap();
        assert_eq!(home, Position::DEFAULT_HOME);
    }
}
