//! IPCamCGI 1.2 resource model: schema, validation, `Name=value` codec, configuration
//! store, users and roles, and the platform facts behind chapter 3 of the spec.
//!
//! The crate knows no sockets. The daemon decodes a request, asks [`required_access`] /
//! [`authorize`] whether the client may have it, and hands chapter-3 requests to
//! [`ConfigService::handle`] on its configuration thread; the [`Reply`] carries the body
//! and the [`Effects`] to carry out after sending it.
//!
//! # Decisions
//!
//! - **TimeZone vs TimeZoneIndex**: `TimeZoneIndex` wins. A non-zero index selects an IANA
//!   zone (DST included) and `TimeZone` is derived from the row's label, truncated to
//!   whole hours toward zero (`GMT+05:30` → `+5`). Row 0 ("Unused timezone table") is a
//!   fixed offset of `TimeZone` hours, UTC by default. `TimeZone` sent without an index
//!   and different from the current offset selects row 0 with that offset.
//! - **Date/Time** set the clock only in `DateTimeMode=1`; in time-server mode they are
//!   accepted and ignored (web forms post every field). A local time inside a DST gap is
//!   rejected; in a DST overlap the earlier instant is taken.
//! - **Factory reset** restores every setting, user and preset to the factory state; the
//!   only thing kept is the administrator password the image ships: the one given with
//!   `--admin-password`/`IPCAMD_ADMIN_PASSWORD`, or else a new random one that is reported
//!   in [`Effects::generated_admin_password`] for the daemon to hand over (it writes it
//!   to a private file, never to a log).
//! - **A state file that cannot be used** (it does not parse or breaks the schema) is kept
//!   as `state.toml.corrupt`, the last good copy is loaded; with neither, the camera starts
//!   from factory settings (reported as [`LoadSource::Lost`]) rather than not at all. A
//!   file that cannot be read (permission denied, I/O error) is not corrupt: the start
//!   fails with the file and the OS error, and nothing is moved or overwritten.
//! - **`/iimage.cgi`** shows the Value column's units: `FrameSize=12345 Bytes`,
//!   `LightFrequency=50 Hz`, `VideoResolution=640 x 480`, `FrameRate=Auto`.
//! - **`EthernetSpeed`** shows faster links in the spec's form (`1000M bps`).
//! - **Schedules** (`FTPScheduleTimeStart`/`Stop`, e-mail likewise) may cross midnight
//!   but must not be empty (start = stop) in schedule mode; enabling FTP upload or e-mail
//!   requires a server (and a receiver).
//! - **Login names** (`AdminID`, `UserName`) must be non-empty, without `:` (the Basic
//!   authentication separator), and unique across the administrator and the users.
//! - **Passwords** (`AdminPassword`, `UserPassword`) must be non-empty: the spec sets
//!   only a maximum, but a login without a password is no login (viewing without one is
//!   `AccessControlEnable=1`). A state file of an earlier build with an empty password
//!   still loads; the next change of that table must set one.
//! - **E-mail addresses** must be ones the mailer takes (see [`mail`]); several
//!   receivers are separated by `,` or `;`.
//! - **Secrets**: error messages never repeat a value, so passwords never reach a
//!   response body or a log line.
//!
//! # Real clients' habits accepted (for the README)
//!
//! Found in ZoneMinder's D-Link control module, home-automation drivers (SmartThings,
//! Gladys/Frigate, OctoPrint plugins) and scripts on public code hosts:
//! - `ConfigReboot` is optional and accepted on every set CGI (also `/userlist.cgi`);
//!   drivers append `ConfigReboot=no`, `ConfigReboot=No` and even `ConfigReboot=0`.
//! - Every Yes/No value is matched ignoring case, and `1`/`0` mean Yes/No.
//! - A set may carry any subset of a table (`/image.cgi?VideoResolution=2&ConfigReboot=No`);
//!   the other parameters keep their values.
//! - Parameter names are matched ignoring ASCII case and surrounding spaces (the spec's
//!   own example sends `UserName =<value>`; its table spells `PPPoEPASSWORD`).
//! - Numbers, addresses, times and enumerations ignore surrounding spaces, and an
//!   explicit `+` is accepted: `TimeZone=+1` sent unencoded arrives as ` 1` after form
//!   decoding and still means +1.
//! - Text enumerations ignore case and repeated spaces (`TransmissionRate=fully automatic`)
//!   and are stored and shown in the spec's spelling.
//! - A parameter sent twice takes its last value.
//! - Times may have one-digit fields (`6:5:0`).
//!
//! Habits for the daemon rather than this crate: forms POSTed without `Content-Type`;
//! `/pantiltcontrol.cgi` driven by GET with a query; ZoneMinder's DCS-5020L module sends
//! `SetCurrentPosition=<n>&SetName=..` (not the spec's `SetPosition`) to store a preset,
//! and `/daynight.cgi`, `/motion.cgi`, `/nightmodecontrol.cgi` (not in the spec) are
//! called by drivers of related models; `/motion.cgi` is served here as an extension with
//! those drivers' `MotionDetectionEnable` (see [`MotionConfig`]).

mod auth;
mod error;
pub mod mail;
mod motion;
pub mod password;
pub mod platform;
mod ratelimit;
mod resources;
mod schema;
mod sections;
mod service;
mod state;
mod store;
pub mod timezone;

pub use auth::{
    authenticate, authenticate_proof, authorize, decide, required_access, Access, BadCredentials,
    Decision, Denied, Principal, Role, ONVIF_PATHS, SNAPSHOT_ALIASES, STREAM_ALIASES,
    UPNP_DESCRIPTION_PATH,
};
pub use error::ApiError;
pub use motion::MotionConfig;
pub use platform::{Platform, PlatformError};
pub use ratelimit::LoginLimiter;
pub use resources::Resource;
pub use schema::{is_host_name, Kind, Param, Section, Value};
pub use sections::{
    DateTimeConfig, EmailConfig, ImageConfig, NetworkConfig, SystemConfig, UploadConfig,
    UserAccessConfig, UserRecord, WirelessConfig, DDNS_PROVIDERS, TRANSMISSION_RATES, TX_KEYS,
};
pub use service::{
    ActiveViewer, ConfigService, Effects, InitialAdmin, LedMode, LoadReport, OpenError, PortOpener,
    Reply, RuntimeInfo, SharedState, CGI_VERSION,
};
pub use state::{
    PresetRecord, State, MAX_PAN, MAX_PRESET, MAX_PRESET_NAME, MAX_TILT, MAX_USERS, STATE_VERSION,
};
pub use store::{LoadSource, StateStore, StoreError};
pub use timezone::{CameraClock, CameraTimeZone};

/// Entry points for the fuzz targets; not a stable API.
#[doc(hidden)]
pub mod harness {
    pub use crate::schema::{format_value, parse};
}
