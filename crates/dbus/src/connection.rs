//! A connection to a message bus: the socket of its address, authentication, `Hello`, and
//! method calls one at a time (D-Bus Specification, "Server Addresses", "Authentication
//! Protocol", "Message Bus Specification").

use std::ffi::OsStr;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use percent_encoding::percent_decode_str;

use crate::wire::{self, field, Arg, Kind, Message, Value, FIXED_HEADER};
use crate::Error;

/// The system bus when `DBUS_SYSTEM_BUS_ADDRESS` is not set ("Well-known Message Bus
/// Instances"; `/var/run` is `/run` on every current distribution).
pub const SYSTEM_BUS_ADDRESS: &str = "unix:path=/run/dbus/system_bus_socket";

/// Longest line the bus may answer during authentication.
const MAX_AUTH_LINE: usize = 512;

/// A method call: where it goes and its arguments.
#[derive(Debug, Clone, Copy)]
pub struct MethodCall<'a> {
    /// The bus name of the service.
    pub destination: &'a str,
    /// The object.
    pub path: &'a str,
    /// The method's interface.
    pub interface: &'a str,
    /// The method.
    pub member: &'a str,
    /// Its arguments, in order.
    pub args: &'a [Arg<'a>],
}

/// An authenticated connection to a bus, which has said `Hello`.
#[derive(Debug)]
pub struct Connection {
    stream: UnixStream,
    timeout: Duration,
    last_serial: u32,
    unique_name: String,
}

impl Connection {
    /// The system bus: `DBUS_SYSTEM_BUS_ADDRESS`, or [`SYSTEM_BUS_ADDRESS`].
    pub fn system(timeout: Duration) -> Result<Self, Error> {
        match std::env::var("DBUS_SYSTEM_BUS_ADDRESS") {
            Ok(address) => Self::open(&address, timeout),
            Err(_) => Self::open(SYSTEM_BUS_ADDRESS, timeout),
        }
    }

    /// The bus at `address`: its `;`-separated entries are tried in order until a socket
    /// accepts (an entry this client cannot use counts as one that failed). `timeout`
    /// bounds the set-up and every call's wait for its reply.
    pub fn open(address: &str, timeout: Duration) -> Result<Self, Error> {
        let mut last_error = Error::Address {
            address: address.to_owned(),
            reason: "no entry",
        };
        for entry in address.split(';').filter(|entry| !entry.is_empty()) {
            match parse_entry(entry).and_then(|socket| socket.connect()) {
                Ok(stream) => return Self::over(stream, timeout),
                Err(err) => last_error = err,
            }
        }
        Err(last_error)
    }

    /// Authenticates on `stream`, a socket to a bus, and says `Hello`.
    pub fn over(stream: UnixStream, timeout: Duration) -> Result<Self, Error> {
        stream.set_write_timeout(Some(timeout))?;
        let mut connection = Connection {
            stream,
            timeout,
            last_serial: 0,
            unique_name: String::new(),
        };
        connection.authenticate()?;
        let reply = connection.call(&MethodCall {
            destination: "org.freedesktop.DBus",
            path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus",
            member: "Hello",
            args: &[],
        })?;
        match <[Value; 1]>::try_from(reply) {
            Ok([Value::Str(name)]) => connection.unique_name = name,
            _ => return Err(Error::Malformed("Hello's reply is not one string")),
        }
        Ok(connection)
    }

    /// The name the bus gave this connection (`:1.42`).
    pub fn unique_name(&self) -> &str {
        &self.unique_name
    }

    /// Calls a method and waits for its reply: the reply's values, or
    /// [`Error::Method`] when the service answers with an error.
    pub fn call(&mut self, call: &MethodCall<'_>) -> Result<Vec<Value>, Error> {
        self.last_serial = self.last_serial.checked_add(1).unwrap_or(1);
        let serial = self.last_serial;
        let message = wire::encode(
            Kind::MethodCall,
            serial,
            &[
                (field::PATH, Arg::ObjectPath(call.path)),
                (field::INTERFACE, Arg::Str(call.interface)),
                (field::MEMBER, Arg::Str(call.member)),
                (field::DESTINATION, Arg::Str(call.destination)),
            ],
            call.args,
        )?;
        let deadline = Instant::now() + self.timeout;
        self.stream
            .write_all(&message)
            .map_err(|err| self.io_error(err))?;
        loop {
            let reply = self.receive(deadline)?;
            if reply.reply_serial != Some(serial) {
                continue; // a signal (NameAcquired), or the late reply to a timed-out call
            }
            match reply.kind {
                Kind::MethodReturn => return Ok(reply.body),
                Kind::Error => return Err(method_error(reply)),
                _ => continue,
            }
        }
    }

    /// Reads the next message, refusing one over the size limit before reading its rest.
    fn receive(&mut self, deadline: Instant) -> Result<Message, Error> {
        let mut fixed = [0; FIXED_HEADER];
        self.read_exact(&mut fixed, deadline)?;
        let len = wire::message_len(&fixed)?;
        let mut message = vec![0; len];
        message[..FIXED_HEADER].copy_from_slice(&fixed);
        self.read_exact(&mut message[FIXED_HEADER..], deadline)?;
        wire::decode(&message)
    }

    fn read_exact(&mut self, mut buf: &mut [u8], deadline: Instant) -> Result<(), Error> {
        while !buf.is_empty() {
            let left = deadline
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero())
                .ok_or(Error::Timeout(self.timeout))?;
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(buf) {
                Ok(0) => return Err(Error::Closed),
                Ok(n) => buf = &mut buf[n..],
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(self.io_error(err)),
            }
        }
        Ok(())
    }

    fn io_error(&self, err: std::io::Error) -> Error {
        match err.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => Error::Timeout(self.timeout),
            _ => Error::Io(err),
        }
    }

    /// SASL `EXTERNAL`: the kernel tells the bus our uid; we claim the same one.
    fn authenticate(&mut self) -> Result<(), Error> {
        let uid = nix::unistd::getuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        // The NUL byte comes first (it may carry credentials on some systems).
        let request = format!("\0AUTH EXTERNAL {hex}\r\n");
        self.stream
            .write_all(request.as_bytes())
            .map_err(|err| self.io_error(err))?;
        let line = self.read_line(Instant::now() + self.timeout)?;
        if !line.starts_with("OK ") {
            let reason: String = line.chars().filter(|c| !c.is_control()).collect();
            return Err(Error::Auth(reason));
        }
        self.stream
            .write_all(b"BEGIN\r\n")
            .map_err(|err| self.io_error(err))?;
        Ok(())
    }

    /// One `\r\n`-terminated line, read byte by byte so that nothing after it is consumed.
    fn read_line(&mut self, deadline: Instant) -> Result<String, Error> {
        let mut line = Vec::new();
        while !line.ends_with(b"\r\n") {
            if line.len() >= MAX_AUTH_LINE {
                return Err(Error::Auth("answer line too long".to_owned()));
            }
            let mut byte = [0];
            self.read_exact(&mut byte, deadline)?;
            line.push(byte[0]);
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }
}

/// An `ERROR` message as [`Error::Method`]: its name and, by convention, the string that
/// starts its body.
fn method_error(reply: Message) -> Error {
    let message = match reply.body.into_iter().next() {
        Some(Value::Str(message)) => Some(message),
        _ => None,
    };
    Error::Method {
        name: reply.error_name.unwrap_or_default(),
        message,
    }
}

/// Where a `unix:` address entry points.
#[derive(Debug, PartialEq, Eq)]
enum Socket {
    /// `unix:path=`: a socket file.
    Path(Vec<u8>),
    /// `unix:abstract=`: a name in Linux's abstract socket namespace.
    Abstract(Vec<u8>),
}

impl Socket {
    fn connect(&self) -> Result<UnixStream, Error> {
        let connected = match self {
            Socket::Path(path) => UnixStream::connect(Path::new(OsStr::from_bytes(path))),
            Socket::Abstract(name) => connect_abstract(name),
        };
        connected.map_err(|source| Error::Connect {
            target: match self {
                Socket::Path(path) => String::from_utf8_lossy(path).into_owned(),
                Socket::Abstract(name) => format!("@{}", String::from_utf8_lossy(name)),
            },
            source,
        })
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn connect_abstract(name: &[u8]) -> std::io::Result<UnixStream> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    UnixStream::connect_addr(&address)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn connect_abstract(_name: &[u8]) -> std::io::Result<UnixStream> {
    Err(std::io::Error::new(
        ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

/// One entry of a bus address: `unix:` with `path=` or `abstract=` (and an ignored
/// `guid=`), values percent-escaped ("Server Addresses").
fn parse_entry(entry: &str) -> Result<Socket, Error> {
    let bad = |reason| Error::Address {
        address: entry.to_owned(),
        reason,
    };
    let params = entry
        .strip_prefix("unix:")
        .ok_or_else(|| bad("only unix: addresses are supported"))?;
    let mut socket = None;
    for param in params.split(',') {
        let (key, value) = param
            .split_once('=')
            .ok_or_else(|| bad("a parameter without '='"))?;
        let value = unescape(value).ok_or_else(|| bad("a bad %-escape"))?;
        let found = match key {
            "path" => Socket::Path(value),
            "abstract" => Socket::Abstract(value),
            "guid" => continue,
            _ => return Err(bad("only path=, abstract= and guid= are supported")),
        };
        if socket.replace(found).is_some() {
            return Err(bad("more than one socket"));
        }
    }
    socket.ok_or_else(|| bad("no path= or abstract="))
}

/// A value with its `%XX` escapes decoded; `None` when a `%` is not followed by two hex
/// digits (the decoder itself would pass such a `%` through as it is).
fn unescape(value: &str) -> Option<Vec<u8>> {
    let well_formed = value.split('%').skip(1).all(|after| {
        after
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    well_formed.then(|| percent_decode_str(value).collect())
}

#[cfg(test)]
mod tests {
    use ipcam_testkit::dbus::BareBus;

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    #[test]
    fn addresses_name_a_socket_file_or_an_abstract_name() {
        assert_eq!(
            parse_entry("unix:path=/run/dbus/system_bus_socket").unwrap(),
            Socket::Path(b"/run/dbus/system_bus_socket".to_vec())
        );
        assert_eq!(
            parse_entry("unix:abstract=/tmp/dbus-X,guid=0123abcd").unwrap(),
            Socket::Abstract(b"/tmp/dbus-X".to_vec())
        );
        assert_eq!(
            parse_entry("unix:path=/tmp/a%20b%2c").unwrap(),
            Socket::Path(b"/tmp/a b,".to_vec())
        );
        for bad in [
            "tcp:host=localhost,port=1",
            "unix:tmpdir=/tmp",
            "unix:path=/a,abstract=b",
            "unix:path=/a%2",
            "unix:path=/a%+1",
            "unix:",
        ] {
            assert!(
                matches!(parse_entry(bad), Err(Error::Address { .. })),
                "{bad}"
            );
        }
    }

    /// The bus side of a socket pair, speaking the protocol as a test scripts it.
    struct FakeBus(UnixStream);

    impl FakeBus {
        fn line(&mut self) -> String {
            let mut line = Vec::new();
            while !line.ends_with(b"\r\n") {
                let mut byte = [0];
                self.0.read_exact(&mut byte).expect("auth line");
                line.push(byte[0]);
            }
            String::from_utf8(line).expect("ASCII")
        }

        fn accept_auth(&mut self) {
            let mut nul = [1];
            self.0.read_exact(&mut nul).expect("NUL byte");
            assert_eq!(nul, [0]);
            let uid = nix::unistd::getuid().as_raw().to_string();
            let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
            assert_eq!(self.line(), format!("AUTH EXTERNAL {hex}\r\n"));
            self.0.write_all(b"OK 0123456789abcdef\r\n").unwrap();
            assert_eq!(self.line(), "BEGIN\r\n");
        }

        fn receive(&mut self) -> Message {
            let mut fixed = [0; FIXED_HEADER];
            self.0.read_exact(&mut fixed).expect("header");
            let mut bytes = vec![0; wire::message_len(&fixed).expect("length")];
            bytes[..FIXED_HEADER].copy_from_slice(&fixed);
            self.0.read_exact(&mut bytes[FIXED_HEADER..]).expect("rest");
            wire::decode(&bytes).expect("a well-formed call")
        }

        fn send(&mut self, kind: Kind, serial: u32, fields: &[(u8, Arg<'_>)], body: &[Arg<'_>]) {
            let bytes = wire::encode(kind, serial, fields, body).expect("encode");
            self.0.write_all(&bytes).expect("send");
        }

        /// Answers `Hello` with the unique name `:1.7`, then signals `NameAcquired`.
        fn accept_hello(&mut self) {
            let hello = self.receive();
            assert_eq!(hello.member.as_deref(), Some("Hello"));
            let reply_to = Arg::Uint32(hello.serial);
            self.send(
                Kind::MethodReturn,
                1,
                &[(field::REPLY_SERIAL, reply_to)],
                &[Arg::Str(":1.7")],
            );
            self.send(
                Kind::Signal,
                2,
                &[
                    (field::PATH, Arg::ObjectPath("/org/freedesktop/DBus")),
                    (field::INTERFACE, Arg::Str("org.freedesktop.DBus")),
                    (field::MEMBER, Arg::Str("NameAcquired")),
                ],
                &[Arg::Str(":1.7")],
            );
        }
    }

    fn set_ntp(enable: bool) -> [Arg<'static>; 2] {
        [Arg::Bool(enable), Arg::Bool(false)]
    }

    fn call<'a>(args: &'a [Arg<'a>]) -> MethodCall<'a> {
        MethodCall {
            destination: "org.freedesktop.timedate1",
            path: "/org/freedesktop/timedate1",
            interface: "org.freedesktop.timedate1",
            member: "SetNTP",
            args,
        }
    }

    #[test]
    fn calls_get_their_own_reply_past_signals_and_stale_replies() {
        let (client, server) = UnixStream::pair().unwrap();
        let bus = std::thread::spawn(move || {
            let mut bus = FakeBus(server);
            bus.accept_auth();
            bus.accept_hello();
            // SetNTP(true, false): a stale reply first, then an error for this call.
            let call = bus.receive();
            assert_eq!(call.member.as_deref(), Some("SetNTP"));
            assert_eq!(call.body, [Value::Bool(true), Value::Bool(false)]);
            bus.send(
                Kind::MethodReturn,
                3,
                &[(field::REPLY_SERIAL, Arg::Uint32(999))],
                &[],
            );
            bus.send(
                Kind::Error,
                4,
                &[
                    (
                        field::ERROR_NAME,
                        Arg::Str("org.freedesktop.DBus.Error.AccessDenied"),
                    ),
                    (field::REPLY_SERIAL, Arg::Uint32(call.serial)),
                ],
                &[Arg::Str("Access denied")],
            );
            // SetNTP(false, false): an empty return.
            let call = bus.receive();
            assert_eq!(call.body, [Value::Bool(false), Value::Bool(false)]);
            let reply_to = Arg::Uint32(call.serial);
            bus.send(
                Kind::MethodReturn,
                5,
                &[(field::REPLY_SERIAL, reply_to)],
                &[],
            );
            // A third call is answered with a header declaring 16 MiB.
            bus.receive();
            let mut huge = [b'l', 2, 0, 1, 0, 0, 0, 1, 6, 0, 0, 0, 0, 0, 0, 0];
            huge[4..8].copy_from_slice(&(16u32 << 20).to_le_bytes());
            bus.0.write_all(&huge).unwrap();
        });

        let mut connection = Connection::over(client, TIMEOUT).expect("connect");
        assert_eq!(connection.unique_name(), ":1.7");
        match connection.call(&call(&set_ntp(true))) {
            Err(Error::Method { name, message }) => {
                assert_eq!(name, "org.freedesktop.DBus.Error.AccessDenied");
                assert_eq!(message.as_deref(), Some("Access denied"));
            }
            other => panic!("expected the error reply, got {other:?}"),
        }
        assert_eq!(connection.call(&call(&set_ntp(false))).expect("reply"), []);
        let err = connection.call(&call(&set_ntp(true))).unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err}");
        assert!(!err.keeps_connection());
        bus.join().expect("the bus's script");
    }

    #[test]
    fn a_refused_authentication_is_an_error() {
        let (client, mut server) = UnixStream::pair().unwrap();
        let bus = std::thread::spawn(move || {
            let mut request = [0; 64];
            let _ = server.read(&mut request).unwrap();
            server.write_all(b"REJECTED DBUS_COOKIE_SHA1\r\n").unwrap();
        });
        let err = Connection::over(client, TIMEOUT).unwrap_err();
        assert!(
            matches!(&err, Error::Auth(reason) if reason == "REJECTED DBUS_COOKIE_SHA1"),
            "{err}"
        );
        bus.join().unwrap();
    }

    #[test]
    fn a_silent_bus_times_out() {
        let (client, _server) = UnixStream::pair().unwrap();
        let started = Instant::now();
        let err = Connection::over(client, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn a_closed_bus_is_an_error() {
        let (client, server) = UnixStream::pair().unwrap();
        drop(server);
        let err = Connection::over(client, TIMEOUT).unwrap_err();
        assert!(matches!(err, Error::Io(_) | Error::Closed), "{err}");
    }

    /// A private `dbus-daemon` on `listen`; `None` (the reason printed) where the machine
    /// has none.
    fn bare_bus(listen: &str) -> Option<BareBus> {
        BareBus::start(listen)
            .map_err(|reason| eprintln!("skipped: {reason}"))
            .ok()
    }

    fn bus_method<'a>(member: &'a str, args: &'a [Arg<'a>]) -> MethodCall<'a> {
        MethodCall {
            destination: "org.freedesktop.DBus",
            path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus",
            member,
            args,
        }
    }

    fn talk_to_a_real_daemon(daemon: &BareBus) {
        let mut connection = Connection::open(daemon.address(), TIMEOUT).expect("connect");
        assert!(connection.unique_name().starts_with(':'));
        let own = connection.unique_name().to_owned();
        let owner = connection
            .call(&bus_method("GetNameOwner", &[Arg::Str(&own)]))
            .expect("GetNameOwner");
        assert_eq!(owner, [Value::Str(own.clone())]);
        let has = connection
            .call(&bus_method(
                "NameHasOwner",
                &[Arg::Str("org.example.Nobody")],
            ))
            .expect("NameHasOwner");
        assert_eq!(has, [Value::Bool(false)]);
        match connection.call(&bus_method(
            "GetNameOwner",
            &[Arg::Str("org.example.Nobody")],
        )) {
            Err(Error::Method { name, message }) => {
                assert_eq!(name, "org.freedesktop.DBus.Error.NameHasNoOwner");
                assert!(message.is_some_and(|m| m.contains("org.example.Nobody")));
            }
            other => panic!("expected NameHasNoOwner, got {other:?}"),
        }
    }

    #[test]
    fn a_real_dbus_daemon_answers_on_a_socket_file() {
        let dir = tempfile::tempdir().unwrap();
        let listen = format!("unix:path={}", dir.path().join("bus").display());
        if let Some(daemon) = bare_bus(&listen) {
            assert!(
                daemon.address().starts_with(&listen),
                "{}",
                daemon.address()
            );
            talk_to_a_real_daemon(&daemon);
            // An entry this client cannot use is passed over for the next.
            let address = format!("tcp:host=127.0.0.1,port=9;{}", daemon.address());
            Connection::open(&address, TIMEOUT).expect("the unix: entry");
        }
    }

    #[test]
    fn a_real_dbus_daemon_answers_on_an_abstract_socket() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("/tmp/ipcam-dbus-test-{}-{nanos}", std::process::id());
        if let Some(daemon) = bare_bus(&format!("unix:abstract={name}")) {
            assert!(
                daemon.address().contains("abstract="),
                "{}",
                daemon.address()
            );
            talk_to_a_real_daemon(&daemon);
        }
    }

    #[test]
    fn a_missing_socket_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none");
        let address = format!("unix:path={};unix:path={}", path.display(), path.display());
        match Connection::open(&address, TIMEOUT) {
            Err(Error::Connect { target, .. }) => assert_eq!(target, path.display().to_string()),
            other => panic!("expected a connection error, got {other:?}"),
        }
    }
}
