//! The files the operating system's services read, generated from the camera's settings.
//!
//! The daemon stays unprivileged and writes every OS-facing file into one directory
//! (`[platform] config_dir`, `/etc/ipcamd/system` on the image, the only path the unit
//! may write). The image links each service's own location to a fixed name there
//! (`systemd/tmpfiles.d/ipcamd.conf`), so networkd, wpa_supplicant, timesyncd and pppd
//! read them where they always look:
//!
//! | file | read by | mode |
//! |---|---|---|
//! | [`WIRED_NETWORK`] | systemd-networkd | 0644 |
//! | [`WIRELESS_NETWORK`] | systemd-networkd | 0644 |
//! | [`WPA_SUPPLICANT`] | `wpa_supplicant@<wireless>.service` | 0600 |
//! | [`TIMESYNCD`] | systemd-timesyncd | 0644 |
//! | [`PPPOE_PEER`] | `ipcamd-pppoe.service` (pppd) | 0600 |
//!
//! Every setting is checked for its file's syntax and every file of a call rendered
//! before the first is written; each write is atomic and skipped when the content is
//! unchanged, and when the second file of a call cannot be written the first is put
//! back, so a call changes both files or neither. The returned [`Reload`] says which
//! service must re-read what changed.
//! A file that is not needed any more is written as one that does nothing (an empty peer
//! file, which `ipcamd-pppoe.service`'s `ConditionFileNotEmpty=` does not start on; a
//! wireless configuration without a network), never left stale.

mod atomic;
mod networkd;
mod pppd;
mod text;
mod timesyncd;
mod wpa;

use std::path::{Path, PathBuf};

use ipcam_api::PlatformError;

pub use crate::reload::Reload;
use ipcam_api::{DateTimeConfig, NetworkConfig, WirelessConfig};

pub use atomic::write_if_changed;
pub use networkd::prefix_length;

/// The wired interface's systemd-networkd file.
pub const WIRED_NETWORK: &str = "wired.network";
/// The wireless interface's systemd-networkd file.
pub const WIRELESS_NETWORK: &str = "wireless.network";
/// wpa_supplicant's configuration (holds the keys).
pub const WPA_SUPPLICANT: &str = "wpa_supplicant.conf";
/// systemd-timesyncd's drop-in.
pub const TIMESYNCD: &str = "timesyncd.conf";
/// pppd's peer file for PPPoE (holds the password).
pub const PPPOE_PEER: &str = "pppoe.peer";

const PUBLIC: u32 = 0o644;
const SECRET: u32 = 0o600;

/// Writes the OS-facing files for one camera into one directory.
#[derive(Debug, Clone)]
pub struct ConfigFiles {
    dir: PathBuf,
    wired: String,
    wireless: Option<String>,
}

impl ConfigFiles {
    /// Files in `dir` for the `wired` interface and, if the camera has one, the
    /// `wireless` interface.
    pub fn new(
        dir: impl Into<PathBuf>,
        wired: impl Into<String>,
        wireless: Option<String>,
    ) -> Self {
        ConfigFiles {
            dir: dir.into(),
            wired: wired.into(),
            wireless,
        }
    }

    /// The directory written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Wired `.network` (IPAddressMode 1 static / 4 DHCP / 5 link only) and the PPPoE
    /// peer file (empty unless IPAddressMode is 5).
    pub fn write_network(&self, config: &NetworkConfig) -> Result<Reload, PlatformError> {
        text::check_interface("interface", &self.wired)?;
        let network = networkd::wired(&self.wired, config)?;
        let pppoe = config.ip_address_mode == 5;
        let peer = if pppoe {
            pppd::peer(&self.wired, config)?
        } else {
            String::new()
        };
        let (networkd, peer_changed) = self.write_both(
            (WIRED_NETWORK, &network, PUBLIC),
            (PPPOE_PEER, &peer, SECRET),
        )?;
        Ok(Reload {
            networkd,
            pppoe: peer_changed.then_some(pppoe),
            ..Reload::default()
        })
    }

    /// `wpa_supplicant.conf` + `wireless.network`. Without a wireless interface both
    /// are written empty of networks and no service is named.
    pub fn write_wireless(&self, config: &WirelessConfig) -> Result<Reload, PlatformError> {
        let (network, supplicant) = match &self.wireless {
            Some(interface) => {
                text::check_interface("wireless_interface", interface)?;
                (networkd::wireless(interface, config), wpa::render(config)?)
            }
            None => (String::new(), wpa::render(&WirelessConfig::default())?),
        };
        let (networkd, supplicant_changed) = self.write_both(
            (WIRELESS_NETWORK, &network, PUBLIC),
            (WPA_SUPPLICANT, &supplicant, SECRET),
        )?;
        let running = !config.ssid.is_empty();
        Ok(Reload {
            networkd,
            wpa_supplicant: (supplicant_changed && self.wireless.is_some()).then_some(running),
            ..Reload::default()
        })
    }

    /// timesyncd drop-in with `NTP=` from TimeServerIPAddress (DateTimeMode 0), or
    /// without a server (DateTimeMode 1).
    pub fn write_time_servers(&self, config: &DateTimeConfig) -> Result<Reload, PlatformError> {
        let drop_in = timesyncd::drop_in(config)?;
        Ok(Reload {
            timesyncd: self.write(TIMESYNCD, &drop_in, PUBLIC)?,
            ..Reload::default()
        })
    }

    /// Writes both files of one setting, or neither: when the second cannot be written,
    /// the first gets its old content back, so that the disk matches the [`Reload`] the
    /// caller never received, and a retry finds both files changed and reloads both.
    fn write_both(
        &self,
        (first, first_content, first_mode): (&str, &str, u32),
        (second, second_content, second_mode): (&str, &str, u32),
    ) -> Result<(bool, bool), PlatformError> {
        let first_path = self.dir.join(first);
        let previous = snapshot(&first_path)?;
        let first_changed = self.write(first, first_content, first_mode)?;
        match self.write(second, second_content, second_mode) {
            Ok(second_changed) => Ok((first_changed, second_changed)),
            Err(error) => {
                if first_changed {
                    if let Err(restore) = restore(&first_path, previous) {
                        log::warn!("could not put back {}: {restore}", first_path.display());
                    }
                }
                Err(error)
            }
        }
    }

    fn write(&self, name: &str, content: &str, mode: u32) -> Result<bool, PlatformError> {
        let changed = write_if_changed(&self.dir.join(name), content.as_bytes(), mode)?;
        if changed {
            log::info!("wrote {}", self.dir.join(name).display());
        }
        Ok(changed)
    }
}

/// A file's content and mode, `None` if it does not exist.
fn snapshot(path: &Path) -> Result<Option<(Vec<u8>, u32)>, PlatformError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| PlatformError::Io {
        what: format!("reading {}", path.display()),
        source,
    };
    match std::fs::read(path) {
        Ok(content) => {
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o7777;
            Ok(Some((content, mode)))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io(error)),
    }
}

/// Puts back what [`snapshot`] saw.
fn restore(path: &Path, previous: Option<(Vec<u8>, u32)>) -> Result<(), PlatformError> {
    match previous {
        Some((content, mode)) => write_if_changed(path, &content, mode).map(drop),
        None => std::fs::remove_file(path).map_err(|source| PlatformError::Io {
            what: format!("removing {}", path.display()),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn files(dir: &Path) -> ConfigFiles {
        ConfigFiles::new(dir, "eth0", Some("wlan0".into()))
    }

    fn mode(dir: &Path, name: &str) -> u32 {
        fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn network_reloads_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path());
        let dhcp = NetworkConfig::default();
        let first = files.write_network(&dhcp).unwrap();
        assert_eq!(
            first,
            Reload {
                networkd: true,
                pppoe: Some(false),
                ..Reload::default()
            }
        );
        assert!(files.write_network(&dhcp).unwrap().is_empty());
        let pppoe = NetworkConfig {
            ip_address_mode: 5,
            pppoe_user_id: "isp".into(),
            pppoe_password: "secret".into(),
            ..NetworkConfig::default()
        };
        let dial = files.write_network(&pppoe).unwrap();
        assert_eq!((dial.networkd, dial.pppoe), (true, Some(true)));
        assert_eq!(mode(dir.path(), PPPOE_PEER), 0o600);
        assert_eq!(mode(dir.path(), WIRED_NETWORK), 0o644);
        let hang_up = files.write_network(&dhcp).unwrap();
        assert_eq!(hang_up.pppoe, Some(false));
        assert_eq!(fs::read(dir.path().join(PPPOE_PEER)).unwrap(), b"");
    }

    #[test]
    fn a_refused_setting_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path());
        let bad = NetworkConfig {
            ip_address_mode: 5,
            pppoe_user_id: "isp\nplugin evil.so".into(),
            ..NetworkConfig::default()
        };
        let error = files.write_network(&bad).unwrap_err();
        assert!(error.to_string().starts_with("PPPoEUserID: "), "{error}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn when_the_second_file_fails_the_first_is_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path());
        files.write_network(&NetworkConfig::default()).unwrap();
        let dhcp = fs::read(dir.path().join(WIRED_NETWORK)).unwrap();
        // A directory where the peer file goes: renaming over it fails.
        fs::remove_file(dir.path().join(PPPOE_PEER)).unwrap();
        fs::create_dir(dir.path().join(PPPOE_PEER)).unwrap();
        fs::write(dir.path().join(PPPOE_PEER).join("x"), "").unwrap();
        let pppoe = NetworkConfig {
            ip_address_mode: 5,
            pppoe_user_id: "isp".into(),
            ..NetworkConfig::default()
        };
        let error = files.write_network(&pppoe).unwrap_err();
        assert!(matches!(error, PlatformError::Io { .. }), "{error:?}");
        assert_eq!(fs::read(dir.path().join(WIRED_NETWORK)).unwrap(), dhcp);
        // Once the obstacle is gone, the retry reports both files changed.
        fs::remove_dir_all(dir.path().join(PPPOE_PEER)).unwrap();
        let retry = files.write_network(&pppoe).unwrap();
        assert_eq!((retry.networkd, retry.pppoe), (true, Some(true)));
    }

    #[test]
    fn a_first_file_that_did_not_exist_is_removed_again() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(WPA_SUPPLICANT)).unwrap();
        fs::write(dir.path().join(WPA_SUPPLICANT).join("x"), "").unwrap();
        let error = files(dir.path())
            .write_wireless(&WirelessConfig::default())
            .unwrap_err();
        assert!(matches!(error, PlatformError::Io { .. }), "{error:?}");
        assert!(!dir.path().join(WIRELESS_NETWORK).exists());
    }

    #[test]
    fn a_bad_interface_name_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let files = ConfigFiles::new(dir.path(), "eth0 wlan0", Some("wl*".into()));
        let error = files.write_network(&NetworkConfig::default()).unwrap_err();
        assert!(error.to_string().starts_with("interface: "), "{error}");
        let error = files
            .write_wireless(&WirelessConfig::default())
            .unwrap_err();
        assert!(
            error.to_string().starts_with("wireless_interface: "),
            "{error}"
        );
    }

    #[test]
    fn wireless_starts_and_stops_the_supplicant() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path());
        let off = files.write_wireless(&WirelessConfig::default()).unwrap();
        assert_eq!((off.networkd, off.wpa_supplicant), (true, Some(false)));
        let on = WirelessConfig {
            ssid: "home".into(),
            wep_encryption: 4,
            pre_shared_key: "correct horse".into(),
            ..WirelessConfig::default()
        };
        let started = files.write_wireless(&on).unwrap();
        assert_eq!(
            (started.networkd, started.wpa_supplicant),
            (true, Some(true))
        );
        assert_eq!(mode(dir.path(), WPA_SUPPLICANT), 0o600);
        assert!(files.write_wireless(&on).unwrap().is_empty());
    }

    #[test]
    fn without_a_wireless_interface_no_service_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let files = ConfigFiles::new(dir.path(), "eth0", None);
        let on = WirelessConfig {
            ssid: "home".into(),
            ..WirelessConfig::default()
        };
        let reload = files.write_wireless(&on).unwrap();
        assert_eq!(reload.wpa_supplicant, None);
        assert_eq!(fs::read(dir.path().join(WIRELESS_NETWORK)).unwrap(), b"");
        let conf = fs::read_to_string(dir.path().join(WPA_SUPPLICANT)).unwrap();
        assert!(!conf.contains("network="), "{conf}");
    }

    #[test]
    fn time_servers_restart_timesyncd_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path());
        let config = DateTimeConfig::default();
        assert!(files.write_time_servers(&config).unwrap().timesyncd);
        assert!(files.write_time_servers(&config).unwrap().is_empty());
        let manual = DateTimeConfig {
            date_time_mode: 1,
            ..config
        };
        assert!(files.write_time_servers(&manual).unwrap().timesyncd);
    }
}
