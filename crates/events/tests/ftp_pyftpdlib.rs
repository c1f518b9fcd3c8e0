//! FTP upload to a second real server nobody here wrote: pyftpdlib (Python, from PyPI,
//! installed by `.ci/ftp-deps` into `target/ftp-venv`), on 127.0.0.1 with a port of its
//! own choosing, in passive and active mode. The client was written against libunftp's
//! behaviour (ftp_upload.rs); this shows it is RFC 959 and not one server's dialect.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{utc, wait_for, Camera};
use ipcam_api::{CameraTimeZone, UploadConfig};
use ipcam_events::{EmailSettings, Events, ManualClock, UploadSettings};
use ipcam_testkit::files_under;
use ipcam_testkit::process::ChildServer;

const PASSWORD: &str = "py-secret";

/// Starts an FTP server with user `camera` whose home is `root`, prints its port, and
/// serves until killed.
const SERVER: &str = r#"
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

logging.basicConfig(level=logging.WARNING)
root, password = sys.argv[1], sys.argv[2]
authorizer = DummyAuthorizer()
authorizer.add_user("camera", password, root, perm="elradfmwMT")
FTPHandler.authorizer = authorizer
server = FTPServer(("127.0.0.1", 0), FTPHandler)
print(server.socket.getsockname()[1], flush=True)
server.serve_forever()
"#;

/// The venv's Python, or `None` (with the skip message printed) when `.ci/ftp-deps` has
/// not run.
fn python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ftp-venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    println!(
        "skipped: pyftpdlib is not installed ({} is missing); run .ci/ftp-deps",
        python.display()
    );
    None
}

/// A pyftpdlib server; killed by its PID when dropped.
struct PyFtpd {
    _server: ChildServer,
    port: u16,
    root: tempfile::TempDir,
}

impl PyFtpd {
    fn start(python: &Path) -> PyFtpd {
        let root = tempfile::tempdir().expect("server root");
        let mut command = Command::new(python);
        command.args(["-c", SERVER]).arg(root.path()).arg(PASSWORD);
        let (server, line) =
            ChildServer::start(&mut command).unwrap_or_else(|reason| panic!("{reason}"));
        let port = line
            .parse()
            .unwrap_or_else(|_| panic!("pyftpdlib printed no port: {line:?}"));
        PyFtpd {
            _server: server,
            port,
            root,
        }
    }
}

#[test]
fn pyftpdlib_receives_the_upload_byte_for_byte_under_the_next_sequence_name() {
    let Some(python) = python() else { return };
    let camera = Camera::new();
    let jpeg = camera.reader().latest().expect("a frame").jpeg().to_vec();
    for passive in [true, false] {
        let server = PyFtpd::start(&python);
        let folder = server.root.path().join("camera/door");
        std::fs::create_dir_all(&folder).expect("folder");
        std::fs::write(folder.join("cam0004.jpg"), b"earlier").expect("earlier file");
        let upload = UploadConfig {
            host: "127.0.0.1".into(),
            port: server.port,
            user_name: "camera".into(),
            password: PASSWORD.into(),
            directory: "/camera/door".into(),
            passive: u8::from(passive),
            schedule_enable: 1,
            video_frequency_mode: 1,
            seconds_per_frame: 10,
            schedule_base_file_name: "cam".into(),
            schedule_file_mode: 2,
            schedule_max_sequence: 9,
            ..UploadConfig::default()
        };
        let clock = ManualClock::new(utc((2024, 6, 3), (12, 0, 0)));
        let events = Events::spawn(camera.reader(), clock).expect("workers start");
        events.update(
            UploadSettings::try_from(&upload).expect("valid settings"),
            EmailSettings::default(),
            CameraTimeZone::default(),
        );
        wait_for("the upload", Duration::from_secs(10), || {
            (events.upload_stats().delivered >= 1).then_some(())
        });
        let stats = events.upload_stats();
        assert_eq!(stats.failed, 0, "passive={passive}: {:?}", stats.last_error);
        drop(events);
        assert_eq!(
            files_under(server.root.path()),
            ["camera/door/cam0004.jpg", "camera/door/cam0005.jpg"],
            "passive={passive}"
        );
        let received = std::fs::read(folder.join("cam0005.jpg")).expect("uploaded file");
        assert!(received == jpeg, "passive={passive}: the bytes differ");
    }
}
