//! What the camera learns from, and changes in, the operating system.
//!
//! The information CGIs (`/isystem.cgi`, `/inetwork.cgi`, `/iwireless.cgi`,
//! `/datetime.cgi`) show facts of the machine, and the configuration CGIs end in changes
//! to it (addresses, wireless, NTP, the clock). Both go through [`Platform`], with two
//! backends chosen by the daemon's configuration: [`sim::SimPlatform`], the embedded
//! default that keeps everything in memory, and the Linux backend of the `ipcam-platform`
//! crate, which acts on the operating system through systemd's services.
//!
//! The in-memory backend lives here rather than in `ipcam-platform` because this crate's
//! own service tests run on it: a dev-dependency on `ipcam-platform` would build a second
//! copy of this crate, whose `Platform` trait the tests' one would not be.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::SystemTime;

use crate::sections::{DateTimeConfig, NetworkConfig, WirelessConfig};
use crate::timezone::{CameraClock, TIME_ZONES};

pub mod sim;

/// Why the platform could not answer or apply.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// This backend cannot do that (yet).
    #[error("{0} is not supported by this platform backend")]
    Unsupported(&'static str),
    /// Reading or writing a system file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A system file had unexpected content.
    #[error("{what}: unexpected content")]
    Malformed {
        /// The file or value.
        what: String,
    },
    /// A setting the system's file format cannot carry; `name` is the parameter (or the
    /// `[platform]` key) at fault and `reason` never repeats a secret.
    #[error("{name}: {reason}")]
    Invalid {
        /// The spec parameter or configuration key.
        name: &'static str,
        /// Why it cannot be written.
        reason: String,
    },
    /// A system service would not do it for the camera (e.g. polkit's `AccessDenied`):
    /// the camera's setup is at fault, not the client (a 500).
    #[error("{service} refused: {reason}")]
    Refused {
        /// The service, e.g. `systemd-timedated`.
        service: &'static str,
        /// Its reason, one line, no secrets.
        reason: String,
    },
    /// A system service rejected the value itself (e.g. a time zone it does not have):
    /// the client's value is at fault (a 400 naming the parameter).
    #[error("{service} rejected the value: {reason}")]
    Rejected {
        /// The service, e.g. `systemd-timedated`.
        service: &'static str,
        /// Its reason, one line, no secrets.
        reason: String,
    },
    /// A system service failed, or could not be reached.
    #[error("{service}: {reason}")]
    Service {
        /// The service, e.g. `systemd-logind`.
        service: &'static str,
        /// What happened, one line, no secrets.
        reason: String,
    },
}

/// Facts of the wired interface for `/isystem.cgi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthernetInfo {
    /// Hardware address.
    pub mac: [u8; 6],
    /// First IPv4 address, `0.0.0.0` if none.
    pub ip: Ipv4Addr,
    /// Carrier present.
    pub link: bool,
    /// Link speed in Mbit/s, if known.
    pub speed_mbps: Option<u32>,
    /// Full duplex (false: half or unknown).
    pub full_duplex: bool,
}

impl EthernetInfo {
    /// `EthernetLink`: `Yes` or `No`.
    pub fn link_text(&self) -> &'static str {
        yes_no(self.link)
    }

    /// `EthernetSpeed`: `10M bps`, `100M bps` (the spec's), or the real rate of faster
    /// links in the same form (`1000M bps`); `0M bps` when unknown or down.
    pub fn speed_text(&self) -> String {
        format!(
            "{}M bps",
            self.speed_mbps.filter(|_| self.link).unwrap_or(0)
        )
    }

    /// `EthernetDuplex`: `Full Duplex` or `Half Duplex`.
    pub fn duplex_text(&self) -> &'static str {
        if self.full_duplex {
            "Full Duplex"
        } else {
            "Half Duplex"
        }
    }
}

/// A MAC address the way the spec writes it: `00 FF 5C 8A 13 18`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    let mut out = String::with_capacity(17);
    for (i, byte) in mac.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{byte:02X}");
    }
    out
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

/// The addresses in use, for `/inetwork.cgi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    /// IPv4 address.
    pub ip: Ipv4Addr,
    /// Netmask.
    pub subnet_mask: Ipv4Addr,
    /// Default gateway, `0.0.0.0` if none.
    pub gateway: Ipv4Addr,
    /// First DNS server, `0.0.0.0` if none.
    pub dns1: Ipv4Addr,
    /// Second DNS server, `0.0.0.0` if none.
    pub dns2: Ipv4Addr,
}

/// Wireless link state (`WirelessLink`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WirelessLink {
    /// Associated.
    Yes,
    /// Not associated.
    No,
    /// No wireless interface, or wireless is off.
    Disable,
}

impl WirelessLink {
    /// The spec's spelling.
    pub fn text(self) -> &'static str {
        match self {
            WirelessLink::Yes => "Yes",
            WirelessLink::No => "No",
            WirelessLink::Disable => "Disable",
        }
    }
}

/// The access point the camera is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPoint {
    /// Its SSID.
    pub ssid: String,
    /// Its BSSID.
    pub bssid: [u8; 6],
    /// The channel in use.
    pub channel: u8,
}

/// Wireless facts for `/iwireless.cgi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WirelessInfo {
    /// Link state.
    pub link: WirelessLink,
    /// The access point, when associated and known.
    pub access_point: Option<AccessPoint>,
}

/// The operating system as the configuration API sees it.
///
/// Methods take `&mut self` where they change the system; the configuration service owns
/// the platform on its worker thread, so slow calls never block the event loop.
pub trait Platform: Send {
    /// The camera's clock; clones are handed to the event loop for time stamps.
    fn clock(&self) -> CameraClock;
    /// Facts of the wired interface.
    fn ethernet(&self) -> Result<EthernetInfo, PlatformError>;
    /// Addresses in use.
    fn network(&self) -> Result<NetworkInfo, PlatformError>;
    /// Wireless state.
    fn wireless(&self) -> Result<WirelessInfo, PlatformError>;
    /// Applies a saved `/network.cgi` configuration.
    fn apply_network(&mut self, config: &NetworkConfig) -> Result<(), PlatformError>;
    /// Applies a saved `/wireless.cgi` configuration.
    fn apply_wireless(&mut self, config: &WirelessConfig) -> Result<(), PlatformError>;
    /// Applies the time-server part of `/datetime.cgi` (starts or stops NTP).
    fn apply_time_sync(&mut self, config: &DateTimeConfig) -> Result<(), PlatformError>;
    /// Sets the clock manually (`DateTimeMode=1` with `Date`/`Time`).
    fn set_time(&mut self, now: SystemTime) -> Result<(), PlatformError>;
    /// Sets the operating system's time zone to an IANA name (see [`os_time_zone`]).
    fn set_time_zone(&mut self, zone: &str) -> Result<(), PlatformError>;
    /// Publishes the camera's name and location (`CameraName`, `Location`) to the system.
    fn set_identity(&mut self, name: &str, location: &str) -> Result<(), PlatformError>;
    /// Carries out what the applies left for after the response (reloading the network,
    /// which may cut the client off); the daemon calls it once the response is written.
    fn run_deferred(&mut self) -> Result<(), PlatformError>;
    /// Reboots the camera (`ConfigReboot=Yes`, `Reset=Yes`); called after the response is
    /// written.
    fn reboot(&mut self) -> Result<Reboot, PlatformError>;
}

/// What [`Platform::reboot`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reboot {
    /// The machine is going down.
    Requested,
    /// Nothing to reboot (the simulated platform): the daemon restarts its own pipeline
    /// instead, as the closest thing to a reboot a client can see.
    Simulated,
}

/// The IANA name of the time zone of a `TimeZoneIndex`/`TimeZone` pair, for the operating
/// system: the row's zone, or for row 0 the fixed offset as `Etc/GMT-N`, whose sign is
/// the POSIX one, inverted (`TimeZone=+3`, three hours east of Greenwich, is
/// `Etc/GMT-3`). Unknown rows fall back to the offset, as the camera's own clock does.
pub fn os_time_zone(index: u8, offset_hours: i8) -> String {
    let row = TIME_ZONES.get(usize::from(index)).and_then(|row| row.zone);
    match row {
        Some(zone) => zone.name.to_owned(),
        None if offset_hours == 0 => "Etc/GMT".to_owned(),
        None => format!("Etc/GMT{:+}", -i16::from(offset_hours)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_looks_like_the_spec_example() {
        assert_eq!(
            format_mac(&[0x00, 0xff, 0x5c, 0x8a, 0x13, 0x18]),
            "00 FF 5C 8A 13 18"
        );
    }

    #[test]
    fn table_rows_name_their_iana_zone() {
        assert_eq!(os_time_zone(1, -12), "Etc/GMT+12");
        assert_eq!(os_time_zone(5, -8), "America/Los_Angeles");
    }

    #[test]
    fn fixed_offsets_use_the_inverted_etc_sign() {
        assert_eq!(os_time_zone(0, 0), "Etc/GMT");
        assert_eq!(os_time_zone(0, 3), "Etc/GMT-3");
        assert_eq!(os_time_zone(0, -12), "Etc/GMT+12");
        assert_eq!(os_time_zone(0, 13), "Etc/GMT-13");
        assert_eq!(os_time_zone(200, -5), "Etc/GMT+5");
    }

    #[test]
    fn speed_and_duplex_use_the_spec_spellings() {
        let mut info = EthernetInfo {
            mac: [0; 6],
            ip: Ipv4Addr::UNSPECIFIED,
            link: true,
            speed_mbps: Some(100),
            full_duplex: true,
        };
        assert_eq!(info.speed_text(), "100M bps");
        assert_eq!(info.duplex_text(), "Full Duplex");
        assert_eq!(info.link_text(), "Yes");
        info.full_duplex = false;
        info.speed_mbps = Some(10);
        assert_eq!(info.speed_text(), "10M bps");
        assert_eq!(info.duplex_text(), "Half Duplex");
    }
}
