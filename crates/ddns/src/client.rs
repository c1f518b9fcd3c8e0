//! The update request: `GET /nic/update?hostname=H[&myip=IP]` with Basic authentication
//! and a User-Agent naming the camera's firmware, as the dyndns2 protocol asks.
//!
//! A small HTTP/1.1 client, one request per connection (`Connection: close`): TLS is the
//! rustls + ring + webpki-roots stack the daemon already holds for e-mail, the answer's
//! head is read by `httparse`, which the HTTP server already uses. A general client
//! (`ureq` on the same rustls) was tried first: it added 340 KB to the stripped binary,
//! this adds a few tens. No proxy, no redirects (they would carry the login elsewhere),
//! bounded answers, a timeout on every step.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::answer::Answer;

/// The User-Agent of every update: the protocol asks for "company - device - version".
pub const USER_AGENT: &str = concat!("ipcam - ipcamd - ", env!("CARGO_PKG_VERSION"));

/// Longest answer read, head included; a dyndns2 answer is one short line.
const MAX_RESPONSE_BYTES: usize = 8192;

/// Most header lines read in an answer.
const MAX_HEADERS: usize = 32;

/// Characters of a query value sent as they are (RFC 3986 unreserved).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One update to send.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Update URL without query, e.g. `https://members.dyndns.org/nic/update`.
    pub url: &'a str,
    /// `hostname`.
    pub host_name: &'a str,
    /// `myip`; `None` lets the server take the request's source address.
    pub myip: Option<Ipv4Addr>,
    /// Basic user name.
    pub user_name: &'a str,
    /// Basic password.
    pub password: &'a str,
}

/// An update that got no dyndns2 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// The server could not be reached or the connection failed (DNS, refused,
    /// timeout).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// TLS failed: the server's certificate is not trusted or the handshake broke.
    #[error("TLS: {0}")]
    Tls(String),
    /// The server answered with an HTTP error status and no dyndns2 code.
    #[error("HTTP {0}")]
    Http(u16),
    /// The answer is not HTTP, or is 2xx with something that is not dyndns2.
    #[error("not a dyndns2 answer")]
    NotDyndns2,
}

impl UpdateError {
    /// A short word for the status line of `/inetwork.cgi`.
    pub fn short(&self) -> String {
        match self {
            UpdateError::Unreachable(_) => "unreachable".into(),
            UpdateError::Tls(_) => "TLS error".into(),
            UpdateError::Http(status) => format!("HTTP {status}"),
            UpdateError::NotDyndns2 => "bad answer".into(),
        }
    }

    /// A failed read or write: rustls reports TLS failures as `InvalidData`.
    fn io(err: io::Error) -> Self {
        if err.kind() == io::ErrorKind::InvalidData {
            UpdateError::Tls(err.to_string())
        } else {
            UpdateError::Unreachable(err.to_string())
        }
    }
}

/// Sends updates; the worker's only way out, so that its tests can answer for the server.
pub trait Updater: Send + 'static {
    /// Sends `request` and reads the answer.
    fn update(&mut self, request: &Request<'_>) -> Result<Answer, UpdateError>;

    /// Gets `url` without a login (a "check IP" service) and returns a 2xx answer's body.
    fn fetch(&mut self, url: &str) -> Result<String, UpdateError>;
}

/// Updates over HTTP(S).
pub struct HttpUpdater {
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl HttpUpdater {
    /// A client whose updates give up after `timeout` (to connect, and per read or
    /// write). It trusts the webpki roots, or with `only_roots` (DER certificates) those
    /// alone: a self-hosted server's own CA, trusted for nothing but the updates
    /// (certificates that do not parse are left out; [`crate::certificates_from_pem`]
    /// checks them first).
    pub fn new(timeout: Duration, only_roots: Option<&[Vec<u8>]>) -> Result<Self, rustls::Error> {
        let roots = match only_roots {
            Some(ders) => {
                let mut roots = rustls::RootCertStore::empty();
                let ders = ders.iter().map(|der| CertificateDer::from(der.clone()));
                roots.add_parsable_certificates(ders);
                roots
            }
            None => rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(HttpUpdater {
            tls: Arc::new(tls),
            timeout,
        })
    }

    fn connect(&self, host: &str, port: u16) -> Result<TcpStream, UpdateError> {
        let unreachable = |err: io::Error| UpdateError::Unreachable(err.to_string());
        let deadline = Instant::now() + self.timeout;
        let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no address");
        for addr in (host, port).to_socket_addrs().map_err(unreachable)? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(self.timeout))
                        .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
                        .map_err(unreachable)?;
                    return Ok(stream);
                }
                Err(err) => last_error = err,
            }
        }
        Err(unreachable(last_error))
    }
}

impl HttpUpdater {
    /// Sends `head` to the server of `url` and reads the status and body of the answer.
    fn get(&self, url: &Url<'_>, head: &str) -> Result<(u16, String), UpdateError> {
        let mut tcp = self.connect(url.host, url.port)?;
        if url.https {
            let name = ServerName::try_from(url.host.to_owned())
                .map_err(|err| UpdateError::Tls(err.to_string()))?;
            let mut connection = rustls::ClientConnection::new(Arc::clone(&self.tls), name)
                .map_err(|err| UpdateError::Tls(err.to_string()))?;
            exchange(&mut rustls::Stream::new(&mut connection, &mut tcp), head)
        } else {
            exchange(&mut tcp, head)
        }
    }
}

impl Updater for HttpUpdater {
    fn update(&mut self, request: &Request<'_>) -> Result<Answer, UpdateError> {
        let url = Url::parse(request.url).ok_or(UpdateError::NotDyndns2)?;
        let (status, body) = self.get(&url, &update_head(request, &url))?;
        match Answer::parse(status, &body) {
            Some(answer) => Ok(answer),
            None if (200..300).contains(&status) => Err(UpdateError::NotDyndns2),
            None => Err(UpdateError::Http(status)),
        }
    }

    fn fetch(&mut self, url: &str) -> Result<String, UpdateError> {
        let parsed = Url::parse(url).ok_or(UpdateError::NotDyndns2)?;
        let target = match parsed.path {
            query if query.starts_with('?') => format!("/{query}"),
            path => path.to_owned(),
        };
        let head = head(&target, parsed.authority, None);
        match self.get(&parsed, &head)? {
            (200..=299, body) => Ok(body),
            (status, _) => Err(UpdateError::Http(status)),
        }
    }
}

/// The parts of an update URL (`http[s]://HOST[:PORT]/PATH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Url<'a> {
    https: bool,
    host: &'a str,
    port: u16,
    /// The `Host` header: the authority as written.
    authority: &'a str,
    path: &'a str,
}

impl<'a> Url<'a> {
    /// The parts of `url`; `None` unless it is `http[s]://HOST[:PORT]...`.
    pub(crate) fn parse(url: &'a str) -> Option<Url<'a>> {
        let (https, rest) = match url.strip_prefix("https://") {
            Some(rest) => (true, rest),
            None => (false, url.strip_prefix("http://")?),
        };
        let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, Some(port.parse().ok()?)),
            _ => (authority, None),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return None;
        }
        Some(Url {
            https,
            host,
            port: port.unwrap_or(if https { 443 } else { 80 }),
            authority,
            path: if path.is_empty() { "/" } else { path },
        })
    }
}

/// The request line and headers of an update.
fn update_head(request: &Request<'_>, url: &Url<'_>) -> String {
    let host_name = percent_encoding::utf8_percent_encode(request.host_name, QUERY_VALUE);
    let mut target = format!("{}?hostname={host_name}", url.path);
    if let Some(ip) = request.myip {
        target.push_str(&format!("&myip={ip}"));
    }
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", request.user_name, request.password));
    head(&target, url.authority, Some(&credentials))
}

/// A GET of `target` at `authority`, with Basic `credentials` (base64) if given.
fn head(target: &str, authority: &str, credentials: Option<&str>) -> String {
    let authorization = credentials
        .map(|credentials| format!("Authorization: Basic {credentials}\r\n"))
        .unwrap_or_default();
    format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\n{authorization}\
         User-Agent: {USER_AGENT}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
    )
}

/// Sends `head` and reads the answer: its status and body.
fn exchange(stream: &mut (impl Read + Write), head: &str) -> Result<(u16, String), UpdateError> {
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(UpdateError::io)?;
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let read = match stream.read(&mut chunk) {
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            // A server closing without TLS close_notify: what arrived is all there is.
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(err) => return Err(UpdateError::io(err)),
        };
        buffer.extend_from_slice(&chunk[..read]);
        if buffer.len() > MAX_RESPONSE_BYTES {
            return Err(UpdateError::NotDyndns2);
        }
        if let Some(answer) = parse_response(&buffer, read == 0) {
            return answer;
        }
    }
}

/// The status and body of a response in `bytes`, or `None` while more must be read;
/// `ended`: the connection is closed, so nothing more will come.
fn parse_response(bytes: &[u8], ended: bool) -> Option<Result<(u16, String), UpdateError>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if !ended => return None,
        _ => return Some(Err(UpdateError::NotDyndns2)),
    };
    let status = response.code.unwrap_or(0);
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let rest = &bytes[head_len..];
    let body = if header("transfer-encoding").is_some_and(|v| v.ends_with("chunked")) {
        match dechunk(rest) {
            Some(body) => body,
            None if ended => return Some(Err(UpdateError::NotDyndns2)),
            None => return None,
        }
    } else if let Some(length) = header("content-length") {
        let Ok(length) = length.parse::<usize>() else {
            return Some(Err(UpdateError::NotDyndns2));
        };
        match rest.get(..length) {
            Some(body) => body.to_vec(),
            None if ended => return Some(Err(UpdateError::NotDyndns2)),
            None => return None,
        }
    } else if ended {
        rest.to_vec()
    } else {
        return None;
    };
    Some(Ok((status, String::from_utf8_lossy(&body).into_owned())))
}

/// The body of a complete chunked encoding, or `None` if it is cut short or malformed.
fn dechunk(mut bytes: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(bytes.get(..size)?);
        bytes = bytes.get(size..)?.strip_prefix(b"\r\n")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_with_default_ports() {
        let url = Url::parse("https://members.dyndns.org/nic/update").expect("url");
        assert_eq!(
            url,
            Url {
                https: true,
                host: "members.dyndns.org",
                port: 443,
                authority: "members.dyndns.org",
                path: "/nic/update",
            }
        );
        let url = Url::parse("http://127.0.0.1:8245/u").expect("url");
        assert_eq!((url.https, url.host, url.port), (false, "127.0.0.1", 8245));
        let url = Url::parse("https://[::1]:8443/nic/update").expect("url");
        assert_eq!((url.host, url.port), ("::1", 8443));
        let url = Url::parse("https://api.ipify.org?format=text").expect("url");
        assert_eq!((url.host, url.path), ("api.ipify.org", "?format=text"));
        assert_eq!(Url::parse("ftp://x/"), None);
        assert_eq!(Url::parse("http://x:port/"), None);
    }

    #[test]
    fn the_request_carries_login_agent_and_an_encoded_query() {
        let request = Request {
            url: "https://members.dyndns.org/nic/update",
            host_name: "cam one.example.org",
            myip: Some(Ipv4Addr::new(81, 2, 69, 160)),
            user_name: "me",
            password: "pw",
        };
        let url = Url::parse(request.url).expect("url");
        let head = update_head(&request, &url);
        assert_eq!(
            head,
            format!(
                "GET /nic/update?hostname=cam%20one.example.org&myip=81.2.69.160 HTTP/1.1\r\n\
                 Host: members.dyndns.org\r\nAuthorization: Basic bWU6cHc=\r\n\
                 User-Agent: {USER_AGENT}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
            )
        );
    }

    #[test]
    fn bodies_are_read_by_length_by_chunks_or_to_the_end() {
        let by_length = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood";
        assert_eq!(
            parse_response(by_length, false),
            Some(Ok((200, "good".into())))
        );
        assert_eq!(
            parse_response(&by_length[..40], false),
            None,
            "wait for more"
        );
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nnochg\r\n4;x=y\r\n 1.2\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked, false),
            Some(Ok((200, "nochg 1.2".into())))
        );
        let to_end = b"HTTP/1.0 401 Unauthorized\r\n\r\nbadauth";
        assert_eq!(parse_response(to_end, false), None);
        assert_eq!(
            parse_response(to_end, true),
            Some(Ok((401, "badauth".into())))
        );
        assert_eq!(
            parse_response(b"SSH-2.0-OpenSSH\r\n", true),
            Some(Err(UpdateError::NotDyndns2))
        );
        let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ngood";
        assert_eq!(
            parse_response(cut, true),
            Some(Err(UpdateError::NotDyndns2))
        );
    }

    /// A one-shot server on 127.0.0.1 that answers `reply` and hands back the request.
    fn serve_once(reply: &'static [u8]) -> (String, std::thread::JoinHandle<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/nic/update", listener.local_addr().expect("addr"));
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).expect("request");
                request.push(byte[0]);
            }
            // No Content-Length and no close: the client must stop at the last chunk.
            stream.write_all(reply).expect("reply");
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
            String::from_utf8(request).expect("text")
        });
        (url, server)
    }

    fn request(url: &str) -> Request<'_> {
        Request {
            url,
            host_name: "cam.example.org",
            myip: None,
            user_name: "me",
            password: "pw",
        }
    }

    #[test]
    fn a_chunked_answer_on_an_open_connection_is_read_to_its_last_chunk() {
        let (url, server) = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
              10\r\ngood 81.2.69.160\r\n0\r\n\r\n",
        );
        let mut updater = HttpUpdater::new(Duration::from_secs(5), None).expect("client");
        let answer = updater.update(&request(&url));
        assert_eq!(answer, Ok(Answer::Good("81.2.69.160".parse().ok())));
        let sent = server.join().expect("server");
        assert!(
            sent.starts_with("GET /nic/update?hostname=cam.example.org HTTP/1.1\r\n"),
            "{sent}"
        );
        assert!(
            sent.contains("\r\nAuthorization: Basic bWU6cHc=\r\n"),
            "{sent}"
        );
    }

    #[test]
    fn a_server_that_never_answers_is_given_up_after_the_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/nic/update", listener.local_addr().expect("addr"));
        let mut updater = HttpUpdater::new(Duration::from_millis(200), None).expect("client");
        let answer = updater.update(&request(&url));
        assert!(
            matches!(answer, Err(UpdateError::Unreachable(_))),
            "{answer:?}"
        );
        drop(listener);
    }

    #[test]
    fn a_refused_connection_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/nic/update", listener.local_addr().expect("addr"));
        drop(listener);
        let mut updater = HttpUpdater::new(Duration::from_secs(5), None).expect("client");
        assert!(matches!(
            updater.update(&request(&url)),
            Err(UpdateError::Unreachable(_))
        ));
    }
}
