//! A dyndns2 update server on 127.0.0.1, as Dyn's `members.dyndns.org` answers: checks
//! Basic authentication and the query of `GET /nic/update?hostname=H[&myip=IP]`, answers
//! `good IP` (or what the test scripts: `nochg`, `badauth`, `abuse`, `911`...), and
//! records every request so that a test can see what the camera sent. It is also a
//! "check IP" service at [`CHECK_IP_PATH`], answering the public address the test sets.
//!
//! Plain HTTP ([`Server::start`]) or HTTPS with a CA made for the run
//! ([`Server::start_tls`]). One thread, one request per connection
//! (`Connection: close`), bounded reads.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;

/// The account the server knows.
pub const USER: &str = "cam-owner";
/// Its password.
pub const PASSWORD: &str = "Dd-Pa55word";

/// Where the server answers as checkip.dyndns.org does.
pub const CHECK_IP_PATH: &str = "/checkip";

/// Longest request head read.
const MAX_HEAD: u64 = 8192;

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Request method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// `hostname` of the query, decoded.
    pub hostname: Option<String>,
    /// `myip` of the query.
    pub myip: Option<String>,
    /// The user name and password of the Basic `Authorization` header.
    pub credentials: Option<(String, String)>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<String>,
    updates: Vec<Update>,
    public_address: Option<String>,
    checks: usize,
}

/// A running server; stops on drop.
pub struct Server {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    tls: bool,
}

impl Server {
    /// Starts a server on a free port.
    pub fn start() -> Server {
        Server::start_on(0).expect("bind the dyndns2 server")
    }

    /// Starts a server on `port` of 127.0.0.1 (a port a test chose before).
    pub fn start_on(port: u16) -> std::io::Result<Server> {
        Server::spawn(port, None)
    }

    /// Starts an HTTPS server on a free port, with a certificate for 127.0.0.1 signed by
    /// a CA made for this server; returns the CA's certificate (PEM) for the client.
    pub fn start_tls() -> (Server, String) {
        let (tls, ca_pem) = tls_config();
        let server = Server::spawn(0, Some(tls)).expect("bind the dyndns2 server");
        (server, ca_pem)
    }

    fn spawn(port: u16, tls: Option<Arc<rustls::ServerConfig>>) -> std::io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let tls_on = tls.is_some();
        let addr = listener.local_addr()?;
        let inner = Arc::new(Mutex::new(Inner::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let inner = Arc::clone(&inner);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("dyndns2-server".into())
                .spawn(move || serve(&listener, tls.as_ref(), &inner, &stop))?
        };
        Ok(Server {
            addr,
            inner,
            stop,
            thread: Some(thread),
            tls: tls_on,
        })
    }

    /// The base URL to configure the camera with: `http://127.0.0.1:PORT`, or
    /// `https://` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers the next requests with these bodies, in order, whatever they carry;
    /// after them the server answers as Dyn would.
    pub fn script(&self, answers: &[&str]) {
        let mut inner = self.inner.lock().expect("server lock");
        inner.script.extend(answers.iter().map(|a| (*a).to_owned()));
    }

    /// Every update request so far, oldest first.
    pub fn updates(&self) -> Vec<Update> {
        self.inner.lock().expect("server lock").updates.clone()
    }

    /// What [`CHECK_IP_PATH`] answers from now on: `Current IP Address: ADDRESS`.
    pub fn set_public_address(&self, address: &str) {
        self.inner.lock().expect("server lock").public_address = Some(address.to_owned());
    }

    /// How many times [`CHECK_IP_PATH`] was asked.
    pub fn checks(&self) -> usize {
        self.inner.lock().expect("server lock").checks
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept call.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: &TcpListener,
    tls: Option<&Arc<rustls::ServerConfig>>,
    inner: &Mutex<Inner>,
    stop: &AtomicBool,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        match tls {
            Some(config) => {
                let Ok(connection) = rustls::ServerConnection::new(Arc::clone(config)) else {
                    continue;
                };
                let mut stream = rustls::StreamOwned::new(connection, stream);
                exchange(&mut stream, peer, inner);
                stream.conn.send_close_notify();
                let _ = stream.flush();
            }
            None => exchange(&mut &stream, peer, inner),
        }
    }
}

/// Reads one request from `stream` and answers it.
fn exchange(stream: &mut (impl Read + Write), peer: SocketAddr, inner: &Mutex<Inner>) {
    let Some(update) = read_update(&mut *stream) else {
        return;
    };
    let body = {
        let mut inner = inner.lock().expect("server lock");
        if update.path == CHECK_IP_PATH {
            inner.checks += 1;
            let address = inner
                .public_address
                .clone()
                .unwrap_or_else(|| peer.ip().to_string());
            drop(inner);
            let body = format!(
                "<html><head><title>Current IP Check</title></head>\
                 <body>Current IP Address: {address}</body></html>"
            );
            return respond(stream, "text/html", &body);
        }
        let body = inner
            .script
            .pop_front()
            .unwrap_or_else(|| answer_as_dyn(&update, peer));
        inner.updates.push(update);
        body
    };
    respond(stream, "text/plain", &body);
}

/// Sends a 200 with `body`, then the connection ends.
fn respond(stream: &mut impl Write, content_type: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A CA, and a certificate for 127.0.0.1 that it signed, as a rustls server config; the
/// CA's certificate as PEM.
fn tls_config() -> (Arc<rustls::ServerConfig>, String) {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ipcam test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let key = rcgen::KeyPair::generate().expect("server key");
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("server params");
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .expect("server certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server certificate and key");
    (Arc::new(config), ca.pem())
}

/// What Dyn answers an unscripted request.
fn answer_as_dyn(update: &Update, peer: SocketAddr) -> String {
    if update.path != "/nic/update" {
        return "badagent".into();
    }
    if update.credentials != Some((USER.into(), PASSWORD.into())) {
        return "badauth".into();
    }
    match &update.hostname {
        Some(host) if host.contains('.') => {}
        _ => return "notfqdn".into(),
    }
    let ip = update.myip.clone().unwrap_or_else(|| peer.ip().to_string());
    format!("good {ip}")
}

fn read_update(stream: impl Read) -> Option<Update> {
    let mut reader = BufReader::new(Read::take(stream, MAX_HEAD));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut update = Update {
        method,
        path: path.to_owned(),
        hostname: query_value(query, "hostname"),
        myip: query_value(query, "myip"),
        credentials: None,
        user_agent: None,
    };
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("authorization") {
            update.credentials = basic_credentials(value);
        } else if name.eq_ignore_ascii_case("user-agent") {
            update.user_agent = Some(value.to_owned());
        }
    }
    Some(update)
}

fn basic_credentials(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_decode(value))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
