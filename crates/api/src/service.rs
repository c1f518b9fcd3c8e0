//! The facade the daemon calls: one chapter-3 request in, one [`Reply`] out.
//!
//! [`ConfigService`] owns the state, the store and the platform, and runs on the
//! daemon's configuration worker thread (saving fsyncs; that must not happen on the event
//! loop). A set is validated completely on a copy of the state, handed to the platform
//! where it concerns the operating system, saved durably, and only then made current and
//! reported as [`Effects`] the daemon carries out (new image settings to the capture
//! thread, the second listener, the LED, a network reload or a reboot after the response).
//! The event loop reads the current state through [`SharedState`] without waiting for
//! the worker.
//!
//! Settings that reach the operating system follow one order: validate → platform →
//! save. A platform error (a service refused, or rejected the value) stores nothing; a
//! save that fails after the platform changed puts the old settings back on the platform.
//! The stored table and the system therefore agree after every request; where they cannot
//! (a rollback the service refuses too, a clock already set), the table wins at the next
//! start, which applies it again.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use chrono::NaiveDateTime;

use crate::error::ApiError;
use crate::motion::MotionConfig;
use crate::password::{self, RandomError};
use crate::platform::{format_mac, os_time_zone, Platform, PlatformError, Reboot};
use crate::resources::Resource;
use crate::schema::{self, line, Section};
use crate::sections::{
    DateTimeConfig, EmailConfig, ImageConfig, NetworkConfig, SystemConfig, UploadConfig,
    UserAccessConfig, UserRecord, WirelessConfig,
};
use crate::state::{self, PresetRecord, State};
use crate::store::{LoadSource, StateStore, StoreError};
use crate::timezone::{
    derived_offset_hours, format_date_time, CameraClock, CameraTimeZone, DATE_TIME_LEN,
};

/// The value of `/cgiversion.cgi` (3.1.1).
pub const CGI_VERSION: &str = "2";

/// Where the first administrator password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitialAdmin {
    /// `--admin-password` / `IPCAMD_ADMIN_PASSWORD`: 1 to 8 characters.
    Password(String),
    /// Generate a random one (reported once in [`LoadReport`] / [`Effects`]).
    Random,
}

/// What [`ConfigService::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Which file the state came from.
    pub source: LoadSource,
    /// A password generated for `admin` on this start, to hand over once (never log it).
    pub generated_admin_password: Option<String>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The state directory is unusable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No random password could be drawn.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The administrator password given on the command line breaks the spec's rules.
    #[error("admin password: {0}")]
    AdminPassword(String),
}

/// A viewer of `/mjpeg.cgi`, as the daemon knows it (for `/activeuser.cgi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveViewer {
    /// Client address.
    pub ip: IpAddr,
    /// Logged-in user, `None` for anonymous viewers.
    pub user: Option<String>,
    /// When the stream started.
    pub since: SystemTime,
    /// Milliseconds per delivered frame.
    pub ms_per_packet: u32,
}

/// Opens a listening port now, or says why it cannot: the daemon binds it (and keeps it
/// for the effect that follows), so that a `SecondHTTPPort` that cannot work (in use, or
/// privileged) is refused with a reason instead of saved and silently not served.
pub type PortOpener<'a> = &'a dyn Fn(u16) -> Result<(), String>;

/// What only the daemon knows, passed with each request.
#[derive(Clone, Copy)]
pub struct RuntimeInfo<'a> {
    /// `Model` of `/isystem.cgi`.
    pub model: &'a str,
    /// `FirmwareVersion` of `/isystem.cgi`.
    pub firmware_version: &'a str,
    /// The main HTTP port (the second port must differ).
    pub http_port: u16,
    /// Current stream viewers.
    pub viewers: &'a [ActiveViewer],
    /// Size of the latest JPEG in bytes (`FrameSize` of `/iimage.cgi`).
    pub latest_frame_size: Option<usize>,
    /// Tries a newly enabled second HTTP port before it is saved; `None` accepts any.
    pub open_port: Option<PortOpener<'a>>,
    /// The router's external address while UPnP maps the HTTP ports (`UpnP` of
    /// `/inetwork.cgi`; the camera's own address otherwise).
    pub upnp_external_ip: Option<IpAddr>,
    /// The DDNS updater's state, shown as `DynamicDNS=Enable (...)` while DDNS is
    /// enabled (`good 81.2.69.160`, `badauth`); `None` shows just `Enable`.
    pub ddns_status: Option<&'a str>,
}

impl std::fmt::Debug for RuntimeInfo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeInfo")
            .field("model", &self.model)
            .field("firmware_version", &self.firmware_version)
            .field("http_port", &self.http_port)
            .field("viewers", &self.viewers)
            .field("latest_frame_size", &self.latest_frame_size)
            .field("open_port", &self.open_port.is_some())
            .field("upnp_external_ip", &self.upnp_external_ip)
            .field("ddns_status", &self.ddns_status)
            .finish()
    }
}

/// `LEDControl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedMode {
    /// 0: the LED shows the camera's state.
    Normal,
    /// 1: always off.
    Off,
    /// 2: "dummy": blinks as if recording, to deter.
    Dummy,
}

impl LedMode {
    /// The mode of a `LEDControl` code (unknown codes read as normal).
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => LedMode::Off,
            2 => LedMode::Dummy,
            _ => LedMode::Normal,
        }
    }
}

/// What the daemon must do after a successful request, once the response is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// New image settings for the capture thread.
    pub image: Option<ImageConfig>,
    /// The second HTTP listener changed: `Some(Some(port))` open it, `Some(None)` close it.
    pub second_http_port: Option<Option<u16>>,
    /// New LED mode.
    pub led: Option<LedMode>,
    /// Users, the administrator or access control changed (re-read [`SharedState`]).
    pub access_changed: bool,
    /// FTP upload settings changed.
    pub upload_changed: bool,
    /// E-mail settings changed.
    pub email_changed: bool,
    /// `/motion.cgi` settings changed.
    pub motion_changed: bool,
    /// `ConfigReboot=Yes` or `Reset=Yes`: reboot through [`ConfigService::reboot`] once
    /// the response is written.
    pub reboot: bool,
    /// The platform left work for after the response (a network reload that may cut the
    /// client off): call [`ConfigService::run_deferred`] once the response is written.
    pub run_deferred: bool,
    /// `FactoryReset=Yes`: the state is back to factory settings; restart the pipeline.
    pub factory_reset: bool,
    /// A factory reset drew a new random admin password, to hand over once (never log it).
    pub generated_admin_password: Option<String>,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// 200 with the table, or 204 for `/reset.cgi`.
    pub status: u16,
    /// `Name=value` lines, CRLF (empty for 204).
    pub body: String,
    /// What the daemon must do next.
    pub effects: Effects,
}

/// The current state, readable from any thread; replaced (never mutated) on each change.
#[derive(Debug, Clone)]
pub struct SharedState(Arc<RwLock<Arc<State>>>);

impl SharedState {
    /// The current state.
    pub fn load(&self) -> Arc<State> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn store(&self, state: Arc<State>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = state;
    }
}

/// The configuration API over a state directory and a platform.
pub struct ConfigService {
    store: StateStore,
    platform: Box<dyn Platform>,
    state: Arc<State>,
    shared: SharedState,
    clock: CameraClock,
    initial_admin: InitialAdmin,
}

impl ConfigService {
    /// Loads the state of `state_dir` (or creates the factory state with the initial
    /// administrator password and saves it), and applies it to the platform.
    pub fn open(
        state_dir: &Path,
        platform: Box<dyn Platform>,
        initial_admin: InitialAdmin,
    ) -> Result<(Self, LoadReport), OpenError> {
        if let InitialAdmin::Password(p) = &initial_admin {
            check_admin_password(p)?;
        }
        let store = StateStore::new(state_dir)?;
        let (loaded, source) = store.load()?;
        let mut generated = None;
        let state = match loaded {
            Some(state) => state,
            None => {
                let (password, fresh) = first_password(&initial_admin)?;
                generated = fresh;
                let state = State::factory(&password);
                store.save(&state)?;
                state
            }
        };
        let clock = platform.clock();
        let state = Arc::new(state);
        let mut service = Self {
            store,
            platform,
            shared: SharedState(Arc::new(RwLock::new(state.clone()))),
            state,
            clock,
            initial_admin,
        };
        service.apply_all_to_platform();
        if let Err(err) = service.platform.run_deferred() {
            log::warn!("applying saved settings: {err}");
        }
        let report = LoadReport {
            source,
            generated_admin_password: generated,
        };
        Ok((service, report))
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// A handle for other threads to read the current state.
    pub fn shared(&self) -> SharedState {
        self.shared.clone()
    }

    /// The camera's clock, in the configured zone, for time stamps on the event loop.
    pub fn clock(&self) -> CameraClock {
        self.clock.clone()
    }

    /// Carries out what the platform left for after the response ([`Effects::run_deferred`]).
    pub fn run_deferred(&mut self) -> Result<(), PlatformError> {
        self.platform.run_deferred()
    }

    /// Reboots through the platform ([`Effects::reboot`]), after the response.
    pub fn reboot(&mut self) -> Result<Reboot, PlatformError> {
        self.platform.reboot()
    }

    /// Saves the PTZ presets (the daemon calls this when the PTZ controller changed them).
    pub fn save_presets(&mut self, mut presets: Vec<PresetRecord>) -> Result<(), ApiError> {
        presets.sort_by_key(|p| p.position);
        state::validate_presets(&presets)?;
        let mut next = (*self.state).clone();
        next.presets = presets;
        self.commit(next)
    }

    /// Answers one request to a chapter-3 resource. `params` are percent-decoded
    /// `(name, value)` pairs of the query or form; empty for a plain GET.
    pub fn handle(
        &mut self,
        resource: Resource,
        params: &[(String, String)],
        runtime: &RuntimeInfo<'_>,
    ) -> Result<Reply, ApiError> {
        if resource.is_read_only() {
            if let Some((name, _)) = params.first() {
                return Err(ApiError::unknown(resource.path(), name));
            }
            return self.render_info(resource, runtime).map(ok);
        }
        if resource == Resource::Reset {
            return self.reset(params);
        }
        let effects = if params.is_empty() {
            Effects::default()
        } else {
            self.set(resource, params, runtime)?
        };
        let body = self.render_config(resource);
        Ok(Reply {
            status: 200,
            body,
            effects,
        })
    }

    fn set(
        &mut self,
        resource: Resource,
        params: &[(String, String)],
        runtime: &RuntimeInfo<'_>,
    ) -> Result<Effects, ApiError> {
        let params: Vec<&(String, String)> = params.iter().collect();
        let (reboot, params) = take_flag(&params, "ConfigReboot")?;
        let mut effects = match resource {
            Resource::System => self.set_system(&params)?,
            Resource::DateTime => self.set_datetime(&params)?,
            Resource::User => self.set_simple(
                resource,
                &params,
                |s| &mut s.access,
                |e| e.access_changed = true,
            )?,
            Resource::UserList => self.set_userlist(&params)?,
            Resource::Image => self.set_image(&params)?,
            Resource::Network => self.set_network(&params, runtime)?,
            Resource::Wireless => self.set_wireless(&params)?,
            Resource::Upload => self.set_simple(
                resource,
                &params,
                |s| &mut s.upload,
                |e| e.upload_changed = true,
            )?,
            Resource::Email => self.set_simple(
                resource,
                &params,
                |s| &mut s.email,
                |e| e.email_changed = true,
            )?,
            Resource::Motion => self.set_motion(&params)?,
            _ => {
                return Err(ApiError::ReadOnly {
                    resource: resource.path(),
                })
            }
        };
        effects.reboot = reboot == Some(true);
        Ok(effects)
    }

    /// Applies the parameters of section `S` to a copy of the state and checks it.
    fn edit<S: Section>(
        &self,
        resource: Resource,
        params: &[&(String, String)],
        select: fn(&mut State) -> &mut S,
    ) -> Result<State, ApiError> {
        let mut next = (*self.state).clone();
        let section = select(&mut next);
        let unknown = schema::apply(section, params.iter().copied())?;
        if let Some(name) = unknown.first() {
            return Err(ApiError::unknown(resource.path(), name));
        }
        section.check()?;
        section.check_request()?;
        Ok(next)
    }

    fn set_simple<S: Section + PartialEq>(
        &mut self,
        resource: Resource,
        params: &[&(String, String)],
        select: fn(&mut State) -> &mut S,
        mark: fn(&mut Effects),
    ) -> Result<Effects, ApiError> {
        let mut next = self.edit(resource, params, select)?;
        let changed = select(&mut next) != select(&mut (*self.state).clone());
        self.commit(next)?;
        let mut effects = Effects::default();
        if changed {
            mark(&mut effects);
        }
        Ok(effects)
    }

    /// Like [`Self::set_simple`], with the mask stored in its canonical spelling
    /// (upper-case digits, no spaces) whatever the client typed.
    fn set_motion(&mut self, params: &[&(String, String)]) -> Result<Effects, ApiError> {
        let mut next = self.edit(Resource::Motion, params, |s| &mut s.motion)?;
        next.motion.mask = next.motion.parsed_mask()?.to_string();
        let changed = next.motion != self.state.motion;
        self.commit(next)?;
        Ok(Effects {
            motion_changed: changed,
            ..Effects::default()
        })
    }

    fn set_system(&mut self, params: &[&(String, String)]) -> Result<Effects, ApiError> {
        let next = self.edit(Resource::System, params, |s| &mut s.system)?;
        if next.users.iter().any(|u| u.name == next.system.admin_id) {
            return Err(ApiError::invalid("AdminID", "is the name of a user"));
        }
        let before = self.state.system.clone();
        let identity_changed = (&next.system.camera_name, &next.system.location)
            != (&before.camera_name, &before.location);
        let parameter = if next.system.camera_name == before.camera_name {
            "Location"
        } else {
            "CameraName"
        };
        self.commit_through_platform(next, identity_changed, parameter, |platform, state| {
            platform.set_identity(&state.system.camera_name, &state.system.location)
        })?;
        let after = &self.state.system;
        Ok(Effects {
            led: (after.led_control != before.led_control)
                .then(|| LedMode::from_code(after.led_control)),
            access_changed: after.admin_id != before.admin_id
                || after.admin_password != before.admin_password,
            ..Effects::default()
        })
    }

    fn set_image(&mut self, params: &[&(String, String)]) -> Result<Effects, ApiError> {
        let next = self.edit(Resource::Image, params, |s| &mut s.image)?;
        let changed = next.image != self.state.image;
        self.commit(next)?;
        Ok(Effects {
            image: changed.then(|| self.state.image.clone()),
            ..Effects::default()
        })
    }

    fn set_network(
        &mut self,
        params: &[&(String, String)],
        runtime: &RuntimeInfo<'_>,
    ) -> Result<Effects, ApiError> {
        let next = self.edit(Resource::Network, params, |s| &mut s.network)?;
        let wanted = next.network.second_port();
        if wanted == Some(runtime.http_port) {
            return Err(ApiError::invalid("SecondHTTPPort", "is the main HTTP port"));
        }
        if let (Some(port), Some(open)) = (wanted, runtime.open_port) {
            if wanted != self.state.network.second_port() {
                open(port).map_err(|why| {
                    ApiError::invalid("SecondHTTPPort", format!("cannot be opened: {why}"))
                })?;
            }
        }
        let before = self.state.network.clone();
        let changed = next.network != before;
        self.commit_through_platform(next, changed, "IPAddressMode", |platform, state| {
            platform.apply_network(&state.network)
        })?;
        let after = &self.state.network;
        Ok(Effects {
            second_http_port: (after.second_port() != before.second_port())
                .then(|| after.second_port()),
            run_deferred: changed,
            ..Effects::default()
        })
    }

    fn set_wireless(&mut self, params: &[&(String, String)]) -> Result<Effects, ApiError> {
        let next = self.edit(Resource::Wireless, params, |s| &mut s.wireless)?;
        let changed = next.wireless != self.state.wireless;
        self.commit_through_platform(next, changed, "SSID", |platform, state| {
            platform.apply_wireless(&state.wireless)
        })?;
        Ok(Effects {
            run_deferred: changed,
            ..Effects::default()
        })
    }

    /// `TimeZoneIndex` wins: a non-zero index sets `TimeZone` to its table offset. A
    /// `TimeZone` sent alone that differs from the current zone's offset selects row 0
    /// (a fixed offset). `Date`/`Time` set the clock in `DateTimeMode=1` and are ignored
    /// in time-server mode, where the server owns the clock.
    fn set_datetime(&mut self, params: &[&(String, String)]) -> Result<Effects, ApiError> {
        let (date, params) = take_param(params, "Date", schema::parse_date)?;
        let (time, params) = take_param(&params, "Time", schema::parse_time)?;
        let mut next = self.edit(Resource::DateTime, &params, |s| &mut s.datetime)?;
        let sent = |name: &str| {
            params
                .iter()
                .any(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        };
        reconcile_time_zone(
            &mut next.datetime,
            &self.state.datetime,
            sent("TimeZoneIndex"),
            sent("TimeZone"),
        );
        let dt = next.datetime.clone();
        let zone = CameraTimeZone::from_setting(dt.time_zone_index, dt.time_zone);
        let manual = if dt.date_time_mode == 1 && (date.is_some() || time.is_some()) {
            let now = zone.local(self.clock.now());
            let local = NaiveDateTime::new(date.unwrap_or(now.date()), time.unwrap_or(now.time()));
            let instant = zone.instant(local).ok_or_else(|| {
                ApiError::invalid(
                    "Time",
                    "does not exist in this time zone (daylight saving gap)",
                )
            })?;
            Some(instant)
        } else {
            None
        };
        let before = self.state.datetime.clone();
        let change = DateTimeChange {
            zone: (os_time_zone(dt.time_zone_index, dt.time_zone)
                != os_time_zone(before.time_zone_index, before.time_zone))
            .then_some(if sent("TimeZoneIndex") {
                "TimeZoneIndex"
            } else {
                "TimeZone"
            }),
            sync: (dt.date_time_mode, &dt.time_server, dt.time_server_protocol)
                != (
                    before.date_time_mode,
                    &before.time_server,
                    before.time_server_protocol,
                ),
            manual,
        };
        self.apply_datetime(&before, &dt, &change)?;
        if let Err(err) = self.commit(next) {
            self.undo_datetime(&before, &change);
            return Err(err);
        }
        Ok(Effects {
            run_deferred: change.sync,
            ..Effects::default()
        })
    }

    /// Hands a `/datetime.cgi` change to the platform: zone, then synchronisation, then
    /// the clock. When a step fails, the steps before it are undone.
    fn apply_datetime(
        &mut self,
        before: &DateTimeConfig,
        dt: &DateTimeConfig,
        change: &DateTimeChange,
    ) -> Result<(), ApiError> {
        if let Some(parameter) = change.zone {
            let zone = os_time_zone(dt.time_zone_index, dt.time_zone);
            platform_result(self.platform.set_time_zone(&zone), parameter)?;
        }
        let zone_only = DateTimeChange {
            sync: false,
            ..*change
        };
        if change.sync {
            let result = platform_result(self.platform.apply_time_sync(dt), "DateTimeMode");
            if let Err(err) = result {
                self.undo_datetime(before, &zone_only);
                return Err(err);
            }
        }
        if let Some(instant) = change.manual {
            if let Err(err) = platform_result(self.platform.set_time(instant), "Time") {
                self.undo_datetime(before, change);
                return Err(err);
            }
        }
        Ok(())
    }

    /// Puts the zone and synchronisation of `before` back (a clock already set stays).
    fn undo_datetime(&mut self, before: &DateTimeConfig, change: &DateTimeChange) {
        if change.zone.is_some() {
            let zone = os_time_zone(before.time_zone_index, before.time_zone);
            log_rollback(self.platform.set_time_zone(&zone));
        }
        if change.sync {
            log_rollback(self.platform.apply_time_sync(before));
        }
    }

    fn set_userlist(&mut self, params: &[&(String, String)]) -> Result<Effects, ApiError> {
        let (add, params) = take_flag(params, "UserAdd")?;
        let (delete, params) = take_flag(&params, "UserDelete")?;
        let (add, delete) = (add == Some(true), delete == Some(true));
        let mut record = UserRecord::default();
        let unknown = schema::apply(&mut record, params.iter().copied())?;
        if let Some(name) = unknown.first() {
            return Err(ApiError::unknown(Resource::UserList.path(), name));
        }
        let named = params
            .iter()
            .any(|(n, _)| n.trim().eq_ignore_ascii_case("UserName"));
        let mut next = (*self.state).clone();
        match (add, delete) {
            (true, true) => {
                return Err(ApiError::invalid(
                    "UserAdd",
                    "cannot be combined with UserDelete",
                ))
            }
            // Only `ConfigReboot` (or `UserAdd=No`): nothing to change, the list is shown.
            (false, false) if params.is_empty() => return Ok(Effects::default()),
            (false, false) => {
                return Err(ApiError::invalid(
                    "UserAdd",
                    "UserAdd=Yes or UserDelete=Yes is required",
                ))
            }
            (true, false) => {
                if !named {
                    return Err(ApiError::invalid("UserName", "is required"));
                }
                record.check()?;
                next.users.push(record.clone());
                state::validate_users(&next.users, &next.system.admin_id)?;
                // After the name's rules, so that a taken name is reported as such.
                record.check_request()?;
            }
            (false, true) => {
                let before = next.users.len();
                next.users.retain(|u| u.name != record.name);
                if next.users.len() == before {
                    return Err(ApiError::invalid("UserName", "no such user"));
                }
            }
        }
        self.commit(next)?;
        Ok(Effects {
            access_changed: true,
            ..Effects::default()
        })
    }

    fn reset(&mut self, params: &[(String, String)]) -> Result<Reply, ApiError> {
        let refs: Vec<&(String, String)> = params.iter().collect();
        let (reboot, rest) = take_flag(&refs, "Reset")?;
        let (factory, rest) = take_flag(&rest, "FactoryReset")?;
        if let Some((name, _)) = rest.first() {
            return Err(ApiError::unknown(Resource::Reset.path(), name));
        }
        let (reboot, factory) = (reboot == Some(true), factory == Some(true));
        if !reboot && !factory {
            return Err(ApiError::invalid(
                "Reset",
                "Reset=Yes or FactoryReset=Yes is required",
            ));
        }
        let mut effects = Effects {
            reboot,
            ..Effects::default()
        };
        // The factory settings' network (DHCP) is applied after the 204, like any other.
        if factory {
            let (password, generated) = first_password(&self.initial_admin).map_err(|e| {
                ApiError::Platform(PlatformError::Malformed {
                    what: e.to_string(),
                })
            })?;
            let fresh = State::factory(&password);
            effects.image = Some(fresh.image.clone());
            effects.second_http_port = (fresh.network.second_port()
                != self.state.network.second_port())
            .then(|| fresh.network.second_port());
            effects.led = Some(LedMode::from_code(fresh.system.led_control));
            effects.access_changed = true;
            effects.upload_changed = true;
            effects.email_changed = true;
            effects.motion_changed = true;
            effects.factory_reset = true;
            effects.run_deferred = true;
            effects.generated_admin_password = generated;
            self.commit(fresh)?;
            self.apply_all_to_platform();
        }
        Ok(Reply {
            status: 204,
            body: String::new(),
            effects,
        })
    }

    /// Hands `next` to the platform through `apply` when `changed`, then saves it; a failed
    /// save applies the current state again, so the system and the table agree. A platform
    /// error is the client's 400 on `parameter` or the camera's 500 (see
    /// [`platform_result`]), with nothing saved.
    fn commit_through_platform(
        &mut self,
        next: State,
        changed: bool,
        parameter: &'static str,
        apply: fn(&mut dyn Platform, &State) -> Result<(), PlatformError>,
    ) -> Result<(), ApiError> {
        if !changed {
            return self.commit(next);
        }
        platform_result(apply(self.platform.as_mut(), &next), parameter)?;
        let before = self.state.clone();
        self.commit(next).inspect_err(|_| {
            log_rollback(apply(self.platform.as_mut(), &before));
        })
    }

    /// Saves `next` durably, then makes it current.
    fn commit(&mut self, next: State) -> Result<(), ApiError> {
        self.store.save(&next)?;
        let dt = &next.datetime;
        self.clock.set_time_zone(dt.time_zone_index, dt.time_zone);
        self.state = Arc::new(next);
        self.shared.store(self.state.clone());
        Ok(())
    }

    /// Pushes the saved network, wireless, time and identity settings to the platform at
    /// start and after a factory reset (the table wins); failures are logged, the camera
    /// keeps running.
    fn apply_all_to_platform(&mut self) {
        let state = self.state.clone();
        let dt = &state.datetime;
        self.clock.set_time_zone(dt.time_zone_index, dt.time_zone);
        let zone = os_time_zone(dt.time_zone_index, dt.time_zone);
        let system = &state.system;
        let results = [
            self.platform.apply_network(&state.network),
            self.platform.apply_wireless(&state.wireless),
            self.platform.set_time_zone(&zone),
            self.platform.apply_time_sync(&state.datetime),
            self.platform
                .set_identity(&system.camera_name, &system.location),
        ];
        for result in results {
            match result {
                Ok(()) => {}
                Err(PlatformError::Unsupported(what)) => {
                    log::info!("{what}: kept in the state, not applied")
                }
                Err(e) => log::warn!("applying saved settings: {e}"),
            }
        }
    }

    fn render_config(&self, resource: Resource) -> String {
        let state = &self.state;
        let mut out = String::new();
        match resource {
            Resource::System => schema::render::<SystemConfig>(&state.system, &mut out),
            Resource::DateTime => self.render_datetime(&mut out),
            Resource::User => schema::render::<UserAccessConfig>(&state.access, &mut out),
            Resource::UserList => {
                for user in &state.users {
                    schema::render::<UserRecord>(user, &mut out);
                }
            }
            Resource::Image => schema::render::<ImageConfig>(&state.image, &mut out),
            Resource::Network => schema::render::<NetworkConfig>(&state.network, &mut out),
            Resource::Wireless => schema::render::<WirelessConfig>(&state.wireless, &mut out),
            Resource::Upload => schema::render::<UploadConfig>(&state.upload, &mut out),
            Resource::Email => schema::render::<EmailConfig>(&state.email, &mut out),
            Resource::Motion => schema::render::<MotionConfig>(&state.motion, &mut out),
            _ => {}
        }
        out
    }

    fn render_datetime(&self, out: &mut String) {
        schema::render::<DateTimeConfig>(&self.state.datetime, out);
        let now = self.clock.now_local();
        let _ = write!(
            out,
            "Date={}\r\nTime={}\r\n",
            now.format("%Y-%m-%d"),
            now.format("%H:%M:%S")
        );
    }

    fn render_info(
        &self,
        resource: Resource,
        runtime: &RuntimeInfo<'_>,
    ) -> Result<String, ApiError> {
        let mut out = String::new();
        match resource {
            Resource::CgiVersion => line(&mut out, "CGIVersion", CGI_VERSION),
            Resource::ISystem => self.render_isystem(runtime, &mut out)?,
            Resource::ActiveUser => self.render_active_users(runtime, &mut out),
            Resource::IImage => render_iimage(&self.state.image, runtime, &mut out),
            Resource::INetwork => self.render_inetwork(runtime, &mut out)?,
            Resource::IWireless => self.render_iwireless(&mut out)?,
            _ => {}
        }
        Ok(out)
    }

    fn render_isystem(&self, runtime: &RuntimeInfo<'_>, out: &mut String) -> Result<(), ApiError> {
        let eth = self.platform.ethernet()?;
        let system = &self.state.system;
        line(out, "CameraName", &system.camera_name);
        line(out, "Location", &system.location);
        line(out, "Model", runtime.model);
        line(out, "FirmwareVersion", runtime.firmware_version);
        line(out, "MACAddress", format_mac(&eth.mac));
        line(out, "IPAddress", eth.ip);
        line(out, "EthernetLink", eth.link_text());
        line(out, "EthernetSpeed", eth.speed_text());
        line(out, "EthernetDuplex", eth.duplex_text());
        Ok(())
    }

    fn render_active_users(&self, runtime: &RuntimeInfo<'_>, out: &mut String) {
        let zone = self.clock.time_zone();
        let mut buf = [0u8; DATE_TIME_LEN];
        for viewer in runtime.viewers {
            line(out, "UserIPAddress", viewer.ip);
            line(out, "UserName", viewer.user.as_deref().unwrap_or(""));
            line(
                out,
                "AccessDateTime",
                format_date_time(&zone.local(viewer.since), &mut buf),
            );
            line(out, "MinisecondPerPacket", viewer.ms_per_packet);
        }
    }

    fn render_inetwork(&self, runtime: &RuntimeInfo<'_>, out: &mut String) -> Result<(), ApiError> {
        let info = self.platform.network()?;
        let config = &self.state.network;
        line(out, "IPAddress", info.ip);
        line(out, "SubnetMask", info.subnet_mask);
        line(out, "DefaultGateway", info.gateway);
        line(out, "PrimaryDNSAddress", info.dns1);
        line(out, "SecondaryDNSAddress", info.dns2);
        // The spec's leading word stays first, so clients that read Enable/Disable still do.
        match runtime.ddns_status {
            Some(status) if config.ddns_enable == 1 => {
                line(out, "DynamicDNS", format_args!("Enable ({status})"))
            }
            _ => line(out, "DynamicDNS", enable_text(config.ddns_enable == 1)),
        }
        let second = enable_text(config.second_port().is_some());
        line(
            out,
            "SecondaryHTTPPort",
            format_args!("{second} (Port : {})", config.second_http_port),
        );
        if config.upnp_enable == 1 {
            let ip = runtime.upnp_external_ip.unwrap_or(IpAddr::V4(info.ip));
            line(out, "UpnP", format_args!("Enable (IP : {ip})"));
        } else {
            line(out, "UpnP", "Disable");
        }
        Ok(())
    }

    fn render_iwireless(&self, out: &mut String) -> Result<(), ApiError> {
        let info = self.platform.wireless()?;
        let config = &self.state.wireless;
        let mode = if config.connection_mode == 1 {
            "Adhoc"
        } else {
            "Infrastructure"
        };
        line(out, "ConnectionMode", mode);
        line(out, "WirelessLink", info.link.text());
        match &info.access_point {
            Some(ap) => {
                line(
                    out,
                    "SSID",
                    format_args!("{} (MAC : {})", ap.ssid, format_mac(&ap.bssid)),
                );
                line(out, "WirelessChannel", ap.channel);
            }
            None => {
                line(out, "SSID", &config.ssid);
                line(out, "WirelessChannel", config.channel);
            }
        }
        line(
            out,
            "TransmissionRate",
            info_rate(&config.transmission_rate),
        );
        let encryption = match config.wep_encryption {
            2 | 3 => "WEP",
            4 => "WPA-PSK / WPA2-PSK",
            _ => "Disable",
        };
        line(out, "WEPEncryption", encryption);
        Ok(())
    }
}

fn ok(body: String) -> Reply {
    Reply {
        status: 200,
        body,
        effects: Effects::default(),
    }
}

fn enable_text(enabled: bool) -> &'static str {
    if enabled {
        "Enable"
    } else {
        "Disable"
    }
}

/// The 3.4.4 spelling of a configured rate: `54 Mb` → `54 M bps`.
fn info_rate(rate: &str) -> String {
    match rate.strip_suffix(" Mb") {
        Some(number) => format!("{number} M bps"),
        None => rate.to_owned(),
    }
}

/// `/iimage.cgi` (3.3.1): the configured image settings in words, with the size of the
/// latest frame.
fn render_iimage(image: &ImageConfig, runtime: &RuntimeInfo<'_>, out: &mut String) {
    const RESOLUTIONS: [&str; 3] = ["160 x 120", "320 x 240", "640 x 480"];
    const COMPRESSIONS: [&str; 5] = ["Very Low", "Low", "Medium", "High", "Very High"];
    let pick =
        |names: &[&'static str], code: u8| names.get(usize::from(code)).copied().unwrap_or("");
    line(
        out,
        "VideoResolution",
        pick(&RESOLUTIONS, image.video_resolution),
    );
    line(
        out,
        "CompressionRate",
        pick(&COMPRESSIONS, image.compression_rate),
    );
    if image.frame_rate == 0 {
        line(out, "FrameRate", "Auto");
    } else {
        line(out, "FrameRate", image.frame_rate);
    }
    line(
        out,
        "FrameSize",
        format_args!("{} Bytes", runtime.latest_frame_size.unwrap_or(0)),
    );
    let hertz = if image.light_frequency == 1 { 60 } else { 50 };
    line(out, "LightFrequency", format_args!("{hertz} Hz"));
}

/// Request parameters as borrowed pairs.
type Params<'p> = Vec<&'p (String, String)>;

/// Removes every `name` (any case) from `params`, returning its last value as Yes/No.
fn take_flag<'p>(
    params: &[&'p (String, String)],
    name: &'static str,
) -> Result<(Option<bool>, Params<'p>), ApiError> {
    take_param(params, name, schema::parse_yes_no)
}

/// Removes every `name` (any case) from `params`, parsing its last value with `parse`.
fn take_param<'p, T>(
    params: &[&'p (String, String)],
    name: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<(Option<T>, Params<'p>), ApiError> {
    let mut value = None;
    let mut rest = Vec::with_capacity(params.len());
    for pair in params.iter().copied() {
        if pair.0.trim().eq_ignore_ascii_case(name) {
            value = Some(parse(&pair.1).map_err(|reason| ApiError::invalid(name, reason))?);
        } else {
            rest.push(pair);
        }
    }
    Ok((value, rest))
}

/// The `TimeZone`/`TimeZoneIndex` rule, documented at [`ConfigService`]'s datetime set.
fn reconcile_time_zone(
    next: &mut DateTimeConfig,
    before: &DateTimeConfig,
    index_sent: bool,
    zone_sent: bool,
) {
    if let Some(offset) = derived_offset_hours(next.time_zone_index) {
        let zone_only = zone_sent && !index_sent;
        if zone_only && next.time_zone != offset {
            next.time_zone_index = 0;
        } else {
            next.time_zone = offset;
        }
    } else if index_sent && !zone_sent {
        // Row 0 chosen: keep the offset in force, now without DST.
        next.time_zone = before.time_zone;
    }
}

/// What a `/datetime.cgi` request changes on the platform.
#[derive(Debug, Clone, Copy)]
struct DateTimeChange {
    /// The OS time zone changes; the parameter that chose it.
    zone: Option<&'static str>,
    /// Time-server mode or server changed.
    sync: bool,
    /// The clock is set to this instant.
    manual: Option<SystemTime>,
}

/// A platform result as the client sees it: a backend that cannot apply the setting
/// keeps it in the table (logged); a value the service rejected is the client's 400
/// naming `parameter`; any other failure is the camera's 500.
fn platform_result(
    result: Result<(), PlatformError>,
    parameter: &'static str,
) -> Result<(), ApiError> {
    match result {
        Ok(()) => Ok(()),
        Err(PlatformError::Unsupported(what)) => {
            log::info!("{what}: saved, not applied by this platform backend");
            Ok(())
        }
        Err(PlatformError::Rejected { service, reason }) => Err(ApiError::invalid(
            parameter,
            format!("rejected by {service}: {reason}"),
        )),
        // A value the system's file format cannot carry: the client's, named exactly.
        Err(PlatformError::Invalid { name, reason }) => Err(ApiError::invalid(name, reason)),
        Err(err) => {
            log::warn!("{parameter}: {err}");
            Err(ApiError::Platform(err))
        }
    }
}

/// Logs a rollback that failed: the table keeps the old settings and the next start
/// applies them again.
fn log_rollback(result: Result<(), PlatformError>) {
    match result {
        Ok(()) | Err(PlatformError::Unsupported(_)) => {}
        Err(err) => log::error!("cannot put the old setting back on the system: {err}"),
    }
}

fn check_admin_password(password: &str) -> Result<(), OpenError> {
    if password.is_empty() {
        return Err(OpenError::AdminPassword("must not be empty".into()));
    }
    schema::parse_text(password, 8)
        .map(|_| ())
        .map_err(OpenError::AdminPassword)
}

/// The factory admin password: the configured one, or a fresh random one (returned
/// a second time, for the daemon to hand over).
fn first_password(initial: &InitialAdmin) -> Result<(String, Option<String>), RandomError> {
    match initial {
        InitialAdmin::Password(p) => Ok((p.clone(), None)),
        InitialAdmin::Random => {
            let p = password::generate()?;
            Ok((p.clone(), Some(p)))
        }
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "service_platform_tests.rs"]
mod platform_tests;
