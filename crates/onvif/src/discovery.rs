//! WS-Discovery (2005/04, as ONVIF uses it): how NVRs find the camera.
//!
//! A thread listens on UDP port 3702, joined to the multicast group 239.255.255.250 where
//! the camera serves HTTP (the rule SSDP follows too: `ipcam_upnp::multicast`), and
//! answers every `Probe` whose types and scopes the camera matches with a `ProbeMatch`
//! sent to the prober: types `dn:NetworkVideoTransmitter tds:Device`, the scopes of
//! `GetScopes`, the device service address as XAddrs, and an endpoint reference that
//! stays the same across restarts (a name-based UUID of the MAC). A `Hello` goes to the
//! group on each of those interfaces when the thread starts and a `Bye` when it stops.
//! Where the group cannot be
//! joined (no multicast route), the thread still answers unicast probes and says so in
//! the log. Replies are rate-limited, so the camera cannot be used to amplify a flood of
//! spoofed probes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use ipcam_upnp::description;
use ipcam_upnp::multicast::{self, AnswerBudget, GroupMember};

use crate::soap::{self, NS_WSA};
use crate::xml::{escape, Element};

/// The WS-Discovery multicast group.
pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// The WS-Discovery port.
pub const DISCOVERY_PORT: u16 = 3702;
/// WS-Discovery 2005/04.
const NS_DISCOVERY: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
/// How often the thread looks at its stop flag while no datagram arrives.
const POLL: Duration = Duration::from_millis(200);
/// Most answers per second; probes beyond it are dropped.
const MAX_REPLIES_PER_SECOND: u32 = 50;

/// What the discovery thread announces.
pub struct DiscoveryConfig {
    /// UDP port to listen on: [`DISCOVERY_PORT`], or 0 for any (tests).
    pub port: u16,
    /// The camera's MAC, for the stable endpoint reference.
    pub mac: [u8; 6],
    /// The HTTP listener: its port, and its address unless it listens on all.
    pub http: SocketAddr,
    /// The current scopes (the camera name may change while running).
    pub scopes: Box<dyn Fn() -> Vec<String> + Send>,
}

/// The running discovery thread; dropping it sends `Bye` and stops it.
pub struct Discovery(GroupMember);

impl Discovery {
    /// Binds the socket, joins the group if it can, sends `Hello` and starts answering.
    pub fn spawn(config: DiscoveryConfig) -> std::io::Result<Discovery> {
        let (port, http) = (config.port, config.http.ip());
        GroupMember::spawn(
            "WS-Discovery",
            port,
            MULTICAST_GROUP,
            http,
            |socket, interfaces, stop| {
                if let Err(err) = socket.set_read_timeout(Some(POLL)) {
                    log::warn!("WS-Discovery: {err}");
                }
                Responder::new(config, socket, interfaces).run(stop)
            },
        )
        .map(Discovery)
    }

    /// The address the socket is bound to (its port, with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// Whether the multicast group was joined.
    pub fn multicast(&self) -> bool {
        self.0.multicast()
    }
}

/// The endpoint reference: a name-based (version 5 layout) UUID of the MAC, the same on
/// every start.
pub fn endpoint_uuid(mac: &[u8; 6]) -> String {
    format!(
        "urn:uuid:{}",
        description::name_based_uuid(b"ipcam-onvif device ", mac)
    )
}

fn random_message_id() -> String {
    let uuid = description::random_uuid().unwrap_or_else(|_| {
        // No entropy: a time-based id is still unique enough for a message id.
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        description::name_based_uuid(b"ipcam-onvif message ", &nanos.to_be_bytes())
    });
    format!("urn:uuid:{uuid}")
}

/// The discovery thread's state.
struct Responder {
    config: DiscoveryConfig,
    socket: UdpSocket,
    /// Where the group was joined, and where Hello and Bye go out.
    interfaces: Vec<Ipv4Addr>,
    endpoint: String,
    instance_id: u64,
    message_number: u64,
    budget: AnswerBudget,
}

impl Responder {
    fn new(config: DiscoveryConfig, socket: UdpSocket, interfaces: Vec<Ipv4Addr>) -> Responder {
        Responder {
            endpoint: endpoint_uuid(&config.mac),
            instance_id: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs()),
            message_number: 0,
            budget: AnswerBudget::new(MAX_REPLIES_PER_SECOND),
            config,
            socket,
            interfaces,
        }
    }

    fn run(&mut self, stop: &AtomicBool) {
        self.announce("Hello");
        let mut buf = vec![0u8; 65_536];
        while !stop.load(Ordering::Acquire) {
            let received = multicast::receive(&self.socket, &mut buf, "WS-Discovery");
            if let Some((datagram, from)) = received {
                self.on_datagram(datagram, from);
            }
        }
        self.announce("Bye");
    }

    fn on_datagram(&mut self, datagram: &[u8], from: SocketAddr) {
        let Ok(text) = std::str::from_utf8(datagram) else {
            return;
        };
        let Ok(envelope) = soap::parse_envelope(text) else {
            return;
        };
        if !envelope.operation.is(NS_DISCOVERY, "Probe") {
            return;
        }
        let scopes = (self.config.scopes)();
        if !probe_matches(&envelope.operation, &scopes) || !self.budget.allow() {
            return;
        }
        let relates_to = envelope.message_id.unwrap_or_default();
        let body = format!(
            "<d:ProbeMatches><d:ProbeMatch>{}</d:ProbeMatch></d:ProbeMatches>",
            self.description(&scopes, self.xaddr_ip(from.ip()))
        );
        let message = self.message(
            "ProbeMatches",
            "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",
            Some(&relates_to),
            &body,
        );
        if let Err(err) = self.socket.send_to(message.as_bytes(), from) {
            log::debug!("WS-Discovery: cannot answer {from}: {err}");
        }
    }

    /// The address to put in XAddrs for a peer at `peer`.
    fn xaddr_ip(&self, peer: IpAddr) -> IpAddr {
        multicast::local_address_towards(self.config.http.ip(), peer)
    }

    fn description(&self, scopes: &[String], ip: IpAddr) -> String {
        let host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        format!(
            "<wsa:EndpointReference><wsa:Address>{}</wsa:Address></wsa:EndpointReference>\
             <d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>{}</d:Scopes>\
             <d:XAddrs>http://{host}:{}/onvif/device_service</d:XAddrs>\
             <d:MetadataVersion>1</d:MetadataVersion>",
            self.endpoint,
            escape(&scopes.join(" ")),
            self.config.http.port()
        )
    }

    fn message(&mut self, action: &str, to: &str, relates_to: Option<&str>, body: &str) -> String {
        self.message_number += 1;
        let relates_to = relates_to
            .map(|id| format!("<wsa:RelatesTo>{}</wsa:RelatesTo>", escape(id)))
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<env:Envelope \
             xmlns:env=\"{}\" xmlns:wsa=\"{NS_WSA}\" xmlns:d=\"{NS_DISCOVERY}\" \
             xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\" \
             xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\"><env:Header>\
             <wsa:MessageID>{}</wsa:MessageID>{relates_to}<wsa:To>{to}</wsa:To>\
             <wsa:Action>{NS_DISCOVERY}/{action}</wsa:Action>\
             <d:AppSequence InstanceId=\"{}\" MessageNumber=\"{}\"/></env:Header>\
             <env:Body>{body}</env:Body></env:Envelope>",
            soap::NS_ENV,
            random_message_id(),
            self.instance_id,
            self.message_number
        )
    }

    /// Sends `Hello` or `Bye` to the group on every interface it was joined on.
    fn announce(&mut self, action: &str) {
        for interface in self.interfaces.clone() {
            if !interface.is_unspecified() {
                let socket = socket2::SockRef::from(&self.socket);
                if let Err(err) = socket.set_multicast_if_v4(&interface) {
                    log::warn!("WS-Discovery: cannot send {action} on {interface}: {err}");
                    continue;
                }
            }
            self.announce_on(action, interface);
        }
    }

    fn announce_on(&mut self, action: &str, interface: Ipv4Addr) {
        let group = SocketAddr::from((MULTICAST_GROUP, DISCOVERY_PORT));
        let body = if action == "Hello" {
            let scopes = (self.config.scopes)();
            let ip = if interface.is_unspecified() || !self.config.http.ip().is_unspecified() {
                self.xaddr_ip(IpAddr::V4(MULTICAST_GROUP))
            } else {
                IpAddr::V4(interface)
            };
            format!("<d:Hello>{}</d:Hello>", self.description(&scopes, ip))
        } else {
            format!(
                "<d:Bye><wsa:EndpointReference><wsa:Address>{}</wsa:Address>\
                 </wsa:EndpointReference></d:Bye>",
                self.endpoint
            )
        };
        let message = self.message(
            action,
            "urn:schemas-xmlsoap-org:ws:2005:04:discovery",
            None,
            &body,
        );
        if let Err(err) = self.socket.send_to(message.as_bytes(), group) {
            log::warn!("WS-Discovery: cannot send {action}: {err}");
        }
    }
}

/// Whether a `Probe` asks for this camera: no types or one of ours (by local name, as
/// clients bind their own prefixes), and every scope asked for a prefix (by whole path
/// segments, WS-Discovery's default rule) of one of ours.
fn probe_matches(probe: &Element, scopes: &[String]) -> bool {
    let types_match = probe.child_text("Types").is_none_or(|types| {
        let mut asked = types.split_whitespace().peekable();
        asked.peek().is_none()
            || asked.any(|qname| {
                let local = qname.rsplit(':').next().unwrap_or(qname);
                matches!(local, "NetworkVideoTransmitter" | "Device")
            })
    });
    let scopes_match = probe.child_text("Scopes").is_none_or(|asked| {
        asked.split_whitespace().all(|want| {
            let want = want.trim_end_matches('/');
            scopes.iter().any(|have| {
                have == want
                    || have
                        .strip_prefix(want)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        })
    });
    types_match && scopes_match
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(inner: &str) -> Element {
        crate::xml::parse(&format!(
            "<d:Probe xmlns:d=\"{NS_DISCOVERY}\" xmlns:dn=\"urn:x\">{inner}</d:Probe>"
        ))
        .unwrap()
    }

    #[test]
    fn probes_match_by_type_and_scope_prefix() {
        let ours = vec![
            "onvif://www.onvif.org/name/Gate".to_owned(),
            "onvif://www.onvif.org/Profile/Streaming".to_owned(),
        ];
        assert!(probe_matches(&probe(""), &ours));
        assert!(probe_matches(
            &probe("<d:Types>dn:NetworkVideoTransmitter</d:Types>"),
            &ours
        ));
        assert!(!probe_matches(
            &probe("<d:Types>p:Printer</d:Types>"),
            &ours
        ));
        assert!(probe_matches(
            &probe("<d:Scopes>onvif://www.onvif.org/name</d:Scopes>"),
            &ours
        ));
        assert!(!probe_matches(
            &probe("<d:Scopes>onvif://www.onvif.org/na</d:Scopes>"),
            &ours
        ));
        assert!(!probe_matches(
            &probe("<d:Scopes>onvif://www.onvif.org/name/Door</d:Scopes>"),
            &ours
        ));
    }

    #[test]
    fn the_endpoint_is_a_stable_uuid_of_the_mac() {
        let a = endpoint_uuid(&[2, 0, 0, 0, 0, 1]);
        assert_eq!(a, endpoint_uuid(&[2, 0, 0, 0, 0, 1]));
        assert_ne!(a, endpoint_uuid(&[2, 0, 0, 0, 0, 2]));
        let uuid = a.strip_prefix("urn:uuid:").unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "5");
    }
}
