//! The daemon's own configuration: what is not part of the camera's CGI state.
//!
//! Listeners, the state directory, the frame source, hardware backends and limits come from
//! an optional TOML file (`--config`, `/etc/ipcamd/ipcamd.toml` under systemd) and can be
//! overridden on the command line. Every key has a default, so no file at all is the
//! embedded default: a synthetic camera on `127.0.0.1:8080` with state in `./ipcamd-state`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipcam_hal::HalConfig;

pub use crate::alarm::EventsConfig;
use ipcam_httpd::Limits;
use ipcam_ptz::PtzConfig;
use serde::Deserialize;

/// Why the configuration cannot be used; each names the file or key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's explanation, with line and key.
        message: String,
    },
    /// A value is out of its range.
    #[error("invalid config value {key}: {reason}")]
    Value {
        /// The key, e.g. `server.max_connections`.
        key: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The whole daemon configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Log filter: `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: String,
    /// Where the state file lives.
    pub state_dir: PathBuf,
    /// HTTP listeners and limits.
    pub server: ServerConfig,
    /// The frame source.
    pub capture: CaptureConfig,
    /// Pan-tilt motors and their motion profile.
    pub ptz: PtzConfig,
    /// Trigger outputs and inputs, LED, serial port.
    pub hal: HalConfig,
    /// Clock, network and wireless facts and actions.
    pub platform: PlatformConfig,
    /// ONVIF services and WS-Discovery.
    pub onvif: crate::onvif::OnvifConfig,
    /// SSDP announcements and router port mapping while `UPnPEnable=1`.
    pub upnp: crate::upnp::UpnpConfig,
    /// Event frames, the event log and the alarm inputs' debounce.
    pub events: EventsConfig,
    /// The RTSP server.
    pub rtsp: RtspConfig,
    /// The dynamic DNS updater.
    pub ddns: crate::ddns::DdnsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            log_level: "info".into(),
            state_dir: PathBuf::from("ipcamd-state"),
            server: ServerConfig::default(),
            capture: CaptureConfig::default(),
            ptz: PtzConfig::default(),
            hal: HalConfig::default(),
            platform: PlatformConfig::default(),
            onvif: crate::onvif::OnvifConfig::default(),
            upnp: crate::upnp::UpnpConfig::default(),
            events: EventsConfig::default(),
            rtsp: RtspConfig::default(),
            ddns: crate::ddns::DdnsConfig::default(),
        }
    }
}

/// `[rtsp]`: the RTSP server (MJPEG over RTP) for NVRs, VLC, ffmpeg and GStreamer.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtspConfig {
    /// Whether to serve RTSP at all.
    pub enabled: bool,
    /// Port, bound on the host of the first HTTP listener; ignored when systemd passes a
    /// socket named `rtsp`. 0 picks a free port (tests).
    pub port: u16,
    /// Most simultaneous RTSP connections; past it clients get `503`.
    pub max_connections: usize,
    /// Most sessions (viewers); past it SETUP gets `453`.
    pub max_sessions: usize,
    /// Seconds a UDP session lives without a request or RTCP report from its client.
    pub session_timeout_secs: u64,
}

impl Default for RtspConfig {
    fn default() -> Self {
        let limits = ipcam_rtsp::Limits::default();
        RtspConfig {
            enabled: true,
            port: 8554,
            max_connections: limits.max_connections,
            max_sessions: limits.max_sessions,
            session_timeout_secs: limits.session_timeout.as_secs(),
        }
    }
}

impl RtspConfig {
    /// The server limits these settings describe, with the HTTP server's request limits.
    pub fn limits(&self, server: &ServerConfig) -> ipcam_rtsp::Limits {
        ipcam_rtsp::Limits {
            max_head_bytes: server.max_head_bytes,
            max_connections: self.max_connections,
            max_sessions: self.max_sessions,
            request_timeout: Duration::from_secs(server.request_timeout_secs),
            session_timeout: Duration::from_secs(self.session_timeout_secs),
            stall_timeout: Duration::from_secs(server.stall_timeout_secs),
            realm: server.realm.clone(),
            ..ipcam_rtsp::Limits::default()
        }
    }
}

/// `[platform]`: where the network facts and the clock come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformConfig {
    /// `sim` (everything in memory, the embedded default) or `linux` (the real interface).
    pub backend: PlatformBackend,
    /// The wired interface whose MAC, address and link `/isystem.cgi` shows (`linux`).
    pub interface: String,
    /// The wireless interface, if the board has one (`linux`).
    pub wireless_interface: Option<String>,
    /// `Model` of `/isystem.cgi`.
    pub model: String,
    /// The D-Bus address of systemd's services (`linux`); unset: the system bus. Tests
    /// point it at a private bus.
    pub system_bus: Option<String>,
    /// The one directory the daemon writes OS-facing files into (`linux`): networkd,
    /// wpa_supplicant, timesyncd and PPPoE files, linked from their usual places.
    pub config_dir: PathBuf,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig {
            backend: PlatformBackend::Sim,
            interface: "eth0".into(),
            wireless_interface: None,
            model: "ipcam".into(),
            system_bus: None,
            config_dir: PathBuf::from("/etc/ipcamd/system"),
        }
    }
}

/// The platform backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlatformBackend {
    /// In-memory clock offset, network and wireless settings.
    Sim,
    /// sysfs, `getifaddrs` and the system clock; changes through systemd's D-Bus services.
    Linux,
}

/// `[server]`: listeners and the limits that protect them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Addresses to listen on; ignored when systemd passes sockets.
    pub listen: Vec<SocketAddr>,
    /// Most simultaneous connections; past it clients get `503`.
    pub max_connections: usize,
    /// Largest request head in bytes.
    pub max_head_bytes: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Seconds a request may take to arrive once started.
    pub request_timeout_secs: u64,
    /// Seconds an idle keep-alive connection stays open.
    pub keepalive_timeout_secs: u64,
    /// Seconds a client may take no data before its response or stream is dropped.
    pub stall_timeout_secs: u64,
    /// Seconds shutdown waits for responses in flight.
    pub drain_timeout_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see `client.rs`).
    pub trusted_proxies: Vec<IpAddr>,
    /// Realm of the Basic authentication challenge.
    pub realm: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let limits = Limits::default();
        ServerConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 8080))],
            max_connections: limits.max_connections,
            max_head_bytes: limits.max_head_bytes,
            max_body_bytes: limits.max_body_bytes,
            request_timeout_secs: limits.request_timeout.as_secs(),
            keepalive_timeout_secs: limits.keepalive_timeout.as_secs(),
            stall_timeout_secs: limits.stall_timeout.as_secs(),
            drain_timeout_secs: limits.drain_timeout.as_secs(),
            trusted_proxies: Vec::new(),
            realm: "ipcam".into(),
        }
    }
}

impl ServerConfig {
    /// The server limits these settings describe.
    pub fn limits(&self) -> Limits {
        Limits {
            max_head_bytes: self.max_head_bytes,
            max_body_bytes: self.max_body_bytes,
            max_connections: self.max_connections,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            keepalive_timeout: Duration::from_secs(self.keepalive_timeout_secs),
            stall_timeout: Duration::from_secs(self.stall_timeout_secs),
            drain_timeout: Duration::from_secs(self.drain_timeout_secs),
            ..Limits::default()
        }
    }
}

/// `[capture]`: where frames come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {
    /// `test`, `replay:PATH` or `v4l2:/dev/videoN`.
    pub source: String,
    /// Frames per second of `FrameRate=0` (Auto) for the test and replay sources.
    pub auto_fps: u32,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            source: "test".into(),
            auto_fps: 30,
        }
    }
}

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|err| ConfigError::Parse {
            path: path.to_owned(),
            message: err.to_string().trim_end().replace('\n', " "),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let server = &self.server;
        let checks: [(bool, &'static str, &'static str); 8] = [
            (
                server.max_connections == 0,
                "server.max_connections",
                "must be at least 1",
            ),
            (
                server.max_head_bytes < 256,
                "server.max_head_bytes",
                "must be at least 256",
            ),
            (
                server.request_timeout_secs == 0,
                "server.request_timeout_secs",
                "must be at least 1",
            ),
            (
                server.stall_timeout_secs == 0,
                "server.stall_timeout_secs",
                "must be at least 1",
            ),
            (
                !(1..=120).contains(&self.capture.auto_fps),
                "capture.auto_fps",
                "must be 1..=120",
            ),
            (
                self.rtsp.max_connections == 0,
                "rtsp.max_connections",
                "must be at least 1",
            ),
            (
                self.rtsp.max_sessions == 0,
                "rtsp.max_sessions",
                "must be at least 1",
            ),
            (
                self.rtsp.session_timeout_secs < 5,
                "rtsp.session_timeout_secs",
                "must be at least 5",
            ),
        ];
        let events = self.events.checks();
        let ddns = self.ddns.checks();
        match checks
            .into_iter()
            .chain(events)
            .chain(ddns)
            .find(|(bad, _, _)| *bad)
        {
            Some((_, key, reason)) => Err(ConfigError::Value { key, reason }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ipcamd.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    #[test]
    fn an_empty_file_is_the_embedded_default() {
        let config = parse("").unwrap();
        assert_eq!(
            config.server.listen,
            vec!["127.0.0.1:8080".parse().unwrap()]
        );
        assert_eq!(config.capture.source, "test");
        assert_eq!(config.server.limits().max_head_bytes, 8192);
        assert!(config.rtsp.enabled);
        assert_eq!(config.rtsp.port, 8554);
    }

    #[test]
    fn the_shipped_config_file_loads() {
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../../systemd/ipcamd.toml");
        let config = Config::load(Path::new(shipped)).unwrap();
        assert_eq!(config.state_dir, Path::new("/var/lib/ipcamd"));
    }

    #[test]
    fn hardware_sections_are_read() {
        let config = parse(
            "[ptz]\nswing_dwell_seconds = 2.0\n[hal.serial]\nbackend = \"sim\"\n\
             [platform]\nbackend = \"linux\"\ninterface = \"end0\"\n\
             system_bus = \"unix:path=/run/test-bus\"\nconfig_dir = \"/srv/system\"\n",
        )
        .unwrap();
        assert_eq!(config.ptz.swing_dwell_seconds, 2.0);
        assert_eq!(config.platform.backend, PlatformBackend::Linux);
        assert_eq!(config.platform.interface, "end0");
        assert_eq!(
            config.platform.system_bus.as_deref(),
            Some("unix:path=/run/test-bus")
        );
        assert_eq!(config.platform.config_dir, PathBuf::from("/srv/system"));
    }

    #[test]
    fn onvif_is_on_by_default_and_can_be_switched_off() {
        let config = parse("").unwrap();
        assert!(config.onvif.enabled && config.onvif.discovery);
        assert_eq!(config.onvif.discovery_port, 3702);
        let config = parse("[onvif]\nenabled = false\ndiscovery_port = 0\n").unwrap();
        assert!(!config.onvif.enabled);
        assert_eq!(config.onvif.discovery_port, 0);
        let err = parse("[onvif]\ndiscover = true\n").unwrap_err().to_string();
        assert!(err.contains("discover"), "{err}");
    }

    #[test]
    fn keys_override_defaults() {
        let config =
            parse("[server]\nlisten = [\"0.0.0.0:80\", \"[::]:81\"]\nmax_connections = 8\n")
                .unwrap();
        assert_eq!(config.server.listen.len(), 2);
        assert_eq!(config.server.limits().max_connections, 8);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_culprit() {
        let err = parse("[server]\nlisen = []\n").unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
        let err = parse("[server]\nmax_connections = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.max_connections"), "{err}");
        let err = parse("[rtsp]\nmax_sessions = 0\n").unwrap_err().to_string();
        assert!(err.contains("rtsp.max_sessions"), "{err}");
        let err = parse("[ddns]\nserver = \"ftp://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ddns.server"), "{err}");
        let err = Config::load(Path::new("/nonexistent/ipcamd.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ipcamd.toml"));
    }
}
