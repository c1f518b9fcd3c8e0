//! Platform backends: where the camera's chapter-3 settings meet the operating system.
//!
//! `ipcam-api` defines the [`Platform`] trait and keeps the in-memory backend
//! ([`SimPlatform`], re-exported here), which the embedded default and the tests use. This
//! crate adds the backend for a real Linux camera, [`linux::LinuxPlatform`], which reads
//! facts from sysfs and procfs and acts on the OS through systemd's D-Bus services
//! ([`dbus`]), so that the daemon picks either from one place and `ipcam-api` stays free
//! of OS access.

pub mod config_files;
pub mod dbus;
pub mod linux;
pub mod reload;

pub use ipcam_api::platform::sim::SimPlatform;
pub use ipcam_api::platform::{Platform, PlatformError};
pub use linux::LinuxPlatform;
pub use reload::Reload;
