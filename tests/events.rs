//! Event handling through the daemon, against real servers on 127.0.0.1: `/upload.cgi`
//! and the manual `ImageUpload` switch of `/iocontrol.cgi` put snapshots on an FTP server,
//! `/email.cgi` and `ImageEmail` mail one as a JPEG attachment. (File modes, schedules and
//! failures are covered in the `ipcam-events` crate's own tests, the switches' bits in the
//! stream header in `control.rs`.)

mod common;

use common::{jpeg_size, wait_for, TestCamera, ADMIN};
use ipcam_testkit::{ftp, smtp};
use mail_parser::{MessageParser, MimeHeaders};

/// Sets a manual switch of `/iocontrol.cgi` and checks that the status line shows it.
fn switch(camera: &TestCamera, name: &str, on: bool) {
    let value = u8::from(on);
    let reply = camera.post("/iocontrol.cgi", ADMIN, &format!("{name}={value}"));
    assert_eq!(reply.status, 204, "{}", reply.text());
    let status = camera.get("/iocontrol.cgi", ADMIN).text();
    assert!(status.contains(&format!("&{name}={value}&")), "{status}");
}

#[test]
fn the_manual_upload_switch_puts_snapshots_on_an_ftp_server() {
    let server = ftp::Server::start();
    let camera = TestCamera::start();
    let settings = format!(
        "FTPHostAddress=127.0.0.1&FTPPortNumber={}&FTPUserName={}&FTPPassword={}\
         &FTPDirectoryPath=/camera/door&FTPPassiveMode=1&FTPScheduleEnable=0\
         &FTPManualEnable=1&FTPManualBaseFileName=door&FTPManualFileMode=2\
         &FTPManualMaxFileSequenceNumber=100",
        server.port,
        ftp::USER,
        ftp::PASSWORD
    );
    let set = camera.post("/upload.cgi", ADMIN, &settings);
    assert_eq!(set.status, 200, "{}", set.text());

    switch(&camera, "ImageUpload", true);
    let first = wait_for("the first upload", || {
        server
            .files()
            .into_iter()
            .find(|name| name == "camera/door/door0001.jpg")
    });
    assert_eq!(jpeg_size(&server.read(&first)), Some((640, 480)));
    switch(&camera, "ImageUpload", false);
    for name in server.files() {
        let number = name
            .strip_prefix("camera/door/door")
            .and_then(|rest| rest.strip_suffix(".jpg"));
        assert!(
            number.is_some_and(|n| n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit())),
            "only whole sequence-numbered files: {name}"
        );
    }
}

#[test]
fn the_manual_email_switch_mails_a_snapshot() {
    let sink = smtp::Sink::start();
    let camera = TestCamera::start();
    let settings = format!(
        "EmailSMTPServerAddress=127.0.0.1&EmailSMTPPortNumber={}\
         &EmailSenderAddress=camera@example.com&EmailReceiverAddress=owner@example.com\
         &EmailManualEnable=1&EmailManualInterval=60",
        sink.port
    );
    let set = camera.post("/email.cgi", ADMIN, &settings);
    assert_eq!(set.status, 200, "{}", set.text());

    switch(&camera, "ImageEmail", true);
    let received = wait_for("a mail", || sink.messages().into_iter().next());
    assert_eq!(received.to, ["owner@example.com"]);
    let message = MessageParser::default()
        .parse(&received.data)
        .expect("a MIME message");
    let attachment = message.attachment(0).expect("an attachment");
    assert!(attachment.is_content_type("image", "jpeg"));
    assert_eq!(jpeg_size(attachment.contents()), Some((640, 480)));
    switch(&camera, "ImageEmail", false);
}
