//! The camera as the ONVIF services see it: [`ipcam_onvif::Camera`] over the daemon's
//! state, users, login limiter, clock and pan-tilt controller, plus the `[onvif]` config
//! section and the WS-Discovery thread.
//!
//! The ONVIF requests arrive through the HTTP server at `/onvif/...` and are answered on
//! the event loop like the control CGIs (everything they do is quick); a preset change is
//! saved by the configuration thread before its SOAP answer goes out, exactly as a preset
//! set through `/pantiltcontrol.cgi`. Logins go through [`ipcam_api::authenticate_proof`]
//! and the same per-address limiter as HTTP Basic.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use ipcam_api::{
    authenticate_proof, BadCredentials, CameraClock, LoginLimiter, Principal, Role, SharedState,
    State,
};
use ipcam_capture::{Compression, FrameRate, Resolution};
use ipcam_onvif::{
    Camera, ClockInfo, DeviceInfo, Level, LoginError, Motion, NetworkFacts, PanTilt, PresetInfo,
    PtzRefusal, UserInfo, VideoInfo,
};
use ipcam_ptz::{Command, Position, PresetSlot, PtzError, PtzHandle, PAN_MAX, TILT_MAX};
use serde::Deserialize;

/// `[onvif]` of the daemon's config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnvifConfig {
    /// Serve the ONVIF device, media and PTZ services at `/onvif/...`.
    pub enabled: bool,
    /// Answer WS-Discovery probes and announce the camera (needs `enabled`).
    pub discovery: bool,
    /// UDP port of WS-Discovery: 3702, the protocol's; 0 picks any (tests).
    pub discovery_port: u16,
}

impl Default for OnvifConfig {
    fn default() -> Self {
        OnvifConfig {
            enabled: true,
            discovery: true,
            discovery_port: ipcam_onvif::DISCOVERY_PORT,
        }
    }
}

/// What the ONVIF services know of the camera beyond the state.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) model: String,
    pub(crate) firmware: String,
    pub(crate) mac: [u8; 6],
    pub(crate) interface: String,
    pub(crate) auto_fps: u32,
}

/// The ONVIF endpoint of the HTTP handler.
pub(crate) struct Endpoint {
    pub(crate) service: ipcam_onvif::Onvif,
    pub(crate) identity: Identity,
    /// The main listener's address: the authority of URIs when a request has no `Host`.
    pub(crate) fallback_authority: String,
}

impl Endpoint {
    /// The services for `identity`, naming the RTSP server on `rtsp_port` as the stream
    /// (the MJPEG stream over HTTP when `None`).
    pub(crate) fn new(identity: Identity, main_addr: SocketAddr, rtsp_port: Option<u16>) -> Self {
        Endpoint {
            service: ipcam_onvif::Onvif::new(rtsp_port),
            identity,
            fallback_authority: main_addr.to_string(),
        }
    }
}

/// One request's view of the camera.
pub(crate) struct CameraView<'a> {
    pub(crate) state: std::sync::Arc<State>,
    pub(crate) limiter: &'a mut LoginLimiter,
    pub(crate) client: IpAddr,
    pub(crate) ptz: &'a PtzHandle,
    pub(crate) clock: &'a CameraClock,
    pub(crate) identity: &'a Identity,
}

/// The ONVIF level of an HTTP principal.
pub(crate) fn level_of(principal: &Principal) -> Option<Level> {
    match principal {
        Principal::Anonymous => None,
        Principal::User { role, .. } => Some(match role {
            Role::Viewer => Level::Viewer,
            Role::Operator => Level::Operator,
            Role::Admin => Level::Admin,
        }),
    }
}

fn refusal(err: PtzError) -> PtzRefusal {
    match err {
        PtzError::PresetNotSet(n) => PtzRefusal::NoSuchPreset(n),
        PtzError::Preset(err) => PtzRefusal::BadName(err.to_string()),
        err => {
            log::error!("ONVIF pan-tilt command failed: {err}");
            PtzRefusal::Unavailable
        }
    }
}

fn slot(number: u8) -> Result<PresetSlot, PtzRefusal> {
    PresetSlot::try_from(number).map_err(|_| PtzRefusal::NoSuchPreset(number))
}

impl Camera for CameraView<'_> {
    fn login(&mut self, user: &str, proves: &dyn Fn(&str) -> bool) -> Result<Level, LoginError> {
        let now = Instant::now();
        if self.limiter.is_blocked(self.client, now) {
            return Err(LoginError::RateLimited);
        }
        match authenticate_proof(&self.state, user, proves) {
            Ok(principal) => {
                self.limiter.record_success(self.client);
                Ok(level_of(&principal).unwrap_or(Level::Anonymous))
            }
            Err(BadCredentials) => {
                self.limiter.record_failure(self.client, now);
                Err(LoginError::BadCredentials)
            }
        }
    }

    fn anonymous_level(&self) -> Level {
        if self.state.access.enabled() {
            Level::Anonymous
        } else {
            Level::Viewer
        }
    }

    fn device_info(&self) -> DeviceInfo {
        let mac: String = self
            .identity
            .mac
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        DeviceInfo {
            manufacturer: "ipcam".into(),
            model: self.identity.model.clone(),
            firmware: self.identity.firmware.clone(),
            serial: mac.clone(),
            hardware_id: self.identity.model.clone(),
            name: self.state.system.camera_name.clone(),
            location: self.state.system.location.clone(),
        }
    }

    fn clock(&self) -> ClockInfo {
        let now = self.clock.now();
        let zone = self.clock.time_zone();
        let local = zone.local(now);
        let utc = chrono::DateTime::<chrono::Utc>::from(now).naive_utc();
        let offset = i32::try_from((local - utc).num_seconds()).unwrap_or(0);
        ClockInfo {
            now,
            utc_offset_secs: offset,
            posix_tz: zone.posix_tz(),
            dst: zone.is_dst(now),
            ntp: self.state.datetime.date_time_mode == 0,
        }
    }

    fn network(&self) -> NetworkFacts {
        let network = &self.state.network;
        NetworkFacts {
            interface: self.identity.interface.clone(),
            mac: self.identity.mac,
            ipv4: network.ip_address,
            prefix_len: u32::from(network.subnet_mask).count_ones() as u8,
            dhcp: network.ip_address_mode == 4,
            hostname: self.state.system.camera_name.clone(),
        }
    }

    fn users(&self) -> Vec<UserInfo> {
        let admin = UserInfo {
            name: self.state.system.admin_id.clone(),
            level: Level::Admin,
        };
        std::iter::once(admin)
            .chain(self.state.users.iter().map(|user| UserInfo {
                name: user.name.clone(),
                level: if user.privilege == 1 {
                    Level::Operator
                } else {
                    Level::Viewer
                },
            }))
            .collect()
    }

    fn video(&self) -> VideoInfo {
        let image = &self.state.image;
        let resolution = Resolution::from_code(image.video_resolution.into()).unwrap_or_default();
        let fps = FrameRate::from_code(image.frame_rate.into())
            .ok()
            .and_then(FrameRate::fps)
            .map_or(self.identity.auto_fps, u32::from);
        let quality = Compression::from_code(image.compression_rate.into())
            .unwrap_or_default()
            .jpeg_quality();
        VideoInfo {
            width: resolution.width(),
            height: resolution.height(),
            fps,
            quality,
        }
    }

    fn video_options(&self) -> (Vec<(u16, u16)>, u32) {
        let resolutions = Resolution::ALL
            .iter()
            .map(|r| (r.width(), r.height()))
            .collect();
        (resolutions, self.identity.auto_fps)
    }

    fn pan_tilt_limits(&self) -> PanTilt {
        PanTilt {
            pan: PAN_MAX,
            tilt: TILT_MAX,
        }
    }

    fn position(&self) -> (PanTilt, bool) {
        let reader = self.ptz.reader();
        let at = reader.position();
        (
            PanTilt {
                pan: at.pan(),
                tilt: at.tilt(),
            },
            reader.is_moving(),
        )
    }

    fn move_head(&mut self, motion: Motion) -> Result<(), PtzRefusal> {
        let command = match motion {
            Motion::MoveTo(to) => Command::MoveTo(Position::clamped(to.pan.into(), to.tilt.into())),
            Motion::Stop => Command::Swing(ipcam_ptz::SwingMode::Disable),
            Motion::Home => Command::Home,
            Motion::GotoPreset(number) => Command::GotoPreset(slot(number)?),
        };
        self.ptz.execute(command).map(drop).map_err(refusal)
    }

    fn preset_slots(&self) -> u8 {
        ipcam_api::MAX_PRESET
    }

    fn presets(&self) -> Vec<PresetInfo> {
        self.ptz
            .presets()
            .into_iter()
            .map(|preset| PresetInfo {
                number: preset.position,
                name: preset.name,
                at: PanTilt {
                    pan: preset.pan,
                    tilt: preset.tilt,
                },
            })
            .collect()
    }

    fn set_preset(&mut self, number: u8, name: Option<&str>) -> Result<(), PtzRefusal> {
        let command = Command::SetPreset {
            slot: slot(number)?,
            name: name.map(str::to_owned),
            position: None,
        };
        self.ptz.execute(command).map(drop).map_err(refusal)
    }

    fn remove_preset(&mut self, number: u8) -> Result<(), PtzRefusal> {
        self.ptz
            .execute(Command::ClearPreset(slot(number)?))
            .map(drop)
            .map_err(refusal)
    }
}

/// The scopes the camera announces now (its name and location may change).
pub(crate) fn scopes(state: &SharedState, model: &str) -> Vec<String> {
    let state = state.load();
    ipcam_onvif::scope_uris(&state.system.camera_name, &state.system.location, model)
}
