//! Who may do what: credentials to a [`Principal`], and one table from every path the
//! daemon serves to the [`Access`] it needs (DESIGN.md "Who may do what").
//!
//! | path                                         | needs                          |
//! |----------------------------------------------|--------------------------------|
//! | chapter 3 CGIs (`/system.cgi`, ... `/reset.cgi`) | [`Access::Admin`]          |
//! | `/image.jpg`, `/mjpeg.cgi`, GET `/iocontrol.cgi` | [`Access::Viewer`]         |
//! | `/iocontrol.cgi` with `ImageUpload`/`ImageEmail` | [`Access::Operator`]       |
//! | `/iocontrol.cgi` with `Trigger1`/`Trigger2`  | [`Access::Admin`]              |
//! | `/pantiltcontrol.cgi`                        | [`Access::Operator`]           |
//! | `/comport.cgi`                               | [`Access::Admin`]              |
//! | `/`, `/index.html`, `/web/...` (web page)     | [`Access::Viewer`]             |
//! | NVR aliases: `/image/jpeg.cgi` (snapshot); `/video.cgi`, `/video/mjpg.cgi`, `/video.mjpg` (stream) | [`Access::Viewer`], as `/image.jpg` and `/mjpeg.cgi` |
//! | `/onvif/device_service`, `/onvif/media_service`, `/onvif/ptz_service` | [`Access::InMessage`] |
//! | `/upnp/device.xml` (UPnP device description) | [`Access::Public`]             |
//! | anything else                                | not found (`None`)             |
//!
//! [`Access::Viewer`] is the only level anonymous clients reach, and only while access
//! control is disabled (`AccessControlEnable=1`). The web page is a viewer's page: it
//! shows the stream, so it is guarded like the stream.
//!
//! ONVIF requests log in inside the SOAP message (WS-Security UsernameToken), and some of
//! their operations must work without a login (`GetSystemDateAndTime`, `GetCapabilities`),
//! so the `/onvif/` paths are [`Access::InMessage`]: they pass this check with any
//! principal (an HTTP Basic login, if sent, is still checked and rate-limited here), and
//! the ONVIF service checks each operation against the same roles (`ipcam-onvif`'s
//! operation table: viewers read media, privilege 1 steers, the administrator lists users).
//!
//! The UPnP device description is [`Access::Public`]: UPnP has no login, and Windows'
//! network view and UPnP scanners read it before anyone logs in. It says only what the
//! login prompt says (the camera's name) plus the model and the page's URL, and the
//! daemon serves it only while `UPnPEnable=1`.

use std::net::IpAddr;

use subtle::ConstantTimeEq as _;

use crate::resources::Resource;
use crate::state::State;

/// A logged-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `UserPrivilege=0`: view only.
    Viewer,
    /// `UserPrivilege=1`: view, pan/tilt, image upload and e-mail.
    Operator,
    /// `AdminID` of `/system.cgi`.
    Admin,
}

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credentials.
    Anonymous,
    /// Valid credentials.
    User {
        /// The user name.
        name: String,
        /// The role it has.
        role: Role,
    },
}

impl Principal {
    /// The user name, if logged in (for `/activeuser.cgi`).
    pub fn name(&self) -> Option<&str> {
        match self {
            Principal::Anonymous => None,
            Principal::User { name, .. } => Some(name),
        }
    }
}

/// Credentials that match no user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("wrong user name or password")]
pub struct BadCredentials;

/// Checks Basic credentials against the administrator and the user list. Every
/// candidate is compared in constant time and all are compared, so the answer's timing
/// does not tell which part was wrong or how much of it matched.
pub fn authenticate(
    state: &State,
    credentials: Option<(&str, &str)>,
) -> Result<Principal, BadCredentials> {
    let Some((name, password)) = credentials else {
        return Ok(Principal::Anonymous);
    };
    authenticate_proof(state, name, |expected| {
        bool::from(expected.as_bytes().ct_eq(password.as_bytes()))
    })
}

/// Checks a login whose password is proven rather than sent: HTTP/RTSP Digest responses
/// and WS-Security password digests are computed from the stored password, so `proves`
/// gets each stored password of a user called `name` and says whether the client's proof
/// matches it (comparing in constant time). Like [`authenticate`], every account is
/// looked at, so the timing does not tell which names exist.
pub fn authenticate_proof(
    state: &State,
    name: &str,
    proves: impl Fn(&str) -> bool,
) -> Result<Principal, BadCredentials> {
    let admin = &state.system;
    let mut found = (matches_name(&admin.admin_id, name) & proves(&admin.admin_password))
        .then_some(Role::Admin);
    for user in &state.users {
        let role = if user.privilege == 1 {
            Role::Operator
        } else {
            Role::Viewer
        };
        if matches_name(&user.name, name) & proves(&user.password) && found.is_none() {
            found = Some(role);
        }
    }
    found
        .map(|role| Principal::User {
            name: name.to_owned(),
            role,
        })
        .ok_or(BadCredentials)
}

fn matches_name(expected: &str, name: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(name.as_bytes()))
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// A viewer; anyone while access control is disabled.
    Viewer,
    /// Privilege 1 or the administrator.
    Operator,
    /// The administrator.
    Admin,
    /// The login travels inside the message (ONVIF SOAP) and the handler checks it per
    /// operation; this check lets any principal through.
    InMessage,
    /// Anyone, whatever access control says: a discovery document (no login exists).
    Public,
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Serve the request.
    Allow,
    /// Answer 401 with `WWW-Authenticate`.
    Challenge,
}

/// The UPnP device description, the `LOCATION` of the camera's SSDP messages.
pub const UPNP_DESCRIPTION_PATH: &str = "/upnp/device.xml";

/// Paths of the web page shell, served to viewers.
const PAGE_PATHS: &[&str] = &["/", "/index.html", "/index.htm"];
/// Prefix of the web page's static assets.
const ASSET_PREFIX: &str = "/web/";
/// Paths NVR camera databases use for the snapshot of D-Link DCS-class cameras, served as
/// `/image.jpg` (README "NVR camera presets" names the sources).
pub const SNAPSHOT_ALIASES: &[&str] = &["/image/jpeg.cgi"];
/// Paths NVR camera databases use for the MJPEG stream of D-Link DCS-class cameras,
/// served as `/mjpeg.cgi`.
pub const STREAM_ALIASES: &[&str] = &["/video.cgi", "/video/mjpg.cgi", "/video.mjpg"];
/// The ONVIF service endpoints.
pub const ONVIF_PATHS: &[&str] = &[
    "/onvif/device_service",
    "/onvif/media_service",
    "/onvif/ptz_service",
];

/// The one authorization table: the access `path` needs with these parameter names,
/// or `None` if the daemon serves no such path (404). Parameter names are compared
/// ignoring ASCII case, as the configuration CGIs match them.
pub fn required_access<'a>(
    path: &str,
    param_names: impl IntoIterator<Item = &'a str>,
) -> Option<Access> {
    if Resource::from_path(path).is_some() {
        return Some(Access::Admin);
    }
    match path {
        "/image.jpg" | "/mjpeg.cgi" => Some(Access::Viewer),
        _ if SNAPSHOT_ALIASES.contains(&path) || STREAM_ALIASES.contains(&path) => {
            Some(Access::Viewer)
        }
        _ if ONVIF_PATHS.contains(&path) => Some(Access::InMessage),
        UPNP_DESCRIPTION_PATH => Some(Access::Public),
        // Extension: when and why events happened; a viewer sees the pictures anyway.
        "/eventlog.cgi" => Some(Access::Viewer),
        "/iocontrol.cgi" => Some(iocontrol_access(param_names)),
        "/pantiltcontrol.cgi" => Some(Access::Operator),
        "/comport.cgi" => Some(Access::Admin),
        _ if PAGE_PATHS.contains(&path) => Some(Access::Viewer),
        _ if is_asset(path) => Some(Access::Viewer),
        _ => None,
    }
}

fn is_asset(path: &str) -> bool {
    path.strip_prefix(ASSET_PREFIX).is_some_and(|rest| {
        !rest.is_empty() && !rest.split('/').any(|seg| seg.is_empty() || seg == "..")
    })
}

/// Reading the I/O status is for viewers; switching upload or e-mail for operators;
/// driving the trigger outputs for the administrator. Other names need a viewer and are
/// then rejected (400) by the handler.
fn iocontrol_access<'a>(param_names: impl IntoIterator<Item = &'a str>) -> Access {
    param_names
        .into_iter()
        .map(|name| {
            let name = name.trim();
            if name.eq_ignore_ascii_case("Trigger1") || name.eq_ignore_ascii_case("Trigger2") {
                Access::Admin
            } else if name.eq_ignore_ascii_case("ImageUpload")
                || name.eq_ignore_ascii_case("ImageEmail")
            {
                Access::Operator
            } else {
                Access::Viewer
            }
        })
        .max()
        .unwrap_or(Access::Viewer)
}

/// Whether `principal` may make a request that needs `access`.
/// `access_control_enabled` is [`crate::UserAccessConfig::enabled`].
pub fn decide(access: Access, principal: &Principal, access_control_enabled: bool) -> Decision {
    let allowed = match principal {
        Principal::Anonymous => {
            matches!(access, Access::InMessage | Access::Public)
                || (access == Access::Viewer && !access_control_enabled)
        }
        Principal::User { role, .. } => match access {
            Access::Viewer => true,
            Access::Operator => *role >= Role::Operator,
            Access::Admin => *role == Role::Admin,
            Access::InMessage | Access::Public => true,
        },
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Challenge
    }
}

/// The whole check in one call: authenticate (counting failures in `limiter`), look up
/// the table and decide. `None` → 404; `Some(Err(..))` → 401.
pub fn authorize<'a>(
    state: &State,
    limiter: &mut crate::ratelimit::LoginLimiter,
    client: IpAddr,
    now: std::time::Instant,
    credentials: Option<(&str, &str)>,
    path: &str,
    param_names: impl IntoIterator<Item = &'a str>,
) -> Option<Result<Principal, Denied>> {
    let access = required_access(path, param_names)?;
    if credentials.is_some() && limiter.is_blocked(client, now) {
        return Some(Err(Denied::RateLimited));
    }
    let principal = match authenticate(state, credentials) {
        Ok(principal) => principal,
        Err(BadCredentials) => {
            limiter.record_failure(client, now);
            return Some(Err(Denied::BadCredentials));
        }
    };
    if credentials.is_some() {
        limiter.record_success(client);
    }
    Some(match decide(access, &principal, state.access.enabled()) {
        Decision::Allow => Ok(principal),
        Decision::Challenge => Err(Denied::NotAllowed),
    })
}

/// Why [`authorize`] refused; each is answered with 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The credentials match no user.
    #[error("wrong user name or password")]
    BadCredentials,
    /// The client failed too often lately; its credentials were not even checked.
    #[error("too many failed logins from this address, try again later")]
    RateLimited,
    /// The user (or anonymous client) lacks the role.
    #[error("not allowed for this user")]
    NotAllowed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::LoginLimiter;
    use crate::sections::UserRecord;
    use std::net::Ipv4Addr;
    use std::time::Instant;

    fn state(access_control_enabled: bool) -> State {
        let mut state = State::factory("adminpw");
        state.access.access_control_enable = if access_control_enabled { 0 } else { 1 };
        state.users = vec![
            UserRecord {
                name: "view".into(),
                password: "v".into(),
                privilege: 0,
            },
            UserRecord {
                name: "op".into(),
                password: "o".into(),
                privilege: 1,
            },
        ];
        state
    }

    const ANON: Option<(&str, &str)> = None;
    const VIEW: Option<(&str, &str)> = Some(("view", "v"));
    const OP: Option<(&str, &str)> = Some(("op", "o"));
    const ADMIN: Option<(&str, &str)> = Some(("admin", "adminpw"));
    const WRONG: Option<(&str, &str)> = Some(("admin", "nope"));

    /// Allowed? for (anonymous, privilege 0, privilege 1, admin, wrong password,
    /// anonymous with access control disabled).
    fn row(path: &str, params: &[&str]) -> [bool; 6] {
        let run = |creds, enabled| {
            let mut limiter = LoginLimiter::new();
            let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
            let outcome = authorize(
                &state(enabled),
                &mut limiter,
                ip,
                Instant::now(),
                creds,
                path,
                params.iter().copied(),
            );
            outcome.expect("known path").is_ok()
        };
        [
            run(ANON, true),
            run(VIEW, true),
            run(OP, true),
            run(ADMIN, true),
            run(WRONG, true),
            run(ANON, false),
        ]
    }

    #[test]
    fn a_proven_password_logs_in_with_the_accounts_role() {
        let state = state(true);
        let proof_of = |secret: &'static str| move |stored: &str| stored == secret;
        assert_eq!(
            authenticate_proof(&state, "op", proof_of("o")),
            Ok(Principal::User {
                name: "op".into(),
                role: Role::Operator
            })
        );
        assert_eq!(
            authenticate_proof(&state, "admin", proof_of("adminpw"))
                .map(|p| p.name().map(str::to_owned)),
            Ok(Some("admin".into()))
        );
        assert_eq!(
            authenticate_proof(&state, "op", proof_of("v")),
            Err(BadCredentials)
        );
        assert_eq!(
            authenticate_proof(&state, "nobody", proof_of("o")),
            Err(BadCredentials)
        );
    }

    #[test]
    fn chapter_3_is_for_the_administrator_only() {
        for resource in Resource::ALL {
            assert_eq!(
                row(resource.path(), &[]),
                [false, false, false, true, false, false],
                "{resource:?}"
            );
        }
    }

    #[test]
    fn streams_and_io_status_are_for_viewers_or_anyone_without_access_control() {
        for path in ["/image.jpg", "/mjpeg.cgi", "/iocontrol.cgi"] {
            assert_eq!(
                row(path, &[]),
                [false, true, true, true, false, true],
                "{path}"
            );
        }
    }

    #[test]
    fn pan_tilt_upload_and_email_need_privilege_1() {
        let expected = [false, false, true, true, false, false];
        assert_eq!(row("/pantiltcontrol.cgi", &["PanTiltSingleMove"]), expected);
        assert_eq!(row("/iocontrol.cgi", &["ImageUpload"]), expected);
        assert_eq!(row("/iocontrol.cgi", &["ImageEmail"]), expected);
    }

    #[test]
    fn triggers_and_the_com_port_are_for_the_administrator() {
        let expected = [false, false, false, true, false, false];
        assert_eq!(row("/iocontrol.cgi", &["Trigger1"]), expected);
        assert_eq!(row("/iocontrol.cgi", &["ImageEmail", "trigger2"]), expected);
        assert_eq!(row("/comport.cgi", &["ComOut", "ComSend"]), expected);
    }

    #[test]
    fn the_web_page_is_a_viewers_page() {
        for path in ["/", "/index.html", "/web/app.js"] {
            assert_eq!(
                row(path, &[]),
                [false, true, true, true, false, true],
                "{path}"
            );
        }
    }

    #[test]
    fn nvr_aliases_are_guarded_like_the_snapshot_and_the_stream() {
        for path in SNAPSHOT_ALIASES.iter().chain(STREAM_ALIASES) {
            assert_eq!(
                row(path, &[]),
                [false, true, true, true, false, true],
                "{path}"
            );
        }
    }

    #[test]
    fn onvif_paths_pass_to_the_soap_check_but_a_wrong_basic_login_does_not() {
        for path in ONVIF_PATHS {
            assert_eq!(
                row(path, &[]),
                [true, true, true, true, false, true],
                "{path}"
            );
        }
    }

    #[test]
    fn the_upnp_description_is_public_but_a_wrong_login_is_still_refused() {
        assert_eq!(
            row(UPNP_DESCRIPTION_PATH, &[]),
            [true, true, true, true, false, true]
        );
        assert_eq!(required_access("/upnp/", []), None);
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/nope.cgi",
            "/web/",
            "/web/../state.toml",
            "/image.cgi/x",
            "/IMAGE.JPG",
            "/onvif/",
            "/onvif/event_service",
        ] {
            assert_eq!(required_access(path, []), None, "{path}");
        }
    }

    #[test]
    fn wrong_passwords_are_counted_and_then_blocked() {
        let state = state(true);
        let mut limiter = LoginLimiter::new();
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
        let now = Instant::now();
        let mut outcomes = Vec::new();
        for _ in 0..6 {
            outcomes.push(authorize(
                &state,
                &mut limiter,
                ip,
                now,
                WRONG,
                "/image.jpg",
                [],
            ));
        }
        assert_eq!(outcomes[0], Some(Err(Denied::BadCredentials)));
        assert_eq!(outcomes[5], Some(Err(Denied::RateLimited)));
        // Even the right password is refused while blocked.
        let blocked = authorize(&state, &mut limiter, ip, now, ADMIN, "/image.jpg", []);
        assert_eq!(blocked, Some(Err(Denied::RateLimited)));
    }

    #[test]
    fn roles_follow_privilege() {
        let state = state(true);
        let role = |c| match authenticate(&state, c) {
            Ok(Principal::User { role, .. }) => Some(role),
            _ => None,
        };
        assert_eq!(role(VIEW), Some(Role::Viewer));
        assert_eq!(role(OP), Some(Role::Operator));
        assert_eq!(role(ADMIN), Some(Role::Admin));
        assert_eq!(
            authenticate(&state, Some(("view", "V"))),
            Err(BadCredentials)
        );
        assert_eq!(
            authenticate(&state, Some(("nobody", ""))),
            Err(BadCredentials)
        );
        assert_eq!(authenticate(&state, None), Ok(Principal::Anonymous));
    }
}
