//! Port mapping on the router (UPnP Internet Gateway Device, WANIPConnection or
//! WANPPPConnection): the camera's HTTP ports opened from the internet side.
//!
//! A thread finds the gateway with an `M-SEARCH` (from the address the camera serves
//! HTTP on, so a camera on loopback searches on loopback only), maps each HTTP port to
//! the same external port with `AddPortMapping` for a lease, asks the router for its
//! external address (what `/inetwork.cgi` shows), and renews the mappings at half the
//! lease. When it stops it removes them with `DeletePortMapping`. A router that cannot
//! be found or refuses is tried again with a growing back-off, and said once in the log
//! per episode, not on every try.
//!
//! The SOAP calls and the router's description are [`crate::gateway`]'s.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::gateway::{self, Gateway, GatewayError};
use crate::multicast;
use crate::ssdp::{MULTICAST_GROUP, SSDP_PORT};

/// How long a mapping lives on the router unless renewed.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(3600);
/// First wait after a failure; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// How long a search waits for gateways to answer.
const SEARCH_TIME: Duration = Duration::from_secs(3);
/// How long stopping waits for the mappings to be removed.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// What to map.
#[derive(Debug, Clone)]
pub struct MappingConfig {
    /// The HTTP listener: its address (unless all) is where the search leaves from and
    /// what the router forwards to.
    pub http: SocketAddr,
    /// The TCP ports to map (the main HTTP port, the second one when enabled).
    pub ports: Vec<u16>,
    /// Where the gateway search goes: the SSDP group, or a test gateway's address.
    pub search_to: SocketAddr,
    /// The lease asked for; renewed at half of it.
    pub lease: Duration,
    /// The mapping's description on the router (the camera's name).
    pub description: String,
}

impl MappingConfig {
    /// The protocol's search address and the default lease.
    pub fn new(http: SocketAddr, ports: Vec<u16>, description: String) -> Self {
        MappingConfig {
            http,
            ports,
            search_to: SocketAddr::from((MULTICAST_GROUP, SSDP_PORT)),
            lease: DEFAULT_LEASE,
            description,
        }
    }
}

/// What the mapper has achieved, for the status page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingStatus {
    /// The router's external address, once the ports are mapped.
    pub external_ip: Option<IpAddr>,
    /// The ports mapped now.
    pub mapped: Vec<u16>,
}

/// The running mapper; dropping it removes the mappings (waiting a few seconds at most).
pub struct PortMapper {
    stop: Option<mpsc::Sender<()>>,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
    status: Arc<Mutex<MappingStatus>>,
}

impl PortMapper {
    /// Starts mapping `config.ports`.
    pub fn spawn(config: MappingConfig) -> std::io::Result<PortMapper> {
        let (stop, stop_rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let status = Arc::new(Mutex::new(MappingStatus::default()));
        let mut mapper = Mapper {
            config,
            status: Arc::clone(&status),
            gateway: None,
            search_again: false,
            local: None,
        };
        let thread = std::thread::Builder::new()
            .name("upnp-igd".into())
            .spawn(move || {
                mapper.run(&stop_rx);
                let _ = done_tx.send(());
            })?;
        Ok(PortMapper {
            stop: Some(stop),
            done,
            thread: Some(thread),
            status,
        })
    }

    /// The current status.
    pub fn status(&self) -> MappingStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for PortMapper {
    fn drop(&mut self) {
        drop(self.stop.take());
        // A router that does not answer must not hold up whoever stops the mapper: after
        // STOP_WAIT the thread finishes on its own.
        if self.done.recv_timeout(STOP_WAIT).is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        } else {
            log::warn!("UPnP: the router did not confirm the removal of the port mappings");
        }
    }
}

/// Why a round of mapping failed.
#[derive(Debug, thiserror::Error)]
enum MapError {
    #[error("{0}")]
    Gateway(#[from] GatewayError),
    #[error("port {0}: {1}")]
    Add(u16, GatewayError),
    #[error("the router's address {0} is not IPv4")]
    NotIpv4(SocketAddr),
}

struct Mapper {
    config: MappingConfig,
    status: Arc<Mutex<MappingStatus>>,
    /// The router last found: kept after a failure, so that the ports it may still map
    /// are removed at stop; searched for again before the next try.
    gateway: Option<Gateway>,
    search_again: bool,
    /// The camera's address as the router sees it (NewInternalClient).
    local: Option<IpAddr>,
}

impl Mapper {
    fn run(&mut self, stop: &mpsc::Receiver<()>) {
        let mut backoff = FIRST_BACKOFF;
        let mut failing = false;
        loop {
            let wait = match self.map_all() {
                Ok(()) => {
                    if failing {
                        log::info!("UPnP: the router maps the HTTP ports again");
                    }
                    failing = false;
                    backoff = FIRST_BACKOFF;
                    self.config.lease / 2
                }
                Err(err) => {
                    if !failing {
                        log::warn!("UPnP port mapping: {err}; retrying with back-off");
                    }
                    failing = true;
                    self.search_again = true;
                    self.update_status(|status| status.external_ip = None);
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            match stop.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.unmap_all();
    }

    fn update_status(&self, change: impl FnOnce(&mut MappingStatus)) {
        change(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn search(&self) -> Result<Gateway, MapError> {
        let from = match self.config.http.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ip => ip,
        };
        Ok(gateway::search(from, self.config.search_to, SEARCH_TIME)?)
    }

    /// Finds the gateway if needed, (re)maps every port and reads the external address.
    /// Each port is recorded as mapped as soon as the router accepts it, so that a later
    /// failure still leaves it to be removed at stop.
    fn map_all(&mut self) -> Result<(), MapError> {
        if self.gateway.is_none() || self.search_again {
            self.gateway = Some(self.search()?);
            self.search_again = false;
        }
        let Some(gateway) = &self.gateway else {
            return Ok(());
        };
        let local = multicast::local_address_towards(self.config.http.ip(), gateway.addr.ip());
        if !local.is_ipv4() {
            return Err(MapError::NotIpv4(gateway.addr));
        }
        let lease = u32::try_from(self.config.lease.as_secs()).unwrap_or(u32::MAX);
        for &port in &self.config.ports {
            gateway
                .add_port_mapping(
                    port,
                    SocketAddr::new(local, port),
                    lease,
                    &self.config.description,
                )
                .map_err(|err| MapError::Add(port, err))?;
            self.update_status(|status| {
                if !status.mapped.contains(&port) {
                    status.mapped.push(port);
                }
            });
        }
        let external_ip = gateway.external_ip()?;
        if self.local != Some(local) {
            log::info!(
                "UPnP: router {} maps TCP {:?} of {external_ip} to {local}",
                gateway.addr,
                self.config.ports
            );
        }
        self.update_status(|status| status.external_ip = Some(external_ip));
        self.local = Some(local);
        Ok(())
    }

    fn unmap_all(&mut self) {
        let mapped =
            std::mem::take(&mut *self.status.lock().unwrap_or_else(PoisonError::into_inner)).mapped;
        let Some(gateway) = &self.gateway else { return };
        for port in mapped {
            match gateway.delete_port_mapping(port) {
                Ok(()) => log::info!("UPnP: port mapping of TCP {port} removed"),
                Err(err) => log::warn!("UPnP: cannot remove the mapping of TCP {port}: {err}"),
            }
        }
    }
}
