//! E-mail against an SMTP sink on 127.0.0.1: a well-formed MIME message whose JPEG
//! attachment decodes, the login, the schedule interval and the manual switch with a
//! controllable clock, and recovery from a refused login, a full server and a dead one.

mod common;

use std::time::Duration;

use common::{assert_jpeg, utc, wait_for, Camera};
use ipcam_api::{CameraTimeZone, EmailConfig};
use ipcam_events::{EmailSettings, Events, FailureKind, ManualClock, UploadSettings};
use ipcam_testkit::free_port;
use ipcam_testkit::smtp::{Sink, PASSWORD, USER};
use mail_parser::{MessageParser, MimeHeaders};

const LIMIT: Duration = Duration::from_secs(10);

/// E-mails every 60 s, always on, with a login.
fn config(port: u16) -> EmailConfig {
    EmailConfig {
        smtp_server: "127.0.0.1".into(),
        smtp_port: port,
        sender: "cam@example.com".into(),
        receiver: "owner@example.com".into(),
        user_name: USER.into(),
        password: PASSWORD.into(),
        schedule_enable: 1,
        schedule_mode: 0,
        schedule_interval: 60,
        ..EmailConfig::default()
    }
}

fn start(camera: &Camera, clock: &ManualClock, email: &EmailConfig) -> Events {
    let events = Events::spawn(camera.reader(), clock.clone()).expect("workers start");
    configure(&events, email);
    events
}

fn configure(events: &Events, email: &EmailConfig) {
    let settings = EmailSettings::from_config(email, "Front door").expect("valid settings");
    events.update(
        UploadSettings::default(),
        settings,
        CameraTimeZone::default(),
    );
}

fn received(sink: &Sink, count: usize) {
    wait_for(&format!("{count} e-mails"), LIMIT, || {
        (sink.messages().len() >= count).then_some(())
    });
}

fn subjects(sink: &Sink) -> Vec<String> {
    sink.messages()
        .iter()
        .map(|m| {
            let parsed = MessageParser::default().parse(&m.data).expect("parses");
            parsed.subject().unwrap_or_default().to_owned()
        })
        .collect()
}

#[test]
fn a_snapshot_arrives_as_a_mime_message_with_a_jpeg_attachment() {
    let camera = Camera::new();
    let sink = Sink::start();
    sink.require_login();
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    let events = start(&camera, &clock, &config(sink.port));
    received(&sink, 1);

    let mail = &sink.messages()[0];
    assert_eq!(mail.from, "cam@example.com");
    assert_eq!(mail.to, ["owner@example.com"]);
    assert_eq!(mail.authenticated_as.as_deref(), Some(USER));
    let message = MessageParser::default()
        .parse(&mail.data)
        .expect("a parsable message");
    let root_type = message.root_part().content_type().expect("content type");
    assert_eq!(
        (root_type.ctype(), root_type.subtype()),
        ("multipart", Some("mixed"))
    );
    assert_eq!(
        message.subject(),
        Some("Front door: snapshot 2024-06-03 12:00:00")
    );
    assert_eq!(
        message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("cam@example.com")
    );
    let text = message.body_text(0).expect("a text part");
    assert!(
        text.contains("Front door") && text.contains("2024-06-03 12:00:00"),
        "{text}"
    );

    assert_eq!(message.attachment_count(), 1);
    let attachment = message.attachment(0).expect("the attachment");
    assert!(attachment.is_content_type("image", "jpeg"));
    assert_eq!(
        attachment.attachment_name(),
        Some("snapshot_20240603_120000.jpg")
    );
    assert_eq!(attachment.content_transfer_encoding(), Some("base64"));
    assert_jpeg(attachment.contents(), 160, 120);
    let frame = camera.reader().latest().expect("a frame");
    assert_eq!(attachment.contents(), frame.jpeg());
    // The sink has the message before the worker has read the final reply and counted it.
    wait_for("the delivery to be counted", LIMIT, || {
        (events.email_stats().delivered == 1).then_some(())
    });
}

#[test]
fn scheduled_mail_keeps_its_interval() {
    let camera = Camera::new();
    let sink = Sink::start();
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    let events = start(&camera, &clock, &config(sink.port));
    received(&sink, 1);
    assert!(events.email_active());
    clock.advance(Duration::from_secs(59));
    clock.advance(Duration::from_secs(1));
    received(&sink, 2);
    assert_eq!(
        subjects(&sink),
        [
            "Front door: snapshot 2024-06-03 12:00:00",
            "Front door: snapshot 2024-06-03 12:01:00",
        ]
    );
}

#[test]
fn manual_mail_runs_at_its_interval_while_switched_on() {
    let camera = Camera::new();
    let sink = Sink::start();
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    let email = EmailConfig {
        schedule_enable: 0,
        manual_enable: 1,
        manual_interval: 5,
        ..config(sink.port)
    };
    let events = start(&camera, &clock, &email);
    assert!(!events.email_active());
    events.set_manual_email(true);
    assert!(events.manual_email());
    received(&sink, 1);
    assert!(events.email_active());
    clock.advance(Duration::from_secs(5));
    received(&sink, 2);
    events.set_manual_email(false);
    wait_for("manual e-mail to stop", LIMIT, || {
        (!events.email_active()).then_some(())
    });
    assert_eq!(
        subjects(&sink),
        [
            "Front door: snapshot 2024-06-03 12:00:00",
            "Front door: snapshot 2024-06-03 12:00:05",
        ]
    );
}

#[test]
fn refused_login_full_server_and_dead_server_are_recovered_from() {
    let camera = Camera::new();
    let sink = Sink::start();
    sink.require_login();
    sink.set_full(true);
    let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
    let wrong = EmailConfig {
        password: "wrong".into(),
        ..config(sink.port)
    };
    let events = start(&camera, &clock, &wrong);
    wait_for("the refused login", LIMIT, || {
        let error = events.email_stats().last_error?;
        assert_eq!(error.kind, FailureKind::LoginRejected, "{error}");
        assert!(error.detail.contains("535"), "{error}");
        Some(())
    });

    configure(&events, &config(sink.port));
    wait_for("the full server", LIMIT, || {
        let error = events.email_stats().last_error?;
        (error.kind == FailureKind::ServerFull).then_some(())
    });
    sink.set_full(false);
    clock.advance(Duration::from_secs(1));
    received(&sink, 1);

    let port = free_port();
    configure(&events, &config(port));
    wait_for("the dead server", LIMIT, || {
        let error = events.email_stats().last_error?;
        (error.kind == FailureKind::Unreachable).then_some(())
    });
    let revived = Sink::start_on(port);
    clock.advance(Duration::from_secs(1));
    received(&revived, 1);
    // The sink has the message before the worker has read the final reply and counted it.
    wait_for("the second delivery to be counted", LIMIT, || {
        (events.email_stats().delivered == 2).then_some(())
    });
}
