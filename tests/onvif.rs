//! ONVIF Profile S, WS-Discovery and the NVR path aliases, driven by clients nobody here
//! wrote: `onvif-zeep` (with its bundled WSDLs and WS-Security digest) and `WSDiscovery`
//! from PyPI, installed by `.ci/onvif-deps` into `target/onvif-venv`. Moves made through
//! ONVIF are checked where a CGI client sees them (the MJPEG part headers' `PT_ppp_ttt`,
//! `/pantiltcontrol.cgi` presets); bad SOAP input is sent raw.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use common::{exchange, wait_for, MjpegStream, TestCamera, ADMIN};
use serde_json::{json, Value};

const VIEWER: (&str, &str) = ("viewer", "view0");
const OPERATOR: (&str, &str) = ("operator", "oper1");
const PROFILE: &str = "profile_1";

/// The venv's Python, or `None` (with the skip message printed) when `.ci/onvif-deps` has
/// not run.
fn python() -> Option<PathBuf> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/onvif-venv/bin/python");
    if python.exists() {
        Some(python)
    } else {
        println!("SKIP: {} missing; run .ci/onvif-deps", python.display());
        None
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/onvif_client.py")
}

/// `onvif_client.py` as a child process (killed on drop) taking one JSON command per line.
struct OnvifClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl OnvifClient {
    /// Starts the client against `camera` and logs in as `user` (`None`: no WS-Security).
    fn connect(python: &PathBuf, camera: &TestCamera, user: Option<(&str, &str)>) -> Self {
        let mut child = Command::new(python)
            .arg(script())
            .arg(camera.addr.ip().to_string())
            .arg(camera.addr.port().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the ONVIF client");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut client = OnvifClient {
            child,
            stdin,
            stdout,
        };
        let (name, password) =
            user.map_or((Value::Null, Value::Null), |(n, p)| (json!(n), json!(p)));
        let connected = client.send(json!({"op": "connect", "user": name, "password": password}));
        assert!(connected.get("ok").is_some(), "connect: {connected}");
        client
    }

    fn send(&mut self, command: Value) -> Value {
        writeln!(self.stdin, "{command}").expect("write a command");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read an answer");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line:?}"))
    }

    /// Calls an operation; the answer is `{"ok": ..}`, `{"fault": ..}` or `{"error": ..}`.
    fn call(&mut self, service: &str, method: &str, params: Value) -> Value {
        self.send(json!({"op": "call", "service": service, "method": method, "params": params}))
    }

    /// Calls an operation that must succeed, and returns its result.
    fn ok(&mut self, service: &str, method: &str, params: Value) -> Value {
        let answer = self.call(service, method, params);
        answer
            .get("ok")
            .cloned()
            .unwrap_or_else(|| panic!("{method} failed: {answer}"))
    }

    /// Calls an operation that must fail with a fault, and returns the fault's subcodes.
    fn fault(&mut self, service: &str, method: &str, params: Value) -> Vec<String> {
        let answer = self.call(service, method, params);
        let fault = answer
            .get("fault")
            .unwrap_or_else(|| panic!("{method} should fail with a fault: {answer}"));
        fault["subcodes"]
            .as_array()
            .expect("subcodes")
            .iter()
            .map(|code| {
                code.as_str()
                    .unwrap_or_default()
                    .rsplit('}')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for OnvifClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_user(camera: &TestCamera, (name, password): (&str, &str), privilege: u8) {
    let query = format!(
        "/userlist.cgi?UserName={name}&UserPassword={password}&UserPrivilege={privilege}&UserAdd=Yes"
    );
    assert_eq!(camera.get(&query, ADMIN).status, 200, "adding {name}");
}

fn camera_with_users() -> TestCamera {
    let camera = TestCamera::start();
    add_user(&camera, VIEWER, 0);
    add_user(&camera, OPERATOR, 1);
    camera
}

/// Pan and tilt of the newest part's `PT_ppp_ttt`.
fn stream_position(camera: &TestCamera) -> (u16, u16) {
    let part = MjpegStream::open(camera.addr, ADMIN).next_part();
    let (_, pt) = part.date.rsplit_once("_PT_").expect("PT_ppp_ttt");
    let (pan, tilt) = pt.split_once('_').expect("ppp_ttt");
    (pan.parse().expect("pan"), tilt.parse().expect("tilt"))
}

fn wait_for_position(camera: &TestCamera, expected: (u16, u16)) {
    wait_for(&format!("the stream header to show {expected:?}"), || {
        (stream_position(camera) == expected).then_some(())
    });
}

fn wait_until_idle(client: &mut OnvifClient) -> Value {
    wait_for("the PTZ status to be IDLE", || {
        let status = client.ok("ptz", "GetStatus", json!({"ProfileToken": PROFILE}));
        (status["MoveStatus"]["PanTilt"] == "IDLE").then_some(status)
    })
}

/// Where the head came to rest: once GetStatus says IDLE, the stream header and the
/// status position agree (the header may lag by a frame, so both are polled).
fn settled_position(camera: &TestCamera, client: &mut OnvifClient) -> (u16, u16) {
    wait_for("the head to settle", || {
        let status = wait_until_idle(client);
        let x = status["Position"]["PanTilt"]["x"].as_f64()?;
        let y = status["Position"]["PanTilt"]["y"].as_f64()?;
        let (pan, tilt) = stream_position(camera);
        let agree = (x - (f64::from(pan) / 170.0 - 1.0)).abs() < 1e-9
            && (y - (f64::from(tilt) / 67.5 - 1.0)).abs() < 1e-9;
        agree.then_some((pan, tilt))
    })
}

fn pantilt(camera: &TestCamera, form: &str) -> u16 {
    camera.post("/pantiltcontrol.cgi", ADMIN, form).status
}

/// Local time minus UTC in minutes, from a `GetSystemDateAndTime` answer's two clocks.
fn utc_offset_minutes(clock: &Value) -> i64 {
    let minute_of_day = |t: &Value| {
        t["Time"]["Hour"].as_i64().expect("hour") * 60
            + t["Time"]["Minute"].as_i64().expect("minute")
    };
    let difference = minute_of_day(&clock["LocalDateTime"]) - minute_of_day(&clock["UTCDateTime"]);
    (difference + 720).rem_euclid(1440) - 720
}

#[test]
fn the_time_zone_is_the_rows_dst_rule_and_daylight_saving_follows_it() {
    let Some(python) = python() else { return };
    let camera = camera_with_users();
    // Row 32: (GMT+01:00) Amsterdam, Berlin, ..., which keeps daylight saving time.
    let set = camera.get("/datetime.cgi?TimeZoneIndex=32", ADMIN);
    assert_eq!(set.status, 200, "{}", set.text());
    let mut client = OnvifClient::connect(&python, &camera, ADMIN);
    let clock = client.ok("devicemgmt", "GetSystemDateAndTime", json!({}));
    assert_eq!(clock["TimeZone"]["TZ"], "CET-1CEST,M3.5.0,M10.5.0/3");
    let offset = utc_offset_minutes(&clock);
    assert!(
        offset == 60 || offset == 120,
        "Berlin is UTC+1 or UTC+2: {clock}"
    );
    assert_eq!(clock["DaylightSavings"], offset == 120, "{clock}");

    // Row 0 with TimeZone=-5: a fixed offset, in POSIX's sign (west positive), never DST.
    let set = camera.get("/datetime.cgi?TimeZoneIndex=0&TimeZone=-5", ADMIN);
    assert_eq!(set.status, 200, "{}", set.text());
    let clock = client.ok("devicemgmt", "GetSystemDateAndTime", json!({}));
    assert_eq!(clock["TimeZone"]["TZ"], "UTC+05:00");
    assert_eq!(utc_offset_minutes(&clock), -300);
    assert_eq!(clock["DaylightSavings"], false);
}

#[test]
fn profile_s_calls_answer_with_the_cameras_own_facts() {
    let Some(python) = python() else { return };
    let camera = camera_with_users();
    let mut client = OnvifClient::connect(&python, &camera, ADMIN);
    let base = format!("http://{}", camera.addr);

    let info = client.ok("devicemgmt", "GetDeviceInformation", json!({}));
    assert_eq!(info["Model"], "ipcam");
    assert_eq!(
        info["SerialNumber"], "02FF5C8A1318",
        "the sim platform's MAC"
    );

    let clock = client.ok("devicemgmt", "GetSystemDateAndTime", json!({}));
    let year = clock["UTCDateTime"]["Date"]["Year"].as_i64().expect("year");
    let now_year = 1970
        + std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .unwrap()
            .as_secs()
            / 31_556_952;
    assert_eq!(year as u64, now_year);

    let scopes = client.ok("devicemgmt", "GetScopes", json!({}));
    let scopes: Vec<&str> = scopes
        .as_array()
        .expect("scopes")
        .iter()
        .filter_map(|s| s["ScopeItem"].as_str())
        .collect();
    assert!(
        scopes.contains(&"onvif://www.onvif.org/name/IPCam"),
        "{scopes:?}"
    );
    assert!(
        scopes.contains(&"onvif://www.onvif.org/Profile/Streaming"),
        "{scopes:?}"
    );
    // A camera renamed through /system.cgi is renamed in its scopes.
    let renamed = camera.get("/system.cgi?CameraName=Front%20gate&Location=Hall", ADMIN);
    assert_eq!(renamed.status, 200);
    let scopes = client.ok("devicemgmt", "GetScopes", json!({})).to_string();
    assert!(
        scopes.contains("onvif://www.onvif.org/name/Front%20gate"),
        "{scopes}"
    );
    assert!(
        scopes.contains("onvif://www.onvif.org/location/Hall"),
        "{scopes}"
    );

    let interfaces = client.ok("devicemgmt", "GetNetworkInterfaces", json!({}));
    assert_eq!(interfaces[0]["Info"]["HwAddress"], "02:ff:5c:8a:13:18");

    let users = client.ok("devicemgmt", "GetUsers", json!({}));
    let users: Vec<(String, String)> = users
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            (
                u["Username"].as_str().unwrap().to_owned(),
                u["UserLevel"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        users,
        [
            ("admin".to_owned(), "Administrator".to_owned()),
            ("viewer".to_owned(), "User".to_owned()),
            ("operator".to_owned(), "Operator".to_owned())
        ]
    );
    assert!(
        !client
            .ok("devicemgmt", "GetUsers", json!({}))
            .to_string()
            .contains("view0"),
        "no password is ever listed"
    );
    assert_eq!(
        client.ok("devicemgmt", "GetHostname", json!({}))["Name"],
        "Front gate"
    );

    // The one profile is /image.cgi's stream, and follows its changes.
    let profiles = client.ok("media", "GetProfiles", json!({}));
    let encoder = &profiles[0]["VideoEncoderConfiguration"];
    assert_eq!(profiles[0]["token"], PROFILE);
    assert_eq!(encoder["Encoding"], "JPEG");
    assert_eq!(
        (
            encoder["Resolution"]["Width"].as_u64(),
            encoder["Resolution"]["Height"].as_u64()
        ),
        (Some(640), Some(480))
    );
    assert_eq!(
        encoder["Quality"].as_f64(),
        Some(70.0),
        "CompressionRate 2 is quality 70"
    );
    let set = camera.get(
        "/image.cgi?VideoResolution=1&CompressionRate=4&FrameRate=5",
        ADMIN,
    );
    assert_eq!(set.status, 200);
    let profile = client.ok("media", "GetProfile", json!({"ProfileToken": PROFILE}));
    let encoder = &profile["VideoEncoderConfiguration"];
    assert_eq!(
        (
            encoder["Resolution"]["Width"].as_u64(),
            encoder["Resolution"]["Height"].as_u64()
        ),
        (Some(320), Some(240))
    );
    assert_eq!(encoder["Quality"].as_f64(), Some(40.0));
    assert_eq!(encoder["RateControl"]["FrameRateLimit"].as_u64(), Some(5));
    let sources = client.ok("media", "GetVideoSources", json!({}));
    assert_eq!(sources[0]["Resolution"]["Width"].as_u64(), Some(320));
    let configs = client.ok("media", "GetVideoEncoderConfigurations", json!({}));
    let token = configs[0]["token"].as_str().expect("token").to_owned();
    let config = client.ok(
        "media",
        "GetVideoEncoderConfiguration",
        json!({"ConfigurationToken": token}),
    );
    assert_eq!(config["Quality"].as_f64(), Some(40.0));
    let options = client.ok("media", "GetVideoEncoderConfigurationOptions", json!({}));
    let sizes: Vec<(u64, u64)> = options["JPEG"]["ResolutionsAvailable"]
        .as_array()
        .expect("resolutions")
        .iter()
        .map(|r| (r["Width"].as_u64().unwrap(), r["Height"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        sizes,
        [(160, 120), (320, 240), (640, 480)],
        "VideoResolution 0, 1, 2"
    );
    assert_eq!(
        client.fault("media", "GetProfile", json!({"ProfileToken": "nope"})),
        ["InvalidArgVal", "NoProfile"]
    );

    // The stream is the RTSP server's, at the host the client used; the snapshot works for
    // an HTTP client with the same login.
    let rtsp_port = camera.daemon().rtsp_addr().expect("RTSP serves").port();
    let stream = client.ok(
        "media",
        "GetStreamUri",
        json!({
            "ProfileToken": PROFILE,
            "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        }),
    );
    assert_eq!(
        stream["Uri"],
        format!("rtsp://{}:{rtsp_port}/", camera.addr.ip())
    );
    let snapshot = client.ok("media", "GetSnapshotUri", json!({"ProfileToken": PROFILE}));
    assert_eq!(snapshot["Uri"], format!("{base}/image.jpg"));
    wait_for("snapshots of the new size", || {
        let jpeg = camera.get("/image.jpg", ADMIN);
        (common::jpeg_size(&jpeg.body) == Some((320, 240))).then_some(())
    });

    let configurations = client.ok("ptz", "GetConfigurations", json!({}));
    assert_eq!(configurations[0]["NodeToken"], "ptz_node_1");
    let options = client.ok(
        "ptz",
        "GetConfigurationOptions",
        json!({"ConfigurationToken": "ptz_config_1"}),
    );
    for space in [
        "AbsolutePanTiltPositionSpace",
        "RelativePanTiltTranslationSpace",
        "ContinuousPanTiltVelocitySpace",
    ] {
        assert!(
            !options["Spaces"][space].as_array().expect(space).is_empty(),
            "{space}"
        );
    }
    let protocols = client.ok("devicemgmt", "GetNetworkProtocols", json!({}));
    assert_eq!(protocols[0]["Name"], "HTTP");
    assert_eq!(protocols[0]["Port"], json!([camera.addr.port()]));
    assert_eq!(protocols[1]["Name"], "RTSP");
    assert_eq!(protocols[1]["Enabled"], true);
    assert_eq!(protocols[1]["Port"], json!([rtsp_port]));
    let nodes = client.ok("ptz", "GetNodes", json!({}));
    assert_eq!(nodes[0]["MaximumNumberOfPresets"].as_u64(), Some(24));
    assert_eq!(nodes[0]["HomeSupported"], true);
}

#[test]
fn ptz_moves_show_in_the_stream_header_and_presets_are_shared_with_the_cgi() {
    let Some(python) = python() else { return };
    let mut camera = camera_with_users();
    let mut client = OnvifClient::connect(&python, &camera, Some(OPERATOR));
    let profile = json!({"ProfileToken": PROFILE});

    // Generic space: x -1..1 over pan 0..340, y -1..1 over tilt 0..135.
    client.ok(
        "ptz",
        "AbsoluteMove",
        json!({
            "ProfileToken": PROFILE, "Position": {"PanTilt": {"x": 0.5, "y": -0.5}}
        }),
    );
    wait_for_position(&camera, (255, 34));
    let status = wait_until_idle(&mut client);
    assert!((status["Position"]["PanTilt"]["x"].as_f64().unwrap() - 0.5).abs() < 1e-9);

    client.ok(
        "ptz",
        "RelativeMove",
        json!({
            "ProfileToken": PROFILE, "Translation": {"PanTilt": {"x": -0.1, "y": 0.2}}
        }),
    );
    wait_for_position(&camera, (238, 48));
    wait_until_idle(&mut client);

    // A continuous move heads for the end of the travel until Stop...
    client.ok(
        "ptz",
        "ContinuousMove",
        json!({
            "ProfileToken": PROFILE, "Velocity": {"PanTilt": {"x": -1.0, "y": 0.0}}
        }),
    );
    wait_for("the head to pan left", || {
        (stream_position(&camera).0 < 230).then_some(())
    });
    client.ok("ptz", "Stop", profile.clone());
    let (pan, tilt) = settled_position(&camera, &mut client);
    assert!(
        pan > 0 && pan < 230 && tilt == 48,
        "stopped midway at {pan}/{tilt}"
    );

    // ... or until its timeout.
    client.ok("ptz", "ContinuousMove", json!({
        "ProfileToken": PROFILE, "Velocity": {"PanTilt": {"x": 0.0, "y": 1.0}}, "Timeout": "PT0.5S"
    }));
    wait_for("the head to tilt up", || {
        (stream_position(&camera).1 > 48).then_some(())
    });
    let (_, tilt) = settled_position(&camera, &mut client);
    assert!(
        tilt > 48 && tilt < 135,
        "a half-second move stops short of the end: {tilt}"
    );

    client.ok("ptz", "GotoHomePosition", profile.clone());
    wait_for_position(&camera, (170, 45));

    // A preset set through ONVIF is preset 1 of /pantiltcontrol.cgi.
    client.ok(
        "ptz",
        "AbsoluteMove",
        json!({
            "ProfileToken": PROFILE, "Position": {"PanTilt": {"x": -0.5, "y": 0.5}}
        }),
    );
    wait_for_position(&camera, (85, 101));
    wait_until_idle(&mut client);
    let token = client.ok(
        "ptz",
        "SetPreset",
        json!({"ProfileToken": PROFILE, "PresetName": "Gate"}),
    );
    assert_eq!(token, "1");
    assert_eq!(pantilt(&camera, "PanTiltPresetPositionMove=0"), 204);
    wait_for_position(&camera, (170, 45));
    assert_eq!(pantilt(&camera, "PanTiltPresetPositionMove=1"), 204);
    wait_for_position(&camera, (85, 101));

    // A preset set through the CGI is an ONVIF preset.
    let form = "PanTiltHorizontal=300&PanTiltVertical=20&PanTiltPositionMove=true";
    assert_eq!(pantilt(&camera, form), 204);
    wait_for_position(&camera, (300, 20));
    assert_eq!(pantilt(&camera, "SetCurrentPosition=5&SetName=Door"), 204);
    let presets = client.ok("ptz", "GetPresets", profile.clone());
    let names: Vec<(&str, &str)> = presets
        .as_array()
        .expect("presets")
        .iter()
        .map(|p| (p["token"].as_str().unwrap(), p["Name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("1", "Gate"), ("5", "Door")]);
    client.ok(
        "ptz",
        "GotoPreset",
        json!({"ProfileToken": PROFILE, "PresetToken": "1"}),
    );
    wait_for_position(&camera, (85, 101));
    assert_eq!(
        client.fault(
            "ptz",
            "GotoPreset",
            json!({"ProfileToken": PROFILE, "PresetToken": "9"})
        ),
        ["InvalidArgVal", "NoToken"]
    );
    assert_eq!(
        client.fault(
            "ptz",
            "SetPreset",
            json!({"ProfileToken": PROFILE, "PresetName": "A name too long"})
        ),
        ["InvalidArgVal", "InvalidPresetName"]
    );

    client.ok(
        "ptz",
        "RemovePreset",
        json!({"ProfileToken": PROFILE, "PresetToken": "1"}),
    );
    assert_eq!(
        pantilt(&camera, "PanTiltPresetPositionMove=1"),
        400,
        "preset 1 is gone"
    );

    // Presets changed through ONVIF are saved like the CGI's.
    drop(client);
    camera.stop();
    let dir = camera.state_dir.clone();
    let camera = TestCamera::start_in(&dir, |_| {});
    let mut client = OnvifClient::connect(&python, &camera, Some(OPERATOR));
    let presets = client.ok("ptz", "GetPresets", profile).to_string();
    assert!(
        presets.contains("Door") && !presets.contains("Gate"),
        "{presets}"
    );
}

#[test]
fn every_operation_checks_the_login_and_its_role() {
    let Some(python) = python() else { return };
    let camera = camera_with_users();
    let stream_uri = json!({"ProfileToken": PROFILE, "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}});
    let home = json!({"ProfileToken": PROFILE});

    // Without a login: only what ONVIF allows before authentication.
    let mut anonymous = OnvifClient::connect(&python, &camera, None);
    anonymous.ok("devicemgmt", "GetSystemDateAndTime", json!({}));
    for (service, method) in [
        ("devicemgmt", "GetDeviceInformation"),
        ("media", "GetProfiles"),
    ] {
        assert_eq!(
            anonymous.fault(service, method, json!({})),
            ["NotAuthorized"],
            "{method}"
        );
    }
    let mut wrong = OnvifClient::connect(&python, &camera, Some(("admin", "wrong")));
    assert_eq!(
        wrong.fault("media", "GetProfiles", json!({})),
        ["NotAuthorized"]
    );
    let mut nobody = OnvifClient::connect(&python, &camera, Some(("nobody", "x")));
    assert_eq!(
        nobody.fault("devicemgmt", "GetScopes", json!({})),
        ["NotAuthorized"]
    );

    // A viewer watches but does not steer or list users; an operator steers.
    let mut viewer = OnvifClient::connect(&python, &camera, Some(VIEWER));
    viewer.ok("media", "GetStreamUri", stream_uri.clone());
    viewer.ok("ptz", "GetStatus", home.clone());
    assert_eq!(
        viewer.fault("ptz", "GotoHomePosition", home.clone()),
        ["NotAuthorized"]
    );
    assert_eq!(
        viewer.fault("devicemgmt", "GetUsers", json!({})),
        ["NotAuthorized"]
    );
    let mut operator = OnvifClient::connect(&python, &camera, Some(OPERATOR));
    operator.ok("ptz", "GotoHomePosition", home.clone());
    assert_eq!(
        operator.fault("devicemgmt", "GetUsers", json!({})),
        ["NotAuthorized"]
    );

    // With access control disabled anyone views, and still nobody steers anonymously.
    assert_eq!(
        camera.get("/user.cgi?AccessControlEnable=1", ADMIN).status,
        200
    );
    anonymous.ok("media", "GetStreamUri", stream_uri);
    assert_eq!(
        anonymous.fault("ptz", "GotoHomePosition", home),
        ["NotAuthorized"]
    );
}

/// A raw SOAP POST.
fn soap(
    camera: &TestCamera,
    path: &str,
    credentials: Option<(&str, &str)>,
    body: &str,
) -> common::Reply {
    let mut request = format!(
        "POST {path} HTTP/1.0\r\nHost: {}\r\nContent-Type: application/soap+xml; charset=utf-8\r\n\
         Content-Length: {}\r\n",
        camera.addr,
        body.len()
    );
    if let Some((user, password)) = credentials {
        request += &format!("Authorization: Basic {}\r\n", common::basic(user, password));
    }
    exchange(camera.addr, (request + "\r\n" + body).as_bytes())
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">\
         <s:Body>{body}</s:Body></s:Envelope>"
    )
}

const DEVICE: &str = "/onvif/device_service";

/// The fault's `Value`s, outermost first, from a reply.
fn fault_codes(reply: &common::Reply) -> Vec<String> {
    assert_eq!(
        reply.header("Content-Type"),
        Some("application/soap+xml; charset=utf-8")
    );
    let text = reply.text();
    text.split("<env:Value>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</env:Value>").map(|(v, _)| v.to_owned()))
        .collect()
}

#[test]
fn bad_soap_gets_a_clear_fault_and_the_camera_keeps_serving() {
    let camera = TestCamera::start();
    let sender = |subcode: &str| vec!["env:Sender".to_owned(), subcode.to_owned()];

    let not_xml = soap(&camera, DEVICE, None, "this is not XML");
    assert_eq!(
        (not_xml.status, fault_codes(&not_xml)),
        (400, sender("ter:WellFormed"))
    );

    let laughs: String = (1..10)
        .map(|i| {
            format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1).repeat(10)
            )
        })
        .collect();
    let bomb = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol0 \"lol\">{laughs}]>{}",
        envelope("<GetSystemDateAndTime xmlns=\"http://www.onvif.org/ver10/device/wsdl\">&lol9;</GetSystemDateAndTime>")
    );
    let started = std::time::Instant::now();
    let refused = soap(&camera, DEVICE, None, &bomb);
    assert_eq!(
        (refused.status, fault_codes(&refused)),
        (400, sender("ter:WellFormed"))
    );
    assert!(refused.text().contains("DOCTYPE"), "{}", refused.text());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "nothing was expanded"
    );

    let external = envelope("<GetSystemDateAndTime xmlns=\"http://www.onvif.org/ver10/device/wsdl\">&xxe;</GetSystemDateAndTime>");
    let external = format!("<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{external}");
    let reply = soap(&camera, DEVICE, None, &external);
    assert_eq!(reply.status, 400);
    assert!(!reply.text().contains("root:"), "no file is read");
    let undeclared = soap(&camera, DEVICE, None, &envelope("<a>&xxe;</a>"));
    assert_eq!(fault_codes(&undeclared), sender("ter:WellFormed"));

    // Past httpd's 64 KiB body limit the request is refused before any parsing.
    let huge = envelope(&format!("<x>{}</x>", "a".repeat(70 * 1024)));
    assert_eq!(soap(&camera, DEVICE, None, &huge).status, 400);
    let deep = envelope(&("<a>".repeat(100) + &"</a>".repeat(100)));
    assert_eq!(soap(&camera, DEVICE, None, &deep).status, 400);

    let unknown = soap(
        &camera,
        DEVICE,
        None,
        &envelope("<SystemReboot xmlns=\"http://www.onvif.org/ver10/device/wsdl\"/>"),
    );
    assert_eq!(
        (unknown.status, fault_codes(&unknown)),
        (
            500,
            vec![
                "env:Receiver".to_owned(),
                "ter:ActionNotSupported".to_owned()
            ]
        )
    );
    let wrong_ns = soap(
        &camera,
        DEVICE,
        None,
        &envelope("<GetSystemDateAndTime xmlns=\"urn:not-onvif\"/>"),
    );
    assert_eq!(fault_codes(&wrong_ns)[1], "ter:ActionNotSupported");
    let soap11 =
        "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body/></e:Envelope>";
    assert_eq!(
        fault_codes(&soap(&camera, DEVICE, None, soap11))[0],
        "env:VersionMismatch"
    );
    assert_eq!(camera.get(DEVICE, None).status, 400, "GET is not SOAP");

    // Authorization: a fault without a login, HTTP Basic as an alternative to WS-Security,
    // and a wrong Basic login is the server's 401.
    let info = envelope("<GetDeviceInformation xmlns=\"http://www.onvif.org/ver10/device/wsdl\"/>");
    let refused = soap(&camera, DEVICE, None, &info);
    assert_eq!(
        (refused.status, fault_codes(&refused)),
        (400, sender("ter:NotAuthorized"))
    );
    assert_eq!(soap(&camera, DEVICE, ADMIN, &info).status, 200);
    assert_eq!(
        soap(&camera, DEVICE, Some(("admin", "wrong")), &info).status,
        401
    );
    let bad_arg = envelope(&format!(
        "<AbsoluteMove xmlns=\"http://www.onvif.org/ver20/ptz/wsdl\"><ProfileToken>{PROFILE}</ProfileToken>\
         <Position><PanTilt xmlns=\"http://www.onvif.org/ver10/schema\" x=\"5\" y=\"0\"/></Position></AbsoluteMove>"
    ));
    let reply = soap(&camera, "/onvif/ptz_service", ADMIN, &bad_arg);
    assert_eq!(
        (reply.status, fault_codes(&reply)),
        (
            400,
            vec![
                "env:Sender".into(),
                "ter:InvalidArgVal".into(),
                "ter:InvalidPosition".into()
            ]
        )
    );

    // Still serving.
    let time = envelope("<GetSystemDateAndTime xmlns=\"http://www.onvif.org/ver10/device/wsdl\"/>");
    let reply = soap(&camera, "/onvif/media_service", None, &time);
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("<tt:UTCDateTime>"));
    assert_eq!(camera.get("/image.jpg", ADMIN).status, 200);
}

#[test]
fn the_onvif_services_can_be_switched_off() {
    let camera = TestCamera::start_with(|config| config.onvif.enabled = false);
    let time = envelope("<GetSystemDateAndTime xmlns=\"http://www.onvif.org/ver10/device/wsdl\"/>");
    assert_eq!(soap(&camera, DEVICE, ADMIN, &time).status, 404);
    assert!(camera.daemon().discovery_addr().is_none());
}

/// What `onvif_client.py discover` found.
fn discover(python: &PathBuf, address: &str, port: u16) -> Vec<Value> {
    let output = Command::new(python)
        .arg(script())
        .args(["discover", address, &port.to_string(), "3"])
        .output()
        .expect("run WSDiscovery");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&output.stdout).expect("a JSON list")
}

fn our_match(found: &[Value], camera: &TestCamera) -> Option<Value> {
    let xaddr = format!("http://{}/onvif/device_service", camera.addr);
    found
        .iter()
        .find(|service| {
            service["xaddrs"]
                .as_array()
                .is_some_and(|x| x.contains(&json!(xaddr)))
        })
        .cloned()
}

#[test]
fn ws_discovery_answers_probes_with_the_cameras_address_and_scopes() {
    let Some(python) = python() else { return };
    let camera = TestCamera::start_with(|config| {
        config.onvif.discovery = true;
        config.onvif.discovery_port = 0;
    });
    let port = camera
        .daemon()
        .discovery_addr()
        .expect("discovery runs")
        .port();
    let found = discover(&python, "127.0.0.1", port);
    let service =
        our_match(&found, &camera).unwrap_or_else(|| panic!("no match for us in {found:?}"));
    assert!(service["types"]
        .to_string()
        .contains("NetworkVideoTransmitter"));
    assert!(service["scopes"]
        .to_string()
        .contains("onvif://www.onvif.org/name/IPCam"));
    let epr = service["epr"].as_str().expect("epr").to_owned();
    assert!(epr.starts_with("urn:uuid:"), "{epr}");

    // The multicast probe of a real NVR goes to 239.255.255.250:3702. A camera serving on
    // 127.0.0.1 joins the group on loopback only, and the probe leaves through loopback:
    // nothing of this test reaches the network.
    let multicast = TestCamera::start_with(|config| {
        config.onvif.discovery = true;
        config.onvif.discovery_port = ipcam_onvif_port();
    });
    if !multicast.daemon().discovery_multicast() {
        println!(
            "SKIP (multicast part): this host cannot join 239.255.255.250 on loopback; \
             the unicast probe above was answered"
        );
        return;
    }
    let found = discover(&python, "239.255.255.250", ipcam_onvif_port());
    let service = our_match(&found, &multicast)
        .unwrap_or_else(|| panic!("a multicast probe did not find the camera: {found:?}"));
    // Another start on the same MAC keeps its endpoint reference.
    assert_eq!(service["epr"], json!(epr));
}

/// The WS-Discovery port (3702).
fn ipcam_onvif_port() -> u16 {
    ipcamd::config::Config::default().onvif.discovery_port
}

#[test]
fn nvr_preset_paths_serve_the_snapshot_and_the_stream_with_the_same_roles() {
    let camera = TestCamera::start();
    let jpeg = camera.get("/image/jpeg.cgi", ADMIN);
    assert_eq!(
        (jpeg.status, jpeg.header("Content-Type")),
        (200, Some("image/jpeg"))
    );
    assert_eq!(common::jpeg_size(&jpeg.body), Some((640, 480)));
    assert_eq!(camera.get("/image/jpeg.cgi", None).status, 401);
    for path in [
        "/video.cgi",
        "/video/mjpg.cgi",
        "/video/mjpg.cgi?.mjpg",
        "/video.mjpg",
        "/VIDEO.CGI",
    ] {
        let part = MjpegStream::open_path(camera.addr, path, ADMIN).next_part();
        assert!(part.date.contains("_PT_170_045"), "{path}: {}", part.date);
        assert_eq!(camera.get(path, None).status, 401, "{path}");
    }
}

#[test]
fn a_client_that_expects_100_continue_is_asked_for_its_body() {
    let camera = TestCamera::start();
    let body = envelope("<GetSystemDateAndTime xmlns=\"http://www.onvif.org/ver10/device/wsdl\"/>");
    let mut stream = common::connect(camera.addr);
    write!(
        stream,
        "POST {DEVICE} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/soap+xml\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        camera.addr,
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut interim = String::new();
    reader.read_line(&mut interim).unwrap();
    assert_eq!(interim, "HTTP/1.1 100 Continue\r\n");
    let mut blank = String::new();
    reader.read_line(&mut blank).unwrap();
    assert_eq!(blank, "\r\n");
    stream.write_all(body.as_bytes()).unwrap();
    let reply = common::read_reply(&mut reader, false);
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("<tt:UTCDateTime>"));
}
