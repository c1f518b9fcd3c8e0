//! The ipcam daemon as a library: everything `main` does except reading the command line
//! and the process environment.
//!
//! [`Daemon::start`] takes listeners that are already bound — by `main`, by systemd's socket
//! activation, or by a test on port 0 — and returns once the camera is serving. Tests run it
//! in-process and drive it over real TCP.

pub mod config;
mod routes;
pub mod systemd;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

use ipcam_httpd::{Server, ServerHandle};

use crate::config::Config;
use crate::routes::Routes;
use crate::systemd::{Notifier, Watchdog};

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// No listener to serve on.
    #[error("no listening socket: configure server.listen or pass --listen")]
    NoListener,
    /// A socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// A daemon thread panicked.
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

/// What `main` hands over besides the configuration.
#[derive(Debug, Default)]
pub struct StartOptions {
    /// The service manager's notifier and the watchdog interval it asked for, if any.
    pub watchdog: Option<(Arc<Notifier>, Watchdog)>,
}

/// A running camera.
pub struct Daemon {
    server: ServerHandle,
    server_thread: JoinHandle<io::Result<()>>,
    local_addrs: Vec<SocketAddr>,
}

impl Daemon {
    /// Starts serving on `listeners` with `config`.
    pub fn start(
        config: &Config,
        listeners: Vec<TcpListener>,
        options: StartOptions,
    ) -> Result<Daemon, DaemonError> {
        if listeners.is_empty() {
            return Err(DaemonError::NoListener);
        }
        let local_addrs = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<io::Result<Vec<_>>>()
            .map_err(|source| DaemonError::Io {
                context: "cannot read a listener's address",
                source,
            })?;
        let routes = Routes::new(options.watchdog);
        let (server, handle) =
            Server::new(config.server.limits(), routes).map_err(|source| DaemonError::Io {
                context: "cannot create the HTTP event loop",
                source,
            })?;
        for listener in listeners {
            handle.add_listener(listener);
        }
        let server_thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || server.run())
            .map_err(|source| DaemonError::Io {
                context: "cannot spawn the HTTP thread",
                source,
            })?;
        Ok(Daemon {
            server: handle,
            server_thread,
            local_addrs,
        })
    }

    /// The addresses the daemon listens on (useful with port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Asks the daemon to stop: no new connections, responses in flight finish, streams end.
    pub fn shutdown(&self) {
        self.server.shutdown();
    }

    /// Waits until the daemon has stopped.
    pub fn join(self) -> Result<(), DaemonError> {
        self.server_thread
            .join()
            .map_err(|_| DaemonError::Panicked("http"))?
            .map_err(|source| DaemonError::Io {
                context: "the HTTP event loop failed",
                source,
            })
    }
}
