//! The simulated platform: the embedded default and the test double.
//!
//! It behaves like a camera on a quiet LAN: the wired link is up at 100 Mbit/s full
//! duplex, the addresses are the ones last applied through `/network.cgi`, the wireless
//! interface "associates" with whatever SSID was configured, and the clock is the
//! system clock shifted by an offset when the time is set manually (going back to time
//! server mode drops the offset, as if NTP had synchronised it).

use std::net::Ipv4Addr;
use std::time::SystemTime;

use super::{
    AccessPoint, EthernetInfo, NetworkInfo, Platform, PlatformError, Reboot, WirelessInfo,
    WirelessLink,
};
use crate::sections::{DateTimeConfig, NetworkConfig, WirelessConfig};
use crate::timezone::CameraClock;

/// The simulated MAC address: the spec's example with the locally administered bit set.
pub const SIM_MAC: [u8; 6] = [0x02, 0xFF, 0x5C, 0x8A, 0x13, 0x18];

/// In-memory platform.
#[derive(Debug, Clone)]
pub struct SimPlatform {
    clock: CameraClock,
    network: NetworkConfig,
    wireless: WirelessConfig,
}

impl Default for SimPlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl SimPlatform {
    /// A platform with factory network settings and a clock on system time.
    pub fn new() -> Self {
        Self {
            clock: CameraClock::new(),
            network: NetworkConfig::default(),
            wireless: WirelessConfig::default(),
        }
    }
}

impl Platform for SimPlatform {
    fn clock(&self) -> CameraClock {
        self.clock.clone()
    }

    fn ethernet(&self) -> Result<EthernetInfo, PlatformError> {
        Ok(EthernetInfo {
            mac: SIM_MAC,
            ip: self.network.ip_address,
            link: true,
            speed_mbps: Some(100),
            full_duplex: true,
        })
    }

    fn network(&self) -> Result<NetworkInfo, PlatformError> {
        Ok(NetworkInfo {
            ip: self.network.ip_address,
            subnet_mask: self.network.subnet_mask,
            gateway: self.network.default_gateway,
            dns1: self.network.dns1,
            dns2: self.network.dns2,
        })
    }

    fn wireless(&self) -> Result<WirelessInfo, PlatformError> {
        if self.wireless.ssid.is_empty() {
            return Ok(WirelessInfo {
                link: WirelessLink::Disable,
                access_point: None,
            });
        }
        Ok(WirelessInfo {
            link: WirelessLink::Yes,
            access_point: Some(AccessPoint {
                ssid: self.wireless.ssid.clone(),
                bssid: [0x02, 0x0F, 0x3D, 0x3D, 0x90, 0x0E],
                channel: self.wireless.channel,
            }),
        })
    }

    fn apply_network(&mut self, config: &NetworkConfig) -> Result<(), PlatformError> {
        self.network = config.clone();
        if config.ip_address_mode != 1 && config.ip_address == Ipv4Addr::UNSPECIFIED {
            // A simulated DHCP server hands out the factory address.
            self.network.ip_address = NetworkConfig::default().ip_address;
        }
        Ok(())
    }

    fn apply_wireless(&mut self, config: &WirelessConfig) -> Result<(), PlatformError> {
        self.wireless = config.clone();
        Ok(())
    }

    fn apply_time_sync(&mut self, config: &DateTimeConfig) -> Result<(), PlatformError> {
        if config.date_time_mode == 0 {
            self.clock.set_now(SystemTime::now());
        }
        Ok(())
    }

    fn set_time(&mut self, now: SystemTime) -> Result<(), PlatformError> {
        self.clock.set_now(now);
        Ok(())
    }

    /// The camera's clock already shows the configured zone; there is no OS zone here.
    fn set_time_zone(&mut self, _zone: &str) -> Result<(), PlatformError> {
        Ok(())
    }

    /// The name and location live in the state only.
    fn set_identity(&mut self, _name: &str, _location: &str) -> Result<(), PlatformError> {
        Ok(())
    }

    /// Applies take effect at once; nothing waits for the response.
    fn run_deferred(&mut self) -> Result<(), PlatformError> {
        Ok(())
    }

    fn reboot(&mut self) -> Result<Reboot, PlatformError> {
        Ok(Reboot::Simulated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn manual_time_shifts_the_clock_and_ntp_mode_restores_it() {
        let mut sim = SimPlatform::new();
        let clock = sim.clock();
        let day = Duration::from_secs(86_400);
        sim.set_time(SystemTime::now() + day)
            .expect("sim sets time");
        let ahead = clock
            .now()
            .duration_since(SystemTime::now())
            .expect("ahead");
        assert!(ahead > day - Duration::from_secs(5), "{ahead:?}");
        sim.apply_time_sync(&DateTimeConfig::default())
            .expect("sim syncs");
        let drift = clock
            .now()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        assert!(drift < Duration::from_secs(5), "{drift:?}");
    }

    #[test]
    fn applied_network_settings_show_in_the_facts() {
        let mut sim = SimPlatform::new();
        let config = NetworkConfig {
            ip_address_mode: 1,
            ip_address: Ipv4Addr::new(10, 1, 2, 3),
            ..NetworkConfig::default()
        };
        sim.apply_network(&config).expect("sim applies");
        assert_eq!(sim.network().expect("facts").ip, Ipv4Addr::new(10, 1, 2, 3));
        assert_eq!(
            sim.ethernet().expect("facts").ip,
            Ipv4Addr::new(10, 1, 2, 3)
        );
    }

    #[test]
    fn wireless_is_disabled_until_an_ssid_is_configured() {
        let mut sim = SimPlatform::new();
        assert_eq!(sim.wireless().expect("facts").link, WirelessLink::Disable);
        let config = WirelessConfig {
            ssid: "garden".into(),
            ..WirelessConfig::default()
        };
        sim.apply_wireless(&config).expect("sim applies");
        let info = sim.wireless().expect("facts");
        assert_eq!(info.link, WirelessLink::Yes);
        assert_eq!(info.access_point.map(|ap| ap.ssid), Some("garden".into()));
    }
}
