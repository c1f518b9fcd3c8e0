//! Chapter 3 of IPCamCGI 1.2 (the configuration API) black-box over real TCP: every
//! configuration and information CGI, its spec table, its limits, users and roles, durable
//! state, and the live effects of a change (image size, second HTTP port).
//!
//! Expected names, order and limits are copied from the spec text (and DESIGN.md where it
//! decides what the spec leaves open), never from the daemon's own output.

mod common;

use std::io::{BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Instant;

use common::{
    form, jpeg_size, table, value_of, MjpegStream, Reply, TestCamera, ADMIN, ADMIN_PASSWORD,
    DEADLINE,
};

/// Basic credentials as the helpers take them.
type Credentials = Option<(&'static str, &'static str)>;
/// A parsed `Name=value` body.
type Table = Vec<(String, String)>;
/// One `Name=value` parameter of a request.
type Pair<'a> = (&'a str, &'a str);

// ---------------------------------------------------------------------------------------
// The spec's tables (names in spec order; DESIGN.md: no spaces in names).
// ---------------------------------------------------------------------------------------

/// 3.1.2 query system information.
const ISYSTEM: &[&str] = &[
    "CameraName",
    "Location",
    "Model",
    "FirmwareVersion",
    "MACAddress",
    "IPAddress",
    "EthernetLink",
    "EthernetSpeed",
    "EthernetDuplex",
];
/// 3.1.3 get system configuration.
const SYSTEM: &[&str] = &[
    "CameraName",
    "Location",
    "AdminID",
    "AdminPassword",
    "LEDControl",
];
/// 3.1.5 get system date and time.
const DATETIME: &[&str] = &[
    "DateTimeMode",
    "TimeServerIPAddress",
    "TimeServerProtocol",
    "TimeZone",
    "TimeZoneIndex",
    "Date",
    "Time",
];
/// 3.2.1 get user access control.
const USER: &[&str] = &["AccessControlEnable"];
/// 3.2.3 get user list: one group per user.
const USERLIST_ENTRY: &[&str] = &["UserName", "UserPassword", "UserPrivilege"];
/// 3.2.6 get active user: one group per viewer.
const ACTIVEUSER_ENTRY: &[&str] = &[
    "UserIPAddress",
    "UserName",
    "AccessDateTime",
    "MinisecondPerPacket",
];
/// 3.3.1 query image information (served at `/iimage.cgi`, DESIGN.md).
const IIMAGE: &[&str] = &[
    "VideoResolution",
    "CompressionRate",
    "FrameRate",
    "FrameSize",
    "LightFrequency",
];
/// 3.3.2 get image configuration.
const IMAGE: &[&str] = &[
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
/// 3.4.1 query network information.
const INETWORK: &[&str] = &[
    "IPAddress",
    "SubnetMask",
    "DefaultGateway",
    "PrimaryDNSAddress",
    "SecondaryDNSAddress",
    "DynamicDNS",
    "SecondaryHTTPPort",
    "UpnP",
];
/// 3.4.2 get network configuration.
const NETWORK: &[&str] = &[
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
/// 3.4.4 query wireless information.
const IWIRELESS: &[&str] = &[
    "ConnectionMode",
    "WirelessLink",
    "SSID",
    "WirelessChannel",
    "TransmissionRate",
    "WEPEncryption",
];
/// 3.4.5 get wireless configuration.
const WIRELESS: &[&str] = &[
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
/// 3.5.1 get FTP upload configuration (`FTPSchedule FileMode` → `FTPScheduleFileMode`).
const UPLOAD: &[&str] = &[
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
/// 3.5.3 get e-mail configuration.
const EMAIL: &[&str] = &[
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
];
/// DESIGN.md's one documented extension of `/email.cgi`, rendered after the spec's lines.
const EMAIL_EXTENSIONS: &[&str] = &["EmailSMTPPortNumber"];

/// Appendix Table 2: the IDs of the dynamic DNS providers.
const DDNS_PROVIDERS: &[&str] = &[
    "www.dlinkddns.com",
    "WWW.ORAY.NET",
    "corede.net",
    "www.DynDNS.org(Custom)",
    "www.DynDNS.org(Free)",
    "DynDNS.org(Custom)",
    "DynDNS.org(Free)",
    "DynDNS",
    "Cn99",
    "DyNS",
    "TZO.com",
    "dhs.org",
    "Ivy Network",
    "@Net DDNS",
    "Sharella",
    "51Wireless",
    "PLANEX CyberGate",
    "Address.net",
];
/// 3.4.5 `TransmissionRate`.
const TRANSMISSION_RATES: &[&str] = &[
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
];

/// Every chapter-3 path, in spec order.
const CHAPTER_3: &[&str] = &[
    "/cgiversion.cgi",
    "/isystem.cgi",
    "/system.cgi",
    "/datetime.cgi",
    "/user.cgi",
    "/userlist.cgi",
    "/activeuser.cgi",
    "/iimage.cgi",
    "/image.cgi",
    "/inetwork.cgi",
    "/network.cgi",
    "/iwireless.cgi",
    "/wireless.cgi",
    "/upload.cgi",
    "/email.cgi",
    "/reset.cgi",
];

/// The resources that keep settings, for restart and factory-reset comparisons.
const SETTABLE: &[&str] = &[
    "/system.cgi",
    "/datetime.cgi",
    "/user.cgi",
    "/userlist.cgi",
    "/image.cgi",
    "/network.cgi",
    "/wireless.cgi",
    "/upload.cgi",
    "/email.cgi",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// How a set is sent: the spec allows both (2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Query,
    Form,
}

impl Via {
    /// Alternates so that every resource sees both methods.
    fn nth(n: usize) -> Via {
        if n % 2 == 0 {
            Via::Query
        } else {
            Via::Form
        }
    }
}

fn set_as(
    camera: &TestCamera,
    path: &str,
    pairs: &[(&str, &str)],
    via: Via,
    credentials: Credentials,
) -> Reply {
    match via {
        Via::Query => camera.get(&format!("{path}?{}", form(pairs)), credentials),
        Via::Form => camera.post(path, credentials, &form(pairs)),
    }
}

fn set(camera: &TestCamera, path: &str, pairs: &[(&str, &str)], via: Via) -> Reply {
    set_as(camera, path, pairs, via, ADMIN)
}

fn names(table: &[(String, String)]) -> Vec<&str> {
    table.iter().map(|(name, _)| name.as_str()).collect()
}

/// GET `path` as `credentials`: 200, `text/html`, the parsed table.
fn get_table_as(camera: &TestCamera, path: &str, credentials: Credentials) -> Table {
    let reply = camera.get(path, credentials);
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/html"),
        "GET {path}"
    );
    assert!(
        reply.body.is_empty() || reply.body.ends_with(b"\r\n"),
        "GET {path}: every line ends with CRLF"
    );
    table(&reply)
}

fn get_table(camera: &TestCamera, path: &str) -> Table {
    get_table_as(camera, path, ADMIN)
}

/// The table without `Date` and `Time`, which tick by themselves.
fn settled(table: Table) -> Table {
    table
        .into_iter()
        .filter(|(name, _)| name != "Date" && name != "Time")
        .collect()
}

/// A set that must succeed: 200 with the resource's full table, which a GET then shows.
fn assert_accepted(camera: &TestCamera, path: &str, pairs: &[(&str, &str)], via: Via) -> Table {
    let reply = set(camera, path, pairs, via);
    assert_eq!(
        reply.status,
        200,
        "{via:?} {path} {pairs:?}: {}",
        reply.text()
    );
    assert_eq!(reply.header("Content-Type"), Some("text/html"));
    let answered = table(&reply);
    assert_eq!(
        settled(answered.clone()),
        settled(get_table(camera, path)),
        "{via:?} {path} {pairs:?}: the answer is the table a GET shows"
    );
    answered
}

/// A set that must fail: 400 with a one-line reason that names `culprit`, and the
/// resource's table exactly as before.
fn assert_rejected(
    camera: &TestCamera,
    path: &str,
    pairs: &[(&str, &str)],
    via: Via,
    culprit: &str,
) {
    let before = settled(get_table(camera, path));
    let reply = set(camera, path, pairs, via);
    assert_eq!(
        reply.status,
        400,
        "{via:?} {path} {pairs:?} must be refused: {}",
        reply.text()
    );
    assert_one_line_reason(&reply, culprit);
    assert_eq!(
        settled(get_table(camera, path)),
        before,
        "{via:?} {path} {pairs:?} changed the table although it was refused"
    );
}

fn assert_one_line_reason(reply: &Reply, culprit: &str) {
    let text = reply.text();
    let reason = text.strip_suffix("\r\n").unwrap_or(&text);
    assert!(
        !reason.is_empty() && !reason.contains(['\r', '\n']),
        "the reason is one line: {text:?}"
    );
    assert!(
        reason.contains(culprit),
        "the reason {reason:?} names {culprit}"
    );
}

/// One parameter's boundary cases: values that must be taken (and read back as sent),
/// values that must be refused, and other parameters sent along that make the values
/// meaningful (e.g. a server for `FTPScheduleEnable=1`).
struct Case {
    name: &'static str,
    good: Vec<String>,
    bad: Vec<String>,
    with: Vec<(&'static str, String)>,
}

impl Case {
    fn with(mut self, name: &'static str, value: &str) -> Self {
        self.with.push((name, value.to_owned()));
        self
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// An enumeration or free list: `good` taken, `bad` refused.
fn one_of(name: &'static str, good: &[&str], bad: &[&str]) -> Case {
    Case {
        name,
        good: strings(good),
        bad: strings(bad),
        with: Vec::new(),
    }
}

/// An integer range `min...max`: both ends taken, one past either end refused.
fn range(name: &'static str, min: i64, max: i64) -> Case {
    Case {
        name,
        good: vec![min.to_string(), max.to_string()],
        bad: vec![
            (min - 1).to_string(),
            (max + 1).to_string(),
            "x".into(),
            String::new(),
        ],
        with: Vec::new(),
    }
}

/// A string of at most `max` characters (UTF-8, counted in characters); CR, LF and other
/// control characters refused.
fn text(name: &'static str, max: usize) -> Case {
    Case {
        name,
        good: vec!["é".repeat(max), "a".repeat(max)],
        bad: vec![
            "é".repeat(max + 1),
            "a".repeat(max + 1),
            "a\r\nb".into(),
            "a\nb".into(),
            "a\rb".into(),
            "a\u{1}b".into(),
        ],
        with: Vec::new(),
    }
}

/// A host name of exactly `len` characters (labels stay within 63).
fn host_name(len: usize) -> String {
    let first = (len - 1) / 2;
    format!("{}.{}", "h".repeat(first), "c".repeat(len - 1 - first))
}

/// "A host or IP address" of at most `max` characters.
fn host(name: &'static str, max: usize) -> Case {
    Case {
        name,
        good: vec![
            host_name(max),
            "192.168.0.5".into(),
            "ntp.example.com".into(),
        ],
        bad: vec![host_name(max + 1), "bad host".into(), "a\r\nb.com".into()],
        with: Vec::new(),
    }
}

/// An e-mail address of exactly `len` characters.
fn email_address(len: usize) -> String {
    const DOMAIN: &str = "@example.com";
    format!("{}{DOMAIN}", "u".repeat(len - DOMAIN.len()))
}

/// "A time" hh:mm:ss.
fn time(name: &'static str) -> Case {
    one_of(
        name,
        &["00:00:00", "23:59:59", "06:12:35"],
        &[
            "24:00:00", "12:60:00", "12:00:60", "23:59:60", "12:00", "noon",
        ],
    )
}

/// Runs every case against `path`: each good value (alternately by GET query and POST
/// form) answers the full table with the value read back exactly; each bad value is
/// refused and changes nothing; after each parameter the original table is sent back
/// whole, which must also be accepted.
fn check_cases(camera: &TestCamera, path: &str, cases: &[Case]) {
    let original = settled(get_table(camera, path));
    let mut sent = 0;
    let mut next_via = || {
        sent += 1;
        Via::nth(sent)
    };
    for case in cases {
        for good in &case.good {
            let mut pairs: Vec<(&str, &str)> =
                case.with.iter().map(|(n, v)| (*n, v.as_str())).collect();
            pairs.push((case.name, good));
            let answered = assert_accepted(camera, path, &pairs, next_via());
            assert_eq!(
                value_of(&answered, case.name),
                Some(good.as_str()),
                "{path} {pairs:?} reads back"
            );
        }
        for bad in &case.bad {
            let mut pairs: Vec<(&str, &str)> =
                case.with.iter().map(|(n, v)| (*n, v.as_str())).collect();
            pairs.push((case.name, bad));
            assert_rejected(camera, path, &pairs, next_via(), case.name);
        }
        let whole: Vec<(&str, &str)> = original
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let restored = assert_accepted(camera, path, &whole, next_via());
        assert_eq!(settled(restored), original, "{path}: whole table sent back");
    }
}

fn assert_names(path: &str, table: &[(String, String)], spec: &[&str]) {
    assert_eq!(names(table), spec, "{path} renders the spec table in order");
}

/// Waits until the camera has a frame to serve.
fn wait_for_first_frame(camera: &TestCamera) {
    common::wait_for("a first frame", || {
        (camera.get("/image.jpg", ADMIN).status == 200).then_some(())
    });
}

// ---------------------------------------------------------------------------------------
// 3.1 device information
// ---------------------------------------------------------------------------------------

#[test]
fn cgiversion_is_version_2() {
    let camera = TestCamera::start();
    let reply = camera.get("/cgiversion.cgi", ADMIN);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("text/html"));
    assert_eq!(reply.text(), "CGIVersion=2\r\n");
}

#[test]
fn isystem_reports_the_camera_in_the_spec_formats() {
    let camera = TestCamera::start();
    assert_accepted(
        &camera,
        "/system.cgi",
        &[("CameraName", "Porch"), ("Location", "Front door")],
        Via::Form,
    );
    let info = get_table(&camera, "/isystem.cgi");
    assert_names("/isystem.cgi", &info, ISYSTEM);
    let value = |name| value_of(&info, name).unwrap();
    assert_eq!(value("CameraName"), "Porch");
    assert_eq!(value("Location"), "Front door");
    assert!(!value("Model").is_empty());
    assert!(!value("FirmwareVersion").is_empty());
    // "00 FF 5C 8A 13 18": six hexadecimal pairs separated by spaces.
    let mac: Vec<&str> = value("MACAddress").split(' ').collect();
    assert_eq!(mac.len(), 6, "{}", value("MACAddress"));
    assert!(mac
        .iter()
        .all(|pair| pair.len() == 2 && pair.chars().all(|c| c.is_ascii_hexdigit())));
    value("IPAddress").parse::<Ipv4Addr>().unwrap();
    assert!(["Yes", "No"].contains(&value("EthernetLink")));
    let speed = value("EthernetSpeed");
    let megabits = speed.strip_suffix("M bps").expect("<n>M bps");
    megabits.parse::<u32>().unwrap();
    assert!(["Half Duplex", "Full Duplex"].contains(&value("EthernetDuplex")));
}

#[test]
fn system_table_and_its_limits() {
    let camera = TestCamera::start();
    let initial = get_table(&camera, "/system.cgi");
    assert_names("/system.cgi", &initial, SYSTEM);
    // DESIGN.md: first start has admin `admin` with the password given at start-up.
    assert_eq!(value_of(&initial, "AdminID"), Some("admin"));
    assert_eq!(value_of(&initial, "AdminPassword"), Some(ADMIN_PASSWORD));
    check_cases(
        &camera,
        "/system.cgi",
        &[
            text("CameraName", 32),
            text("Location", 64),
            one_of("LEDControl", &["0", "1", "2"], &["3", "-1", "x"]),
        ],
    );
    // ConfigReboot is part of the set table; Yes restarts the pipeline after the answer.
    for reboot in ["No", "Yes"] {
        let table = assert_accepted(
            &camera,
            "/system.cgi",
            &[("CameraName", reboot), ("ConfigReboot", reboot)],
            Via::Query,
        );
        assert_eq!(value_of(&table, "CameraName"), Some(reboot));
    }
    wait_for_first_frame(&camera);
}

#[test]
fn admin_credentials_are_the_system_cgi_ones() {
    let camera = TestCamera::start();
    for (name, value) in [
        ("AdminID", "a".repeat(13)),
        ("AdminPassword", "p".repeat(9)),
        // A login without a password is no login (start-up refuses it too).
        ("AdminPassword", String::new()),
    ] {
        assert_rejected(&camera, "/system.cgi", &[(name, &value)], Via::Form, name);
    }
    let (id, password) = ("é".repeat(12), "pé".repeat(4));
    let reply = set(
        &camera,
        "/system.cgi",
        &[("AdminID", &id), ("AdminPassword", &password)],
        Via::Form,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(camera.get("/system.cgi", ADMIN).status, 401);
    let new_admin = Some((id.as_str(), password.as_str()));
    let reply = camera.get("/system.cgi", new_admin);
    assert_eq!(reply.status, 200);
    let table = table(&reply);
    assert_eq!(value_of(&table, "AdminID"), Some(id.as_str()));
    assert_eq!(value_of(&table, "AdminPassword"), Some(password.as_str()));
}

#[test]
fn datetime_table_and_its_limits() {
    let camera = TestCamera::start();
    let initial = get_table(&camera, "/datetime.cgi");
    assert_names("/datetime.cgi", &initial, DATETIME);
    check_cases(
        &camera,
        "/datetime.cgi",
        &[
            one_of("DateTimeMode", &["0", "1"], &["2", "-1"]),
            host("TimeServerIPAddress", 64),
            one_of("TimeServerProtocol", &["0", "1"], &["2"]),
            // TimeZone: -12~+13, shown as in the spec's list (0, +1, ..., +13).
            one_of("TimeZone", &["-12", "+13", "0", "+1"], &["-13", "+14", "x"]),
            range("TimeZoneIndex", 0, 84),
        ],
    );
}

#[test]
fn time_zone_index_decides_the_time_zone_and_the_clock_can_be_set() {
    let camera = TestCamera::start();
    let path = "/datetime.cgi";
    // lib.rs: a non-zero TimeZoneIndex wins; TimeZone is its table offset in whole hours.
    for (index, zone) in [
        ("32", "+1"),  // (GMT+01:00) Amsterdam, Berlin, ...
        ("58", "+5"),  // (GMT+05:30) Chennai, ...: whole hours toward zero
        ("17", "-4"),  // (GMT-04:30) Caracas
        ("1", "-12"),  // (GMT-12:00) International Date Line West
        ("84", "+13"), // (GMT+13:00) Nuku'alofa
    ] {
        let table = assert_accepted(
            &camera,
            path,
            &[("TimeZoneIndex", index), ("TimeZone", "0")],
            Via::Query,
        );
        assert_eq!(value_of(&table, "TimeZoneIndex"), Some(index));
        assert_eq!(value_of(&table, "TimeZone"), Some(zone), "index {index}");
    }
    // TimeZone alone, unlike the index's offset: the fixed-offset row 0.
    let table = assert_accepted(&camera, path, &[("TimeZone", "-5")], Via::Form);
    assert_eq!(value_of(&table, "TimeZoneIndex"), Some("0"));
    assert_eq!(value_of(&table, "TimeZone"), Some("-5"));

    // Manual time at a fixed offset, then the same instant seen from two hours east.
    let table = assert_accepted(
        &camera,
        path,
        &[
            ("DateTimeMode", "1"),
            ("TimeZoneIndex", "0"),
            ("TimeZone", "+1"),
            ("Date", "2004-09-01"),
            ("Time", "06:12:35"),
        ],
        Via::Form,
    );
    assert_eq!(value_of(&table, "Date"), Some("2004-09-01"));
    assert_clock_near(&table, "06:12:35");
    let table = assert_accepted(&camera, path, &[("TimeZone", "+3")], Via::Query);
    assert_eq!(value_of(&table, "Date"), Some("2004-09-01"));
    assert_clock_near(&table, "08:12:35");

    for (name, bad) in [
        ("Date", "2005-02-29"),
        ("Date", "2004/09/01"),
        ("Time", "24:00:00"),
        ("Time", "23:59:60"),
    ] {
        assert_rejected(
            &camera,
            path,
            &[("DateTimeMode", "1"), (name, bad)],
            Via::Form,
            name,
        );
    }
}

/// `Time` is `hh:mm:ss`, not before `set` and less than a minute after it.
fn assert_clock_near(table: &[(String, String)], set: &str) {
    let seconds = |time: &str| -> u32 {
        let fields: Vec<u32> = time.split(':').map(|f| f.parse().unwrap()).collect();
        assert!(fields.len() == 3 && time.len() == 8, "hh:mm:ss: {time}");
        fields[0] * 3600 + fields[1] * 60 + fields[2]
    };
    let shown = value_of(table, "Time").expect("Time line");
    let elapsed = seconds(shown).checked_sub(seconds(set));
    assert!(
        elapsed.is_some_and(|s| s < 60),
        "clock shows {shown}, set to {set}"
    );
}

// ---------------------------------------------------------------------------------------
// 3.2 users
// ---------------------------------------------------------------------------------------

#[test]
fn user_access_control_table_and_its_limits() {
    let camera = TestCamera::start();
    let initial = get_table(&camera, "/user.cgi");
    assert_names("/user.cgi", &initial, USER);
    check_cases(
        &camera,
        "/user.cgi",
        &[one_of(
            "AccessControlEnable",
            &["0", "1"],
            &["2", "-1", "Yes"],
        )],
    );
}

/// The user list as (name, password, privilege), checking the spec's group order.
fn users(camera: &TestCamera) -> Vec<(String, String, String)> {
    let table = get_table(camera, "/userlist.cgi");
    assert_eq!(table.len() % 3, 0, "{table:?}");
    table
        .chunks(3)
        .map(|group| {
            assert_eq!(names(group), USERLIST_ENTRY);
            (group[0].1.clone(), group[1].1.clone(), group[2].1.clone())
        })
        .collect()
}

fn add_user(name: &str, password: &str, privilege: &str) -> [(String, String); 4] {
    [
        ("UserName".into(), name.into()),
        ("UserPassword".into(), password.into()),
        ("UserPrivilege".into(), privilege.into()),
        ("UserAdd".into(), "Yes".into()),
    ]
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[test]
fn userlist_adds_and_deletes_users() {
    let camera = TestCamera::start();
    let path = "/userlist.cgi";
    assert!(users(&camera).is_empty(), "a new camera has no users");

    assert_accepted(
        &camera,
        path,
        &pairs(&add_user("alice", "pw1", "1")),
        Via::Query,
    );
    let answered = assert_accepted(
        &camera,
        path,
        &pairs(&add_user(&"é".repeat(12), &"ü".repeat(8), "0")),
        Via::Form,
    );
    assert_eq!(answered.len(), 6);
    // The spec's own example sends `UserName =<value>`.
    let reply = camera.get(
        "/userlist.cgi?UserName%20=bob&UserPassword%20=pw3&UserPrivilege%20=0&UserAdd=Yes",
        ADMIN,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        users(&camera),
        [
            ("alice".into(), "pw1".into(), "1".into()),
            ("é".repeat(12), "ü".repeat(8), "0".into()),
            ("bob".into(), "pw3".into(), "0".into()),
        ]
    );

    // A new user can log in, with the role of its privilege.
    wait_for_first_frame(&camera);
    assert_eq!(camera.get("/image.jpg", Some(("bob", "pw3"))).status, 200);
    assert_eq!(camera.get("/system.cgi", Some(("bob", "pw3"))).status, 401);

    let refused: [(&[(String, String)], &str); 7] = [
        (&add_user("alice", "other", "0"), "UserName"), // names are unique
        (&add_user("admin", "other", "0"), "UserName"), // nor the administrator's
        (&add_user(&"n".repeat(13), "pw", "0"), "UserName"),
        (&add_user("carol", &"p".repeat(9), "0"), "UserPassword"),
        (&add_user("carol", "", "0"), "UserPassword"), // a login needs a password
        (&add_user("carol", "pw", "2"), "UserPrivilege"),
        (&add_user("ca\r\nrol", "pw", "0"), "UserName"),
    ];
    for (n, (request, culprit)) in refused.iter().enumerate() {
        assert_rejected(&camera, path, &pairs(request), Via::nth(n), culprit);
    }
    let carol = add_user("carol", "pw", "0");
    let mut unknown = pairs(&carol);
    unknown.push(("UserColour", "blue"));
    assert_rejected(&camera, path, &unknown, Via::Form, "UserColour");

    let answered = assert_accepted(
        &camera,
        path,
        &[("UserName", "alice"), ("UserDelete", "Yes")],
        Via::Form,
    );
    assert!(!answered.iter().any(|(_, v)| v == "alice"));
    assert_eq!(users(&camera).len(), 2);
    assert_eq!(camera.get("/image.jpg", Some(("alice", "pw1"))).status, 401);
    assert_rejected(
        &camera,
        path,
        &[("UserName", "alice"), ("UserDelete", "Yes")],
        Via::Query,
        "UserName",
    );
}

#[test]
fn userlist_holds_at_most_20_users() {
    let camera = TestCamera::start();
    let path = "/userlist.cgi";
    for n in 0..20 {
        let request = add_user(&format!("user{n}"), "pw", "0");
        assert_accepted(&camera, path, &pairs(&request), Via::nth(n));
    }
    assert_eq!(users(&camera).len(), 20);
    assert_rejected(
        &camera,
        path,
        &pairs(&add_user("user20", "pw", "0")),
        Via::Form,
        "UserName",
    );
    assert_eq!(users(&camera).len(), 20);
    assert_accepted(
        &camera,
        path,
        &[("UserName", "user0"), ("UserDelete", "Yes")],
        Via::Query,
    );
    assert_accepted(
        &camera,
        path,
        &pairs(&add_user("user20", "pw", "0")),
        Via::Form,
    );
    assert_eq!(users(&camera).len(), 20);
}

#[test]
fn activeuser_lists_an_open_stream_with_its_address_and_user() {
    let camera = TestCamera::start();
    assert_accepted(
        &camera,
        "/userlist.cgi",
        &pairs(&add_user("watcher", "pw", "0")),
        Via::Form,
    );
    assert_eq!(get_table(&camera, "/activeuser.cgi"), Table::new());
    let mut viewer = MjpegStream::open(camera.addr, Some(("watcher", "pw")));
    viewer.next_part();

    let active = get_table(&camera, "/activeuser.cgi");
    assert_names("/activeuser.cgi", &active, ACTIVEUSER_ENTRY);
    assert_eq!(value_of(&active, "UserIPAddress"), Some("127.0.0.1"));
    assert_eq!(value_of(&active, "UserName"), Some("watcher"));
    // "2008-10-01 10:39:46"
    let when = value_of(&active, "AccessDateTime").unwrap();
    let shape: String = when
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99", "{when}");
    value_of(&active, "MinisecondPerPacket")
        .unwrap()
        .parse::<u32>()
        .expect("# milliseconds");

    drop(viewer);
    common::wait_for("the viewer to leave the list", || {
        get_table(&camera, "/activeuser.cgi")
            .is_empty()
            .then_some(())
    });
}

// ---------------------------------------------------------------------------------------
// 3.3 image
// ---------------------------------------------------------------------------------------

#[test]
fn iimage_describes_the_configured_image_in_words() {
    let camera = TestCamera::start();
    wait_for_first_frame(&camera);
    let expectations = [
        // (VideoResolution, CompressionRate, FrameRate, LightFrequency) → words
        (
            ("0", "0", "0", "0"),
            ("160 x 120", "Very Low", "Auto", "50 Hz"),
        ),
        (
            ("1", "4", "15", "1"),
            ("320 x 240", "Very High", "15", "60 Hz"),
        ),
        (("2", "2", "1", "0"), ("640 x 480", "Medium", "1", "50 Hz")),
    ];
    for ((resolution, compression, rate, light), words) in expectations {
        assert_accepted(
            &camera,
            "/image.cgi",
            &[
                ("VideoResolution", resolution),
                ("CompressionRate", compression),
                ("FrameRate", rate),
                ("LightFrequency", light),
            ],
            Via::Form,
        );
        let info = get_table(&camera, "/iimage.cgi");
        assert_names("/iimage.cgi", &info, IIMAGE);
        let value = |name| value_of(&info, name).unwrap();
        assert_eq!(
            (
                value("VideoResolution"),
                value("CompressionRate"),
                value("FrameRate"),
                value("LightFrequency")
            ),
            words
        );
        // "# Bytes": the size of a real frame.
        let size = value("FrameSize").strip_suffix(" Bytes").expect("# Bytes");
        assert!(size.parse::<u32>().unwrap() > 0, "{size}");
    }
}

#[test]
fn image_table_and_its_limits() {
    let camera = TestCamera::start();
    let initial = get_table(&camera, "/image.cgi");
    assert_names("/image.cgi", &initial, IMAGE);
    check_cases(
        &camera,
        "/image.cgi",
        &[
            one_of("VideoResolution", &["0", "1", "2"], &["3", "-1"]),
            one_of("CompressionRate", &["0", "1", "2", "3", "4"], &["5", "-1"]),
            one_of(
                "FrameRate",
                &["0", "1", "5", "7", "15", "20"],
                &["2", "10", "21", "Auto"],
            ),
            range("BrightnessControl", 1, 128),
            range("ContrastControl", 1, 128),
            range("SaturationControl", 1, 128),
            one_of("LightFrequency", &["0", "1"], &["2", "50"]),
            range("Mirror", 0, 3),
            one_of("AntiFlickerEnable", &["0", "1"], &["2"]),
        ],
    );
}

#[test]
fn image_settings_reach_snapshots_and_an_open_stream() {
    let camera = TestCamera::start();
    let mut viewer = MjpegStream::open(camera.addr, ADMIN);
    assert!(jpeg_size(&viewer.next_part().jpeg).is_some());
    for (code, size) in [("0", (160, 120)), ("1", (320, 240)), ("2", (640, 480))] {
        assert_accepted(
            &camera,
            "/image.cgi",
            &[("VideoResolution", code)],
            Via::Query,
        );
        common::wait_for(&format!("/image.jpg at {size:?}"), || {
            let reply = camera.get("/image.jpg", ADMIN);
            (reply.status == 200 && jpeg_size(&reply.body) == Some(size)).then_some(())
        });
        // The viewer stayed connected and its frames change size too.
        let deadline = Instant::now() + DEADLINE;
        while jpeg_size(&viewer.next_part().jpeg) != Some(size) {
            assert!(Instant::now() < deadline, "stream never showed {size:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3.4 network
// ---------------------------------------------------------------------------------------

#[test]
fn inetwork_reports_the_network_in_the_spec_formats() {
    let camera = TestCamera::start();
    let info = get_table(&camera, "/inetwork.cgi");
    assert_names("/inetwork.cgi", &info, INETWORK);
    for name in &INETWORK[..5] {
        value_of(&info, name)
            .unwrap()
            .parse::<Ipv4Addr>()
            .unwrap_or_else(|_| panic!("{name} is an IP address"));
    }
    assert_eq!(value_of(&info, "DynamicDNS"), Some("Disable"));
    assert_eq!(value_of(&info, "UpnP"), Some("Disable"));
    // "Disable (Port : 81)": the state and the configured port.
    let port = value_of(&get_table(&camera, "/network.cgi"), "SecondHTTPPort")
        .unwrap()
        .to_owned();
    assert_eq!(
        value_of(&info, "SecondaryHTTPPort"),
        Some(format!("Disable (Port : {port})").as_str())
    );

    assert_accepted(
        &camera,
        "/network.cgi",
        &[
            ("DDNSEnable", "1"),
            ("DDNSHostName", "cam.example.com"),
            ("UPnPEnable", "1"),
        ],
        Via::Form,
    );
    let info = get_table(&camera, "/inetwork.cgi");
    // The spec's word first; the updater's state follows in parentheses (tests/ddns.rs).
    let ddns = value_of(&info, "DynamicDNS").unwrap();
    assert!(ddns.starts_with("Enable ("), "{ddns}");
    let upnp = value_of(&info, "UpnP").unwrap();
    let ip = upnp
        .strip_prefix("Enable (IP : ")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("Enable (IP : x.x.x.x), not {upnp}"));
    ip.parse::<Ipv4Addr>().unwrap();
}

#[test]
fn network_table_and_its_limits() {
    let camera = TestCamera::start();
    let initial = get_table(&camera, "/network.cgi");
    assert_names("/network.cgi", &initial, NETWORK);
    let address = |name| {
        one_of(
            name,
            &["10.0.0.2", "192.168.1.1"],
            &["256.1.1.1", "10.0.0", "a.b.c.d"],
        )
    };
    check_cases(
        &camera,
        "/network.cgi",
        &[
            one_of("IPAddressMode", &["1", "4", "5"], &["0", "2", "3", "6"])
                .with("PPPoEUserID", "dsl-user"),
            address("IPAddress"),
            one_of(
                "SubnetMask",
                &["255.255.0.0", "255.255.255.252"],
                &["255.0.255.0", "300.0.0.0"],
            ),
            address("DefaultGateway"),
            text("PPPoEUserID", 64),
            text("PPPoEPASSWORD", 32),
            address("DNSIPAddress1"),
            address("DNSIPAddress2"),
            one_of("DDNSEnable", &["0", "1"], &["2"]).with("DDNSHostName", "cam.example.com"),
            one_of(
                "DDNSProvider",
                DDNS_PROVIDERS,
                &["members.dyndns.org", "NoSuchDDNS", ""],
            ),
            host("DDNSHostName", 64),
            text("DDNSUserName", 64),
            text("DDNSPassword", 32),
            one_of("SecondHTTPPortEnable", &["0"], &["1", "2", "4"]),
            range("SecondHTTPPort", 1, 65535),
            one_of("UPnPEnable", &["0", "1"], &["2"]),
        ],
    );
}

#[test]
fn a_second_http_port_that_cannot_be_opened_is_refused_and_not_saved() {
    let camera = TestCamera::start();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to occupy");
    let port = taken.local_addr().unwrap().port().to_string();
    assert_rejected(
        &camera,
        "/network.cgi",
        &[("SecondHTTPPortEnable", "3"), ("SecondHTTPPort", &port)],
        Via::Form,
        "SecondHTTPPort",
    );
    let info = get_table(&camera, "/inetwork.cgi");
    let second = value_of(&info, "SecondaryHTTPPort").unwrap_or_default();
    assert!(second.starts_with("Disable"), "{second}");
    drop(taken);
    assert_accepted(
        &camera,
        "/network.cgi",
        &[("SecondHTTPPortEnable", "3"), ("SecondHTTPPort", &port)],
        Via::Form,
    );
}

#[test]
fn second_http_port_opens_and_closes_live() {
    let camera = TestCamera::start();
    let port = ipcam_testkit::free_port();
    let second = SocketAddr::from(([127, 0, 0, 1], port));
    let port_text = port.to_string();
    assert_accepted(
        &camera,
        "/network.cgi",
        &[
            ("SecondHTTPPortEnable", "3"),
            ("SecondHTTPPort", &port_text),
        ],
        Via::Form,
    );
    common::wait_for("the second port to answer", || {
        TcpStream::connect(second).ok()?;
        let reply = common::get(second, "/cgiversion.cgi", ADMIN);
        (reply.text() == "CGIVersion=2\r\n").then_some(())
    });
    // The second port is the same camera, with the same rules.
    assert_eq!(common::get(second, "/system.cgi", None).status, 401);
    let info = get_table(&camera, "/inetwork.cgi");
    assert_eq!(
        value_of(&info, "SecondaryHTTPPort"),
        Some(format!("Enable (Port : {port})").as_str())
    );

    assert_accepted(
        &camera,
        "/network.cgi",
        &[("SecondHTTPPortEnable", "0")],
        Via::Query,
    );
    common::wait_for("the second port to close", || {
        TcpStream::connect(second).is_err().then_some(())
    });
    assert_eq!(camera.get("/cgiversion.cgi", ADMIN).status, 200);
}

#[test]
fn iwireless_reports_the_link_in_the_spec_spellings() {
    let camera = TestCamera::start();
    assert_accepted(
        &camera,
        "/wireless.cgi",
        &[
            ("SSID", "home"),
            ("WirelessChannel", "11"),
            ("TransmissionRate", "54 Mb"),
            ("WEPEncryption", "4"),
            ("PreSharedKey", "correct horse"),
        ],
        Via::Form,
    );
    let info = get_table(&camera, "/iwireless.cgi");
    assert_names("/iwireless.cgi", &info, IWIRELESS);
    let value = |name| value_of(&info, name).unwrap();
    assert!(["Infrastructure", "Adhoc"].contains(&value("ConnectionMode")));
    assert!(["No", "Yes", "Disable"].contains(&value("WirelessLink")));
    assert!((1..=14).contains(&value("WirelessChannel").parse::<u8>().unwrap()));
    let rate = value("TransmissionRate");
    let rate_ok = rate == "Fully Automatic"
        || rate.strip_suffix(" M bps").is_some_and(|n| {
            [
                "1", "2", "5.5", "11", "6", "9", "12", "18", "24", "36", "48", "54",
            ]
            .contains(&n)
        });
    assert!(rate_ok, "TransmissionRate={rate}");
    let encryptions = [
        "WEP",
        "WPA-PSK",
        "WPA-PSK / WPA2-PSK",
        "WPA-PSK (TKIP)",
        "WPA-PSK (AES)",
        "WPA2-PSK (TKIP)",
        "WPA2-PSK (AES)",
        "Disable",
        "Enable",
    ];
    assert!(encryptions.contains(&value("WEPEncryption")));
    assert_ne!(value("WEPEncryption"), "Disable", "WPA is configured");
}

#[test]
fn wireless_table_and_its_limits() {
    let camera = TestCamera::start();
    let initial = get_table(&camera, "/wireless.cgi");
    assert_names("/wireless.cgi", &initial, WIRELESS);
    let key = |name| {
        one_of(
            name,
            &["abcde", "abcdefghijklm"],
            &["abcd", "abcdef", "abcdefghijklmn"],
        )
        .with("WEPKeyFormat", "0")
    };
    check_cases(
        &camera,
        "/wireless.cgi",
        &[
            one_of("ConnectionMode", &["0", "1"], &["2"]),
            text("SSID", 32),
            range("WirelessChannel", 1, 14),
            one_of(
                "TransmissionRate",
                TRANSMISSION_RATES,
                &["3 Mb", "Automatic"],
            ),
            one_of("WEPEncryption", &["0"], &["1", "5"]),
            one_of("WEPKeyFormat", &["0", "1"], &["2"]),
            key("Key1"),
            key("Key2"),
            key("Key3"),
            key("Key4"),
            one_of(
                "TxKey",
                &["Key 1", "Key 2", "Key 3", "Key 4"],
                &["Key 5", "Key 0"],
            ),
            range("BeaconInterval", 1, 65535),
            one_of("Preamble", &["0", "1"], &["2"]),
            one_of("AuthenticationType", &["0", "1", "2"], &["3"]),
            Case {
                name: "PreSharedKey",
                good: vec![
                    "12345678".into(),
                    "p".repeat(63),
                    "0123456789abcdef".repeat(4),
                ],
                bad: vec![
                    "1234567".into(),
                    "g".repeat(64),
                    "a".repeat(65),
                    "pass\nword".into(),
                ],
                with: Vec::new(),
            },
        ],
    );
}

#[test]
fn wep_keys_and_the_pre_shared_key_follow_the_key_size_and_format() {
    let camera = TestCamera::start();
    let path = "/wireless.cgi";
    let hex10 = "0123456789";
    let hex26 = "0123456789abcdef0123456789";
    let taken: [&[(&str, &str)]; 5] = [
        &[
            ("WEPEncryption", "2"),
            ("WEPKeyFormat", "0"),
            ("Key1", "abcde"),
            ("TxKey", "Key 1"),
        ],
        &[
            ("WEPEncryption", "2"),
            ("WEPKeyFormat", "1"),
            ("Key1", hex10),
        ],
        &[
            ("WEPEncryption", "3"),
            ("WEPKeyFormat", "1"),
            ("Key1", hex26),
        ],
        &[
            ("WEPEncryption", "3"),
            ("WEPKeyFormat", "0"),
            ("Key1", "abcdefghijklm"),
        ],
        &[("WEPEncryption", "4"), ("PreSharedKey", "passphrase")],
    ];
    for (n, request) in taken.iter().enumerate() {
        let table = assert_accepted(&camera, path, request, Via::nth(n));
        for (name, value) in request.iter() {
            assert_eq!(value_of(&table, name), Some(*value));
        }
    }
    assert_accepted(
        &camera,
        path,
        &[
            ("WEPEncryption", "0"),
            ("WEPKeyFormat", "0"),
            ("Key1", ""),
            ("PreSharedKey", ""),
        ],
        Via::Form,
    );
    let refused: [(&[(&str, &str)], &str); 6] = [
        // 64-bit HEX keys are 10 digits, 128-bit ones 26; ASCII 5 and 13.
        (
            &[
                ("WEPEncryption", "2"),
                ("WEPKeyFormat", "1"),
                ("Key1", hex26),
            ],
            "Key1",
        ),
        (
            &[
                ("WEPEncryption", "3"),
                ("WEPKeyFormat", "0"),
                ("Key1", "abcde"),
            ],
            "Key1",
        ),
        (
            &[
                ("WEPEncryption", "2"),
                ("WEPKeyFormat", "1"),
                ("Key2", "abcdefghij"),
                ("TxKey", "Key 2"),
            ],
            "Key2",
        ),
        (&[("WEPKeyFormat", "1"), ("Key3", "zzzzzzzzzz")], "Key3"),
        // WPA needs its pre-shared key.
        (
            &[("WEPEncryption", "4"), ("PreSharedKey", "")],
            "PreSharedKey",
        ),
        (
            &[("WEPEncryption", "4"), ("PreSharedKey", "short")],
            "PreSharedKey",
        ),
    ];
    for (n, (request, culprit)) in refused.iter().enumerate() {
        assert_rejected(&camera, path, request, Via::nth(n), culprit);
    }
}

// ---------------------------------------------------------------------------------------
// 3.5 event handling
// ---------------------------------------------------------------------------------------

#[test]
fn upload_table_and_its_limits() {
    let camera = TestCamera::start();
    let initial = get_table(&camera, "/upload.cgi");
    assert_names("/upload.cgi", &initial, UPLOAD);
    let bit = |name| one_of(name, &["0", "1"], &["2", "-1"]);
    let file_mode = |name| one_of(name, &["0", "1", "2"], &["3", "-1"]);
    check_cases(
        &camera,
        "/upload.cgi",
        &[
            host("FTPHostAddress", 64),
            range("FTPPortNumber", 1, 65535),
            text("FTPUserName", 32),
            text("FTPPassword", 32),
            text("FTPDirectoryPath", 64),
            bit("FTPPassiveMode"),
            bit("FTPScheduleEnable").with("FTPHostAddress", "ftp.example.com"),
            bit("FTPScheduleMode"),
            // Bit0 (Sunday) ... Bit6 (Saturday).
            range("FTPScheduleDay", 0, 127),
            time("FTPScheduleTimeStart"),
            time("FTPScheduleTimeStop"),
            bit("FTPScheduleVideoFrequencyMode"),
            one_of(
                "FTPScheduleFramePerSecond",
                &["1", "2", "3", "Auto"],
                &["0", "4"],
            ),
            range("FTPScheduleSecondPerFrame", 1, 65535),
            text("FTPScheduleBaseFileName", 32),
            file_mode("FTPScheduleFileMode"),
            range("FTPScheduleMaxFileSequenceNumber", 1, 65535),
            bit("FTPManualEnable").with("FTPHostAddress", "ftp.example.com"),
            text("FTPManualBaseFileName", 32),
            file_mode("FTPManualFileMode"),
            range("FTPManualMaxFileSequenceNumber", 1, 65535),
        ],
    );
}

#[test]
fn email_table_and_its_limits() {
    let camera = TestCamera::start();
    let initial = get_table(&camera, "/email.cgi");
    let rendered = names(&initial);
    assert_eq!(&rendered[..EMAIL.len()], EMAIL, "the spec's lines first");
    assert_eq!(
        &rendered[EMAIL.len()..],
        EMAIL_EXTENSIONS,
        "then the extensions"
    );
    let bit = |name| one_of(name, &["0", "1"], &["2", "-1"]);
    let address = |name| Case {
        name,
        good: vec![email_address(64), "camera@example.com".into()],
        // The mailer's rule (lettre's address parser): one typo must not get through
        // and leave e-mail, and the settings pushed with it, unusable.
        bad: vec![
            email_address(65),
            "camera@example.com\r\nBcc: x@y.z".into(),
            "owner@".into(),
            "me@example.com;typo".into(),
            "a..b@example.com".into(),
        ],
        with: Vec::new(),
    };
    let enable = |name| {
        bit(name)
            .with("EmailSMTPServerAddress", "smtp.example.com")
            .with("EmailReceiverAddress", "owner@example.com")
    };
    check_cases(
        &camera,
        "/email.cgi",
        &[
            host("EmailSMTPServerAddress", 64),
            address("EmailSenderAddress"),
            address("EmailReceiverAddress"),
            text("EmailUserName", 64),
            text("EmailPassword", 32),
            enable("EmailScheduleEnable"),
            bit("EmailScheduleMode"),
            range("EmailScheduleDay", 0, 127),
            time("EmailScheduleTimeStart"),
            time("EmailScheduleTimeStop"),
            range("EmailScheduleInterval", 1, 65535),
            enable("EmailManualEnable"),
            range("EmailManualInterval", 1, 65535),
            range("EmailSMTPPortNumber", 1, 65535),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// All resources: unknown and mixed requests, information CGIs, reset, restart
// ---------------------------------------------------------------------------------------

#[test]
fn one_bad_or_unknown_parameter_changes_nothing() {
    let camera = TestCamera::start();
    // (resource, a valid change, an invalid value of another parameter)
    let mixed: [(&str, Pair, Pair); 8] = [
        ("/system.cgi", ("CameraName", "mixed"), ("LEDControl", "9")),
        (
            "/datetime.cgi",
            ("TimeServerProtocol", "1"),
            ("TimeZoneIndex", "85"),
        ),
        (
            "/user.cgi",
            ("AccessControlEnable", "1"),
            ("AccessControlEnable ", "7"),
        ),
        (
            "/image.cgi",
            ("VideoResolution", "0"),
            ("BrightnessControl", "0"),
        ),
        ("/network.cgi", ("UPnPEnable", "1"), ("SecondHTTPPort", "0")),
        (
            "/wireless.cgi",
            ("SSID", "mixed"),
            ("WirelessChannel", "15"),
        ),
        (
            "/upload.cgi",
            ("FTPPortNumber", "2121"),
            ("FTPScheduleFileMode", "3"),
        ),
        (
            "/email.cgi",
            ("EmailManualInterval", "30"),
            ("EmailScheduleDay", "128"),
        ),
    ];
    for (n, (path, good, bad)) in mixed.into_iter().enumerate() {
        let culprit = bad.0.trim();
        assert_rejected(&camera, path, &[good, bad], Via::nth(n), culprit);
        assert_rejected(&camera, path, &[bad, good], Via::nth(n + 1), culprit);
        assert_rejected(
            &camera,
            path,
            &[good, ("NoSuchParameter", "1")],
            Via::nth(n),
            "NoSuchParameter",
        );
        // Parameter names are [A-Za-z0-9_] and name no other resource's parameters.
        assert_rejected(
            &camera,
            path,
            &[good, ("SSIDx", "1")],
            Via::nth(n + 1),
            "SSIDx",
        );
    }
    let mixed_user = add_user("mixed", "pw", "2");
    let mut user = pairs(&mixed_user);
    assert_rejected(&camera, "/userlist.cgi", &user, Via::Form, "UserPrivilege");
    user.push(("NoSuchParameter", "1"));
    user[2].1 = "0";
    assert_rejected(
        &camera,
        "/userlist.cgi",
        &user,
        Via::Query,
        "NoSuchParameter",
    );
}

#[test]
fn config_reboot_belongs_to_every_set_table() {
    let camera = TestCamera::start();
    let changes: [(&str, Pair); 8] = [
        ("/system.cgi", ("Location", "attic")),
        ("/datetime.cgi", ("TimeServerProtocol", "1")),
        ("/user.cgi", ("AccessControlEnable", "0")),
        ("/image.cgi", ("ContrastControl", "80")),
        ("/network.cgi", ("UPnPEnable", "1")),
        ("/wireless.cgi", ("Preamble", "1")),
        ("/upload.cgi", ("FTPPassiveMode", "0")),
        ("/email.cgi", ("EmailScheduleInterval", "120")),
    ];
    for (n, (path, change)) in changes.into_iter().enumerate() {
        let table = assert_accepted(
            &camera,
            path,
            &[change, ("ConfigReboot", "No")],
            Via::nth(n),
        );
        assert_eq!(value_of(&table, change.0), Some(change.1), "{path}");
        assert!(
            value_of(&table, "ConfigReboot").is_none(),
            "{path}: not a setting"
        );
        assert_rejected(
            &camera,
            path,
            &[change, ("ConfigReboot", "Maybe")],
            Via::nth(n + 1),
            "ConfigReboot",
        );
    }
    // Yes restarts the pipeline after the answer; the camera serves frames again.
    assert_accepted(
        &camera,
        "/image.cgi",
        &[("ContrastControl", "90"), ("ConfigReboot", "Yes")],
        Via::Form,
    );
    wait_for_first_frame(&camera);
    assert_eq!(
        value_of(&get_table(&camera, "/image.cgi"), "ContrastControl"),
        Some("90")
    );
}

#[test]
fn information_resources_take_no_parameters() {
    let camera = TestCamera::start();
    wait_for_first_frame(&camera);
    for (path, param) in [
        ("/cgiversion.cgi", ("CGIVersion", "3")),
        ("/isystem.cgi", ("CameraName", "x")),
        ("/activeuser.cgi", ("UserName", "x")),
        ("/iimage.cgi", ("VideoResolution", "0")),
        ("/inetwork.cgi", ("IPAddress", "10.0.0.1")),
        ("/iwireless.cgi", ("SSID", "x")),
    ] {
        let before = settled(get_table(&camera, "/system.cgi"))
            .into_iter()
            .chain(settled(get_table(&camera, "/image.cgi")))
            .collect::<Table>();
        let reply = set(&camera, path, &[param], Via::Query);
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        assert_one_line_reason(&reply, "");
        let after = settled(get_table(&camera, "/system.cgi"))
            .into_iter()
            .chain(settled(get_table(&camera, "/image.cgi")))
            .collect::<Table>();
        assert_eq!(before, after, "{path}");
    }
}

/// The settled tables of every settable resource.
fn snapshot_of_settings(camera: &TestCamera, credentials: Credentials) -> Vec<(String, Table)> {
    SETTABLE
        .iter()
        .map(|path| {
            (
                (*path).to_owned(),
                settled(get_table_as(camera, path, credentials)),
            )
        })
        .collect()
}

/// Changes something in every settable resource.
fn change_everything(camera: &TestCamera) {
    let changes: [(&str, &[(&str, &str)]); 8] = [
        (
            "/system.cgi",
            &[
                ("CameraName", "Garten Tür"),
                ("Location", "back"),
                ("LEDControl", "2"),
            ],
        ),
        (
            "/datetime.cgi",
            &[
                ("TimeZoneIndex", "32"),
                ("TimeServerIPAddress", "time.example.com"),
            ],
        ),
        (
            "/image.cgi",
            &[
                ("VideoResolution", "1"),
                ("BrightnessControl", "100"),
                ("Mirror", "3"),
            ],
        ),
        (
            "/network.cgi",
            &[
                ("DDNSEnable", "1"),
                ("DDNSHostName", "cam.example.com"),
                ("DDNSProvider", "@Net DDNS"),
            ],
        ),
        (
            "/wireless.cgi",
            &[
                ("SSID", "home"),
                ("WEPEncryption", "2"),
                ("WEPKeyFormat", "1"),
                ("Key1", "0123456789"),
            ],
        ),
        (
            "/upload.cgi",
            &[
                ("FTPHostAddress", "ftp.example.com"),
                ("FTPScheduleEnable", "1"),
                ("FTPScheduleDay", "62"),
            ],
        ),
        (
            "/email.cgi",
            &[
                ("EmailSMTPServerAddress", "smtp.example.com"),
                ("EmailReceiverAddress", "me@example.com"),
                ("EmailManualEnable", "1"),
            ],
        ),
        ("/user.cgi", &[("AccessControlEnable", "1")]),
    ];
    for (n, (path, request)) in changes.into_iter().enumerate() {
        assert_accepted(camera, path, request, Via::nth(n));
    }
    assert_accepted(
        camera,
        "/userlist.cgi",
        &pairs(&add_user("keeper", "kpw", "1")),
        Via::Form,
    );
}

#[test]
fn state_survives_a_restart() {
    let mut camera = TestCamera::start();
    let factory = snapshot_of_settings(&camera, ADMIN);
    change_everything(&camera);
    // A stored administrator password outlives the start-up one (first start only).
    let new_admin = Some(("admin", "n3w"));
    let reply = set(
        &camera,
        "/system.cgi",
        &[("AdminPassword", "n3w")],
        Via::Form,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let changed = snapshot_of_settings(&camera, new_admin);
    assert_ne!(changed, factory);

    camera.stop();
    let again = TestCamera::start_in(&camera.state_dir, |_| {});
    assert_eq!(snapshot_of_settings(&again, new_admin), changed);
    assert_eq!(again.get("/system.cgi", ADMIN).status, 401);
    assert_eq!(
        again.get("/image.jpg", Some(("keeper", "kpw"))).status / 100,
        2
    );
    // Access control stays disabled: anonymous viewers see the stream.
    common::wait_for("an anonymous snapshot after the restart", || {
        (again.get("/image.jpg", None).status == 200).then_some(())
    });
}

#[test]
fn reset_restarts_and_factory_reset_restores_defaults_but_the_start_up_password() {
    let camera = TestCamera::start();
    let fresh = TestCamera::start();
    let factory = snapshot_of_settings(&fresh, ADMIN);
    drop(fresh);

    change_everything(&camera);
    let changed = snapshot_of_settings(&camera, ADMIN);
    for (request, culprit) in [(("Reset", "Maybe"), "Reset"), (("Reboot", "Yes"), "Reboot")] {
        let reply = set(&camera, "/reset.cgi", &[request], Via::Form);
        assert_eq!(reply.status, 400, "{request:?}: {}", reply.text());
        assert_one_line_reason(&reply, culprit);
    }
    assert_eq!(snapshot_of_settings(&camera, ADMIN), changed);

    // 3.6.1: restart, 204, nothing forgotten, frames again afterwards.
    let reply = camera.get("/reset.cgi?Reset=Yes", ADMIN);
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert!(reply.body.is_empty());
    wait_for_first_frame(&camera);
    assert_eq!(snapshot_of_settings(&camera, ADMIN), changed);

    // 3.6.2: factory defaults; the administrator password is the one the camera was
    // started with, not the one set since.
    let reply = set(
        &camera,
        "/system.cgi",
        &[("AdminPassword", "later")],
        Via::Query,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = camera.post("/reset.cgi", Some(("admin", "later")), "FactoryReset=Yes");
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert!(reply.body.is_empty());
    assert_eq!(snapshot_of_settings(&camera, ADMIN), factory);
    assert_eq!(
        camera.get("/system.cgi", Some(("admin", "later"))).status,
        401
    );
    assert_eq!(
        camera.get("/image.jpg", Some(("keeper", "kpw"))).status,
        401
    );
    assert_eq!(
        camera.get("/image.jpg", None).status,
        401,
        "access control is on again"
    );
    wait_for_first_frame(&camera);
}

// ---------------------------------------------------------------------------------------
// Who may do what (DESIGN.md), row by row over TCP
// ---------------------------------------------------------------------------------------

/// The least role a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Viewer,
    Operator,
    Admin,
}

/// One request of the role table and the status it gets when allowed (`None`: any but
/// 401 and 404).
struct Row {
    method: &'static str,
    target: &'static str,
    body: &'static str,
    needs: Needs,
    allowed: Option<u16>,
}

fn role_rows() -> Vec<Row> {
    let mut rows: Vec<Row> = CHAPTER_3
        .iter()
        .map(|path| Row {
            method: "GET",
            target: path,
            body: "",
            needs: Needs::Admin,
            // A bare /reset.cgi does nothing; its answer is not the point here.
            allowed: (*path != "/reset.cgi").then_some(200),
        })
        .collect();
    let others = [
        ("GET", "/image.jpg", "", Needs::Viewer, 200),
        ("GET", "/mjpeg.cgi", "", Needs::Viewer, 200),
        ("GET", "/iocontrol.cgi", "", Needs::Viewer, 200),
        // Extensions (README, "Motion detection and alarm inputs").
        ("GET", "/motion.cgi", "", Needs::Admin, 200),
        ("GET", "/eventlog.cgi", "", Needs::Viewer, 200),
        (
            "POST",
            "/iocontrol.cgi",
            "ImageUpload=0",
            Needs::Operator,
            204,
        ),
        (
            "POST",
            "/iocontrol.cgi",
            "ImageEmail=0",
            Needs::Operator,
            204,
        ),
        ("POST", "/iocontrol.cgi", "Trigger1=0", Needs::Admin, 204),
        ("POST", "/iocontrol.cgi", "Trigger2=0", Needs::Admin, 204),
        ("GET", "/pantiltcontrol.cgi", "", Needs::Operator, 204),
        (
            "POST",
            "/comport.cgi",
            "ComOut=hello&ComSend=Yes",
            Needs::Admin,
            204,
        ),
    ];
    rows.extend(others.map(|(method, target, body, needs, status)| Row {
        method,
        target,
        body,
        needs,
        allowed: Some(status),
    }));
    rows
}

/// Sends a request and reads only its head (streams never end), then hangs up.
fn probe(camera: &TestCamera, row: &Row, credentials: Credentials) -> Reply {
    let mut stream = common::connect(camera.addr);
    let text = common::request(row.method, row.target, credentials, row.body);
    stream.write_all(text.as_bytes()).unwrap();
    common::read_reply(&mut BufReader::new(stream), true)
}

fn assert_row(camera: &TestCamera, row: &Row, who: &str, credentials: Credentials, allowed: bool) {
    let head = probe(camera, row, credentials);
    let status = head.status;
    let what = format!("{} {} {} as {who}", row.method, row.target, row.body);
    if allowed {
        assert!(status != 401 && status != 404, "{what}: {head:?}");
        if let Some(expected) = row.allowed {
            assert_eq!(status, expected, "{what}: {head:?}");
        }
    } else {
        assert_eq!(status, 401, "{what}: {head:?}");
        assert!(
            head.header("WWW-Authenticate")
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("basic realm=")),
            "{what}: a 401 says how to log in: {head:?}"
        );
    }
}

/// A camera with a privilege-0 and a privilege-1 user, serving frames.
fn camera_with_users() -> TestCamera {
    let camera = TestCamera::start();
    for (name, password, privilege) in [("view0", "pw0", "0"), ("oper1", "pw1", "1")] {
        assert_accepted(
            &camera,
            "/userlist.cgi",
            &pairs(&add_user(name, password, privilege)),
            Via::Form,
        );
    }
    wait_for_first_frame(&camera);
    camera
}

#[test]
fn role_table_holds_row_by_row() {
    let camera = camera_with_users();
    for row in role_rows() {
        // Failed logins are rate-limited per address: each wrong password is followed by
        // a successful login, which clears the count.
        assert_row(&camera, &row, "anonymous", None, false);
        assert_row(
            &camera,
            &row,
            "a wrong password",
            Some(("admin", "wrong")),
            false,
        );
        assert_row(
            &camera,
            &row,
            "an unknown user",
            Some(("nobody", "pw0")),
            false,
        );
        let view0 = Some(("view0", "pw0"));
        assert_row(
            &camera,
            &row,
            "privilege 0",
            view0,
            row.needs == Needs::Viewer,
        );
        let oper1 = Some(("oper1", "pw1"));
        assert_row(
            &camera,
            &row,
            "privilege 1",
            oper1,
            row.needs <= Needs::Operator,
        );
        assert_row(&camera, &row, "admin", ADMIN, true);
    }
}

#[test]
fn without_access_control_anonymous_clients_only_view() {
    let camera = camera_with_users();
    assert_accepted(
        &camera,
        "/user.cgi",
        &[("AccessControlEnable", "1")],
        Via::Form,
    );
    for row in role_rows() {
        assert_row(&camera, &row, "anonymous", None, row.needs == Needs::Viewer);
        // The roles of those who do log in are unchanged.
        assert_row(
            &camera,
            &row,
            "privilege 0",
            Some(("view0", "pw0")),
            row.needs == Needs::Viewer,
        );
        assert_row(
            &camera,
            &row,
            "privilege 1",
            Some(("oper1", "pw1")),
            row.needs <= Needs::Operator,
        );
    }
    assert_accepted(
        &camera,
        "/user.cgi",
        &[("AccessControlEnable", "0")],
        Via::Query,
    );
    assert_eq!(camera.get("/image.jpg", None).status, 401);
}

#[test]
fn failed_logins_are_rate_limited_per_address() {
    let camera = TestCamera::start();
    for _ in 0..5 {
        assert_eq!(
            camera.get("/system.cgi", Some(("admin", "guess"))).status,
            401
        );
    }
    let reply = camera.get("/system.cgi", ADMIN);
    assert_eq!(
        reply.status, 401,
        "the right password is refused while blocked"
    );
    assert!(reply.header("WWW-Authenticate").is_some());
}
