//! An RTSP 1.0 server (RFC 2326) that streams a camera's JPEG frames as RTP (RFC 2435),
//! for the NVRs, VLC, ffmpeg and GStreamer clients that expect RTSP rather than MJPEG over
//! HTTP.
//!
//! Like `ipcam-httpd` it is one `mio` loop on one thread with bounded memory per client,
//! and it knows no camera: frames come from a [`Broadcast`](ipcam_httpd::Broadcast) of any
//! [`JpegChunk`], and logins are decided by a [`Gate`] the embedding program implements
//! over its users. Each frame is parsed and cut into packets once, whatever the number of
//! viewers; each viewer sends the same bytes by reference with vectored writes (TCP
//! interleaved) or `sendmmsg` (UDP), and only its 12-byte RTP header is its own. A viewer
//! that cannot keep up skips whole frames.
//!
//! ```no_run
//! use ipcam_httpd::{Broadcast, Chunk};
//! use ipcam_rtsp::{JpegChunk, Limits, Open, Server};
//!
//! #[derive(Clone)]
//! struct Jpeg(std::sync::Arc<[u8]>);
//! impl Chunk for Jpeg {
//!     fn segments(&self) -> [&[u8]; 3] { [&self.0, &[], &[]] }
//! }
//! impl JpegChunk for Jpeg {
//!     fn jpeg(&self) -> &[u8] { &self.0 }
//! }
//!
//! let frames: Broadcast<Jpeg> = Broadcast::new();
//! let listener = std::net::TcpListener::bind("127.0.0.1:8554")?;
//! let (server, handle) = Server::new(listener, &frames, Open, Limits::default())?;
//! std::thread::spawn(move || server.run());
//! // frames.publish(...) for every JPEG; later:
//! handle.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```

mod auth;
mod media;
pub mod payload;
mod reply;
mod request;
mod rtp;
mod server;
mod transport;

pub use auth::{Gate, Login, Open, Verdict, NONCE_LIFETIME};
pub use server::{JpegChunk, Limits, Server, ServerHandle};

/// Entry points for the fuzz targets; not a stable API.
#[doc(hidden)]
pub mod harness {
    pub use crate::request::{parse as parse_request, BadRequest, Input, Request};
}
