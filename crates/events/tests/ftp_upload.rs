//! FTP upload against a real FTP server (libunftp) on 127.0.0.1: file names of each file
//! mode in passive and active mode, nested directories created, where a file sequence
//! continues after a restart (with and without `MLSD` on the server), schedules in the
//! camera's time zone with a controllable clock, the manual switch, and recovery from a
//! dead server, a full disk and a wrong password.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::NaiveTime;
use common::{assert_jpeg, utc, wait_for, Camera};
use ipcam_api::{CameraTimeZone, EmailConfig, UploadConfig};
use ipcam_events::{EmailSettings, Events, FailureKind, ManualClock, UploadSettings};
use ipcam_testkit::free_port;
use ipcam_testkit::ftp::{Server, PASSWORD, USER};

const LIMIT: Duration = Duration::from_secs(10);

/// Uploads every 10 s, always on, to `/<directory>` of the server.
fn config(port: u16, directory: &str, passive: bool, file_mode: u8) -> UploadConfig {
    UploadConfig {
        host: "127.0.0.1".into(),
        port,
        user_name: USER.into(),
        password: PASSWORD.into(),
        directory: directory.into(),
        passive: u8::from(passive),
        schedule_enable: 1,
        schedule_mode: 0,
        video_frequency_mode: 1,
        seconds_per_frame: 10,
        schedule_base_file_name: "cam".into(),
        schedule_file_mode: file_mode,
        schedule_max_sequence: 2,
        ..UploadConfig::default()
    }
}

fn start(
    camera: &Arc<Camera>,
    clock: &ManualClock,
    upload: &UploadConfig,
    zone: CameraTimeZone,
) -> Events {
    let events = Events::spawn(camera.reader(), clock.clone()).expect("workers start");
    let settings = UploadSettings::try_from(upload).expect("valid settings");
    events.update(settings, EmailSettings::default(), zone);
    events
}

fn delivered(events: &Events, count: u64) {
    wait_for(&format!("{count} uploads"), LIMIT, || {
        (events.upload_stats().delivered >= count).then_some(())
    });
}

#[test]
fn each_file_mode_names_files_in_passive_and_active_mode() {
    let camera = Camera::new();
    for passive in [true, false] {
        for (file_mode, expected) in [
            (0, vec!["cam.jpg"]),
            (
                1,
                vec![
                    "cam20240603_120000.jpg",
                    "cam20240603_120010.jpg",
                    "cam20240603_120020.jpg",
                ],
            ),
            (2, vec!["cam0001.jpg", "cam0002.jpg"]),
        ] {
            let server = Server::start_only(passive);
            let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
            let upload = config(server.port, "/snapshots/front/door", passive, file_mode);
            let events = start(&camera, &clock, &upload, CameraTimeZone::default());
            delivered(&events, 1);
            for round in 2..=3 {
                camera.capture();
                clock.advance(Duration::from_secs(10));
                delivered(&events, round);
            }
            let expected: Vec<String> = expected
                .iter()
                .map(|name| format!("snapshots/front/door/{name}"))
                .collect();
            assert_eq!(
                server.files(),
                expected,
                "passive={passive} mode={file_mode}"
            );
            for file in &expected {
                assert_jpeg(&server.read(file), 160, 120);
            }
            let newest = camera.reader().latest().expect("a frame");
            let last_written = match file_mode {
                2 => "snapshots/front/door/cam0001.jpg", // the third upload wrapped to 1
                _ => expected.last().map(String::as_str).unwrap_or_default(),
            };
            assert_eq!(server.read(last_written), newest.jpeg());
            assert_eq!(events.upload_stats().failed, 0);
        }
    }
}

#[test]
fn schedule_follows_days_and_times_in_the_camera_zone() {
    let camera = Camera::new();
    let server = Server::start();
    // The camera is at UTC+1: its 08:00 is 07:00 UTC.
    let zone = CameraTimeZone::from_setting(0, 1);
    let clock = ManualClock::new(utc((2024, 6, 3), (6, 59, 50)));
    let upload = UploadConfig {
        schedule_mode: 1,
        schedule_day: 0b000_0010, // Monday
        schedule_start: NaiveTime::from_hms_opt(8, 0, 0).expect("valid"),
        schedule_stop: NaiveTime::from_hms_opt(8, 0, 20).expect("valid"),
        ..config(server.port, "", true, 1)
    };
    let events = start(&camera, &clock, &upload, zone);
    assert!(!events.upload_active());

    clock.advance(Duration::from_secs(10)); // Monday 08:00:00 camera time
    delivered(&events, 1);
    assert!(events.upload_active());
    clock.advance(Duration::from_secs(10));
    delivered(&events, 2);
    clock.advance(Duration::from_secs(10)); // 08:00:20, the last second of the window
    delivered(&events, 3);
    clock.advance(Duration::from_secs(10));
    wait_for("the window to close", LIMIT, || {
        (!events.upload_active()).then_some(())
    });

    clock.set_now(utc((2024, 6, 4), (7, 0, 5))); // Tuesday 08:00:05: not a scheduled day
    clock.set_now(utc((2024, 6, 10), (7, 0, 5))); // next Monday 08:00:05
    delivered(&events, 4);
    assert_eq!(
        server.files(),
        [
            "cam20240603_080000.jpg",
            "cam20240603_080010.jpg",
            "cam20240603_080020.jpg",
            "cam20240610_080005.jpg",
        ]
    );
}

#[test]
fn manual_upload_runs_while_switched_on_with_its_own_names() {
    let camera = Camera::new();
    let server = Server::start();
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    let upload = UploadConfig {
        schedule_enable: 0,
        manual_enable: 1,
        manual_base_file_name: "manual".into(),
        manual_file_mode: 2,
        manual_max_sequence: 100,
        video_frequency_mode: 0,
        frames_per_second: "2".into(),
        ..config(server.port, "pushed", true, 0)
    };
    let events = start(&camera, &clock, &upload, CameraTimeZone::default());
    assert!(!events.upload_active());

    events.set_manual_upload(true);
    assert!(events.manual_upload());
    delivered(&events, 1);
    assert!(events.upload_active());
    clock.advance(Duration::from_millis(500));
    delivered(&events, 2);

    events.set_manual_upload(false);
    wait_for("manual upload to stop", LIMIT, || {
        (!events.upload_active()).then_some(())
    });
    clock.advance(Duration::from_secs(5));
    events.set_manual_upload(true);
    delivered(&events, 3);
    assert_eq!(
        server.files(),
        [
            "pushed/manual0001.jpg",
            "pushed/manual0002.jpg",
            "pushed/manual0003.jpg"
        ]
    );
}

#[test]
fn a_restarted_camera_continues_the_sequence_found_on_the_server() {
    let camera = Camera::new();
    let server = Server::start();
    let folder = server.root.path().join("seq");
    std::fs::create_dir(&folder).expect("folder");
    for earlier in [
        "cam0001.jpg",
        "cam0003.jpg",
        "cam0003.jpg.part",
        "door0007.jpg",
    ] {
        std::fs::write(folder.join(earlier), b"earlier").expect("earlier file");
    }
    let upload = UploadConfig {
        schedule_max_sequence: 9,
        ..config(server.port, "seq", true, 2)
    };
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    for (run, expected) in [(1, "seq/cam0004.jpg"), (2, "seq/cam0005.jpg")] {
        let events = start(&camera, &clock, &upload, CameraTimeZone::default());
        delivered(&events, 1);
        assert!(
            server.files().iter().any(|f| f == expected),
            "run {run}: {:?}",
            server.files()
        );
        assert_jpeg(&server.read(expected), 160, 120);
        drop(events);
        camera.capture();
    }
}

/// Writes `files` into `folder` with the given modification times, in seconds before now.
fn earlier_files(folder: &Path, files: &[(&str, u64)]) {
    std::fs::create_dir_all(folder).expect("folder");
    let now = SystemTime::now();
    for &(name, age) in files {
        let mut file = std::fs::File::create(folder.join(name)).expect("earlier file");
        file.write_all(b"earlier").expect("earlier content");
        file.set_modified(now - Duration::from_secs(age))
            .expect("modification time");
    }
}

/// Uploads once to `server` with sequence maximum `max` and says which file changed.
fn first_upload_after_restart(server: &Server, max: u16, passive: bool) -> Vec<String> {
    let camera = Camera::new();
    let upload = UploadConfig {
        schedule_max_sequence: max,
        ..config(server.port, "seq", passive, 2)
    };
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    let events = start(&camera, &clock, &upload, CameraTimeZone::default());
    delivered(&events, 1);
    drop(events);
    let written: Vec<String> = server
        .files()
        .into_iter()
        .filter(|file| server.read(file) != b"earlier")
        .collect();
    for file in &written {
        assert_jpeg(&server.read(file), 160, 120);
    }
    written
}

#[test]
fn a_wrapped_sequence_continues_after_the_newest_file_not_the_highest_number() {
    let scenarios: [(&[(&str, u64)], &str); 2] = [
        (
            // 1..5 written, then 1..3 again: 3 is newest, 4 oldest.
            &[
                ("cam0004.jpg", 80),
                ("cam0005.jpg", 70),
                ("cam0001.jpg", 60),
                ("cam0002.jpg", 50),
                ("cam0003.jpg", 40),
            ],
            "seq/cam0004.jpg",
        ),
        (
            // 5 and then 1 written in the same second, the newest.
            &[
                ("cam0002.jpg", 80),
                ("cam0003.jpg", 70),
                ("cam0004.jpg", 60),
                ("cam0005.jpg", 50),
                ("cam0001.jpg", 50),
            ],
            "seq/cam0002.jpg",
        ),
    ];
    for (files, expected) in scenarios {
        let server = Server::start();
        earlier_files(&server.root.path().join("seq"), files);
        assert_eq!(
            first_upload_after_restart(&server, 5, true),
            [expected],
            "{files:?}"
        );
    }
}

#[test]
fn without_mlsd_a_sequence_continues_after_the_highest_number() {
    for (server, passive) in [
        (Server::start_without_mlsd(), true),
        (Server::start_without_mlsd(), false),
        (Server::start_refusing_mlsd(), true),
    ] {
        // 1 is the newest file, but without modification times only the numbers count.
        earlier_files(
            &server.root.path().join("seq"),
            &[("cam0003.jpg", 60), ("cam0001.jpg", 10)],
        );
        assert_eq!(
            first_upload_after_restart(&server, 9, passive),
            ["seq/cam0004.jpg"],
            "passive={passive}"
        );
    }
}

#[test]
fn a_dead_server_is_retried_with_back_off_until_it_comes_up() {
    let camera = Camera::new();
    let port = free_port();
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    let events = start(
        &camera,
        &clock,
        &config(port, "/up", true, 0),
        CameraTimeZone::default(),
    );

    wait_for("the first failure", LIMIT, || {
        (events.upload_stats().failed >= 1).then_some(())
    });
    let stats = events.upload_stats();
    assert_eq!(
        stats.last_error.map(|e| e.kind),
        Some(FailureKind::Unreachable)
    );
    assert!(stats.active, "retrying is still an active period");
    clock.advance(Duration::from_secs(1));
    wait_for("the second failure", LIMIT, || {
        (events.upload_stats().failed >= 2).then_some(())
    });

    let server = Server::start_on(port);
    clock.advance(Duration::from_secs(2));
    delivered(&events, 1);
    assert_eq!(server.files(), ["up/cam.jpg"]);
    assert_eq!(events.upload_stats().failed, 2);
}

#[test]
fn a_full_disk_and_a_wrong_password_are_reported_and_recovered_from() {
    let camera = Camera::new();
    let server = Server::start();
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    server.set_full(true);
    let upload = config(server.port, "/", true, 1);
    let events = start(&camera, &clock, &upload, CameraTimeZone::default());
    wait_for("the disk-full failure", LIMIT, || {
        let error = events.upload_stats().last_error?;
        assert_eq!(error.kind, FailureKind::ServerFull, "{error}");
        assert!(error.detail.contains("452"), "{error}");
        Some(())
    });
    server.set_full(false);
    clock.advance(Duration::from_secs(1));
    delivered(&events, 1);
    assert_eq!(
        server.files(),
        ["cam20240603_120001.jpg"],
        "no half file left"
    );

    let wrong = UploadConfig {
        password: "not-the-password".into(),
        ..upload.clone()
    };
    events.update(
        UploadSettings::try_from(&wrong).expect("valid"),
        EmailSettings::from_config(&EmailConfig::default(), "cam").expect("valid"),
        CameraTimeZone::default(),
    );
    wait_for("the login failure", LIMIT, || {
        let stats = events.upload_stats();
        (stats.failed == 2).then_some(())?;
        assert_eq!(
            stats.last_error.map(|e| e.kind),
            Some(FailureKind::LoginRejected)
        );
        Some(())
    });
    events.update(
        UploadSettings::try_from(&upload).expect("valid"),
        EmailSettings::default(),
        CameraTimeZone::default(),
    );
    delivered(&events, 2);
}
