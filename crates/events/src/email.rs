//! The e-mail side: a snapshot as a JPEG attachment, sent over SMTP.
//!
//! The message is `multipart/mixed`: a short `text/plain` part naming the camera and the
//! camera's local time, then the frame as `image/jpeg` in base64 with the file name
//! `snapshot_YYYYMMDD_HHMMSS.jpg`. The subject is `<camera name>: snapshot
//! yyyy-mm-dd hh:mm:ss`.
//!
//! Transport: one connection per e-mail (e-mails are seconds apart at the least).
//! Port 465 speaks TLS from the first byte; any other port starts in plain text and
//! upgrades with STARTTLS whenever the server offers it, with the certificate checked
//! against the Mozilla roots. A login is sent only when a user name is set.

use std::time::Duration;

use chrono::NaiveDateTime;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::error::{DeliveryError, FailureKind};
use crate::settings::EmailSettings;

/// Longest wait for the connection and for each reply.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// The port of SMTP over TLS from the first byte (RFC 8314).
const SMTPS_PORT: u16 = 465;

/// Sends `jpeg`, taken at the camera's local time `taken`, as configured in `settings`.
pub fn send(
    settings: &EmailSettings,
    jpeg: &[u8],
    taken: NaiveDateTime,
) -> Result<(), DeliveryError> {
    let message = compose(settings, jpeg, taken)?;
    transport(settings)?
        .send(&message)
        .map(drop)
        .map_err(classify)
}

/// The e-mail for a snapshot.
pub fn compose(
    settings: &EmailSettings,
    jpeg: &[u8],
    taken: NaiveDateTime,
) -> Result<Message, DeliveryError> {
    let shown_time = taken.format("%Y-%m-%d %H:%M:%S");
    let text = format!(
        "Snapshot from camera \"{}\" taken at {shown_time} (camera time).\r\n",
        settings.camera_name
    );
    let file_name = format!("snapshot_{}.jpg", taken.format("%Y%m%d_%H%M%S"));
    message(
        settings,
        format!("{}: snapshot {shown_time}", settings.camera_name),
        text,
        [(file_name, jpeg)],
    )
}

/// Sends the frames of an event that `source` raised at the camera's local time `at`.
pub fn send_event(
    settings: &EmailSettings,
    jpegs: &[&[u8]],
    source: &str,
    at: NaiveDateTime,
) -> Result<(), DeliveryError> {
    let message = compose_event(settings, jpegs, source, at)?;
    transport(settings)?
        .send(&message)
        .map(drop)
        .map_err(classify)
}

/// The e-mail for an event: subject `<camera name>: <source> event yyyy-mm-dd hh:mm:ss`,
/// a text part, and the frames attached in order as `event_YYYYMMDD_HHMMSS_N.jpg`.
pub fn compose_event(
    settings: &EmailSettings,
    jpegs: &[&[u8]],
    source: &str,
    at: NaiveDateTime,
) -> Result<Message, DeliveryError> {
    let shown_time = at.format("%Y-%m-%d %H:%M:%S");
    let text = format!(
        "Event ({source}) on camera \"{}\" at {shown_time} (camera time): {} frames attached.\r\n",
        settings.camera_name,
        jpegs.len()
    );
    let stamp = at.format("%Y%m%d_%H%M%S");
    let attachments = jpegs
        .iter()
        .enumerate()
        .map(|(n, jpeg)| (format!("event_{stamp}_{}.jpg", n + 1), *jpeg));
    message(
        settings,
        format!("{}: {source} event {shown_time}", settings.camera_name),
        text,
        attachments,
    )
}

/// A mail from the sender (or the first receiver) to every receiver: a text part, then
/// each `(file name, JPEG)` as an attachment.
fn message<'a>(
    settings: &EmailSettings,
    subject: String,
    text: String,
    jpegs: impl IntoIterator<Item = (String, &'a [u8])>,
) -> Result<Message, DeliveryError> {
    let first_receiver = settings
        .receivers
        .first()
        .ok_or_else(|| DeliveryError::new(FailureKind::Refused, "no receiver address is set"))?;
    let sender = settings.sender.as_ref().unwrap_or(first_receiver);
    let jpeg_type = ContentType::parse("image/jpeg")
        .map_err(|e| DeliveryError::new(FailureKind::Protocol, e.to_string()))?;
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(text));
    for (file_name, jpeg) in jpegs {
        parts = parts.singlepart(Attachment::new(file_name).body(jpeg.to_vec(), jpeg_type.clone()));
    }
    let mut builder = Message::builder().from(sender.clone()).subject(subject);
    for receiver in &settings.receivers {
        builder = builder.to(receiver.clone());
    }
    builder
        .multipart(parts)
        .map_err(|e| DeliveryError::new(FailureKind::Refused, e.to_string()))
}

fn transport(settings: &EmailSettings) -> Result<SmtpTransport, DeliveryError> {
    let parameters = TlsParameters::new(settings.server.clone())
        .map_err(|e| DeliveryError::new(FailureKind::Protocol, e.to_string()))?;
    let tls = if settings.port == SMTPS_PORT {
        Tls::Wrapper(parameters)
    } else {
        Tls::Opportunistic(parameters)
    };
    let mut builder = SmtpTransport::builder_dangerous(settings.server.as_str())
        .port(settings.port)
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if let Some(login) = &settings.login {
        builder = builder.credentials(Credentials::new(
            login.user.clone(),
            login.password.expose().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// Turns a client error into a failure a camera owner can act on.
fn classify(error: lettre::transport::smtp::Error) -> DeliveryError {
    let kind = match error.status().map(u16::from) {
        Some(530 | 534 | 535 | 538) => FailureKind::LoginRejected,
        Some(452 | 552) => FailureKind::ServerFull,
        Some(_) => FailureKind::Refused,
        None if error.is_tls() || error.is_response() => FailureKind::Protocol,
        None if error.is_client() => FailureKind::Refused,
        None => FailureKind::Unreachable,
    };
    DeliveryError::new(kind, error.to_string())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use ipcam_api::EmailConfig;

    use super::*;

    fn settings(sender: &str) -> EmailSettings {
        let config = EmailConfig {
            smtp_server: "127.0.0.1".into(),
            sender: sender.into(),
            receiver: "owner@example.com".into(),
            ..EmailConfig::default()
        };
        EmailSettings::from_config(&config, "Front door").expect("valid")
    }

    fn taken() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 5, 6)
            .and_then(|d| d.and_hms_opt(7, 8, 9))
            .expect("valid")
    }

    #[test]
    fn message_has_subject_text_and_named_jpeg_attachment() {
        let message = compose(
            &settings("cam@example.com"),
            &[0xff, 0xd8, 0xff, 0xd9],
            taken(),
        )
        .expect("composes");
        let text = String::from_utf8(message.formatted()).expect("ascii");
        assert!(text.contains("From: cam@example.com\r\n"), "{text}");
        assert!(text.contains("To: owner@example.com\r\n"));
        assert!(text.contains("Subject: Front door: snapshot 2024-05-06 07:08:09\r\n"));
        assert!(text.contains("Content-Type: multipart/mixed;"));
        assert!(text.contains("Content-Type: image/jpeg"));
        assert!(text.contains("filename=\"snapshot_20240506_070809.jpg\""));
        assert!(text.contains("Content-Transfer-Encoding: base64"));
        assert!(text.contains("taken at 2024-05-06 07:08:09"));
    }

    #[test]
    fn an_empty_sender_becomes_the_receiver() {
        let message = compose(&settings(""), b"jpeg", taken()).expect("composes");
        let text = String::from_utf8(message.formatted()).expect("ascii");
        assert!(text.contains("From: owner@example.com\r\n"), "{text}");
    }

    #[test]
    fn an_event_message_attaches_every_frame_in_order() {
        let frames: [&[u8]; 3] = [
            &[0xff, 0xd8, 1, 0xff, 0xd9],
            &[0xff, 0xd8, 2, 0xff, 0xd9],
            &[0xff, 0xd8, 3, 0xff, 0xd9],
        ];
        let message = compose_event(&settings("cam@example.com"), &frames, "motion", taken())
            .expect("composes");
        let text = String::from_utf8(message.formatted()).expect("ascii");
        assert!(
            text.contains("Subject: Front door: motion event 2024-05-06 07:08:09\r\n"),
            "{text}"
        );
        let names: Vec<usize> = (1..=3)
            .map(|n| {
                text.find(&format!("filename=\"event_20240506_070809_{n}.jpg\""))
                    .unwrap_or_else(|| panic!("attachment {n} missing"))
            })
            .collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "in order");
        assert!(text.contains("3 frames attached"));
    }
}
