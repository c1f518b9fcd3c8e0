//! The parameters of `/pantiltcontrol.cgi` (spec 5.1.5–5.1.10) turned into a [`Command`], or a
//! [`ParamError`] whose message is the one-line reason for the 400 answer. Pure: the daemon
//! decodes the query or form, calls [`parse_pantilt`], then [`crate::PtzHandle::execute`].
//!
//! One request carries one operation, named by exactly one of `PanTiltSingleMove`,
//! `PanTiltPresetPositionMove`, `SetPosition`, `ClearPosition`, `PanTiltSwingMode` or
//! `PanTiltPositionMove`; the other parameters qualify it and are refused alongside any
//! operation they do not belong to.
//!
//! Accepted beyond the letter of the spec, because real clients send it:
//! - **Diagonals.** `PanTiltSingleMove` 0, 2, 6, 8 (reserved in the spec) move up-left,
//!   up-right, down-left, down-right: ZoneMinder's D-Link DCS-5020L control module sends them
//!   for its diagonal arrows and for click-to-centre (`moveMap`).
//! - **Step degrees 0 and above 10.** 0 leaves that axis still (ZoneMinder sends
//!   `PanSingleMoveDegree=0&TiltSingleMoveDegree=0&PanTiltSingleMove=4` for Home, and 0 for
//!   the axis a diagonal click does not need); larger values are capped at 10 (ZoneMinder's
//!   control preset allows steps up to 30, an OctoPrint plugin sends 20).
//! - **Missing step degrees.** A step without the degree of the axis it moves uses 5, the value
//!   nearly every client sends (several Python scripts send only `TiltSingleMoveDegree` with
//!   Up/Down).
//! - **Trailing CR/LF on values.** The camera vendor's own Java applet ends its POST body with
//!   `\r\n\r\n`, so the last value arrives as e.g. `5\r\n\r\n`.
//! - **`SetCurrentPosition=N`** (with optional `SetName`): ZoneMinder's module stores a preset
//!   at the current position this way. `SetPosition` without `PanTiltHorizontal` and
//!   `PanTiltVertical` does the same; with them it stores the given position as the spec says.
//! - **`SetName` is optional**: without it a redefined preset keeps its name.
//! - **`PanTiltPositionMove`** takes `true` in any case, `1` or `yes`.
//! - **Names in any case** (`pantiltsinglemove=5`), as the daemon's other CGIs match them.
//! - **jQuery's `_` (cache buster) and `callback` (JSONP)** parameters are ignored: browser
//!   dashboards built on `$.ajax` add them to every GET.

use crate::command::{Command, Direction, SwingMode, MAX_STEP_DEGREES};
use crate::position::{Position, PAN_MAX, TILT_MAX};
use crate::preset::{validate_name, PresetSlot, PRESET_COUNT};

/// Step used when a single move omits the degree of an axis it moves.
pub const DEFAULT_STEP_DEGREES: u8 = 5;

const PAN_DEGREE: &str = "PanSingleMoveDegree";
const TILT_DEGREE: &str = "TiltSingleMoveDegree";
const SINGLE_MOVE: &str = "PanTiltSingleMove";
const PRESET_MOVE: &str = "PanTiltPresetPositionMove";
const HORIZONTAL: &str = "PanTiltHorizontal";
const VERTICAL: &str = "PanTiltVertical";
const SET_POSITION: &str = "SetPosition";
const SET_CURRENT: &str = "SetCurrentPosition";
const SET_NAME: &str = "SetName";
const CLEAR: &str = "ClearPosition";
const SWING: &str = "PanTiltSwingMode";
const POSITION_MOVE: &str = "PanTiltPositionMove";

/// Every parameter name understood, operations first.
const OPERATIONS: [&str; 7] = [
    SINGLE_MOVE,
    PRESET_MOVE,
    SET_POSITION,
    SET_CURRENT,
    CLEAR,
    SWING,
    POSITION_MOVE,
];
const QUALIFIERS: [&str; 5] = [PAN_DEGREE, TILT_DEGREE, HORIZONTAL, VERTICAL, SET_NAME];
/// Added by jQuery to every `$.ajax` GET; meaningless to a camera.
const IGNORED: [&str; 2] = ["_", "callback"];

/// Why the parameters do not make a command. `Display` is the one-line reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// No operation parameter, and nothing else either.
    #[error("no pan-tilt operation given")]
    NoOperation,
    /// A parameter name `/pantiltcontrol.cgi` does not know.
    #[error("unknown parameter {0:?}")]
    Unknown(String),
    /// The same name twice.
    #[error("parameter {0} given more than once")]
    Repeated(&'static str),
    /// Two operations in one request.
    #[error("{0} and {1} cannot be combined in one request")]
    Conflict(&'static str, &'static str),
    /// A qualifier without its operation, or half of a pair.
    #[error("{given} needs {missing}")]
    Incomplete {
        /// The parameter present.
        given: &'static str,
        /// What it needs alongside.
        missing: &'static str,
    },
    /// A qualifier next to an operation it does not belong to.
    #[error("{qualifier} does not apply to {operation}")]
    Stray {
        /// The misplaced parameter.
        qualifier: &'static str,
        /// The request's operation.
        operation: &'static str,
    },
    /// A value that is not allowed.
    #[error("{name}={value:?}: {reason}")]
    Invalid {
        /// The parameter.
        name: &'static str,
        /// The value as received (shortened).
        value: String,
        /// What is allowed.
        reason: String,
    },
}

/// Parses the decoded parameters of one `/pantiltcontrol.cgi` request.
pub fn parse_pantilt(params: &[(String, String)]) -> Result<Command, ParamError> {
    let params = Params::collect(params)?;
    let operation = params.operation()?;
    params.refuse_strays(operation)?;
    match operation {
        SINGLE_MOVE => params.single_move(),
        PRESET_MOVE => {
            let number = params.number(PRESET_MOVE, 0, u32::from(PRESET_COUNT))?;
            Ok(match number {
                0 => Command::Home,
                _ => Command::GotoPreset(slot(number)),
            })
        }
        SET_POSITION | SET_CURRENT => params.set_preset(operation),
        CLEAR => Ok(Command::ClearPreset(params.slot(CLEAR)?)),
        SWING => params.swing(),
        _ => params.position_move(),
    }
}

/// The recognised parameters of one request, by name.
struct Params<'a> {
    values: Vec<(&'static str, &'a str)>,
}

impl<'a> Params<'a> {
    fn collect(params: &'a [(String, String)]) -> Result<Params<'a>, ParamError> {
        let mut values: Vec<(&'static str, &'a str)> = Vec::with_capacity(params.len());
        for (name, value) in params {
            if IGNORED.contains(&name.as_str()) {
                continue;
            }
            // Names match ignoring ASCII case, as on the daemon's other CGIs and in its
            // authorization table (a client that sends `pantiltsinglemove` was refused here
            // alone).
            let known = OPERATIONS
                .iter()
                .chain(&QUALIFIERS)
                .find(|known| known.eq_ignore_ascii_case(name))
                .ok_or_else(|| ParamError::Unknown(shorten(name)))?;
            if values.iter().any(|(seen, _)| seen == known) {
                return Err(ParamError::Repeated(known));
            }
            values.push((known, value.trim_end_matches(['\r', '\n'])));
        }
        Ok(Params { values })
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.values
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, value)| *value)
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn operation(&self) -> Result<&'static str, ParamError> {
        let mut operations = OPERATIONS.iter().filter(|name| self.has(name));
        match (operations.next(), operations.next()) {
            (Some(first), Some(second)) => Err(ParamError::Conflict(first, second)),
            (Some(only), None) => Ok(only),
            (None, _) => Err(self.missing_operation()),
        }
    }

    fn missing_operation(&self) -> ParamError {
        let needs = |given| {
            let missing = match given {
                PAN_DEGREE | TILT_DEGREE => SINGLE_MOVE,
                SET_NAME => SET_POSITION,
                _ => "PanTiltPositionMove or SetPosition",
            };
            ParamError::Incomplete { given, missing }
        };
        match self.values.first() {
            Some((given, _)) => needs(given),
            None => ParamError::NoOperation,
        }
    }

    fn refuse_strays(&self, operation: &'static str) -> Result<(), ParamError> {
        let allowed: &[&str] = match operation {
            SINGLE_MOVE => &[PAN_DEGREE, TILT_DEGREE],
            SET_POSITION => &[HORIZONTAL, VERTICAL, SET_NAME],
            SET_CURRENT => &[SET_NAME],
            POSITION_MOVE => &[HORIZONTAL, VERTICAL],
            _ => &[],
        };
        let stray = self
            .values
            .iter()
            .map(|(name, _)| *name)
            .find(|name| *name != operation && !allowed.contains(name));
        match stray {
            Some(qualifier) => Err(ParamError::Stray {
                qualifier,
                operation,
            }),
            None => Ok(()),
        }
    }

    fn single_move(&self) -> Result<Command, ParamError> {
        let keypad = self.number(SINGLE_MOVE, 0, 8)?;
        let direction = Direction::from_keypad(keypad as u8).expect("0..=8 is on the keypad");
        if direction == Direction::Home {
            return Ok(Command::Home);
        }
        Ok(Command::Step {
            direction,
            pan_degrees: self.step_degrees(PAN_DEGREE)?,
            tilt_degrees: self.step_degrees(TILT_DEGREE)?,
        })
    }

    fn step_degrees(&self, name: &'static str) -> Result<u8, ParamError> {
        if !self.has(name) {
            return Ok(DEFAULT_STEP_DEGREES);
        }
        let degrees = self.number(name, 0, u32::MAX)?;
        Ok(degrees.min(u32::from(MAX_STEP_DEGREES)) as u8)
    }

    fn set_preset(&self, operation: &'static str) -> Result<Command, ParamError> {
        let slot = self.slot(operation)?;
        let name = match self.get(SET_NAME) {
            Some(name) => {
                validate_name(name).map_err(|error| invalid(SET_NAME, name, error.to_string()))?;
                Some(name.to_owned())
            }
            None => None,
        };
        let position = match (self.has(HORIZONTAL), self.has(VERTICAL)) {
            (false, false) => None,
            _ => Some(self.position(SET_POSITION)?),
        };
        Ok(Command::SetPreset {
            slot,
            name,
            position,
        })
    }

    fn swing(&self) -> Result<Command, ParamError> {
        let value = self.get(SWING).unwrap_or_default();
        match value.trim() {
            "0" => Ok(Command::Swing(SwingMode::Disable)),
            "2" => Ok(Command::Swing(SwingMode::Presets)),
            "1" => Err(invalid(
                SWING,
                value,
                "1 is reserved; 0 disables, 2 swings presets",
            )),
            _ => Err(invalid(
                SWING,
                value,
                "must be 0 (disable) or 2 (preset swing)",
            )),
        }
    }

    fn position_move(&self) -> Result<Command, ParamError> {
        let value = self.get(POSITION_MOVE).unwrap_or_default();
        let yes = ["true", "1", "yes"];
        if !yes
            .iter()
            .any(|word| value.trim().eq_ignore_ascii_case(word))
        {
            return Err(invalid(POSITION_MOVE, value, "must be true"));
        }
        Ok(Command::MoveTo(self.position(POSITION_MOVE)?))
    }

    /// `PanTiltHorizontal` and `PanTiltVertical`, both required.
    fn position(&self, operation: &'static str) -> Result<Position, ParamError> {
        for (given, missing) in [(HORIZONTAL, VERTICAL), (VERTICAL, HORIZONTAL)] {
            if !self.has(missing) {
                let given = if self.has(given) { given } else { operation };
                return Err(ParamError::Incomplete { given, missing });
            }
        }
        let pan = self.number(HORIZONTAL, 0, u32::from(PAN_MAX))?;
        let tilt = self.number(VERTICAL, 0, u32::from(TILT_MAX))?;
        Ok(Position::new(pan as u16, tilt as u16).expect("checked against the limits"))
    }

    fn slot(&self, name: &'static str) -> Result<PresetSlot, ParamError> {
        let value = self.get(name).unwrap_or_default();
        if value.trim() == "0" {
            return Err(invalid(
                name,
                value,
                "position 0 is Home and cannot be modified",
            ));
        }
        Ok(slot(self.number(name, 1, u32::from(PRESET_COUNT))?))
    }

    fn number(&self, name: &'static str, min: u32, max: u32) -> Result<u32, ParamError> {
        let value = self.get(name).unwrap_or_default();
        let reason = || {
            if max == u32::MAX {
                format!("must be a whole number from {min}")
            } else {
                format!("must be a whole number from {min} to {max}")
            }
        };
        match value.trim().parse::<u32>() {
            Ok(number) if (min..=max).contains(&number) => Ok(number),
            _ => Err(invalid(name, value, reason())),
        }
    }
}

fn slot(number: u32) -> PresetSlot {
    PresetSlot::try_from(number as u8).expect("checked to be 1..=24")
}

fn invalid(name: &'static str, value: &str, reason: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name,
        value: shorten(value),
        reason: reason.into(),
    }
}

/// At most 32 characters of client input in an error message.
fn shorten(text: &str) -> String {
    text.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<Command, ParamError> {
        let params: Vec<(String, String)> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (name.to_owned(), value.to_owned())
            })
            .collect();
        parse_pantilt(&params)
    }

    fn at(pan: u16, tilt: u16) -> Position {
        Position::new(pan, tilt).unwrap()
    }

    fn preset(number: u8) -> PresetSlot {
        PresetSlot::try_from(number).unwrap()
    }

    fn step(direction: Direction, pan_degrees: u8, tilt_degrees: u8) -> Command {
        Command::Step {
            direction,
            pan_degrees,
            tilt_degrees,
        }
    }

    #[test]
    fn every_direction_with_every_spec_degree() {
        for keypad in 0..=8u8 {
            let direction = Direction::from_keypad(keypad).unwrap();
            for pan in 1..=10u8 {
                for tilt in 1..=10u8 {
                    let query = format!(
                        "PanSingleMoveDegree={pan}&TiltSingleMoveDegree={tilt}&PanTiltSingleMove={keypad}"
                    );
                    let expected = match direction {
                        Direction::Home => Command::Home,
                        _ => step(direction, pan, tilt),
                    };
                    assert_eq!(parse(&query), Ok(expected), "{query}");
                }
            }
        }
    }

    #[test]
    fn keypad_layout_matches_the_spec() {
        use Direction::*;
        assert_eq!(parse("PanTiltSingleMove=1"), Ok(step(Up, 5, 5)));
        assert_eq!(parse("PanTiltSingleMove=3"), Ok(step(Left, 5, 5)));
        assert_eq!(parse("PanTiltSingleMove=4"), Ok(Command::Home));
        assert_eq!(parse("PanTiltSingleMove=5"), Ok(step(Right, 5, 5)));
        assert_eq!(parse("PanTiltSingleMove=7"), Ok(step(Down, 5, 5)));
        assert_eq!(parse("PanTiltSingleMove=0"), Ok(step(UpLeft, 5, 5)));
        assert_eq!(parse("PanTiltSingleMove=8"), Ok(step(DownRight, 5, 5)));
    }

    #[test]
    fn step_degrees_default_cap_and_zero() {
        use Direction::*;
        assert_eq!(
            parse("TiltSingleMoveDegree=3&PanTiltSingleMove=7"),
            Ok(step(Down, DEFAULT_STEP_DEGREES, 3))
        );
        assert_eq!(
            parse("PanSingleMoveDegree=30&TiltSingleMoveDegree=20&PanTiltSingleMove=2"),
            Ok(step(UpRight, 10, 10))
        );
        assert_eq!(
            parse("PanSingleMoveDegree=0&TiltSingleMoveDegree=4&PanTiltSingleMove=6"),
            Ok(step(DownLeft, 0, 4))
        );
    }

    #[test]
    fn every_preset_move() {
        assert_eq!(parse("PanTiltPresetPositionMove=0"), Ok(Command::Home));
        for number in 1..=24 {
            assert_eq!(
                parse(&format!("PanTiltPresetPositionMove={number}")),
                Ok(Command::GotoPreset(preset(number)))
            );
        }
    }

    #[test]
    fn every_preset_set_and_clear() {
        for number in 1..=24 {
            assert_eq!(
                parse(&format!(
                    "PanTiltHorizontal=340&PanTiltVertical=0&SetPosition={number}&SetName=Gate {number}"
                )),
                Ok(Command::SetPreset {
                    slot: preset(number),
                    name: Some(format!("Gate {number}")),
                    position: Some(at(340, 0)),
                })
            );
            assert_eq!(
                parse(&format!("ClearPosition={number}")),
                Ok(Command::ClearPreset(preset(number)))
            );
        }
    }

    #[test]
    fn preset_set_variants() {
        assert_eq!(
            parse("SetPosition=3"),
            Ok(Command::SetPreset {
                slot: preset(3),
                name: None,
                position: None
            }),
            "no coordinates: the current position"
        );
        assert_eq!(
            parse("SetCurrentPosition=4&SetName=preset_4"),
            Ok(Command::SetPreset {
                slot: preset(4),
                name: Some("preset_4".into()),
                position: None
            }),
            "ZoneMinder's form"
        );
        assert_eq!(
            parse("PanTiltHorizontal=0&PanTiltVertical=135&SetPosition=24&SetName=Küche Fenstr"),
            Ok(Command::SetPreset {
                slot: preset(24),
                name: Some("Küche Fenstr".into()),
                position: Some(at(0, 135))
            }),
            "12 characters, more bytes"
        );
        assert_eq!(
            parse("SetPosition=1&SetName="),
            Ok(Command::SetPreset {
                slot: preset(1),
                name: Some(String::new()),
                position: None
            })
        );
    }

    #[test]
    fn swing_modes() {
        assert_eq!(
            parse("PanTiltSwingMode=0"),
            Ok(Command::Swing(SwingMode::Disable))
        );
        assert_eq!(
            parse("PanTiltSwingMode=2"),
            Ok(Command::Swing(SwingMode::Presets))
        );
    }

    #[test]
    fn absolute_moves() {
        for (pan, tilt) in [(0, 0), (340, 135), (170, 45), (0, 135), (340, 0)] {
            assert_eq!(
                parse(&format!(
                    "PanTiltHorizontal={pan}&PanTiltVertical={tilt}&PanTiltPositionMove=true"
                )),
                Ok(Command::MoveTo(at(pan, tilt)))
            );
        }
        for yes in ["TRUE", "True", "1", "yes"] {
            assert_eq!(
                parse(&format!(
                    "PanTiltPositionMove={yes}&PanTiltHorizontal=1&PanTiltVertical=2"
                )),
                Ok(Command::MoveTo(at(1, 2)))
            );
        }
    }

    #[test]
    fn real_client_requests() {
        // The vendor applet: POST body ending in CRLF CRLF.
        assert_eq!(
            parse("PanSingleMoveDegree=5&TiltSingleMoveDegree=5&PanTiltSingleMove=5\r\n\r\n"),
            Ok(step(Direction::Right, 5, 5))
        );
        assert_eq!(
            parse("PanTiltHorizontal=10&PanTiltVertical=20&SetName=test&SetPosition=3\r\n\r\n"),
            Ok(Command::SetPreset {
                slot: preset(3),
                name: Some("test".into()),
                position: Some(at(10, 20))
            })
        );
        // ZoneMinder's Home.
        assert_eq!(
            parse("PanSingleMoveDegree=0&TiltSingleMoveDegree=0&PanTiltSingleMove=4"),
            Ok(Command::Home)
        );
        // A jQuery JSONP dashboard.
        assert_eq!(
            parse("callback=jQuery1102&PanSingleMoveDegree=5&TiltSingleMoveDegree=5&PanTiltSingleMove=3&_=1449139"),
            Ok(step(Direction::Left, 5, 5))
        );
    }

    #[test]
    fn requests_without_an_operation() {
        assert_eq!(parse(""), Err(ParamError::NoOperation));
        assert_eq!(parse("_=123"), Err(ParamError::NoOperation));
        let cases = [
            ("PanSingleMoveDegree=5", PAN_DEGREE, SINGLE_MOVE),
            ("TiltSingleMoveDegree=5", TILT_DEGREE, SINGLE_MOVE),
            ("SetName=x", SET_NAME, SET_POSITION),
            (
                "PanTiltHorizontal=5",
                HORIZONTAL,
                "PanTiltPositionMove or SetPosition",
            ),
            (
                "PanTiltVertical=5",
                VERTICAL,
                "PanTiltPositionMove or SetPosition",
            ),
        ];
        for (query, given, missing) in cases {
            assert_eq!(
                parse(query),
                Err(ParamError::Incomplete { given, missing }),
                "{query}"
            );
        }
    }

    #[test]
    fn unknown_repeated_and_conflicting_parameters() {
        assert_eq!(
            parse("PanTiltSingleMove=1&Zoom=2"),
            Err(ParamError::Unknown("Zoom".into()))
        );
        assert_eq!(
            parse("pantiltsinglemov=1"),
            Err(ParamError::Unknown("pantiltsinglemov".into()))
        );
        assert_eq!(
            parse("PanTiltSingleMove=1&PanTiltSingleMove=5"),
            Err(ParamError::Repeated(SINGLE_MOVE))
        );
        assert_eq!(
            parse("PanTiltPresetPositionMove=1&ClearPosition=1"),
            Err(ParamError::Conflict(PRESET_MOVE, CLEAR))
        );
        assert_eq!(
            parse("PanTiltHorizontal=1&PanTiltVertical=1&SetPosition=2&PanTiltPositionMove=true"),
            Err(ParamError::Conflict(SET_POSITION, POSITION_MOVE))
        );
    }

    #[test]
    fn qualifiers_of_another_operation() {
        let cases = [
            (
                "PanSingleMoveDegree=5&PanTiltPresetPositionMove=1",
                PAN_DEGREE,
                PRESET_MOVE,
            ),
            (
                "PanTiltHorizontal=5&PanTiltSingleMove=1",
                HORIZONTAL,
                SINGLE_MOVE,
            ),
            ("SetName=x&ClearPosition=1", SET_NAME, CLEAR),
            ("SetName=x&PanTiltSwingMode=2", SET_NAME, SWING),
            (
                "TiltSingleMoveDegree=1&SetPosition=1",
                TILT_DEGREE,
                SET_POSITION,
            ),
            (
                "PanTiltHorizontal=5&PanTiltVertical=5&SetCurrentPosition=1",
                HORIZONTAL,
                SET_CURRENT,
            ),
            (
                "SetName=x&PanTiltHorizontal=5&PanTiltVertical=5&PanTiltPositionMove=true",
                SET_NAME,
                POSITION_MOVE,
            ),
        ];
        for (query, qualifier, operation) in cases {
            assert_eq!(
                parse(query),
                Err(ParamError::Stray {
                    qualifier,
                    operation
                }),
                "{query}"
            );
        }
    }

    #[test]
    fn half_a_position() {
        assert_eq!(
            parse("PanTiltHorizontal=5&PanTiltPositionMove=true"),
            Err(ParamError::Incomplete {
                given: HORIZONTAL,
                missing: VERTICAL
            })
        );
        assert_eq!(
            parse("PanTiltVertical=5&SetPosition=1"),
            Err(ParamError::Incomplete {
                given: VERTICAL,
                missing: HORIZONTAL
            })
        );
        assert_eq!(
            parse("PanTiltPositionMove=true"),
            Err(ParamError::Incomplete {
                given: POSITION_MOVE,
                missing: VERTICAL
            })
        );
    }

    #[test]
    fn values_out_of_range_or_malformed() {
        let cases = [
            ("PanTiltSingleMove=9", SINGLE_MOVE),
            ("PanTiltSingleMove=-1", SINGLE_MOVE),
            ("PanTiltSingleMove=up", SINGLE_MOVE),
            ("PanTiltSingleMove=", SINGLE_MOVE),
            ("PanSingleMoveDegree=-3&PanTiltSingleMove=5", PAN_DEGREE),
            ("TiltSingleMoveDegree=2.5&PanTiltSingleMove=1", TILT_DEGREE),
            ("PanTiltPresetPositionMove=25", PRESET_MOVE),
            ("SetPosition=0", SET_POSITION),
            ("SetPosition=25", SET_POSITION),
            ("SetCurrentPosition=0", SET_CURRENT),
            ("ClearPosition=0", CLEAR),
            ("ClearPosition=25", CLEAR),
            ("PanTiltSwingMode=1", SWING),
            ("PanTiltSwingMode=3", SWING),
            (
                "PanTiltPositionMove=false&PanTiltHorizontal=1&PanTiltVertical=1",
                POSITION_MOVE,
            ),
            (
                "PanTiltHorizontal=341&PanTiltVertical=1&PanTiltPositionMove=true",
                HORIZONTAL,
            ),
            (
                "PanTiltHorizontal=1&PanTiltVertical=136&PanTiltPositionMove=true",
                VERTICAL,
            ),
            (
                "PanTiltHorizontal=1&PanTiltVertical=136&SetPosition=1",
                VERTICAL,
            ),
            ("SetPosition=1&SetName=0123456789abc", SET_NAME),
            ("SetPosition=1&SetName=a\nb", SET_NAME),
        ];
        for (query, name) in cases {
            match parse(query) {
                Err(ParamError::Invalid { name: got, .. }) => assert_eq!(got, name, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn names_match_ignoring_case_and_still_count_once() {
        assert_eq!(
            parse("pansinglemovedegree=3&PANTILTSINGLEMOVE=5"),
            Ok(step(Direction::Right, 3, DEFAULT_STEP_DEGREES))
        );
        assert_eq!(
            parse("PanTiltSingleMove=5&pantiltsinglemove=3"),
            Err(ParamError::Repeated(SINGLE_MOVE))
        );
    }

    #[test]
    fn reasons_are_one_short_line() {
        let error = parse("SetPosition=1&SetName=evil\nname\r\nwith\x07bell and a very long tail")
            .unwrap_err();
        let reason = error.to_string();
        assert!(!reason.contains(['\n', '\r', '\x07']), "{reason}");
        assert!(reason.starts_with("SetName="), "{reason}");
        assert!(reason.contains("at most 12"), "{reason}");
        assert!(reason.len() < 120, "{reason}");
        assert_eq!(
            parse("ClearPosition=0").unwrap_err().to_string(),
            "ClearPosition=\"0\": position 0 is Home and cannot be modified"
        );
    }
}
