//! Motion detection and alarm inputs through the daemon, against real FTP and SMTP servers
//! on 127.0.0.1: an object moving through a replayed clip (rendered by ffmpeg for the test)
//! and an edge on a simulated alarm input each put the event's frames on the FTP server and
//! in one e-mail, switch Trigger1 for a while, and show in `/eventlog.cgi` and on
//! `/iocontrol.cgi`; a second event inside `EventInterval` is not raised; while the
//! pan-tilt head turns, the object crossing the picture is not motion. `/motion.cgi`
//! refuses bad settings whole and keeps its table across a restart and until a factory
//! reset. (The detector's own behaviour on each kind of clip is tested in
//! `crates/motion/tests/clips.rs`.)

mod common;

use common::{
    form, jpeg_size, table, value_of, wait_for, MjpegStream, TestCamera, ADMIN, DEADLINE,
};
use ipcam_hal::{Gpio, LineConfig};
use ipcam_testkit::clips::{render, Scene};
use ipcam_testkit::{ftp, smtp};
use mail_parser::{MessageParser, MimeHeaders};

/// Frames from before an event, and after it, that the camera is configured to deliver.
const PRE: usize = 2;
const POST: usize = 3;
/// Line number of the simulated alarm input 1.
const INPUT1_LINE: u32 = 5;

/// Points `/upload.cgi` and `/email.cgi` at the test servers (no schedule, no manual
/// switch: only events send anything).
fn deliver_to(camera: &TestCamera, ftp: &ftp::Server, smtp: &smtp::Sink) {
    let upload = format!(
        "FTPHostAddress=127.0.0.1&FTPPortNumber={}&FTPUserName={}&FTPPassword={}\
         &FTPDirectoryPath=/events&FTPManualBaseFileName=event&FTPManualFileMode=2",
        ftp.port,
        ftp::USER,
        ftp::PASSWORD
    );
    let set = camera.post("/upload.cgi", ADMIN, &upload);
    assert_eq!(set.status, 200, "{}", set.text());
    let email = format!(
        "EmailSMTPServerAddress=127.0.0.1&EmailSMTPPortNumber={}\
         &EmailSenderAddress=camera@example.com&EmailReceiverAddress=owner@example.com",
        smtp.port
    );
    let set = camera.post("/email.cgi", ADMIN, &email);
    assert_eq!(set.status, 200, "{}", set.text());
}

fn set_motion(camera: &TestCamera, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let reply = camera.post("/motion.cgi", ADMIN, &form(pairs));
    assert_eq!(reply.status, 200, "{}", reply.text());
    table(&reply)
}

/// The extension fields of GET `/iocontrol.cgi`'s line, and Trigger1.
fn io_field(camera: &TestCamera, name: &str) -> String {
    let line = camera.get("/iocontrol.cgi", ADMIN).text();
    line.trim_end()
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} missing in {line:?}"))
        .to_owned()
}

/// `(time, source)` of each logged event, newest first.
fn event_log(camera: &TestCamera) -> Vec<(String, String)> {
    let reply = camera.get("/eventlog.cgi", ADMIN);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let rows = table(&reply);
    let count: usize = value_of(&rows, "EventCount")
        .and_then(|n| n.parse().ok())
        .expect("EventCount");
    assert_eq!(rows.len(), count + 1, "{rows:?}");
    rows[1..]
        .iter()
        .enumerate()
        .map(|(n, (name, value))| {
            assert_eq!(name, &format!("Event{}", n + 1));
            let (time, source) = value.rsplit_once(' ').expect("time and source");
            assert_eq!(time.len(), "yyyy-mm-dd hh:mm:ss".len(), "{value}");
            (time.to_owned(), source.to_owned())
        })
        .collect()
}

/// The event's frames arrive as PRE + POST files and as one e-mail with as many JPEG
/// attachments, each a real 640×480 picture.
fn assert_event_delivered(ftp: &ftp::Server, smtp: &smtp::Sink, source: &str) {
    let files = wait_for("the event's frames on the FTP server", || {
        let files = ftp.files();
        let whole = files.iter().all(|name| name.ends_with(".jpg"));
        (files.len() >= PRE + POST && whole).then_some(files)
    });
    let expected: Vec<String> = (1..=PRE + POST)
        .map(|n| format!("events/event{n:04}.jpg"))
        .collect();
    assert_eq!(files, expected);
    for file in &files {
        assert_eq!(jpeg_size(&ftp.read(file)), Some((640, 480)), "{file}");
    }
    let mail = wait_for("the event's e-mail", || smtp.messages().into_iter().next());
    let message = MessageParser::default()
        .parse(&mail.data)
        .expect("a MIME message");
    let subject = message.subject().unwrap_or_default();
    assert!(subject.contains(&format!("{source} event")), "{subject}");
    assert_eq!(message.attachment_count(), PRE + POST);
    for attachment in message.attachments() {
        assert!(attachment.is_content_type("image", "jpeg"));
        assert_eq!(jpeg_size(attachment.contents()), Some((640, 480)));
    }
}

#[test]
fn motion_in_a_replayed_clip_delivers_one_event_per_interval() {
    let clip = tempfile::tempdir().expect("clip directory");
    let enter_frame = 31;
    render(Scene::ObjectEnters { enter_frame }, 3.0, clip.path())
        .unwrap_or_else(|why| panic!("{why}"));
    let (ftp, smtp) = (ftp::Server::start(), smtp::Sink::start());
    let camera = TestCamera::start_with(|config| {
        config.capture.source = format!("replay:{}", clip.path().display());
        config.events.pre_event_frames = PRE as u32;
        config.events.post_event_frames = POST as u32;
    });
    deliver_to(&camera, &ftp, &smtp);
    assert_eq!(io_field(&camera, "Motion"), "0");
    let shown = set_motion(
        &camera,
        &[
            ("MotionDetectionEnable", "1"),
            ("MotionDetectionSensitivity", "60"),
            ("EventUpload", "1"),
            ("EventEmail", "1"),
            ("EventTrigger", "1"),
            ("EventTriggerSeconds", "3"),
            ("EventInterval", "3600"),
        ],
    );
    assert_eq!(value_of(&shown, "MotionDetectionEnable"), Some("1"));

    wait_for("Motion=1 on /iocontrol.cgi", || {
        (io_field(&camera, "Motion") == "1").then_some(())
    });
    assert_eq!(
        io_field(&camera, "Trigger1"),
        "1",
        "switched on by the event"
    );
    assert_event_delivered(&ftp, &smtp, "motion");
    wait_for("Trigger1 off after EventTriggerSeconds", || {
        (io_field(&camera, "Trigger1") == "0").then_some(())
    });

    // The clip loops: the object leaves, motion ends, the object enters again.
    wait_for("motion to end", || {
        (io_field(&camera, "Motion") == "0").then_some(())
    });
    wait_for("motion to start again", || {
        (io_field(&camera, "Motion") == "1").then_some(())
    });
    let log = event_log(&camera);
    assert_eq!(
        log.len(),
        1,
        "the second motion is inside EventInterval: {log:?}"
    );
    assert_eq!(log[0].1, "motion");
    assert_eq!(ftp.files().len(), PRE + POST);
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(io_field(&camera, "Trigger1"), "0");
}

/// The pan of the `PT_ppp_ttt` stamp of a stream part.
fn pan_of(stream: &mut MjpegStream) -> u16 {
    let date = stream.next_part().date;
    let pt = date.rsplit_once("_PT_").expect("the spec's stamp").1;
    pt[..3].parse().expect("three digits")
}

/// Turns the head to `pan` and, frame by frame until it is there, checks that no event
/// was raised, although the object of the clip keeps moving in the picture.
fn turn_watching_the_log(camera: &TestCamera, stream: &mut MjpegStream, pan: u16) {
    let go = camera.get(
        &format!("/pantiltcontrol.cgi?PanTiltHorizontal={pan}&PanTiltVertical=45&PanTiltPositionMove=true"),
        ADMIN,
    );
    assert_eq!(go.status, 204, "{}", go.text());
    let deadline = std::time::Instant::now() + DEADLINE;
    let mut frames = 0;
    while pan_of(stream) != pan {
        assert!(
            std::time::Instant::now() < deadline,
            "the head never reached pan {pan}"
        );
        frames += 1;
        if frames % 10 == 0 {
            assert_eq!(
                event_log(camera),
                [],
                "motion reported while the head turns"
            );
        }
    }
}

#[test]
fn motion_is_not_reported_while_the_head_turns() {
    let clip = tempfile::tempdir().expect("clip directory");
    render(Scene::ObjectEnters { enter_frame: 31 }, 3.0, clip.path())
        .unwrap_or_else(|why| panic!("{why}"));
    let camera = TestCamera::start_with(|config| {
        config.capture.source = format!("replay:{}", clip.path().display());
    });
    let mut stream = MjpegStream::open(camera.addr, ADMIN);
    // Home is pan 170: to 0 and on to 340 is about 8 s of turning at 60°/s, more than
    // two loops of the clip, each with the object crossing for 2 s.
    set_motion(
        &camera,
        &[("MotionDetectionEnable", "1"), ("EventInterval", "1")],
    );
    turn_watching_the_log(&camera, &mut stream, 0);
    turn_watching_the_log(&camera, &mut stream, 340);
    // Still again: after the settling time the next crossing is motion.
    let log = wait_for("motion once the head rests", || {
        let log = event_log(&camera);
        (!log.is_empty()).then_some(log)
    });
    assert_eq!(log[0].1, "motion");
}

#[test]
fn an_alarm_input_edge_delivers_an_event() {
    let (ftp, smtp) = (ftp::Server::start(), smtp::Sink::start());
    let camera = TestCamera::start_with(|config| {
        config.hal.trigger1_input = Some(LineConfig::new(INPUT1_LINE));
        config.events.pre_event_frames = PRE as u32;
        config.events.post_event_frames = POST as u32;
    });
    deliver_to(&camera, &ftp, &smtp);
    set_motion(
        &camera,
        &[
            ("EventUpload", "1"),
            ("EventEmail", "1"),
            ("EventInterval", "3600"),
        ],
    );
    let Gpio::Sim(gpio) = camera.daemon().gpio() else {
        panic!("the sim GPIO backend is the default");
    };
    let input = gpio.probe_input(INPUT1_LINE).expect("input 1 is requested");
    assert_eq!(io_field(&camera, "Input1"), "0");
    input.set(true);
    wait_for("Input1=1", || {
        (io_field(&camera, "Input1") == "1").then_some(())
    });
    assert_event_delivered(&ftp, &smtp, "input1");
    let log = event_log(&camera);
    assert_eq!(
        log.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(),
        ["input1"]
    );

    // Released and pressed again inside EventInterval: seen, but no second event.
    input.set(false);
    wait_for("Input1=0", || {
        (io_field(&camera, "Input1") == "0").then_some(())
    });
    input.set(true);
    wait_for("Input1=1 again", || {
        (io_field(&camera, "Input1") == "1").then_some(())
    });
    assert_eq!(event_log(&camera).len(), 1);
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn bad_motion_settings_are_refused_whole_and_name_the_parameter() {
    let camera = TestCamera::start();
    let before = camera.get("/motion.cgi", ADMIN).text();
    for (body, blamed) in [
        (
            "MotionDetectionEnable=1&MotionDetectionSensitivity=101",
            "MotionDetectionSensitivity",
        ),
        ("MotionDetectionEnable=1&MotionMask=FFFF,FFFF", "MotionMask"),
        (
            "MotionMask=FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,XFFF",
            "MotionMask",
        ),
        ("MotionDetectionEnable=2", "MotionDetectionEnable"),
        (
            "EventTrigger=1&EventTriggerSeconds=0",
            "EventTriggerSeconds",
        ),
        ("MotionDetectionEnable=1&Motion=1", "Motion"),
    ] {
        let reply = camera.post("/motion.cgi", ADMIN, body);
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        assert!(reply.text().starts_with(blamed), "{body}: {}", reply.text());
    }
    assert_eq!(camera.get("/motion.cgi", ADMIN).text(), before);
    assert_eq!(io_field(&camera, "Motion"), "0");
}

/// Home-automation drivers of D-Link DCS cameras arm and disarm motion detection this way
/// and read the body's third line as the sensitivity.
#[test]
fn a_dlink_drivers_arm_request_works() {
    let camera = TestCamera::start();
    let reply = camera.get("/motion.cgi?MotionDetectionEnable=1&ConfigReboot=no", ADMIN);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.text();
    assert!(body.contains("MotionDetectionEnable=1\r\n"), "{body}");
    let third = body.lines().nth(2).expect("three lines");
    assert_eq!(third, "MotionDetectionSensitivity=50");
    let reply = camera.get("/motion.cgi?MotionDetectionEnable=0&ConfigReboot=No", ADMIN);
    assert!(reply.text().starts_with("MotionDetectionEnable=0\r\n"));
}

#[test]
fn motion_cgi_is_for_the_admin_and_the_event_log_for_viewers() {
    let camera = TestCamera::start();
    let viewer = camera.post(
        "/userlist.cgi",
        ADMIN,
        "UserAdd=Yes&UserName=ann&UserPassword=pw&UserPrivilege=0",
    );
    assert_eq!(viewer.status, 200, "{}", viewer.text());
    let ann = Some(("ann", "pw"));
    assert_eq!(camera.get("/motion.cgi", ann).status, 401);
    assert_eq!(camera.get("/motion.cgi", None).status, 401);
    assert_eq!(camera.get("/eventlog.cgi", None).status, 401);
    let log = camera.get("/eventlog.cgi", ann);
    assert_eq!(
        (log.status, log.text()),
        (200, "EventCount=0\r\n".to_owned())
    );
    assert_eq!(camera.get("/eventlog.cgi?Count=3", ann).status, 400);
}

#[test]
fn the_mask_survives_a_restart_and_a_factory_reset_restores_it() {
    let state = tempfile::tempdir().expect("state directory");
    let mask = "0000,0000,0FF0,0FF0,0FF0,0000,0000,0000,0000,0000,0000,0000";
    let typed = mask.to_lowercase().replace(',', " , ");
    let mut camera = TestCamera::start_in(state.path(), |_| {});
    let shown = set_motion(
        &camera,
        &[
            ("MotionDetectionEnable", "1"),
            ("MotionMask", &typed),
            ("MotionDetectionSensitivity", "77"),
        ],
    );
    assert_eq!(value_of(&shown, "MotionMask"), Some(mask));
    camera.stop();

    let camera = TestCamera::start_in(state.path(), |_| {});
    let shown = table(&camera.get("/motion.cgi", ADMIN));
    assert_eq!(value_of(&shown, "MotionMask"), Some(mask));
    assert_eq!(value_of(&shown, "MotionDetectionSensitivity"), Some("77"));
    assert_eq!(value_of(&shown, "MotionDetectionEnable"), Some("1"));

    let reset = camera.post("/reset.cgi", ADMIN, "FactoryReset=Yes");
    assert_eq!(reset.status, 204);
    let shown = table(&camera.get("/motion.cgi", ADMIN));
    assert_eq!(
        value_of(&shown, "MotionMask"),
        Some("FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF,FFFF")
    );
    assert_eq!(value_of(&shown, "MotionDetectionEnable"), Some("0"));
    assert_eq!(value_of(&shown, "MotionDetectionSensitivity"), Some("50"));
}
