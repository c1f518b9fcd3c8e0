//! The configuration thread: owns the state file and carries out what a change implies.
//!
//! Saving a change means fsyncs, and applying it may mean restarting the capture thread or
//! binding a socket; none of that may stall the HTTP event loop. So the loop defers every
//! chapter-3 request (and every preset change) to this thread, which answers it once the
//! new state is durable and then applies the [`Effects`] in order.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;
use ipcam_api::{
    ActiveViewer, ConfigService, Effects, ImageConfig, LedMode, PresetRecord, Resource,
    RuntimeInfo, State,
};
use ipcam_capture::Capture;
use ipcam_events::EventsHandle;
use ipcam_hal::Led;
use ipcam_httpd::{ListenerId, Responder, Response, ServerHandle, Status};
use ipcam_ptz::{Command, PresetSlot, PtzHandle};

use crate::camera::{image_settings, Pipeline};
use crate::presets;

/// Identity of the firmware, for `/isystem.cgi`.
pub(crate) const FIRMWARE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (ipcam)");

/// Work for the configuration thread.
pub(crate) enum Job {
    /// A chapter-3 request.
    Cgi {
        resource: Resource,
        params: Vec<(String, String)>,
        viewers: Vec<ActiveViewer>,
        latest_frame_size: Option<usize>,
        responder: Responder,
    },
    /// `/pantiltcontrol.cgi` changed the presets; answer 204 once they are saved.
    SavePresets {
        presets: Vec<PresetRecord>,
        responder: Responder,
    },
}

/// What the thread drives besides the state.
pub(crate) struct Plant {
    pub(crate) pipeline: Pipeline,
    pub(crate) capture: Capture,
    pub(crate) server: ServerHandle,
    pub(crate) main_addr: SocketAddr,
    pub(crate) led: Arc<dyn Led>,
    pub(crate) ptz: PtzHandle,
    pub(crate) events: EventsHandle,
    pub(crate) model: String,
}

struct Worker {
    service: ConfigService,
    plant: Plant,
    second_listener: Option<(u16, ListenerId)>,
}

/// Starts the thread on the jobs of `inbox`; it ends when every sender is gone.
pub(crate) fn spawn(
    service: ConfigService,
    plant: Plant,
    inbox: Receiver<Job>,
) -> std::io::Result<JoinHandle<()>> {
    let mut worker = Worker {
        service,
        plant,
        second_listener: None,
    };
    worker.apply_whole_state();
    std::thread::Builder::new()
        .name("config".into())
        .spawn(move || worker.run(inbox))
}

impl Worker {
    fn run(mut self, inbox: Receiver<Job>) {
        for job in inbox {
            match job {
                Job::Cgi {
                    resource,
                    params,
                    viewers,
                    latest_frame_size,
                    responder,
                } => {
                    let runtime = RuntimeInfo {
                        model: &self.plant.model,
                        firmware_version: FIRMWARE_VERSION,
                        http_port: self.plant.main_addr.port(),
                        viewers: &viewers,
                        latest_frame_size,
                    };
                    match self.service.handle(resource, &params, &runtime) {
                        Ok(reply) => {
                            responder.complete(cgi_response(reply.status, reply.body));
                            let changed = !params.is_empty();
                            self.apply(reply.effects);
                            if changed {
                                self.update_events();
                            }
                        }
                        Err(err) => {
                            let status = if err.status() == 400 {
                                Status::BadRequest
                            } else {
                                Status::InternalError
                            };
                            responder.complete(Response::error(status, &err.to_string()));
                        }
                    }
                }
                Job::SavePresets { presets, responder } => {
                    responder.complete(match self.service.save_presets(presets) {
                        Ok(()) => Response::no_content(),
                        Err(err) => {
                            log::error!("cannot save the presets: {err}");
                            Response::error(Status::InternalError, &err.to_string())
                        }
                    });
                }
            }
        }
    }

    /// Carries out a change, after its response has gone out.
    fn apply(&mut self, effects: Effects) {
        if let Some(password) = &effects.generated_admin_password {
            announce_admin_password(&self.service.state().system.admin_id, password);
        }
        if effects.factory_reset {
            log::info!("factory reset: restoring every setting");
            self.apply_whole_state();
            self.reset_presets();
            self.restart_pipeline();
            return;
        }
        if let Some(image) = &effects.image {
            self.apply_image(image);
        }
        if let Some(port) = effects.second_http_port {
            self.set_second_port(port);
        }
        if let Some(led) = effects.led {
            self.plant.led.set_mode(hal_led_mode(led));
        }
        if effects.reboot {
            self.restart_pipeline();
        }
    }

    /// Hands the FTP/e-mail workers the current settings, camera name and time zone; they
    /// ignore settings equal to the ones they have.
    fn update_events(&self) {
        if let Err(err) = self.plant.events.apply_state(self.service.state()) {
            log::error!("upload/e-mail settings are unusable: {err}");
        }
    }

    /// Makes the hardware match the whole state (start-up and factory reset).
    fn apply_whole_state(&mut self) {
        let state: State = self.service.state().clone();
        self.apply_image(&state.image);
        self.set_second_port(state.network.second_port());
        self.plant
            .led
            .set_mode(hal_led_mode(LedMode::from_code(state.system.led_control)));
    }

    fn apply_image(&self, image: &ImageConfig) {
        match image_settings(image) {
            Ok(settings) => self.plant.capture.apply(settings),
            Err(err) => log::error!("stored image settings are unusable: {err}"),
        }
    }

    fn set_second_port(&mut self, port: Option<u16>) {
        if self.second_listener.map(|(open, _)| open) == port {
            return;
        }
        if let Some((old, id)) = self.second_listener.take() {
            self.plant.server.remove_listener(id);
            log::info!("second HTTP port {old} closed");
        }
        let Some(port) = port else { return };
        let addr = SocketAddr::new(listen_ip(self.plant.main_addr), port);
        match TcpListener::bind(addr) {
            Ok(listener) => {
                let id = self.plant.server.add_listener(listener);
                self.second_listener = Some((port, id));
                log::info!("second HTTP port open on http://{addr}/");
            }
            Err(err) => log::error!("cannot open the second HTTP port {addr}: {err}"),
        }
    }

    fn reset_presets(&self) {
        let cleared = self.plant.ptz.presets().into_iter().filter_map(|preset| {
            PresetSlot::try_from(preset.position)
                .ok()
                .map(Command::ClearPreset)
        });
        let restored = presets::to_ptz(&self.service.state().presets)
            .into_iter()
            .filter_map(presets::set_command);
        for command in cleared.chain(restored) {
            if let Err(err) = self.plant.ptz.execute(command) {
                log::warn!("cannot restore the factory presets: {err}");
            }
        }
    }

    /// Stops and restarts the capture thread, as a camera reboot would; viewers stay
    /// connected and see frames again once the source is back.
    fn restart_pipeline(&mut self) {
        log::info!("restarting the camera pipeline");
        let settings = self.plant.capture.settings();
        match self.plant.pipeline.start(settings) {
            Ok(capture) => self.plant.capture = capture,
            Err(err) => log::error!("cannot restart the frame source: {err}"),
        }
    }
}

/// A CGI table or `/reset.cgi`'s 204.
fn cgi_response(status: u16, body: String) -> Response {
    if status == 204 {
        Response::no_content()
    } else {
        Response::html(body)
    }
}

/// The second port listens where the first does (all interfaces, or loopback in tests).
fn listen_ip(main: SocketAddr) -> IpAddr {
    main.ip()
}

fn hal_led_mode(mode: LedMode) -> ipcam_hal::LedMode {
    match mode {
        LedMode::Normal => ipcam_hal::LedMode::Normal,
        LedMode::Off => ipcam_hal::LedMode::Off,
        LedMode::Dummy => ipcam_hal::LedMode::Dummy,
    }
}

/// Prints a generated administrator password once, on stdout (not the log), so that it
/// reaches the person starting the camera but no log file.
pub(crate) fn announce_admin_password(admin: &str, password: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "ipcamd: administrator '{admin}' has the generated password: {password}"
    );
    let _ = out.flush();
}
