//! Maps request paths to the camera's answers, after the one authorization check.
//!
//! Every request goes through [`ipcam_api::authorize`] — the single table of DESIGN.md's
//! "Who may do what" — before anything else happens; a path the table does not know is
//! `404`, as the spec says for "This API is not supported for this IP camera". Paths are
//! matched ignoring ASCII case because the vendor's own applet posts to
//! `/PANTILTCONTROL.CGI`.
//!
//! Chapter-3 requests and preset changes are deferred to the configuration thread (they
//! fsync); snapshots, streams and the control CGIs are answered here, on the event loop.
//! So are the ONVIF services (`/onvif/...`, see [`crate::onvif`]) and the NVR aliases of
//! the snapshot and the stream (`ipcam_api::SNAPSHOT_ALIASES`, `STREAM_ALIASES`).

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use crossbeam_channel::{Sender, TrySendError};
use ipcam_api::{
    authorize, ActiveViewer, LoginLimiter, Principal, Resource, Role, SharedState, ONVIF_PATHS,
    SNAPSHOT_ALIASES, STREAM_ALIASES, UPNP_DESCRIPTION_PATH,
};
use ipcam_hal::Led;
use ipcam_httpd::{
    Broadcast, Credentials, Handler, Method, Reply, Request, Response, Status, StreamStats,
};

use crate::camera::{JpegBytes, MjpegPart, MJPEG_CONTENT_TYPE};
use crate::client::TrustedProxies;
use crate::config_worker::Job;
use crate::control::{Controls, PanTiltOutcome};
use crate::logins::SharedLimiter;
use crate::onvif::{self, CameraView};
use crate::presets;
use crate::systemd::{Notifier, Watchdog};
use crate::web;

/// Counts changes of who may watch: users, passwords, access control, factory reset. The
/// configuration thread advances it; open streams check their viewer again when it moves.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccessEpoch(Arc<AtomicU64>);

impl AccessEpoch {
    /// Says that logins or access control changed.
    pub(crate) fn advance(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// Whether an open stream's viewer may still watch. Checked before every frame, it costs
/// one atomic load until the access epoch moves; then the viewer's credentials go through
/// the same authorization as a new request (a deleted user, a changed password, or access
/// control switched on for an anonymous viewer ends the stream).
struct StreamPermit {
    state: SharedState,
    epoch: AccessEpoch,
    checked_at: Cell<u64>,
    client: IpAddr,
    credentials: Option<Credentials>,
}

impl StreamPermit {
    fn still_allowed(&self) -> bool {
        let epoch = self.epoch.current();
        if self.checked_at.replace(epoch) == epoch {
            return true;
        }
        // A fresh limiter: a viewer re-checked after a change is not a login attempt.
        let verdict = authorize(
            &self.state.load(),
            &mut LoginLimiter::new(),
            self.client,
            Instant::now(),
            user_and_password(&self.credentials),
            "/mjpeg.cgi",
            std::iter::empty(),
        );
        let allowed = matches!(verdict, Some(Ok(_)));
        if !allowed {
            log::info!("ending the stream of {}: no longer allowed", self.client);
        }
        allowed
    }
}

/// Basic credentials as [`authorize`] takes them.
fn user_and_password(credentials: &Option<Credentials>) -> Option<(&str, &str)> {
    credentials
        .as_ref()
        .map(|c| (c.user.as_str(), c.password.as_str()))
}

/// Someone watching `/mjpeg.cgi`.
struct Viewer {
    ip: IpAddr,
    user: Option<String>,
    /// When the stream started, by the camera's clock (which a manual time set may have
    /// moved away from the host's), like every other time the camera shows.
    since: SystemTime,
    stats: Arc<StreamStats>,
}

/// The daemon's request handler.
pub(crate) struct Routes {
    pub(crate) state: SharedState,
    pub(crate) limiter: SharedLimiter,
    pub(crate) realm: String,
    pub(crate) frames: Broadcast<MjpegPart>,
    pub(crate) jobs: Sender<Job>,
    pub(crate) controls: Controls,
    pub(crate) led: Arc<dyn Led>,
    pub(crate) watchdog: Option<(Arc<Notifier>, Watchdog)>,
    /// Whose word on the client's address counts (none by default).
    pub(crate) proxies: TrustedProxies,
    access: AccessEpoch,
    /// The RTSP server's address, if it serves (for the stream URI of ONVIF and the page).
    pub(crate) rtsp_addr: Option<std::net::SocketAddr>,
    /// Whether WS-Discovery is configured to announce the camera (shown on the page).
    pub(crate) discovery: bool,
    viewers: Vec<Viewer>,
    streaming: bool,
    /// The ONVIF services, unless `[onvif] enabled = false`.
    onvif: Option<onvif::Endpoint>,
    /// What the UPnP device description says (served while `UPnPEnable=1`).
    pub(crate) upnp: Option<crate::upnp::Identity>,
}

impl Routes {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        state: SharedState,
        realm: String,
        frames: Broadcast<MjpegPart>,
        jobs: Sender<Job>,
        controls: Controls,
        led: Arc<dyn Led>,
        watchdog: Option<(Arc<Notifier>, Watchdog)>,
        access: AccessEpoch,
        onvif: Option<onvif::Endpoint>,
    ) -> Self {
        Routes {
            state,
            limiter: SharedLimiter::default(),
            realm,
            frames,
            jobs,
            controls,
            led,
            watchdog,
            proxies: TrustedProxies::default(),
            access,
            rtsp_addr: None,
            discovery: false,
            viewers: Vec::new(),
            streaming: false,
            onvif,
            upnp: None,
        }
    }

    fn authorize(&mut self, request: &Request, path: &str) -> Result<Principal, Response> {
        let state = self.state.load();
        let credentials = user_and_password(&request.credentials);
        let client = self.proxies.client(request);
        let names = request
            .params
            .iter()
            .map(|(name, _)| name.as_str())
            .chain(request.binary_params.iter().map(|(name, _)| name.as_str()));
        match authorize(
            &state,
            &mut self.limiter.lock(),
            client,
            Instant::now(),
            credentials,
            path,
            names,
        ) {
            None => Err(Response::error(Status::NotFound, "not found")),
            Some(Ok(principal)) => Ok(principal),
            Some(Err(denied)) => {
                log::info!("401 for {path} from {client}: {denied}");
                Err(Response::unauthorized(&self.realm))
            }
        }
    }

    fn snapshot(&self) -> Response {
        match self.frames.newest() {
            Some(MjpegPart(frame)) => Response::new(
                Status::Ok,
                "image/jpeg",
                Bytes::from_owner(JpegBytes(frame)),
            )
            .header("Cache-Control", "no-cache")
            .close_trailer(b"\r\n\r\n"),
            None => Response::error(Status::ServiceUnavailable, "no frame captured yet"),
        }
    }

    fn stream(&mut self, request: &Request, principal: &Principal) -> Response {
        let stats = StreamStats::new();
        self.viewers.push(Viewer {
            ip: self.proxies.client(request),
            user: principal.name().map(str::to_owned),
            since: self.controls.clock.now(),
            stats: Arc::clone(&stats),
        });
        self.update_led();
        let permit = StreamPermit {
            state: self.state.clone(),
            epoch: self.access.clone(),
            checked_at: Cell::new(self.access.current()),
            client: self.proxies.client(request),
            credentials: request.credentials.clone(),
        };
        let body = self
            .frames
            .subscribe(stats)
            .while_allowed(move || permit.still_allowed());
        Response::stream(MJPEG_CONTENT_TYPE, body)
            .header("Cache-Control", "no-cache")
            .header("Pragma", "no-cache")
    }

    /// Forgets viewers whose connection the server has dropped (it held the other
    /// reference to their figures).
    fn prune_viewers(&mut self) {
        self.viewers
            .retain(|viewer| Arc::strong_count(&viewer.stats) > 1);
        self.update_led();
    }

    fn update_led(&mut self) {
        let streaming = !self.viewers.is_empty();
        if streaming != self.streaming {
            self.streaming = streaming;
            self.led.set_streaming(streaming);
        }
    }

    fn active_viewers(&self) -> Vec<ActiveViewer> {
        self.viewers
            .iter()
            .filter(|viewer| Arc::strong_count(&viewer.stats) > 1)
            .map(|viewer| ActiveViewer {
                ip: viewer.ip,
                user: viewer.user.clone(),
                since: viewer.since,
                ms_per_packet: u32::try_from(viewer.stats.millis_per_chunk()).unwrap_or(u32::MAX),
            })
            .collect()
    }

    /// Hands a job to the configuration thread; the request waits for its answer.
    fn defer(
        &self,
        request: &Request,
        make_job: impl FnOnce(ipcam_httpd::Responder) -> Job,
    ) -> Reply {
        let (responder, pending) = request.defer();
        match self.jobs.try_send(make_job(responder)) {
            Ok(()) => Reply::Later(pending),
            // The job (and its responder) comes back in the error; dropping it answers 500.
            Err(TrySendError::Full(_)) => {
                log::warn!("configuration queue full");
                Reply::Later(pending)
            }
            Err(TrySendError::Disconnected(_)) => Reply::Later(pending),
        }
    }

    fn configure(&self, request: &Request, resource: Resource) -> Reply {
        let viewers = self.active_viewers();
        let latest_frame_size = self.frames.newest().map(|part| part.0.jpeg().len());
        let params = request.params.clone();
        self.defer(request, |responder| Job::Cgi {
            resource,
            params,
            viewers,
            latest_frame_size,
            responder,
        })
    }

    fn pan_tilt(&self, request: &Request) -> Reply {
        match self.controls.pan_tilt(&request.params) {
            PanTiltOutcome::Done(response) => response.into(),
            PanTiltOutcome::SavePresets(changed) => {
                let presets = presets::to_stored(&changed);
                self.defer(request, |responder| Job::SavePresets {
                    presets,
                    responder,
                    answer: Response::no_content(),
                })
            }
        }
    }

    /// GET `/iocontrol.cgi`: the spec's line, and in extension headers what the web page
    /// shows besides the video: the login's role, the RTSP port, whether ONVIF and
    /// WS-Discovery serve.
    fn io_status(&self, principal: &Principal) -> Response {
        let mut status = self
            .controls
            .io_status()
            .header("X-IPCam-Role", role_name(principal));
        if let Some(addr) = self.rtsp_addr {
            status = status.header("X-IPCam-RTSP-Port", addr.port().to_string());
        }
        if self.onvif.is_some() {
            let discovery = if self.discovery { "on" } else { "off" };
            status = status.header("X-IPCam-ONVIF", format!("discovery={discovery}"));
        }
        status
    }

    /// A SOAP request to the ONVIF services; a preset change is saved before the answer.
    fn onvif(&mut self, request: &Request, principal: &Principal) -> Reply {
        let Some(endpoint) = self.onvif.as_mut() else {
            return Response::error(Status::NotFound, "not found").into();
        };
        if request.method != Method::Post {
            return Response::error(
                Status::BadRequest,
                "ONVIF services take SOAP 1.2 envelopes by POST",
            )
            .into();
        }
        let authority =
            ipcam_onvif::authority(request.host.as_deref(), &endpoint.fallback_authority);
        let mut limiter = self.limiter.lock();
        let mut camera = CameraView {
            state: self.state.load(),
            limiter: &mut limiter,
            client: self.proxies.client(request),
            ptz: &self.controls.ptz,
            clock: &self.controls.clock,
            identity: &endpoint.identity,
        };
        let soap = ipcam_onvif::SoapRequest {
            body: &request.body,
            authority: &authority,
            http_level: onvif::level_of(principal),
        };
        let answer = endpoint.service.handle(soap, &mut camera);
        // The RTSP loop checks its logins against the same limiter.
        drop(limiter);
        let status = match answer.status {
            200 => Status::Ok,
            400 => Status::BadRequest,
            _ => Status::InternalError,
        };
        let response = Response::new(status, ipcam_onvif::CONTENT_TYPE, answer.body);
        if !answer.presets_changed {
            return response.into();
        }
        let presets = presets::to_stored(&self.controls.ptz.presets());
        self.defer(request, |responder| Job::SavePresets {
            presets,
            responder,
            answer: response,
        })
    }

    /// The UPnP device description; 404 while `UPnPEnable=0`, as for any unknown path.
    fn upnp_description(&self, request: &Request) -> Response {
        let state = self.state.load();
        let description = self
            .upnp
            .as_ref()
            .and_then(|upnp| upnp.description(&state, request.host.as_deref()));
        match description {
            Some(xml) => Response::new(Status::Ok, ipcam_upnp::description::CONTENT_TYPE, xml),
            None => Response::error(Status::NotFound, "not found"),
        }
    }

    fn onvif_tick(&mut self, now: Instant) {
        let Some(endpoint) = self.onvif.as_mut() else {
            return;
        };
        let mut limiter = self.limiter.lock();
        let mut camera = CameraView {
            state: self.state.load(),
            limiter: &mut limiter,
            client: std::net::Ipv4Addr::UNSPECIFIED.into(),
            ptz: &self.controls.ptz,
            clock: &self.controls.clock,
            identity: &endpoint.identity,
        };
        endpoint.service.tick(now, &mut camera);
    }
}

/// Extension header on GET `/iocontrol.cgi`: what the login may do. The web page reads it
/// instead of probing with requests that could be refused — browsers forget a cached Basic
/// login on any 401 and would ask for it again.
/// What a page of another site may fetch with the user's login: viewing only (an NVR
/// dashboard's `<img>` of the snapshot or the stream, a link to the camera's page). Every
/// other request of such a page is refused before authorization, because the browser
/// would send the cached Basic login along: without this, any web page could embed
/// `<img src="http://camera/reset.cgi?FactoryReset=Yes">` (cross-site request forgery).
fn embeddable(method: Method, path: &str) -> bool {
    let viewing = matches!(path, "/" | "/image.jpg" | "/mjpeg.cgi")
        || SNAPSHOT_ALIASES.contains(&path)
        || STREAM_ALIASES.contains(&path)
        || path.starts_with("/web/");
    viewing && matches!(method, Method::Get | Method::Head)
}

fn role_name(principal: &Principal) -> &'static str {
    match principal {
        Principal::Anonymous => "anonymous",
        Principal::User { role, .. } => match role {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        },
    }
}

/// A file of the web page, or `304` when the browser's copy is current.
fn page(request: &Request, path: &str) -> Response {
    let Some(asset) = web::asset(path) else {
        return Response::error(Status::NotFound, "not found");
    };
    let current = request
        .if_none_match
        .as_deref()
        .is_some_and(|tags| asset.matches(tags));
    let response = if current {
        Response::new(Status::NotModified, asset.content_type, Bytes::new())
    } else {
        Response::new(
            Status::Ok,
            asset.content_type,
            Bytes::from_static(asset.body),
        )
    };
    web::SECURITY_HEADERS.iter().fold(
        response
            .header("ETag", asset.etag)
            .header("Cache-Control", asset.cache_control),
        |response, (name, value)| response.header(name, *value),
    )
}

impl Handler for Routes {
    fn handle(&mut self, request: &Request) -> Reply {
        let path = request.path.to_ascii_lowercase();
        if request.foreign_origin && !embeddable(request.method, &path) {
            log::info!(
                "refused a request for {path} from {} made by a page of another site",
                self.proxies.client(request)
            );
            return Response::error(
                Status::BadRequest,
                "refused: made by a page of another site (open the camera's own page)",
            )
            .into();
        }
        let principal = match self.authorize(request, &path) {
            Ok(principal) => principal,
            Err(response) => return response.into(),
        };
        // Only the serial port takes raw bytes; everywhere else a value must be text.
        if let (Some((name, _)), false) = (request.binary_params.first(), path == "/comport.cgi") {
            return Response::error(
                Status::BadRequest,
                &format!("parameter {name} is not valid UTF-8"),
            )
            .into();
        }
        if let Some(resource) = Resource::from_path(&path) {
            return self.configure(request, resource);
        }
        if ONVIF_PATHS.contains(&path.as_str()) {
            return self.onvif(request, &principal);
        }
        match path.as_str() {
            "/image.jpg" => self.snapshot().into(),
            "/mjpeg.cgi" => self.stream(request, &principal).into(),
            alias if SNAPSHOT_ALIASES.contains(&alias) => self.snapshot().into(),
            alias if STREAM_ALIASES.contains(&alias) => self.stream(request, &principal).into(),
            "/iocontrol.cgi" if request.has_params() => {
                self.controls.set_io(&request.params).into()
            }
            "/iocontrol.cgi" => self.io_status(&principal).into(),
            "/eventlog.cgi" => self.controls.event_log(&request.params).into(),
            UPNP_DESCRIPTION_PATH => self.upnp_description(request).into(),
            "/pantiltcontrol.cgi" => self.pan_tilt(request),
            "/comport.cgi" => self
                .controls
                .com_port(&request.params, &request.binary_params)
                .into(),
            _ => page(request, &path).into(),
        }
    }

    fn tick(&mut self, now: Instant) {
        self.prune_viewers();
        self.onvif_tick(now);
        if let Some((notifier, watchdog)) = &mut self.watchdog {
            if let Err(err) = watchdog.tick(notifier, now) {
                log::warn!("watchdog ping failed: {err}");
            }
        }
    }
}
