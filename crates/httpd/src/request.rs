//! Requests as handlers see them, and the parsing that produces them.
//!
//! Parsing is deliberately strict about structure (a malformed head closes the connection)
//! and lenient about the habits of old camera clients: absolute-form targets such as
//! `GET http://camera/image.jpg`, form bodies posted without a `Content-Type`, blank
//! parameters from a trailing `&`.

use std::fmt;
use std::net::SocketAddr;

use base64::Engine as _;
use percent_encoding::percent_decode;

use crate::server::Deferral;

/// HTTP methods the server accepts; anything else is answered with `400`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: handled like `GET`, the server sends no body.
    Head,
    /// `POST` with a form body.
    Post,
}

/// The HTTP version of a request; the response is sent with the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: one request per connection.
    Http10,
    /// HTTP/1.1: keep-alive and pipelining.
    Http11,
}

impl Version {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// User name and password from an `Authorization: Basic` header.
///
/// `Debug` hides the password so that credentials never reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user id.
    pub user: String,
    /// The password, as sent.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// One parsed request, handed to the [`Handler`](crate::Handler).
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path without query, e.g. `/image.jpg` (absolute-form targets are reduced to it).
    pub path: String,
    /// The protocol version of the request.
    pub version: Version,
    /// Parameters of the query string, then of the form body, percent-decoded, in order.
    pub params: Vec<(String, String)>,
    /// Parameters whose decoded value is not UTF-8 (e.g. bytes for a serial port), kept
    /// apart so that text handlers never see them; a handler that takes only text must
    /// refuse a request that has any.
    pub binary_params: Vec<(String, Vec<u8>)>,
    /// Basic credentials, if the client sent them.
    pub credentials: Option<Credentials>,
    /// The body of a POST that is XML rather than a form (SOAP: `application/soap+xml`,
    /// `text/xml`, `application/xml`), as sent; empty otherwise.
    pub body: Vec<u8>,
    /// The `Host` header, if any (for URLs the answer names).
    pub host: Option<String>,
    /// The client's address.
    pub peer: SocketAddr,
    /// The `If-None-Match` header, for handlers that serve cacheable content.
    pub if_none_match: Option<String>,
    /// The `X-Forwarded-For` headers, joined by `, ` as RFC 9110 5.3 combines repeated
    /// fields: the addresses a chain of reverse proxies says the request came through. Only
    /// worth anything when `peer` is a proxy the handler trusts.
    pub forwarded_for: Option<String>,
    /// A browser says a page of another origin made this request (`Sec-Fetch-Site` other
    /// than `same-origin`/`none`, or else an `Origin` that is not this `Host`): something a
    /// logged-in user did not necessarily mean to do, which a handler should refuse
    /// wherever the request would change anything. Never set for non-browser clients.
    pub foreign_origin: bool,
    pub(crate) deferral: Deferral,
}

impl Request {
    /// The value of the first parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request carries parameters, i.e. whether it is a "set" in the spec's sense.
    pub fn has_params(&self) -> bool {
        !self.params.is_empty()
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("version", &self.version)
            .field("params", &self.params.len())
            .field("user", &self.credentials.as_ref().map(|c| &c.user))
            .field("peer", &self.peer)
            .finish()
    }
}

/// Why a request was refused before reaching the handler; the text is the `400` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub &'static str);

/// The head of a request, owned, once the whole head has arrived.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: Method,
    pub version: Version,
    pub path: String,
    pub query: String,
    pub content_length: usize,
    pub content_length_seen: bool,
    pub body_is_form: bool,
    /// The body is XML, kept as sent for the handler.
    pub body_is_xml: bool,
    pub host: Option<String>,
    pub credentials: Option<Credentials>,
    pub wants_close: bool,
    /// `Expect: 100-continue` on HTTP/1.1: the client waits for a `100` before the body.
    pub expects_continue: bool,
    pub if_none_match: Option<String>,
    pub forwarded_for: Option<String>,
    /// See `is_foreign_origin`.
    pub foreign_origin: bool,
}

/// Whether a browser says that a page of another origin made the request: by
/// `Sec-Fetch-Site` (browsers send it to HTTPS and loopback sites) anything but
/// `same-origin` or `none` (typed or bookmarked); without it (plain HTTP to a camera on the
/// network, older browsers), an `Origin` (sent with POSTs) whose host and port are neither
/// the request's `Host` nor, behind a reverse proxy that rewrites `Host`, the address the
/// proxy says the browser used (`X-Forwarded-Host`, the first one when proxies chain).
/// Trusting that header keeps the protection: a page of another site cannot make a browser
/// send it (it is no CORS-safelisted header, and the camera answers no preflight).
/// Clients other than browsers (NVRs, curl) send neither and are never foreign. `header`
/// looks a header up by its lower-case name; the usual request (no `Sec-Fetch-Site`, no
/// `Origin`) costs two lookups.
fn is_foreign_origin<'h>(header: impl Fn(&str) -> Option<&'h str>) -> bool {
    if let Some(site) = header("sec-fetch-site") {
        return !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"));
    }
    header("origin").is_some_and(|origin| {
        let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        let forwarded = header("x-forwarded-host")
            .and_then(|hosts| hosts.split(',').next())
            .map(str::trim);
        ![header("host"), forwarded]
            .into_iter()
            .flatten()
            .any(|host| authority.eq_ignore_ascii_case(host))
    })
}

/// Most headers a request may carry; more is an attack or a broken client.
const MAX_HEADERS: usize = 48;

/// Parses a request head from the start of `buf`.
///
/// Returns `Ok(None)` while the head is incomplete, else the head and its length in bytes.
pub(crate) fn parse_head(buf: &[u8], max_body: usize) -> Result<Option<(Head, usize)>, BadRequest> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(BadRequest("too many headers")),
        Err(_) => return Err(BadRequest("malformed request head")),
    };
    let method = match parsed.method {
        Some("GET") => Method::Get,
        Some("HEAD") => Method::Head,
        Some("POST") => Method::Post,
        _ => return Err(BadRequest("unsupported method")),
    };
    let version = match parsed.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    };
    let (path, query) = split_target(parsed.path.unwrap_or("/"))?;
    let mut head = Head {
        method,
        version,
        path,
        query,
        content_length: 0,
        content_length_seen: false,
        body_is_form: true,
        body_is_xml: false,
        host: None,
        credentials: None,
        wants_close: version == Version::Http10,
        expects_continue: false,
        if_none_match: None,
        forwarded_for: None,
        foreign_origin: false,
    };
    for header in parsed.headers.iter() {
        apply_header(&mut head, header.name, header.value, max_body)?;
    }
    // Judged while the headers are still borrowed from the input: no copies per request.
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    head.foreign_origin = is_foreign_origin(header);
    Ok(Some((head, head_len)))
}

fn apply_header(
    head: &mut Head,
    name: &str,
    value: &[u8],
    max_body: usize,
) -> Result<(), BadRequest> {
    let text = || std::str::from_utf8(value).map(str::trim);
    if name.eq_ignore_ascii_case("content-length") {
        let length: usize = text()
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or(BadRequest("invalid Content-Length"))?;
        if length > max_body {
            return Err(BadRequest("request body too large"));
        }
        // Two different lengths mean a confused client or a smuggling attempt (RFC 9112 6.3).
        if head.content_length_seen && head.content_length != length {
            return Err(BadRequest("conflicting Content-Length headers"));
        }
        head.content_length = length;
        head.content_length_seen = true;
    } else if name.eq_ignore_ascii_case("transfer-encoding") {
        return Err(BadRequest("chunked request bodies are not supported"));
    } else if name.eq_ignore_ascii_case("connection") {
        if let Ok(v) = text() {
            if v.eq_ignore_ascii_case("close") {
                head.wants_close = true;
            }
        }
    } else if name.eq_ignore_ascii_case("content-type") {
        let v = text().unwrap_or("").to_ascii_lowercase();
        let media_type = v.split(';').next().unwrap_or("").trim();
        head.body_is_xml = matches!(
            media_type,
            "application/soap+xml" | "text/xml" | "application/xml"
        );
        head.body_is_form = !(v.starts_with("multipart/") || head.body_is_xml);
    } else if name.eq_ignore_ascii_case("authorization") {
        head.credentials = parse_basic(value)?;
    } else if name.eq_ignore_ascii_case("expect") {
        head.expects_continue = head.version == Version::Http11
            && text().is_ok_and(|v| v.eq_ignore_ascii_case("100-continue"));
    } else if name.eq_ignore_ascii_case("host") {
        head.host = text().ok().map(str::to_owned);
    } else if name.eq_ignore_ascii_case("if-none-match") {
        head.if_none_match = text().ok().map(str::to_owned);
    } else if name.eq_ignore_ascii_case("x-forwarded-for") {
        if let Ok(hops) = text() {
            let joined = match head.forwarded_for.take() {
                Some(earlier) => format!("{earlier}, {hops}"),
                None => hops.to_owned(),
            };
            head.forwarded_for = Some(joined);
        }
    }
    Ok(())
}

/// Splits a request target into path and raw query; absolute-form (`http://host/p?q`) is
/// accepted because the spec's own examples use it.
fn split_target(target: &str) -> Result<(String, String), BadRequest> {
    let origin = match target.find("://") {
        Some(scheme_end) if !target.starts_with('/') => {
            let after_authority = &target[scheme_end + 3..];
            match after_authority.find('/') {
                Some(slash) => &after_authority[slash..],
                None => "/",
            }
        }
        _ => target,
    };
    if !origin.starts_with('/') {
        return Err(BadRequest("request target must be a path"));
    }
    let (path, query) = origin.split_once('?').unwrap_or((origin, ""));
    Ok((path.to_owned(), query.to_owned()))
}

/// Decodes `Basic <base64(user:password)>`; other schemes are ignored (no credentials).
pub(crate) fn parse_basic(value: &[u8]) -> Result<Option<Credentials>, BadRequest> {
    const MALFORMED: BadRequest = BadRequest("malformed Authorization header");
    let value = std::str::from_utf8(value).map_err(|_| MALFORMED)?.trim();
    let Some((scheme, token)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| MALFORMED)?;
    let decoded = String::from_utf8(decoded).map_err(|_| MALFORMED)?;
    let (user, password) = decoded.split_once(':').ok_or(MALFORMED)?;
    Ok(Some(Credentials {
        user: user.to_owned(),
        password: password.to_owned(),
    }))
}

/// Decodes `a=1&b=x%20y` into pairs, appending to `text`, or to `binary` where the decoded
/// value is not UTF-8 (percent-encoded bytes for a serial port, say).
///
/// Names are trimmed (some clients copy the spec's `UserName =` literally) and must then be
/// `[A-Za-z0-9_]`; empty pieces (`a=1&&b=2`, a trailing `&`) are skipped.
pub(crate) fn parse_params(
    raw: &[u8],
    text: &mut Vec<(String, String)>,
    binary: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), BadRequest> {
    const BAD_NAME: BadRequest =
        BadRequest("parameter names may only contain letters, digits and _");
    for piece in raw.split(|&b| b == b'&') {
        if piece.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (name, value) = match piece.iter().position(|&b| b == b'=') {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            // `/video/mjpg.cgi?.mjpg`: NVRs append a file-type hint for their own player.
            None if piece.starts_with(b".") => continue,
            None => (piece, &b""[..]),
        };
        let name = String::from_utf8(decode_component(name)).map_err(|_| BAD_NAME)?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(BAD_NAME);
        }
        match String::from_utf8(decode_component(value)) {
            Ok(value) => text.push((name.to_owned(), value)),
            Err(not_utf8) => binary.push((name.to_owned(), not_utf8.into_bytes())),
        }
    }
    Ok(())
}

/// Percent-decodes one name or value, with `+` as a space (form encoding).
fn decode_component(raw: &[u8]) -> Vec<u8> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(raw: &str) -> Result<Vec<(String, String)>, BadRequest> {
        let (mut text, mut binary) = (Vec::new(), Vec::new());
        parse_params(raw.as_bytes(), &mut text, &mut binary)?;
        assert!(binary.is_empty(), "{binary:?}");
        Ok(text)
    }

    fn pair(n: &str, v: &str) -> (String, String) {
        (n.to_owned(), v.to_owned())
    }

    #[test]
    fn params_are_percent_and_plus_decoded_in_order() {
        assert_eq!(
            params("CameraName=Front%20door&Location=a+b&Empty=").unwrap(),
            vec![
                pair("CameraName", "Front door"),
                pair("Location", "a b"),
                pair("Empty", "")
            ]
        );
    }

    #[test]
    fn blank_pieces_are_skipped_and_names_trimmed() {
        assert_eq!(
            params("&a=1&&UserName%20=bob&").unwrap(),
            vec![pair("a", "1"), pair("UserName", "bob")]
        );
    }

    #[test]
    fn file_type_hints_of_nvrs_are_skipped() {
        assert_eq!(params(".mjpg").unwrap(), vec![]);
        assert_eq!(params("a=1&.jpg").unwrap(), vec![pair("a", "1")]);
        assert!(params(".x=1").is_err());
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(params("a-b=1").is_err());
        assert!(params("=1").is_err());
        assert!(params("%FF=1").is_err());
    }

    #[test]
    fn values_that_are_not_utf8_are_kept_as_bytes() {
        let (mut text, mut binary) = (Vec::new(), Vec::new());
        parse_params(b"ComOut=%FF%01%00&ComSend=Yes", &mut text, &mut binary).unwrap();
        assert_eq!(text, vec![pair("ComSend", "Yes")]);
        assert_eq!(binary, vec![("ComOut".to_owned(), vec![0xff, 0x01, 0x00])]);
    }

    #[test]
    fn absolute_form_targets_reduce_to_the_path() {
        let (path, query) = split_target("http://192.168.0.20/image.cgi?a=1").unwrap();
        assert_eq!((path.as_str(), query.as_str()), ("/image.cgi", "a=1"));
        assert_eq!(split_target("http://cam").unwrap().0, "/");
        assert!(split_target("image.jpg").is_err());
    }

    #[test]
    fn basic_credentials_decode_and_keep_colons_in_passwords() {
        let creds = parse_basic(b"Basic YWRtaW46YTpi").unwrap().unwrap();
        assert_eq!(
            (creds.user.as_str(), creds.password.as_str()),
            ("admin", "a:b")
        );
        assert_eq!(parse_basic(b"Digest abc").unwrap(), None);
        assert!(parse_basic(b"Basic !!!").is_err());
        assert!(!format!("{creds:?}").contains("a:b"));
    }

    #[test]
    fn behind_a_proxy_the_origin_may_match_the_forwarded_host() {
        // nginx with its default `Host: <upstream>` and the snippet's X-Forwarded-Host.
        let host = Some("127.0.0.1:8080");
        for (origin, forwarded, foreign) in [
            ("http://camera.test:8443", Some("camera.test:8443"), false),
            ("https://home.example", Some("HOME.example"), false),
            (
                "https://home.example",
                Some("home.example, 10.0.0.2"),
                false,
            ),
            ("https://home.example", Some(" home.example "), false),
            ("https://home.example", Some("10.0.0.2, home.example"), true),
            ("https://home.example", Some("home.example:8443"), true),
            ("https://home.example", None, true),
            ("http://evil.example", Some("home.example"), true),
            ("null", Some("home.example"), true),
        ] {
            let header = |name: &str| match name {
                "origin" => Some(origin),
                "host" => host,
                "x-forwarded-host" => forwarded,
                _ => None,
            };
            assert_eq!(is_foreign_origin(header), foreign, "{origin} {forwarded:?}");
        }
    }

    #[test]
    fn only_browsers_naming_another_origin_are_foreign() {
        let host = Some("192.0.2.7:8080");
        for (site, origin, foreign) in [
            (None, None, false),
            (Some("same-origin"), None, false),
            (Some("none"), None, false),
            (Some("cross-site"), None, true),
            (Some("same-site"), None, true),
            (Some("same-origin"), Some("http://evil.example"), false),
            (None, Some("http://192.0.2.7:8080"), false),
            (None, Some("http://192.0.2.7"), true),
            (None, Some("http://evil.example"), true),
            (None, Some("null"), true),
        ] {
            let header = |name: &str| match name {
                "sec-fetch-site" => site,
                "origin" => origin,
                "host" => host,
                _ => None,
            };
            assert_eq!(is_foreign_origin(header), foreign, "{site:?} {origin:?}");
        }
    }

    #[test]
    fn repeated_forwarded_for_headers_join_in_order() {
        let (head, _) = parse_head(
            b"GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.9, 10.0.0.2\r\n\
              x-forwarded-for:  10.0.0.3 \r\n\r\n",
            0,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            head.forwarded_for.as_deref(),
            Some("203.0.113.9, 10.0.0.2, 10.0.0.3")
        );
        let (head, _) = parse_head(b"GET / HTTP/1.1\r\n\r\n", 0).unwrap().unwrap();
        assert_eq!(head.forwarded_for, None);
    }

    #[test]
    fn head_parsing_reports_incomplete_and_limits() {
        assert!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n", 10)
            .unwrap()
            .is_none());
        let (head, len) = parse_head(b"POST /x HTTP/1.0\r\nContent-Length: 5\r\n\r\nab", 10)
            .unwrap()
            .unwrap();
        assert_eq!(
            (head.content_length, head.version, len),
            (5, Version::Http10, 39)
        );
        assert!(parse_head(b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 10).is_err());
        assert!(parse_head(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 10).is_err());
        let twice = b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(parse_head(twice, 10).unwrap().unwrap().0.content_length, 2);
        let conflicting = b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n";
        assert!(parse_head(conflicting, 10).is_err());
        assert!(parse_head(b"PUT / HTTP/1.1\r\n\r\n", 10).is_err());
        let soap = b"POST /onvif/device_service HTTP/1.1\r\nHost: cam:81\r\n\
            Content-Type: application/soap+xml; charset=utf-8\r\n\r\n";
        let (head, _) = parse_head(soap, 10).unwrap().unwrap();
        assert!(head.body_is_xml && !head.body_is_form);
        assert_eq!(head.host.as_deref(), Some("cam:81"));
        assert!(parse_head(b"\x00\x01garbage\r\n\r\n", 10).is_err());
    }
}
