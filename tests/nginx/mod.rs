//! A real nginx (Debian's `nginx-light`) in front of a test camera, the way people put
//! cameras behind a reverse proxy: under the sub-path `/cam1/`, over plain HTTP or with
//! nginx ending TLS. The `location` block is the repository's own `docs/nginx-ipcam.conf`,
//! the snippet the README shows, with only the camera's address filled in: what is tested
//! is what people copy.
//!
//! nginx runs in the foreground as a single process (`master_process off`), on 127.0.0.1
//! and a free port, with every file it writes in a temporary directory; it is killed by its
//! PID on drop. Without nginx (or openssl, for the certificate) the harness installs them
//! with `.ci/web-deps` rather than skipping.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The snippet's line naming the camera, whose address becomes the test camera's.
const SNIPPET_UPSTREAM: &str = "proxy_pass http://192.168.1.20:80/;";

/// How long nginx may take to listen.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// The host name the browser uses for the proxy (mapped to 127.0.0.1): a name, not a
/// loopback address, so the browser treats the site like a proxy on the network.
pub const PROXY_HOST: &str = "camera.test";

/// The sub-path the snippet serves the camera under.
pub const SUB_PATH: &str = "/cam1/";

/// How the browser talks to nginx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    /// nginx ends TLS with a self-signed certificate made for the test.
    Https,
}

/// A running nginx proxying `SUB_PATH` to one camera; killed on drop.
pub struct Nginx {
    child: Child,
    /// The port nginx listens on, on 127.0.0.1.
    pub port: u16,
    scheme: Scheme,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx in front of the camera at `camera`.
    pub fn start(camera: SocketAddr, scheme: Scheme) -> Nginx {
        let binary = install_once();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ipcam.conf"), snippet_for(camera)).unwrap();
        if scheme == Scheme::Https {
            make_certificate(dir.path());
        }
        // A port found free may be taken before nginx binds it: try a few.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = ipcam_testkit::free_port();
            std::fs::write(
                dir.path().join("nginx.conf"),
                main_config(dir.path(), port, scheme),
            )
            .unwrap();
            let mut child = Command::new(&binary)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(dir.path().join("nginx.conf"))
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| panic!("starting {}: {err}", binary.display()));
            match wait_until_serving(&mut child, port, dir.path()) {
                Ok(()) => {
                    return Nginx {
                        child,
                        port,
                        scheme,
                        dir,
                    }
                }
                Err(error) => {
                    kill(&mut child);
                    last_error = error;
                }
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    /// The camera's page through the proxy: `http(s)://camera.test:PORT/cam1/`.
    pub fn base(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{PROXY_HOST}:{}{SUB_PATH}", self.port)
    }

    /// The Chromium switches that reach this proxy by name, and accept its certificate.
    pub fn browser_switches(&self) -> Vec<String> {
        let mut switches = vec![format!("--host-resolver-rules=MAP {PROXY_HOST} 127.0.0.1")];
        if self.scheme == Scheme::Https {
            switches.push("--ignore-certificate-errors".to_owned());
        }
        switches
    }

    /// The requests nginx passed on so far, one line each: `METHOD URI origin=… site=…`
    /// (`-` for a header the browser did not send).
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Waits until nginx answers on `port`: an answer from nginx, not from whatever else may
/// have taken the port since it was found free (nginx then retries its bind for seconds).
fn wait_until_serving(child: &mut Child, port: u16, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if answers_as_nginx(port) {
            return Ok(());
        }
        let exited = child.try_wait().expect("nginx status");
        if exited.is_some() || Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            return Err(format!("exit {exited:?}; error.log:\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether what listens on 127.0.0.1:`port` says it is nginx (over TLS too: nginx answers
/// plain HTTP on a TLS port with a 400 of its own).
fn answers_as_nginx(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = Vec::new();
    stream.write_all(b"HEAD / HTTP/1.0\r\n\r\n").is_ok()
        && stream.read_to_end(&mut answer).is_ok()
        && String::from_utf8_lossy(&answer).contains("\r\nServer: nginx")
}

/// Kills nginx by its PID and reaps it; nginx is one process (`master_process off`).
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Nginx {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// The repository's snippet, proxying to `camera`.
fn snippet_for(camera: SocketAddr) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/nginx-ipcam.conf");
    let snippet = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    assert_eq!(
        snippet.matches(SNIPPET_UPSTREAM).count(),
        1,
        "{} has the line `{SNIPPET_UPSTREAM}` once",
        path.display()
    );
    assert!(
        snippet.contains(&format!("location {SUB_PATH} {{")),
        "{} serves {SUB_PATH}",
        path.display()
    );
    snippet.replace(SNIPPET_UPSTREAM, &format!("proxy_pass http://{camera}/;"))
}

/// The rest of an nginx configuration around the snippet: foreground, one process, every
/// path in `dir`, one server on 127.0.0.1:`port`.
fn main_config(dir: &Path, port: u16, scheme: Scheme) -> String {
    let dir = dir.display();
    let (ssl, certificate) = match scheme {
        Scheme::Http => ("", String::new()),
        Scheme::Https => (
            " ssl",
            format!("ssl_certificate {dir}/cert.pem;\n        ssl_certificate_key {dir}/key.pem;"),
        ),
    };
    format!(
        "daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    log_format probe '$request_method $request_uri origin=$http_origin site=$http_sec_fetch_site';
    access_log {dir}/access.log probe;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port}{ssl};
        server_name {PROXY_HOST};
        {certificate}
        include {dir}/ipcam.conf;
    }}
}}
"
    )
}

/// A self-signed certificate for `PROXY_HOST`, with its key, as `cert.pem` and `key.pem`
/// in `dir`.
fn make_certificate(dir: &Path) {
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-days", "2", "-subj"])
        .arg(format!("/CN={PROXY_HOST}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{PROXY_HOST}"))
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("openssl runs (`bash .ci/web-deps` installs it)");
    assert!(
        status.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// The nginx binary, installed by `.ci/web-deps` first when missing (once per run).
fn install_once() -> PathBuf {
    const NGINX: &str = "/usr/sbin/nginx";
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if Path::new(NGINX).exists() && which("openssl") {
            return;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/web-deps");
        let status = Command::new("bash")
            .arg(&script)
            .status()
            .unwrap_or_else(|err| panic!("running {}: {err}", script.display()));
        assert!(status.success(), "{} failed: {status}", script.display());
    });
    assert!(
        Path::new(NGINX).exists(),
        "{NGINX} missing after .ci/web-deps"
    );
    PathBuf::from(NGINX)
}

/// Whether `program` is on the `PATH`.
fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[test]
fn the_readme_shows_the_tested_snippet() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let snippet = std::fs::read_to_string(root.join("docs/nginx-ipcam.conf")).unwrap();
    assert!(
        readme.contains(&format!("```nginx\n{snippet}```")),
        "README.md shows docs/nginx-ipcam.conf as it is"
    );
}
