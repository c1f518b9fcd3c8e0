//! Dynamic DNS of the camera (IPCamCGI 1.2, 3.4.2/3.4.3 `DDNS*`, `DynamicDNS` of 3.4.1):
//! keeps the owner's host name pointing at the camera, speaking the dyndns2 update
//! protocol to the providers of the spec's Table 2 that accept it ([`Provider`]).
//!
//! One worker thread, so that a slow or unreachable provider never touches the HTTP event
//! loop or the configuration thread. The daemon hands it the `/network.cgi` settings at
//! start and after every change ([`DdnsHandle::configure`], never blocking), and reads its
//! [`DdnsStatus`] for `/inetwork.cgi`.
//!
//! ```no_run
//! use ipcam_ddns::{Ddns, DdnsOptions, DdnsSettings};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let state = ipcam_api::State::default();
//! let address = Box::new(|| Some(std::net::Ipv4Addr::new(192, 168, 0, 20)));
//! let ddns = Ddns::spawn(DdnsOptions::default(), address)?;
//! ddns.configure(DdnsSettings::from(&state.network)); // at start and after /network.cgi
//! let line = format!("Enable ({})", ddns.status()); // Enable (good 81.2.69.160)
//! # Ok(()) }
//! ```
//!
//! When updates go out, and why, is [`schedule`]'s documentation; what each answer means
//! is [`Answer::outcome`]'s.

mod answer;
mod cache;
mod client;
mod provider;
mod public_ip;
pub mod schedule;
mod settings;
mod status;
mod worker;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender};

pub use answer::{Answer, Outcome};
pub use client::{HttpUpdater, Request, UpdateError, Updater, USER_AGENT};
pub use provider::Provider;
pub use schedule::Timing;
pub use settings::{
    certificates_from_pem, is_public, parse_check_ip_url, parse_server_url, CaFileError,
    DdnsOptions, DdnsSettings, ServerUrlError,
};
pub use status::DdnsStatus;
pub use worker::AddressSource;

use status::Shared;
use worker::{update_url, Command, Worker};

/// Longest an update may take when [`DdnsOptions::timeout`] is zero.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long dropping [`Ddns`] waits for an update in flight.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// The updater could not start.
#[derive(Debug, thiserror::Error)]
pub enum DdnsError {
    /// The operating system refused a thread.
    #[error("cannot start the DDNS thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// TLS cannot be set up.
    #[error("cannot set up TLS for DDNS updates: {0}")]
    Tls(String),
    /// The CA file for the update server cannot be read or used.
    #[error("ddns.ca_file {path}: {reason}")]
    CaFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

/// The running updater; stops it on drop.
pub struct Ddns {
    handle: DdnsHandle,
    thread: Option<JoinHandle<()>>,
    finished: crossbeam_channel::Receiver<()>,
}

/// The daemon's side of the updater: cheap to clone, never blocking.
#[derive(Clone)]
pub struct DdnsHandle {
    shared: Arc<Shared>,
    commands: Sender<Command>,
    server: Option<String>,
}

impl Ddns {
    /// Starts the updater over HTTP(S), idle until the first settings; `address` reads
    /// the camera's own address (looked at every [`Timing::address_check`]).
    pub fn spawn(options: DdnsOptions, address: AddressSource) -> Result<Ddns, DdnsError> {
        let timeout = if options.timeout.is_zero() {
            DEFAULT_TIMEOUT
        } else {
            options.timeout
        };
        let updater = HttpUpdater::new(timeout, options.only_roots.as_deref())
            .map_err(|err| DdnsError::Tls(err.to_string()))?;
        Ddns::spawn_with(updater, options, address)
    }

    /// Starts the updater with another way of sending updates.
    pub fn spawn_with(
        updater: impl Updater,
        options: DdnsOptions,
        address: AddressSource,
    ) -> Result<Ddns, DdnsError> {
        let (commands, inbox) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared::new());
        let origin = Instant::now();
        let worker = Worker::new(
            updater,
            inbox,
            Arc::clone(&shared),
            address,
            Box::new(move || origin.elapsed()),
            &options,
        );
        let (done, finished) = crossbeam_channel::bounded::<()>(0);
        let thread = std::thread::Builder::new()
            .name("ipcam-ddns".into())
            .spawn(move || {
                worker.run();
                drop(done);
            })
            .map_err(DdnsError::Spawn)?;
        Ok(Ddns {
            handle: DdnsHandle {
                shared,
                commands,
                server: options.server,
            },
            thread: Some(thread),
            finished,
        })
    }

    /// A handle for other threads.
    pub fn handle(&self) -> DdnsHandle {
        self.handle.clone()
    }
}

impl std::ops::Deref for Ddns {
    type Target = DdnsHandle;

    fn deref(&self) -> &DdnsHandle {
        &self.handle
    }
}

impl Drop for Ddns {
    /// Stops the worker; one still waiting for a provider after two seconds is left to
    /// end by its own timeout.
    fn drop(&mut self) {
        let _ = self.handle.commands.send(Command::Stop);
        match self.finished.recv_timeout(STOP_GRACE) {
            Err(RecvTimeoutError::Timeout) => {
                log::warn!("DDNS update still in flight; not waiting for it");
            }
            _ => {
                if let Some(thread) = self.thread.take() {
                    if thread.join().is_err() {
                        log::error!("the DDNS thread panicked");
                    }
                }
            }
        }
    }
}

impl DdnsHandle {
    /// Hands over the `/network.cgi` settings; call at start and after every change.
    /// Settings equal to the current ones change nothing; new ones start over at once
    /// (even after a fatal answer), and the status says `updating` from this call on.
    pub fn configure(&self, settings: DdnsSettings) {
        let mut published = self.shared.lock();
        if published.settings.as_ref() == Some(&settings) {
            return;
        }
        published.generation += 1;
        published.status = if !settings.enabled {
            DdnsStatus::Disabled
        } else if update_url(&settings, self.server.as_deref()).is_some() {
            DdnsStatus::Updating
        } else {
            DdnsStatus::Unsupported
        };
        published.settings = Some(settings.clone());
        // A send fails only once the worker has stopped, which only dropping Ddns does.
        let _ = self
            .commands
            .send(Command::Configure(published.generation, settings));
    }

    /// What the updater is doing, for `DynamicDNS` of `/inetwork.cgi`.
    pub fn status(&self) -> DdnsStatus {
        self.shared.lock().status.clone()
    }
}
