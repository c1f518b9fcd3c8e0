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
pub use server::{
    Flushed, Handler, Limits, ListenerId, Pending, Reply, Responder, Server, ServerHandle,
};
pub use stream::{Broadcast, Chunk, Follower, Permit, StreamBody, StreamStats};

/// Entry points for the workspace's criterion benches and fuzz targets; not a stable API.
#[doc(hidden)]
pub mod harness {
    use crate::request::{parse_basic, parse_head, parse_params, Version};
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

    /// What [`frame_requests`] found in one input.
    #[derive(Debug, Default)]
    pub struct Framed {
        /// Complete requests, each with its decoded text parameters (query, then form).
        pub requests: Vec<Vec<(String, String)>>,
        /// The reason of the `400` that ended the input, if one did.
        pub refused: Option<&'static str>,
    }

    /// Splits pipelined bytes into requests exactly as a connection does: a head within
    /// `max_head` bytes, then `Content-Length` bytes of body (at most `max_body`), then the
    /// query and form parameters; the first malformed request ends the input.
    pub fn frame_requests(mut input: &[u8], max_head: usize, max_body: usize) -> Framed {
        let mut framed = Framed::default();
        while !input.is_empty() {
            let (head, head_len) = match parse_head(input, max_body) {
                Ok(Some(parsed)) if parsed.1 <= max_head => parsed,
                Ok(Some(_)) => return framed.refuse("request head too large"),
                Ok(None) if input.len() > max_head => {
                    return framed.refuse("request head too large")
                }
                Ok(None) => return framed,
                Err(bad) => return framed.refuse(bad.0),
            };
            let Some(body) = input.get(head_len..head_len + head.content_length) else {
                return framed;
            };
            let (mut params, mut binary) = (Vec::new(), Vec::new());
            let parsed = parse_params(head.query.as_bytes(), &mut params, &mut binary)
                .and_then(|()| parse_params(body, &mut params, &mut binary));
            if let Err(bad) = parsed {
                return framed.refuse(bad.0);
            }
            framed.requests.push(params);
            input = &input[head_len + head.content_length..];
        }
        framed
    }

    impl Framed {
        fn refuse(mut self, reason: &'static str) -> Self {
            self.refused = Some(reason);
            self
        }
    }

    /// Decodes one percent-encoded query or form, as requests are decoded.
    pub fn decode_form(raw: &[u8]) -> Result<FormParams, &'static str> {
        let (mut text, mut binary) = (Vec::new(), Vec::new());
        parse_params(raw, &mut text, &mut binary).map_err(|bad| bad.0)?;
        Ok((text, binary))
    }

    /// Text and binary parameters of a form.
    pub type FormParams = (Vec<(String, String)>, Vec<(String, Vec<u8>)>);

    /// Decodes an `Authorization` header value to (user, password), as requests are.
    pub fn decode_basic(value: &[u8]) -> Result<Option<(String, String)>, &'static str> {
        parse_basic(value)
            .map(|found| found.map(|c| (c.user, c.password)))
            .map_err(|bad| bad.0)
    }
}
