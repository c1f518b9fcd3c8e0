//! Pan-tilt presets cross two crates: the PTZ controller works with them, the state file
//! keeps them. Each crate has its own plain record (neither depends on the other); these
//! functions translate.

use ipcam_api::PresetRecord as StoredPreset;
use ipcam_ptz::{Command, Position, PresetRecord as PtzPreset, PresetSlot};

/// The controller's records of stored presets.
pub(crate) fn to_ptz(stored: &[StoredPreset]) -> Vec<PtzPreset> {
    stored
        .iter()
        .map(|p| PtzPreset {
            position: p.position,
            name: p.name.clone(),
            pan: p.pan,
            tilt: p.tilt,
        })
        .collect()
}

/// The state file's records of the controller's presets.
pub(crate) fn to_stored(presets: &[PtzPreset]) -> Vec<StoredPreset> {
    presets
        .iter()
        .map(|p| StoredPreset {
            position: p.position,
            name: p.name.clone(),
            pan: p.pan,
            tilt: p.tilt,
        })
        .collect()
}

/// The command that stores `preset` in the controller (`None` for an invalid record).
pub(crate) fn set_command(preset: PtzPreset) -> Option<Command> {
    Some(Command::SetPreset {
        slot: PresetSlot::try_from(preset.position).ok()?,
        name: Some(preset.name),
        position: Some(Position::new(preset.pan, preset.tilt).ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_the_round_trip() {
        let stored = vec![StoredPreset {
            position: 3,
            name: "Gate".into(),
            pan: 300,
            tilt: 10,
        }];
        assert_eq!(to_stored(&to_ptz(&stored)), stored);
    }

    #[test]
    fn invalid_records_make_no_command() {
        let home = PtzPreset {
            position: 0,
            name: "Home".into(),
            pan: 1,
            tilt: 1,
        };
        assert!(set_command(home).is_none());
    }
}
