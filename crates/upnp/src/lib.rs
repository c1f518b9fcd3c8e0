//! UPnP for the camera (`UPnPEnable` of `/network.cgi`): so that it shows up in Windows'
//! network view and in UPnP scanners, and can open its HTTP ports on the router.
//!
//! - [`ssdp`]: announcements and answers to searches (SSDP, UPnP Device Architecture 1.1);
//! - [`description`]: the device description the announcements point at, and the
//!   camera's stable UUID;
//! - [`igd`]: port mapping on the router's Internet Gateway Device, over [`gateway`]'s
//!   small IGD client;
//! - [`multicast`]: where a discovery protocol joins its group (shared with WS-Discovery).

#![warn(missing_docs)]

pub mod description;
pub mod gateway;
pub mod igd;
pub mod multicast;
pub mod ssdp;

pub use description::{device_uuid, Device, DESCRIPTION_PATH};
pub use igd::{MappingConfig, MappingStatus, PortMapper};
pub use ssdp::{Ssdp, SsdpConfig};
