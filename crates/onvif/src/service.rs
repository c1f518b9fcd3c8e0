//! One SOAP request in, one [`Answer`] out: parsing, the login, the per-operation role
//! check and the dispatch to the device, media and PTZ operations.
//!
//! Roles follow the ONVIF Core access classes mapped onto DESIGN.md's roles:
//!
//! | ONVIF class | operations | needs |
//! |---|---|---|
//! | PRE_AUTH | `GetSystemDateAndTime`, `GetCapabilities`, `GetServices`, `GetServiceCapabilities`, `GetHostname` | nothing |
//! | READ_SYSTEM, READ_MEDIA | device information, scopes, interfaces, protocols, profiles, configurations, stream/snapshot URIs, PTZ status and presets | a viewer (anyone while access control is disabled) |
//! | ACTUATE | PTZ moves, `Stop`, `SetPreset`, `GotoPreset`, `RemovePreset`, `GotoHomePosition` | privilege 1 |
//! | READ_SYSTEM_SECRET | `GetUsers` | the administrator |
//!
//! A request logs in with its WS-Security UsernameToken; without one, the HTTP Basic
//! login the daemon checked (if any) counts, else the anonymous level. A wrong login or a
//! missing right is the `ter:NotAuthorized` fault.

use std::time::Instant;

use crate::camera::{Camera, Level, LoginError};
use crate::security::{NonceCache, Proof};
use crate::soap::{self, Fault, NS_TDS, NS_TPTZ, NS_TRT};
use crate::xml::Element;
use crate::{device, media, ptz};

/// The request as the daemon hands it over.
#[derive(Debug, Clone, Copy)]
pub struct SoapRequest<'a> {
    /// The POST body.
    pub body: &'a [u8],
    /// Host and port the client reached the camera at (from the `Host` header, see
    /// [`authority`]), for the URIs in the answers.
    pub authority: &'a str,
    /// The level of the request's HTTP Basic login, when it had a valid one.
    pub http_level: Option<Level>,
}

/// The answer: HTTP status and SOAP envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// 200, 400 (sender faults, NotAuthorized) or 500 (receiver faults).
    pub status: u16,
    /// The envelope, `application/soap+xml`.
    pub body: String,
    /// The preset table changed: the daemon must persist it before answering.
    pub presets_changed: bool,
}

impl Answer {
    fn fault(fault: &Fault) -> Answer {
        Answer {
            status: fault.http_status(),
            body: fault.render(),
            presets_changed: false,
        }
    }
}

/// `Content-Type` of every answer.
pub const CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

/// What an operation gets to work with.
pub(crate) struct Call<'a> {
    pub(crate) camera: &'a mut dyn Camera,
    pub(crate) args: &'a Element,
    pub(crate) authority: &'a str,
    pub(crate) rtsp_port: Option<u16>,
    pub(crate) presets_changed: bool,
    /// When a timed continuous move must stop: every motion replaces it.
    pub(crate) stop_at: &'a mut Option<Instant>,
}

type Operation = fn(&mut Call) -> Result<String, Fault>;

/// Every operation served: namespace, name, the level it needs, the handler.
const OPERATIONS: &[(&str, &str, Level, Operation)] = &[
    (
        NS_TDS,
        "GetSystemDateAndTime",
        Level::Anonymous,
        device::system_date_and_time,
    ),
    (
        NS_TDS,
        "GetCapabilities",
        Level::Anonymous,
        device::capabilities,
    ),
    (NS_TDS, "GetServices", Level::Anonymous, device::services),
    (
        NS_TDS,
        "GetServiceCapabilities",
        Level::Anonymous,
        device::service_capabilities,
    ),
    (NS_TDS, "GetHostname", Level::Anonymous, device::hostname),
    (
        NS_TDS,
        "GetDeviceInformation",
        Level::Viewer,
        device::information,
    ),
    (NS_TDS, "GetScopes", Level::Viewer, device::scopes),
    (
        NS_TDS,
        "GetNetworkInterfaces",
        Level::Viewer,
        device::network_interfaces,
    ),
    (
        NS_TDS,
        "GetNetworkProtocols",
        Level::Viewer,
        device::network_protocols,
    ),
    (NS_TDS, "GetUsers", Level::Admin, device::users),
    (
        NS_TRT,
        "GetServiceCapabilities",
        Level::Anonymous,
        media::service_capabilities,
    ),
    (NS_TRT, "GetProfiles", Level::Viewer, media::profiles),
    (NS_TRT, "GetProfile", Level::Viewer, media::profile),
    (
        NS_TRT,
        "GetVideoSources",
        Level::Viewer,
        media::video_sources,
    ),
    (
        NS_TRT,
        "GetVideoSourceConfigurations",
        Level::Viewer,
        media::source_configurations,
    ),
    (
        NS_TRT,
        "GetVideoSourceConfiguration",
        Level::Viewer,
        media::source_configuration_op,
    ),
    (
        NS_TRT,
        "GetVideoEncoderConfigurations",
        Level::Viewer,
        media::encoder_configurations,
    ),
    (
        NS_TRT,
        "GetVideoEncoderConfiguration",
        Level::Viewer,
        media::encoder_configuration_op,
    ),
    (
        NS_TRT,
        "GetVideoEncoderConfigurationOptions",
        Level::Viewer,
        media::encoder_options,
    ),
    (NS_TRT, "GetStreamUri", Level::Viewer, media::stream_uri),
    (NS_TRT, "GetSnapshotUri", Level::Viewer, media::snapshot_uri),
    (
        NS_TPTZ,
        "GetServiceCapabilities",
        Level::Anonymous,
        ptz::service_capabilities,
    ),
    (
        NS_TPTZ,
        "GetConfigurations",
        Level::Viewer,
        ptz::configurations,
    ),
    (
        NS_TPTZ,
        "GetConfiguration",
        Level::Viewer,
        ptz::configuration,
    ),
    (
        NS_TPTZ,
        "GetConfigurationOptions",
        Level::Viewer,
        ptz::configuration_options,
    ),
    (NS_TPTZ, "GetNodes", Level::Viewer, ptz::nodes),
    (NS_TPTZ, "GetNode", Level::Viewer, ptz::node),
    (NS_TPTZ, "GetStatus", Level::Viewer, ptz::status),
    (NS_TPTZ, "GetPresets", Level::Viewer, ptz::presets),
    (
        NS_TPTZ,
        "ContinuousMove",
        Level::Operator,
        ptz::continuous_move,
    ),
    (NS_TPTZ, "AbsoluteMove", Level::Operator, ptz::absolute_move),
    (NS_TPTZ, "RelativeMove", Level::Operator, ptz::relative_move),
    (NS_TPTZ, "Stop", Level::Operator, ptz::stop),
    (NS_TPTZ, "GotoHomePosition", Level::Operator, ptz::goto_home),
    (NS_TPTZ, "SetPreset", Level::Operator, ptz::set_preset),
    (NS_TPTZ, "GotoPreset", Level::Operator, ptz::goto_preset),
    (NS_TPTZ, "RemovePreset", Level::Operator, ptz::remove_preset),
];

/// The ONVIF services of one camera; lives on the daemon's event loop.
#[derive(Debug, Default)]
pub struct Onvif {
    rtsp_port: Option<u16>,
    nonces: NonceCache,
    stop_at: Option<Instant>,
}

impl Onvif {
    /// Services whose `GetStreamUri` names the RTSP server on `rtsp_port`, or the
    /// `/mjpeg.cgi` HTTP stream when there is none.
    pub fn new(rtsp_port: Option<u16>) -> Onvif {
        Onvif {
            rtsp_port,
            ..Onvif::default()
        }
    }

    /// Answers one request.
    pub fn handle(&mut self, request: SoapRequest, camera: &mut dyn Camera) -> Answer {
        match self.answer(request, camera) {
            Ok(answer) => answer,
            Err(fault) => Answer::fault(&fault),
        }
    }

    /// Stops a continuous move whose timeout has passed; call it now and then.
    pub fn tick(&mut self, now: Instant, camera: &mut dyn Camera) {
        if self.stop_at.is_some_and(|at| at <= now) {
            self.stop_at = None;
            if let Err(err) = camera.move_head(crate::camera::Motion::Stop) {
                log::warn!("cannot end a timed continuous move: {err}");
            }
        }
    }

    fn answer(&mut self, request: SoapRequest, camera: &mut dyn Camera) -> Result<Answer, Fault> {
        let text = std::str::from_utf8(request.body)
            .map_err(|_| Fault::sender("ter:WellFormed", "the body is not UTF-8"))?;
        let envelope = soap::parse_envelope(text)?;
        let op = &envelope.operation;
        let &(_, _, needs, operation) = OPERATIONS
            .iter()
            .find(|(ns, name, _, _)| op.is(ns, name))
            .ok_or_else(|| Fault::action_not_supported(&op.name))?;
        if needs > Level::Anonymous {
            let level = self.login(&envelope, request.http_level, camera)?;
            if level < needs {
                return Err(Fault::not_authorized());
            }
        }
        let mut call = Call {
            camera,
            args: op,
            authority: request.authority,
            rtsp_port: self.rtsp_port,
            presets_changed: false,
            stop_at: &mut self.stop_at,
        };
        let body = operation(&mut call)?;
        Ok(Answer {
            status: 200,
            body: soap::envelope(&body),
            presets_changed: call.presets_changed,
        })
    }

    fn login(
        &mut self,
        envelope: &soap::Envelope,
        http_level: Option<Level>,
        camera: &mut dyn Camera,
    ) -> Result<Level, Fault> {
        let Some(token) = &envelope.token else {
            return Ok(http_level.unwrap_or_else(|| camera.anonymous_level()));
        };
        let now = camera.clock().now;
        let proof = Proof::new(token, now, &self.nonces).map_err(|err| {
            // Debug-quoted: a user name from the envelope may hold line breaks that would
            // forge log lines.
            log::info!("ONVIF login of {:?} refused: {err}", token.username);
            Fault::not_authorized()
        })?;
        match camera.login(proof.username(), &|stored| proof.proves(stored)) {
            Ok(level) => {
                proof.consume(&mut self.nonces, now);
                Ok(level)
            }
            Err(err @ (LoginError::BadCredentials | LoginError::RateLimited)) => {
                log::info!("ONVIF login of {:?} refused: {err}", token.username);
                Err(Fault::not_authorized())
            }
        }
    }
}

/// The host and port for URIs in answers: the request's `Host` header when it is a plain
/// host name or address with an optional port, else `fallback` (the listening address).
pub fn authority(host_header: Option<&str>, fallback: &str) -> String {
    let plain = |host: &&str| {
        !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    };
    host_header
        .map(str::trim)
        .filter(plain)
        .unwrap_or(fallback)
        .to_owned()
}

/// The host part of an authority (`[::1]:80` → `[::1]`, `cam:8080` → `cam`).
pub(crate) fn host_of(authority: &str) -> &str {
    if let Some(end) = authority.find(']') {
        return &authority[..=end];
    }
    match authority.rsplit_once(':') {
        Some((host, _)) if !host.contains(':') => host,
        _ => authority,
    }
}

/// The port of an authority, if it names one (`cam:8080` → 8080, `[::1]` → none).
pub(crate) fn port_of(authority: &str) -> Option<u16> {
    authority[host_of(authority).len()..]
        .strip_prefix(':')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::{
        ClockInfo, DeviceInfo, Motion, NetworkFacts, PanTilt, PresetInfo, PtzRefusal, UserInfo,
        VideoInfo,
    };
    use crate::security::password_digest;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;
    use std::time::SystemTime;

    /// A camera with `op` (operator, password `pw`) whose head records the moves asked.
    #[derive(Default)]
    struct Fake {
        moves: Vec<Motion>,
        access_control_disabled: bool,
    }

    impl Camera for Fake {
        fn login(
            &mut self,
            user: &str,
            proves: &dyn Fn(&str) -> bool,
        ) -> Result<Level, LoginError> {
            (user == "op" && proves("pw"))
                .then_some(Level::Operator)
                .ok_or(LoginError::BadCredentials)
        }
        fn anonymous_level(&self) -> Level {
            if self.access_control_disabled {
                Level::Viewer
            } else {
                Level::Anonymous
            }
        }
        fn device_info(&self) -> DeviceInfo {
            DeviceInfo {
                manufacturer: "m".into(),
                model: "m".into(),
                firmware: "f".into(),
                serial: "s".into(),
                hardware_id: "h".into(),
                name: "n".into(),
                location: String::new(),
            }
        }
        fn clock(&self) -> ClockInfo {
            ClockInfo {
                now: SystemTime::now(),
                utc_offset_secs: 0,
                posix_tz: "UTC+00:00".into(),
                dst: false,
                ntp: false,
            }
        }
        fn network(&self) -> NetworkFacts {
            NetworkFacts {
                interface: "eth0".into(),
                mac: [0; 6],
                ipv4: std::net::Ipv4Addr::LOCALHOST,
                prefix_len: 8,
                dhcp: false,
                hostname: "n".into(),
            }
        }
        fn users(&self) -> Vec<UserInfo> {
            Vec::new()
        }
        fn video_options(&self) -> (Vec<(u16, u16)>, u32) {
            (vec![(640, 480)], 30)
        }
        fn video(&self) -> VideoInfo {
            VideoInfo {
                width: 640,
                height: 480,
                fps: 30,
                quality: 70,
            }
        }
        fn pan_tilt_limits(&self) -> PanTilt {
            PanTilt {
                pan: 340,
                tilt: 135,
            }
        }
        fn position(&self) -> (PanTilt, bool) {
            (PanTilt { pan: 170, tilt: 45 }, false)
        }
        fn move_head(&mut self, motion: Motion) -> Result<(), PtzRefusal> {
            self.moves.push(motion);
            Ok(())
        }
        fn preset_slots(&self) -> u8 {
            24
        }
        fn presets(&self) -> Vec<PresetInfo> {
            Vec::new()
        }
        fn set_preset(&mut self, _: u8, _: Option<&str>) -> Result<(), PtzRefusal> {
            Ok(())
        }
        fn remove_preset(&mut self, _: u8) -> Result<(), PtzRefusal> {
            Ok(())
        }
    }

    const HOME: &str = r#"<GotoHomePosition xmlns="http://www.onvif.org/ver20/ptz/wsdl"><ProfileToken>profile_1</ProfileToken></GotoHomePosition>"#;

    fn request(header: &str, body: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
        )
    }

    fn token(password: &str, nonce: &[u8]) -> String {
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let digest = BASE64.encode(password_digest(nonce, &created, password));
        format!(
            r#"<Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>op</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</Password><Nonce>{}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">{created}</Created></UsernameToken></Security>"#,
            BASE64.encode(nonce)
        )
    }

    fn send(onvif: &mut Onvif, camera: &mut Fake, text: &str, http_level: Option<Level>) -> Answer {
        let request = SoapRequest {
            body: text.as_bytes(),
            authority: "cam",
            http_level,
        };
        onvif.handle(request, camera)
    }

    #[test]
    fn a_digest_login_steers_once_and_its_replay_is_refused() {
        let (mut onvif, mut camera) = (Onvif::new(None), Fake::default());
        let signed = request(&token("pw", b"nonce-1"), HOME);
        assert_eq!(send(&mut onvif, &mut camera, &signed, None).status, 200);
        assert_eq!(camera.moves, [Motion::Home]);
        let replayed = send(&mut onvif, &mut camera, &signed, None);
        assert_eq!(replayed.status, 400);
        assert!(replayed.body.contains("ter:NotAuthorized"));
        assert_eq!(camera.moves.len(), 1, "the replay moved nothing");
        let wrong = request(&token("wrong", b"nonce-2"), HOME);
        assert!(send(&mut onvif, &mut camera, &wrong, None)
            .body
            .contains("ter:NotAuthorized"));
    }

    #[test]
    fn anonymous_clients_get_pre_auth_operations_and_viewing_only_when_allowed() {
        let (mut onvif, mut camera) = (Onvif::new(None), Fake::default());
        let time = request(
            "",
            r#"<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>"#,
        );
        assert_eq!(send(&mut onvif, &mut camera, &time, None).status, 200);
        let profiles = request(
            "",
            r#"<GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/>"#,
        );
        assert_eq!(send(&mut onvif, &mut camera, &profiles, None).status, 400);
        camera.access_control_disabled = true;
        assert_eq!(send(&mut onvif, &mut camera, &profiles, None).status, 200);
        assert_eq!(
            send(&mut onvif, &mut camera, &request("", HOME), None).status,
            400
        );
        // An HTTP Basic login of the right role steers without a token.
        let basic = send(
            &mut onvif,
            &mut camera,
            &request("", HOME),
            Some(Level::Operator),
        );
        assert_eq!(basic.status, 200);
    }

    #[test]
    fn a_timed_continuous_move_is_stopped_by_tick() {
        let (mut onvif, mut camera) = (Onvif::new(None), Fake::default());
        let body = r#"<ContinuousMove xmlns="http://www.onvif.org/ver20/ptz/wsdl"><ProfileToken>profile_1</ProfileToken><Velocity><PanTilt xmlns="http://www.onvif.org/ver10/schema" x="-0.5" y="0"/></Velocity><Timeout>PT0S</Timeout></ContinuousMove>"#;
        let answer = send(
            &mut onvif,
            &mut camera,
            &request("", body),
            Some(Level::Operator),
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(camera.moves, [Motion::MoveTo(PanTilt { pan: 0, tilt: 45 })]);
        onvif.tick(Instant::now(), &mut camera);
        assert_eq!(camera.moves.last(), Some(&Motion::Stop));
        onvif.tick(Instant::now(), &mut camera);
        assert_eq!(camera.moves.len(), 2, "stopped once");
    }

    #[test]
    fn the_host_header_is_used_only_when_plain() {
        assert_eq!(authority(Some("10.0.0.5:8080"), "fb"), "10.0.0.5:8080");
        assert_eq!(authority(Some("[::1]:80"), "fb"), "[::1]:80");
        assert_eq!(authority(Some("evil\"><x"), "fb"), "fb");
        assert_eq!(authority(None, "127.0.0.1:80"), "127.0.0.1:80");
    }

    #[test]
    fn the_host_part_drops_the_port() {
        assert_eq!(host_of("cam:8080"), "cam");
        assert_eq!(host_of("cam"), "cam");
        assert_eq!(host_of("[::1]:8080"), "[::1]");
        assert_eq!(host_of("10.0.0.5"), "10.0.0.5");
        assert_eq!(port_of("cam:8080"), Some(8080));
        assert_eq!(port_of("[::1]:81"), Some(81));
        assert_eq!(port_of("[::1]"), None);
        assert_eq!(port_of("cam"), None);
    }

    #[test]
    fn every_operation_is_listed_once() {
        for (i, (ns, name, _, _)) in OPERATIONS.iter().enumerate() {
            assert!(
                !OPERATIONS[i + 1..]
                    .iter()
                    .any(|(n, m, _, _)| n == ns && m == name),
                "{name}"
            );
        }
    }
}
