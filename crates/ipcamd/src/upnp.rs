//! UPnP as the daemon runs it: the `[upnp]` config section, the camera's UPnP identity
//! (its UUID and the description served at [`ipcam_upnp::DESCRIPTION_PATH`]), and the
//! SSDP thread and router port mapper switched on and off with `UPnPEnable` of
//! `/network.cgi`.
//!
//! `UPnPEnable=1` announces the camera (SSDP) and serves its description; the daemon's
//! `[upnp] port_mapping` says whether it also opens its HTTP ports on the router. Opening
//! a camera to the internet is a decision of whoever installs it, and the spec has no
//! switch for it, so it is off unless the config file asks for it.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use ipcam_api::State;
use ipcam_upnp::{MappingConfig, PortMapper, Ssdp, SsdpConfig};
use serde::Deserialize;

use crate::config_worker::write_private_atomically;

/// `[upnp]` of the daemon's config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpnpConfig {
    /// Announce the camera over SSDP while `UPnPEnable=1` (tests switch it off, or on
    /// loopback only, see the README).
    pub ssdp: bool,
    /// UDP port of SSDP: 1900, the protocol's; 0 picks any.
    pub ssdp_port: u16,
    /// Map the HTTP port(s) on the router (IGD) while `UPnPEnable=1`.
    pub port_mapping: bool,
    /// Where the search for the router goes: the SSDP group, or a test gateway.
    pub gateway_search: SocketAddr,
    /// The lease of a mapping in seconds; renewed at half of it.
    pub lease_seconds: u32,
}

impl Default for UpnpConfig {
    fn default() -> Self {
        UpnpConfig {
            ssdp: true,
            ssdp_port: ipcam_upnp::ssdp::SSDP_PORT,
            port_mapping: false,
            gateway_search: SocketAddr::from((
                ipcam_upnp::ssdp::MULTICAST_GROUP,
                ipcam_upnp::ssdp::SSDP_PORT,
            )),
            lease_seconds: 3600,
        }
    }
}

/// What the description route needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) uuid: String,
    pub(crate) model: String,
    /// The main listener's address: the authority of the page's URL without `Host`.
    pub(crate) fallback_authority: String,
}

impl Identity {
    /// The description for `state`, or `None` while `UPnPEnable=0`.
    pub(crate) fn description(&self, state: &State, host: Option<&str>) -> Option<String> {
        if state.network.upnp_enable != 1 {
            return None;
        }
        let authority = ipcam_onvif::authority(host, &self.fallback_authority);
        let page = format!("http://{authority}/");
        Some(
            ipcam_upnp::Device {
                friendly_name: &state.system.camera_name,
                model: &self.model,
                uuid: &self.uuid,
                presentation_url: &page,
            }
            .to_xml(),
        )
    }
}

/// The file in the state directory holding the UUID of a camera without a MAC.
const UUID_FILE: &str = "upnp-uuid";

/// The camera's UUID: derived from the MAC and the main HTTP port, or (no MAC) drawn once
/// and kept in the state directory, so that control points know the camera again after a
/// restart.
pub(crate) fn camera_uuid(mac: [u8; 6], http_port: u16, state_dir: &Path) -> String {
    if mac != [0; 6] {
        return ipcam_upnp::device_uuid(&mac, http_port);
    }
    if let Ok(stored) = std::fs::read_to_string(state_dir.join(UUID_FILE)) {
        let stored = stored.trim();
        if stored.len() == 36 {
            return stored.to_owned();
        }
    }
    let uuid = match ipcam_upnp::description::random_uuid() {
        Ok(uuid) => uuid,
        Err(err) => {
            log::warn!("UPnP: no random source for the camera's UUID: {err}");
            ipcam_upnp::device_uuid(&mac, http_port)
        }
    };
    if let Err(err) = write_private_atomically(state_dir, UUID_FILE, &uuid) {
        log::warn!(
            "UPnP: cannot keep the UUID in {}: {err}",
            state_dir.display()
        );
    }
    uuid
}

/// The SSDP thread and the port mapper, matched to the state by [`Upnp::apply`].
pub(crate) struct Upnp {
    config: UpnpConfig,
    http: SocketAddr,
    uuid: String,
    ssdp: Option<Ssdp>,
    /// The mapper and the ports it maps.
    mapper: Option<(PortMapper, Vec<u16>)>,
}

impl Upnp {
    pub(crate) fn new(config: UpnpConfig, http: SocketAddr, uuid: String) -> Self {
        Upnp {
            config,
            http,
            uuid,
            ssdp: None,
            mapper: None,
        }
    }

    /// Starts or stops announcing and mapping as `state` says; unchanged parts keep
    /// running. Failures are logged: a camera that cannot announce itself still serves.
    pub(crate) fn apply(&mut self, state: &State) {
        let enabled = state.network.upnp_enable == 1;
        if !enabled && (self.ssdp.is_some() || self.mapper.is_some()) {
            log::info!("UPnP disabled: saying goodbye, removing port mappings");
        }
        if !enabled || !self.config.ssdp {
            self.ssdp = None;
        } else if self.ssdp.is_none() {
            let mut ssdp = SsdpConfig::new(self.uuid.clone(), self.http);
            ssdp.port = self.config.ssdp_port;
            self.ssdp = Ssdp::spawn(ssdp)
                .map_err(|err| log::error!("SSDP not started: {err}"))
                .ok();
        }
        let ports: Vec<u16> = std::iter::once(self.http.port())
            .chain(state.network.second_port())
            .collect();
        let wanted = enabled && self.config.port_mapping;
        if !wanted
            || self
                .mapper
                .as_ref()
                .is_some_and(|(_, mapped)| *mapped != ports)
        {
            // Dropping the mapper removes its mappings before a new one adds others.
            self.mapper = None;
        }
        if wanted && self.mapper.is_none() {
            let mut mapping = MappingConfig::new(
                self.http,
                ports.clone(),
                format!("{} (ipcam HTTP)", state.system.camera_name),
            );
            mapping.search_to = self.config.gateway_search;
            mapping.lease = std::time::Duration::from_secs(self.config.lease_seconds.into());
            self.mapper = PortMapper::spawn(mapping)
                .map_err(|err| log::error!("UPnP port mapping not started: {err}"))
                .ok()
                .map(|mapper| (mapper, ports));
        }
    }

    /// The router's external address while the ports are mapped.
    pub(crate) fn external_ip(&self) -> Option<IpAddr> {
        self.mapper
            .as_ref()
            .and_then(|(mapper, _)| mapper.status().external_ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upnp_announces_but_maps_no_port_unless_asked() {
        let config: UpnpConfig = toml::from_str("").unwrap();
        assert!(config.ssdp && !config.port_mapping);
        assert_eq!(config.ssdp_port, 1900);
        assert_eq!(config.gateway_search.to_string(), "239.255.255.250:1900");
        let config: UpnpConfig =
            toml::from_str("port_mapping = true\ngateway_search = \"127.0.0.1:1900\"").unwrap();
        assert!(config.port_mapping);
        let err = toml::from_str::<UpnpConfig>("portmapping = true")
            .unwrap_err()
            .to_string();
        assert!(err.contains("portmapping"), "{err}");
        let err = toml::from_str::<UpnpConfig>("gateway_search = \"router\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("socket address"), "{err}");
    }

    #[test]
    fn a_camera_without_a_mac_keeps_the_uuid_it_drew() {
        let dir = tempfile::tempdir().unwrap();
        let first = camera_uuid([0; 6], 80, dir.path());
        assert_eq!(first.len(), 36);
        assert_eq!(camera_uuid([0; 6], 80, dir.path()), first);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(camera_uuid([0; 6], 80, other.path()), first);
        assert_eq!(
            camera_uuid([2, 0, 0, 0, 0, 1], 80, dir.path()),
            ipcam_upnp::device_uuid(&[2, 0, 0, 0, 0, 1], 80)
        );
    }
}
