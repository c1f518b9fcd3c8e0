//! The Linux platform: real facts of a configured network interface, and changes made by
//! systemd's services.
//!
//! MAC, carrier, speed and duplex come from sysfs (`/sys/class/net/<if>/...`), the IPv4
//! address and netmask from `getifaddrs`, the default gateway from `/proc/self/net/route`
//! and the DNS servers from `/etc/resolv.conf`; the clock is the system clock. The file
//! locations are fields so that tests can point them at a fake tree.
//!
//! Changes go over D-Bus ([`SystemBus`]), so the daemon needs no privilege of its own:
//! the clock, NTP and the time zone to `systemd-timedated`, the camera's name and
//! location to `systemd-hostnamed` (`/etc/machine-info`), reboot to `systemd-logind`, and
//! the reload of rewritten network files ([`Reload`]) to `systemd-networkd` and the
//! service manager, after the response. Those files (addresses, wireless, PPPoE, time
//! servers) are written by [`ConfigFiles`] into `config_dir` before the settings are
//! stored, so a value a file cannot carry is refused with nothing saved.

use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ipcam_api::platform::{
    EthernetInfo, NetworkInfo, Platform, PlatformError, Reboot, WirelessInfo, WirelessLink,
};
use ipcam_api::CameraClock;
use ipcam_api::{DateTimeConfig, NetworkConfig, WirelessConfig};

use crate::config_files::ConfigFiles;
use crate::dbus::{BusError, SystemBus};
use crate::reload::Reload;

/// The unit that dials PPPoE (`pppd call ipcamd-pppoe nodetach`), shipped with the image.
pub const PPPOE_UNIT: &str = "ipcamd-pppoe.service";

/// The NTP client whose drop-in the daemon writes.
pub const TIMESYNCD_UNIT: &str = "systemd-timesyncd.service";

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

/// Reads the facts of one wired and, optionally, one wireless interface, and changes the
/// system through systemd's services.
#[derive(Debug)]
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
    /// Where the OS-facing files are written (`[platform] config_dir`).
    pub config_dir: PathBuf,
    clock: CameraClock,
    bus: SystemBus,
    /// Reloads owed for files written since the last [`Platform::run_deferred`].
    pending: Reload,
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
            config_dir: PathBuf::from("/etc/ipcamd/system"),
            clock: CameraClock::new(),
            bus: SystemBus::new(None),
            pending: Reload::default(),
        }
    }

    /// Talks to the bus at `address` instead of the system bus (`[platform] system_bus`).
    pub fn with_bus_address(mut self, address: Option<String>) -> Self {
        self.bus = SystemBus::new(address);
        self
    }

    /// Owes `reload` for files just written; [`Platform::run_deferred`] carries it out.
    pub fn queue_reload(&mut self, reload: Reload) {
        self.pending = self.pending.merge(reload);
    }

    /// Makes the services re-read their files: networkd reloads and reconfigures the
    /// interfaces, then the units restart or stop. Every step is tried; the first failure
    /// is returned.
    pub fn reload(&mut self, reload: Reload) -> Result<(), PlatformError> {
        let mut results = Vec::new();
        if reload.networkd {
            results.push(self.bus.reload_networkd().map_err(from_bus));
            let interfaces =
                std::iter::once(self.interface.clone()).chain(self.wireless_interface.clone());
            for interface in interfaces {
                results.push(self.reconfigure(&interface));
            }
        }
        let wpa_unit = self
            .wireless_interface
            .as_ref()
            .map(|wlan| format!("wpa_supplicant@{wlan}.service"));
        match (reload.wpa_supplicant, wpa_unit) {
            (Some(run), Some(unit)) => results.push(self.run_unit(&unit, run)),
            (Some(_), None) => log::warn!("wireless settings changed but no wireless_interface"),
            (None, _) => {}
        }
        if let Some(run) = reload.pppoe {
            results.push(self.run_unit(PPPOE_UNIT, run));
        }
        if reload.timesyncd {
            results.push(self.run_unit(TIMESYNCD_UNIT, true));
        }
        results.into_iter().collect()
    }

    fn reconfigure(&mut self, interface: &str) -> Result<(), PlatformError> {
        let index =
            nix::net::if_::if_nametoindex(interface).map_err(|errno| PlatformError::Io {
                what: format!("interface {interface}"),
                source: io::Error::from(errno),
            })?;
        let index = i32::try_from(index).map_err(|_| PlatformError::Malformed {
            what: format!("index of interface {interface}"),
        })?;
        self.bus.reconfigure_link(index).map_err(from_bus)
    }

    fn run_unit(&mut self, unit: &str, run: bool) -> Result<(), PlatformError> {
        let result = if run {
            self.bus.restart_unit(unit)
        } else {
            self.bus.stop_unit(unit)
        };
        result.map_err(from_bus)
    }

    /// The writer of the OS-facing files, for the current `config_dir` and interfaces.
    fn files(&self) -> ConfigFiles {
        ConfigFiles::new(
            &self.config_dir,
            &self.interface,
            self.wireless_interface.clone(),
        )
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

    /// Writes the wired `.network` (or the PPPoE peer); networkd and pppd re-read them
    /// after the response, because a new address may cut the client off.
    fn apply_network(&mut self, config: &NetworkConfig) -> Result<(), PlatformError> {
        let reload = self.files().write_network(config)?;
        self.queue_reload(reload);
        Ok(())
    }

    /// Writes `wpa_supplicant.conf` and the wireless `.network`; reloaded after the response.
    fn apply_wireless(&mut self, config: &WirelessConfig) -> Result<(), PlatformError> {
        let reload = self.files().write_wireless(config)?;
        self.queue_reload(reload);
        Ok(())
    }

    /// Writes timesyncd's drop-in (restarted after the response), then switches
    /// timedated's NTP on for time-server mode and off for manual mode (`SetTime` refuses
    /// while NTP runs).
    fn apply_time_sync(&mut self, config: &DateTimeConfig) -> Result<(), PlatformError> {
        let reload = self.files().write_time_servers(config)?;
        self.queue_reload(reload);
        self.bus
            .set_ntp(config.date_time_mode == 0)
            .map_err(from_bus)
    }

    fn set_time(&mut self, now: SystemTime) -> Result<(), PlatformError> {
        let since_epoch =
            now.duration_since(SystemTime::UNIX_EPOCH)
                .map_err(|_| PlatformError::Malformed {
                    what: "a time before 1970".into(),
                })?;
        let usec =
            i64::try_from(since_epoch.as_micros()).map_err(|_| PlatformError::Malformed {
                what: "a time too far in the future".into(),
            })?;
        self.bus.set_time(usec).map_err(from_bus)
    }

    fn set_time_zone(&mut self, zone: &str) -> Result<(), PlatformError> {
        self.bus.set_timezone(zone).map_err(from_bus)
    }

    /// `CameraName` becomes the pretty host name and `Location` the location of
    /// `/etc/machine-info`; the static host name (DNS, DHCP) stays the image's.
    fn set_identity(&mut self, name: &str, location: &str) -> Result<(), PlatformError> {
        self.bus.set_pretty_hostname(name).map_err(from_bus)?;
        self.bus.set_location(location).map_err(from_bus)
    }

    fn run_deferred(&mut self) -> Result<(), PlatformError> {
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return Ok(());
        }
        self.reload(pending)
    }

    fn reboot(&mut self) -> Result<Reboot, PlatformError> {
        self.bus.reboot().map_err(from_bus)?;
        Ok(Reboot::Requested)
    }
}

/// A service's answer in the platform's terms: polkit's refusal, a rejected value, or
/// another failure.
fn from_bus(err: BusError) -> PlatformError {
    match err {
        BusError::Denied { service, reason } => PlatformError::Refused { service, reason },
        BusError::InvalidArgs { service, reason } => PlatformError::Rejected { service, reason },
        BusError::Failed { service, reason } => PlatformError::Service { service, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipcam_testkit::dbus::{Call, Mocked, TestBus};

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
        assert_eq!(
            ipcam_api::platform::format_mac(&info.mac),
            "00 FF 5C 8A 13 18"
        );
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
    fn applied_network_settings_are_written_and_owe_a_networkd_reload_once() {
        let (dir, mut platform) = fake_tree();
        platform.config_dir = dir.path().join("system");
        fs::create_dir(&platform.config_dir).expect("mkdir");
        let fixed = NetworkConfig {
            ip_address_mode: 1,
            ip_address: Ipv4Addr::new(192, 168, 0, 20),
            ..NetworkConfig::default()
        };
        platform.apply_network(&fixed).expect("written");
        let written = fs::read_to_string(platform.config_dir.join("wired.network")).expect("file");
        assert!(written.contains("Name=eth9"), "{written}");
        assert!(written.contains("Address=192.168.0.20/"), "{written}");
        assert!(platform.pending.networkd);
        platform.pending = Reload::default();
        platform.apply_network(&fixed).expect("unchanged");
        assert!(
            platform.pending.is_empty(),
            "the same settings owe no reload"
        );
    }

    fn bus() -> Option<TestBus> {
        TestBus::start()
            .map_err(|why| eprintln!("skipped: no private D-Bus with dbusmock here: {why}"))
            .ok()
    }

    #[test]
    fn a_queued_reload_becomes_networkd_and_unit_calls_when_deferred_work_runs() {
        let Some(bus) = bus() else { return };
        let mut platform = LinuxPlatform::new("lo", Some("wlan9".into()))
            .with_bus_address(Some(bus.address().to_owned()));
        platform.queue_reload(Reload {
            networkd: true,
            wpa_supplicant: Some(true),
            ..Reload::default()
        });
        platform.queue_reload(Reload {
            pppoe: Some(false),
            timesyncd: true,
            ..Reload::default()
        });
        assert!(bus.calls(Mocked::Networkd).is_empty(), "nothing before");
        let err = platform.run_deferred().expect_err("wlan9 does not exist");
        assert!(err.to_string().contains("interface wlan9"), "{err}");
        let lo_index = read(Path::new("/sys/class/net/lo/ifindex")).expect("lo's index");
        // Every step ran although the wireless interface was missing.
        assert_eq!(
            bus.calls(Mocked::Networkd),
            [
                Call::new("Reload", &[]),
                Call::new("ReconfigureLink", &[lo_index.trim()]),
            ]
        );
        assert_eq!(
            bus.calls(Mocked::Systemd),
            [
                Call::new("RestartUnit", &["wpa_supplicant@wlan9.service", "replace"]),
                Call::new("StopUnit", &["ipcamd-pppoe.service", "replace"]),
                Call::new("RestartUnit", &["systemd-timesyncd.service", "replace"]),
            ]
        );
        bus.clear_calls();
        platform.run_deferred().expect("nothing left to do");
        assert!(bus.calls(Mocked::Networkd).is_empty());
        assert!(bus.calls(Mocked::Systemd).is_empty());
    }

    #[test]
    fn service_errors_are_sorted_into_refused_rejected_and_failed() {
        let Some(bus) = bus() else { return };
        let mut platform =
            LinuxPlatform::new("lo", None).with_bus_address(Some(bus.address().to_owned()));
        let cases = [
            ("org.freedesktop.DBus.Error.AccessDenied", "refused"),
            (
                "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
                "refused",
            ),
            ("org.freedesktop.DBus.Error.InvalidArgs", "rejected"),
            ("org.freedesktop.timedate1.NoSuchZone", "failed"),
        ];
        for (error, expected) in cases {
            bus.fail(Mocked::Timedated, "SetTimezone", error, "no\nway");
            let kind = match platform.set_time_zone("Mars/Olympus") {
                Err(PlatformError::Refused { service, reason }) => {
                    assert_eq!((service, reason.as_str()), ("systemd-timedated", "no way"));
                    "refused"
                }
                Err(PlatformError::Rejected { .. }) => "rejected",
                Err(PlatformError::Service { reason, .. }) => {
                    assert!(reason.contains(error), "{reason}");
                    "failed"
                }
                other => panic!("{error}: {other:?}"),
            };
            assert_eq!(kind, expected, "{error}");
        }
    }

    #[test]
    fn malformed_mac_is_reported() {
        assert_eq!(parse_mac("00:11:22:33:44"), None);
        assert_eq!(parse_mac("00:11:22:33:44:55:66"), None);
        assert_eq!(parse_mac("00:11:22:33:44:zz"), None);
    }
}
