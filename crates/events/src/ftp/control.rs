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

use std::io;
use std::io::{BufReader, Write};
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
/// Most entries of a directory listing: a sequence of the camera's own holds at most
/// 65535 files (`FTPScheduleMaxFileSequenceNumber`), with room for others beside it.
const MAX_LISTING_LINES: usize = 100_000;

/// An FTP control connection after the server's greeting.
pub struct Control {
    connection: BufReader<TcpStream>,
    passive: bool,
}

impl Control {
    /// Connects to the first address of `host` that answers and reads the greeting
    /// (`220`, possibly after `120`, RFC 959 §5.4). `passive` chooses how data
    /// connections are made.
    pub fn connect(host: &str, port: u16, passive: bool) -> Result<Control, FtpError> {
        let stream = connect_any(host, port)?;
        set_timeouts(&stream)?;
        let mut control = Control {
            connection: BufReader::new(stream),
            passive,
        };
        let mut greeting = control.read()?;
        if greeting.code == 120 {
            greeting = control.read()?;
        }
        if greeting.code != 220 {
            return Err(FtpError::Refused(greeting));
        }
        Ok(control)
    }

    /// `USER`, then `PASS` when the server asks for it (`331`, or `332` which the next
    /// reply then refuses: the camera has no account to give).
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), FtpError> {
        let reply = self.command("USER", Some(user))?;
        if reply.is_completion() {
            return Ok(());
        }
        if !reply.is_intermediate() {
            return Err(FtpError::Refused(reply));
        }
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
        let stream = if self.passive {
            let stream = self.connect_passive()?;
            self.expect(verb, argument, Reply::is_preliminary)?;
            stream
        } else {
            let listener = self.listen_active()?;
            self.expect(verb, argument, Reply::is_preliminary)?;
            accept_within(&listener, ACTIVE_ACCEPT_TIMEOUT)?
        };
        set_timeouts(&stream)?;
        Ok(stream)
    }

    /// `PASV` (IPv4) or `EPSV` (IPv6) and a connection to the port the server gives.
    fn connect_passive(&mut self) -> Result<TcpStream, FtpError> {
        let peer = self.connection.get_ref().peer_addr()?;
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
        Ok(TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)?)
    }

    /// A listener on the control connection's own address, announced with `PORT` (IPv4)
    /// or `EPRT` (IPv6).
    fn listen_active(&mut self) -> Result<TcpListener, FtpError> {
        let local = self.connection.get_ref().local_addr()?.ip();
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
        let reply = self.read()?;
        if reply.is_completion() {
            Ok(())
        } else {
            Err(FtpError::Refused(reply))
        }
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
        let reply = self.command(verb, argument)?;
        if wanted(&reply) {
            Ok(reply)
        } else {
            Err(FtpError::Refused(reply))
        }
    }

    /// Sends `verb argument` and reads the reply.
    fn command(&mut self, verb: &'static str, argument: Option<&str>) -> Result<Reply, FtpError> {
        let line = match argument {
            Some(argument) if argument.contains(['\r', '\n']) => {
                return Err(FtpError::LineBreak(verb))
            }
            Some(argument) => format!("{verb} {argument}\r\n"),
            None => format!("{verb}\r\n"),
        };
        self.connection.get_mut().write_all(line.as_bytes())?;
        self.read()
    }

    fn read(&mut self) -> Result<Reply, FtpError> {
        read_reply(&mut self.connection)
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
fn accept_within(listener: &TcpListener, timeout: Duration) -> Result<TcpStream, FtpError> {
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
