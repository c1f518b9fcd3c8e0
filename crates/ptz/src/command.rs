//! The operations of spec 5.1.5–5.1.10 as typed commands: what `/pantiltcontrol.cgi` parses
//! into ([`crate::cgi::parse_pantilt`]) and what [`crate::PtzHandle::execute`] carries out.

use crate::position::Position;
use crate::preset::PresetSlot;

/// Largest single step, degrees (spec 5.1.5).
pub const MAX_STEP_DEGREES: u8 = 10;

/// A direction of `PanTiltSingleMove`, laid out as the spec's 3×3 keypad:
///
/// ```text
/// 0 UpLeft    1 Up    2 UpRight
/// 3 Left      4 Home  5 Right
/// 6 DownLeft  7 Down  8 DownRight
/// ```
///
/// The spec reserves the corners; ZoneMinder's D-Link module sends them for diagonal moves.
/// Up raises the tilt angle, Right raises the pan angle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Up and left.
    UpLeft,
    /// Up (tilt grows).
    Up,
    /// Up and right.
    UpRight,
    /// Left (pan shrinks).
    Left,
    /// Back to the home position.
    Home,
    /// Right (pan grows).
    Right,
    /// Down and left.
    DownLeft,
    /// Down (tilt shrinks).
    Down,
    /// Down and right.
    DownRight,
}

impl Direction {
    /// The direction of keypad value `0..=8`.
    pub fn from_keypad(value: u8) -> Option<Direction> {
        use Direction::*;
        [
            UpLeft, Up, UpRight, Left, Home, Right, DownLeft, Down, DownRight,
        ]
        .get(usize::from(value))
        .copied()
    }

    /// The sign of the pan and tilt change: −1, 0 or +1 each.
    pub fn signs(self) -> (i32, i32) {
        use Direction::*;
        match self {
            UpLeft => (-1, 1),
            Up => (0, 1),
            UpRight => (1, 1),
            Left => (-1, 0),
            Home => (0, 0),
            Right => (1, 0),
            DownLeft => (-1, -1),
            Down => (0, -1),
            DownRight => (1, -1),
        }
    }
}

/// `PanTiltSwingMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwingMode {
    /// `0`: stop swinging (and any other motion).
    Disable,
    /// `2`: visit the defined presets in slot order, pausing at each, until replaced.
    Presets,
}

/// One pan-tilt operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Single step (5.1.5): move by the given degrees (`0..=10` each; 0 = that axis stays),
    /// stopping at the limits.
    Step {
        /// Which way.
        direction: Direction,
        /// Pan degrees, used when the direction has a horizontal part.
        pan_degrees: u8,
        /// Tilt degrees, used when the direction has a vertical part.
        tilt_degrees: u8,
    },
    /// Go to the home position (5.1.5 Home, 5.1.6 position 0).
    Home,
    /// Go to a stored preset (5.1.6).
    GotoPreset(PresetSlot),
    /// Store a preset (5.1.7).
    SetPreset {
        /// Which slot.
        slot: PresetSlot,
        /// New name; `None` keeps the old one.
        name: Option<String>,
        /// Where; `None` stores the current position.
        position: Option<Position>,
    },
    /// Forget a preset (5.1.8).
    ClearPreset(PresetSlot),
    /// Start or stop the preset swing (5.1.9).
    Swing(SwingMode),
    /// Go to an absolute position (5.1.10).
    MoveTo(Position),
}

/// What a successful command did, so the daemon knows when to save its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The head started (or stopped) moving; nothing to persist.
    Motion,
    /// The preset table changed: save [`crate::PtzHandle::presets`].
    PresetsChanged,
}
