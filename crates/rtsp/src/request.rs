//! RTSP/1.0 requests off the wire, and what else a client may send on the same socket.
//!
//! RTSP borrows HTTP's syntax but not its version token, so `httparse` (which insists on
//! `HTTP/1.x`) does not fit; the grammar needed here is small. A client also sends
//! interleaved binary frames (`$`, channel, length, data: RTCP receiver reports over TCP,
//! RFC 2326 10.12) between its requests, which are told apart by their first byte.
//! Everything is bounded: the head by `max_head`, the body by `max_body`, the number of
//! header lines by [`MAX_HEADERS`].

use std::fmt;

/// Header lines accepted in one request.
pub const MAX_HEADERS: usize = 64;

/// The methods of RFC 2326 that a camera serving live video answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// OPTIONS
    Options,
    /// DESCRIBE
    Describe,
    /// SETUP
    Setup,
    /// PLAY
    Play,
    /// PAUSE
    Pause,
    /// TEARDOWN
    Teardown,
    /// GET_PARAMETER (keep-alive)
    GetParameter,
    /// SET_PARAMETER (keep-alive)
    SetParameter,
    /// Any other token (ANNOUNCE, RECORD, REDIRECT, ...): answered 405.
    Other,
}

impl Method {
    fn parse(token: &str) -> Method {
        match token {
            "OPTIONS" => Method::Options,
            "DESCRIBE" => Method::Describe,
            "SETUP" => Method::Setup,
            "PLAY" => Method::Play,
            "PAUSE" => Method::Pause,
            "TEARDOWN" => Method::Teardown,
            "GET_PARAMETER" => Method::GetParameter,
            "SET_PARAMETER" => Method::SetParameter,
            _ => Method::Other,
        }
    }
}

/// The methods answered, for `Public:` and `Allow:`.
pub const PUBLIC: &str =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

/// A parsed request head (the body, if any, is consumed and ignored: the keep-alive
/// parameters a client may ask for are answered with an empty body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The method token as sent (Digest hashes it).
    pub method_token: String,
    /// The request URI as sent.
    pub uri: String,
    /// The `CSeq` number, echoed in the response.
    pub cseq: u32,
    /// Header lines, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The session id of a `Session:` header, without its parameters.
    pub fn session(&self) -> Option<&str> {
        self.header("Session")
            .map(|s| s.split(';').next().unwrap_or("").trim())
    }
}

/// What the bytes at the start of a connection's input are.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// More bytes are needed.
    Incomplete,
    /// A request whose head and body take the first `usize` bytes.
    Request(Request, usize),
    /// An interleaved frame: channel and payload length; the 4-byte prefix is consumed
    /// with it, so `4 + len` bytes in all.
    Interleaved {
        /// The channel.
        channel: u8,
        /// The payload length.
        len: usize,
    },
}

/// Why a request is refused before it reaches a handler; the connection is closed after
/// the answer, since the stream cannot be resynchronised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    /// The status to answer.
    pub status: u16,
    /// A one-line reason for the body and the log.
    pub reason: &'static str,
    /// The CSeq, if it could be read, to echo.
    pub cseq: Option<u32>,
}

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

fn bad(status: u16, reason: &'static str, cseq: Option<u32>) -> BadRequest {
    BadRequest {
        status,
        reason,
        cseq,
    }
}

/// Reads what `input` starts with.
pub fn parse(input: &[u8], max_head: usize, max_body: usize) -> Result<Input, BadRequest> {
    if input.first() == Some(&b'$') {
        return Ok(match input.get(1..4) {
            Some(prefix) => Input::Interleaved {
                channel: prefix[0],
                len: usize::from(u16::from_be_bytes([prefix[1], prefix[2]])),
            },
            None => Input::Incomplete,
        });
    }
    // Blank lines between requests are allowed (RFC 2326 appendix D.1 clients send them).
    let skipped = input
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let input = &input[skipped..];
    let Some(head_len) = find_head_end(input) else {
        if input.len() > max_head {
            return Err(bad(400, "request head too large", None));
        }
        return Ok(Input::Incomplete);
    };
    if head_len > max_head {
        return Err(bad(400, "request head too large", None));
    }
    let head = std::str::from_utf8(&input[..head_len])
        .map_err(|_| bad(400, "request head is not UTF-8", None))?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    // The URI is echoed in RTP-Info: a bare CR or another control character there (or in a
    // header value) could split the answer's head.
    if request_line.contains(|c: char| c.is_control()) {
        return Err(bad(400, "control character in the request line", None));
    }
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if headers.len() == MAX_HEADERS {
            return Err(bad(400, "too many header lines", None));
        }
        let (name, value) =
            line.split_once(':')
                .ok_or(bad(400, "header line without a colon", None))?;
        if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace() || c.is_control()) {
            return Err(bad(400, "malformed header name", None));
        }
        if value.contains(|c: char| c.is_control() && c != '\t') {
            return Err(bad(400, "control character in a header value", None));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let cseq = cseq(&headers)?;
    let mut parts = request_line.split(' ');
    let (Some(method_token), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(400, "malformed request line", Some(cseq)));
    };
    if version != "RTSP/1.0" {
        return Err(bad(505, "only RTSP/1.0 is served", Some(cseq)));
    }
    if method_token.is_empty() || uri.is_empty() {
        return Err(bad(400, "malformed request line", Some(cseq)));
    }
    let body_len = match header_in(&headers, "Content-Length") {
        None => 0,
        Some(value) => value
            .parse::<usize>()
            .map_err(|_| bad(400, "Content-Length is not a number", Some(cseq)))?,
    };
    if body_len > max_body {
        return Err(bad(413, "request body too large", Some(cseq)));
    }
    let total = skipped + head_len + body_len;
    if input.len() < head_len + body_len {
        return Ok(Input::Incomplete);
    }
    Ok(Input::Request(
        Request {
            method: Method::parse(method_token),
            method_token: method_token.to_owned(),
            uri: uri.to_owned(),
            cseq,
            headers,
        },
        total,
    ))
}

fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `CSeq` must be present and a number (RFC 2326 12.17).
fn cseq(headers: &[(String, String)]) -> Result<u32, BadRequest> {
    let value = header_in(headers, "CSeq").ok_or(bad(400, "missing CSeq", None))?;
    value
        .parse::<u32>()
        .map_err(|_| bad(400, "CSeq is not a number", None))
}

/// The length of the head including its blank line (`\r\n\r\n`, or bare `\n\n`).
fn find_head_end(input: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(nl) = input[at..].iter().position(|&b| b == b'\n') {
        let end = at + nl + 1;
        match input.get(end) {
            Some(b'\n') => return Some(end + 1),
            Some(b'\r') if input.get(end + 1) == Some(&b'\n') => return Some(end + 2),
            _ => at = end,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(text: &str) -> Result<Input, BadRequest> {
        parse(text.as_bytes(), 4096, 1024)
    }

    #[test]
    fn a_request_is_read_with_its_headers() {
        let text =
            "DESCRIBE rtsp://cam/live RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n";
        let Ok(Input::Request(request, used)) = parse_all(text) else {
            panic!("not parsed");
        };
        assert_eq!(used, text.len());
        assert_eq!(request.method, Method::Describe);
        assert_eq!(request.uri, "rtsp://cam/live");
        assert_eq!(request.cseq, 2);
        assert_eq!(request.header("accept"), Some("application/sdp"));
    }

    #[test]
    fn a_bare_cr_cannot_smuggle_a_line_into_an_echoed_uri_or_a_header() {
        // Found by fuzzing (fuzz/seeds/rtsp_request/regression_bare_cr_in_header): the URI
        // is echoed in RTP-Info, where a bare CR would split the answer's head.
        let uri = "PLAY rtsp://cam/\rInjected:\ryes RTSP/1.0\r\nCSeq: 4\r\n\r\n";
        assert_eq!(
            parse_all(uri)
                .map(|_| ())
                .map_err(|bad| (bad.status, bad.reason)),
            Err((400, "control character in the request line"))
        );
        let header = "PLAY rtsp://cam/ RTSP/1.0\r\nCSeq: 4\r\nSession: 1\rX: y\r\n\r\n";
        assert_eq!(
            parse_all(header)
                .map(|_| ())
                .map_err(|bad| (bad.status, bad.reason)),
            Err((400, "control character in a header value"))
        );
        let tab = "PLAY rtsp://cam/ RTSP/1.0\r\nCSeq: 4\r\nUser-Agent: a\tb\r\n\r\n";
        assert!(matches!(parse_all(tab), Ok(Input::Request(..))));
    }

    #[test]
    fn pieces_wait_for_the_rest() {
        for cut in [0, 5, 30, 40] {
            let text = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n";
            assert_eq!(
                parse_all(&text[..cut.min(text.len() - 1)]),
                Ok(Input::Incomplete)
            );
        }
        let with_body =
            "SET_PARAMETER rtsp://c/ RTSP/1.0\r\nCSeq: 9\r\nContent-Length: 5\r\n\r\nab";
        assert_eq!(parse_all(with_body), Ok(Input::Incomplete));
        let whole = format!("{with_body}cde");
        assert!(matches!(parse_all(&whole), Ok(Input::Request(_, used)) if used == whole.len()));
    }

    #[test]
    fn session_ids_lose_their_parameters() {
        let text = "PLAY rtsp://c/ RTSP/1.0\r\nCSeq: 4\r\nSession: 0123abcd;timeout=60\r\n\r\n";
        let Ok(Input::Request(request, _)) = parse_all(text) else {
            panic!()
        };
        assert_eq!(request.session(), Some("0123abcd"));
    }

    #[test]
    fn interleaved_frames_are_told_apart() {
        assert_eq!(
            parse(b"$\x01\x00\x20rest", 4096, 1024),
            Ok(Input::Interleaved {
                channel: 1,
                len: 32
            })
        );
        assert_eq!(parse(b"$\x01", 4096, 1024), Ok(Input::Incomplete));
    }

    #[test]
    fn bad_requests_get_their_status() {
        let cases = [
            ("OPTIONS * RTSP/1.0\r\n\r\n", 400, "missing CSeq"),
            (
                "OPTIONS * RTSP/1.0\r\nCSeq: one\r\n\r\n",
                400,
                "CSeq is not a number",
            ),
            (
                "OPTIONS * HTTP/1.1\r\nCSeq: 1\r\n\r\n",
                505,
                "only RTSP/1.0 is served",
            ),
            (
                "OPTIONS *\r\nCSeq: 1\r\n\r\n",
                400,
                "malformed request line",
            ),
            (
                "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nno colon\r\n\r\n",
                400,
                "header line without a colon",
            ),
            (
                "SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999\r\n\r\n",
                413,
                "request body too large",
            ),
            (
                "SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -1\r\n\r\n",
                400,
                "Content-Length is not a number",
            ),
        ];
        for (text, status, reason) in cases {
            let err = parse_all(text).expect_err(text);
            assert_eq!((err.status, err.reason), (status, reason), "{text}");
        }
    }

    #[test]
    fn oversized_heads_are_refused_before_they_end() {
        let long = format!("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: {}", "a".repeat(5000));
        assert_eq!(
            parse_all(&long).unwrap_err().reason,
            "request head too large"
        );
        let many: String = (0..70).map(|n| format!("X{n}: y\r\n")).collect();
        let text = format!("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n{many}\r\n");
        assert_eq!(
            parse_all(&text).unwrap_err().reason,
            "too many header lines"
        );
    }

    #[test]
    fn leading_blank_lines_and_bare_newlines_are_accepted() {
        let text = "\r\nOPTIONS * RTSP/1.0\nCSeq: 3\n\n";
        assert!(
            matches!(parse_all(text), Ok(Input::Request(r, used)) if r.cseq == 3 && used == text.len())
        );
    }
}
