//! Event handling through the daemon: `/email.cgi` configures a real SMTP exchange and the
//! manual `ImageEmail` switch of `/iocontrol.cgi` sends a snapshot as a JPEG attachment.
//! (FTP, schedules and failures are covered against real servers in the `ipcam-events`
//! crate's own tests.)

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

use base64::Engine as _;
use common::{TestCamera, ADMIN, DEADLINE};

/// Accepts SMTP sessions on 127.0.0.1 and hands each message's DATA to the test.
fn smtp_sink() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (messages, inbox) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Some(message) = smtp_session(stream) {
                if messages.send(message).is_err() {
                    return;
                }
            }
        }
    });
    (port, inbox)
}

/// Just enough SMTP for one message: greeting, EHLO, MAIL, RCPT, DATA, QUIT.
fn smtp_session(stream: TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(DEADLINE)).ok()?;
    let mut writer = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 sink ESMTP\r\n").ok()?;
    let mut data = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return data;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 sink\r\n",
            "DATA" => {
                writer.write_all(b"354 go ahead\r\n").ok()?;
                let mut message = String::new();
                loop {
                    let mut body_line = String::new();
                    if reader.read_line(&mut body_line).ok()? == 0 || body_line == ".\r\n" {
                        break;
                    }
                    message.push_str(&body_line);
                }
                data = Some(message);
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = writer.write_all(b"221 bye\r\n");
                return data;
            }
            _ => b"250 ok\r\n",
        };
        writer.write_all(reply).ok()?;
    }
}

/// The base64 body of the message's `image/jpeg` part, decoded.
fn jpeg_attachment(message: &str) -> Vec<u8> {
    let start = message
        .find("Content-Type: image/jpeg")
        .expect("an image/jpeg part");
    let part = &message[start..];
    let body_start = part.find("\r\n\r\n").expect("part headers end") + 4;
    let encoded: String = part[body_start..]
        .lines()
        .take_while(|line| !line.starts_with("--"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .expect("base64 attachment")
}

#[test]
fn the_manual_email_switch_mails_a_snapshot() {
    let (port, inbox) = smtp_sink();
    let camera = TestCamera::start();
    let settings = format!(
        "EmailSMTPServerAddress=127.0.0.1&EmailSMTPPortNumber={port}\
         &EmailSenderAddress=camera@example.com&EmailReceiverAddress=owner@example.com\
         &EmailManualEnable=1&EmailManualInterval=60"
    );
    let set = camera.post("/email.cgi", ADMIN, &settings);
    assert_eq!(set.status, 200, "{}", set.text());

    assert_eq!(
        camera.post("/iocontrol.cgi", ADMIN, "ImageEmail=1").status,
        204
    );
    let message = inbox
        .recv_timeout(DEADLINE)
        .expect("a mail within the deadline");
    assert!(message.contains("owner@example.com"), "{message}");
    let jpeg = jpeg_attachment(&message);
    assert!(jpeg.starts_with(&[0xff, 0xd8]) && jpeg.ends_with(&[0xff, 0xd9]));

    let status = camera.get("/iocontrol.cgi", ADMIN).text();
    assert!(status.contains("&ImageEmail=1&"), "{status}");
    assert_eq!(
        camera.post("/iocontrol.cgi", ADMIN, "ImageEmail=0").status,
        204
    );
    let status = camera.get("/iocontrol.cgi", ADMIN).text();
    assert!(status.contains("&ImageEmail=0&"), "{status}");
}
