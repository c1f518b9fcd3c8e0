//! An SMTP sink on 127.0.0.1 speaking just enough RFC 5321 for a client: EHLO with
//! AUTH PLAIN/LOGIN (no STARTTLS), MAIL, RCPT, DATA, RSET, NOOP, QUIT. It keeps every
//! message it accepts, and can be told to refuse logins or be out of space.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;

use crate::free_port;

/// The account the sink accepts when it requires a login.
pub const USER: &str = "cam@example.com";
/// Its password.
pub const PASSWORD: &str = "mail-secret";

/// A message as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub authenticated_as: Option<String>,
    pub data: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    require_login: AtomicBool,
    full: AtomicBool,
    stop: AtomicBool,
}

/// A running SMTP sink; stops when dropped.
pub struct Sink {
    pub port: u16,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    /// Starts a sink on a free port.
    pub fn start() -> Sink {
        Sink::start_on(free_port())
    }

    /// Starts a sink on `port` of 127.0.0.1.
    pub fn start_on(port: u16) -> Sink {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("SMTP port");
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    let session = Arc::clone(&accepting);
                    std::thread::spawn(move || {
                        let _ = converse(stream, &session);
                    });
                }
            }
        });
        Sink {
            port,
            shared,
            thread: Some(thread),
        }
    }

    /// Requires AUTH with [`USER`]/[`PASSWORD`] before MAIL.
    pub fn require_login(&self) {
        self.shared.require_login.store(true, Ordering::Relaxed);
    }

    /// Answers the end of DATA with 452 (insufficient system storage) while `full`.
    pub fn set_full(&self, full: bool) {
        self.shared.full.store(full, Ordering::Relaxed);
    }

    /// Messages received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().expect("sink lock").clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so it sees the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn converse(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut reply = |text: &str| writer.write_all(format!("{text}\r\n").as_bytes());
    reply("220 sink.test ESMTP ready")?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut user = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => {
                reply("250-sink.test greets you")?;
                reply("250-AUTH PLAIN LOGIN")?;
                reply("250 8BITMIME")?;
            }
            "AUTH" => {
                let login = authenticate(command, &mut reader, &mut reply)?;
                match login {
                    Some((name, password)) if name == USER && password == PASSWORD => {
                        user = Some(name);
                        reply("235 2.7.0 Authentication successful")?;
                    }
                    _ => reply("535 5.7.8 Authentication credentials invalid")?,
                }
            }
            "MAIL" => {
                if shared.require_login.load(Ordering::Relaxed) && user.is_none() {
                    reply("530 5.7.0 Authentication required")?;
                } else {
                    from = address_in(command);
                    to.clear();
                    reply("250 OK")?;
                }
            }
            "RCPT" => {
                to.push(address_in(command));
                reply("250 OK")?;
            }
            "DATA" => {
                reply("354 End data with <CR><LF>.<CR><LF>")?;
                let data = read_data(&mut reader)?;
                if shared.full.load(Ordering::Relaxed) {
                    reply("452 4.3.1 Insufficient system storage")?;
                } else {
                    shared.messages.lock().expect("sink lock").push(Received {
                        from: from.clone(),
                        to: to.clone(),
                        authenticated_as: user.clone(),
                        data,
                    });
                    reply("250 OK queued")?;
                }
            }
            "RSET" | "NOOP" => reply("250 OK")?,
            "QUIT" => {
                reply("221 Bye")?;
                return Ok(());
            }
            _ => reply("502 Command not implemented")?,
        }
    }
}

/// Handles AUTH PLAIN (initial response or not) and AUTH LOGIN.
fn authenticate(
    command: &str,
    reader: &mut impl BufRead,
    reply: &mut impl FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<Option<(String, String)>> {
    let mut words = command.split_whitespace().skip(1);
    let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
    let mut next_line = |reply: &mut dyn FnMut(&str) -> std::io::Result<()>,
                         prompt: &str|
     -> std::io::Result<String> {
        reply(prompt)?;
        let mut answer = String::new();
        reader.read_line(&mut answer)?;
        Ok(answer.trim_end().to_owned())
    };
    let decode = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    };
    Ok(match mechanism.as_str() {
        "PLAIN" => {
            let initial = match words.next() {
                Some(initial) => initial.to_owned(),
                None => next_line(reply, "334 ")?,
            };
            decode(&initial).and_then(|plain| {
                let mut parts = plain.split('\0').skip(1);
                Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
            })
        }
        "LOGIN" => {
            let name = next_line(reply, "334 VXNlcm5hbWU6")?;
            let password = next_line(reply, "334 UGFzc3dvcmQ6")?;
            decode(&name).zip(decode(&password))
        }
        _ => None,
    })
}

fn address_in(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command.rfind('>').unwrap_or(command.len());
    command.get(start..end).unwrap_or("").to_owned()
}

/// Reads DATA up to the lone dot, undoing dot-stuffing.
fn read_data(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" {
            return Ok(data);
        }
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(unstuffed);
    }
}
