//! ONVIF's generic PTZ spaces and the camera's degrees.
//!
//! ONVIF clients speak normalised coordinates: the generic position space runs from −1
//! to 1 on each axis, mapped linearly onto the camera's whole travel (pan `0..=max`,
//! tilt `0..=max`); a generic translation uses the same scale (a translation of 2 crosses
//! the whole travel), and a velocity's sign says which way to go. Positions are rounded
//! to the camera's whole degrees.

/// Absolute positions: −1..1 over the whole travel.
pub const POSITION_SPACE: &str =
    "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace";
/// Relative moves: −2..2 would cross the whole travel; ONVIF bounds it to −1..1.
pub const TRANSLATION_SPACE: &str =
    "http://www.onvif.org/ver10/tptz/PanTiltSpaces/TranslationGenericSpace";
/// Continuous moves: −1..1, the sign gives the direction.
pub const VELOCITY_SPACE: &str =
    "http://www.onvif.org/ver10/tptz/PanTiltSpaces/VelocityGenericSpace";
/// Speeds: 0..1 (the camera moves at its configured speed whatever is asked).
pub const SPEED_SPACE: &str = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/GenericSpeedSpace";

/// Whether `value` is a number inside −1..=1.
pub fn in_unit_range(value: f64) -> bool {
    value.is_finite() && (-1.0..=1.0).contains(&value)
}

/// The generic coordinate of `degrees` on an axis of travel `0..=max`.
pub fn to_generic(degrees: u16, max: u16) -> f64 {
    if max == 0 {
        return 0.0;
    }
    f64::from(degrees) / f64::from(max) * 2.0 - 1.0
}

/// The degrees of generic coordinate `x` (−1..=1) on an axis of travel `0..=max`.
pub fn from_generic(x: f64, max: u16) -> u16 {
    let degrees = (x.clamp(-1.0, 1.0) + 1.0) / 2.0 * f64::from(max);
    // In 0..=max after the clamp, so the cast cannot truncate.
    degrees.round() as u16
}

/// `degrees` moved by generic translation `dx`, stopping at the ends of `0..=max`.
pub fn translate(degrees: u16, dx: f64, max: u16) -> u16 {
    let moved = f64::from(degrees) + dx.clamp(-2.0, 2.0) * f64::from(max) / 2.0;
    moved.round().clamp(0.0, f64::from(max)) as u16
}

/// Where a continuous move of velocity `v` heads on an axis: an end, or nowhere.
pub fn heading(degrees: u16, v: f64, max: u16) -> u16 {
    if v > 0.0 {
        max
    } else if v < 0.0 {
        0
    } else {
        degrees
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ends_and_the_middle_of_the_travel() {
        assert_eq!(to_generic(0, 340), -1.0);
        assert_eq!(to_generic(340, 340), 1.0);
        assert_eq!(to_generic(170, 340), 0.0);
        assert_eq!(from_generic(-1.0, 340), 0);
        assert_eq!(from_generic(1.0, 135), 135);
        assert_eq!(from_generic(0.0, 135), 68); // 67.5 rounds up
        assert_eq!(from_generic(0.5, 340), 255);
    }

    #[test]
    fn every_degree_survives_the_round_trip() {
        for max in [340u16, 135] {
            for degrees in 0..=max {
                assert_eq!(from_generic(to_generic(degrees, max), max), degrees);
            }
        }
    }

    #[test]
    fn translations_use_the_position_scale_and_stop_at_the_ends() {
        assert_eq!(translate(170, 0.1, 340), 187);
        assert_eq!(translate(170, -0.1, 340), 153);
        assert_eq!(translate(10, -1.0, 340), 0);
        assert_eq!(translate(130, 1.0, 135), 135);
    }

    #[test]
    fn velocities_head_for_an_end() {
        assert_eq!(heading(100, 0.3, 340), 340);
        assert_eq!(heading(100, -0.01, 340), 0);
        assert_eq!(heading(100, 0.0, 340), 100);
    }

    #[test]
    fn the_unit_range_rejects_nan_and_outliers() {
        assert!(in_unit_range(-1.0) && in_unit_range(1.0) && in_unit_range(0.0));
        assert!(
            !in_unit_range(1.0001) && !in_unit_range(f64::NAN) && !in_unit_range(f64::INFINITY)
        );
    }
}
