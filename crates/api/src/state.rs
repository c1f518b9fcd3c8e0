//! The whole configuration as one plain value, the content of the state file.
//!
//! Runtime status (PTZ position, I/O bits, viewers) is not here: only what a camera
//! owner configured and expects to find again after a power cut. The file carries a
//! `version`; a file of another version is not guessed at but treated as unreadable.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::motion::MotionConfig;
use crate::schema::{self, Section};
use crate::sections::{
    DateTimeConfig, EmailConfig, ImageConfig, NetworkConfig, SystemConfig, UploadConfig,
    UserAccessConfig, UserRecord, WirelessConfig,
};

/// Version of the state file layout written by this build.
pub const STATE_VERSION: u32 = 1;
/// Most users `/userlist.cgi` keeps, besides the administrator.
pub const MAX_USERS: usize = 20;
/// Preset positions are 1..=24 (0 is home and cannot be modified).
pub const MAX_PRESET: u8 = 24;
/// Longest preset name in characters (`SetName`, 5.1.7).
pub const MAX_PRESET_NAME: usize = 12;
/// Largest pan position.
pub const MAX_PAN: u16 = 340;
/// Largest tilt position.
pub const MAX_TILT: u16 = 135;

/// A stored PTZ preset; the daemon keeps the PTZ controller and this list in step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresetRecord {
    /// 1..=24.
    pub position: u8,
    /// Up to 12 characters.
    pub name: String,
    /// 0..=340.
    pub pan: u16,
    /// 0..=135.
    pub tilt: u16,
}

/// Everything the camera persists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Layout version, [`STATE_VERSION`] when written by this build.
    pub version: u32,
    /// `/system.cgi`, including the administrator.
    pub system: SystemConfig,
    /// `/datetime.cgi` without the live date and time.
    pub datetime: DateTimeConfig,
    /// `/user.cgi`.
    pub access: UserAccessConfig,
    /// `/image.cgi`.
    pub image: ImageConfig,
    /// `/network.cgi`, including the second HTTP port.
    pub network: NetworkConfig,
    /// `/wireless.cgi`.
    pub wireless: WirelessConfig,
    /// `/upload.cgi`.
    pub upload: UploadConfig,
    /// `/email.cgi`.
    pub email: EmailConfig,
    /// `/userlist.cgi`, in the order they were added.
    pub users: Vec<UserRecord>,
    /// PTZ presets, sorted by position.
    pub presets: Vec<PresetRecord>,
    /// `/motion.cgi` (extension). Files written before it existed load with its factory
    /// values: an added section keeps the layout version, like an added field.
    pub motion: MotionConfig,
}

impl Default for State {
    fn default() -> Self {
        Self {
            version: STATE_VERSION,
            system: SystemConfig::default(),
            datetime: DateTimeConfig::default(),
            access: UserAccessConfig::default(),
            image: ImageConfig::default(),
            network: NetworkConfig::default(),
            wireless: WirelessConfig::default(),
            upload: UploadConfig::default(),
            email: EmailConfig::default(),
            users: Vec::new(),
            presets: Vec::new(),
            motion: MotionConfig::default(),
        }
    }
}

impl State {
    /// Factory state with the administrator `admin` and the given password.
    pub fn factory(admin_password: &str) -> Self {
        let mut state = Self::default();
        state.system.admin_password = admin_password.to_owned();
        state
    }

    /// Checks every value against the schema and every cross-field rule, as if each
    /// section had been sent by a client, except [`Section::check_request`] (rules added
    /// after earlier builds wrote state files); a state file that fails is not loaded.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.version != STATE_VERSION {
            return Err(ApiError::invalid(
                "version",
                format!("is {}, this build reads {STATE_VERSION}", self.version),
            ));
        }
        validate_section(&self.system)?;
        validate_section(&self.datetime)?;
        validate_section(&self.access)?;
        validate_section(&self.image)?;
        validate_section(&self.network)?;
        validate_section(&self.wireless)?;
        validate_section(&self.upload)?;
        validate_section(&self.email)?;
        validate_section(&self.motion)?;
        validate_users(&self.users, &self.system.admin_id)?;
        validate_presets(&self.presets)
    }
}

/// Re-parses every rendered value of a section and runs its cross-field check.
pub fn validate_section<S: Section>(section: &S) -> Result<(), ApiError> {
    for param in S::PARAMS {
        let mut text = String::new();
        schema::format_value(&param.kind, &(param.get)(section), &mut text);
        schema::parse_param(param, &text)?;
    }
    section.check()
}

/// Users: each valid, names unique and different from the administrator, at most 20.
pub fn validate_users(users: &[UserRecord], admin_id: &str) -> Result<(), ApiError> {
    if users.len() > MAX_USERS {
        return Err(ApiError::invalid(
            "UserName",
            format!("at most {MAX_USERS} users"),
        ));
    }
    for (i, user) in users.iter().enumerate() {
        validate_section(user)?;
        if user.name == admin_id || users[..i].iter().any(|u| u.name == user.name) {
            return Err(ApiError::invalid("UserName", "already exists"));
        }
    }
    Ok(())
}

/// Presets: positions 1..=24 without repeats, names of at most 12 characters, positions
/// within the pan and tilt ranges.
pub fn validate_presets(presets: &[PresetRecord]) -> Result<(), ApiError> {
    for (i, preset) in presets.iter().enumerate() {
        if !(1..=MAX_PRESET).contains(&preset.position) {
            return Err(ApiError::invalid(
                "SetPosition",
                format!("must be 1 to {MAX_PRESET}"),
            ));
        }
        if presets[..i].iter().any(|p| p.position == preset.position) {
            return Err(ApiError::invalid("SetPosition", "appears twice"));
        }
        schema::parse_text(&preset.name, MAX_PRESET_NAME)
            .map_err(|reason| ApiError::invalid("SetName", reason))?;
        if preset.pan > MAX_PAN {
            return Err(ApiError::invalid(
                "PanTiltHorizontal",
                format!("must be 0 to {MAX_PAN}"),
            ));
        }
        if preset.tilt > MAX_TILT {
            return Err(ApiError::invalid(
                "PanTiltVertical",
                format!("must be 0 to {MAX_TILT}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factory_state_is_valid_and_round_trips_through_toml() {
        let mut state = State::factory("s3cret");
        state.users.push(UserRecord {
            name: "ann".into(),
            password: "pw".into(),
            privilege: 1,
        });
        state.presets.push(PresetRecord {
            position: 3,
            name: "door".into(),
            pan: 340,
            tilt: 135,
        });
        state.validate().expect("valid");
        let text = toml::to_string(&state).expect("serialises");
        let back: State = toml::from_str(&text).expect("parses");
        assert_eq!(back, state);
    }

    #[test]
    fn missing_sections_and_fields_take_factory_values() {
        let state: State =
            toml::from_str("version = 1\n[image]\nbrightness = 10\n").expect("parses");
        assert_eq!(state.image.brightness, 10);
        assert_eq!(
            state.image.video_resolution,
            ImageConfig::default().video_resolution
        );
        assert_eq!(state.system, SystemConfig::default());
    }

    #[test]
    fn a_file_from_before_motion_detection_loads_with_it_off() {
        let mut old = State::factory("pw");
        old.image.brightness = 10;
        let mut table: toml::Table =
            toml::from_str(&toml::to_string(&old).expect("serialises")).expect("parses");
        table.remove("motion");
        let text = toml::to_string(&table).expect("serialises");
        assert!(!text.contains("motion"));
        let state: State = toml::from_str(&text).expect("parses");
        state.validate().expect("valid");
        assert_eq!(state.motion, MotionConfig::default());
        assert_eq!(state.image.brightness, 10);
    }

    #[test]
    fn out_of_range_values_in_the_file_are_rejected() {
        let mut state = State::factory("pw");
        state.image.brightness = 0;
        assert!(state.validate().is_err());
        let mut state = State::factory("pw");
        state.version = STATE_VERSION + 1;
        assert!(state.validate().is_err());
    }

    #[test]
    fn presets_are_checked() {
        let ok = PresetRecord {
            position: 24,
            name: "twelve chars".into(),
            pan: 0,
            tilt: 0,
        };
        assert!(validate_presets(std::slice::from_ref(&ok)).is_ok());
        for bad in [
            PresetRecord {
                position: 0,
                ..ok.clone()
            },
            PresetRecord {
                position: 25,
                ..ok.clone()
            },
            PresetRecord {
                name: "thirteen char".into(),
                ..ok.clone()
            },
            PresetRecord {
                pan: 341,
                ..ok.clone()
            },
            PresetRecord {
                tilt: 136,
                ..ok.clone()
            },
        ] {
            assert!(
                validate_presets(std::slice::from_ref(&bad)).is_err(),
                "{bad:?}"
            );
        }
        assert!(validate_presets(&[ok.clone(), ok]).is_err());
    }
}
