//! The Linux platform backend acting through systemd's D-Bus services, black-box: the
//! daemon runs in-process with `[platform] backend = "linux"` on `lo`, its `system_bus`
//! pointed at a private `dbus-daemon` where python-dbusmock plays timedated, logind,
//! hostnamed, networkd and the service manager (`ipcam_testkit::dbus`). Each test sends
//! what a client sends and checks the method calls and arguments the services received,
//! and that a service's refusal reaches the client as a clear error with nothing stored.

mod common;

use common::{form, table, value_of, TestCamera, ADMIN, DEADLINE};
use ipcam_testkit::dbus::{Call, Mocked, TestBus};

/// A camera on the Linux backend and the bus it talks to, start-up calls forgotten.
fn camera() -> Option<(TestBus, TestCamera, tempfile::TempDir)> {
    camera_with_wireless(None)
}

/// Like [`camera`], with `wireless` as the wireless interface.
fn camera_with_wireless(
    wireless: Option<&str>,
) -> Option<(TestBus, TestCamera, tempfile::TempDir)> {
    let wireless = wireless.map(str::to_owned);
    let bus = match TestBus::start() {
        Ok(bus) => bus,
        Err(why) => {
            eprintln!("skipped: no private D-Bus with dbusmock here: {why}");
            return None;
        }
    };
    let config_dir = tempfile::tempdir().expect("config dir");
    let address = bus.address().to_owned();
    let dir = config_dir.path().to_owned();
    let camera = TestCamera::start_with(move |config| {
        config.platform.backend = ipcamd::config::PlatformBackend::Linux;
        config.platform.interface = "lo".into();
        config.platform.system_bus = Some(address);
        config.platform.config_dir = dir;
        config.platform.wireless_interface = wireless;
    });
    bus.clear_calls();
    Some((bus, camera, config_dir))
}

fn set(camera: &TestCamera, path: &str, pairs: &[(&str, &str)]) -> common::Reply {
    camera.post(path, ADMIN, &form(pairs))
}

fn shown(camera: &TestCamera, path: &str, name: &str) -> String {
    let reply = camera.get(path, ADMIN);
    assert_eq!(reply.status, 200, "{}", reply.text());
    value_of(&table(&reply), name)
        .unwrap_or_else(|| panic!("{name} missing from {path}"))
        .to_owned()
}

#[test]
fn start_up_applies_the_stored_zone_ntp_and_identity() {
    let Some(bus) = TestBus::start()
        .map_err(|why| eprintln!("skipped: {why}"))
        .ok()
    else {
        return;
    };
    let address = bus.address().to_owned();
    let _camera = TestCamera::start_with(move |config| {
        config.platform.backend = ipcamd::config::PlatformBackend::Linux;
        config.platform.interface = "lo".into();
        config.platform.system_bus = Some(address);
    });
    // Factory settings: UTC on row 0, time-server mode, the spec's default name "IPCam".
    assert_eq!(
        bus.calls(Mocked::Timedated),
        [
            Call::new("SetTimezone", &["Etc/GMT", "false"]),
            Call::new("SetNTP", &["true", "false"]),
        ]
    );
    assert_eq!(
        bus.calls(Mocked::Hostnamed),
        [
            Call::new("SetPrettyHostname", &["IPCam", "false"]),
            Call::new("SetLocation", &["", "false"]),
        ]
    );
    assert!(bus.calls(Mocked::Logind).is_empty(), "no reboot at start");
}

#[test]
fn manual_time_switches_ntp_off_and_sets_the_clock_in_microseconds() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    let reply = set(
        &camera,
        "/datetime.cgi",
        &[
            ("DateTimeMode", "1"),
            ("TimeZoneIndex", "0"),
            ("TimeZone", "+2"),
            ("Date", "2030-01-02"),
            ("Time", "03:04:05"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    // 03:04:05 at UTC+2 is 01:04:05Z; 2030-01-01T00:00:00Z is 1893456000 s.
    let usec = (1_893_456_000_i64 + 86_400 + 3_600 + 4 * 60 + 5) * 1_000_000;
    assert_eq!(
        bus.calls(Mocked::Timedated),
        [
            // A fixed offset east of Greenwich: the Etc zone's sign is inverted.
            Call::new("SetTimezone", &["Etc/GMT-2", "false"]),
            Call::new("SetNTP", &["false", "false"]),
            Call::new("SetTime", &[&usec.to_string(), "false", "false"]),
        ]
    );
}

#[test]
fn time_server_mode_switches_ntp_on() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    assert_eq!(
        set(&camera, "/datetime.cgi", &[("DateTimeMode", "1")]).status,
        200
    );
    bus.clear_calls();
    assert_eq!(
        set(&camera, "/datetime.cgi", &[("DateTimeMode", "0")]).status,
        200
    );
    assert_eq!(
        bus.calls(Mocked::Timedated),
        [Call::new("SetNTP", &["true", "false"])]
    );
}

#[test]
fn a_time_zone_row_sets_its_iana_zone() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    // Appendix row 58: "(GMT+05:30) Chennai, Kolkata, Mumbai, New Delhi".
    let reply = set(&camera, "/datetime.cgi", &[("TimeZoneIndex", "58")]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        bus.calls(Mocked::Timedated),
        [Call::new("SetTimezone", &["Asia/Kolkata", "false"])]
    );
    assert_eq!(shown(&camera, "/datetime.cgi", "TimeZoneIndex"), "58");
}

#[test]
fn a_time_zone_the_service_refuses_is_a_400_and_the_old_zone_stays() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    bus.fail(
        Mocked::Timedated,
        "SetTimezone",
        "org.freedesktop.DBus.Error.InvalidArgs",
        "Invalid or not installed time zone 'Asia/Kolkata'",
    );
    let reply = set(&camera, "/datetime.cgi", &[("TimeZoneIndex", "58")]);
    assert_eq!(reply.status, 400);
    let text = reply.text();
    assert!(text.contains("TimeZoneIndex"), "{text}");
    assert!(text.contains("not installed time zone"), "{text}");
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    assert_eq!(shown(&camera, "/datetime.cgi", "TimeZoneIndex"), "0");
}

#[test]
fn a_polkit_denial_is_a_500_and_nothing_is_stored() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    bus.fail(
        Mocked::Timedated,
        "SetNTP",
        "org.freedesktop.DBus.Error.AccessDenied",
        "Access denied",
    );
    let reply = set(
        &camera,
        "/datetime.cgi",
        &[("DateTimeMode", "1"), ("TimeZoneIndex", "58")],
    );
    assert_eq!(reply.status, 500);
    let text = reply.text();
    assert!(text.contains("systemd-timedated refused"), "{text}");
    assert!(text.contains("Access denied"), "{text}");
    assert_eq!(shown(&camera, "/datetime.cgi", "DateTimeMode"), "0");
    assert_eq!(shown(&camera, "/datetime.cgi", "TimeZoneIndex"), "0");
    // The zone set before the refusal was put back.
    assert_eq!(
        bus.calls(Mocked::Timedated),
        [
            Call::new("SetTimezone", &["Asia/Kolkata", "false"]),
            Call::new("SetNTP", &["false", "false"]),
            Call::new("SetTimezone", &["Etc/GMT", "false"]),
        ]
    );
}

#[test]
fn camera_name_and_location_go_to_hostnamed() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    let reply = set(
        &camera,
        "/system.cgi",
        &[("CameraName", "Porch"), ("Location", "Front door")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        bus.calls(Mocked::Hostnamed),
        [
            Call::new("SetPrettyHostname", &["Porch", "false"]),
            Call::new("SetLocation", &["Front door", "false"]),
        ]
    );
}

#[test]
fn a_hostnamed_denial_keeps_the_old_name() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    bus.fail(
        Mocked::Hostnamed,
        "SetPrettyHostname",
        "org.freedesktop.DBus.Error.AccessDenied",
        "Access denied",
    );
    let reply = set(&camera, "/system.cgi", &[("CameraName", "Porch")]);
    assert_eq!(reply.status, 500);
    assert!(reply.text().contains("systemd-hostnamed refused"));
    assert_eq!(shown(&camera, "/system.cgi", "CameraName"), "IPCam");
}

#[test]
fn reset_answers_204_then_logind_reboots() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    let reply = set(&camera, "/reset.cgi", &[("Reset", "Yes")]);
    assert_eq!(reply.status, 204);
    let call = bus
        .wait_for_call(Mocked::Logind, "Reboot", DEADLINE)
        .expect("logind's Reboot after the 204");
    assert_eq!(call, Call::new("Reboot", &["false"]));
}

#[test]
fn config_reboot_answers_then_logind_reboots() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    let reply = set(
        &camera,
        "/system.cgi",
        &[("Location", "Garage"), ("ConfigReboot", "Yes")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(value_of(&table(&reply), "Location"), Some("Garage"));
    let call = bus
        .wait_for_call(Mocked::Logind, "Reboot", DEADLINE)
        .expect("logind's Reboot after the response");
    assert_eq!(call, Call::new("Reboot", &["false"]));
}

#[test]
fn a_request_without_reboot_never_reboots() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    assert_eq!(
        set(&camera, "/system.cgi", &[("Location", "Garage")]).status,
        200
    );
    // A reboot would follow the flushed response; a later request's answer proves the
    // worker has finished with the first one.
    assert_eq!(camera.get("/system.cgi", ADMIN).status, 200);
    assert!(bus.calls(Mocked::Logind).is_empty());
}

/// The text of `name` in the camera's OS-file directory.
fn os_file(dir: &tempfile::TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn mode_of(dir: &tempfile::TempDir, name: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = std::fs::metadata(dir.path().join(name)).expect("metadata");
    metadata.permissions().mode() & 0o777
}

/// The index of `lo` as networkd's `ReconfigureLink` receives it.
fn loopback_index() -> String {
    std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .expect("lo's ifindex")
        .trim()
        .to_owned()
}

#[test]
fn a_fixed_address_reaches_networkd_after_the_response() {
    let Some((bus, camera, dir)) = camera() else {
        return;
    };
    let reply = set(
        &camera,
        "/network.cgi",
        &[
            ("IPAddressMode", "1"),
            ("IPAddress", "192.168.7.20"),
            ("SubnetMask", "255.255.255.0"),
            ("DefaultGateway", "192.168.7.1"),
            ("DNSIPAddress1", "192.168.7.2"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let network = os_file(&dir, "wired.network");
    for line in [
        "Name=lo",
        "Address=192.168.7.20/24",
        "Gateway=192.168.7.1",
        "DNS=192.168.7.2",
    ] {
        assert!(network.lines().any(|l| l == line), "{line} in {network}");
    }
    bus.wait_for_call(Mocked::Networkd, "ReconfigureLink", DEADLINE)
        .expect("networkd reconfigures the interface after the response");
    assert_eq!(
        bus.calls(Mocked::Networkd),
        [
            Call::new("Reload", &[]),
            Call::new("ReconfigureLink", &[&loopback_index()]),
        ]
    );
}

#[test]
fn the_same_network_settings_again_reload_nothing() {
    let Some((bus, camera, _dir)) = camera() else {
        return;
    };
    let fixed = [
        ("IPAddressMode", "1"),
        ("IPAddress", "192.168.7.20"),
        ("DefaultGateway", "192.168.7.1"),
    ];
    let reply = set(&camera, "/network.cgi", &fixed);
    assert_eq!(reply.status, 200, "{}", reply.text());
    bus.wait_for_call(Mocked::Networkd, "ReconfigureLink", DEADLINE)
        .expect("the first change is reloaded");
    bus.clear_calls();
    assert_eq!(set(&camera, "/network.cgi", &fixed).status, 200);
    // A later request's answer shows the worker is done with the one before.
    assert_eq!(camera.get("/system.cgi", ADMIN).status, 200);
    assert!(bus.calls(Mocked::Networkd).is_empty());
}

#[test]
fn pppoe_credentials_go_to_a_private_peer_file_and_the_dialler_restarts() {
    let Some((bus, camera, dir)) = camera() else {
        return;
    };
    let reply = set(
        &camera,
        "/network.cgi",
        &[
            ("IPAddressMode", "5"),
            ("PPPoEUserID", "camera@isp"),
            ("PPPoEPASSWORD", "s3cret"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let peer = os_file(&dir, "pppoe.peer");
    assert!(peer.lines().any(|l| l == r#"user "camera@isp""#), "{peer}");
    assert!(peer.lines().any(|l| l == r#"password "s3cret""#), "{peer}");
    assert_eq!(mode_of(&dir, "pppoe.peer"), 0o600);
    let call = bus
        .wait_for_call(Mocked::Systemd, "RestartUnit", DEADLINE)
        .expect("the PPPoE unit restarts");
    assert_eq!(
        call,
        Call::new("RestartUnit", &["ipcamd-pppoe.service", "replace"])
    );
}

#[test]
fn wireless_settings_go_to_wpa_supplicant_which_restarts() {
    let Some((bus, camera, dir)) = camera_with_wireless(Some("lo")) else {
        return;
    };
    let reply = set(
        &camera,
        "/wireless.cgi",
        &[
            ("SSID", "garden"),
            ("WEPEncryption", "4"),
            ("PreSharedKey", "correct horse battery"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let conf = os_file(&dir, "wpa_supplicant.conf");
    assert!(conf.contains(r#"ssid="garden""#), "{conf}");
    assert!(conf.contains(r#"psk="correct horse battery""#), "{conf}");
    assert_eq!(mode_of(&dir, "wpa_supplicant.conf"), 0o600);
    let call = bus
        .wait_for_call(Mocked::Systemd, "RestartUnit", DEADLINE)
        .expect("wpa_supplicant restarts");
    assert_eq!(
        call,
        Call::new("RestartUnit", &["wpa_supplicant@lo.service", "replace"])
    );
}

#[test]
fn an_ssid_the_supplicant_cannot_take_is_a_400_and_nothing_is_written() {
    let Some((bus, camera, dir)) = camera_with_wireless(Some("lo")) else {
        return;
    };
    let before = os_file(&dir, "wpa_supplicant.conf");
    // 32 characters, 64 bytes: within the spec's length, beyond 802.11's 32 bytes.
    let reply = set(&camera, "/wireless.cgi", &[("SSID", &"é".repeat(32))]);
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("SSID"), "{}", reply.text());
    assert_eq!(os_file(&dir, "wpa_supplicant.conf"), before);
    assert_eq!(shown(&camera, "/wireless.cgi", "SSID"), "");
    assert!(bus.calls(Mocked::Systemd).is_empty());
}

#[test]
fn time_servers_go_to_timesyncd_which_restarts() {
    let Some((bus, camera, dir)) = camera() else {
        return;
    };
    let reply = set(
        &camera,
        "/datetime.cgi",
        &[
            ("DateTimeMode", "0"),
            ("TimeServerIPAddress", "ntp.example.org"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let drop_in = os_file(&dir, "timesyncd.conf");
    assert!(
        drop_in.lines().any(|l| l == "NTP=ntp.example.org"),
        "{drop_in}"
    );
    let call = bus
        .wait_for_call(Mocked::Systemd, "RestartUnit", DEADLINE)
        .expect("timesyncd restarts");
    assert_eq!(
        call,
        Call::new("RestartUnit", &["systemd-timesyncd.service", "replace"])
    );
}

#[test]
fn a_factory_reset_puts_dhcp_back_for_networkd_after_the_204() {
    let Some((bus, camera, dir)) = camera() else {
        return;
    };
    let fixed = [
        ("IPAddressMode", "1"),
        ("IPAddress", "192.168.7.20"),
        ("DefaultGateway", "192.168.7.1"),
    ];
    assert_eq!(set(&camera, "/network.cgi", &fixed).status, 200);
    bus.wait_for_call(Mocked::Networkd, "ReconfigureLink", DEADLINE)
        .expect("the fixed address is applied");
    bus.clear_calls();
    let reply = set(&camera, "/reset.cgi", &[("FactoryReset", "Yes")]);
    assert_eq!(reply.status, 204);
    bus.wait_for_call(Mocked::Networkd, "ReconfigureLink", DEADLINE)
        .expect("the factory address mode is applied after the 204");
    let network = os_file(&dir, "wired.network");
    assert!(network.lines().any(|l| l == "DHCP=ipv4"), "{network}");
    assert!(!network.contains("192.168.7.20"), "{network}");
}
