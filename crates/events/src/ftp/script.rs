//! A scripted FTP server for the client's unit tests: one thread on a loopback port that
//! plays one dialogue, written out reply by reply from RFC 959 §5.4, and panics (failing
//! the test when joined) as soon as the client sends anything else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use super::control::accept_within;

/// Longest wait for the client in a script: a client that stalls fails the test.
const PATIENCE: Duration = Duration::from_secs(5);

/// The server's side of one control connection.
pub struct Peer {
    control: BufReader<TcpStream>,
}

/// A script running on 127.0.0.1; the client connects to `port`.
pub struct Scripted<T> {
    pub port: u16,
    thread: JoinHandle<T>,
}

impl<T> Scripted<T> {
    /// What the script returned; its panic, if the dialogue went otherwise.
    pub fn finish(self) -> T {
        self.thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// Runs `script` for the first client on 127.0.0.1.
pub fn serve<T: Send + 'static>(
    script: impl FnOnce(&mut Peer) -> T + Send + 'static,
) -> Scripted<T> {
    serve_on(IpAddr::V4(Ipv4Addr::LOCALHOST), script).expect("127.0.0.1")
}

/// Runs `script` for the first client on `ip`; `None` when `ip` cannot be bound (no IPv6).
pub fn serve_on<T: Send + 'static>(
    ip: IpAddr,
    script: impl FnOnce(&mut Peer) -> T + Send + 'static,
) -> Option<Scripted<T>> {
    let listener = TcpListener::bind((ip, 0)).ok()?;
    let port = listener.local_addr().ok()?.port();
    let thread = std::thread::spawn(move || {
        let stream = accept_within(&listener, PATIENCE).expect("the client connects");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        script(&mut Peer {
            control: BufReader::new(stream),
        })
    });
    Some(Scripted { port, thread })
}

impl Peer {
    /// Sends `reply`; its lines are separated by `\n` here and sent with CRLF.
    pub fn say(&mut self, reply: &str) {
        let wire: String = reply.lines().map(|line| format!("{line}\r\n")).collect();
        self.send(wire.as_bytes());
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.control
            .get_mut()
            .write_all(bytes)
            .expect("client listens");
    }

    /// Sends bytes as they are; `false` once the client has closed the connection.
    pub fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.control.get_mut().write_all(bytes).is_ok()
    }

    /// The next command line, without its CRLF; `None` when the client closed.
    pub fn hear(&mut self) -> Option<String> {
        let mut line = String::new();
        let read = self
            .control
            .read_line(&mut line)
            .expect("a command in time");
        (read > 0).then(|| {
            assert!(line.ends_with("\r\n"), "commands end in CRLF: {line:?}");
            line.trim_end_matches("\r\n").to_owned()
        })
    }

    /// Checks that the next command is `command`, then answers `reply`.
    pub fn answer(&mut self, command: &str, reply: &str) {
        assert_eq!(self.hear().as_deref(), Some(command));
        self.say(reply);
    }

    /// Greets and logs in user `camera` with password `pw`, binary type.
    pub fn login(&mut self) {
        self.say("220 scripted server ready");
        self.answer("USER camera", "331 User name okay, need password.");
        self.answer("PASS pw", "230 User logged in, proceed.");
        self.answer("TYPE I", "200 Command okay.");
    }

    /// Checks that the client says `QUIT` and closes.
    pub fn goodbye(&mut self) {
        self.answer("QUIT", "221 Service closing control connection.");
        assert_eq!(self.hear(), None, "the client closes after QUIT");
    }

    /// Answers `PASV` and then `command` (a `STOR`), and returns the file received.
    pub fn take_passive_upload(&mut self, command: &str) -> Vec<u8> {
        let data = self.data_listener();
        let [p1, p2] = data.local_addr().expect("port").port().to_be_bytes();
        self.answer(
            "PASV",
            &format!("227 Entering Passive Mode (127,0,0,1,{p1},{p2})."),
        );
        self.answer(command, "150 Ok to send data.");
        let received = Peer::receive(Peer::accept(&data));
        self.say("226 Transfer complete.");
        received
    }

    /// A data port for passive mode on the control connection's address.
    pub fn data_listener(&self) -> TcpListener {
        let ip = self.control.get_ref().local_addr().expect("address").ip();
        TcpListener::bind((ip, 0)).expect("data port")
    }

    /// Accepts the client's passive data connection on `listener`.
    pub fn accept(listener: &TcpListener) -> TcpStream {
        let data = accept_within(listener, PATIENCE).expect("the client opens the data connection");
        data.set_read_timeout(Some(PATIENCE)).expect("timeout");
        data
    }

    /// Connects to the port the client announced (active mode).
    pub fn connect(address: SocketAddr) -> TcpStream {
        let data = TcpStream::connect_timeout(&address, PATIENCE).expect("client listens");
        data.set_read_timeout(Some(PATIENCE)).expect("timeout");
        data
    }

    /// Everything the client sends on `data` until it closes it.
    pub fn receive(mut data: TcpStream) -> Vec<u8> {
        let mut received = Vec::new();
        data.read_to_end(&mut received).expect("the file");
        received
    }
}
