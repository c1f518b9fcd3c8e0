//! Event handling of the camera (IPCamCGI 1.2, 3.5 and 5.1.3/5.1.4): snapshots from the
//! capture ring to an FTP server and by e-mail, on schedule or while the manual switches
//! `ImageUpload`/`ImageEmail` of `/iocontrol.cgi` are on.
//!
//! Two worker threads, one per channel, so that a slow mail server never delays uploads
//! and neither ever touches the HTTP event loop or the capture thread. The daemon talks
//! to them through an [`EventsHandle`]: settings and switches go in over channels (never
//! blocking), and whether a channel is active comes out as an atomic read, cheap enough
//! for every MJPEG part header.
//!
//! ```no_run
//! use ipcam_events::{Events, SystemClock};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let capture: ipcam_capture::Capture = todo!();
//! # let state = ipcam_api::State::default();
//! let events = Events::spawn(capture.reader(), SystemClock::new())?;
//! let handle = events.handle();
//! handle.apply_state(&state)?; // after every change of /upload.cgi, /email.cgi, time zone, camera name
//! handle.set_manual_upload(true); // POST /iocontrol.cgi ImageUpload=1
//! let image_upload_bit = handle.upload_active(); // per MJPEG part header
//! # Ok(()) }
//! ```
//!
//! # Decisions (for the README)
//!
//! - **Manual switches** act only when the matching `FTPManualEnable`/`EmailManualEnable`
//!   is 1; the switch itself is remembered either way. While on, they take precedence
//!   over the schedule (manual file names, manual e-mail interval). Manual uploads use
//!   the schedule's frequency settings: the spec gives them none of their own.
//! - **Active** (the I/O bits of the stream header) means "in an active period":
//!   switched on or inside the schedule, and configured, including while retrying after
//!   a failure.
//! - **File names** (see [`naming`]): `<base>.jpg`; `<base>YYYYMMDD_HHMMSS.jpg` with
//!   `_1`, `_2`... for more files in one second; `<base>0001.jpg`... wrapping after the
//!   maximum. Times are the camera's local time.
//! - **Frequency `Auto`**: each new frame as soon as the previous upload finished.
//! - **Schedules** use the camera's time zone; a window whose stop is before its start
//!   runs past midnight and belongs to the day it starts on.
//! - **Events** ([`EventsHandle::fire`]: motion, alarm inputs) deliver their own frames
//!   whatever the schedule and switches say, as long as the channel has a server: FTP
//!   uploads each frame as soon as it is there, named like manual uploads; e-mail waits for
//!   the post-event frames and sends one message with all of them attached. A failed event
//!   is retried after the back-off and given up after three attempts; a newer event
//!   replaces one still pending.
//! - **E-mail**: port 465 is TLS from the start, any other port STARTTLS when offered;
//!   an empty sender is replaced by the (first) receiver; several receivers may be given
//!   separated by `,` or `;`.

mod clock;
mod email;
mod error;
mod frames;
mod ftp;
mod jobs;
pub mod naming;
mod settings;
mod worker;

/// Entry points for the fuzz targets (feature `fuzzing`); not a stable API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod harness {
    use crate::ftp::reply::{extended_passive_port, passive_port, read_reply};
    pub use crate::ftp::reply::{MAX_LINE, MAX_REPLY_LINES};

    /// One FTP reply as the control connection reads it, with what the client makes of it.
    #[derive(Debug)]
    pub struct ReadReply {
        /// The reply code.
        pub code: u16,
        /// Its lines' text.
        pub lines: Vec<String>,
        /// The reply as an error message or log line shows it.
        pub shown: String,
        /// The data port it names, read as a `227` reply to `PASV`.
        pub passive_port: Option<u16>,
        /// The data port it names, read as a `229` reply to `EPSV`.
        pub extended_passive_port: Option<u16>,
    }

    /// Reads the next reply off `input`, as the control connection reads the server's.
    pub fn next_reply(input: &mut &[u8]) -> Result<ReadReply, String> {
        let reply = read_reply(input).map_err(|err| err.to_string())?;
        Ok(ReadReply {
            code: reply.code,
            shown: reply.to_string(),
            passive_port: passive_port(&reply),
            extended_passive_port: extended_passive_port(&reply),
            lines: reply.lines,
        })
    }
}

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use ipcam_api::{CameraTimeZone, State};

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{DeliveryError, EventsError, FailureKind};
pub use frames::FrameProvider;
pub use settings::{
    EmailSettings, FileMode, FileNaming, Frequency, FtpServer, Schedule, Secret, SettingsError,
    SmtpLogin, UnusableSettings, UploadSettings, Window,
};
pub use worker::{ChannelStats, EventBurst, BACKOFF_MAX};

use jobs::{EmailJob, UploadJob};
use worker::{ChannelStatus, Command, Job, Worker};

/// How long dropping [`Events`] waits for a delivery in progress before leaving the
/// thread to finish on its own.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// The running events workers; stops them on drop.
pub struct Events {
    handle: EventsHandle,
    threads: Vec<WorkerThread>,
}

struct WorkerThread {
    name: &'static str,
    thread: JoinHandle<()>,
    finished: Receiver<()>,
}

/// The daemon's side of the workers: cheap to clone, usable from any thread, never
/// blocking.
#[derive(Clone)]
pub struct EventsHandle {
    shared: Arc<Shared>,
}

struct Shared {
    upload: Sender<Command<UploadSettings>>,
    email: Sender<Command<EmailSettings>>,
    upload_status: Arc<ChannelStatus>,
    email_status: Arc<ChannelStatus>,
    manual_upload: AtomicBool,
    manual_email: AtomicBool,
}

impl Shared {
    /// The state shared with workers fed through `upload` and `email`: nothing sent yet,
    /// both manual switches off.
    fn new(upload: Sender<Command<UploadSettings>>, email: Sender<Command<EmailSettings>>) -> Self {
        Shared {
            upload,
            email,
            upload_status: Arc::default(),
            email_status: Arc::default(),
            manual_upload: AtomicBool::new(false),
            manual_email: AtomicBool::new(false),
        }
    }
}

impl Events {
    /// Starts the FTP and e-mail workers, idle until the first settings arrive
    /// ([`EventsHandle::update`] or [`EventsHandle::apply_state`]).
    pub fn spawn(frames: impl FrameProvider, clock: impl Clock) -> Result<Events, EventsError> {
        let frames: Arc<dyn FrameProvider> = Arc::new(frames);
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let (upload, upload_commands) = crossbeam_channel::unbounded();
        let (email, email_commands) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared::new(upload, email));
        let upload_worker = Worker::new(
            UploadJob::new(UploadSettings::default()),
            Arc::clone(&frames),
            Arc::clone(&clock),
            upload_commands,
            Arc::clone(&shared.upload_status),
        );
        let email_worker = Worker::new(
            EmailJob::new(EmailSettings::default()),
            frames,
            clock,
            email_commands,
            Arc::clone(&shared.email_status),
        );
        let handle = EventsHandle { shared };
        let mut events = Events {
            handle,
            threads: Vec::with_capacity(2),
        };
        events.threads.push(start("ipcam-ftp", upload_worker)?);
        events.threads.push(start("ipcam-email", email_worker)?);
        Ok(events)
    }

    /// A handle for other threads.
    pub fn handle(&self) -> EventsHandle {
        self.handle.clone()
    }
}

fn start<J: Job>(name: &'static str, worker: Worker<J>) -> Result<WorkerThread, EventsError> {
    let (done, finished) = crossbeam_channel::bounded::<()>(0);
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            worker.run();
            drop(done);
        })
        .map_err(|e| EventsError::Spawn(name, e))?;
    Ok(WorkerThread {
        name,
        thread,
        finished,
    })
}

impl std::ops::Deref for Events {
    type Target = EventsHandle;

    fn deref(&self) -> &EventsHandle {
        &self.handle
    }
}

impl Drop for Events {
    /// Stops both workers: each finishes the delivery in progress. One still busy after
    /// two seconds (a server not answering) is left to end by its own timeouts.
    fn drop(&mut self) {
        let _ = self.handle.shared.upload.send(Command::Stop);
        let _ = self.handle.shared.email.send(Command::Stop);
        for worker in self.threads.drain(..) {
            match worker.finished.recv_timeout(STOP_GRACE) {
                Err(RecvTimeoutError::Timeout) => {
                    log::warn!("{} is still delivering; not waiting for it", worker.name);
                }
                _ => {
                    if worker.thread.join().is_err() {
                        log::error!("{} thread panicked", worker.name);
                    }
                }
            }
        }
    }
}

impl EventsHandle {
    /// Pushes the current settings and the camera's time zone; call at start and after
    /// every change. Settings equal to the current ones change nothing; new ones end a
    /// failure episode and start over (a channel that is active sends at once).
    pub fn update(&self, upload: UploadSettings, email: EmailSettings, zone: CameraTimeZone) {
        // A send fails only when the worker has stopped, which only dropping Events does.
        let _ = self.shared.upload.send(Command::Configure(upload, zone));
        let _ = self.shared.email.send(Command::Configure(email, zone));
    }

    /// [`EventsHandle::update`] from the whole configuration: `/upload.cgi`,
    /// `/email.cgi`, the camera name of `/system.cgi` and the zone of `/datetime.cgi`.
    ///
    /// The two channels are configured independently: a table that cannot be used
    /// (a state file from a build with looser rules) switches its own channel off, with
    /// factory settings, and is reported in the error; the other channel and the time
    /// zone still take effect. Off rather than left on the previous settings, so that a
    /// channel never sends with values the table no longer shows.
    pub fn apply_state(&self, state: &State) -> Result<(), UnusableSettings> {
        let upload = UploadSettings::try_from(&state.upload);
        let email = EmailSettings::from_config(&state.email, &state.system.camera_name);
        let unusable = UnusableSettings {
            upload: upload.as_ref().err().cloned(),
            email: email.as_ref().err().cloned(),
        };
        let zone =
            CameraTimeZone::from_setting(state.datetime.time_zone_index, state.datetime.time_zone);
        self.update(upload.unwrap_or_default(), email.unwrap_or_default(), zone);
        match unusable {
            UnusableSettings {
                upload: None,
                email: None,
            } => Ok(()),
            unusable => Err(unusable),
        }
    }

    /// `ImageUpload` of `/iocontrol.cgi`.
    pub fn set_manual_upload(&self, on: bool) {
        self.shared.manual_upload.store(on, Ordering::Relaxed);
        let _ = self.shared.upload.send(Command::Manual(on));
    }

    /// `ImageEmail` of `/iocontrol.cgi`.
    pub fn set_manual_email(&self, on: bool) {
        self.shared.manual_email.store(on, Ordering::Relaxed);
        let _ = self.shared.email.send(Command::Manual(on));
    }

    /// Delivers the frames of an event by FTP (`upload`) and/or e-mail (`email`), each
    /// when its server is configured; a channel busy with a schedule delivery takes the
    /// event right after it. Never blocks.
    pub fn fire(&self, burst: EventBurst, upload: bool, email: bool) {
        let burst = Arc::new(burst);
        if upload {
            let _ = self.shared.upload.send(Command::Event(Arc::clone(&burst)));
        }
        if email {
            let _ = self.shared.email.send(Command::Event(burst));
        }
    }

    /// The `ImageUpload` switch as last set.
    pub fn manual_upload(&self) -> bool {
        self.shared.manual_upload.load(Ordering::Relaxed)
    }

    /// The `ImageEmail` switch as last set.
    pub fn manual_email(&self) -> bool {
        self.shared.manual_email.load(Ordering::Relaxed)
    }

    /// Whether FTP upload is in an active period (the stream header's Image Upload bit).
    pub fn upload_active(&self) -> bool {
        self.shared.upload_status.is_active()
    }

    /// Whether e-mail is in an active period (the stream header's Image Email bit).
    pub fn email_active(&self) -> bool {
        self.shared.email_status.is_active()
    }

    /// Counters and last failure of FTP upload.
    pub fn upload_stats(&self) -> ChannelStats {
        self.shared.upload_status.stats()
    }

    /// Counters and last failure of e-mail.
    pub fn email_stats(&self) -> ChannelStats {
        self.shared.email_status.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handle whose workers are the test: it reads what `apply_state` sends them.
    fn handle() -> (
        EventsHandle,
        Receiver<Command<UploadSettings>>,
        Receiver<Command<EmailSettings>>,
    ) {
        let (upload, upload_commands) = crossbeam_channel::unbounded();
        let (email, email_commands) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared::new(upload, email));
        (EventsHandle { shared }, upload_commands, email_commands)
    }

    fn configured<S>(commands: &Receiver<Command<S>>) -> (S, CameraTimeZone) {
        match commands.try_recv() {
            Ok(Command::Configure(settings, zone)) => (settings, zone),
            _ => panic!("the worker was not configured"),
        }
    }

    /// A state with FTP upload and e-mail switched on, in zone 32 (UTC+1 with DST).
    fn state() -> State {
        let mut state = State::factory("pw");
        state.upload.host = "ftp.example.com".into();
        state.upload.schedule_enable = 1;
        state.email.smtp_server = "smtp.example.com".into();
        state.email.receiver = "me@example.com".into();
        state.email.manual_enable = 1;
        state.datetime.time_zone_index = 32;
        state.datetime.time_zone = 1;
        state
    }

    #[test]
    fn an_unusable_address_leaves_upload_and_the_time_zone_working() {
        let (handle, uploads, emails) = handle();
        let mut state = state();
        state.email.receiver = "me@example.com;typo".into();
        let err = handle.apply_state(&state).expect_err("e-mail is unusable");
        assert_eq!(err.upload, None);
        assert_eq!(
            err.email.as_ref().map(|e| e.param),
            Some("EmailReceiverAddress")
        );
        assert!(
            err.to_string()
                .starts_with("e-mail is off: EmailReceiverAddress"),
            "{err}"
        );
        let zone = CameraTimeZone::from_setting(32, 1);
        let (upload, upload_zone) = configured(&uploads);
        assert_eq!(upload.server.host, "ftp.example.com");
        assert_eq!(upload.schedule, Schedule::Always);
        assert_eq!(upload_zone, zone);
        let (email, email_zone) = configured(&emails);
        assert!(!email.manual_enabled && email.schedule == Schedule::Off);
        assert_eq!(email_zone, zone);
    }

    #[test]
    fn unusable_upload_settings_leave_e_mail_working() {
        let (handle, uploads, emails) = handle();
        let mut state = state();
        state.upload.frames_per_second = "4".into();
        let err = handle.apply_state(&state).expect_err("upload is unusable");
        assert_eq!(
            err.to_string(),
            "FTP upload is off: FTPScheduleFramePerSecond: must be 1, 2, 3 or Auto"
        );
        assert_eq!(err.email, None);
        assert_eq!(configured(&uploads).0.schedule, Schedule::Off);
        let (email, _) = configured(&emails);
        assert!(email.manual_enabled);
        assert_eq!(email.receivers.len(), 1);
    }

    #[test]
    fn usable_settings_reach_both_workers() {
        let (handle, uploads, emails) = handle();
        assert_eq!(handle.apply_state(&state()), Ok(()));
        assert_eq!(configured(&uploads).0.server.host, "ftp.example.com");
        assert_eq!(configured(&emails).0.server, "smtp.example.com");
    }
}
