//! The camera-control CGIs of spec chapter 5: `/iocontrol.cgi`, `/pantiltcontrol.cgi` and
//! `/comport.cgi`.
//!
//! All three are quick (a GPIO write, a queued motor command, bytes queued for the serial port's
//! own thread), so they run on the event loop. Parameter names are matched ignoring
//! ASCII case, as the configuration CGIs match them. A bare `/pantiltcontrol.cgi` with no
//! parameters answers 204 without moving: home-automation drivers poll it as a "refresh",
//! and the web page uses it to learn whether the user may steer.

use std::sync::{Arc, PoisonError};

use ipcam_api::timezone::DATE_TIME_LEN;
use ipcam_api::CameraClock;
use ipcam_events::EventsHandle;
use ipcam_hal::{EnqueueError, SerialWriter};
use ipcam_httpd::{Response, Status};
use ipcam_ptz::cgi::{parse_pantilt, ParamError};
use ipcam_ptz::{Effect, PresetRecord, PtzError, PtzHandle};

use crate::alarm::{AlarmsHandle, TriggerOutputs};
use crate::camera::{IoBit, IoStatus};

/// The hardware the control CGIs drive.
pub(crate) struct Controls {
    pub(crate) triggers: TriggerOutputs,
    pub(crate) serial: SerialWriter,
    pub(crate) io: Arc<IoStatus>,
    pub(crate) ptz: PtzHandle,
    pub(crate) clock: CameraClock,
    pub(crate) events: EventsHandle,
    pub(crate) alarms: AlarmsHandle,
}

/// What a pan-tilt request needs next.
pub(crate) enum PanTiltOutcome {
    /// Answered.
    Done(Response),
    /// The presets changed: save them, then answer 204.
    SavePresets(Vec<PresetRecord>),
}

const IO_NAMES: [(&str, IoBit); 4] = [
    ("Trigger1", IoBit::Trigger1),
    ("Trigger2", IoBit::Trigger2),
    ("ImageUpload", IoBit::ImageUpload),
    ("ImageEmail", IoBit::ImageEmail),
];

impl Controls {
    /// `GET /iocontrol.cgi` (5.1.1): the spec's single `&`-joined line, then the
    /// extension fields `Motion`, `Input1`, `Input2` (after `CurrentTime`, so a client
    /// that splits the line on `&` finds the spec's fields unchanged).
    pub(crate) fn io_status(&self) -> Response {
        let mut line = String::with_capacity(96);
        for (name, bit) in IO_NAMES {
            line += &format!("{name}={}&", u8::from(self.io.get(bit)));
        }
        let mut now = [0u8; DATE_TIME_LEN];
        line += "CurrentTime=";
        line += self.clock.format_now(&mut now);
        line += &self.alarms.status_fields();
        line += "\r\n";
        Response::html(line)
    }

    /// Sets triggers and the manual upload/e-mail switches (5.1.2–5.1.4), all or nothing.
    /// A request with nothing but cache-busters is a status read.
    pub(crate) fn set_io(&mut self, params: &[(String, String)]) -> Response {
        let mut changes = Vec::with_capacity(params.len());
        let settings = params.iter().filter(|(name, _)| !is_cache_buster(name));
        if settings.clone().next().is_none() {
            return self.io_status();
        }
        for (name, value) in settings {
            let Some((_, bit)) = IO_NAMES
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(name.trim()))
            else {
                return bad_request(&format!("unknown parameter {name} for /iocontrol.cgi"));
            };
            let on = match value.trim() {
                "0" => false,
                "1" => true,
                _ => return bad_request(&format!("{name} must be 0 or 1")),
            };
            // A name sent twice takes its last value, as on the configuration CGIs: applying
            // both would pulse a trigger output (`Trigger1=1&Trigger1=0`) for one request.
            changes.retain(|(earlier, _): &(IoBit, bool)| *earlier as u8 != *bit as u8);
            changes.push((*bit, on));
        }
        for (bit, on) in changes {
            if let Err(response) = self.apply_io(bit, on) {
                return response;
            }
        }
        Response::no_content()
    }

    fn apply_io(&mut self, bit: IoBit, on: bool) -> Result<(), Response> {
        let output = match bit {
            IoBit::Trigger1 => Some(0),
            IoBit::Trigger2 => Some(1),
            IoBit::ImageUpload => {
                self.events.set_manual_upload(on);
                None
            }
            IoBit::ImageEmail => {
                self.events.set_manual_email(on);
                None
            }
        };
        if let Some(output) = output {
            let mut triggers = self.triggers.lock().unwrap_or_else(PoisonError::into_inner);
            triggers[output].set(on).map_err(|err| {
                log::error!("cannot drive {bit:?}: {err}");
                Response::error(Status::InternalError, "cannot drive the output")
            })?;
        }
        self.io.set(bit, on);
        Ok(())
    }

    /// `/eventlog.cgi` (extension): the newest events, newest first. It takes no
    /// parameters but the cache-busters of browser dashboards.
    pub(crate) fn event_log(&self, params: &[(String, String)]) -> Response {
        match params.iter().find(|(name, _)| !is_cache_buster(name)) {
            Some((name, _)) => bad_request(&format!("{name}: unknown parameter of /eventlog.cgi")),
            None => Response::html(self.alarms.log_body()),
        }
    }

    /// `/pantiltcontrol.cgi` (5.1.5–5.1.10).
    pub(crate) fn pan_tilt(&self, params: &[(String, String)]) -> PanTiltOutcome {
        let command = match parse_pantilt(params) {
            Ok(command) => command,
            Err(ParamError::NoOperation) => return PanTiltOutcome::Done(Response::no_content()),
            Err(err) => return PanTiltOutcome::Done(bad_request(&err.to_string())),
        };
        match self.ptz.execute(command) {
            Ok(Effect::Motion) => PanTiltOutcome::Done(Response::no_content()),
            Ok(Effect::PresetsChanged) => PanTiltOutcome::SavePresets(self.ptz.presets()),
            Err(err @ (PtzError::PresetNotSet(_) | PtzError::NoPresets | PtzError::Preset(_))) => {
                PanTiltOutcome::Done(bad_request(&err.to_string()))
            }
            Err(err) => {
                log::error!("pan-tilt command failed: {err}");
                PanTiltOutcome::Done(Response::error(Status::InternalError, &err.to_string()))
            }
        }
    }

    /// `/comport.cgi` (5.1.11): `ComOut=<data>&ComSend=Yes` queues the data for the port and
    /// answers without waiting for the line: 204 once queued, 400 beyond
    /// [`ipcam_hal::serial::MAX_REQUEST_BYTES`], 503 while the queue is full. Write failures
    /// happen later, on the port's thread, which logs them.
    /// The data may be any bytes, percent-encoded (`%FF%01` for a Pelco-D frame), so it is
    /// taken from the binary parameters when it is not UTF-8.
    pub(crate) fn com_port(
        &self,
        params: &[(String, String)],
        binary: &[(String, Vec<u8>)],
    ) -> Response {
        let mut data = None;
        let mut send = false;
        let text = params.iter().map(|(n, v)| (n, v.as_bytes()));
        let bytes = binary.iter().map(|(n, v)| (n, v.as_slice()));
        for (name, value) in text.chain(bytes) {
            match name.trim() {
                n if n.eq_ignore_ascii_case("ComOut") => data = Some(value),
                n if n.eq_ignore_ascii_case("ComSend") => {
                    if !value.trim_ascii().eq_ignore_ascii_case(b"yes") {
                        return bad_request("ComSend must be Yes");
                    }
                    send = true;
                }
                _ => return bad_request(&format!("unknown parameter {name} for /comport.cgi")),
            }
        }
        let (Some(data), true) = (data, send) else {
            return bad_request("ComOut and ComSend=Yes are required");
        };
        match self.serial.try_send(data) {
            Ok(()) => Response::no_content(),
            Err(err @ EnqueueError::TooLong { .. }) => bad_request(&format!("ComOut: {err}")),
            Err(err @ EnqueueError::QueueFull) => {
                Response::error(Status::ServiceUnavailable, &err.to_string())
            }
            Err(err @ EnqueueError::Stopped) => {
                log::error!("{err}");
                Response::error(Status::InternalError, "cannot write to the serial port")
            }
        }
    }
}

/// jQuery's `_=<timestamp>` and JSONP's `callback`, added by browser dashboards that poll
/// `/iocontrol.cgi`; they carry no setting.
fn is_cache_buster(name: &str) -> bool {
    matches!(name.trim(), "_" | "callback")
}

fn bad_request(reason: &str) -> Response {
    Response::error(Status::BadRequest, reason)
}
