//! What the ONVIF services need from a camera: the [`Camera`] trait the daemon implements.
//!
//! This crate knows no frame ring, user table or motor: each operation is mapped onto one
//! of these calls, in plain types, so the services can be tested against a fake camera and
//! the daemon decides how the real one is asked.

use std::net::Ipv4Addr;
use std::time::SystemTime;

/// What a login may do, in DESIGN.md's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// No login: only the operations ONVIF allows before authentication.
    Anonymous,
    /// Privilege 0: view.
    Viewer,
    /// Privilege 1: view and steer.
    Operator,
    /// The administrator.
    Admin,
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// No account matches.
    #[error("wrong user name or password")]
    BadCredentials,
    /// The client failed too often lately.
    #[error("too many failed logins from this address")]
    RateLimited,
}

/// `GetDeviceInformation` and the scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Manufacturer.
    pub manufacturer: String,
    /// Model (also the `hardware` scope).
    pub model: String,
    /// Firmware version.
    pub firmware: String,
    /// Serial number (the MAC, on this camera).
    pub serial: String,
    /// Hardware id.
    pub hardware_id: String,
    /// `CameraName` (the `name` scope).
    pub name: String,
    /// `Location` (the `location` scope).
    pub location: String,
}

/// The camera's clock for `GetSystemDateAndTime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockInfo {
    /// Now, by the camera's clock.
    pub now: SystemTime,
    /// Local time minus UTC now, seconds.
    pub utc_offset_secs: i32,
    /// POSIX TZ string of the zone.
    pub posix_tz: String,
    /// Daylight saving time in effect now.
    pub dst: bool,
    /// Set from a time server (else manually).
    pub ntp: bool,
}

/// The wired interface for `GetNetworkInterfaces` and `GetHostname`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkFacts {
    /// Interface name.
    pub interface: String,
    /// Hardware address.
    pub mac: [u8; 6],
    /// IPv4 address.
    pub ipv4: Ipv4Addr,
    /// Prefix length of the netmask.
    pub prefix_len: u8,
    /// Address from DHCP.
    pub dhcp: bool,
    /// Host name.
    pub hostname: String,
}

/// One account for `GetUsers` (never its password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// Login name.
    pub name: String,
    /// Role.
    pub level: Level,
}

/// The JPEG stream as `/image.cgi` configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoInfo {
    /// Width, pixels.
    pub width: u16,
    /// Height, pixels.
    pub height: u16,
    /// Frames per second.
    pub fps: u32,
    /// JPEG quality 1..=100.
    pub quality: u8,
}

/// Where the head points, in the camera's degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanTilt {
    /// Pan, degrees from the left limit.
    pub pan: u16,
    /// Tilt, degrees from the lower limit.
    pub tilt: u16,
}

/// One stored preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetInfo {
    /// Slot number, 1..=[`Camera::preset_slots`].
    pub number: u8,
    /// Name.
    pub name: String,
    /// Position.
    pub at: PanTilt,
}

/// A motion the PTZ service asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    /// Go to a position (clamped to the limits already).
    MoveTo(PanTilt),
    /// Stop where the head is.
    Stop,
    /// Go to the home position.
    Home,
    /// Go to a stored preset.
    GotoPreset(u8),
}

/// A PTZ call the camera refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PtzRefusal {
    /// The preset slot is empty.
    #[error("preset {0} is not set")]
    NoSuchPreset(u8),
    /// The preset's name breaks the camera's rules.
    #[error("{0}")]
    BadName(String),
    /// The motors are not running.
    #[error("the pan-tilt controller is not running")]
    Unavailable,
}

/// The camera behind the services.
pub trait Camera {
    /// Checks a login: `proves` gets each stored password of an account called `user` and
    /// says whether the client's proof matches it.
    fn login(&mut self, user: &str, proves: &dyn Fn(&str) -> bool) -> Result<Level, LoginError>;
    /// What a client without a login may do: [`Level::Viewer`] while access control is
    /// disabled, else [`Level::Anonymous`].
    fn anonymous_level(&self) -> Level;
    /// Identity.
    fn device_info(&self) -> DeviceInfo;
    /// The clock.
    fn clock(&self) -> ClockInfo;
    /// The wired interface.
    fn network(&self) -> NetworkFacts;
    /// Accounts.
    fn users(&self) -> Vec<UserInfo>;
    /// The stream's configuration.
    fn video(&self) -> VideoInfo;
    /// The resolutions the stream can have, and the highest frame rate.
    fn video_options(&self) -> (Vec<(u16, u16)>, u32);
    /// Largest pan and tilt, degrees (both ranges start at 0).
    fn pan_tilt_limits(&self) -> PanTilt;
    /// Where the head is and whether it moves.
    fn position(&self) -> (PanTilt, bool);
    /// Starts a motion.
    fn move_head(&mut self, motion: Motion) -> Result<(), PtzRefusal>;
    /// Number of preset slots (numbered from 1).
    fn preset_slots(&self) -> u8;
    /// The stored presets.
    fn presets(&self) -> Vec<PresetInfo>;
    /// Stores the current position as preset `number`, renamed when `name` is given.
    fn set_preset(&mut self, number: u8, name: Option<&str>) -> Result<(), PtzRefusal>;
    /// Forgets preset `number`.
    fn remove_preset(&mut self, number: u8) -> Result<(), PtzRefusal>;
}
