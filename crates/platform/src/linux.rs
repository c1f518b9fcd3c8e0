//! The Linux platform: real facts of a configured network interface.
//!
//! MAC, carrier, speed and duplex come from sysfs (`/sys/class/net/<if>/...`), the IPv4
//! address and netmask from `getifaddrs`, the default gateway from `/proc/self/net/route`
//! and the DNS servers from `/etc/resolv.conf`; the clock is the system clock. The file
//! locations are fields so that tests can point them at a fake tree. Changing the system
//! (addresses, wireless, NTP, the clock) is not implemented yet and answers
//! [`PlatformError::Unsupported`].

use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ipcam_api::platform::{
    EthernetInfo, NetworkInfo, Platform, PlatformError, WirelessInfo, WirelessLink,
};
use ipcam_api::{DateTimeConfig, NetworkConfig, WirelessConfig};
use ipcam_api::CameraClock;

/// The IPv4 routing table of this process's network namespace.
///
/// Not `/proc/net/route`: the shipped unit mounts `/proc` with `ProcSubset=pid` (procfs
/// `subset=pid`), which hides every top-level entry not related to tasks, and the
/// `/proc/net` symlink is one of them, so reading it fails with ENOENT. The process's own
/// `/proc/self/net/` is a task entry, stays visible and holds the same tables (`/proc/net`
/// is only a symlink to it). See the kernel's Documentation/filesystems/proc.rst
/// ("subset=pid") and systemd.exec(5) (`ProcSubset=`); checked on Linux 6.18 with
/// `mount -t proc -o subset=pid`: `net/route` is absent, `self/net/route` readable.
pub const ROUTE_TABLE: &str = "/proc/self/net/route";

/// Reads the facts of one wired and, optionally, one wireless interface.
#[derive(Debug, Clone)]
pub struct LinuxPlatform {
    /// The wired interface, e.g. `eth0`.
    pub interface: String,
    /// The wireless interface, e.g. `wlan0`; `None` → `WirelessLink=Disable`.
    pub wireless_interface: Option<String>,
    /// Root of `class/net` (normally `/sys/class/net`).
    pub sys_class_net: PathBuf,
    /// The routing table (normally [`ROUTE_TABLE`]).
    pub proc_net_route: PathBuf,
    /// The resolver configuration (normally `/etc/resolv.conf`).
    pub resolv_conf: PathBuf,
    clock: CameraClock,
}

impl LinuxPlatform {
    /// The platform of `interface` with the standard file locations.
    pub fn new(interface: impl Into<String>, wireless_interface: Option<String>) -> Self {
        Self {
            interface: interface.into(),
            wireless_interface,
            sys_class_net: PathBuf::from("/sys/class/net"),
            proc_net_route: PathBuf::from(ROUTE_TABLE),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            clock: CameraClock::new(),
        }
    }

    fn sysfs(&self, interface: &str, attribute: &str) -> PathBuf {
        self.sys_class_net.join(interface).join(attribute)
    }

    fn mac(&self) -> Result<[u8; 6], PlatformError> {
        let path = self.sysfs(&self.interface, "address");
        let text = read(&path)?;
        parse_mac(text.trim()).ok_or_else(|| malformed(&path))
    }

    /// Reading `carrier` or `speed` of a down interface fails with EINVAL: no link.
    fn optional(&self, attribute: &str) -> Option<String> {
        fs::read_to_string(self.sysfs(&self.interface, attribute))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    fn ipv4(&self) -> Result<(Ipv4Addr, Ipv4Addr), PlatformError> {
        let addrs = nix::ifaddrs::getifaddrs().map_err(|errno| PlatformError::Io {
            what: "getifaddrs".into(),
            source: io::Error::from(errno),
        })?;
        for ifaddr in addrs.filter(|a| a.interface_name == self.interface) {
            let ip = ifaddr
                .address
                .as_ref()
                .and_then(|a| a.as_sockaddr_in())
                .map(|a| a.ip());
            let mask = ifaddr
                .netmask
                .as_ref()
                .and_then(|a| a.as_sockaddr_in())
                .map(|a| a.ip());
            if let Some(ip) = ip {
                return Ok((ip, mask.unwrap_or(Ipv4Addr::UNSPECIFIED)));
            }
        }
        Ok((Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED))
    }
}

fn read(path: &Path) -> Result<String, PlatformError> {
    fs::read_to_string(path).map_err(|source| PlatformError::Io {
        what: path.display().to_string(),
        source,
    })
}

fn malformed(path: &Path) -> PlatformError {
    PlatformError::Malformed {
        what: path.display().to_string(),
    }
}

/// Parses `aa:bb:cc:dd:ee:ff`.
fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The gateway of the default route of `interface` in the `/proc/self/net/route` format
/// (addresses are little-endian hex).
fn default_gateway(route_table: &str, interface: &str) -> Option<Ipv4Addr> {
    route_table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (iface, destination, gateway) = (fields.first()?, fields.get(1)?, fields.get(2)?);
        if *iface != interface || *destination != "00000000" {
            return None;
        }
        let raw = u32::from_str_radix(gateway, 16).ok()?;
        Some(Ipv4Addr::from(raw.swap_bytes()))
    })
}

/// The IPv4 `nameserver` lines of a resolv.conf, in order.
fn name_servers(resolv_conf: &str) -> Vec<Ipv4Addr> {
    resolv_conf
        .lines()
        .filter_map(|line| line.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.trim().parse().ok())
        .collect()
}

impl Platform for LinuxPlatform {
    fn clock(&self) -> CameraClock {
        self.clock.clone()
    }

    fn ethernet(&self) -> Result<EthernetInfo, PlatformError> {
        let mac = self.mac()?;
        let (ip, _) = self.ipv4()?;
        let link = self.optional("carrier").as_deref() == Some("1");
        let speed_mbps = self
            .optional("speed")
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|s| u32::try_from(s).ok());
        let full_duplex = self.optional("duplex").as_deref() == Some("full");
        Ok(EthernetInfo {
            mac,
            ip,
            link,
            speed_mbps,
            full_duplex,
        })
    }

    fn network(&self) -> Result<NetworkInfo, PlatformError> {
        let (ip, subnet_mask) = self.ipv4()?;
        let gateway = read(&self.proc_net_route)
            .ok()
            .and_then(|table| default_gateway(&table, &self.interface))
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let servers = read(&self.resolv_conf)
            .map(|c| name_servers(&c))
            .unwrap_or_default();
        let server = |i: usize| servers.get(i).copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
        Ok(NetworkInfo {
            ip,
            subnet_mask,
            gateway,
            dns1: server(0),
            dns2: server(1),
        })
    }

    fn wireless(&self) -> Result<WirelessInfo, PlatformError> {
        let link = match &self.wireless_interface {
            None => WirelessLink::Disable,
            Some(wlan) => match fs::read_to_string(self.sysfs(wlan, "operstate")) {
                Ok(state) if state.trim() == "up" => WirelessLink::Yes,
                Ok(_) => WirelessLink::No,
                Err(_) => WirelessLink::Disable,
            },
        };
        Ok(WirelessInfo {
            link,
            access_point: None,
        })
    }

    fn apply_network(&mut self, _config: &NetworkConfig) -> Result<(), PlatformError> {
        Err(PlatformError::Unsupported("applying network settings"))
    }

    fn apply_wireless(&mut self, _config: &WirelessConfig) -> Result<(), PlatformError> {
        Err(PlatformError::Unsupported("applying wireless settings"))
    }

    fn apply_time_sync(&mut self, _config: &DateTimeConfig) -> Result<(), PlatformError> {
        Err(PlatformError::Unsupported(
            "configuring time synchronisation",
        ))
    }

    fn set_time(&mut self, _now: SystemTime) -> Result<(), PlatformError> {
        Err(PlatformError::Unsupported("setting the system clock"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_tree() -> (tempfile::TempDir, LinuxPlatform) {
        let dir = tempfile::tempdir().expect("tempdir");
        let eth = dir.path().join("net/eth9");
        fs::create_dir_all(&eth).expect("mkdir");
        fs::write(eth.join("address"), "00:ff:5c:8a:13:18\n").expect("write");
        fs::write(eth.join("carrier"), "1\n").expect("write");
        fs::write(eth.join("speed"), "100\n").expect("write");
        fs::write(eth.join("duplex"), "full\n").expect("write");
        let route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n\
                     eth9\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
                     eth9\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\n";
        fs::write(dir.path().join("route"), route).expect("write");
        let resolv =
            "# generated\nsearch lan\nnameserver 192.168.0.1\nnameserver ::1\nnameserver 8.8.8.8\n";
        fs::write(dir.path().join("resolv.conf"), resolv).expect("write");
        let mut platform = LinuxPlatform::new("eth9", Some("wlan9".into()));
        platform.sys_class_net = dir.path().join("net");
        platform.proc_net_route = dir.path().join("route");
        platform.resolv_conf = dir.path().join("resolv.conf");
        (dir, platform)
    }

    #[test]
    fn sysfs_facts_are_read_and_formatted() {
        let (_dir, platform) = fake_tree();
        let info = platform.ethernet().expect("facts");
        assert_eq!(ipcam_api::platform::format_mac(&info.mac), "00 FF 5C 8A 13 18");
        assert!(info.link);
        assert_eq!(info.speed_text(), "100M bps");
        assert_eq!(info.duplex_text(), "Full Duplex");
    }

    #[test]
    fn gateway_and_dns_come_from_route_table_and_resolv_conf() {
        let (_dir, platform) = fake_tree();
        let info = platform.network().expect("facts");
        assert_eq!(info.gateway, Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(info.dns1, Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(info.dns2, Ipv4Addr::new(8, 8, 8, 8));
    }

    #[test]
    fn the_route_table_of_this_process_is_readable() {
        let table = read(Path::new(ROUTE_TABLE)).expect("the routing table");
        assert!(table.starts_with("Iface\tDestination\tGateway"), "{table}");
    }

    #[test]
    fn loopback_address_comes_from_getifaddrs() {
        let platform = LinuxPlatform::new("lo", None);
        let (ip, mask) = platform.ipv4().expect("getifaddrs");
        assert_eq!(ip, Ipv4Addr::LOCALHOST);
        assert_eq!(mask, Ipv4Addr::new(255, 0, 0, 0));
    }

    #[test]
    fn missing_wireless_interface_reads_as_disabled() {
        let (_dir, platform) = fake_tree();
        assert_eq!(
            platform.wireless().expect("facts").link,
            WirelessLink::Disable
        );
    }

    #[test]
    fn changing_the_system_is_not_supported_yet() {
        let (_dir, mut platform) = fake_tree();
        assert!(matches!(
            platform.set_time(SystemTime::now()),
            Err(PlatformError::Unsupported(_))
        ));
    }

    #[test]
    fn malformed_mac_is_reported() {
        assert_eq!(parse_mac("00:11:22:33:44"), None);
        assert_eq!(parse_mac("00:11:22:33:44:55:66"), None);
        assert_eq!(parse_mac("00:11:22:33:44:zz"), None);
    }
}
