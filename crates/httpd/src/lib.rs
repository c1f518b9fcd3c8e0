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
pub use stream::{Broadcast, Chunk, Follower, Permit, StreamBody, StreamStats};

/// Entry points for the workspace's criterion benches; not a stable API.
#[doc(hidden)]
pub mod bench_support {
    use crate::request::{parse_head, parse_params, Version};
    use crate::response::Response;

    /// Parses a request head and its query parameters, then renders a small response head,
    /// as the server does for every request. Returns the rendered size.
    pub fn parse_and_render(raw: &[u8], body: &'static str) -> usize {
        let (head, _) = parse_head(raw, 64 * 1024)
            .expect("valid request")
            .expect("complete head");
        let (mut params, mut binary) = (Vec::new(), Vec::new());
        parse_params(head.query.as_bytes(), &mut params, &mut binary).expect("valid query");
        let keep_alive = head.version == Version::Http11 && !head.wants_close;
        Response::html(body)
            .render_head(head.version, keep_alive)
            .len()
            + params.len()
    }
}
