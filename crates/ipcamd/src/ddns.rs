//! The daemon's side of dynamic DNS: the `[ddns]` keys of its configuration file, where
//! the camera's own address comes from, and starting the updater of `ipcam-ddns`.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use ipcam_api::{Platform, SharedState};
use ipcam_ddns::{
    certificates_from_pem, AddressSource, Ddns, DdnsError, DdnsOptions, ServerUrlError, Timing,
};
use ipcam_platform::LinuxPlatform;
use serde::Deserialize;

use crate::config::{Config, PlatformBackend};

/// `[ddns]`: how the updater reaches the providers and how often.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DdnsConfig {
    /// Update URL used instead of every provider's own: a self-hosted dyndns2 server
    /// (`https://HOST[:PORT][/PATH]`, path `/nic/update` when none), or a test's
    /// `http://127.0.0.1:PORT`. Plain HTTP is possible only through this key. Empty: each
    /// provider's own HTTPS server.
    pub server: String,
    /// PEM file of the CA that alone is trusted for `server`'s HTTPS (a self-hosted
    /// server's own CA). Empty: the webpki roots built into the binary.
    pub ca_file: PathBuf,
    /// Hours after a `good` before the name is refreshed (doubling after each `nochg`).
    pub refresh_hours: u64,
    /// Seconds between looks at the camera's own address.
    pub address_check_secs: u64,
    /// A "check IP" web service whose answer holds the camera's public address (behind a
    /// NAT router), e.g. `https://checkip.amazonaws.com/`. Empty: none.
    pub check_ip: String,
    /// Seconds between questions to `check_ip`.
    pub check_ip_secs: u64,
    /// Seconds before the first retry after a passing failure (911, dnserr, network).
    pub retry_min_secs: u64,
    /// Longest wait, in seconds, between retries.
    pub retry_max_secs: u64,
    /// Seconds an update may take, connection included.
    pub timeout_secs: u64,
}

impl Default for DdnsConfig {
    fn default() -> Self {
        let timing = Timing::default();
        DdnsConfig {
            server: String::new(),
            ca_file: PathBuf::new(),
            refresh_hours: timing.refresh.as_secs() / 3600,
            address_check_secs: timing.address_check.as_secs(),
            check_ip: String::new(),
            check_ip_secs: timing.check_ip.as_secs(),
            retry_min_secs: timing.retry_min.as_secs(),
            retry_max_secs: timing.retry_max.as_secs(),
            timeout_secs: 30,
        }
    }
}

impl DdnsConfig {
    /// Range checks for [`Config::validate`]: (bad, key, reason).
    pub(crate) fn checks(&self) -> [(bool, &'static str, &'static str); 8] {
        let server = self.server_url().err().map(|err| err.reason());
        let check_ip = self.check_ip_url().err().map(|err| err.reason());
        [
            (server.is_some(), "ddns.server", server.unwrap_or("")),
            (check_ip.is_some(), "ddns.check_ip", check_ip.unwrap_or("")),
            (
                self.check_ip_secs == 0,
                "ddns.check_ip_secs",
                "must be at least 1",
            ),
            (
                self.refresh_hours == 0,
                "ddns.refresh_hours",
                "must be at least 1",
            ),
            (
                self.address_check_secs == 0,
                "ddns.address_check_secs",
                "must be at least 1",
            ),
            (
                self.retry_min_secs == 0,
                "ddns.retry_min_secs",
                "must be at least 1",
            ),
            (
                self.retry_max_secs < self.retry_min_secs,
                "ddns.retry_max_secs",
                "must be at least ddns.retry_min_secs",
            ),
            (
                self.timeout_secs == 0,
                "ddns.timeout_secs",
                "must be at least 1",
            ),
        ]
    }

    fn check_ip_url(&self) -> Result<Option<String>, ServerUrlError> {
        if self.check_ip.is_empty() {
            return Ok(None);
        }
        ipcam_ddns::parse_check_ip_url(&self.check_ip).map(Some)
    }

    fn server_url(&self) -> Result<Option<String>, ServerUrlError> {
        if self.server.is_empty() {
            return Ok(None);
        }
        ipcam_ddns::parse_server_url(&self.server).map(Some)
    }

    /// The updater's options (the configuration was validated); reads the CA file.
    fn options(&self) -> Result<DdnsOptions, DdnsError> {
        let only_roots = if self.ca_file.as_os_str().is_empty() {
            None
        } else {
            let ca_error = |reason: String| DdnsError::CaFile {
                path: self.ca_file.clone(),
                reason,
            };
            let pem = std::fs::read(&self.ca_file).map_err(|err| ca_error(err.to_string()))?;
            Some(certificates_from_pem(&pem).map_err(|err| ca_error(err.to_string()))?)
        };
        let timing = Timing::default();
        Ok(DdnsOptions {
            server: self.server_url().ok().flatten(),
            check_ip: self.check_ip_url().ok().flatten(),
            only_roots,
            cache_file: None,
            timing: Timing {
                refresh: Duration::from_secs(self.refresh_hours * 3600),
                refresh_max: timing.refresh_max,
                address_check: Duration::from_secs(self.address_check_secs),
                check_ip: Duration::from_secs(self.check_ip_secs),
                retry_min: Duration::from_secs(self.retry_min_secs),
                retry_max: Duration::from_secs(self.retry_max_secs),
            },
            timeout: Duration::from_secs(self.timeout_secs),
        })
    }
}

/// The file in the state directory that holds the last accepted update.
const CACHE_FILE: &str = "ddns-last-update";

/// Starts the updater, idle until the configuration thread hands it the settings.
pub(crate) fn spawn(config: &Config, state: SharedState) -> Result<Ddns, DdnsError> {
    let options = DdnsOptions {
        cache_file: Some(config.state_dir.join(CACHE_FILE)),
        ..config.ddns.options()?
    };
    Ddns::spawn(options, address_source(config, state))
}

/// The interface pppd brings up for PPPoE (`IPAddressMode` 5): its first, as the image
/// runs one PPPoE link.
const PPPOE_INTERFACE: &str = "ppp0";

/// Where the camera's own address comes from: the interfaces themselves on a real board
/// (a DHCP lease or a PPPoE link may change it behind the daemon's back), the stored
/// table with the sim. With PPPoE the address is the link's; otherwise the wired
/// interface's, else the wireless one's.
fn address_source(config: &Config, state: SharedState) -> AddressSource {
    match config.platform.backend {
        PlatformBackend::Linux => {
            let interfaces = [
                Some(config.platform.interface.clone()),
                config.platform.wireless_interface.clone(),
            ];
            let lan: Vec<LinuxPlatform> = interfaces
                .into_iter()
                .flatten()
                .map(|name| LinuxPlatform::new(name, None))
                .collect();
            let pppoe = LinuxPlatform::new(PPPOE_INTERFACE, None);
            Box::new(move || {
                let address = |facts: &LinuxPlatform| {
                    let ip = facts.network().ok()?.ip;
                    (ip != Ipv4Addr::UNSPECIFIED).then_some(ip)
                };
                if state.load().network.ip_address_mode == 5 {
                    address(&pppoe)
                } else {
                    lan.iter().find_map(address)
                }
            })
        }
        PlatformBackend::Sim => Box::new(move || Some(state.load().network.ip_address)),
    }
}

#[cfg(test)]
mod tests {
    use ipcam_api::{ConfigService, InitialAdmin};
    use ipcam_platform::SimPlatform;

    use super::*;

    #[test]
    fn on_linux_the_address_is_the_first_interface_that_has_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (service, _) = ConfigService::open(
            dir.path(),
            Box::new(SimPlatform::new()),
            InitialAdmin::Password("pw".into()),
        )
        .expect("state");
        let mut config = Config::default();
        config.platform.backend = PlatformBackend::Linux;
        config.platform.interface = "ipcam-none0".into();
        config.platform.wireless_interface = Some("lo".into());
        let address = address_source(&config, service.shared());
        assert_eq!(address(), Some(Ipv4Addr::LOCALHOST));
        config.platform.wireless_interface = None;
        assert_eq!(address_source(&config, service.shared())(), None);
    }

    #[test]
    fn the_shipped_defaults_are_the_updaters() {
        let options = DdnsConfig::default().options().expect("no CA file");
        assert_eq!(options.server, None);
        assert_eq!(options.timing, Timing::default());
    }
}
