//! Behaviour of every chapter-3 resource as a client sees it through the facade.
//! Expected names and orders are copied from the spec's tables, not from the schema.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use super::*;
use crate::platform::sim::SimPlatform;

/// The daemon's runtime facts as the service tests see them.
pub(super) const RUNTIME: RuntimeInfo<'static> = RuntimeInfo {
    model: "IPCAM-1",
    firmware_version: "0.1.0",
    http_port: 80,
    viewers: &[],
    latest_frame_size: Some(12345),
    open_port: None,
    upnp_external_ip: None,
    ddns_status: None,
};

fn service() -> (tempfile::TempDir, ConfigService) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (service, report) = ConfigService::open(
        dir.path(),
        Box::new(SimPlatform::new()),
        InitialAdmin::Password("secret".into()),
    )
    .expect("open");
    assert_eq!(report.source, LoadSource::Empty);
    assert_eq!(report.generated_admin_password, None);
    (dir, service)
}

fn pairs(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn get(service: &mut ConfigService, resource: Resource) -> String {
    let reply = service
        .handle(resource, &[], &RUNTIME)
        .expect("GET succeeds");
    assert_eq!(reply.status, 200);
    reply.body
}

fn set(
    service: &mut ConfigService,
    resource: Resource,
    params: &[(&str, &str)],
) -> Result<Reply, ApiError> {
    service.handle(resource, &pairs(params), &RUNTIME)
}

/// The body as (name, value) pairs, checking the CRLF line format on the way.
fn table(body: &str) -> Vec<(String, String)> {
    assert!(body.is_empty() || body.ends_with("\r\n"), "{body:?}");
    body.split_terminator("\r\n")
        .map(|line| {
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            let (name, value) = line.split_once('=').expect("Name=value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

fn names(body: &str) -> Vec<String> {
    table(body).into_iter().map(|(n, _)| n).collect()
}

fn value(body: &str, name: &str) -> String {
    table(body)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{name} missing in {body:?}"))
}

/// Sets `params`, expects a 400 naming `blamed`, and checks nothing changed.
fn rejected(
    service: &mut ConfigService,
    resource: Resource,
    params: &[(&str, &str)],
    blamed: &str,
) {
    let before = get(service, resource);
    let state_before = service.state().clone();
    let err = set(service, resource, params).expect_err("must be rejected");
    assert_eq!(err.status(), 400);
    let message = err.to_string();
    assert!(
        message.starts_with(blamed),
        "{message:?} should name {blamed}"
    );
    assert!(!message.contains('\n'));
    assert_eq!(service.state(), &state_before);
    if resource != Resource::DateTime {
        assert_eq!(get(service, resource), before);
    }
}

fn accepted(service: &mut ConfigService, resource: Resource, params: &[(&str, &str)]) -> Reply {
    set(service, resource, params).unwrap_or_else(|e| panic!("{params:?}: {e}"))
}

const SYSTEM_NAMES: &[&str] = &[
    "CameraName",
    "Location",
    "AdminID",
    "AdminPassword",
    "LEDControl",
];
const DATETIME_NAMES: &[&str] = &[
    "DateTimeMode",
    "TimeServerIPAddress",
    "TimeServerProtocol",
    "TimeZone",
    "TimeZoneIndex",
    "Date",
    "Time",
];
const IMAGE_NAMES: &[&str] = &[
    "VideoResolution",
    "CompressionRate",
    "FrameRate",
    "BrightnessControl",
    "ContrastControl",
    "SaturationControl",
    "LightFrequency",
    "Mirror",
    "AntiFlickerEnable",
];
const NETWORK_NAMES: &[&str] = &[
    "IPAddressMode",
    "IPAddress",
    "SubnetMask",
    "DefaultGateway",
    "PPPoEUserID",
    "PPPoEPASSWORD",
    "DNSIPAddress1",
    "DNSIPAddress2",
    "DDNSEnable",
    "DDNSProvider",
    "DDNSHostName",
    "DDNSUserName",
    "DDNSPassword",
    "SecondHTTPPortEnable",
    "SecondHTTPPort",
    "UPnPEnable",
];
const WIRELESS_NAMES: &[&str] = &[
    "ConnectionMode",
    "SSID",
    "WirelessChannel",
    "TransmissionRate",
    "WEPEncryption",
    "WEPKeyFormat",
    "Key1",
    "Key2",
    "Key3",
    "Key4",
    "TxKey",
    "BeaconInterval",
    "Preamble",
    "AuthenticationType",
    "PreSharedKey",
];
const UPLOAD_NAMES: &[&str] = &[
    "FTPHostAddress",
    "FTPPortNumber",
    "FTPUserName",
    "FTPPassword",
    "FTPDirectoryPath",
    "FTPPassiveMode",
    "FTPScheduleEnable",
    "FTPScheduleMode",
    "FTPScheduleDay",
    "FTPScheduleTimeStart",
    "FTPScheduleTimeStop",
    "FTPScheduleVideoFrequencyMode",
    "FTPScheduleFramePerSecond",
    "FTPScheduleSecondPerFrame",
    "FTPScheduleBaseFileName",
    "FTPScheduleFileMode",
    "FTPScheduleMaxFileSequenceNumber",
    "FTPManualEnable",
    "FTPManualBaseFileName",
    "FTPManualFileMode",
    "FTPManualMaxFileSequenceNumber",
];
const EMAIL_NAMES: &[&str] = &[
    "EmailSMTPServerAddress",
    "EmailSenderAddress",
    "EmailReceiverAddress",
    "EmailUserName",
    "EmailPassword",
    "EmailScheduleEnable",
    "EmailScheduleMode",
    "EmailScheduleDay",
    "EmailScheduleTimeStart",
    "EmailScheduleTimeStop",
    "EmailScheduleInterval",
    "EmailManualEnable",
    "EmailManualInterval",
    // Extension of DESIGN.md, after the spec's lines.
    "EmailSMTPPortNumber",
];

#[test]
fn every_configuration_table_renders_the_spec_names_in_spec_order() {
    let (_dir, mut s) = service();
    assert_eq!(names(&get(&mut s, Resource::System)), SYSTEM_NAMES);
    assert_eq!(names(&get(&mut s, Resource::DateTime)), DATETIME_NAMES);
    assert_eq!(names(&get(&mut s, Resource::User)), ["AccessControlEnable"]);
    assert_eq!(names(&get(&mut s, Resource::Image)), IMAGE_NAMES);
    assert_eq!(names(&get(&mut s, Resource::Network)), NETWORK_NAMES);
    assert_eq!(names(&get(&mut s, Resource::Wireless)), WIRELESS_NAMES);
    assert_eq!(names(&get(&mut s, Resource::Upload)), UPLOAD_NAMES);
    assert_eq!(names(&get(&mut s, Resource::Email)), EMAIL_NAMES);
    assert_eq!(get(&mut s, Resource::UserList), "");
}

#[test]
fn information_tables_render_the_spec_names_in_spec_order() {
    let (_dir, mut s) = service();
    assert_eq!(get(&mut s, Resource::CgiVersion), "CGIVersion=2\r\n");
    let isystem = get(&mut s, Resource::ISystem);
    assert_eq!(
        names(&isystem),
        [
            "CameraName",
            "Location",
            "Model",
            "FirmwareVersion",
            "MACAddress",
            "IPAddress",
            "EthernetLink",
            "EthernetSpeed",
            "EthernetDuplex"
        ]
    );
    assert_eq!(value(&isystem, "MACAddress"), "02 FF 5C 8A 13 18");
    assert_eq!(value(&isystem, "EthernetSpeed"), "100M bps");
    assert_eq!(value(&isystem, "EthernetDuplex"), "Full Duplex");
    assert_eq!(value(&isystem, "Model"), "IPCAM-1");
    let inetwork = get(&mut s, Resource::INetwork);
    assert_eq!(
        names(&inetwork),
        [
            "IPAddress",
            "SubnetMask",
            "DefaultGateway",
            "PrimaryDNSAddress",
            "SecondaryDNSAddress",
            "DynamicDNS",
            "SecondaryHTTPPort",
            "UpnP"
        ]
    );
    assert_eq!(value(&inetwork, "SecondaryHTTPPort"), "Disable (Port : 81)");
    let iwireless = get(&mut s, Resource::IWireless);
    assert_eq!(
        names(&iwireless),
        [
            "ConnectionMode",
            "WirelessLink",
            "SSID",
            "WirelessChannel",
            "TransmissionRate",
            "WEPEncryption"
        ]
    );
    assert_eq!(value(&iwireless, "WirelessLink"), "Disable");
    let iimage = get(&mut s, Resource::IImage);
    assert_eq!(
        names(&iimage),
        [
            "VideoResolution",
            "CompressionRate",
            "FrameRate",
            "FrameSize",
            "LightFrequency"
        ]
    );
    assert_eq!(value(&iimage, "VideoResolution"), "640 x 480");
    assert_eq!(value(&iimage, "FrameSize"), "12345 Bytes");
    assert_eq!(value(&iimage, "FrameRate"), "Auto");
}

#[test]
fn information_tables_take_no_parameters() {
    let (_dir, mut s) = service();
    for resource in Resource::ALL.into_iter().filter(|r| r.is_read_only()) {
        let err = set(&mut s, resource, &[("CameraName", "x")]).expect_err("read-only");
        assert_eq!(err.status(), 400, "{resource:?}");
    }
}

#[test]
fn active_users_list_each_viewer_in_the_camera_time_zone() {
    let (_dir, mut s) = service();
    accepted(&mut s, Resource::DateTime, &[("TimeZoneIndex", "71")]);
    let since = SystemTime::UNIX_EPOCH + Duration::from_secs(1_222_857_586); // 2008-10-01 10:39:46 UTC
    let viewers = [
        ActiveViewer {
            ip: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 7)),
            user: Some("ann".into()),
            since,
            ms_per_packet: 66,
        },
        ActiveViewer {
            ip: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 8)),
            user: None,
            since,
            ms_per_packet: 100,
        },
    ];
    let runtime = RuntimeInfo {
        viewers: &viewers,
        ..RUNTIME
    };
    let body = s
        .handle(Resource::ActiveUser, &[], &runtime)
        .expect("GET")
        .body;
    assert_eq!(
        body,
        "UserIPAddress=192.168.0.7\r\nUserName=ann\r\nAccessDateTime=2008-10-01 19:39:46\r\nMinisecondPerPacket=66\r\n\
         UserIPAddress=192.168.0.8\r\nUserName=\r\nAccessDateTime=2008-10-01 19:39:46\r\nMinisecondPerPacket=100\r\n"
    );
}

#[test]
fn system_set_reads_back_and_reports_the_led() {
    let (_dir, mut s) = service();
    let reply = accepted(
        &mut s,
        Resource::System,
        &[
            ("CameraName", "Hof"),
            ("Location", "Scheune"),
            ("AdminID", "boss"),
            ("AdminPassword", "pw2"),
            ("LEDControl", "2"),
        ],
    );
    assert_eq!(
        reply.body,
        "CameraName=Hof\r\nLocation=Scheune\r\nAdminID=boss\r\nAdminPassword=pw2\r\nLEDControl=2\r\n"
    );
    assert_eq!(reply.effects.led, Some(LedMode::Dummy));
    assert!(reply.effects.access_changed);
    assert!(!reply.effects.reboot);
}

#[test]
fn text_limits_count_characters() {
    let (_dir, mut s) = service();
    let name32 = "é".repeat(32);
    let location64 = "ü".repeat(64);
    accepted(
        &mut s,
        Resource::System,
        &[("CameraName", &name32), ("Location", &location64)],
    );
    assert_eq!(value(&get(&mut s, Resource::System), "CameraName"), name32);
    rejected(
        &mut s,
        Resource::System,
        &[("CameraName", &"é".repeat(33))],
        "CameraName",
    );
    rejected(
        &mut s,
        Resource::System,
        &[("Location", &"ü".repeat(65))],
        "Location",
    );
    accepted(
        &mut s,
        Resource::System,
        &[
            ("AdminID", &"ß".repeat(12)),
            ("AdminPassword", &"€".repeat(8)),
        ],
    );
    rejected(
        &mut s,
        Resource::System,
        &[("AdminID", &"ß".repeat(13))],
        "AdminID",
    );
    rejected(
        &mut s,
        Resource::System,
        &[("AdminPassword", &"€".repeat(9))],
        "AdminPassword",
    );
}

/// A host name of exactly `len` characters (labels of at most 63).
fn host_of(len: usize) -> String {
    (0..len)
        .map(|i| if i % 10 == 9 { '.' } else { 'a' })
        .collect()
}

#[test]
fn every_text_limit_of_the_spec_holds_at_the_boundary() {
    let (_dir, mut s) = service();
    let limits: &[(Resource, &str, usize)] = &[
        (Resource::Network, "PPPoEUserID", 64),
        (Resource::Network, "PPPoEPASSWORD", 32),
        (Resource::Network, "DDNSUserName", 64),
        (Resource::Network, "DDNSPassword", 32),
        (Resource::Wireless, "SSID", 32),
        (Resource::Upload, "FTPUserName", 32),
        (Resource::Upload, "FTPPassword", 32),
        (Resource::Upload, "FTPDirectoryPath", 64),
        (Resource::Upload, "FTPScheduleBaseFileName", 32),
        (Resource::Upload, "FTPManualBaseFileName", 32),
        (Resource::Email, "EmailUserName", 64),
        (Resource::Email, "EmailPassword", 32),
    ];
    for (resource, name, max) in limits {
        let ok = "ä".repeat(*max);
        accepted(&mut s, *resource, &[(name, &ok)]);
        assert_eq!(value(&get(&mut s, *resource), name), ok, "{name}");
        rejected(&mut s, *resource, &[(name, &"ä".repeat(max + 1))], name);
    }
    let hosts: &[(Resource, &str)] = &[
        (Resource::DateTime, "TimeServerIPAddress"),
        (Resource::Network, "DDNSHostName"),
        (Resource::Upload, "FTPHostAddress"),
        (Resource::Email, "EmailSMTPServerAddress"),
    ];
    for (resource, name) in hosts {
        accepted(&mut s, *resource, &[(name, &host_of(64))]);
        assert_eq!(value(&get(&mut s, *resource), name), host_of(64), "{name}");
        rejected(&mut s, *resource, &[(name, &host_of(65))], name);
    }
}

#[test]
fn every_integer_range_of_the_spec_holds_at_both_ends() {
    let (_dir, mut s) = service();
    let ranges: &[(Resource, &str, i64, i64)] = &[
        (Resource::Image, "BrightnessControl", 1, 128),
        (Resource::Image, "ContrastControl", 1, 128),
        (Resource::Image, "SaturationControl", 1, 128),
        (Resource::Image, "Mirror", 0, 3),
        (Resource::Network, "SecondHTTPPort", 1, 65535),
        (Resource::Wireless, "WirelessChannel", 1, 14),
        (Resource::Wireless, "BeaconInterval", 1, 65535),
        (Resource::Upload, "FTPPortNumber", 1, 65535),
        (Resource::Upload, "FTPScheduleSecondPerFrame", 1, 65535),
        (
            Resource::Upload,
            "FTPScheduleMaxFileSequenceNumber",
            1,
            65535,
        ),
        (Resource::Upload, "FTPManualMaxFileSequenceNumber", 1, 65535),
        (Resource::Upload, "FTPScheduleDay", 0, 127),
        (Resource::Email, "EmailScheduleInterval", 1, 65535),
        (Resource::Email, "EmailManualInterval", 1, 65535),
        (Resource::Email, "EmailScheduleDay", 0, 127),
        (Resource::DateTime, "TimeZoneIndex", 0, 84),
    ];
    for (resource, name, min, max) in ranges {
        for good in [min, max] {
            accepted(&mut s, *resource, &[(name, &good.to_string())]);
            assert_eq!(
                value(&get(&mut s, *resource), name),
                good.to_string(),
                "{name}"
            );
        }
        rejected(&mut s, *resource, &[(name, &(min - 1).to_string())], name);
        rejected(&mut s, *resource, &[(name, &(max + 1).to_string())], name);
        rejected(&mut s, *resource, &[(name, "ten")], name);
    }
}

#[test]
fn every_enumeration_of_the_spec_accepts_its_values_and_nothing_else() {
    let (_dir, mut s) = service();
    let enums: &[(Resource, &str, &[&str], &str)] = &[
        (Resource::System, "LEDControl", &["0", "1", "2"], "3"),
        (Resource::DateTime, "DateTimeMode", &["0", "1"], "2"),
        (Resource::DateTime, "TimeServerProtocol", &["0", "1"], "2"),
        (Resource::User, "AccessControlEnable", &["0", "1"], "2"),
        (Resource::Image, "VideoResolution", &["0", "1", "2"], "3"),
        (
            Resource::Image,
            "CompressionRate",
            &["0", "1", "2", "3", "4"],
            "5",
        ),
        (
            Resource::Image,
            "FrameRate",
            &["0", "1", "5", "7", "15", "20"],
            "10",
        ),
        (Resource::Image, "LightFrequency", &["0", "1"], "2"),
        (Resource::Image, "AntiFlickerEnable", &["0", "1"], "2"),
        (Resource::Network, "IPAddressMode", &["1", "4"], "2"),
        (Resource::Network, "SecondHTTPPortEnable", &["0", "3"], "1"),
        (Resource::Network, "UPnPEnable", &["0", "1"], "2"),
        (Resource::Wireless, "ConnectionMode", &["0", "1"], "2"),
        (Resource::Wireless, "WEPKeyFormat", &["0", "1"], "2"),
        (
            Resource::Wireless,
            "TxKey",
            &["Key 1", "Key 2", "Key 3", "Key 4"],
            "Key 5",
        ),
        (Resource::Wireless, "Preamble", &["0", "1"], "2"),
        (
            Resource::Wireless,
            "AuthenticationType",
            &["0", "1", "2"],
            "3",
        ),
        (
            Resource::Wireless,
            "TransmissionRate",
            &[
                "Fully Automatic",
                "1 Mb",
                "2 Mb",
                "5.5 Mb",
                "11 Mb",
                "6 Mb",
                "9 Mb",
                "12 Mb",
                "18 Mb",
                "24 Mb",
                "36 Mb",
                "48 Mb",
                "54 Mb",
            ],
            "3 Mb",
        ),
        (Resource::Upload, "FTPPassiveMode", &["0", "1"], "2"),
        (Resource::Upload, "FTPScheduleMode", &["0", "1"], "2"),
        (
            Resource::Upload,
            "FTPScheduleVideoFrequencyMode",
            &["0", "1"],
            "2",
        ),
        (
            Resource::Upload,
            "FTPScheduleFramePerSecond",
            &["1", "2", "3", "Auto"],
            "4",
        ),
        (
            Resource::Upload,
            "FTPScheduleFileMode",
            &["0", "1", "2"],
            "3",
        ),
        (Resource::Upload, "FTPManualFileMode", &["0", "1", "2"], "3"),
        (Resource::Email, "EmailScheduleMode", &["0", "1"], "2"),
    ];
    for (resource, name, values, bad) in enums {
        for good in *values {
            accepted(&mut s, *resource, &[(name, good)]);
            assert_eq!(value(&get(&mut s, *resource), name), *good, "{name}");
        }
        rejected(&mut s, *resource, &[(name, bad)], name);
    }
}

#[test]
fn a_full_set_of_each_table_reads_back() {
    let (_dir, mut s) = service();
    let network = [
        ("IPAddressMode", "1"),
        ("IPAddress", "10.0.0.20"),
        ("SubnetMask", "255.255.0.0"),
        ("DefaultGateway", "10.0.0.1"),
        ("PPPoEUserID", "isp-user"),
        ("PPPoEPASSWORD", "isp-pass"),
        ("DNSIPAddress1", "10.0.0.53"),
        ("DNSIPAddress2", "9.9.9.9"),
        ("DDNSEnable", "1"),
        ("DDNSProvider", "DynDNS.org(Free)"),
        ("DDNSHostName", "cam.example.org"),
        ("DDNSUserName", "me"),
        ("DDNSPassword", "dd"),
        ("SecondHTTPPortEnable", "3"),
        ("SecondHTTPPort", "8081"),
        ("UPnPEnable", "1"),
    ];
    let reply = accepted(&mut s, Resource::Network, &network);
    assert_eq!(table(&reply.body), pairs(&network));
    assert_eq!(reply.effects.second_http_port, Some(Some(8081)));
    let inetwork = get(&mut s, Resource::INetwork);
    assert_eq!(value(&inetwork, "IPAddress"), "10.0.0.20");
    assert_eq!(
        value(&inetwork, "SecondaryHTTPPort"),
        "Enable (Port : 8081)"
    );
    assert_eq!(value(&inetwork, "UpnP"), "Enable (IP : 10.0.0.20)");
    assert_eq!(value(&inetwork, "DynamicDNS"), "Enable");

    let wireless = [
        ("ConnectionMode", "1"),
        ("SSID", "garden"),
        ("WirelessChannel", "11"),
        ("TransmissionRate", "54 Mb"),
        ("WEPEncryption", "3"),
        ("WEPKeyFormat", "1"),
        ("Key1", "0123456789abcdef0123456789"),
        ("Key2", ""),
        ("Key3", "ABCDEF0123456789ABCDEF0123"),
        ("Key4", ""),
        ("TxKey", "Key 3"),
        ("BeaconInterval", "200"),
        ("Preamble", "1"),
        ("AuthenticationType", "2"),
        ("PreSharedKey", "correct horse battery"),
    ];
    assert_eq!(
        table(&accepted(&mut s, Resource::Wireless, &wireless).body),
        pairs(&wireless)
    );
    let iwireless = get(&mut s, Resource::IWireless);
    assert_eq!(value(&iwireless, "ConnectionMode"), "Adhoc");
    assert_eq!(value(&iwireless, "WirelessLink"), "Yes");
    assert_eq!(
        value(&iwireless, "SSID"),
        "garden (MAC : 02 0F 3D 3D 90 0E)"
    );
    assert_eq!(value(&iwireless, "TransmissionRate"), "54 M bps");
    assert_eq!(value(&iwireless, "WEPEncryption"), "WEP");

    let upload = [
        ("FTPHostAddress", "ftp.example.org"),
        ("FTPPortNumber", "2121"),
        ("FTPUserName", "u"),
        ("FTPPassword", "p"),
        ("FTPDirectoryPath", "/cam/in"),
        ("FTPPassiveMode", "0"),
        ("FTPScheduleEnable", "1"),
        ("FTPScheduleMode", "1"),
        ("FTPScheduleDay", "62"),
        ("FTPScheduleTimeStart", "22:00:00"),
        ("FTPScheduleTimeStop", "06:00:00"),
        ("FTPScheduleVideoFrequencyMode", "1"),
        ("FTPScheduleFramePerSecond", "Auto"),
        ("FTPScheduleSecondPerFrame", "30"),
        ("FTPScheduleBaseFileName", "yard"),
        ("FTPScheduleFileMode", "2"),
        ("FTPScheduleMaxFileSequenceNumber", "500"),
        ("FTPManualEnable", "1"),
        ("FTPManualBaseFileName", "snap"),
        ("FTPManualFileMode", "0"),
        ("FTPManualMaxFileSequenceNumber", "9"),
    ];
    let reply = accepted(&mut s, Resource::Upload, &upload);
    assert_eq!(table(&reply.body), pairs(&upload));
    assert!(reply.effects.upload_changed);

    let email = [
        ("EmailSMTPServerAddress", "smtp.example.org"),
        ("EmailSenderAddress", "cam@example.org"),
        ("EmailReceiverAddress", "me@example.org"),
        ("EmailUserName", "cam"),
        ("EmailPassword", "pw"),
        ("EmailScheduleEnable", "1"),
        ("EmailScheduleMode", "1"),
        ("EmailScheduleDay", "65"),
        ("EmailScheduleTimeStart", "08:00:00"),
        ("EmailScheduleTimeStop", "17:30:00"),
        ("EmailScheduleInterval", "600"),
        ("EmailManualEnable", "1"),
        ("EmailManualInterval", "30"),
        ("EmailSMTPPortNumber", "587"),
    ];
    let reply = accepted(&mut s, Resource::Email, &email);
    assert_eq!(table(&reply.body), pairs(&email));
    assert!(reply.effects.email_changed);

    let image = [
        ("VideoResolution", "1"),
        ("CompressionRate", "4"),
        ("FrameRate", "15"),
        ("BrightnessControl", "10"),
        ("ContrastControl", "20"),
        ("SaturationControl", "30"),
        ("LightFrequency", "1"),
        ("Mirror", "3"),
        ("AntiFlickerEnable", "1"),
    ];
    let reply = accepted(&mut s, Resource::Image, &image);
    assert_eq!(table(&reply.body), pairs(&image));
    let sent = reply.effects.image.expect("image effect");
    assert_eq!(
        (sent.video_resolution, sent.frame_rate, sent.mirror),
        (1, 15, 3)
    );
    let iimage = get(&mut s, Resource::IImage);
    assert_eq!(value(&iimage, "VideoResolution"), "320 x 240");
    assert_eq!(value(&iimage, "CompressionRate"), "Very High");
    assert_eq!(value(&iimage, "FrameRate"), "15");
    assert_eq!(value(&iimage, "LightFrequency"), "60 Hz");
}

#[test]
fn unknown_parameters_are_rejected_and_change_nothing() {
    let (_dir, mut s) = service();
    for resource in [
        Resource::System,
        Resource::DateTime,
        Resource::User,
        Resource::Image,
        Resource::Network,
        Resource::Wireless,
        Resource::Upload,
        Resource::Email,
        Resource::UserList,
        Resource::Reset,
    ] {
        let valid: &[(&str, &str)] = match resource {
            Resource::Image => &[("BrightnessControl", "5")],
            Resource::UserList => &[("UserAdd", "Yes"), ("UserName", "x")],
            Resource::Reset => &[("Reset", "Yes")],
            _ => &[],
        };
        let mut params = valid.to_vec();
        params.push(("Bogus", "1"));
        let before = s.state().clone();
        let err = set(&mut s, resource, &params).expect_err("unknown parameter");
        assert_eq!(
            err.to_string(),
            format!("Bogus: unknown parameter of {}", resource.path())
        );
        assert_eq!(s.state(), &before, "{resource:?}");
    }
}

#[test]
fn one_bad_value_rejects_the_whole_request() {
    let (_dir, mut s) = service();
    rejected(
        &mut s,
        Resource::Image,
        &[
            ("BrightnessControl", "5"),
            ("ContrastControl", "0"),
            ("Mirror", "1"),
        ],
        "ContrastControl",
    );
}

#[test]
fn line_breaks_and_control_characters_are_rejected() {
    let (_dir, mut s) = service();
    rejected(
        &mut s,
        Resource::System,
        &[("CameraName", "a\r\nAdminPassword=x")],
        "CameraName",
    );
    rejected(
        &mut s,
        Resource::System,
        &[("Location", "a\nb")],
        "Location",
    );
    rejected(
        &mut s,
        Resource::Upload,
        &[("FTPPassword", "a\u{1b}b")],
        "FTPPassword",
    );
}

#[test]
fn real_client_habits_are_accepted() {
    let (_dir, mut s) = service();
    for reboot in ["No", "no", "0"] {
        let reply = accepted(
            &mut s,
            Resource::Image,
            &[("VideoResolution", "1"), ("ConfigReboot", reboot)],
        );
        assert!(!reply.effects.reboot);
    }
    for reboot in ["Yes", "yes", "1"] {
        assert!(
            accepted(&mut s, Resource::Image, &[("ConfigReboot", reboot)])
                .effects
                .reboot
        );
    }
    accepted(
        &mut s,
        Resource::Wireless,
        &[("transmissionrate", " fully  automatic ")],
    );
    assert_eq!(
        value(&get(&mut s, Resource::Wireless), "TransmissionRate"),
        "Fully Automatic"
    );
    accepted(&mut s, Resource::Network, &[("PPPoEPassword", "x")]);
    assert_eq!(value(&get(&mut s, Resource::Network), "PPPoEPASSWORD"), "x");
    accepted(
        &mut s,
        Resource::Image,
        &[("BrightnessControl", "7"), ("BrightnessControl", "9")],
    );
    assert_eq!(
        value(&get(&mut s, Resource::Image), "BrightnessControl"),
        "9"
    );
    accepted(
        &mut s,
        Resource::UserList,
        &[
            ("UserName ", "spaced"),
            ("UserPassword ", "p"),
            ("UserAdd", "yes"),
        ],
    );
    assert_eq!(
        value(&get(&mut s, Resource::UserList), "UserName"),
        "spaced"
    );
    rejected(
        &mut s,
        Resource::Image,
        &[("ConfigReboot", "maybe")],
        "ConfigReboot",
    );
}

#[test]
fn wep_keys_match_format_and_size() {
    let (_dir, mut s) = service();
    accepted(
        &mut s,
        Resource::Wireless,
        &[
            ("WEPEncryption", "2"),
            ("WEPKeyFormat", "0"),
            ("Key1", "abcde"),
        ],
    );
    accepted(
        &mut s,
        Resource::Wireless,
        &[("WEPEncryption", "3"), ("Key1", "abcdefghijklm")],
    );
    accepted(
        &mut s,
        Resource::Wireless,
        &[
            ("WEPEncryption", "2"),
            ("WEPKeyFormat", "1"),
            ("Key1", "0123456789"),
        ],
    );
    accepted(
        &mut s,
        Resource::Wireless,
        &[
            ("WEPEncryption", "3"),
            ("Key1", "0123456789abcdef0123456789"),
        ],
    );
    rejected(
        &mut s,
        Resource::Wireless,
        &[("Key1", "0123456789abcdef012345678")],
        "Key1",
    );
    rejected(
        &mut s,
        Resource::Wireless,
        &[("Key1", "0123456789abcdef012345678g")],
        "Key1",
    );
    rejected(
        &mut s,
        Resource::Wireless,
        &[("WEPEncryption", "2")],
        "Key1",
    );
    rejected(&mut s, Resource::Wireless, &[("WEPKeyFormat", "0")], "Key1");
    rejected(&mut s, Resource::Wireless, &[("Key2", "abcde")], "Key2");
    rejected(&mut s, Resource::Wireless, &[("TxKey", "Key 2")], "TxKey");
    accepted(
        &mut s,
        Resource::Wireless,
        &[
            ("WEPEncryption", "0"),
            ("WEPKeyFormat", "0"),
            ("Key1", "abcde"),
            ("Key2", "abcdefghijklm"),
        ],
    );
}

#[test]
fn pre_shared_keys_are_8_to_63_ascii_or_64_hex() {
    let (_dir, mut s) = service();
    rejected(
        &mut s,
        Resource::Wireless,
        &[("WEPEncryption", "4")],
        "PreSharedKey",
    );
    for good in [
        "8chars!!".to_owned(),
        "x".repeat(63),
        "0123456789abcdef".repeat(4),
    ] {
        accepted(
            &mut s,
            Resource::Wireless,
            &[("WEPEncryption", "4"), ("PreSharedKey", &good)],
        );
    }
    for bad in ["7chars!".to_owned(), "g".repeat(64), "é".repeat(8)] {
        rejected(
            &mut s,
            Resource::Wireless,
            &[("PreSharedKey", &bad)],
            "PreSharedKey",
        );
    }
}

#[test]
fn schedules_may_cross_midnight_but_not_be_empty() {
    let (_dir, mut s) = service();
    accepted(
        &mut s,
        Resource::Upload,
        &[
            ("FTPScheduleMode", "1"),
            ("FTPScheduleTimeStart", "22:00:00"),
            ("FTPScheduleTimeStop", "06:00:00"),
        ],
    );
    rejected(
        &mut s,
        Resource::Upload,
        &[("FTPScheduleTimeStop", "22:00:00")],
        "FTPScheduleTimeStop",
    );
    rejected(
        &mut s,
        Resource::Upload,
        &[("FTPScheduleTimeStart", "24:00:00")],
        "FTPScheduleTimeStart",
    );
    rejected(
        &mut s,
        Resource::Email,
        &[
            ("EmailScheduleMode", "1"),
            ("EmailScheduleTimeStart", "23:59:59"),
        ],
        "EmailScheduleTimeStop",
    );
    rejected(
        &mut s,
        Resource::Upload,
        &[("FTPScheduleEnable", "1")],
        "FTPHostAddress",
    );
    rejected(
        &mut s,
        Resource::Email,
        &[("EmailManualEnable", "1")],
        "EmailSMTPServerAddress",
    );
    rejected(
        &mut s,
        Resource::Email,
        &[("EmailReceiverAddress", "not an address")],
        "EmailReceiverAddress",
    );
    rejected(
        &mut s,
        Resource::Upload,
        &[("FTPScheduleBaseFileName", "../x")],
        "FTPScheduleBaseFileName",
    );
}

#[test]
fn network_rules_between_parameters() {
    let (_dir, mut s) = service();
    for provider in crate::sections::DDNS_PROVIDERS {
        accepted(&mut s, Resource::Network, &[("DDNSProvider", provider)]);
        assert_eq!(
            value(&get(&mut s, Resource::Network), "DDNSProvider"),
            *provider
        );
    }
    rejected(
        &mut s,
        Resource::Network,
        &[("DDNSProvider", "members.example.org")],
        "DDNSProvider",
    );
    rejected(
        &mut s,
        Resource::Network,
        &[("DDNSEnable", "1")],
        "DDNSHostName",
    );
    rejected(
        &mut s,
        Resource::Network,
        &[("SubnetMask", "255.0.255.0")],
        "SubnetMask",
    );
    rejected(
        &mut s,
        Resource::Network,
        &[("IPAddressMode", "1"), ("IPAddress", "0.0.0.0")],
        "IPAddress",
    );
    rejected(
        &mut s,
        Resource::Network,
        &[
            ("IPAddressMode", "1"),
            ("IPAddress", "10.0.0.5"),
            ("DefaultGateway", "192.168.0.1"),
        ],
        "DefaultGateway",
    );
    rejected(
        &mut s,
        Resource::Network,
        &[("IPAddressMode", "5")],
        "PPPoEUserID",
    );
    rejected(
        &mut s,
        Resource::Network,
        &[("IPAddress", "192.168.0.256")],
        "IPAddress",
    );
    rejected(
        &mut s,
        Resource::Network,
        &[("SecondHTTPPortEnable", "3"), ("SecondHTTPPort", "80")],
        "SecondHTTPPort",
    );
    let closed = accepted(
        &mut s,
        Resource::Network,
        &[("SecondHTTPPortEnable", "3"), ("SecondHTTPPort", "8080")],
    );
    assert_eq!(closed.effects.second_http_port, Some(Some(8080)));
    let same = accepted(&mut s, Resource::Network, &[("SecondHTTPPort", "8080")]);
    assert_eq!(same.effects.second_http_port, None);
    let off = accepted(&mut s, Resource::Network, &[("SecondHTTPPortEnable", "0")]);
    assert_eq!(off.effects.second_http_port, Some(None));
}

#[test]
fn dynamic_dns_shows_the_updater_status_after_the_spec_word_only_while_enabled() {
    let (_dir, mut s) = service();
    let runtime = RuntimeInfo {
        ddns_status: Some("good 81.2.69.160"),
        ..RUNTIME
    };
    let dynamic_dns = |s: &mut ConfigService| {
        let body = s
            .handle(Resource::INetwork, &[], &runtime)
            .expect("GET")
            .body;
        value(&body, "DynamicDNS")
    };
    assert_eq!(dynamic_dns(&mut s), "Disable", "the spec's example");
    accepted(
        &mut s,
        Resource::Network,
        &[("DDNSEnable", "1"), ("DDNSHostName", "cam.example.org")],
    );
    assert_eq!(dynamic_dns(&mut s), "Enable (good 81.2.69.160)");
}

#[test]
fn a_second_port_is_tried_before_it_is_saved_and_only_when_it_changes() {
    let (_dir, mut s) = service();
    let tried = std::cell::RefCell::new(Vec::new());
    let in_use = |port: u16| {
        tried.borrow_mut().push(port);
        Err("address in use".to_owned())
    };
    let runtime = RuntimeInfo {
        open_port: Some(&in_use),
        ..RUNTIME
    };
    let before = get(&mut s, Resource::Network);
    let request = pairs(&[("SecondHTTPPortEnable", "3"), ("SecondHTTPPort", "8081")]);
    let err = s
        .handle(Resource::Network, &request, &runtime)
        .expect_err("a port that cannot be opened");
    assert!(err.to_string().contains("SecondHTTPPort"), "{err}");
    assert!(err.to_string().contains("address in use"), "{err}");
    assert_eq!(get(&mut s, Resource::Network), before, "nothing saved");
    assert_eq!(*tried.borrow(), [8081]);

    // Once the port is in use by the camera itself, setting it again does not try it.
    accepted(
        &mut s,
        Resource::Network,
        &[("SecondHTTPPortEnable", "3"), ("SecondHTTPPort", "8081")],
    );
    s.handle(Resource::Network, &request, &runtime)
        .expect("an unchanged second port is not tried again");
    assert_eq!(*tried.borrow(), [8081]);
}

#[test]
fn time_zone_index_wins_and_time_zone_alone_selects_a_fixed_offset() {
    let (_dir, mut s) = service();
    let body = accepted(
        &mut s,
        Resource::DateTime,
        &[("TimeZoneIndex", "58"), ("TimeZone", "-3")],
    )
    .body;
    assert_eq!(
        (value(&body, "TimeZoneIndex"), value(&body, "TimeZone")),
        ("58".into(), "+5".into())
    );
    let body = accepted(&mut s, Resource::DateTime, &[("TimeZone", "+5")]).body;
    assert_eq!(
        value(&body, "TimeZoneIndex"),
        "58",
        "agreeing offset keeps the zone"
    );
    let body = accepted(&mut s, Resource::DateTime, &[("TimeZone", " 2")]).body;
    assert_eq!(
        (value(&body, "TimeZoneIndex"), value(&body, "TimeZone")),
        ("0".into(), "+2".into())
    );
    let body = accepted(&mut s, Resource::DateTime, &[("TimeZoneIndex", "32")]).body;
    assert_eq!(value(&body, "TimeZone"), "+1");
    let body = accepted(&mut s, Resource::DateTime, &[("TimeZoneIndex", "0")]).body;
    assert_eq!(
        value(&body, "TimeZone"),
        "+1",
        "row 0 keeps the offset in force"
    );
    rejected(
        &mut s,
        Resource::DateTime,
        &[("TimeZone", "+14")],
        "TimeZone",
    );
    rejected(
        &mut s,
        Resource::DateTime,
        &[("TimeZone", "-13")],
        "TimeZone",
    );
    accepted(&mut s, Resource::DateTime, &[("TimeZone", "-12")]);
    accepted(&mut s, Resource::DateTime, &[("TimeZone", "+13")]);
}

#[test]
fn manual_date_and_time_set_the_clock_in_the_camera_zone() {
    let (_dir, mut s) = service();
    let body = accepted(
        &mut s,
        Resource::DateTime,
        &[
            ("DateTimeMode", "1"),
            ("TimeZoneIndex", "71"),
            ("Date", "2004-09-01"),
            ("Time", "06:12:35"),
        ],
    )
    .body;
    assert_eq!(value(&body, "Date"), "2004-09-01");
    assert!(value(&body, "Time").starts_with("06:12:3"), "{body}");
    let utc = CameraTimeZone::from_setting(0, 0).local(s.clock().now());
    assert_eq!(utc.format("%Y-%m-%d %H").to_string(), "2004-08-31 21");
    rejected(
        &mut s,
        Resource::DateTime,
        &[("Date", "2004-02-30")],
        "Date",
    );
    rejected(&mut s, Resource::DateTime, &[("Time", "25:00:00")], "Time");
}

#[test]
fn time_server_mode_needs_a_server() {
    let (_dir, mut s) = service();
    rejected(
        &mut s,
        Resource::DateTime,
        &[("TimeServerIPAddress", "")],
        "TimeServerIPAddress",
    );
    accepted(
        &mut s,
        Resource::DateTime,
        &[("DateTimeMode", "1"), ("TimeServerIPAddress", "")],
    );
}

#[test]
fn date_and_time_are_ignored_in_time_server_mode() {
    let (_dir, mut s) = service();
    let body = accepted(
        &mut s,
        Resource::DateTime,
        &[
            ("DateTimeMode", "0"),
            ("Date", "2004-09-01"),
            ("Time", "06:12:35"),
        ],
    )
    .body;
    assert_ne!(value(&body, "Date"), "2004-09-01");
}

#[test]
fn access_control_keeps_the_spec_encoding() {
    let (_dir, mut s) = service();
    assert!(s.state().access.enabled());
    let reply = accepted(&mut s, Resource::User, &[("AccessControlEnable", "1")]);
    assert_eq!(reply.body, "AccessControlEnable=1\r\n");
    assert!(reply.effects.access_changed);
    assert!(!s.shared().load().access.enabled());
}

#[test]
fn users_are_added_listed_and_deleted() {
    let (_dir, mut s) = service();
    let body = accepted(
        &mut s,
        Resource::UserList,
        &[
            ("UserName", "ann"),
            ("UserPassword", "pw"),
            ("UserPrivilege", "1"),
            ("UserAdd", "Yes"),
        ],
    )
    .body;
    assert_eq!(
        body,
        "UserName=ann\r\nUserPassword=pw\r\nUserPrivilege=1\r\n"
    );
    accepted(
        &mut s,
        Resource::UserList,
        &[
            ("UserName", "bob"),
            ("UserPassword", "pw2"),
            ("UserAdd", "Yes"),
        ],
    );
    assert_eq!(
        get(&mut s, Resource::UserList),
        "UserName=ann\r\nUserPassword=pw\r\nUserPrivilege=1\r\nUserName=bob\r\nUserPassword=pw2\r\nUserPrivilege=0\r\n"
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[("UserName", "ann"), ("UserAdd", "Yes")],
        "UserName",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[("UserName", "admin"), ("UserAdd", "Yes")],
        "UserName",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[("UserName", ""), ("UserAdd", "Yes")],
        "UserName",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[("UserName", "a:b"), ("UserAdd", "Yes")],
        "UserName",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[("UserPassword", "x"), ("UserAdd", "Yes")],
        "UserName",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[("UserName", "x".repeat(13).as_str()), ("UserAdd", "Yes")],
        "UserName",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[
            ("UserName", "c"),
            ("UserPassword", "123456789"),
            ("UserAdd", "Yes"),
        ],
        "UserPassword",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[
            ("UserName", "c"),
            ("UserPrivilege", "2"),
            ("UserAdd", "Yes"),
        ],
        "UserPrivilege",
    );
    rejected(&mut s, Resource::UserList, &[("UserName", "c")], "UserAdd");
    let listed = accepted(&mut s, Resource::UserList, &[("ConfigReboot", "No")]);
    assert_eq!(listed.body, get(&mut s, Resource::UserList));
    rejected(
        &mut s,
        Resource::UserList,
        &[("UserName", "c"), ("UserAdd", "Yes"), ("UserDelete", "Yes")],
        "UserAdd",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[("UserName", "zed"), ("UserDelete", "Yes")],
        "UserName",
    );
    rejected(&mut s, Resource::System, &[("AdminID", "ann")], "AdminID");
    let reply = accepted(
        &mut s,
        Resource::UserList,
        &[("UserName", "ann"), ("UserDelete", "Yes")],
    );
    assert_eq!(
        reply.body,
        "UserName=bob\r\nUserPassword=pw2\r\nUserPrivilege=0\r\n"
    );
    assert!(reply.effects.access_changed);
}

#[test]
fn at_most_20_users() {
    let (_dir, mut s) = service();
    for i in 0..20 {
        accepted(
            &mut s,
            Resource::UserList,
            &[
                ("UserName", &format!("user{i}")),
                ("UserPassword", "pw"),
                ("UserAdd", "Yes"),
            ],
        );
    }
    rejected(
        &mut s,
        Resource::UserList,
        &[
            ("UserName", "user20"),
            ("UserPassword", "pw"),
            ("UserAdd", "Yes"),
        ],
        "UserName",
    );
    assert_eq!(table(&get(&mut s, Resource::UserList)).len(), 60);
}

#[test]
fn reset_answers_204_with_the_effect() {
    let (_dir, mut s) = service();
    let reply = accepted(&mut s, Resource::Reset, &[("Reset", "Yes")]);
    assert_eq!((reply.status, reply.body.as_str()), (204, ""));
    assert!(reply.effects.reboot && !reply.effects.factory_reset);
    let err = set(&mut s, Resource::Reset, &[("Reset", "No")]).expect_err("nothing to do");
    assert!(err.to_string().starts_with("Reset:"), "{err}");
    let err = s
        .handle(Resource::Reset, &[], &RUNTIME)
        .expect_err("nothing to do");
    assert_eq!(err.status(), 400);
}

#[test]
fn factory_reset_restores_everything_but_the_shipped_admin_password() {
    let (dir, mut s) = service();
    accepted(
        &mut s,
        Resource::System,
        &[("CameraName", "Hof"), ("AdminPassword", "changed")],
    );
    accepted(
        &mut s,
        Resource::UserList,
        &[
            ("UserName", "ann"),
            ("UserPassword", "pw"),
            ("UserAdd", "Yes"),
        ],
    );
    accepted(&mut s, Resource::Image, &[("VideoResolution", "0")]);
    accepted(&mut s, Resource::Network, &[("SecondHTTPPortEnable", "3")]);
    s.save_presets(vec![PresetRecord {
        position: 2,
        name: "gate".into(),
        pan: 10,
        tilt: 20,
    }])
    .expect("presets");
    let reply = accepted(&mut s, Resource::Reset, &[("FactoryReset", "Yes")]);
    assert_eq!(reply.status, 204);
    assert!(reply.effects.factory_reset);
    assert_eq!(reply.effects.second_http_port, Some(None));
    assert_eq!(reply.effects.image, Some(ImageConfig::default()));
    assert_eq!(s.state(), &State::factory("secret"));
    drop(s);
    let (reopened, report) = ConfigService::open(
        dir.path(),
        Box::new(SimPlatform::new()),
        InitialAdmin::Password("other".into()),
    )
    .expect("reopen");
    assert_eq!(report.source, LoadSource::Primary);
    assert_eq!(reopened.state(), &State::factory("secret"));
}

#[test]
fn factory_reset_without_a_shipped_password_draws_a_new_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, report) = ConfigService::open(
        dir.path(),
        Box::new(SimPlatform::new()),
        InitialAdmin::Random,
    )
    .expect("open");
    let first = report
        .generated_admin_password
        .expect("generated on first start");
    assert_eq!(s.state().system.admin_password, first);
    let reply = accepted(&mut s, Resource::Reset, &[("FactoryReset", "Yes")]);
    let second = reply
        .effects
        .generated_admin_password
        .expect("generated on factory reset");
    assert_eq!(s.state().system.admin_password, second);
    assert_eq!(second.chars().count(), 8);
}

#[test]
fn settings_and_presets_survive_a_restart() {
    let (dir, mut s) = service();
    accepted(
        &mut s,
        Resource::Image,
        &[("VideoResolution", "0"), ("Mirror", "2")],
    );
    accepted(&mut s, Resource::DateTime, &[("TimeZoneIndex", "32")]);
    let presets = vec![
        PresetRecord {
            position: 24,
            name: "twenty-four".into(),
            pan: 340,
            tilt: 135,
        },
        PresetRecord {
            position: 1,
            name: "door".into(),
            pan: 0,
            tilt: 0,
        },
    ];
    s.save_presets(presets).expect("presets");
    assert_eq!(s.state().presets[0].position, 1, "kept sorted");
    let saved = s.state().clone();
    drop(s);
    let (reopened, report) = ConfigService::open(
        dir.path(),
        Box::new(SimPlatform::new()),
        InitialAdmin::Random,
    )
    .expect("reopen");
    assert_eq!(report.source, LoadSource::Primary);
    assert_eq!(report.generated_admin_password, None);
    assert_eq!(reopened.state(), &saved);
    assert_eq!(
        reopened.clock().time_zone(),
        CameraTimeZone::from_setting(32, 1)
    );
}

#[test]
fn invalid_presets_are_not_saved() {
    let (_dir, mut s) = service();
    let bad = vec![PresetRecord {
        position: 25,
        name: "x".into(),
        pan: 0,
        tilt: 0,
    }];
    assert!(s.save_presets(bad).is_err());
    assert!(s.state().presets.is_empty());
}

#[test]
fn a_bad_admin_password_on_the_command_line_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["", "123456789", "a\nb"] {
        let result = ConfigService::open(
            dir.path(),
            Box::new(SimPlatform::new()),
            InitialAdmin::Password(bad.into()),
        );
        assert!(
            matches!(result, Err(OpenError::AdminPassword(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn error_messages_never_repeat_the_value() {
    let (_dir, mut s) = service();
    let err = set(
        &mut s,
        Resource::System,
        &[("AdminPassword", "supersecretpassword")],
    )
    .expect_err("too long");
    assert!(!err.to_string().contains("supersecret"), "{err}");
}

#[test]
fn passwords_must_not_be_empty() {
    let (_dir, mut s) = service();
    rejected(
        &mut s,
        Resource::System,
        &[("AdminPassword", "")],
        "AdminPassword",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[("UserName", "ann"), ("UserAdd", "Yes")],
        "UserPassword",
    );
    rejected(
        &mut s,
        Resource::UserList,
        &[
            ("UserName", "ann"),
            ("UserPassword", ""),
            ("UserAdd", "Yes"),
        ],
        "UserPassword",
    );
    accepted(&mut s, Resource::System, &[("AdminPassword", "x")]);
}

#[test]
fn a_state_file_with_an_empty_password_or_a_bad_address_still_loads() {
    // Earlier builds accepted both; throwing the whole state away for them would cost
    // the owner every setting.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut legacy = State::factory("");
    legacy.users.push(UserRecord {
        name: "ann".into(),
        ..UserRecord::default()
    });
    legacy.email.receiver = "me@example.com;typo".into();
    StateStore::new(dir.path())
        .and_then(|store| store.save(&legacy))
        .expect("save");
    let (mut s, report) = ConfigService::open(
        dir.path(),
        Box::new(SimPlatform::new()),
        InitialAdmin::Random,
    )
    .expect("open");
    assert_eq!(report.source, LoadSource::Primary);
    assert_eq!(s.state(), &legacy);
    // The next change of those tables must mend them.
    rejected(
        &mut s,
        Resource::System,
        &[("LEDControl", "1")],
        "AdminPassword",
    );
    rejected(
        &mut s,
        Resource::Email,
        &[("EmailSMTPPortNumber", "587")],
        "EmailReceiverAddress",
    );
    accepted(
        &mut s,
        Resource::Email,
        &[("EmailReceiverAddress", "me@example.com")],
    );
}

#[test]
fn email_addresses_are_ones_the_mailer_takes() {
    let (_dir, mut s) = service();
    for (name, bad, reason) in [
        ("EmailReceiverAddress", "owner@", "invalid domain after @"),
        ("EmailReceiverAddress", "typo", "not an e-mail address"),
        (
            "EmailReceiverAddress",
            "me@example.com;typo",
            "address 2 of 2: is not an e-mail address",
        ),
        (
            "EmailReceiverAddress",
            "a..b@example.com",
            "invalid name before @",
        ),
        (
            "EmailSenderAddress",
            "cam@example.com,",
            "invalid domain after @",
        ),
        (
            "EmailSenderAddress",
            "Cam<cam@example.com>",
            "invalid name before @",
        ),
    ] {
        rejected(&mut s, Resource::Email, &[(name, bad)], name);
        let message = set(&mut s, Resource::Email, &[(name, bad)])
            .expect_err("refused")
            .to_string();
        assert!(message.contains(reason), "{bad:?}: {message}");
    }
    let reply = accepted(
        &mut s,
        Resource::Email,
        &[
            ("EmailSenderAddress", "cam@[192.0.2.1]"),
            ("EmailReceiverAddress", "a@example.com; b@example.org,"),
        ],
    );
    assert!(reply.effects.email_changed);
    rejected(
        &mut s,
        Resource::Email,
        &[
            ("EmailSMTPServerAddress", "smtp.example.com"),
            ("EmailReceiverAddress", " ; "),
            ("EmailManualEnable", "1"),
        ],
        "EmailReceiverAddress",
    );
}

#[test]
fn an_unreadable_state_file_is_a_start_up_error_not_a_factory_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join(crate::store::STATE_FILE);
    // Reading a directory fails with EISDIR even for root, like EACCES would for others.
    std::fs::create_dir(&state).expect("mkdir");
    let result = ConfigService::open(
        dir.path(),
        Box::new(SimPlatform::new()),
        InitialAdmin::Random,
    );
    let Err(err @ OpenError::Store(_)) = result else {
        panic!("the start must fail");
    };
    let message = err.to_string();
    assert!(message.contains(&state.display().to_string()), "{message}");
    assert!(message.contains("Is a directory"), "{message}");
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        entries,
        [crate::store::STATE_FILE],
        "nothing written or moved"
    );
}

#[test]
fn motion_table_sets_reads_back_and_rejects_bad_values_whole() {
    let (_dir, mut s) = service();
    let body = get(&mut s, Resource::Motion);
    assert_eq!(
        names(&body),
        [
            "MotionDetectionEnable",
            "MotionMask",
            "MotionDetectionSensitivity",
            "EventUpload",
            "EventEmail",
            "EventTrigger",
            "EventTriggerSeconds",
            "EventInterval"
        ]
    );
    assert_eq!(value(&body, "MotionMask"), ["FFFF"; 12].join(","));
    let typed = "0000, 0000,00ff,00FF,0000,0000,0000,0000,0000,0000,0000,8001";
    let reply = accepted(
        &mut s,
        Resource::Motion,
        &[
            ("MotionDetectionEnable", "1"),
            ("MotionDetectionSensitivity", "80"),
            ("MotionMask", typed),
            ("EventTrigger", "2"),
        ],
    );
    assert!(reply.effects.motion_changed);
    assert_eq!(
        value(&reply.body, "MotionMask"),
        "0000,0000,00FF,00FF,0000,0000,0000,0000,0000,0000,0000,8001",
        "stored in the canonical spelling"
    );
    assert_eq!(value(&reply.body, "MotionDetectionSensitivity"), "80");
    let again = accepted(
        &mut s,
        Resource::Motion,
        &[("MotionDetectionSensitivity", "80")],
    );
    assert!(!again.effects.motion_changed);

    let mut eleven_rows = ["FFFF"; 11].join(",");
    rejected(
        &mut s,
        Resource::Motion,
        &[("MotionMask", &eleven_rows)],
        "MotionMask",
    );
    eleven_rows.push_str(",FFFG");
    rejected(
        &mut s,
        Resource::Motion,
        &[("MotionDetectionEnable", "0"), ("MotionMask", &eleven_rows)],
        "MotionMask",
    );
    rejected(
        &mut s,
        Resource::Motion,
        &[("MotionDetectionSensitivity", "101")],
        "MotionDetectionSensitivity",
    );
    rejected(
        &mut s,
        Resource::Motion,
        &[("EventTrigger", "4")],
        "EventTrigger",
    );
    rejected(
        &mut s,
        Resource::Motion,
        &[("EventTriggerSeconds", "0")],
        "EventTriggerSeconds",
    );
    rejected(
        &mut s,
        Resource::Motion,
        &[("EventInterval", "0")],
        "EventInterval",
    );
    rejected(
        &mut s,
        Resource::Motion,
        &[("MotionSpeed", "1")],
        "MotionSpeed: unknown parameter of /motion.cgi",
    );
}

#[test]
fn factory_reset_restores_the_motion_table() {
    let (_dir, mut s) = service();
    accepted(
        &mut s,
        Resource::Motion,
        &[
            ("MotionDetectionEnable", "1"),
            ("MotionMask", &["0F0F"; 12].join(",")),
        ],
    );
    let reply = accepted(&mut s, Resource::Reset, &[("FactoryReset", "Yes")]);
    assert!(reply.effects.motion_changed);
    let body = get(&mut s, Resource::Motion);
    assert_eq!(value(&body, "MotionDetectionEnable"), "0");
    assert_eq!(value(&body, "MotionMask"), ["FFFF"; 12].join(","));
}
