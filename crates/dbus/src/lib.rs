//! A minimal blocking D-Bus client: method calls with basic-type arguments over a unix
//! socket, and their replies.
//!
//! The camera's Linux platform makes about ten method calls to systemd's services
//! (`SetTime(xbb)`, `SetNTP(bb)`, `Reboot(b)`, `RestartUnit(ss)` → `o`, ...). A full
//! D-Bus library costs far more than that needs: `zbus` (blocking API on its async-io
//! executor) was 0.91 MB of the 6.22 MB stripped `ipcamd`, and `rustbus` (a synchronous
//! crate) would bring a second `nix` (0.26) and a second `thiserror` (1.x) into the tree.
//! This crate, the part of the protocol those calls use, is 19 KiB of the binary's .text
//! (the binary went from 6,216,056 to 5,378,432 bytes stripped). It follows the D-Bus
//! Specification (<https://dbus.freedesktop.org/doc/dbus-specification.html>):
//!
//! - "Type System" and "Marshaling (Wire Format)": [`wire`] writes the basic types
//!   `y b i u x s o g` in little-endian with their alignment, and reads any well-formed
//!   value of either byte order (arrays, structs, dict entries and variants included, so
//!   a reply of any signature can be read or refused cleanly);
//! - "Message Format" and "Header Fields": the fixed header, the `a(yv)` header fields,
//!   the padding before the body; a message over [`MAX_MESSAGE`] bytes is refused from its
//!   declared length, before anything is allocated;
//! - "Server Addresses" and "Well-known Message Bus Instances": `unix:path=` and
//!   `unix:abstract=` addresses, the system bus from `DBUS_SYSTEM_BUS_ADDRESS` or
//!   `/run/dbus/system_bus_socket`;
//! - "Authentication Protocol": the initial NUL byte, `AUTH EXTERNAL` with the hex-encoded
//!   uid, `BEGIN` (no file-descriptor passing);
//! - "Message Bus Specification": the `Hello` call every connection makes first.
//!
//! A [`Connection`] sends one call at a time and reads messages until the reply whose
//! `REPLY_SERIAL` matches, skipping signals such as `NameAcquired`; every call waits at
//! most the connection's timeout. No flag is ever set, in particular not
//! `ALLOW_INTERACTIVE_AUTHORIZATION`: a service must answer at once.

mod connection;
pub mod wire;

pub use connection::{Connection, MethodCall, SYSTEM_BUS_ADDRESS};
pub use wire::{Arg, Value, MAX_MESSAGE};

use std::time::Duration;

/// Why a call or a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bus address cannot be used (not `unix:path=` or `unix:abstract=`).
    #[error("bus address {address:?}: {reason}")]
    Address {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The socket of the address cannot be reached.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// The socket's path or abstract name.
        target: String,
        /// Why.
        source: std::io::Error,
    },
    /// The bus did not accept `AUTH EXTERNAL`.
    #[error("the bus refused authentication: {0}")]
    Auth(String),
    /// Reading or writing the socket failed.
    #[error("bus connection: {0}")]
    Io(#[from] std::io::Error),
    /// The bus closed the connection.
    #[error("the bus closed the connection")]
    Closed,
    /// No reply came in time.
    #[error("no reply within {} s", .0.as_secs())]
    Timeout(Duration),
    /// A message that breaks the wire format.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A message longer than [`MAX_MESSAGE`].
    #[error("message of {0} bytes is over the {MAX_MESSAGE}-byte limit")]
    TooLarge(u64),
    /// An argument that cannot be sent (a string with a NUL byte).
    #[error("cannot send the call: {0}")]
    Invalid(&'static str),
    /// The service answered with a D-Bus error.
    #[error("{name}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Method {
        /// The error name (`org.freedesktop.DBus.Error.AccessDenied`).
        name: String,
        /// The error's message, when its body starts with a string.
        message: Option<String>,
    },
}

impl Error {
    /// Whether the connection is still usable after this error: only when the service
    /// answered (or the call was refused before anything was sent).
    pub fn keeps_connection(&self) -> bool {
        matches!(self, Error::Method { .. } | Error::Invalid(_))
    }
}
