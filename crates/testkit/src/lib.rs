//! Real servers for tests, on 127.0.0.1: an FTP server (libunftp with its file system
//! backend), a small SMTP sink, a dyndns2 update server, and a private D-Bus with
//! systemd's services mocked by python-dbusmock ([`dbus`]), and the handle of servers a
//! test runs as child processes ([`process`]). The workers' own tests and
//! the daemon's black-box tests both talk to them, so there is one copy of each, not one
//! per test suite.
//!
//! Dev-only: no crate of the camera depends on it outside `[dev-dependencies]`.

use std::net::TcpListener;
use std::path::Path;

pub mod clips;
pub mod dbus;
pub mod dyndns;
pub mod ftp;
pub mod log_capture;
pub mod process;
pub mod smtp;

/// A port on 127.0.0.1 that nothing listens on (until a test starts a server there).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Lists the files under `root` (relative paths, sorted), directories excluded.
pub fn files_under(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
