//! `/image.jpg` and `/mjpeg.cgi` end to end (spec 4.1): real JPEGs of the configured size,
//! the multipart format byte for byte, slow viewers, and the replay source.

mod common;

use std::collections::HashSet;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;

use common::{connect, read_reply, wait_for, MjpegStream, TestCamera, ADMIN};

/// Decodes a JPEG and returns its width and height.
fn decode(jpeg: &[u8]) -> (u16, u16) {
    common::jpeg_size(jpeg).expect("a JPEG that decodes")
}

/// Checks `yyyy-mm-dd hh:mm:ss IO_xxxxxxxx_PT_ppp_ttt` field by field.
fn check_date_line(rest: &str) {
    let (date, rest) = rest.split_at(10);
    let digits_at = |text: &str, positions: &[usize]| {
        positions
            .iter()
            .all(|&i| text.as_bytes()[i].is_ascii_digit())
    };
    assert!(digits_at(date, &[0, 1, 2, 3, 5, 6, 8, 9]) && &date[4..5] == "-" && &date[7..8] == "-");
    let (time, status) = rest[1..].split_at(8);
    assert!(digits_at(time, &[0, 1, 3, 4, 6, 7]) && &time[2..3] == ":" && &time[5..6] == ":");
    let status = status.strip_prefix(' ').expect("space before the status");
    let fields: Vec<&str> = status.split('_').collect();
    assert_eq!(fields.len(), 5, "{status}");
    assert_eq!((fields[0], fields[2]), ("IO", "PT"));
    assert!(fields[1].len() == 8 && fields[1].bytes().all(|b| b == b'0' || b == b'1'));
    let pan: u16 = fields[3].parse().unwrap();
    let tilt: u16 = fields[4].parse().unwrap();
    assert!(fields[3].len() == 3 && fields[4].len() == 3 && pan <= 340 && tilt <= 135);
}

#[test]
fn a_snapshot_is_a_jpeg_of_the_configured_size_from_the_moment_the_camera_listens() {
    // Start-up returns once the first frame is in, so even the first request gets one.
    let camera = TestCamera::start();
    let reply = camera.get("/image.jpg", ADMIN);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("Content-Type"), Some("image/jpeg"));
    assert_eq!(decode(&reply.body), (640, 480));
}

#[test]
fn an_http10_snapshot_ends_with_the_spec_crlfs_and_a_kept_alive_one_does_not() {
    let camera = TestCamera::start();
    wait_for("a first frame", || {
        (camera.get("/image.jpg", ADMIN).status == 200).then_some(())
    });
    let mut raw = Vec::new();
    let mut stream = connect(camera.addr);
    stream
        .write_all(common::request("GET", "/image.jpg", ADMIN, "").as_bytes())
        .unwrap();
    stream.read_to_end(&mut raw).unwrap();
    assert!(raw.ends_with(b"\xff\xd9\r\n\r\n"), "JPEG then CRLF CRLF");

    let stream = connect(camera.addr);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let request = format!(
        "GET /image.jpg HTTP/1.1\r\nAuthorization: Basic {}\r\n\r\n",
        common::basic("admin", common::ADMIN_PASSWORD)
    );
    for _ in 0..2 {
        writer.write_all(request.as_bytes()).unwrap();
        let reply = read_reply(&mut reader, false);
        assert_eq!(
            reply.status, 200,
            "the second request parses: no stray bytes"
        );
        assert!(reply.body.ends_with(b"\xff\xd9"));
    }
}

#[test]
fn the_stream_follows_the_spec_and_frames_differ() {
    let camera = TestCamera::start();
    let mut stream = MjpegStream::open(camera.addr, ADMIN);
    let mut seen = HashSet::new();
    for _ in 0..10 {
        let part = stream.next_part();
        check_date_line(&part.date);
        assert!(
            part.date.ends_with("IO_00000000_PT_170_045"),
            "{}",
            part.date
        );
        assert_eq!(decode(&part.jpeg), (640, 480));
        seen.insert(part.jpeg);
    }
    assert_eq!(seen.len(), 10, "every frame differs from the others");
}

/// Asks for `/mjpeg.cgi` and never reads the answer: a viewer whose connection stalls.
fn stream_never_read(camera: &TestCamera) -> TcpStream {
    let mut stream = connect(camera.addr);
    stream
        .write_all(common::request("GET", "/mjpeg.cgi", ADMIN, "").as_bytes())
        .unwrap();
    stream
}

#[test]
fn a_viewer_that_never_reads_does_not_hold_back_another() {
    let camera = TestCamera::start_with(|config| config.server.stall_timeout_secs = 1);
    let stalled: Vec<TcpStream> = (0..3).map(|_| stream_never_read(&camera)).collect();
    let mut viewer = MjpegStream::open(camera.addr, ADMIN);
    let mut seen = HashSet::new();
    for _ in 0..60 {
        seen.insert(viewer.next_part().jpeg);
    }
    assert_eq!(
        seen.len(),
        60,
        "the reading viewer got 60 distinct, whole frames"
    );
    let active = wait_for("the stalled viewers to be dropped", || {
        let reply = camera.get("/activeuser.cgi", ADMIN);
        let viewers = reply.text().matches("UserIPAddress").count();
        (viewers == 1).then_some(viewers)
    });
    assert_eq!(active, 1);
    drop(stalled);
}

#[test]
fn many_stalled_viewers_each_holding_a_different_frame_do_not_freeze_the_others() {
    // More stalled viewers than a small frame pool has slots, each opened one frame after
    // the last so that each ends up pinning a different frame until the stall timeout.
    let camera = TestCamera::start_with(|config| config.server.stall_timeout_secs = 600);
    let mut viewer = MjpegStream::open(camera.addr, ADMIN);
    let stalled: Vec<TcpStream> = (0..24)
        .map(|_| {
            let stalled = stream_never_read(&camera);
            viewer.next_part();
            stalled
        })
        .collect();
    let mut seen = HashSet::new();
    for _ in 0..90 {
        seen.insert(viewer.next_part().jpeg);
    }
    assert_eq!(seen.len(), 90, "the reading viewer kept getting new frames");
    let viewers = camera.get("/activeuser.cgi", ADMIN);
    assert_eq!(
        viewers.text().matches("UserIPAddress").count(),
        stalled.len() + 1,
        "while the stalled viewers were all still connected"
    );
    drop(stalled);
}

/// Sets `form` on `path` as the administrator, expecting it to be accepted.
fn admin_sets(camera: &TestCamera, path: &str, form: &str) {
    let reply = camera.post(path, ADMIN, form);
    assert_eq!(reply.status, 200, "{path} {form}: {}", reply.text());
}

#[test]
fn taking_access_away_ends_the_streams_it_covered_and_only_those() {
    let camera = TestCamera::start();
    admin_sets(
        &camera,
        "/userlist.cgi",
        "UserName=bob&UserPassword=bobpw&UserPrivilege=0&UserAdd=Yes",
    );
    // The spec's encoding: 1 disables access control, so anyone may watch.
    admin_sets(&camera, "/user.cgi", "AccessControlEnable=1");
    let mut admin = MjpegStream::open(camera.addr, ADMIN);
    let mut bob = MjpegStream::open(camera.addr, Some(("bob", "bobpw")));
    let mut anonymous = MjpegStream::open(camera.addr, None);
    for stream in [&mut admin, &mut bob, &mut anonymous] {
        stream.next_part();
    }

    admin_sets(&camera, "/user.cgi", "AccessControlEnable=0");
    assert!(
        anonymous.ended_by_server(),
        "anonymous viewers must log in now"
    );
    bob.next_part();

    admin_sets(&camera, "/userlist.cgi", "UserName=bob&UserDelete=Yes");
    assert!(bob.ended_by_server(), "a deleted user's stream ends");
    for _ in 0..3 {
        admin.next_part();
    }
}

#[test]
fn active_viewers_are_listed_with_the_cameras_own_time() {
    let camera = TestCamera::start();
    admin_sets(
        &camera,
        "/datetime.cgi",
        "DateTimeMode=1&Date=2030-01-02&Time=03:04:05",
    );
    let mut viewer = MjpegStream::open(camera.addr, ADMIN);
    viewer.next_part();
    let listed = camera.get("/activeuser.cgi", ADMIN).text();
    let since = listed
        .lines()
        .find_map(|line| line.strip_prefix("AccessDateTime="))
        .unwrap_or_else(|| panic!("a viewer in {listed:?}"));
    assert!(since.starts_with("2030-01-02 03:0"), "{since}");
}

#[test]
fn the_replay_source_serves_the_very_bytes_of_its_files() {
    let recorder = TestCamera::start();
    let mut originals = Vec::new();
    for resolution in ["0", "1", "2"] {
        let set = recorder.get(&format!("/image.cgi?VideoResolution={resolution}"), ADMIN);
        assert_eq!(set.status, 200);
        let size = [(160, 120), (320, 240), (640, 480)][resolution.parse::<usize>().unwrap()];
        let jpeg = wait_for("a frame at the new size", || {
            let reply = recorder.get("/image.jpg", ADMIN);
            (reply.status == 200 && decode(&reply.body) == size).then_some(reply.body)
        });
        originals.push(jpeg);
    }
    let folder = tempfile::tempdir().unwrap();
    for (n, jpeg) in originals.iter().enumerate() {
        std::fs::write(folder.path().join(format!("frame{n}.jpg")), jpeg).unwrap();
    }
    let source = format!("replay:{}", folder.path().display());
    let replay = TestCamera::start_with(|config| config.capture.source = source);
    let mut stream = MjpegStream::open(replay.addr, ADMIN);
    let files: HashSet<Vec<u8>> = originals.into_iter().collect();
    let mut unseen = files.clone();
    for _ in 0..12 {
        let part = stream.next_part();
        assert!(
            files.contains(&part.jpeg),
            "a frame that is not one of the files"
        );
        unseen.remove(&part.jpeg);
        if unseen.is_empty() {
            return;
        }
    }
    panic!("{} of the files never appeared byte for byte", unseen.len());
}
