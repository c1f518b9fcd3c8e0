//! The ipcam daemon as a library: everything `main` does except reading the command line
//! and the process environment.
//!
//! [`Daemon::start`] takes listeners that are already bound — by `main`, by systemd's socket
//! activation, or by a test on port 0 — and returns once the camera is serving. Tests run it
//! in-process and drive it over real TCP.
//!
//! Threads: the HTTP event loop (every socket), the capture thread (frames), the
//! configuration thread (state file and what changes imply), the pan-tilt controller
//! (motors), the RTSP event loop, the FTP and e-mail workers, the DDNS updater, the alarm
//! thread (events) with the motion detector's, the LED blinker and WS-Discovery. They
//! share only atomics, the frame broadcast and channels.

mod alarm;
mod camera;
mod client;
pub mod config;
mod config_worker;
mod control;
pub mod ddns;
mod logins;
pub mod onvif;
mod presets;
mod routes;
mod rtsp;
pub mod systemd;
pub mod upnp;
mod web;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ipcam_api::{ConfigService, InitialAdmin, LoadSource, Platform};
use ipcam_events::{Events, SystemClock};
use ipcam_hal::{Gpio, Hal, Led, Serial};
use ipcam_httpd::{Broadcast, Server, ServerHandle};
use ipcam_platform::{LinuxPlatform, SimPlatform};
use ipcam_ptz::Ptz;

use crate::alarm::{AlarmParts, Alarms, TriggerOutputs};
use crate::camera::{image_settings, IoStatus, MjpegPart, PartStamp, Pipeline};
use crate::client::TrustedProxies;
use crate::config::{Config, PlatformBackend};
use crate::config_worker::{announce_admin_password, Plant};
use crate::control::Controls;
use crate::routes::{AccessEpoch, Routes};
use crate::systemd::{Notifier, Watchdog};

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// No listener to serve on.
    #[error("no listening socket: configure server.listen or pass --listen")]
    NoListener,
    /// A socket or thread operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The state directory or the admin password cannot be used.
    #[error("state: {0}")]
    State(#[from] ipcam_api::OpenError),
    /// `capture.source` does not parse.
    #[error("capture.source: {0}")]
    SourceSpec(#[from] ipcam_capture::SpecError),
    /// The stored image settings cannot be applied.
    #[error("image settings: {0}")]
    ImageSettings(#[from] ipcam_capture::SettingsError),
    /// The frame source cannot be opened.
    #[error("frame source: {0}")]
    Capture(#[from] ipcam_capture::CaptureError),
    /// GPIO, LED or serial port cannot be opened.
    #[error("hardware: {0}")]
    Hal(#[from] ipcam_hal::HalError),
    /// The pan-tilt motors cannot be driven.
    #[error("pan-tilt driver: {0}")]
    Drive(#[from] ipcam_ptz::DriveError),
    /// The FTP and e-mail workers cannot start.
    #[error("events: {0}")]
    Events(#[from] ipcam_events::EventsError),
    /// The dynamic DNS updater cannot start.
    #[error("ddns: {0}")]
    Ddns(#[from] ipcam_ddns::DdnsError),
    /// The pan-tilt controller cannot start.
    #[error("pan-tilt: {0}")]
    Ptz(#[from] ipcam_ptz::PtzError),
    /// A daemon thread panicked.
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

/// What `main` hands over besides the configuration.
#[derive(Debug, Default)]
pub struct StartOptions {
    /// The service manager's notifier and the watchdog interval it asked for, if any.
    pub watchdog: Option<(Arc<Notifier>, Watchdog)>,
    /// The administrator password for a first start (empty state); `None` draws a random
    /// one and writes it to `initial-admin-password` in the state directory.
    pub admin_password: Option<String>,
    /// The RTSP listener systemd passed (the socket named `rtsp`); `None` binds
    /// `rtsp.port` on the host of the first HTTP listener.
    pub rtsp_listener: Option<TcpListener>,
}

/// A running camera.
pub struct Daemon {
    server: ServerHandle,
    server_thread: JoinHandle<io::Result<()>>,
    config_thread: JoinHandle<()>,
    local_addrs: Vec<SocketAddr>,
    rtsp: Option<rtsp::RtspService>,
    gpio: Gpio,
    serial_probe: Option<ipcam_hal::backend::sim::SimSerial>,
    _ptz: Ptz,
    _events: Events,
    _ddns: ipcam_ddns::Ddns,
    discovery: Option<ipcam_onvif::Discovery>,
    _alarms: Alarms,
}

impl Daemon {
    /// Starts serving on `listeners` with `config`.
    pub fn start(
        config: &Config,
        listeners: Vec<TcpListener>,
        options: StartOptions,
    ) -> Result<Daemon, DaemonError> {
        let local_addrs = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<io::Result<Vec<_>>>()
            .map_err(io_error("cannot read a listener's address"))?;
        let main_addr = *local_addrs.first().ok_or(DaemonError::NoListener)?;

        let service = open_state(config, options.admin_password)?;
        let state = service.state().clone();

        let hal = Hal::from_config(&config.hal)?;
        let driver = config.ptz.motors.build(&hal.gpio, config.ptz.home)?;
        let ptz = Ptz::spawn(&config.ptz, driver, &presets::to_ptz(&state.presets))?;
        let led: Arc<dyn Led> = Arc::from(hal.led);
        let serial_probe = match &hal.serial {
            Serial::Sim(port) => Some(port.clone()),
            _ => None,
        };

        let io = Arc::new(IoStatus::default());
        let frames: Broadcast<MjpegPart> = Broadcast::new();
        let events = {
            let frames = frames.clone();
            let newest = move || frames.newest().map(|part| part.0);
            Events::spawn(newest, SystemClock::camera(service.clock()))?
        };
        if let Err(err) = events.handle().apply_state(&state) {
            log::error!("some stored upload/e-mail settings are unusable: {err}");
        }
        // Handed its settings by the configuration thread, at start and on every change.
        let ddns = ddns::spawn(config, service.shared())?;
        let (tap, tapped) = alarm::frame_tap();
        let pipeline = Pipeline {
            source: config.capture.source.parse()?,
            auto_fps: config.capture.auto_fps,
            // RTSP viewers pin frames too (see rtsp_frame_pins), and so do event bursts.
            max_slots: camera::frame_pool_cap(config.server.max_connections)
                + config.events.pinned_frames()
                + rtsp_frame_pins(&config.rtsp),
            stamp: PartStamp {
                clock: service.clock(),
                io: Arc::clone(&io),
                position: ptz.handle().reader(),
                events: events.handle(),
            },
            frames: frames.clone(),
            tap,
        };
        let triggers: TriggerOutputs = Arc::new(Mutex::new(hal.trigger_outputs));
        let alarms = {
            let position = ptz.handle().reader();
            let parts = AlarmParts {
                config: config.events.clone(),
                inputs: hal.trigger_inputs,
                outputs: Arc::clone(&triggers),
                io: Arc::clone(&io),
                events: events.handle(),
                clock: service.clock(),
                head_moving: Box::new(move || position.is_moving()),
            };
            Alarms::spawn(parts, tapped).map_err(io_error("cannot spawn the alarm thread"))?
        };
        alarms.handle().configure(&state.motion);
        let capture = pipeline.start(image_settings(&state.image)?)?;
        await_first_frame(&frames, &config.capture.source);

        let access = AccessEpoch::default();
        let (jobs, job_inbox) = crossbeam_channel::bounded(64);
        let controls = Controls {
            triggers,
            serial: ipcam_hal::SerialWriter::spawn(hal.serial)
                .map_err(ipcam_hal::HalError::Thread)?,
            io,
            ptz: ptz.handle(),
            clock: service.clock(),
            events: events.handle(),
            alarms: alarms.handle(),
        };
        // Failed logins count against one limit per address, over HTTP and RTSP alike.
        let logins = logins::SharedLimiter::default();
        let rtsp = start_rtsp(
            config,
            options.rtsp_listener,
            main_addr,
            &frames,
            &service,
            &access,
            &logins,
        )?;
        let identity = onvif::Identity {
            model: config.platform.model.clone(),
            firmware: config_worker::FIRMWARE_VERSION.to_owned(),
            mac: interface_mac(config),
            interface: config.platform.interface.clone(),
            auto_fps: config.capture.auto_fps,
        };
        // GetStreamUri names rtsp://HOST:PORT/ while RTSP is served, else the MJPEG stream.
        let rtsp_port = rtsp.as_ref().map(|server| server.addr.port());
        let onvif_endpoint = config
            .onvif
            .enabled
            .then(|| onvif::Endpoint::new(identity.clone(), main_addr, rtsp_port));
        let mut routes = Routes::new(
            service.shared(),
            config.server.realm.clone(),
            frames,
            jobs,
            controls,
            Arc::clone(&led),
            options.watchdog,
            access.clone(),
            onvif_endpoint,
        );
        routes.proxies = TrustedProxies::new(&config.server.trusted_proxies);
        routes.rtsp_addr = rtsp.as_ref().map(|r| r.addr);
        routes.discovery = config.onvif.enabled && config.onvif.discovery;
        routes.limiter = logins;
        let upnp_uuid = upnp::camera_uuid(identity.mac, main_addr.port(), &config.state_dir);
        routes.upnp = Some(upnp::Identity {
            uuid: upnp_uuid.clone(),
            model: config.platform.model.clone(),
            fallback_authority: main_addr.to_string(),
        });
        let (server, handle) = Server::new(config.server.limits(), routes)
            .map_err(io_error("cannot create the HTTP event loop"))?;
        let plant = Plant {
            pipeline,
            capture,
            server: handle.clone(),
            main_addr,
            led,
            ptz: ptz.handle(),
            events: events.handle(),
            alarms: alarms.handle(),
            ddns: ddns.handle(),
            model: config.platform.model.clone(),
            access,
            state_dir: config.state_dir.clone(),
            upnp: upnp::Upnp::new(config.upnp.clone(), main_addr, upnp_uuid),
        };
        let shared_state = service.shared();
        let config_thread = config_worker::spawn(service, plant, job_inbox)
            .map_err(io_error("cannot spawn the configuration thread"))?;
        for listener in listeners {
            handle.add_listener(listener);
        }
        let server_thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || server.run())
            .map_err(io_error("cannot spawn the HTTP thread"))?;
        let discovery = (config.onvif.enabled && config.onvif.discovery)
            .then(|| start_discovery(config, &identity, main_addr, shared_state))
            .flatten();
        Ok(Daemon {
            server: handle,
            server_thread,
            config_thread,
            local_addrs,
            rtsp,
            gpio: hal.gpio,
            serial_probe,
            _ptz: ptz,
            _events: events,
            _ddns: ddns,
            discovery,
            _alarms: alarms,
        })
    }

    /// The WS-Discovery socket's address, when discovery runs (its port, with port 0).
    pub fn discovery_addr(&self) -> Option<SocketAddr> {
        self.discovery
            .as_ref()
            .map(ipcam_onvif::Discovery::local_addr)
    }

    /// Whether WS-Discovery joined its multicast group (else it answers unicast only).
    pub fn discovery_multicast(&self) -> bool {
        self.discovery
            .as_ref()
            .is_some_and(ipcam_onvif::Discovery::multicast)
    }

    /// The addresses the daemon listens on (useful with port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// The RTSP server's address (`rtsp://ADDR/`), if RTSP serves.
    pub fn rtsp_addr(&self) -> Option<SocketAddr> {
        self.rtsp.as_ref().map(|r| r.addr)
    }

    /// The GPIO backend; with the sim backend, tests probe the trigger lines through it.
    pub fn gpio(&self) -> &Gpio {
        &self.gpio
    }

    /// What `/comport.cgi` wrote, when the serial backend is the sim.
    pub fn sim_serial(&self) -> Option<&ipcam_hal::backend::sim::SimSerial> {
        self.serial_probe.as_ref()
    }

    /// Asks the daemon to stop: no new connections, responses in flight finish, streams end.
    pub fn shutdown(&self) {
        self.server.shutdown();
        if let Some(rtsp) = &self.rtsp {
            rtsp.shutdown();
        }
    }

    /// Waits until the daemon has stopped.
    pub fn join(self) -> Result<(), DaemonError> {
        // Says Bye to the network first: the camera is going away.
        drop(self.discovery);
        let served = self
            .server_thread
            .join()
            .map_err(|_| DaemonError::Panicked("http"))?;
        if let Some(rtsp) = self.rtsp {
            if !rtsp.join() {
                return Err(DaemonError::Panicked("rtsp"));
            }
        }
        // The event loop owned the job sender: with it gone, the configuration thread ends.
        self.config_thread
            .join()
            .map_err(|_| DaemonError::Panicked("config"))?;
        served.map_err(io_error("the HTTP event loop failed"))
    }
}

/// Frames the RTSP server may pin at once: one per session, the newest, and the one it
/// replaced, which lets go of its frame when the next one arrives.
fn rtsp_frame_pins(config: &config::RtspConfig) -> usize {
    if config.enabled {
        config.max_sessions + 2
    } else {
        0
    }
}

/// Starts the RTSP server if it is enabled and its port can be had.
fn start_rtsp(
    config: &Config,
    passed: Option<TcpListener>,
    main_addr: SocketAddr,
    frames: &Broadcast<MjpegPart>,
    service: &ConfigService,
    access: &AccessEpoch,
    logins: &logins::SharedLimiter,
) -> Result<Option<rtsp::RtspService>, DaemonError> {
    if !config.rtsp.enabled {
        return Ok(None);
    }
    let Some(listener) = rtsp::listener(passed, main_addr, config.rtsp.port) else {
        return Ok(None);
    };
    let gate = rtsp::CameraGate {
        state: service.shared(),
        epoch: access.clone(),
        limiter: logins.clone(),
    };
    let limits = config.rtsp.limits(&config.server);
    rtsp::RtspService::start(listener, frames, gate, limits)
        .map(Some)
        .map_err(io_error("cannot start the RTSP server"))
}

/// How long start-up waits for the first frame before listening anyway. A V4L2 camera may
/// need a second to settle its exposure; past this the source is likely broken, and the
/// daemon still serves configuration while the capture thread keeps retrying.
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(5);

/// Waits until the source's first frame is published, so that a client connecting as soon
/// as the daemon listens (or systemd reports it ready) gets a snapshot rather than a 503.
fn await_first_frame(frames: &Broadcast<MjpegPart>, source: &str) {
    if frames.wait_newest(FIRST_FRAME_WAIT).is_none() {
        log::warn!(
            "no frame from {source} within {FIRST_FRAME_WAIT:?}; listening anyway, \
             snapshots answer 503 until the first frame"
        );
    }
}

/// The MAC of the camera's interface, for ONVIF's serial number and the discovery
/// endpoint (all zeros, with a warning, when the interface cannot be read).
fn interface_mac(config: &Config) -> [u8; 6] {
    platform(config)
        .ethernet()
        .map(|info| info.mac)
        .unwrap_or_else(|err| {
            log::warn!("no MAC for ONVIF and WS-Discovery: {err}");
            [0; 6]
        })
}

/// Starts WS-Discovery; a camera that cannot announce itself still serves, so a failure
/// is logged, not fatal.
fn start_discovery(
    config: &Config,
    identity: &onvif::Identity,
    main_addr: SocketAddr,
    state: ipcam_api::SharedState,
) -> Option<ipcam_onvif::Discovery> {
    let model = identity.model.clone();
    let discovery = ipcam_onvif::Discovery::spawn(ipcam_onvif::DiscoveryConfig {
        port: config.onvif.discovery_port,
        mac: identity.mac,
        http: main_addr,
        scopes: Box::new(move || onvif::scopes(&state, &model)),
    });
    discovery
        .map_err(|err| log::error!("WS-Discovery not started: {err}"))
        .ok()
}

fn io_error(context: &'static str) -> impl Fn(io::Error) -> DaemonError {
    move |source| DaemonError::Io { context, source }
}

/// The configured platform backend; the Linux one reaches systemd's services on
/// `[platform] system_bus` (the system bus by default), connecting on first use.
fn platform(config: &Config) -> Box<dyn Platform> {
    let settings = &config.platform;
    match settings.backend {
        PlatformBackend::Sim => Box::new(SimPlatform::new()),
        PlatformBackend::Linux => {
            let mut linux = LinuxPlatform::new(
                settings.interface.clone(),
                settings.wireless_interface.clone(),
            )
            .with_bus_address(settings.system_bus.clone());
            linux.config_dir = settings.config_dir.clone();
            Box::new(linux)
        }
    }
}

/// Loads the state (saying in the log where it came from) and announces a generated
/// administrator password once.
fn open_state(
    config: &Config,
    admin_password: Option<String>,
) -> Result<ConfigService, DaemonError> {
    let platform = platform(config);
    let initial_admin = admin_password.map_or(InitialAdmin::Random, InitialAdmin::Password);
    let (service, report) = ConfigService::open(&config.state_dir, platform, initial_admin)?;
    match &report.source {
        LoadSource::Backup(why) | LoadSource::Lost(why) => {
            log::warn!("state in {}: {why}", config.state_dir.display())
        }
        LoadSource::Empty => log::info!(
            "no state in {} yet: starting from factory settings",
            config.state_dir.display()
        ),
        _ => log::info!("state loaded from {}", config.state_dir.display()),
    }
    if let Some(password) = &report.generated_admin_password {
        announce_admin_password(
            &config.state_dir,
            &service.state().system.admin_id,
            password,
        );
    }
    Ok(service)
}
