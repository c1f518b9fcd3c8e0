//! The camera-control CGIs of spec chapter 5 end to end, over real TCP: `/pantiltcontrol.cgi`
//! moves the head and the MJPEG part headers (spec 4.1.2) show it converge; presets are set,
//! visited, cleared, swung through and survive a restart; `/iocontrol.cgi` drives the trigger
//! lines and shows in the headers; `/comport.cgi` reaches the serial port (the sim, and a real
//! termios port on a pseudo-terminal) without ever waiting for the line; and each role gets
//! exactly what DESIGN.md "Who may do what" allows.

mod common;

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{MjpegStream, TestCamera, ADMIN, DEADLINE};
use ipcam_hal::serial::MAX_REQUEST_BYTES;
use ipcam_hal::{Gpio, LineConfig, SerialBackendConfig, SerialConfig};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// The sim GPIO lines the tests wire the trigger outputs to.
const TRIGGER1_LINE: u32 = 17;
const TRIGGER2_LINE: u32 = 18;
/// The default home position (looking ahead, level).
const HOME: (u16, u16) = (170, 45);
/// Pause at each preset while swinging, in the fast cameras.
const SWING_DWELL_SECONDS: f64 = 0.2;

const VIEWER: Option<(&str, &str)> = Some(("viewer", "view0"));
const OPERATOR: Option<(&str, &str)> = Some(("operator", "oper1"));

/// A camera whose head moves about five times faster than the default (a full pan in well
/// under two seconds), with the trigger outputs on sim lines the tests can watch.
fn fast_camera() -> TestCamera {
    TestCamera::start_with(fast)
}

fn fast(config: &mut ipcamd::config::Config) {
    config.ptz.profile.max_speed = 300.0;
    config.ptz.profile.acceleration = 1000.0;
    config.ptz.swing_dwell_seconds = SWING_DWELL_SECONDS;
    config.hal.trigger1_output = Some(LineConfig {
        line: TRIGGER1_LINE,
        active_low: false,
    });
    config.hal.trigger2_output = Some(LineConfig {
        line: TRIGGER2_LINE,
        active_low: false,
    });
}

/// What a test sees of an output line: its level and every level ever written.
fn line_state(camera: &TestCamera, line: u32) -> (bool, Vec<bool>) {
    let Gpio::Sim(sim) = camera.daemon().gpio() else {
        panic!("the tests' GPIO backend is the sim")
    };
    let output = sim.probe_output(line).expect("a configured output line");
    (output.level(), output.history())
}

fn serial_written(camera: &TestCamera) -> Vec<u8> {
    camera
        .daemon()
        .sim_serial()
        .expect("the tests' serial backend is the sim")
        .written()
}

/// Waits until the sim port has received exactly `expected` in all: the port has its own
/// thread, so bytes arrive shortly after the 204.
fn wait_for_serial(camera: &TestCamera, expected: &[u8]) {
    common::wait_for(&format!("the serial port to receive {expected:?}"), || {
        (serial_written(camera) == expected).then_some(())
    });
}

fn pantilt(camera: &TestCamera, credentials: Option<(&str, &str)>, form: &str) -> u16 {
    let reply = camera.post("/pantiltcontrol.cgi", credentials, form);
    assert!(reply.body.len() < 200, "short reason: {}", reply.text());
    reply.status
}

fn move_to(camera: &TestCamera, (pan, tilt): (u16, u16)) {
    let form = format!("PanTiltHorizontal={pan}&PanTiltVertical={tilt}&PanTiltPositionMove=true");
    assert_eq!(pantilt(camera, ADMIN, &form), 204, "{form}");
}

fn add_user(camera: &TestCamera, (name, password): (&str, &str), privilege: u8) {
    let query = format!(
        "/userlist.cgi?UserName={name}&UserPassword={password}&UserPrivilege={privilege}&UserAdd=Yes"
    );
    let reply = camera.get(&query, ADMIN);
    assert_eq!(reply.status, 200, "adding {name}: {}", reply.text());
}

// ---------------------------------------------------------------------------------------
// An MJPEG client that parses the stream exactly as spec 4.1.2 draws it.

/// The stamp of one part: `Date: yyyy-mm-dd hh:mm:ss IO_xxxxxxxx_PT_ppp_ttt`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    date_time: String,
    io: String,
    pan: u16,
    tilt: u16,
}

impl Stamp {
    /// Parses the value of the `Date:` header, refusing anything off the spec's format.
    fn parse(value: &str) -> Stamp {
        if value.len() != 42 || !value.is_ascii() {
            off_format(value);
        }
        let (date_time, rest) = value.split_at(19);
        parse_date_time(date_time).unwrap_or_else(|| off_format(value));
        let fields = rest
            .strip_prefix(" IO_")
            .unwrap_or_else(|| off_format(value));
        let (io, rest) = fields.split_at(8);
        if !io.bytes().all(|b| b == b'0' || b == b'1') || !io.ends_with("0000") {
            off_format(value);
        }
        let rest = rest
            .strip_prefix("_PT_")
            .unwrap_or_else(|| off_format(value));
        let (pan, tilt) = rest.split_once('_').unwrap_or_else(|| off_format(value));
        let degrees = |digits: &str, max: u16| match digits.parse::<u16>() {
            Ok(value) if digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                assert!(value <= max, "{digits} beyond {max}");
                value
            }
            _ => off_format(value),
        };
        Stamp {
            date_time: date_time.to_owned(),
            io: io.to_owned(),
            pan: degrees(pan, 340),
            tilt: degrees(tilt, 135),
        }
    }

    fn position(&self) -> (u16, u16) {
        (self.pan, self.tilt)
    }
}

fn off_format(date: &str) -> ! {
    panic!("Date header off the spec's format: {date:?}")
}

/// Seconds since the epoch of a strict `yyyy-mm-dd hh:mm:ss` (read as UTC), or `None`.
fn parse_date_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let separators = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if bytes.len() != 19 || separators.iter().any(|&(i, sep)| bytes[i] != sep) {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        let digits = &text[from..to];
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// A `/mjpeg.cgi` viewer.
struct Mjpeg(MjpegStream);

impl Mjpeg {
    fn open(camera: &TestCamera, credentials: Option<(&str, &str)>) -> Mjpeg {
        Mjpeg(MjpegStream::open(camera.addr, credentials))
    }

    /// The stamp of the next part, whose every line the common reader checks.
    fn next_part(&mut self) -> Stamp {
        Stamp::parse(&self.0.next_part().date)
    }

    /// Reads parts until one satisfies `done`; returns every part read, that one last.
    fn until(&mut self, what: &str, mut done: impl FnMut(&Stamp) -> bool) -> Vec<Stamp> {
        let deadline = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        loop {
            let stamp = self.next_part();
            let finished = done(&stamp);
            seen.push(stamp);
            if finished {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last parts: {:?}",
                &seen[seen.len().saturating_sub(5)..]
            );
        }
    }

    /// Reads parts until the head is at `target`.
    fn until_at(&mut self, target: (u16, u16)) -> Vec<Stamp> {
        self.until(&format!("PT_{:03}_{:03}", target.0, target.1), |s| {
            s.position() == target
        })
    }

    /// Reads parts until the position has held for `hold`; returns it.
    fn until_still_for(&mut self, hold: Duration) -> (u16, u16) {
        let mut since = (Instant::now(), self.next_part().position());
        self.until("the head to hold still", |stamp| {
            if stamp.position() != since.1 {
                since = (Instant::now(), stamp.position());
            }
            since.0.elapsed() >= hold
        });
        since.1
    }
}

// ---------------------------------------------------------------------------------------
// /pantiltcontrol.cgi

#[test]
fn an_absolute_move_converges_monotonically_in_the_stream_headers() {
    let camera = fast_camera();
    let mut stream = Mjpeg::open(&camera, ADMIN);
    let first = stream.next_part();
    assert_eq!(first.position(), HOME, "the head starts at home");
    // The factory time zone is GMT+0 (TimeZoneIndex=0, TimeZone=0).
    let stamped = parse_date_time(&first.date_time).expect("checked by Stamp::parse");
    assert!((stamped - unix_now()).abs() <= 5, "{first:?} is not now");

    move_to(&camera, (300, 100));
    let seen = stream.until_at((300, 100));
    for pair in seen.windows(2) {
        let (before, after) = (pair[0].position(), pair[1].position());
        assert!(
            before.0 <= after.0 && before.1 <= after.1 && after.0 <= 300 && after.1 <= 100,
            "not monotonic towards (300, 100): {before:?} then {after:?}"
        );
    }
    let between = |stamp: &&Stamp| {
        (HOME.0 + 1..300).contains(&stamp.pan) && (HOME.1 + 1..100).contains(&stamp.tilt)
    };
    assert!(
        seen.iter().any(|s| between(&s)),
        "the move is seen in progress, not as a jump: {seen:?}"
    );
    for _ in 0..5 {
        assert_eq!(stream.next_part().position(), (300, 100), "it stays there");
    }
}

#[test]
fn single_steps_move_by_the_given_degrees_and_stop_at_the_limits() {
    let camera = fast_camera();
    let mut stream = Mjpeg::open(&camera, ADMIN);
    let step = |form: &str| assert_eq!(pantilt(&camera, ADMIN, form), 204, "{form}");

    step("PanSingleMoveDegree=10&PanTiltSingleMove=5");
    stream.until_at((180, 45));
    step("TiltSingleMoveDegree=3&PanTiltSingleMove=7");
    stream.until_at((180, 42));
    step("PanSingleMoveDegree=7&TiltSingleMoveDegree=9&PanTiltSingleMove=3");
    stream.until_at((173, 42));
    step("TiltSingleMoveDegree=1&PanTiltSingleMove=1");
    stream.until_at((173, 43));

    // Near the low limits, a step stops at 0 (and never wraps around).
    move_to(&camera, (5, 4));
    stream.until_at((5, 4));
    step("PanSingleMoveDegree=10&PanTiltSingleMove=3");
    stream.until_at((0, 4));
    for _ in 0..3 {
        step("PanSingleMoveDegree=10&PanTiltSingleMove=3");
        step("TiltSingleMoveDegree=10&PanTiltSingleMove=7");
    }
    // Commands run in order, so this step starts from wherever the others left the head.
    step("PanSingleMoveDegree=2&PanTiltSingleMove=5");
    let seen = stream.until_at((2, 0));
    assert!(
        seen.iter().all(|s| s.pan <= 5 && s.tilt <= 4),
        "never past a limit: {seen:?}"
    );

    // Near the high limits, it stops at 340 and 135.
    move_to(&camera, (333, 131));
    stream.until_at((333, 131));
    for _ in 0..2 {
        step("PanSingleMoveDegree=10&PanTiltSingleMove=5");
        step("TiltSingleMoveDegree=10&PanTiltSingleMove=1");
    }
    stream.until_at((340, 135));
    step("TiltSingleMoveDegree=4&PanTiltSingleMove=7");
    let seen = stream.until_at((340, 131));
    assert!(seen.iter().all(|s| s.pan >= 333 && s.tilt >= 131));

    // Home, by the keypad's centre.
    step("PanSingleMoveDegree=5&TiltSingleMoveDegree=5&PanTiltSingleMove=4");
    stream.until_at(HOME);
}

#[test]
fn invalid_pan_tilt_requests_are_refused_and_do_not_move_the_head() {
    let camera = fast_camera();
    let mut stream = Mjpeg::open(&camera, ADMIN);
    for form in [
        "PanTiltHorizontal=341&PanTiltVertical=10&PanTiltPositionMove=true",
        "PanTiltHorizontal=10&PanTiltVertical=136&PanTiltPositionMove=true",
        "PanTiltHorizontal=-1&PanTiltVertical=10&PanTiltPositionMove=true",
        "PanTiltHorizontal=10&PanTiltPositionMove=true",
        "PanTiltHorizontal=10&PanTiltVertical=10&PanTiltPositionMove=false",
        "PanTiltHorizontal=10&PanTiltVertical=10",
        "PanTiltSingleMove=9",
        "PanTiltSingleMove=right",
        "PanTiltPresetPositionMove=25",
        "PanTiltSwingMode=1",
        "PanTiltSwingMode=3",
        "PanTiltSingleMove=5&PanTiltPresetPositionMove=0",
        "PanTiltSingleMove=5&Zoom=1",
        "PanTiltSingleMove=5&PanTiltSingleMove=3",
    ] {
        assert_eq!(pantilt(&camera, ADMIN, form), 400, "{form}");
    }
    // Nothing moved: a step now starts from home.
    assert_eq!(
        pantilt(&camera, ADMIN, "PanSingleMoveDegree=1&PanTiltSingleMove=5"),
        204
    );
    let seen = stream.until_at((HOME.0 + 1, HOME.1));
    assert!(seen
        .iter()
        .all(|s| s.position() == HOME || s.position() == (171, 45)));
}

#[test]
fn get_with_a_query_works_as_well_as_a_posted_form() {
    let camera = fast_camera();
    let mut stream = Mjpeg::open(&camera, ADMIN);
    let reply = camera.get(
        "/pantiltcontrol.cgi?PanTiltHorizontal=20&PanTiltVertical=30&PanTiltPositionMove=true",
        ADMIN,
    );
    assert_eq!(reply.status, 204);
    stream.until_at((20, 30));

    move_to(&camera, (40, 50));
    stream.until_at((40, 50));

    // Many scripts POST a form without any Content-Type; it is still a form.
    let body = "PanSingleMoveDegree=6&PanTiltSingleMove=5";
    let raw = format!(
        "POST /pantiltcontrol.cgi HTTP/1.0\r\nAuthorization: Basic {}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        common::basic("admin", common::ADMIN_PASSWORD),
        body.len()
    );
    assert_eq!(common::exchange(camera.addr, raw.as_bytes()).status, 204);
    stream.until_at((46, 50));

    // Parameter names match ignoring case, as on every other CGI of the camera.
    assert_eq!(
        pantilt(&camera, ADMIN, "pansinglemovedegree=3&PANTILTSINGLEMOVE=5"),
        204
    );
    stream.until_at((49, 50));

    assert_eq!(
        camera
            .get("/pantiltcontrol.cgi?PanTiltPresetPositionMove=0", ADMIN)
            .status,
        204
    );
    stream.until_at(HOME);
}

#[test]
fn presets_are_set_visited_cleared_and_survive_a_restart() {
    let mut camera = fast_camera();
    let mut stream = Mjpeg::open(&camera, ADMIN);
    let send = |camera: &TestCamera, form: &str| pantilt(camera, ADMIN, form);

    assert_eq!(
        send(
            &camera,
            "SetPosition=3&SetName=Gate&PanTiltHorizontal=300&PanTiltVertical=20"
        ),
        204
    );
    assert_eq!(
        send(
            &camera,
            "SetPosition=24&SetName=Twelve%20Chars&PanTiltHorizontal=40&PanTiltVertical=110"
        ),
        204,
        "a name of exactly 12 characters"
    );
    assert_eq!(send(&camera, "PanTiltPresetPositionMove=3"), 204);
    stream.until_at((300, 20));
    assert_eq!(send(&camera, "PanTiltPresetPositionMove=24"), 204);
    stream.until_at((40, 110));
    assert_eq!(send(&camera, "PanTiltPresetPositionMove=0"), 204, "home");
    stream.until_at(HOME);

    // Home cannot be set or cleared; names are at most 12 characters; unset presets are 400.
    for form in [
        "SetPosition=0&SetName=Home&PanTiltHorizontal=10&PanTiltVertical=10",
        "ClearPosition=0",
        "SetPosition=25&PanTiltHorizontal=10&PanTiltVertical=10",
        "SetPosition=4&SetName=Thirteen%20chrs&PanTiltHorizontal=10&PanTiltVertical=10",
        "SetPosition=4&PanTiltHorizontal=341&PanTiltVertical=10",
        "PanTiltPresetPositionMove=5",
        "ClearPosition=25",
    ] {
        assert_eq!(send(&camera, form), 400, "{form}");
    }
    assert_eq!(
        send(&camera, "PanTiltPresetPositionMove=4"),
        400,
        "4 was never set"
    );

    assert_eq!(send(&camera, "ClearPosition=3"), 204);
    assert_eq!(send(&camera, "PanTiltPresetPositionMove=3"), 400, "cleared");

    drop(stream);
    camera.stop();
    let restarted = TestCamera::start_in(&camera.state_dir, fast);
    let mut stream = Mjpeg::open(&restarted, ADMIN);
    assert_eq!(
        stream.next_part().position(),
        HOME,
        "a restart starts at home"
    );
    assert_eq!(
        send(&restarted, "PanTiltPresetPositionMove=3"),
        400,
        "still cleared"
    );
    assert_eq!(
        send(&restarted, "PanTiltPresetPositionMove=24"),
        204,
        "still set"
    );
    stream.until_at((40, 110));
}

#[test]
fn swing_visits_the_presets_in_slot_order_until_disabled() {
    let camera = fast_camera();
    assert_eq!(
        pantilt(&camera, ADMIN, "PanTiltSwingMode=2"),
        400,
        "no preset to swing between"
    );
    // Set out of slot order, at places no leg of the swing passes through.
    let presets = [(7, (130, 90)), (2, (100, 30)), (4, (160, 60))];
    for (slot, (pan, tilt)) in presets {
        let form = format!("SetPosition={slot}&PanTiltHorizontal={pan}&PanTiltVertical={tilt}");
        assert_eq!(pantilt(&camera, ADMIN, &form), 204, "{form}");
    }
    let mut stream = Mjpeg::open(&camera, ADMIN);
    assert_eq!(pantilt(&camera, ADMIN, "PanTiltSwingMode=2"), 204);

    let slot_at = |position| {
        presets
            .iter()
            .find(|(_, at)| *at == position)
            .map(|(slot, _)| *slot)
    };
    let mut visits: Vec<u8> = Vec::new();
    stream.until("five preset visits", |stamp| {
        if let Some(slot) = slot_at(stamp.position()) {
            if visits.last() != Some(&slot) {
                visits.push(slot);
            }
        }
        visits.len() == 5
    });
    assert_eq!(visits, [2, 4, 7, 2, 4], "slot order, wrapping around");

    assert_eq!(pantilt(&camera, ADMIN, "PanTiltSwingMode=0"), 204);
    // A swing never rests longer than its dwell; holding four dwells means it stopped.
    stream.until_still_for(Duration::from_secs_f64(4.0 * SWING_DWELL_SECONDS));

    // Another move replaces the swing as well.
    assert_eq!(pantilt(&camera, ADMIN, "PanTiltSwingMode=2"), 204);
    stream.until("the swing to reach a preset", |s| {
        slot_at(s.position()).is_some()
    });
    move_to(&camera, (200, 60));
    stream.until_at((200, 60));
    let held = stream.until_still_for(Duration::from_secs_f64(4.0 * SWING_DWELL_SECONDS));
    assert_eq!(held, (200, 60), "the swing is over");
}

// ---------------------------------------------------------------------------------------
// /iocontrol.cgi

/// The parsed single line of `GET /iocontrol.cgi`: the spec's five fields, checked to
/// come first and be followed only by the extension fields (README, "Motion detection").
fn io_status(camera: &TestCamera, credentials: Option<(&str, &str)>) -> [(String, String); 5] {
    let reply = camera.get("/iocontrol.cgi", credentials);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("Content-Type"), Some("text/html"));
    let text = reply.text();
    let line = text
        .strip_suffix("\r\n")
        .unwrap_or_else(|| panic!("one CRLF-ended line: {text:?}"));
    assert!(!line.contains(['\r', '\n']), "exactly one line: {text:?}");
    let pairs: Vec<(String, String)> = line
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').expect("Name=value");
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Trigger1",
            "Trigger2",
            "ImageUpload",
            "ImageEmail",
            "CurrentTime",
            "Motion",
            "Input1",
            "Input2"
        ]
    );
    for (name, value) in pairs[..4].iter().chain(&pairs[5..]) {
        assert!(value == "0" || value == "1", "{name}={value}");
    }
    let mut pairs = pairs;
    pairs.truncate(5);
    pairs.try_into().expect("five pairs")
}

/// The four bits of `GET /iocontrol.cgi` as `IO_` digits.
fn io_bits(camera: &TestCamera) -> String {
    io_status(camera, ADMIN)[..4]
        .iter()
        .map(|(_, value)| value.as_str())
        .collect()
}

#[test]
fn io_status_is_the_spec_line_with_the_current_time() {
    let camera = fast_camera();
    let status = io_status(&camera, ADMIN);
    assert_eq!(io_bits(&camera), "0000");
    let head = common::request("HEAD", "/iocontrol.cgi", ADMIN, "");
    let head = common::exchange(camera.addr, head.as_bytes());
    assert_eq!(
        (head.status, head.body.len()),
        (200, 0),
        "HEAD works where GET does"
    );
    let (name, shown) = &status[4];
    assert_eq!(name, "CurrentTime");
    // The factory time zone is GMT+0 (TimeZoneIndex=0, TimeZone=0).
    let shown = parse_date_time(shown)
        .unwrap_or_else(|| panic!("CurrentTime={shown} is not yyyy-mm-dd hh:mm:ss"));
    assert!(
        (shown - unix_now()).abs() <= 5,
        "CurrentTime {shown} vs now {}",
        unix_now()
    );
}

#[test]
fn triggers_drive_the_lines_and_every_bit_shows_in_the_stream_header() {
    let camera = fast_camera();
    let mut stream = Mjpeg::open(&camera, ADMIN);
    assert_eq!(stream.next_part().io, "00000000");
    let set = |form: &str| {
        let reply = camera.post("/iocontrol.cgi", ADMIN, form);
        assert_eq!(reply.status, 204, "{form}: {}", reply.text());
        assert!(reply.body.is_empty());
    };

    set("Trigger1=1");
    assert_eq!(line_state(&camera, TRIGGER1_LINE), (true, vec![true]));
    assert!(!line_state(&camera, TRIGGER2_LINE).0);
    assert_eq!(io_bits(&camera), "1000");
    stream.until("IO_10000000", |s| s.io == "10000000");

    set("ImageEmail=1");
    assert_eq!(io_bits(&camera), "1001");
    stream.until("IO_10010000", |s| s.io == "10010000");

    set("Trigger2=1&ImageUpload=1");
    assert!(line_state(&camera, TRIGGER2_LINE).0);
    assert_eq!(io_bits(&camera), "1111");
    stream.until("IO_11110000", |s| s.io == "11110000");

    set("Trigger1=0&ImageEmail=0");
    assert_eq!(
        line_state(&camera, TRIGGER1_LINE),
        (false, vec![true, false])
    );
    assert_eq!(io_bits(&camera), "0110");
    stream.until("IO_01100000", |s| s.io == "01100000");

    // GET with a query sets as well.
    let reply = camera.get("/iocontrol.cgi?ImageUpload=0&Trigger2=0", ADMIN);
    assert_eq!(reply.status, 204);
    assert!(!line_state(&camera, TRIGGER2_LINE).0);
    assert_eq!(io_bits(&camera), "0000");
    stream.until("IO_00000000", |s| s.io == "00000000");
}

#[test]
fn a_trigger_named_twice_takes_its_last_value_without_a_pulse() {
    let camera = fast_camera();
    let reply = camera.post("/iocontrol.cgi", ADMIN, "Trigger1=1&Trigger1=0");
    assert_eq!(reply.status, 204);
    assert!(
        !line_state(&camera, TRIGGER1_LINE).1.contains(&true),
        "the line never went high"
    );
    assert_eq!(io_bits(&camera), "0000");
    let reply = camera.post("/iocontrol.cgi", ADMIN, "Trigger2=0&Trigger2=1");
    assert_eq!(reply.status, 204);
    assert_eq!(line_state(&camera, TRIGGER2_LINE), (true, vec![true]));
    assert_eq!(io_bits(&camera), "0100");
}

#[test]
fn invalid_io_requests_are_refused_and_change_nothing() {
    let camera = fast_camera();
    assert_eq!(
        camera.post("/iocontrol.cgi", ADMIN, "Trigger2=1").status,
        204
    );
    let before = (
        io_bits(&camera),
        line_state(&camera, TRIGGER1_LINE),
        line_state(&camera, TRIGGER2_LINE),
    );
    for form in [
        "Trigger1=2",
        "Trigger1=on",
        "Trigger1=",
        "Trigger1=1&Trigger2=x",
        "Trigger1=1&ImageUpload=1&Bogus=1",
        "Trigger3=1",
        "ImageEmail=-1",
        "ImageUpload=1&ImageEmail=10",
    ] {
        let reply = camera.post("/iocontrol.cgi", ADMIN, form);
        assert_eq!(reply.status, 400, "{form}");
        let after = (
            io_bits(&camera),
            line_state(&camera, TRIGGER1_LINE),
            line_state(&camera, TRIGGER2_LINE),
        );
        assert_eq!(after, before, "{form} changed something");
    }
}

// ---------------------------------------------------------------------------------------
// /comport.cgi

#[test]
fn comport_writes_exactly_the_decoded_bytes() {
    let camera = fast_camera();
    let reply = camera.post("/comport.cgi", ADMIN, "ComOut=hello%0D%0A&ComSend=Yes");
    assert_eq!(reply.status, 204, "{}", reply.text());
    wait_for_serial(&camera, b"hello\r\n");

    let reply = camera.get("/comport.cgi?ComOut=a%2Bb%26c%3D+d&ComSend=Yes", ADMIN);
    assert_eq!(reply.status, 204, "{}", reply.text());
    wait_for_serial(&camera, b"hello\r\na+b&c= d");

    for form in [
        "ComOut=nope",
        "ComSend=Yes",
        "ComOut=nope&ComSend=No",
        "ComOut=nope&ComSend=Yes&Baud=9600",
    ] {
        assert_eq!(
            camera.post("/comport.cgi", ADMIN, form).status,
            400,
            "{form}"
        );
    }
    // Requests reach the port in order, so once this marker is there, nothing refused is.
    assert_eq!(
        camera
            .post("/comport.cgi", ADMIN, "ComOut=.&ComSend=Yes")
            .status,
        204
    );
    wait_for_serial(&camera, b"hello\r\na+b&c= d.");
}

#[test]
fn comport_refuses_more_than_a_request_may_carry_and_sends_none_of_it() {
    let camera = fast_camera();
    let too_long = format!("ComOut={}&ComSend=Yes", "%FF".repeat(MAX_REQUEST_BYTES + 1));
    let reply = camera.post("/comport.cgi", ADMIN, &too_long);
    assert_eq!(reply.status, 400, "{}", reply.text());
    let reason = reply.text();
    assert!(
        reason.contains("ComOut") && reason.contains(&MAX_REQUEST_BYTES.to_string()),
        "names the parameter and the limit: {reason}"
    );
    assert_eq!(reason.trim_end().lines().count(), 1, "one line: {reason}");

    let longest = "z".repeat(MAX_REQUEST_BYTES);
    let reply = camera.post(
        "/comport.cgi",
        ADMIN,
        &format!("ComOut={longest}&ComSend=Yes"),
    );
    assert_eq!(reply.status, 204, "{}", reply.text());
    wait_for_serial(&camera, longest.as_bytes());
}

#[test]
fn comport_sends_binary_frames_but_text_cgis_refuse_non_utf8_values() {
    let camera = fast_camera();
    // A Pelco-D "pan right" frame: 0xFF sync byte, address, commands, speeds, checksum.
    let reply = camera.post(
        "/comport.cgi",
        ADMIN,
        "ComOut=%FF%01%00%02%20%00%23&ComSend=Yes",
    );
    assert_eq!(reply.status, 204, "{}", reply.text());
    wait_for_serial(&camera, &[0xff, 0x01, 0x00, 0x02, 0x20, 0x00, 0x23]);

    let reply = camera.post("/system.cgi", ADMIN, "CameraName=%FF");
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("CameraName"), "{}", reply.text());
    let reply = camera.post("/iocontrol.cgi", ADMIN, "Trigger1=%FE");
    assert_eq!(reply.status, 400);
}

// ---------------------------------------------------------------------------------------
// /comport.cgi on a real termios port: a pseudo-terminal's slave is the camera's serial
// device, and its master is the peripheral at the other end of the wire.

/// A pseudo-terminal standing in for the serial line.
struct Wire {
    peripheral: File,
    device: PathBuf,
    /// Kept open so that the line exists however the daemon opens and closes it.
    _slave: OwnedFd,
}

impl Wire {
    fn new() -> Wire {
        let pair = nix::pty::openpty(None, None).expect("openpty");
        let device = nix::unistd::ttyname(&pair.slave).expect("the slave's path");
        Wire {
            peripheral: File::from(pair.master),
            device,
            _slave: pair.slave,
        }
    }

    /// A camera whose serial port is this line, through the termios backend at 115200 8N1.
    fn camera(&self) -> TestCamera {
        let device = self.device.clone();
        TestCamera::start_with(move |config| {
            fast(config);
            config.hal.serial = SerialBackendConfig::Termios(SerialConfig {
                device,
                baud: 115_200,
                ..SerialConfig::default()
            });
        })
    }

    /// Reads exactly `len` bytes at the peripheral's end, failing at the deadline.
    fn receive(&mut self, len: usize) -> Vec<u8> {
        let deadline = Instant::now() + DEADLINE;
        let mut received = Vec::with_capacity(len);
        let mut buf = [0u8; 4096];
        while received.len() < len {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fds = [PollFd::new(self.peripheral.as_fd(), PollFlags::POLLIN)];
            let ready = poll(
                &mut fds,
                PollTimeout::try_from(left).expect("a short deadline"),
            )
            .expect("poll the pty master");
            assert!(ready > 0, "timed out: received {received:?} of {len} bytes");
            let wanted = (len - received.len()).min(buf.len());
            let count = self.peripheral.read(&mut buf[..wanted]).expect("read");
            received.extend_from_slice(&buf[..count]);
        }
        received
    }
}

#[test]
fn comport_bytes_come_out_of_a_real_serial_line_unchanged() {
    let mut wire = Wire::new();
    let camera = wire.camera();
    let reply = camera.post("/comport.cgi", ADMIN, "ComOut=%FF%01%00&ComSend=Yes");
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(wire.receive(3), [0xff, 0x01, 0x00]);

    // A cooked tty would turn LF into CR LF, or eat the NUL.
    let reply = camera.get("/comport.cgi?ComOut=GOTO+3%0D%0A%00&ComSend=Yes", ADMIN);
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(wire.receive(9), b"GOTO 3\r\n\0");
}

#[test]
fn a_line_that_takes_nothing_gets_503_while_the_camera_keeps_answering() {
    let wire = Wire::new();
    let camera = wire.camera();
    let full_request = format!("ComOut={}&ComSend=Yes", "w".repeat(MAX_REQUEST_BYTES));
    // Nobody reads the line (flow control holding it, say): the pty's buffer fills, then the
    // port's queue, and then requests are refused at once instead of waiting for the line.
    let mut accepted = 0;
    let refused = loop {
        let reply = camera.post("/comport.cgi", ADMIN, &full_request);
        if reply.status != 204 {
            break reply;
        }
        accepted += 1;
        assert!(
            accepted < 4096,
            "a MiB queued for a line that takes nothing"
        );
    };
    assert_eq!(refused.status, 503, "{}", refused.text());
    let reason = refused.text();
    assert_eq!(reason.trim_end().lines().count(), 1, "one line: {reason}");
    io_status(&camera, ADMIN);

    // Once the peripheral reads again, the line drains and requests are taken again.
    let mut peripheral = wire.peripheral.try_clone().expect("clone the pty master");
    std::thread::spawn(move || {
        let mut sink = [0u8; 4096];
        while peripheral.read(&mut sink).is_ok_and(|count| count > 0) {}
    });
    common::wait_for("the serial port to take requests again", || {
        (camera.post("/comport.cgi", ADMIN, &full_request).status == 204).then_some(())
    });
}

// ---------------------------------------------------------------------------------------
// Who may do what (DESIGN.md)

#[test]
fn each_role_gets_exactly_what_the_design_allows() {
    let camera = fast_camera();
    add_user(&camera, VIEWER.unwrap(), 0);
    add_user(&camera, OPERATOR.unwrap(), 1);
    let mut stream = Mjpeg::open(&camera, VIEWER);
    let io = |who, form: &str| camera.post("/iocontrol.cgi", who, form);
    let denied = |reply: common::Reply, what: &str| {
        assert_eq!(reply.status, 401, "{what}");
        assert_eq!(
            reply.header("WWW-Authenticate"),
            Some("Basic realm=\"ipcam\""),
            "{what}"
        );
    };

    // Anonymous (access control is on by default): nothing at all.
    denied(
        camera.get("/iocontrol.cgi", None),
        "anonymous GET iocontrol",
    );
    denied(io(None, "ImageUpload=1"), "anonymous ImageUpload");
    denied(
        camera.post("/pantiltcontrol.cgi", None, "PanTiltSingleMove=5"),
        "anonymous pantilt",
    );
    denied(
        camera.post("/comport.cgi", None, "ComOut=x&ComSend=Yes"),
        "anonymous comport",
    );

    // Privilege 0: only reading the I/O status (and watching).
    io_status(&camera, VIEWER);
    denied(io(VIEWER, "ImageUpload=1"), "viewer ImageUpload");
    denied(io(VIEWER, "ImageEmail=1"), "viewer ImageEmail");
    denied(io(VIEWER, "Trigger1=1"), "viewer Trigger1");
    denied(
        camera.post(
            "/pantiltcontrol.cgi",
            VIEWER,
            "PanTiltHorizontal=0&PanTiltVertical=0&PanTiltPositionMove=true",
        ),
        "viewer pantilt",
    );
    denied(
        camera.get("/pantiltcontrol.cgi", VIEWER),
        "viewer bare pantilt",
    );
    denied(
        camera.post("/comport.cgi", VIEWER, "ComOut=x&ComSend=Yes"),
        "viewer comport",
    );

    // Privilege 1: pan/tilt, ImageUpload and ImageEmail; not the triggers or the port.
    io_status(&camera, OPERATOR);
    assert_eq!(io(OPERATOR, "ImageUpload=1").status, 204);
    assert_eq!(io(OPERATOR, "ImageEmail=1").status, 204);
    denied(io(OPERATOR, "Trigger1=1"), "operator Trigger1");
    denied(io(OPERATOR, "Trigger2=1"), "operator Trigger2");
    denied(io(OPERATOR, "ImageUpload=0&Trigger2=1"), "operator mixed");
    denied(
        camera.post("/comport.cgi", OPERATOR, "ComOut=x&ComSend=Yes"),
        "operator comport",
    );
    // The viewer's refused move did not happen: this step starts from home.
    assert_eq!(
        pantilt(
            &camera,
            OPERATOR,
            "PanSingleMoveDegree=4&PanTiltSingleMove=5"
        ),
        204
    );
    stream.until_at((HOME.0 + 4, HOME.1));

    // Nothing refused reached the hardware or the status.
    assert_eq!(io_bits(&camera), "0011", "ImageUpload and ImageEmail only");
    assert_eq!(line_state(&camera, TRIGGER1_LINE), (false, vec![]));
    assert_eq!(line_state(&camera, TRIGGER2_LINE), (false, vec![]));
    assert!(serial_written(&camera).is_empty());

    // The administrator: everything.
    assert_eq!(io(ADMIN, "Trigger1=1&Trigger2=1").status, 204);
    assert_eq!(io(ADMIN, "ImageUpload=0").status, 204);
    assert_eq!(
        camera
            .post("/comport.cgi", ADMIN, "ComOut=x&ComSend=Yes")
            .status,
        204
    );
    assert_eq!(pantilt(&camera, ADMIN, "PanTiltPresetPositionMove=0"), 204);
    stream.until_at(HOME);
    assert_eq!(io_bits(&camera), "1101");
    // Requests reach the port in order: had a refused one been sent, it would come before.
    wait_for_serial(&camera, b"x");
}

#[test]
fn a_factory_reset_forgets_the_presets() {
    let camera = fast_camera();
    let set = "SetPosition=3&SetName=Gate&PanTiltHorizontal=10&PanTiltVertical=10";
    assert_eq!(pantilt(&camera, ADMIN, set), 204);
    let reply = camera.post("/reset.cgi", ADMIN, "FactoryReset=Yes");
    assert_eq!(reply.status, 204, "{}", reply.text());
    // The reset is carried out after its answer; the administrator keeps the shipped password.
    common::wait_for("preset 3 to be forgotten", || {
        (pantilt(&camera, ADMIN, "PanTiltPresetPositionMove=3") == 400).then_some(())
    });
}
