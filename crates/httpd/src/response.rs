//! Responses: a status from the spec's table, a few headers, and a body that is either
//! complete (refcounted, so a frame is never copied into it) or a live stream.

use std::io::Write as _;

use bytes::Bytes;

use crate::request::Version;
use crate::stream::StreamBody;

/// The status codes of the spec's table (IPCamCGI 2.3), plus `304` for cached assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 200 OK.
    Ok,
    /// 204 No Content: the spec's "No response".
    NoContent,
    /// 304 Not Modified: a cached static asset is still current.
    NotModified,
    /// 400 Bad Request: invalid or unsupported parameters or values.
    BadRequest,
    /// 401 Unauthorized: authentication required or refused.
    Unauthorized,
    /// 404 Not Found: the API is not supported.
    NotFound,
    /// 500 Internal Error.
    InternalError,
    /// 503 Service Unavailable: temporary overload.
    ServiceUnavailable,
}

impl Status {
    /// The numeric code.
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::NoContent => 204,
            Status::NotModified => 304,
            Status::BadRequest => 400,
            Status::Unauthorized => 401,
            Status::NotFound => 404,
            Status::InternalError => 500,
            Status::ServiceUnavailable => 503,
        }
    }

    /// The reason phrase, as the spec spells it.
    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::NoContent => "No Content",
            Status::NotModified => "Not Modified",
            Status::BadRequest => "Bad Request",
            Status::Unauthorized => "Unauthorized",
            Status::NotFound => "Not Found",
            Status::InternalError => "Internal Error",
            Status::ServiceUnavailable => "Service Unavailable",
        }
    }

    fn has_body(self) -> bool {
        !matches!(self, Status::NoContent | Status::NotModified)
    }
}

/// What follows the head of a response.
pub enum Body {
    /// A complete body with a `Content-Length`.
    Full(Bytes),
    /// A stream written as the publisher produces chunks; the connection closes at its end.
    Stream(StreamBody),
}

/// A response built by a handler.
pub struct Response {
    pub(crate) status: Status,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Body,
    pub(crate) close_trailer: &'static [u8],
}

impl Response {
    /// A complete response with the given status, content type and body.
    pub fn new(status: Status, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body: Body::Full(body.into()),
            close_trailer: b"",
        }
    }

    /// `200` with a `text/html` body, the content type the spec gives every CGI answer.
    pub fn html(body: impl Into<Bytes>) -> Self {
        Response::new(Status::Ok, "text/html", body)
    }

    /// A status with a one-line plain reason as body (`400 unknown parameter Foo`, ...).
    pub fn error(status: Status, reason: &str) -> Self {
        Response::new(status, "text/plain; charset=utf-8", format!("{reason}\r\n"))
    }

    /// `204 No Content`.
    pub fn no_content() -> Self {
        Response::new(Status::NoContent, "text/html", Bytes::new())
    }

    /// `401` asking for Basic credentials in `realm`.
    pub fn unauthorized(realm: &str) -> Self {
        Response::error(Status::Unauthorized, "authorization required")
            .header("WWW-Authenticate", format!("Basic realm=\"{realm}\""))
    }

    /// A streaming response; the connection closes when the stream or the client ends.
    pub fn stream(content_type: &'static str, body: StreamBody) -> Self {
        Response {
            status: Status::Ok,
            content_type,
            headers: Vec::new(),
            body: Body::Stream(body),
            close_trailer: b"",
        }
    }

    /// Adds a header. Names are static: handlers never echo client input into header names.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Bytes sent after the body only when the connection closes after this response (the
    /// spec's CRLF CRLF after a snapshot, which would corrupt a kept-alive HTTP/1.1 stream).
    pub fn close_trailer(mut self, trailer: &'static [u8]) -> Self {
        self.close_trailer = trailer;
        self
    }

    /// The status of this response.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Renders the status line and headers.
    pub(crate) fn render_head(&self, version: Version, keep_alive: bool) -> Vec<u8> {
        let mut head = Vec::with_capacity(160);
        let _ = write!(
            head,
            "{} {} {}\r\n",
            version.as_str(),
            self.status.code(),
            self.status.reason()
        );
        if self.status.has_body() {
            let _ = write!(head, "Content-Type: {}\r\n", self.content_type);
            if let Body::Full(bytes) = &self.body {
                let _ = write!(head, "Content-Length: {}\r\n", bytes.len());
            }
        }
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let _ = write!(head, "Connection: {connection}\r\n\r\n");
        head
    }

    pub(crate) fn is_stream(&self) -> bool {
        matches!(self.body, Body::Stream(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_has_length_type_and_connection() {
        let head = Response::html("CGIVersion=2\r\n").render_head(Version::Http10, false);
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 14\r\n\
             Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn no_content_has_no_length_and_unauthorized_asks_for_basic() {
        let head =
            String::from_utf8(Response::no_content().render_head(Version::Http11, true)).unwrap();
        assert!(head.starts_with("HTTP/1.1 204 No Content\r\n"));
        assert!(!head.contains("Content-Length"));
        let head =
            String::from_utf8(Response::unauthorized("ipcam").render_head(Version::Http11, true))
                .unwrap();
        assert!(head.contains("WWW-Authenticate: Basic realm=\"ipcam\"\r\n"));
    }
}
