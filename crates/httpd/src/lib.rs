//! A small, strict HTTP/1.x server for a camera: `mio` for readiness, `httparse` for heads.
//!
//! Why not a general-purpose framework: a camera serves a handful of CGIs and a few long-lived
//! MJPEG streams from a board with little memory. One thread and one poll loop serve every
//! connection; each connection's memory is bounded by [`Limits`]; and a stream chunk published
//! once through a [`Broadcast`] reaches every viewer by reference, with vectored writes and no
//! per-client copy. A client that cannot keep up skips to the newest chunk.
//!
//! The server knows nothing of cameras: a [`Handler`] turns each [`Request`] into a
//! [`Response`], or defers it to another thread when the work would block the loop.
//!
//! ```no_run
//! use ipcam_httpd::{Handler, Limits, Reply, Request, Response, Server};
//!
//! struct Hello;
//! impl Handler for Hello {
//!     fn handle(&mut self, _request: &Request) -> Reply {
//!         Response::html("Hello=1\r\n").into()
//!     }
//! }
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let (server, handle) = Server::new(Limits::default(), Hello)?;
//! handle.add_listener(listener);
//! std::thread::spawn(move || server.run());
//! // ... later
//! handle.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```

mod request;
mod response;
mod server;
mod stream;

pub use request::{Credentials, Method, Request, Version};
pub use response::{Body, Response, Status};
pub use server::{Handler, Limits, ListenerId, Pending, Reply, Responder, Server, ServerHandle};
pub use stream::{Broadcast, Chunk, StreamBody, StreamStats};
