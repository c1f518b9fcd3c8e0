//! The FTP side: one control connection kept open between uploads, the directory path
//! created on the way in, and each file stored under a temporary name and renamed, so that
//! whoever watches the folder never picks up half a picture.
//!
//! Decisions:
//! - **Temporary name** `<name>.part`, renamed with `RNFR`/`RNTO`. A server that refuses
//!   to rename onto an existing file gets `DELE` of the old one first; a server that
//!   cannot rename at all is written to directly (said once in the log) and the leftover
//!   `.part` file removed.
//! - **Passive mode** connects the data channel to the control connection's address, not
//!   to the address in the `227` reply: servers behind NAT announce private addresses
//!   (curl does the same by default).
//! - **Connection reuse**: the connection stays open while uploads follow each other and
//!   is closed after [`IDLE_CLOSE`] without one; a connection the server dropped in the
//!   meantime is replaced once, at once, before an upload counts as failed.
//! - **Listing** (for where a file sequence continues, see [`crate::naming`]) uses `MLSD`
//!   (RFC 3659), which gives each file's modification time in one listing, when the server
//!   advertises it in `FEAT`; otherwise, or when `MLSD` is refused with a 5xx reply, `NLST`
//!   (names only), said once in the log per server. `FEAT` is asked first rather than
//!   trying `MLSD` blind because a refused data command in active mode is only noticed
//!   after the data connection times out. The `MLSD` lines are parsed here, not by
//!   `suppaftp::list::File`, which (in suppaftp 6) rejects fractional seconds in `modify`
//!   and `cdir`/`pdir` entries and reads a missing `modify` as 1970.
//! - **Timeouts** on connect, control and data channels bound how long a dead server can
//!   hold the worker.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use chrono::NaiveDateTime;
use suppaftp::types::FileType;
use suppaftp::{FtpError, FtpStream};

use crate::error::{DeliveryError, FailureKind};
use crate::naming::ListedFile;
use crate::settings::FtpServer;

/// Longest wait for a TCP connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a reply or for the server to take data.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for the server to open the data connection in active mode.
const ACTIVE_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);
/// An open connection unused this long is closed rather than left to the server's
/// idle timeout.
const IDLE_CLOSE: Duration = Duration::from_secs(30);

/// What the client was doing, for error messages.
#[derive(Debug, Clone, Copy)]
enum Step {
    Login,
    Directory,
    List,
    Store,
}

/// An FTP client that keeps its connection between uploads.
#[derive(Default)]
pub struct FtpClient {
    connection: Option<Connection>,
    /// The server last found not to list with `MLSD`, so that it is asked (and logged)
    /// once, not on every listing.
    without_mlsd: Option<FtpServer>,
}

struct Connection {
    stream: FtpStream,
    server: FtpServer,
    last_used: Duration,
    can_rename: bool,
}

impl FtpClient {
    /// Stores `jpeg` as `name` in the server's directory; `now` is monotonic time.
    pub fn upload(
        &mut self,
        server: &FtpServer,
        name: &str,
        jpeg: &[u8],
        now: Duration,
    ) -> Result<(), DeliveryError> {
        self.with_connection(server, now, |connection| connection.store(name, jpeg))
    }

    /// The files in the server's directory, with their modification times where the server
    /// lists with `MLSD`, by name only (`NLST`) where it does not. A server that answers an
    /// empty directory with an error (450/550 "No files found") gives an empty list.
    pub fn list(
        &mut self,
        server: &FtpServer,
        now: Duration,
    ) -> Result<Vec<ListedFile>, DeliveryError> {
        if self.without_mlsd.as_ref() != Some(server) {
            if let Some(files) = self.with_connection(server, now, Connection::machine_list)? {
                return Ok(files);
            }
            log::info!(
                "FTP server {}:{} does not list modification times (no MLSD); file sequences \
                 continue after the highest number found, not after the newest file",
                server.host,
                server.port
            );
            self.without_mlsd = Some(server.clone());
        }
        self.with_connection(server, now, Connection::name_list)
    }

    /// Runs `operation` on the open connection to `server`, opening one if needed. A reused
    /// connection the server dropped in the meantime is replaced once, at once; after any
    /// failure the connection is discarded.
    fn with_connection<T>(
        &mut self,
        server: &FtpServer,
        now: Duration,
        mut operation: impl FnMut(&mut Connection) -> Result<T, DeliveryError>,
    ) -> Result<T, DeliveryError> {
        if self
            .connection
            .as_ref()
            .is_some_and(|c| &c.server != server)
        {
            self.close();
        }
        self.close_idle(now);
        let reused = self.connection.is_some();
        let mut result = self.try_operation(server, now, &mut operation);
        if reused && matches!(&result, Err(e) if e.kind == FailureKind::Unreachable) {
            self.connection = None;
            result = self.try_operation(server, now, &mut operation);
        }
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    /// Closes the connection if it has been idle for [`IDLE_CLOSE`].
    pub fn close_idle(&mut self, now: Duration) {
        if self
            .connection
            .as_ref()
            .is_some_and(|c| now.saturating_sub(c.last_used) >= IDLE_CLOSE)
        {
            self.close();
        }
    }

    /// Says goodbye to the server, if connected.
    pub fn close(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            // The server may already have gone; the connection is dropped either way.
            let _ = connection.stream.quit();
        }
    }

    fn try_operation<T>(
        &mut self,
        server: &FtpServer,
        now: Duration,
        operation: &mut impl FnMut(&mut Connection) -> Result<T, DeliveryError>,
    ) -> Result<T, DeliveryError> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(Connection::open(server)?),
        };
        connection.last_used = now;
        operation(connection)
    }
}

impl Connection {
    fn open(server: &FtpServer) -> Result<Connection, DeliveryError> {
        let tcp = connect(&server.host, server.port)?;
        let io = |e: std::io::Error| DeliveryError::new(FailureKind::Unreachable, e.to_string());
        tcp.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        tcp.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        let mut stream =
            FtpStream::connect_with_stream(tcp).map_err(|e| classify(e, Step::Login))?;
        stream
            .login(server.user.as_str(), server.password.expose())
            .map_err(|e| classify(e, Step::Login))?;
        stream
            .transfer_type(FileType::Binary)
            .map_err(|e| classify(e, Step::Login))?;
        let mut stream = if server.passive {
            stream.set_passive_nat_workaround(true);
            stream.passive_stream_builder(connect_data)
        } else {
            stream.active_mode(ACTIVE_ACCEPT_TIMEOUT)
        };
        enter_directory(&mut stream, &server.directory)
            .map_err(|e| classify(e, Step::Directory))?;
        Ok(Connection {
            stream,
            server: server.clone(),
            last_used: Duration::ZERO,
            can_rename: true,
        })
    }

    fn store(&mut self, name: &str, jpeg: &[u8]) -> Result<(), DeliveryError> {
        if self.can_rename {
            let temporary = format!("{name}.part");
            self.put(&temporary, jpeg)?;
            if self.rename(&temporary, name)? {
                return Ok(());
            }
            log::info!(
                "FTP server {}:{} cannot rename uploads; writing {name} directly from now on",
                self.server.host,
                self.server.port
            );
            self.can_rename = false;
            // Best effort: a server that cannot rename may not delete either.
            let _ = self.stream.rm(&temporary);
        }
        self.put(name, jpeg)
    }

    /// The directory's files by `MLSD`; `None` when the server does not support it.
    fn machine_list(&mut self) -> Result<Option<Vec<ListedFile>>, DeliveryError> {
        if !self.advertises_mlsd()? {
            return Ok(None);
        }
        match self.stream.mlsd(None) {
            Ok(lines) => Ok(Some(
                lines
                    .iter()
                    .filter_map(|line| parse_mlsd_entry(line))
                    .collect(),
            )),
            Err(FtpError::UnexpectedResponse(response)) if response.status.code() >= 500 => {
                Ok(None)
            }
            Err(e) => Err(classify(e, Step::List)),
        }
    }

    /// Whether `FEAT` lists `MLST`, the feature that covers `MLSD` (RFC 3659 §7.8). A server
    /// without `FEAT` has neither.
    fn advertises_mlsd(&mut self) -> Result<bool, DeliveryError> {
        match self.stream.feat() {
            Ok(features) => Ok(features
                .keys()
                .any(|name| name.eq_ignore_ascii_case("MLST"))),
            Err(FtpError::UnexpectedResponse(_) | FtpError::BadResponse) => Ok(false),
            Err(e) => Err(classify(e, Step::List)),
        }
    }

    /// The directory's file names by `NLST`.
    fn name_list(&mut self) -> Result<Vec<ListedFile>, DeliveryError> {
        match self.stream.nlst(None) {
            Ok(names) => Ok(names.into_iter().map(ListedFile::untimed).collect()),
            Err(FtpError::UnexpectedResponse(response))
                if matches!(response.status.code(), 450 | 550) =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(classify(e, Step::List)),
        }
    }

    fn put(&mut self, name: &str, jpeg: &[u8]) -> Result<(), DeliveryError> {
        let store = |e| classify(e, Step::Store);
        let mut data = self.stream.put_with_stream(name).map_err(store)?;
        data.get_ref()
            .set_write_timeout(Some(IO_TIMEOUT))
            .and_then(|()| data.write_all(jpeg))
            .map_err(|e| store(FtpError::ConnectionError(e)))?;
        self.stream.finalize_put_stream(data).map_err(store)
    }

    /// Renames `from` to `to`, replacing `to`. `Ok(false)` when the server refuses.
    fn rename(&mut self, from: &str, to: &str) -> Result<bool, DeliveryError> {
        match self.stream.rename(from, to) {
            Ok(()) => return Ok(true),
            Err(FtpError::UnexpectedResponse(_)) => {}
            Err(e) => return Err(classify(e, Step::Store)),
        }
        // Some servers will not rename onto an existing file.
        match self
            .stream
            .rm(to)
            .and_then(|()| self.stream.rename(from, to))
        {
            Ok(()) => Ok(true),
            Err(FtpError::UnexpectedResponse(_)) => Ok(false),
            Err(e) => Err(classify(e, Step::Store)),
        }
    }
}

/// One entry of an `MLSD` listing (RFC 3659 §7.2): `fact=value;` facts, one space, the
/// name. `None` for anything but a plain file (directories, links, `cdir`/`pdir`) and for
/// malformed lines; an unreadable `modify` leaves the file without a time.
fn parse_mlsd_entry(line: &str) -> Option<ListedFile> {
    let (facts, name) = line.split_once(' ')?;
    let mut modified = None;
    for fact in facts.split(';').filter(|fact| !fact.is_empty()) {
        let (key, value) = fact.split_once('=')?;
        if key.eq_ignore_ascii_case("type") && !value.eq_ignore_ascii_case("file") {
            return None;
        }
        if key.eq_ignore_ascii_case("modify") {
            // time-val: YYYYMMDDHHMMSS[.sss], UTC.
            modified = NaiveDateTime::parse_from_str(value, "%Y%m%d%H%M%S%.f").ok();
        }
    }
    (!name.is_empty()).then(|| ListedFile {
        name: name.to_owned(),
        modified,
    })
}

/// Connects to the first address of `host` that answers.
fn connect(host: &str, port: u16) -> Result<TcpStream, DeliveryError> {
    let addresses = (host, port).to_socket_addrs().map_err(|e| {
        DeliveryError::new(
            FailureKind::Unreachable,
            format!("cannot resolve {host}: {e}"),
        )
    })?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(format!("{address}: {e}")),
        }
    }
    Err(DeliveryError::new(
        FailureKind::Unreachable,
        last.unwrap_or_else(|| format!("{host} has no address")),
    ))
}

/// The passive data connection, with the same timeouts as the control connection.
fn connect_data(address: SocketAddr) -> suppaftp::FtpResult<TcpStream> {
    let stream =
        TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).map_err(FtpError::ConnectionError)?;
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(FtpError::ConnectionError)?;
    Ok(stream)
}

/// Changes into `path`, creating each missing level. A leading `/` starts at the
/// server's root, otherwise at the login directory.
fn enter_directory(stream: &mut FtpStream, path: &str) -> suppaftp::FtpResult<()> {
    let path = path.trim();
    if path.starts_with('/') {
        stream.cwd("/")?;
    }
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if stream.cwd(part).is_err() {
            stream.mkdir(part)?;
            stream.cwd(part)?;
        }
    }
    Ok(())
}

/// Turns a client error into a failure a camera owner can act on.
fn classify(error: FtpError, step: Step) -> DeliveryError {
    match error {
        FtpError::ConnectionError(e) => DeliveryError::new(FailureKind::Unreachable, e.to_string()),
        FtpError::UnexpectedResponse(response) => {
            let code = response.status.code();
            let text = response
                .as_string()
                .unwrap_or_default()
                .replace(['\r', '\n'], " ");
            let kind = match (step, code) {
                (_, 452 | 552) => FailureKind::ServerFull,
                (Step::Login, 421) => FailureKind::Unreachable,
                (Step::Login, _) | (_, 530) => FailureKind::LoginRejected,
                _ => FailureKind::Refused,
            };
            let doing = match step {
                Step::Login => "login",
                Step::Directory => "entering the directory",
                Step::List => "listing the directory",
                Step::Store => "storing the file",
            };
            DeliveryError::new(kind, format!("{doing}: {}", text.trim()))
        }
        FtpError::BadResponse => DeliveryError::new(FailureKind::Protocol, "unreadable reply"),
        FtpError::InvalidAddress(e) => {
            DeliveryError::new(FailureKind::Protocol, format!("bad data address: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use suppaftp::types::Response;
    use suppaftp::Status;

    use super::*;

    fn reply(code: u32, text: &str) -> FtpError {
        FtpError::UnexpectedResponse(Response::new(
            Status::from(code),
            format!("{code} {text}\r\n").into_bytes(),
        ))
    }

    #[test]
    fn replies_are_classified_by_step_and_code() {
        let full = classify(reply(452, "Insufficient storage space"), Step::Store);
        assert_eq!(full.kind, FailureKind::ServerFull);
        assert_eq!(
            full.detail,
            "storing the file: 452 Insufficient storage space"
        );
        assert_eq!(
            classify(reply(552, "quota"), Step::Store).kind,
            FailureKind::ServerFull
        );
        assert_eq!(
            classify(reply(530, "Login incorrect"), Step::Login).kind,
            FailureKind::LoginRejected
        );
        assert_eq!(
            classify(reply(421, "Too many users"), Step::Login).kind,
            FailureKind::Unreachable
        );
        assert_eq!(
            classify(reply(550, "Permission denied"), Step::Directory).kind,
            FailureKind::Refused
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            classify(FtpError::ConnectionError(refused), Step::Store).kind,
            FailureKind::Unreachable
        );
    }

    fn noon(second: u32, milli: u32) -> Option<NaiveDateTime> {
        chrono::NaiveDate::from_ymd_opt(2024, 6, 3)
            .and_then(|d| d.and_hms_milli_opt(12, 0, second, milli))
    }

    #[test]
    fn mlsd_entries_give_plain_files_with_their_times() {
        assert_eq!(
            parse_mlsd_entry("type=file;size=1234;modify=20240603120007; cam0003.jpg"),
            Some(ListedFile {
                name: "cam0003.jpg".into(),
                modified: noon(7, 0),
            })
        );
        assert_eq!(
            parse_mlsd_entry("Type=File;Modify=20240603120007.250;UNIX.mode=0644; a b;c.jpg"),
            Some(ListedFile {
                name: "a b;c.jpg".into(),
                modified: noon(7, 250),
            }),
            "fact names in any case, fractions of seconds, spaces and ; in names"
        );
        assert_eq!(
            parse_mlsd_entry("type=file;size=1; no-time.jpg"),
            Some(ListedFile::untimed("no-time.jpg"))
        );
        assert_eq!(
            parse_mlsd_entry("type=file;modify=yesterday; odd.jpg"),
            Some(ListedFile::untimed("odd.jpg"))
        );
        for not_a_file in [
            "type=dir;modify=20240603120007; cam0001.jpg",
            "type=cdir;modify=20240603120007; .",
            "type=OS.unix=slink:/x;modify=20240603120007; link.jpg",
            "type=file;modify=20240603120007;",
            "no facts at all",
        ] {
            assert_eq!(parse_mlsd_entry(not_a_file), None, "{not_a_file}");
        }
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let err = connect("127.0.0.1", port).expect_err("nobody listens");
        assert_eq!(err.kind, FailureKind::Unreachable);
        assert!(err.detail.contains("127.0.0.1"), "{}", err.detail);
    }
}
