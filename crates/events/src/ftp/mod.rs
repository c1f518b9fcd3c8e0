//! The FTP side: one control connection kept open between uploads, the directory path
//! created on the way in, and each file stored under a temporary name and renamed, so that
//! whoever watches the folder never picks up half a picture.
//!
//! The client is our own, a few hundred lines over `std::net`: the FTP crate used before
//! (suppaftp 6) parses its replies with `lazy-regex`, which put the whole `regex` engine
//! into the daemon (regex-automata 173 KB, aho-corasick 117 KB, regex-syntax 104 KB and
//! regex 18 KB of code, plus Unicode tables), and no feature of it turns that off.
//! Replacing it took 1,011,944 bytes off the stripped release binary (6,216,056 →
//! 5,204,112, x86-64).
//!
//! What it follows: RFC 959 (§4.2 replies, multi-line included; §5.4 the replies of each
//! command; §3.2–3.4 data connections in stream mode), RFC 1123 §4.1.2.6 (`PASV` text),
//! RFC 2428 (`EPSV`/`EPRT` on IPv6), RFC 2389 (`FEAT`), RFC 3659 §7 (`MLSD`) and, against
//! the FTP bounce attack, RFC 2577 §3. [`reply`] reads replies, [`control`] speaks the
//! commands and opens the data connections, this module runs the upload session.
//!
//! Decisions:
//! - **Temporary name** `<name>.part`, renamed with `RNFR`/`RNTO`. A server that refuses
//!   to rename onto an existing file gets `DELE` of the old one first; a server that
//!   cannot rename at all is written to directly (said once in the log) and the leftover
//!   `.part` file removed.
//! - **Passive mode** connects the data channel to the control connection's address, not
//!   to the address in the `227` reply (see [`control`]): that address could point the
//!   camera anywhere (FTP bounce), and servers behind NAT announce private ones.
//! - **Connection reuse**: the connection stays open while uploads follow each other and
//!   is closed after [`IDLE_CLOSE`] without one; a connection the server dropped in the
//!   meantime is replaced once, at once, before an upload counts as failed.
//! - **Listing** (for where a file sequence continues, see [`crate::naming`]) uses `MLSD`
//!   (RFC 3659), which gives each file's modification time in one listing, when the server
//!   advertises it in `FEAT`; otherwise, or when `MLSD` is refused with a 5xx reply, `NLST`
//!   (names only), said once in the log per server. `FEAT` is asked first rather than
//!   trying `MLSD` blind so that a server without it is not made to open a data
//!   connection for nothing. `MLSD` lines keep fractional seconds and skip
//!   `cdir`/`pdir` entries; a file without `modify` has no time rather than 1970.
//! - **Timeouts** on connect, control and data channels bound how long a dead server can
//!   hold the worker; limits on line length, reply lines and listing entries bound what a
//!   hostile one can make the camera store.
//! - **Secrets**: nothing in the client logs a command, and a server that repeats the
//!   password in a reply does not get it into an error message either.

mod control;
mod error;
pub(crate) mod reply;
#[cfg(test)]
mod script;

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::error::{DeliveryError, FailureKind};
use crate::naming::ListedFile;
use crate::settings::FtpServer;
use control::Control;
use error::FtpError;

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
    control: Control,
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
        if let Some(connection) = self.connection.take() {
            connection.control.quit();
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
        let fail = |step| move |e| classify(e, step, server);
        let mut control = Control::connect(&server.host, server.port, server.passive)
            .map_err(fail(Step::Login))?;
        control
            .login(&server.user, server.password.expose())
            .map_err(fail(Step::Login))?;
        control.binary().map_err(fail(Step::Login))?;
        enter_directory(&mut control, &server.directory).map_err(fail(Step::Directory))?;
        Ok(Connection {
            control,
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
            let _ = self.control.delete(&temporary);
        }
        self.put(name, jpeg)
    }

    /// The directory's files by `MLSD`; `None` when the server does not support it.
    fn machine_list(&mut self) -> Result<Option<Vec<ListedFile>>, DeliveryError> {
        if !self.advertises_mlsd()? {
            return Ok(None);
        }
        let mut files = Vec::new();
        let listed = self.control.list("MLSD", |line| {
            files.extend(parse_mlsd_entry(line));
        });
        match listed {
            Ok(()) => Ok(Some(files)),
            Err(FtpError::Refused(reply)) if reply.code >= 500 => Ok(None),
            Err(e) => Err(self.fail(e, Step::List)),
        }
    }

    /// Whether `FEAT` lists `MLST`, the feature that covers `MLSD` (RFC 3659 §7.8). A server
    /// without `FEAT` has neither.
    fn advertises_mlsd(&mut self) -> Result<bool, DeliveryError> {
        match self.control.features() {
            Ok(features) => Ok(features
                .iter()
                .any(|name| name.eq_ignore_ascii_case("MLST"))),
            Err(FtpError::Refused(_)) => Ok(false),
            Err(e) => Err(self.fail(e, Step::List)),
        }
    }

    /// The directory's file names by `NLST`.
    fn name_list(&mut self) -> Result<Vec<ListedFile>, DeliveryError> {
        let mut files = Vec::new();
        let listed = self.control.list("NLST", |name| {
            files.push(ListedFile::untimed(name));
        });
        match listed {
            Ok(()) => Ok(files),
            Err(FtpError::Refused(reply)) if matches!(reply.code, 450 | 550) => Ok(Vec::new()),
            Err(e) => Err(self.fail(e, Step::List)),
        }
    }

    fn put(&mut self, name: &str, jpeg: &[u8]) -> Result<(), DeliveryError> {
        let stored = self.control.store(name, jpeg);
        stored.map_err(|e| self.fail(e, Step::Store))
    }

    /// Renames `from` to `to`, replacing `to`. `Ok(false)` when the server refuses.
    fn rename(&mut self, from: &str, to: &str) -> Result<bool, DeliveryError> {
        match self.control.rename(from, to) {
            Ok(()) => return Ok(true),
            Err(FtpError::Refused(_)) => {}
            Err(e) => return Err(self.fail(e, Step::Store)),
        }
        // Some servers will not rename onto an existing file.
        match self
            .control
            .delete(to)
            .and_then(|()| self.control.rename(from, to))
        {
            Ok(()) => Ok(true),
            Err(FtpError::Refused(_)) => Ok(false),
            Err(e) => Err(self.fail(e, Step::Store)),
        }
    }

    fn fail(&self, error: FtpError, step: Step) -> DeliveryError {
        classify(error, step, &self.server)
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

/// Changes into `path`, creating each missing level. A leading `/` starts at the
/// server's root, otherwise at the login directory.
fn enter_directory(control: &mut Control, path: &str) -> Result<(), FtpError> {
    let path = path.trim();
    if path.starts_with('/') {
        control.change_directory("/")?;
    }
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        match control.change_directory(part) {
            Err(FtpError::Refused(_)) => {
                control.make_directory(part)?;
                control.change_directory(part)?;
            }
            entered => entered?,
        }
    }
    Ok(())
}

/// Turns a client error into a failure a camera owner can act on. The detail is the
/// server's reply in one line, with the password blotted out should the server repeat it.
fn classify(error: FtpError, step: Step, server: &FtpServer) -> DeliveryError {
    let kind = match &error {
        FtpError::Connection(_) => FailureKind::Unreachable,
        FtpError::Refused(reply) => match (step, reply.code) {
            (_, 452 | 552) => FailureKind::ServerFull,
            (Step::Login, 421) => FailureKind::Unreachable,
            (Step::Login, _) | (_, 530) => FailureKind::LoginRejected,
            _ => FailureKind::Refused,
        },
        FtpError::LineBreak(_) => FailureKind::Refused,
        FtpError::Malformed(_) | FtpError::Oversized(_) | FtpError::DataAddress(_) => {
            FailureKind::Protocol
        }
    };
    let mut detail = match &error {
        FtpError::Connection(_) => error.to_string(),
        _ => format!("{}: {error}", step.doing()),
    };
    let password = server.password.expose();
    if !password.is_empty() {
        detail = detail.replace(password, "********");
    }
    DeliveryError::new(kind, detail)
}

impl Step {
    fn doing(self) -> &'static str {
        match self {
            Step::Login => "login",
            Step::Directory => "entering the directory",
            Step::List => "listing the directory",
            Step::Store => "storing the file",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::reply::Reply;
    use super::script::{serve, Peer};
    use super::*;
    use crate::settings::Secret;

    fn server(password: &str) -> FtpServer {
        FtpServer {
            host: "127.0.0.1".into(),
            port: 21,
            user: "camera".into(),
            password: Secret::new(password),
            directory: String::new(),
            passive: true,
        }
    }

    fn reply(code: u16, text: &str) -> FtpError {
        FtpError::Refused(Reply {
            code,
            lines: vec![text.to_owned()],
        })
    }

    #[test]
    fn replies_are_classified_by_step_and_code() {
        let server = server("pw");
        let classify = |error, step| classify(error, step, &server);
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
            classify(reply(530, "Not logged in"), Step::Store).kind,
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
            classify(FtpError::Connection(refused), Step::Store).kind,
            FailureKind::Unreachable
        );
        let garbage = classify(FtpError::Malformed("SSH-2.0".into()), Step::Login);
        assert_eq!(garbage.kind, FailureKind::Protocol);
        assert_eq!(garbage.detail, "login: unreadable reply: SSH-2.0");
    }

    #[test]
    fn a_password_the_server_repeats_is_blotted_out() {
        let error = classify(
            reply(530, "User camera password s3cret-pw not accepted"),
            Step::Login,
            &server("s3cret-pw"),
        );
        assert_eq!(
            error.detail,
            "login: 530 User camera password ******** not accepted"
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

    fn scripted(port: u16) -> FtpServer {
        FtpServer {
            port,
            directory: "/up".into(),
            ..server("pw")
        }
    }

    #[test]
    fn the_directory_is_made_and_each_file_renamed_from_its_part_name() {
        let script = serve(|peer| {
            peer.login();
            peer.answer("CWD /", "250 Okay.");
            peer.answer("CWD up", "550 No such directory.");
            peer.answer("MKD up", "257 \"/up\" created.");
            peer.answer("CWD up", "250 Okay.");
            let first = peer.take_passive_upload("STOR cam.jpg.part");
            peer.answer("RNFR cam.jpg.part", "350 Ready for destination name.");
            // The server will not rename onto the existing file: delete it first.
            peer.answer("RNTO cam.jpg", "553 File exists.");
            peer.answer("DELE cam.jpg", "250 Deleted.");
            peer.answer("RNFR cam.jpg.part", "350 Ready for destination name.");
            peer.answer("RNTO cam.jpg", "250 Renamed.");
            peer.goodbye();
            first
        });
        let mut client = FtpClient::default();
        client
            .upload(
                &scripted(script.port),
                "cam.jpg",
                b"picture",
                Duration::ZERO,
            )
            .expect("uploaded");
        client.close();
        assert_eq!(script.finish(), b"picture");
    }

    #[test]
    fn a_server_that_cannot_rename_is_written_to_directly_from_then_on() {
        let script = serve(|peer| {
            peer.login();
            peer.answer("CWD /", "250 Okay.");
            peer.answer("CWD up", "250 Okay.");
            let part = peer.take_passive_upload("STOR cam.jpg.part");
            peer.answer("RNFR cam.jpg.part", "502 Command not implemented.");
            peer.answer("DELE cam.jpg", "550 No such file.");
            peer.answer("DELE cam.jpg.part", "250 Deleted.");
            let first = peer.take_passive_upload("STOR cam.jpg");
            let second = peer.take_passive_upload("STOR cam.jpg");
            peer.goodbye();
            (part, first, second)
        });
        let mut client = FtpClient::default();
        let server = scripted(script.port);
        client
            .upload(&server, "cam.jpg", b"one", Duration::ZERO)
            .expect("first upload");
        client
            .upload(&server, "cam.jpg", b"two", Duration::from_secs(1))
            .expect("second upload on the same connection");
        client.close();
        let (part, first, second) = script.finish();
        assert_eq!(
            (&part[..], &first[..], &second[..]),
            (&b"one"[..], &b"one"[..], &b"two"[..])
        );
    }

    #[test]
    fn a_server_without_mlsd_is_listed_by_name() {
        let script = serve(|peer| {
            peer.login();
            peer.answer("CWD /", "250 Okay.");
            peer.answer("CWD up", "250 Okay.");
            peer.answer("FEAT", "211-Features:\n SIZE\n MDTM\n211 End");
            let data = peer.data_listener();
            let [p1, p2] = data.local_addr().expect("port").port().to_be_bytes();
            peer.answer("PASV", &format!("227 (127,0,0,1,{p1},{p2})"));
            peer.answer("NLST", "150 Here comes the list.");
            let mut listing = Peer::accept(&data);
            std::io::Write::write_all(&mut listing, b"cam0001.jpg\r\ncam0002.jpg\r\n")
                .expect("listing");
            drop(listing);
            peer.say("226 Done.");
            peer.goodbye();
        });
        let mut client = FtpClient::default();
        let files = client
            .list(&scripted(script.port), Duration::ZERO)
            .expect("listed");
        client.close();
        script.finish();
        assert_eq!(
            files,
            [
                ListedFile::untimed("cam0001.jpg"),
                ListedFile::untimed("cam0002.jpg")
            ]
        );
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let closed = FtpServer {
            port,
            ..server("pw")
        };
        let Err(err) = Connection::open(&closed) else {
            panic!("nobody listens on {port}");
        };
        assert_eq!(err.kind, FailureKind::Unreachable);
        assert!(err.detail.contains("127.0.0.1"), "{}", err.detail);
    }
}
