//! What the workers log while servers fail: one warning per episode with the reason, a
//! line on recovery, and never a password. One test in its own binary, since the logger
//! is process-wide.

mod common;

use std::time::Duration;

use common::{utc, wait_for, Camera};
use ipcam_api::{CameraTimeZone, EmailConfig, UploadConfig};
use ipcam_events::{EmailSettings, Events, ManualClock, UploadSettings};
use ipcam_testkit::free_port;
use ipcam_testkit::ftp::{Server, USER};
use ipcam_testkit::log_capture;
use ipcam_testkit::smtp::{self, Sink};
use log::Level;

const FTP_PASSWORD: &str = "ftp-Pa55word";
const MAIL_PASSWORD: &str = smtp::PASSWORD;
const LIMIT: Duration = Duration::from_secs(10);

fn lines(level: Level, containing: &str) -> usize {
    log_capture::count(level, &[containing])
}

#[test]
fn failures_are_logged_once_per_episode_without_secrets() {
    log_capture::capture("ipcam_events");

    let camera = Camera::new();
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    let ftp_port = free_port();
    let smtp_port = free_port();
    let upload = UploadConfig {
        host: "127.0.0.1".into(),
        port: ftp_port,
        user_name: USER.into(),
        password: FTP_PASSWORD.into(),
        schedule_enable: 1,
        video_frequency_mode: 1,
        seconds_per_frame: 1,
        ..UploadConfig::default()
    };
    let email = EmailConfig {
        smtp_server: "127.0.0.1".into(),
        smtp_port,
        receiver: "owner@example.com".into(),
        user_name: smtp::USER.into(),
        password: MAIL_PASSWORD.into(),
        schedule_enable: 1,
        schedule_interval: 1,
        ..EmailConfig::default()
    };
    let events = Events::spawn(camera.reader(), clock.clone()).expect("workers start");
    events.update(
        UploadSettings::try_from(&upload).expect("valid"),
        EmailSettings::from_config(&email, "cam").expect("valid"),
        CameraTimeZone::default(),
    );

    for failures in 1..=3 {
        wait_for("another failure of each", LIMIT, || {
            (events.upload_stats().failed >= failures && events.email_stats().failed >= failures)
                .then_some(())
        });
        clock.advance(Duration::from_secs(60));
    }
    assert_eq!(lines(Level::Warn, "FTP upload to ftp://127.0.0.1"), 1);
    assert_eq!(lines(Level::Warn, "e-mail to smtp://127.0.0.1"), 1);
    assert_eq!(
        lines(Level::Warn, "server unreachable"),
        2,
        "the reason is given"
    );

    // The FTP server comes up but refuses the password: a new episode of another kind.
    let server = Server::start_on(ftp_port);
    let before = events.upload_stats().failed;
    clock.advance(Duration::from_secs(60));
    wait_for("the refused login", LIMIT, || {
        (events.upload_stats().failed > before).then_some(())
    });
    assert_eq!(lines(Level::Warn, "login rejected"), 1);

    let sink = Sink::start_on(smtp_port);
    clock.advance(Duration::from_secs(60));
    wait_for("the e-mail", LIMIT, || {
        (!sink.messages().is_empty()).then_some(())
    });
    wait_for("the recovery line", LIMIT, || {
        (lines(Level::Info, "e-mail to smtp://127.0.0.1") == 1).then_some(())
    });
    drop(events);
    drop(server);

    assert!(!log_capture::lines_with("").is_empty());
    for secret in [FTP_PASSWORD, MAIL_PASSWORD] {
        assert_eq!(log_capture::lines_with(secret), Vec::<String>::new());
    }
}
