//! The 24 named preset positions of spec 5.1.6–5.1.8.
//!
//! Presets are configuration: the daemon persists [`PresetRecord`]s in its state file, hands
//! them back at start, and saves them again after each change (every change is a command
//! whose [`crate::Effect`] says so). Position 0 is Home, which is fixed by the config and can
//! be neither set nor cleared.

use serde::{Deserialize, Serialize};

use crate::position::{OutOfRange, Position};

/// Number of preset slots.
pub const PRESET_COUNT: u8 = 24;
/// Longest preset name, in characters.
pub const NAME_MAX_CHARS: usize = 12;

/// A preset slot number, `1..=24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PresetSlot(u8);

impl PresetSlot {
    /// The slot number.
    pub fn number(self) -> u8 {
        self.0
    }

    fn index(self) -> usize {
        usize::from(self.0 - 1)
    }
}

impl TryFrom<u8> for PresetSlot {
    type Error = PresetError;

    fn try_from(number: u8) -> Result<Self, Self::Error> {
        match number {
            0 => Err(PresetError::Home),
            1..=PRESET_COUNT => Ok(PresetSlot(number)),
            _ => Err(PresetError::NoSuchSlot(number)),
        }
    }
}

/// Why a preset cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    /// Slot 0 is the home position, which is not a preset.
    #[error("position 0 is Home and cannot be modified")]
    Home,
    /// A slot number above 24.
    #[error("preset {0} does not exist (1..=24)")]
    NoSuchSlot(u8),
    /// A name over 12 characters.
    #[error("preset name is {0} characters, at most 12 allowed")]
    NameTooLong(usize),
    /// A name with a control character (it would break the line-based files and replies).
    #[error("preset name contains a control character")]
    NameControlCharacter,
    /// A stored position outside the limits.
    #[error(transparent)]
    Position(#[from] OutOfRange),
    /// Two records for one slot in a loaded list.
    #[error("preset {0} is listed twice")]
    Duplicate(u8),
}

/// Checks a preset name against the spec's limit and the line format.
pub fn validate_name(name: &str) -> Result<(), PresetError> {
    let chars = name.chars().count();
    if chars > NAME_MAX_CHARS {
        return Err(PresetError::NameTooLong(chars));
    }
    if name.chars().any(char::is_control) {
        return Err(PresetError::NameControlCharacter);
    }
    Ok(())
}

/// One stored preset, as the daemon's state file holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetRecord {
    /// Slot number, `1..=24`.
    pub position: u8,
    /// Name, at most 12 characters.
    pub name: String,
    /// Pan, degrees.
    pub pan: u16,
    /// Tilt, degrees.
    pub tilt: u16,
}

/// A defined preset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preset {
    /// Its name.
    pub name: String,
    /// Where it points.
    pub position: Position,
}

/// The 24 slots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresetTable {
    slots: [Option<Preset>; PRESET_COUNT as usize],
}

impl PresetTable {
    /// Builds the table from stored records, all or nothing.
    pub fn from_records(records: &[PresetRecord]) -> Result<PresetTable, PresetError> {
        let mut table = PresetTable::default();
        for record in records {
            let slot = PresetSlot::try_from(record.position)?;
            validate_name(&record.name)?;
            let position = Position::new(record.pan, record.tilt)?;
            if table.get(slot).is_some() {
                return Err(PresetError::Duplicate(record.position));
            }
            table.slots[slot.index()] = Some(Preset {
                name: record.name.clone(),
                position,
            });
        }
        Ok(table)
    }

    /// The defined presets as records, in slot order.
    pub fn records(&self) -> Vec<PresetRecord> {
        self.defined()
            .map(|(slot, preset)| PresetRecord {
                position: slot.number(),
                name: preset.name.clone(),
                pan: preset.position.pan(),
                tilt: preset.position.tilt(),
            })
            .collect()
    }

    /// The preset in `slot`, if defined.
    pub fn get(&self, slot: PresetSlot) -> Option<&Preset> {
        self.slots[slot.index()].as_ref()
    }

    /// Stores `position` in `slot`. Without a `name`, a redefined preset keeps its name and a
    /// new one gets none.
    pub fn set(
        &mut self,
        slot: PresetSlot,
        name: Option<&str>,
        position: Position,
    ) -> Result<(), PresetError> {
        if let Some(name) = name {
            validate_name(name)?;
        }
        let entry = &mut self.slots[slot.index()];
        let name = match (name, entry.take()) {
            (Some(name), _) => name.to_owned(),
            (None, Some(old)) => old.name,
            (None, None) => String::new(),
        };
        *entry = Some(Preset { name, position });
        Ok(())
    }

    /// Empties `slot` (clearing an empty slot is no error: the result is the same).
    pub fn clear(&mut self, slot: PresetSlot) {
        self.slots[slot.index()] = None;
    }

    /// The defined presets in slot order.
    pub fn defined(&self) -> impl Iterator<Item = (PresetSlot, &Preset)> {
        self.slots.iter().zip(1..).filter_map(|(preset, number)| {
            preset.as_ref().map(|preset| (PresetSlot(number), preset))
        })
    }

    /// The first defined preset after `slot` in slot order, wrapping around (or `slot` itself
    /// when it is the only one).
    pub fn next_after(&self, slot: PresetSlot) -> Option<(PresetSlot, Position)> {
        let after = self.defined().find(|(other, _)| *other > slot);
        after
            .or_else(|| self.defined().next())
            .map(|(slot, preset)| (slot, preset.position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(number: u8) -> PresetSlot {
        PresetSlot::try_from(number).unwrap()
    }

    fn at(pan: u16, tilt: u16) -> Position {
        Position::new(pan, tilt).unwrap()
    }

    #[test]
    fn slot_numbers_are_1_to_24() {
        assert_eq!(PresetSlot::try_from(0), Err(PresetError::Home));
        assert_eq!(PresetSlot::try_from(25), Err(PresetError::NoSuchSlot(25)));
        assert_eq!(slot(24).number(), 24);
    }

    #[test]
    fn names_are_counted_in_characters() {
        let mut table = PresetTable::default();
        table
            .set(slot(1), Some("Küche-Fenster"), at(1, 1))
            .unwrap_err();
        table.set(slot(1), Some("Küche Fenstr"), at(1, 1)).unwrap();
        assert_eq!(table.get(slot(1)).unwrap().name, "Küche Fenstr");
        assert_eq!(
            table.set(slot(2), Some("0123456789abc"), at(1, 1)),
            Err(PresetError::NameTooLong(13))
        );
        assert_eq!(
            table.set(slot(2), Some("a\r\nb"), at(1, 1)),
            Err(PresetError::NameControlCharacter)
        );
        assert!(
            table.get(slot(2)).is_none(),
            "a refused set changes nothing"
        );
    }

    #[test]
    fn redefining_without_a_name_keeps_the_old_name() {
        let mut table = PresetTable::default();
        table.set(slot(3), Some("Gate"), at(10, 20)).unwrap();
        table.set(slot(3), None, at(30, 40)).unwrap();
        assert_eq!(
            table.get(slot(3)),
            Some(&Preset {
                name: "Gate".into(),
                position: at(30, 40)
            })
        );
    }

    #[test]
    fn records_round_trip_through_toml() {
        let mut table = PresetTable::default();
        table.set(slot(7), Some("Door"), at(300, 100)).unwrap();
        table.set(slot(2), Some("Yard"), at(0, 135)).unwrap();
        #[derive(Serialize, Deserialize)]
        struct State {
            presets: Vec<PresetRecord>,
        }
        let text = toml::to_string(&State {
            presets: table.records(),
        })
        .unwrap();
        let loaded: State = toml::from_str(&text).unwrap();
        assert_eq!(loaded.presets[0].position, 2, "slot order");
        assert_eq!(PresetTable::from_records(&loaded.presets).unwrap(), table);
    }

    #[test]
    fn loading_is_all_or_nothing() {
        let good = PresetRecord {
            position: 1,
            name: "ok".into(),
            pan: 1,
            tilt: 1,
        };
        let cases = [
            (
                PresetRecord {
                    position: 0,
                    ..good.clone()
                },
                PresetError::Home,
            ),
            (
                PresetRecord {
                    position: 25,
                    ..good.clone()
                },
                PresetError::NoSuchSlot(25),
            ),
            (
                PresetRecord {
                    pan: 341,
                    ..good.clone()
                },
                PresetError::Position(OutOfRange { pan: 341, tilt: 1 }),
            ),
            (
                PresetRecord {
                    name: "x".repeat(13),
                    ..good.clone()
                },
                PresetError::NameTooLong(13),
            ),
            (good.clone(), PresetError::Duplicate(1)),
        ];
        for (bad, error) in cases {
            assert_eq!(PresetTable::from_records(&[good.clone(), bad]), Err(error));
        }
    }

    #[test]
    fn next_after_cycles_in_slot_order() {
        let mut table = PresetTable::default();
        assert_eq!(table.next_after(slot(1)), None);
        table.set(slot(9), None, at(9, 9)).unwrap();
        assert_eq!(table.next_after(slot(9)), Some((slot(9), at(9, 9))));
        table.set(slot(2), None, at(2, 2)).unwrap();
        table.set(slot(20), None, at(20, 20)).unwrap();
        assert_eq!(table.next_after(slot(2)), Some((slot(9), at(9, 9))));
        assert_eq!(table.next_after(slot(9)), Some((slot(20), at(20, 20))));
        assert_eq!(table.next_after(slot(20)), Some((slot(2), at(2, 2))));
        table.clear(slot(9));
        assert_eq!(table.next_after(slot(2)), Some((slot(20), at(20, 20))));
    }
}
