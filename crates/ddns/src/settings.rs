//! What the updater is told: the owner's settings from `/network.cgi`, and the daemon's
//! options (a self-hosted server, intervals), checked once at start.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use ipcam_api::NetworkConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;

use crate::schedule::Timing;

/// The DDNS rows of `/network.cgi`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DdnsSettings {
    /// `DDNSEnable`.
    pub enabled: bool,
    /// `DDNSProvider`: an ID of the spec's Table 2.
    pub provider: String,
    /// `DDNSHostName`.
    pub host_name: String,
    /// `DDNSUserName`.
    pub user_name: String,
    /// `DDNSPassword`: never shown by `Debug`, never logged.
    pub password: String,
}

impl fmt::Debug for DdnsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DdnsSettings")
            .field("enabled", &self.enabled)
            .field("provider", &self.provider)
            .field("host_name", &self.host_name)
            .field("user_name", &self.user_name)
            .field("password", &"***")
            .finish()
    }
}

impl From<&NetworkConfig> for DdnsSettings {
    fn from(config: &NetworkConfig) -> Self {
        DdnsSettings {
            enabled: config.ddns_enable == 1,
            provider: config.ddns_provider.clone(),
            host_name: config.ddns_host_name.clone(),
            user_name: config.ddns_user_name.clone(),
            password: config.ddns_password.clone(),
        }
    }
}

/// The daemon's options for the updater (`[ddns]` of its configuration file).
#[derive(Debug, Clone, Default)]
pub struct DdnsOptions {
    /// An update URL used for every provider instead of its own ([`parse_server_url`]):
    /// a self-hosted dyndns2 server, or a test's.
    pub server: Option<String>,
    /// A "check IP" service whose answer holds the camera's public address
    /// ([`parse_check_ip_url`]), asked every [`Timing::check_ip`]; `None`: the camera's
    /// own address when public, else the server's view of the request.
    pub check_ip: Option<String>,
    /// Where the last accepted update is kept, so that a restart does not send it again
    /// (the state directory's `ddns-last-update`); `None`: nowhere.
    pub cache_file: Option<std::path::PathBuf>,
    /// DER certificates trusted alone for the update server's TLS (a self-hosted CA);
    /// `None`: the webpki roots.
    pub only_roots: Option<Vec<Vec<u8>>>,
    /// Refresh, address check and retry intervals.
    pub timing: Timing,
    /// Longest an update may take, connection included (zero: 30 s).
    pub timeout: Duration,
}

/// Why a server URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerUrlError {
    /// Neither `http://` nor `https://`.
    #[error("must start with https:// or http://")]
    Scheme,
    /// No host after the scheme.
    #[error("has no host")]
    NoHost,
    /// Credentials, a query or a fragment: the updater adds its own.
    #[error("must not hold a user name, query or fragment")]
    Extra,
    /// A port that is not a number up to 65535.
    #[error("has a bad port")]
    Port,
}

impl ServerUrlError {
    /// Why, in the words of its `Display` (for errors that take a `&'static str`).
    pub fn reason(&self) -> &'static str {
        match self {
            ServerUrlError::Scheme => "must start with https:// or http://",
            ServerUrlError::NoHost => "has no host",
            ServerUrlError::Extra => "must not hold a user name, query or fragment",
            ServerUrlError::Port => "has a bad port",
        }
    }
}

/// Checks an update server URL, `https://HOST[:PORT][/PATH]` (or `http://`), and gives the
/// URL to send updates to: its path, `/nic/update` when it has none.
pub fn parse_server_url(url: &str) -> Result<String, ServerUrlError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(ServerUrlError::Scheme)?;
    if rest.contains(['@', '?', '#']) || rest.contains(char::is_whitespace) {
        return Err(ServerUrlError::Extra);
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.is_empty() {
        return Err(ServerUrlError::NoHost);
    }
    let path = if path.is_empty() || path == "/" {
        "/nic/update"
    } else {
        path
    };
    let scheme = &url[..url.len() - rest.len()];
    let update_url = format!("{scheme}{authority}{path}");
    match crate::client::Url::parse(&update_url) {
        Some(_) => Ok(update_url),
        None => Err(ServerUrlError::Port),
    }
}

/// Checks a "check IP" service URL: `https://HOST[:PORT][/PATH[?QUERY]]` (or `http://`).
pub fn parse_check_ip_url(url: &str) -> Result<String, ServerUrlError> {
    if url.contains(['@', '#']) || url.contains(char::is_whitespace) {
        return Err(ServerUrlError::Extra);
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(ServerUrlError::Scheme)?;
    if rest.is_empty() || rest.starts_with(['/', '?', ':']) {
        return Err(ServerUrlError::NoHost);
    }
    match crate::client::Url::parse(url) {
        Some(_) => Ok(url.to_owned()),
        None => Err(ServerUrlError::Port),
    }
}

/// Why a CA file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaFileError {
    /// Not PEM.
    #[error("not a PEM file: {0}")]
    Pem(String),
    /// PEM without a certificate.
    #[error("holds no certificate")]
    NoCertificate,
    /// A certificate that does not parse.
    #[error("bad certificate: {0}")]
    Certificate(String),
}

/// The certificates (DER) of a PEM file, for [`DdnsOptions::only_roots`].
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, CaFileError> {
    let mut certificates = Vec::new();
    for certificate in CertificateDer::pem_slice_iter(pem) {
        let certificate = certificate.map_err(|err| CaFileError::Pem(err.to_string()))?;
        rustls::RootCertStore::empty()
            .add(certificate.clone())
            .map_err(|err| CaFileError::Certificate(err.to_string()))?;
        certificates.push(certificate.to_vec());
    }
    if certificates.is_empty() {
        return Err(CaFileError::NoCertificate);
    }
    Ok(certificates)
}

/// Whether an address is reachable from the Internet, so worth sending as `myip`.
/// Private, shared (CGNAT), loopback, link-local, documentation, benchmarking,
/// multicast and reserved addresses are not: behind them the server's view of the
/// request's source address is the right one.
pub fn is_public(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_documentation()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && c == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_get_the_default_path_and_bad_ones_are_named() {
        assert_eq!(
            parse_server_url("http://127.0.0.1:8245").as_deref(),
            Ok("http://127.0.0.1:8245/nic/update")
        );
        assert_eq!(
            parse_server_url("https://ddns.example.org/").as_deref(),
            Ok("https://ddns.example.org/nic/update")
        );
        assert_eq!(
            parse_server_url("https://ddns.example.org/update").as_deref(),
            Ok("https://ddns.example.org/update")
        );
        assert_eq!(parse_server_url("ftp://x"), Err(ServerUrlError::Scheme));
        assert_eq!(
            parse_server_url("http://127.0.0.1:99999"),
            Err(ServerUrlError::Port)
        );
        assert_eq!(
            parse_server_url("https://[::1]:8443").as_deref(),
            Ok("https://[::1]:8443/nic/update")
        );
        assert_eq!(parse_server_url("https:///x"), Err(ServerUrlError::NoHost));
        assert_eq!(
            parse_server_url("https://me:pw@ddns.example.org"),
            Err(ServerUrlError::Extra)
        );
        assert_eq!(
            parse_server_url("https://ddns.example.org/u?x=1"),
            Err(ServerUrlError::Extra)
        );
    }

    #[test]
    fn check_ip_urls_keep_their_path_and_query() {
        assert_eq!(
            parse_check_ip_url("https://api.ipify.org/?format=text").as_deref(),
            Ok("https://api.ipify.org/?format=text")
        );
        assert_eq!(
            parse_check_ip_url("http://checkip.dyndns.org").as_deref(),
            Ok("http://checkip.dyndns.org")
        );
        assert_eq!(
            parse_check_ip_url("checkip.dyndns.org"),
            Err(ServerUrlError::Scheme)
        );
        assert_eq!(parse_check_ip_url("https://"), Err(ServerUrlError::NoHost));
        assert_eq!(
            parse_check_ip_url("http://x:0x/"),
            Err(ServerUrlError::Port)
        );
    }

    #[test]
    fn only_internet_addresses_are_public() {
        for ip in ["81.2.69.160", "8.8.8.8", "100.128.0.1", "172.32.0.1"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.20",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "203.0.113.7",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.0.8",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        assert_eq!(
            certificates_from_pem(b"no pem here"),
            Err(CaFileError::NoCertificate)
        );
        let pem = b"-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            certificates_from_pem(pem),
            Err(CaFileError::Certificate(_))
        ));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let settings = DdnsSettings {
            password: "hunter2".into(),
            ..DdnsSettings::default()
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
