//! What the server answers: responses, the SDP of DESCRIBE, and the URI check.

use std::net::IpAddr;

/// The request URI must be absolute `rtsp://` (any path: NVRs guess paths) or `*`.
pub(crate) fn check_uri(uri: &str) -> Result<(), Reply> {
    let lower = uri.get(..7).map(str::to_ascii_lowercase);
    if lower.as_deref() == Some("rtsp://") || uri == "*" {
        Ok(())
    } else {
        Err(Reply::status(400).reason("request URI must be rtsp://..."))
    }
}

/// The session description of the one video track (RFC 2327, RFC 2326 appendix C).
pub(crate) fn sdp(local: IpAddr, width: u16, height: u16) -> String {
    let (family, address) = match local {
        IpAddr::V4(ip) => ("IP4", ip.to_string()),
        IpAddr::V6(ip) => ("IP6", ip.to_string()),
    };
    let any = if local.is_ipv4() { "0.0.0.0" } else { "::" };
    let mut sdp = format!(
        "v=0\r\no=- 1 1 IN {family} {address}\r\ns=ipcam\r\nc=IN {family} {any}\r\nt=0 0\r\n\
         a=control:*\r\na=range:npt=0-\r\nm=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\n"
    );
    if width > 0 {
        sdp.push_str(&format!("a=framesize:26 {width}-{height}\r\n"));
    }
    sdp.push_str("a=control:track1\r\n");
    sdp
}

/// A response: status, headers, optional body.
pub(crate) struct Reply {
    status: u16,
    reason: Option<&'static str>,
    pub(crate) headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn ok() -> Self {
        Reply::status(200)
    }

    pub(crate) fn status(status: u16) -> Self {
        Reply {
            status,
            reason: None,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A one-line reason sent as the body of an error.
    pub(crate) fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub(crate) fn body(mut self, content_type: &'static str, body: String) -> Self {
        self.body = Some((content_type, body));
        self
    }

    pub(crate) fn render(self, cseq: u32, out: &mut Vec<u8>) {
        let mut text = format!(
            "RTSP/1.0 {} {}\r\nCSeq: {cseq}\r\nServer: ipcam\r\n",
            self.status,
            status_text(self.status)
        );
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = match (self.body, self.reason) {
            (Some((content_type, body)), _) => {
                text.push_str(&format!("Content-Type: {content_type}\r\n"));
                body
            }
            (None, Some(reason)) => {
                text.push_str("Content-Type: text/plain\r\n");
                format!("{reason}\r\n")
            }
            (None, None) => String::new(),
        };
        text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        out.extend_from_slice(text.as_bytes());
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        453 => "Not Enough Bandwidth",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        459 => "Aggregate Operation Not Allowed",
        461 => "Unsupported Transport",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "RTSP Version Not Supported",
        _ => "Error",
    }
}
