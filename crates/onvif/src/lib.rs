//! ONVIF Profile S for the ipcam camera: the device, media (ver10) and PTZ (ver20)
//! services over SOAP 1.2, their WS-Security UsernameToken login, and WS-Discovery.
//!
//! Modern NVRs (Frigate, Blue Iris, Home Assistant, Synology, ZoneMinder's ONVIF mode,
//! Agent DVR) find cameras by WS-Discovery, ask ONVIF for the stream and snapshot URIs
//! and steer through ONVIF PTZ. This crate turns those SOAP requests into calls on the
//! [`Camera`] trait, which the daemon implements over its frame ring, user table and
//! pan-tilt controller; it knows no camera itself and opens no TCP socket (the daemon's
//! HTTP server carries the SOAP requests to [`Onvif::handle`]). [`Discovery`] runs its
//! own UDP thread. The services answer at `/onvif/device_service`, `/onvif/media_service`
//! and `/onvif/ptz_service` (the daemon routes those paths here; each takes every
//! operation, dispatched by its namespace) and name those addresses in their answers.
//!
//! XML is read with `quick-xml` into a bounded tree; a DOCTYPE is refused outright, so an
//! entity-expansion "XML bomb" is never expanded (see [`xml`]).

pub mod camera;
mod device;
pub mod discovery;
mod media;
mod ptz;
pub mod security;
mod service;
pub mod soap;
pub mod space;
pub mod xml;

pub use camera::{
    Camera, ClockInfo, DeviceInfo, Level, LoginError, Motion, NetworkFacts, PanTilt, PresetInfo,
    PtzRefusal, UserInfo, VideoInfo,
};
pub use device::scope_uris;
pub use discovery::{Discovery, DiscoveryConfig, DISCOVERY_PORT};
pub use service::{authority, Answer, Onvif, SoapRequest, CONTENT_TYPE};
