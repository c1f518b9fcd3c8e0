//! The update request: `GET /nic/update?hostname=H[&myip=IP]` with Basic authentication
//! and a User-Agent naming the camera's firmware, as the dyndns2 protocol asks.
//!
//! `ureq` speaks HTTP/1.1 over the rustls + ring + webpki-roots stack the daemon already
//! holds for e-mail: no second TLS library. No proxy from the environment (a camera's
//! updates go straight out), no redirects (a redirect would carry the credentials
//! elsewhere), a bounded answer.

use std::net::Ipv4Addr;
use std::time::Duration;

use base64::Engine as _;

use crate::answer::Answer;

/// The User-Agent of every update: the protocol asks for "company - device - version".
pub const USER_AGENT: &str = concat!("ipcam - ipcamd - ", env!("CARGO_PKG_VERSION"));

/// Longest answer read; a dyndns2 answer is one short line.
const MAX_ANSWER_BYTES: u64 = 4096;

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
    /// The server answered 2xx with something that is not dyndns2.
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
}

/// Sends updates; the worker's only way out, so that its tests can answer for the server.
pub trait Updater: Send + 'static {
    /// Sends `request` and reads the answer.
    fn update(&mut self, request: &Request<'_>) -> Result<Answer, UpdateError>;
}

/// Updates over HTTP(S).
pub struct HttpUpdater {
    agent: ureq::Agent,
}

impl HttpUpdater {
    /// A client whose requests give up after `timeout` altogether. It trusts the
    /// webpki roots, or with `only_roots` (DER certificates) those alone: a self-hosted
    /// server's own CA, trusted for nothing but the updates.
    pub fn new(timeout: Duration, only_roots: Option<&[Vec<u8>]>) -> Self {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(roots) = only_roots {
            let roots: Vec<ureq::tls::Certificate<'static>> = roots
                .iter()
                .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
                .collect();
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&roots));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .user_agent(USER_AGENT)
            .tls_config(tls.build())
            .build();
        HttpUpdater {
            agent: config.into(),
        }
    }
}

impl Updater for HttpUpdater {
    fn update(&mut self, request: &Request<'_>) -> Result<Answer, UpdateError> {
        let credentials = format!("{}:{}", request.user_name, request.password);
        let authorization = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        let mut builder = self
            .agent
            .get(request.url)
            .query("hostname", request.host_name);
        if let Some(ip) = request.myip {
            builder = builder.query("myip", ip.to_string());
        }
        let mut response = builder
            .header("Authorization", authorization)
            .call()
            .map_err(connection_error)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(connection_error)?;
        match Answer::parse(status, &body) {
            Some(answer) => Ok(answer),
            None if (200..300).contains(&status) => Err(UpdateError::NotDyndns2),
            None => Err(UpdateError::Http(status)),
        }
    }
}

/// A failed exchange: TLS (rustls reports through an `InvalidData` I/O error) or the
/// connection.
fn connection_error(err: ureq::Error) -> UpdateError {
    match &err {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => UpdateError::Tls(err.to_string()),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            UpdateError::Tls(err.to_string())
        }
        _ => UpdateError::Unreachable(err.to_string()),
    }
}
