//! Errors of the events crate: why a delivery failed, in words a camera owner can act
//! on, and why the workers could not start.
//!
//! The detail text comes from the server's reply or the operating system, never from the
//! settings' secrets, so it is safe to log and to show.

use std::fmt;

/// What kind of failure stopped a delivery; a change of kind starts a new log episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The server could not be reached: name lookup, refused connection, timeout,
    /// dropped connection.
    Unreachable,
    /// The server refused the user name or password.
    LoginRejected,
    /// The server is out of space (FTP 452/552, SMTP 452/552).
    ServerFull,
    /// The server refused a command for another reason (permissions, bad address...).
    Refused,
    /// The server answered something that is not the protocol, or TLS failed.
    Protocol,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureKind::Unreachable => "server unreachable",
            FailureKind::LoginRejected => "login rejected",
            FailureKind::ServerFull => "server out of space",
            FailureKind::Refused => "refused by the server",
            FailureKind::Protocol => "protocol error",
        })
    }
}

/// A failed upload or e-mail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct DeliveryError {
    /// The kind of failure.
    pub kind: FailureKind,
    /// The server's reply or the system's reason.
    pub detail: String,
}

impl DeliveryError {
    /// A failure of `kind` for the reason `detail`.
    pub fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        DeliveryError {
            kind,
            detail: detail.into(),
        }
    }
}

/// The events workers could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The operating system refused a thread.
    #[error("cannot start the {0} thread: {1}")]
    Spawn(&'static str, #[source] std::io::Error),
}
