//! Platform backends: where the camera's chapter-3 settings meet the operating system.
//!
//! `ipcam-api` defines the [`Platform`] trait and keeps the in-memory backend
//! ([`SimPlatform`], re-exported here), which the embedded default and the tests use. This
//! crate adds the backend for a real Linux camera, [`linux::LinuxPlatform`], so that the
//! daemon picks either from one place and `ipcam-api` stays free of OS access.

pub mod config_files;
pub mod linux;

pub use ipcam_api::platform::sim::SimPlatform;
pub use ipcam_api::platform::{Platform, PlatformError};
pub use linux::LinuxPlatform;
