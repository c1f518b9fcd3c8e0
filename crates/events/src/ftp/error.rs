//! Why an FTP command failed, as the client sees it; the session turns these into the
//! [`crate::DeliveryError`] a camera owner reads.

use std::io;

use super::reply::Reply;

/// A failed exchange with an FTP server. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum FtpError {
    /// The connection could not be made, timed out, or was closed.
    #[error("{0}")]
    Connection(#[from] io::Error),
    /// The server answered with another reply than the command needs.
    #[error("{0}")]
    Refused(Reply),
    /// The server sent a line that is not an FTP reply.
    #[error("unreadable reply: {0}")]
    Malformed(String),
    /// A line, a reply or a listing over the client's limits.
    #[error("too long: {0}")]
    Oversized(&'static str),
    /// A `227`/`229` reply without a usable data port.
    #[error("bad data address: {0}")]
    DataAddress(Reply),
    /// A command argument (a name or the password of the settings) with a line break,
    /// which would end the command early and start another one. Names the command only:
    /// the argument may be the password.
    #[error("the argument of {0} contains a line break")]
    LineBreak(&'static str),
}
