//! The control connection and the data connections it opens: each command the uploads
//! need, with the replies RFC 959 §5.4 lists for it, and nothing else.
//!
//! - **Data connections** (RFC 959 §3.2, §3.3): passive mode asks `PASV` on IPv4 and
//!   `EPSV` (RFC 2428 §3) on IPv6, where `PASV` cannot name an address, and connects
//!   before sending the transfer command, since some servers answer it only once the
//!   data connection is there. Active mode listens on the control connection's own
//!   address, announced with `PORT` (IPv4) or `EPRT` (RFC 2428 §2, IPv6), and accepts
//!   only after the transfer command's `1yz` reply, so a refused command is known at
//!   once instead of after the accept timeout.
//! - **End of file** in stream mode is the end of the data connection (RFC 959 §3.4.1):
//!   a stored file ends when the client closes its side, a listing when the server does.
//! - **Nothing is logged** here, so no command line, and with it the `PASS` line, can ever
//!   reach the log.

use std::io::{self, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::error::FtpError;
use super::reply::{
    extended_passive_port, line_text, passive_port, read_data_line, read_reply, Reply,
};

/// Longest wait for a TCP connection to the server, control or data.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a reply, for listing data, or for the server to take data.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for the server to open the data connection in active mode.
const ACTIVE_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a whole reply: a server that sends it a byte at a time, each within
/// [`IO_TIMEOUT`], cannot hold the worker longer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// Most entries of a directory listing: a sequence of the camera's own holds at most
/// 65535 files (`FTPScheduleMaxFileSequenceNumber`), with room for others beside it.
const MAX_LISTING_LINES: usize = 100_000;

/// An FTP control connection after the server's greeting.
pub struct Control {
    connection: BufReader<ReplyClock>,
    passive: bool,
    /// [`REPLY_TIMEOUT`], shorter in tests.
    reply_timeout: Duration,
}

/// The control connection's socket, read against the deadline of the reply being read.
struct ReplyClock {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for ReplyClock {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the server's reply is taking too long",
            ));
        }
        self.stream.set_read_timeout(Some(left.min(IO_TIMEOUT)))?;
        self.stream.read(buffer)
    }
}

impl Control {
    /// Connects to the first address of `host` that answers and reads the greeting
    /// (`220`, possibly after `120`, RFC 959 §5.4). `passive` chooses how data
    /// connections are made.
    pub fn connect(host: &str, port: u16, passive: bool) -> Result<Control, FtpError> {
        let stream = connect_any(host, port)?;
        set_timeouts(&stream)?;
        let mut control = Control {
            connection: BufReader::new(ReplyClock {
                stream,
                deadline: Instant::now(),
            }),
            passive,
            reply_timeout: REPLY_TIMEOUT,
        };
        let mut greeting = control.read()?;
        if greeting.code == 120 {
            greeting = control.read()?;
        }
        require(greeting, |greeting| greeting.code == 220)?;
        Ok(control)
    }

    /// `USER`, then `PASS` when the server asks for it (`331`, or `332` which the next
    /// reply then refuses: the camera has no account to give).
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), FtpError> {
        let reply = self.command("USER", Some(user))?;
        if reply.is_completion() {
            return Ok(());
        }
        require(reply, Reply::is_intermediate)?;
        self.complete("PASS", Some(password)).map(drop)
    }

    /// `TYPE I`: files go over unchanged (RFC 959 §3.1.1.3).
    pub fn binary(&mut self) -> Result<(), FtpError> {
        self.complete("TYPE", Some("I")).map(drop)
    }

    /// `CWD path`.
    pub fn change_directory(&mut self, path: &str) -> Result<(), FtpError> {
        self.complete("CWD", Some(path)).map(drop)
    }

    /// `MKD path`.
    pub fn make_directory(&mut self, path: &str) -> Result<(), FtpError> {
        self.complete("MKD", Some(path)).map(drop)
    }

    /// `DELE name`.
    pub fn delete(&mut self, name: &str) -> Result<(), FtpError> {
        self.complete("DELE", Some(name)).map(drop)
    }

    /// `RNFR from`, answered `350`, then `RNTO to`.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), FtpError> {
        self.expect("RNFR", Some(from), Reply::is_intermediate)?;
        self.complete("RNTO", Some(to)).map(drop)
    }

    /// The feature names of the `FEAT` reply (RFC 2389 §3.2: the lines between the
    /// first and the last, each starting with a space, the name its first word).
    pub fn features(&mut self) -> Result<Vec<String>, FtpError> {
        let reply = self.complete("FEAT", None)?;
        let inner = reply.lines.len().saturating_sub(1);
        Ok(reply
            .lines
            .iter()
            .take(inner)
            .skip(1)
            .filter(|line| line.starts_with(' '))
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect())
    }

    /// `STOR name` with `bytes` as the file.
    pub fn store(&mut self, name: &str, bytes: &[u8]) -> Result<(), FtpError> {
        let mut data = self.open_data("STOR", Some(name))?;
        let written = data.write_all(bytes);
        drop(data);
        let outcome = self.read();
        match (written, outcome) {
            // The server's reason comes first, also when it cut the transfer short (a
            // full disk: 452, 552) and the write failed because of that.
            (_, Ok(reply)) if !reply.is_completion() => Err(FtpError::Refused(reply)),
            (Err(e), _) => Err(e.into()),
            (Ok(()), outcome) => outcome.map(drop),
        }
    }

    /// Runs the listing command `verb` (`NLST`, `MLSD`) and hands each non-empty line of
    /// the listing to `each`, at most [`MAX_LISTING_LINES`].
    pub fn list(&mut self, verb: &'static str, mut each: impl FnMut(&str)) -> Result<(), FtpError> {
        let mut data = BufReader::new(self.open_data(verb, None)?);
        let mut buffer = Vec::new();
        let mut count = 0;
        while read_data_line(&mut data, &mut buffer)? {
            let line = line_text(&mut buffer);
            if line.is_empty() {
                continue;
            }
            count += 1;
            if count > MAX_LISTING_LINES {
                return Err(FtpError::Oversized("directory listing"));
            }
            each(line);
        }
        drop(data);
        self.finish_transfer()
    }

    /// `QUIT`; the answer does not matter, the connection is closed either way.
    pub fn quit(mut self) {
        let _ = self.command("QUIT", None);
    }

    /// Opens the data connection for `verb`, sends it, and returns the connection once
    /// the server answered `1yz`.
    fn open_data(
        &mut self,
        verb: &'static str,
        argument: Option<&str>,
    ) -> Result<TcpStream, FtpError> {
        let line = command_line(verb, argument)?;
        let stream = if self.passive {
            let stream = self.connect_passive()?;
            self.exchange_expecting(&line, Reply::is_preliminary)?;
            stream
        } else {
            let listener = self.listen_active()?;
            self.exchange_expecting(&line, Reply::is_preliminary)?;
            accept_within(&listener, ACTIVE_ACCEPT_TIMEOUT)?
        };
        set_timeouts(&stream)?;
        Ok(stream)
    }

    /// `PASV` (IPv4) or `EPSV` (IPv6) and a connection to the port the server gives.
    fn connect_passive(&mut self) -> Result<TcpStream, FtpError> {
        let peer = self.connection.get_ref().stream.peer_addr()?;
        let port = if peer.is_ipv4() {
            let reply = self.expect("PASV", None, |reply| reply.code == 227)?;
            passive_port(&reply).ok_or(FtpError::DataAddress(reply))?
        } else {
            let reply = self.expect("EPSV", None, |reply| reply.code == 229)?;
            extended_passive_port(&reply).ok_or(FtpError::DataAddress(reply))?
        };
        // Only the port of the reply is used: the data connection goes to the host the
        // control connection already talks to. Following the address of a `227` reply
        // would let a hostile server point the camera at any host and port, say a
        // service inside the camera's network, and have the snapshot sent there (the
        // FTP bounce attack of RFC 2577 §3, a server-side request forgery). It also
        // makes servers behind NAT work, which announce their private address.
        let address = SocketAddr::new(peer.ip(), port);
        TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).map_err(|e| {
            io::Error::new(e.kind(), format!("data connection to {address}: {e}")).into()
        })
    }

    /// A listener on the control connection's own address, announced with `PORT` (IPv4)
    /// or `EPRT` (IPv6).
    fn listen_active(&mut self) -> Result<TcpListener, FtpError> {
        let local = self.connection.get_ref().stream.local_addr()?.ip();
        let listener = TcpListener::bind((local, 0))?;
        let port = listener.local_addr()?.port();
        let announcement = match local {
            IpAddr::V4(ip) => {
                let [h1, h2, h3, h4] = ip.octets();
                let [p1, p2] = port.to_be_bytes();
                ("PORT", format!("{h1},{h2},{h3},{h4},{p1},{p2}"))
            }
            IpAddr::V6(ip) => ("EPRT", format!("|2|{ip}|{port}|")),
        };
        self.complete(announcement.0, Some(&announcement.1))?;
        Ok(listener)
    }

    /// The reply that ends a transfer: `2yz`, or the server's reason.
    fn finish_transfer(&mut self) -> Result<(), FtpError> {
        require(self.read()?, Reply::is_completion).map(drop)
    }

    /// Sends a command and returns the reply if it is `2yz`, the reply as error if not.
    fn complete(&mut self, verb: &'static str, argument: Option<&str>) -> Result<Reply, FtpError> {
        self.expect(verb, argument, Reply::is_completion)
    }

    /// Sends a command and returns the reply if `wanted` takes it, the reply as error if
    /// not.
    fn expect(
        &mut self,
        verb: &'static str,
        argument: Option<&str>,
        wanted: impl Fn(&Reply) -> bool,
    ) -> Result<Reply, FtpError> {
        let line = command_line(verb, argument)?;
        self.exchange_expecting(&line, wanted)
    }

    /// Sends `verb argument` and reads the reply.
    fn command(&mut self, verb: &'static str, argument: Option<&str>) -> Result<Reply, FtpError> {
        let line = command_line(verb, argument)?;
        self.exchange(&line)
    }

    fn exchange_expecting(
        &mut self,
        line: &str,
        wanted: impl Fn(&Reply) -> bool,
    ) -> Result<Reply, FtpError> {
        require(self.exchange(line)?, wanted)
    }

    fn exchange(&mut self, line: &str) -> Result<Reply, FtpError> {
        self.connection
            .get_mut()
            .stream
            .write_all(line.as_bytes())?;
        self.read()
    }

    fn read(&mut self) -> Result<Reply, FtpError> {
        self.connection.get_mut().deadline = Instant::now() + self.reply_timeout;
        read_reply(&mut self.connection)
    }
}

/// `reply` if `wanted` takes it, else the reply as the server's refusal.
fn require(reply: Reply, wanted: impl Fn(&Reply) -> bool) -> Result<Reply, FtpError> {
    if wanted(&reply) {
        Ok(reply)
    } else {
        Err(FtpError::Refused(reply))
    }
}

/// `verb argument` and the line break (RFC 959 §4.1); an argument with a line break of
/// its own is refused before anything is sent.
fn command_line(verb: &'static str, argument: Option<&str>) -> Result<String, FtpError> {
    match argument {
        Some(argument) if argument.contains(['\r', '\n']) => Err(FtpError::LineBreak(verb)),
        Some(argument) => Ok(format!("{verb} {argument}\r\n")),
        None => Ok(format!("{verb}\r\n")),
    }
}

/// Connects to the first address of `host` that answers.
fn connect_any(host: &str, port: u16) -> Result<TcpStream, FtpError> {
    let addresses = (host, port)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve {host}: {e}")))?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(io::Error::new(e.kind(), format!("{address}: {e}"))),
        }
    }
    Err(last
        .unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
        })
        .into())
}

fn set_timeouts(stream: &TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))
}

/// The server's data connection to `listener`, if it comes within `timeout`.
pub(super) fn accept_within(
    listener: &TcpListener,
    timeout: Duration,
) -> Result<TcpStream, FtpError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the server did not open the data connection within {} s (active mode)",
                    timeout.as_secs()
                ),
            )
            .into());
        }
        let millis = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut ready = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut ready, PollTimeout::from(millis)) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => return Ok(listener.accept()?.0),
            Err(e) => return Err(io::Error::from(e).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv6Addr, SocketAddrV6};

    use super::super::script::{serve, serve_on, Peer};
    use super::*;

    const JPEG: &[u8] = b"\xff\xd8\xff\xe0 not really a picture \r\n\x00\xff\xd9";

    /// The `h1,h2,h3,h4,p1,p2` of a `PORT` command (RFC 959 §4.1.2) as an address.
    fn port_address(argument: &str) -> SocketAddr {
        let fields: Vec<u8> = argument
            .split(',')
            .map(|n| n.parse().expect("a number"))
            .collect();
        let [h1, h2, h3, h4, p1, p2] = fields[..] else {
            panic!("six numbers: {argument}");
        };
        SocketAddr::from(([h1, h2, h3, h4], u16::from_be_bytes([p1, p2])))
    }

    fn connect(port: u16, passive: bool) -> Control {
        let mut control = Control::connect("127.0.0.1", port, passive).expect("greeting");
        control.login("camera", "pw").expect("login");
        control.binary().expect("binary");
        control
    }

    #[test]
    fn a_passive_upload_goes_to_the_control_peer_whatever_the_227_address() {
        let server = serve(|peer| {
            peer.login();
            let data = peer.data_listener();
            let [p1, p2] = data.local_addr().expect("port").port().to_be_bytes();
            // An address nobody here listens on: following it would fail the test.
            peer.answer(
                "PASV",
                &format!("227 Entering Passive Mode (192,0,2,7,{p1},{p2})."),
            );
            peer.answer(
                "STOR cam.jpg",
                "150 File status okay; about to open data connection.",
            );
            let received = Peer::receive(Peer::accept(&data));
            peer.say("226 Closing data connection.");
            peer.goodbye();
            received
        });
        let mut control = connect(server.port, true);
        control.store("cam.jpg", JPEG).expect("stored");
        control.quit();
        assert_eq!(server.finish(), JPEG);
    }

    #[test]
    fn an_active_upload_announces_the_control_address_and_takes_the_servers_connection() {
        let server = serve(|peer| {
            peer.login();
            let command = peer.hear().expect("PORT");
            let address = command.strip_prefix("PORT ").map(port_address);
            let address = address.unwrap_or_else(|| panic!("PORT, not {command}"));
            assert_eq!(address.ip(), IpAddr::from([127, 0, 0, 1]));
            peer.say("200 Command okay.");
            peer.answer("STOR cam.jpg", "150 Opening BINARY mode data connection.");
            let received = Peer::receive(Peer::connect(address));
            peer.say("226 Transfer complete.");
            peer.goodbye();
            received
        });
        let mut control = connect(server.port, false);
        control.store("cam.jpg", JPEG).expect("stored");
        control.quit();
        assert_eq!(server.finish(), JPEG);
    }

    #[test]
    fn a_refused_store_in_active_mode_is_the_reply_and_the_dialogue_goes_on() {
        let server = serve(|peer| {
            peer.login();
            let command = peer.hear().expect("PORT");
            assert!(command.starts_with("PORT "), "{command}");
            peer.say("200 Command okay.");
            peer.answer("STOR cam.jpg", "553 Requested action not taken.\n");
            peer.goodbye();
        });
        let mut control = connect(server.port, false);
        let refused = control.store("cam.jpg", JPEG).expect_err("refused");
        assert!(
            matches!(&refused, FtpError::Refused(r) if r.code == 553),
            "{refused:?}"
        );
        assert_eq!(refused.to_string(), "553 Requested action not taken.");
        control.quit();
        server.finish();
    }

    #[test]
    fn a_full_disk_reported_after_the_data_is_the_servers_reply() {
        let server = serve(|peer| {
            peer.login();
            let data = peer.data_listener();
            let [p1, p2] = data.local_addr().expect("port").port().to_be_bytes();
            peer.answer("PASV", &format!("227 =127,0,0,1,{p1},{p2}"));
            peer.answer(
                "STOR cam.jpg",
                "125 Data connection already open; transfer starting.",
            );
            Peer::receive(Peer::accept(&data));
            peer.say("452 Requested action not taken.\n");
        });
        let mut control = connect(server.port, true);
        match control.store("cam.jpg", JPEG) {
            Err(FtpError::Refused(reply)) => assert_eq!(reply.code, 452),
            other => panic!("452 expected: {other:?}"),
        }
        server.finish();
    }

    #[test]
    fn a_listing_gives_each_line_and_ends_with_the_transfer_reply() {
        let server = serve(|peer| {
            peer.login();
            let data = peer.data_listener();
            let [p1, p2] = data.local_addr().expect("port").port().to_be_bytes();
            peer.answer(
                "PASV",
                &format!("227 Entering Passive Mode (127,0,0,1,{p1},{p2})"),
            );
            peer.answer("NLST", "150 Here comes the listing.");
            let mut listing = Peer::accept(&data);
            listing
                .write_all(b"cam0001.jpg\r\ncam0002.jpg\n\r\ncam 3.jpg")
                .expect("listing sent");
            drop(listing);
            peer.say("226 Directory send OK.");
        });
        let mut control = connect(server.port, true);
        let mut names = Vec::new();
        control
            .list("NLST", |name| names.push(name.to_owned()))
            .expect("listed");
        assert_eq!(names, ["cam0001.jpg", "cam0002.jpg", "cam 3.jpg"]);
        server.finish();
    }

    #[test]
    fn features_are_the_indented_lines_of_the_feat_reply() {
        let server = serve(|peer| {
            peer.login();
            // RFC 2389 §3.2, with RFC 3659 §7.8's MLST line.
            peer.answer(
                "FEAT",
                "211-Extensions supported:\n MDTM\n MLST size*;modify*;type*;\n SIZE\n211 END",
            );
            peer.answer("FEAT", "211 No features");
            peer.answer("FEAT", "502 Command not implemented.");
        });
        let mut control = connect(server.port, true);
        assert_eq!(
            control.features().expect("features"),
            ["MDTM", "MLST", "SIZE"]
        );
        assert_eq!(control.features().expect("none"), Vec::<String>::new());
        assert!(matches!(control.features(), Err(FtpError::Refused(r)) if r.code == 502));
        server.finish();
    }

    #[test]
    fn login_follows_the_reply_to_user() {
        let server = serve(|peer| {
            // RFC 959 §5.4: 120 before 220; USER answered 230 needs no PASS.
            peer.say("120 Service ready in 1 minute.");
            peer.say("220-Welcome\n to the scripted server\n220 Ready.");
            peer.answer("USER camera", "230 User logged in, proceed.");
            peer.answer("TYPE I", "200 Command okay.");
        });
        let mut control = Control::connect("127.0.0.1", server.port, true).expect("greeting");
        control
            .login("camera", "pw")
            .expect("login without password");
        control.binary().expect("binary");
        server.finish();

        let server = serve(|peer| {
            peer.say("220 Ready.");
            peer.answer("USER camera", "331 User name okay, need password.");
            peer.answer("PASS pw", "530 Not logged in.");
        });
        let mut control = Control::connect("127.0.0.1", server.port, true).expect("greeting");
        let refused = control.login("camera", "pw").expect_err("wrong password");
        assert_eq!(refused.to_string(), "530 Not logged in.");
        server.finish();

        let server =
            serve(|peer| peer.say("421 Service not available, closing control connection."));
        match Control::connect("127.0.0.1", server.port, true) {
            Err(FtpError::Refused(reply)) => assert_eq!(reply.code, 421),
            Err(other) => panic!("421 expected: {other:?}"),
            Ok(_) => panic!("421 expected"),
        }
        server.finish();
    }

    #[test]
    fn a_name_with_a_line_break_is_never_sent() {
        let server = serve(|peer| {
            peer.login();
            peer.goodbye();
        });
        let mut control = connect(server.port, true);
        for evil in ["cam.jpg\r\nDELE index.html", "cam.jpg\nDELE x", "x\r"] {
            let refused = control.store(evil, JPEG).expect_err("refused");
            assert!(
                matches!(refused, FtpError::LineBreak("STOR")),
                "{refused:?}"
            );
            assert!(matches!(
                control.change_directory(evil),
                Err(FtpError::LineBreak("CWD"))
            ));
        }
        control.quit();
        server.finish();
    }

    #[test]
    fn a_server_that_never_ends_its_greeting_is_cut_off() {
        let server = serve(|peer| {
            peer.say("220-Welcome");
            let banner = " and on\r\n".repeat(super::super::reply::MAX_REPLY_LINES);
            peer.send(banner.as_bytes());
            // The client stops reading; the script waits for it to close.
            assert_eq!(peer.hear(), None);
        });
        match Control::connect("127.0.0.1", server.port, true) {
            Err(FtpError::Oversized(what)) => assert_eq!(what, "reply lines"),
            Err(other) => panic!("oversized expected: {other:?}"),
            Ok(_) => panic!("oversized expected"),
        }
        server.finish();
    }

    #[test]
    fn a_reply_trickling_in_byte_by_byte_is_cut_off_at_the_reply_deadline() {
        let server = serve(|peer| {
            peer.login();
            assert_eq!(peer.hear().as_deref(), Some("FEAT"));
            // Each byte well within the read timeout, the reply unfinished until the
            // client gives up or, after 5 s, the server does (the client then sees the
            // connection end instead of its timeout).
            for _ in 0..250 {
                if !peer.try_send(b"x") {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let mut control = connect(server.port, true);
        control.reply_timeout = Duration::from_millis(300);
        match control.features() {
            Err(FtpError::Connection(e)) => assert_eq!(e.kind(), io::ErrorKind::TimedOut),
            other => panic!("a timeout expected: {other:?}"),
        }
        drop(control);
        server.finish();
    }

    #[test]
    fn a_227_without_a_port_is_a_bad_data_address() {
        let server = serve(|peer| {
            peer.login();
            peer.answer("PASV", "227 Entering Passive Mode.");
        });
        let mut control = connect(server.port, true);
        let error = control.store("cam.jpg", JPEG).expect_err("no port");
        assert_eq!(
            error.to_string(),
            "bad data address: 227 Entering Passive Mode."
        );
        server.finish();
    }

    #[test]
    fn on_ipv6_passive_mode_is_epsv_and_active_mode_is_eprt() {
        let server = serve_on(IpAddr::V6(Ipv6Addr::LOCALHOST), |peer| {
            peer.login();
            let data = peer.data_listener();
            let port = data.local_addr().expect("port").port();
            // RFC 2428 §3.
            peer.answer(
                "EPSV",
                &format!("229 Entering Extended Passive Mode (|||{port}|)"),
            );
            peer.answer("STOR a.jpg", "150 Ok to send data.");
            let passive = Peer::receive(Peer::accept(&data));
            peer.say("226 Transfer complete.");

            // RFC 2428 §2: EPRT |2|<IPv6 address>|<port>|.
            let command = peer.hear().expect("EPRT");
            let fields: Vec<&str> = command
                .strip_prefix("EPRT ")
                .unwrap_or_else(|| panic!("EPRT, not {command}"))
                .split('|')
                .collect();
            let ["", "2", ip, port, ""] = fields[..] else {
                panic!("EPRT |2|ip|port|: {command}");
            };
            let ip: Ipv6Addr = ip.parse().expect("an IPv6 address");
            assert_eq!(ip, Ipv6Addr::LOCALHOST);
            let address = SocketAddrV6::new(ip, port.parse().expect("a port"), 0, 0);
            peer.say("200 EPRT command successful.");
            peer.answer("STOR b.jpg", "150 Opening data connection.");
            let active = Peer::receive(Peer::connect(address.into()));
            peer.say("226 Transfer complete.");
            (passive, active)
        });
        let Some(server) = server else {
            println!("skipped: no IPv6 loopback on this machine to test EPSV and EPRT on");
            return;
        };
        let mut control = Control::connect("::1", server.port, true).expect("greeting");
        control.login("camera", "pw").expect("login");
        control.binary().expect("binary");
        control.store("a.jpg", JPEG).expect("passive store");
        control.passive = false;
        control.store("b.jpg", b"second").expect("active store");
        assert_eq!(server.finish(), (JPEG.to_vec(), b"second".to_vec()));
    }
}
