//! `/motion.cgi`, an extension of this camera: motion detection (on/off, sensitivity, the
//! watched cells) and what an event does (FTP upload, e-mail, trigger outputs, at most how
//! often). Events come from the motion detector and from the alarm inputs wired in the
//! daemon's config; all of them share these actions.
//!
//! A section like the spec's own tables, stored in the state file under `[motion]`; a
//! state file written before this section existed loads with the factory values below.
//!
//! `MotionDetectionEnable` and `MotionDetectionSensitivity` are the names and ranges of
//! D-Link's DCS firmware, whose `/motion.cgi` home-automation drivers already call
//! (`/motion.cgi?MotionDetectionEnable=1&ConfigReboot=no` to arm the camera, and a GET
//! whose third line they read as the sensitivity); the order of the first three lines
//! follows that firmware. The mask has its own name because its format is this camera's.

use crate::error::ApiError;
use crate::schema::{section, Kind, Section};

const BIT: &[i64] = &[0, 1];

section! {
    /// `/motion.cgi` (extension).
    pub struct MotionConfig {
        /// `MotionDetectionEnable`: 0 → off, 1 → events on motion.
        enable: u8 = "MotionDetectionEnable", Kind::OneOf(BIT), "0";
        /// `MotionMask`: the watched cells of a 16 × 12 grid, see [`ipcam_motion::Mask`]:
        /// 12 rows top first, `,`-separated, 4 hex digits each, leftmost cell = top bit;
        /// room for spaces around the rows, stored without them.
        mask: String = "MotionMask", Kind::Text { max: 100 }, "FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF";
        /// `MotionDetectionSensitivity`: 0 (only large, clear changes) to 100 (small ones too).
        sensitivity: u8 = "MotionDetectionSensitivity", Kind::Range { min: 0, max: 100 }, "50";
        /// `EventUpload`: 1 → an event uploads its frames to the FTP server of `/upload.cgi`.
        upload: u8 = "EventUpload", Kind::OneOf(BIT), "0";
        /// `EventEmail`: 1 → an event mails its frames to the receiver of `/email.cgi`.
        email: u8 = "EventEmail", Kind::OneOf(BIT), "0";
        /// `EventTrigger`: outputs an event switches on: bit 0 Trigger1, bit 1 Trigger2.
        trigger: u8 = "EventTrigger", Kind::OneOf(&[0, 1, 2, 3]), "0";
        /// `EventTriggerSeconds`: how long the outputs stay on.
        trigger_seconds: u16 = "EventTriggerSeconds", Kind::Range { min: 1, max: 3600 }, "5";
        /// `EventInterval`: least seconds between two events of one source (rate limit).
        interval: u16 = "EventInterval", Kind::Range { min: 1, max: 65535 }, "60";
    }
}

impl Section for MotionConfig {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;

    fn check(&self) -> Result<(), ApiError> {
        self.parsed_mask().map(|_| ())
    }
}

impl MotionConfig {
    /// The watched cells.
    pub fn parsed_mask(&self) -> Result<ipcam_motion::Mask, ApiError> {
        self.mask
            .parse()
            .map_err(|e: ipcam_motion::MaskError| ApiError::invalid("MotionMask", e.to_string()))
    }

    /// Whether motion detection is on.
    pub fn enabled(&self) -> bool {
        self.enable == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::validate_section;

    #[test]
    fn factory_values_are_valid_and_watch_everything() {
        let config = MotionConfig::default();
        validate_section(&config).expect("valid");
        assert_eq!(config.parsed_mask().expect("mask"), ipcam_motion::Mask::ALL);
        assert!(!config.enabled());
    }

    #[test]
    fn a_bad_mask_names_the_parameter() {
        let config = MotionConfig {
            mask: "FFFF".into(),
            ..MotionConfig::default()
        };
        let err = config.check().expect_err("invalid");
        assert!(err.to_string().starts_with("MotionMask"), "{err}");
    }
}
