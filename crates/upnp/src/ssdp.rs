//! SSDP (UPnP Device Architecture 1.1, chapter 1): how control points find the camera.
//!
//! A thread owns a UDP socket on port 1900, joined to 239.255.255.250 where the camera
//! serves HTTP (see [`crate::multicast`]). It sends `NOTIFY ssdp:alive` for the three
//! things the camera is (a root device, its UUID, its device type) when it starts and
//! again before half of `CACHE-CONTROL` has passed, answers `M-SEARCH` for `ssdp:all`,
//! `upnp:rootdevice`, its UUID and its device type after a random delay below the
//! search's `MX`, and sends `ssdp:byebye` when it stops. Answers are rate-limited and the
//! queue of delayed answers is bounded, so the camera cannot be used to amplify a flood of
//! spoofed searches; a camera serving on loopback answers loopback peers only.
//!
//! Hand-written on std's `UdpSocket`: the SSDP crates are either clients only
//! (`ssdp-client`, `rupnp`), bound to tokio, or unmaintained; the protocol is a few
//! header lines.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::description::{DESCRIPTION_PATH, DEVICE_TYPE};
use crate::multicast::{self, AnswerBudget, GroupMember};

/// The SSDP multicast group.
pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// The SSDP port.
pub const SSDP_PORT: u16 = 1900;
/// How long control points may keep the camera in their cache without news.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(1800);
/// The gap between the quick repeats of the first announcement.
const REPEAT_GAP: Duration = Duration::from_millis(500);
/// How often the thread looks at its stop flag while nothing arrives.
const POLL: Duration = Duration::from_millis(200);
/// Most datagrams answered per second; searches beyond it are dropped.
const MAX_ANSWERS_PER_SECOND: u32 = 50;
/// Most searches waiting for their random delay.
const MAX_PENDING: usize = 64;
/// UDA 1.1: an `MX` above 5 is treated as 5.
const MAX_MX: u64 = 5;
/// A search datagram is at most this long (SSDP messages fit one Ethernet frame).
const MAX_DATAGRAM: usize = 2048;

/// What the SSDP thread announces.
#[derive(Debug, Clone)]
pub struct SsdpConfig {
    /// UDP port to listen on: [`SSDP_PORT`], or 0 for any.
    pub port: u16,
    /// Where announcements go: the group on [`SSDP_PORT`].
    pub notify_to: SocketAddr,
    /// The HTTP listener serving the description: its port, and its address unless it
    /// listens on all.
    pub http: SocketAddr,
    /// The camera's UUID (without `uuid:`).
    pub uuid: String,
    /// `CACHE-CONTROL: max-age`.
    pub max_age: Duration,
}

impl SsdpConfig {
    /// The protocol's ports and group, for the camera's `uuid` and its HTTP listener.
    pub fn new(uuid: String, http: SocketAddr) -> Self {
        SsdpConfig {
            port: SSDP_PORT,
            notify_to: SocketAddr::from((MULTICAST_GROUP, SSDP_PORT)),
            http,
            uuid,
            max_age: DEFAULT_MAX_AGE,
        }
    }
}

/// The running SSDP thread; dropping it sends `ssdp:byebye` and stops it.
pub struct Ssdp(GroupMember);

impl Ssdp {
    /// Binds the socket, joins the group if it can, announces the camera and starts
    /// answering searches.
    pub fn spawn(config: SsdpConfig) -> std::io::Result<Ssdp> {
        let (port, http) = (config.port, config.http.ip());
        GroupMember::spawn(
            "SSDP",
            port,
            MULTICAST_GROUP,
            http,
            |socket, interfaces, stop| Agent::new(config, socket, interfaces).run(stop),
        )
        .map(Ssdp)
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// Whether the multicast group was joined (else only unicast searches are answered).
    pub fn multicast(&self) -> bool {
        self.0.multicast()
    }
}

/// One of the three things the camera announces itself as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    RootDevice,
    Uuid,
    DeviceType,
}

const ALL_TARGETS: [Target; 3] = [Target::RootDevice, Target::Uuid, Target::DeviceType];

/// A search to answer once its delay has passed.
#[derive(Debug)]
struct Pending {
    due: Instant,
    to: SocketAddr,
    targets: Vec<Target>,
}

/// A parsed `M-SEARCH`.
#[derive(Debug, PartialEq, Eq)]
struct Search<'a> {
    target: &'a str,
    /// `MX` in seconds; `None` for a unicast search, answered at once.
    mx: Option<u64>,
}

/// Parses an `M-SEARCH` request; anything else (NOTIFY, answers, garbage) is `None`.
fn parse_search(datagram: &str) -> Option<Search<'_>> {
    let mut lines = datagram.split("\r\n");
    let request_line = lines.next()?;
    let mut words = request_line.split_ascii_whitespace();
    if (words.next(), words.next(), words.next()) != (Some("M-SEARCH"), Some("*"), Some("HTTP/1.1"))
    {
        return None;
    }
    let (mut man, mut target, mut mx) = (None, None, None);
    for line in lines.take_while(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.trim().to_ascii_uppercase().as_str() {
            "MAN" => man = Some(value),
            "ST" => target = Some(value),
            "MX" => mx = Some(value.parse::<u64>().ok()?.min(MAX_MX)),
            _ => {}
        }
    }
    if man? != "\"ssdp:discover\"" {
        return None;
    }
    Some(Search {
        target: target?,
        mx,
    })
}

/// Which of the camera's targets a search for `target` asks for.
fn matching_targets(target: &str, uuid: &str) -> Vec<Target> {
    // Basic:1 is the type's only version, so no lower version can be asked for.
    match target {
        "ssdp:all" => ALL_TARGETS.to_vec(),
        "upnp:rootdevice" => vec![Target::RootDevice],
        _ if target.strip_prefix("uuid:") == Some(uuid) => vec![Target::Uuid],
        DEVICE_TYPE => vec![Target::DeviceType],
        _ => Vec::new(),
    }
}

/// The SSDP thread's state.
struct Agent {
    config: SsdpConfig,
    socket: UdpSocket,
    interfaces: Vec<Ipv4Addr>,
    server: String,
    boot_id: u64,
    pending: Vec<Pending>,
    next_alive: Instant,
    /// Quick repeats of the first announcement still to send: multicast over Wi-Fi is
    /// lossy, and UDA 1.1 asks for each announcement to go out more than once.
    repeats: u8,
    budget: AnswerBudget,
}

impl Agent {
    fn new(config: SsdpConfig, socket: UdpSocket, interfaces: Vec<Ipv4Addr>) -> Agent {
        let os = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|release| release.trim().to_owned())
            .unwrap_or_else(|_| "1.0".into());
        Agent {
            config,
            socket,
            interfaces,
            server: format!("Linux/{os} UPnP/1.1 ipcam/{}", env!("CARGO_PKG_VERSION")),
            // BOOTID.UPNP.ORG must grow from one start to the next.
            boot_id: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs()),
            pending: Vec::new(),
            next_alive: Instant::now(),
            repeats: 2,
            budget: AnswerBudget::new(MAX_ANSWERS_PER_SECOND),
        }
    }

    fn run(&mut self, stop: &AtomicBool) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while !stop.load(Ordering::Acquire) {
            let now = Instant::now();
            if now >= self.next_alive {
                self.announce("ssdp:alive");
                self.next_alive = now
                    + if self.repeats > 0 {
                        self.repeats -= 1;
                        REPEAT_GAP
                    } else {
                        self.realive_interval()
                    };
            }
            self.answer_due(now);
            let wake = self
                .pending
                .iter()
                .map(|p| p.due)
                .chain([self.next_alive])
                .min()
                .map_or(POLL, |at| at.saturating_duration_since(now))
                .clamp(Duration::from_millis(1), POLL);
            if let Err(err) = self.socket.set_read_timeout(Some(wake)) {
                log::warn!("SSDP: {err}");
            }
            if let Some((datagram, from)) = multicast::receive(&self.socket, &mut buf, "SSDP") {
                self.on_datagram(datagram, from);
            }
        }
        self.announce("ssdp:byebye");
    }

    /// Half the cache time, less up to a tenth at random, so that control points hear
    /// from the camera before their copy expires and cameras started together spread out.
    fn realive_interval(&self) -> Duration {
        let half = self.config.max_age / 2;
        half.saturating_sub(half.mul_f64(random_fraction() / 10.0))
            .max(Duration::from_secs(1))
    }

    fn on_datagram(&mut self, datagram: &[u8], from: SocketAddr) {
        if self.config.http.ip().is_loopback() && !from.ip().is_loopback() {
            return;
        }
        let Some(search) = std::str::from_utf8(datagram).ok().and_then(parse_search) else {
            return;
        };
        let targets = matching_targets(search.target, &self.config.uuid);
        if targets.is_empty() || self.pending.len() >= MAX_PENDING {
            return;
        }
        // Within the first 80 % of MX: some control points (async-upnp-client) stop
        // listening exactly MX seconds after their search, and the answer needs time too.
        let delay = search.mx.map_or(Duration::ZERO, |mx| {
            Duration::from_secs(mx).mul_f64(0.8 * random_fraction())
        });
        log::debug!("SSDP: {from} searched for {}", search.target);
        self.pending.push(Pending {
            due: Instant::now() + delay,
            to: from,
            targets,
        });
    }

    fn answer_due(&mut self, now: Instant) {
        let (due, waiting): (Vec<Pending>, Vec<Pending>) =
            self.pending.drain(..).partition(|p| p.due <= now);
        self.pending = waiting;
        for pending in due {
            for target in pending.targets {
                if !self.budget.allow() {
                    return;
                }
                let message = self.search_answer(target, pending.to.ip());
                if let Err(err) = self.socket.send_to(message.as_bytes(), pending.to) {
                    log::debug!("SSDP: cannot answer {}: {err}", pending.to);
                }
            }
        }
    }

    /// `(NT or ST, USN)` of a target.
    fn names(&self, target: Target) -> (String, String) {
        let uuid = &self.config.uuid;
        match target {
            Target::RootDevice => (
                "upnp:rootdevice".into(),
                format!("uuid:{uuid}::upnp:rootdevice"),
            ),
            Target::Uuid => (format!("uuid:{uuid}"), format!("uuid:{uuid}")),
            Target::DeviceType => (DEVICE_TYPE.into(), format!("uuid:{uuid}::{DEVICE_TYPE}")),
        }
    }

    fn location(&self, local: IpAddr) -> String {
        let host = match local {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        format!(
            "http://{host}:{}{DESCRIPTION_PATH}",
            self.config.http.port()
        )
    }

    fn search_answer(&self, target: Target, peer: IpAddr) -> String {
        let (st, usn) = self.names(target);
        let location = self.location(multicast::local_address_towards(
            self.config.http.ip(),
            peer,
        ));
        format!(
            "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age={}\r\nDATE: {}\r\nEXT:\r\n\
             LOCATION: {location}\r\nSERVER: {}\r\nST: {st}\r\nUSN: {usn}\r\n\
             BOOTID.UPNP.ORG: {}\r\nCONFIGID.UPNP.ORG: 1\r\n\r\n",
            self.config.max_age.as_secs(),
            http_date(SystemTime::now()),
            self.server,
            self.boot_id,
        )
    }

    fn notify(&self, nts: &str, target: Target, local: IpAddr) -> String {
        let (nt, usn) = self.names(target);
        let group = self.config.notify_to;
        let alive = if nts == "ssdp:alive" {
            format!(
                "CACHE-CONTROL: max-age={}\r\nLOCATION: {}\r\nSERVER: {}\r\n",
                self.config.max_age.as_secs(),
                self.location(local),
                self.server
            )
        } else {
            String::new()
        };
        format!(
            "NOTIFY * HTTP/1.1\r\nHOST: {group}\r\n{alive}NT: {nt}\r\nNTS: {nts}\r\n\
             USN: {usn}\r\nBOOTID.UPNP.ORG: {}\r\nCONFIGID.UPNP.ORG: 1\r\n\r\n",
            self.boot_id
        )
    }

    /// Sends `nts` (alive or byebye) for every target on every interface joined.
    fn announce(&self, nts: &str) {
        for &interface in &self.interfaces {
            let local = if interface.is_unspecified() {
                multicast::local_address_towards(self.config.http.ip(), IpAddr::V4(MULTICAST_GROUP))
            } else {
                let socket = socket2::SockRef::from(&self.socket);
                if let Err(err) = socket.set_multicast_if_v4(&interface) {
                    log::warn!("SSDP: cannot send {nts} on {interface}: {err}");
                    continue;
                }
                IpAddr::V4(interface)
            };
            for target in ALL_TARGETS {
                let message = self.notify(nts, target, local);
                if let Err(err) = self
                    .socket
                    .send_to(message.as_bytes(), self.config.notify_to)
                {
                    log::warn!("SSDP: cannot send {nts} on {interface}: {err}");
                }
            }
        }
    }
}

/// A number in [0, 1) from the system's random source (0 without one: no delay is a
/// correct delay, only a less polite one).
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.0,
    }
}

/// RFC 1123 date for the `DATE` header.
fn http_date(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "2f402f80-da50-11e1-9b23-00178812a0b4";

    #[test]
    fn searches_are_parsed_case_insensitively_and_mx_is_capped() {
        let search = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\
                      man: \"ssdp:discover\"\r\nmx: 120\r\nSt: upnp:rootdevice\r\n\r\n";
        assert_eq!(
            parse_search(search),
            Some(Search {
                target: "upnp:rootdevice",
                mx: Some(MAX_MX)
            })
        );
        let unicast = "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\n\r\n";
        assert_eq!(parse_search(unicast).map(|s| s.mx), Some(None));
    }

    #[test]
    fn other_messages_are_not_searches() {
        let notify = "NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n\r\n";
        assert_eq!(parse_search(notify), None);
        let no_man = "M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\nMX: 1\r\n\r\n";
        assert_eq!(parse_search(no_man), None);
        let bad_mx =
            "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\nMX: x\r\n\r\n";
        assert_eq!(parse_search(bad_mx), None);
    }

    #[test]
    fn targets_match_the_camera_only() {
        assert_eq!(matching_targets("ssdp:all", UUID), ALL_TARGETS.to_vec());
        assert_eq!(
            matching_targets("upnp:rootdevice", UUID),
            vec![Target::RootDevice]
        );
        assert_eq!(
            matching_targets(&format!("uuid:{UUID}"), UUID),
            vec![Target::Uuid]
        );
        assert_eq!(
            matching_targets(DEVICE_TYPE, UUID),
            vec![Target::DeviceType]
        );
        assert!(matching_targets("uuid:someone-else", UUID).is_empty());
        assert!(
            matching_targets("urn:schemas-upnp-org:device:InternetGatewayDevice:1", UUID)
                .is_empty()
        );
    }

    #[test]
    fn a_unicast_search_is_answered_with_location_and_usn() {
        let http = SocketAddr::from((Ipv4Addr::LOCALHOST, 8080));
        let mut config = SsdpConfig::new(UUID.into(), http);
        config.port = 0;
        // Announcements to a socket of the test, not to the group.
        let group = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        config.notify_to = group.local_addr().unwrap();
        let ssdp = Ssdp::spawn(config).unwrap();
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let search =
            format!("M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nST: uuid:{UUID}\r\n\r\n");
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, ssdp.local_addr().port()));
        client.send_to(search.as_bytes(), to).unwrap();
        let mut buf = [0u8; 2048];
        let (len, _) = client.recv_from(&mut buf).unwrap();
        let answer = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("\r\nLOCATION: http://127.0.0.1:8080/upnp/device.xml\r\n"));
        assert!(answer.contains(&format!("\r\nUSN: uuid:{UUID}\r\n")));
        assert!(answer.contains("\r\nCACHE-CONTROL: max-age=1800\r\n"));
        drop(ssdp);
        let notices = until_three_byebyes(&group);
        let alive = notices
            .iter()
            .filter(|n| n.contains("NTS: ssdp:alive"))
            .count();
        let byebye: Vec<&String> = notices
            .iter()
            .filter(|n| n.contains("NTS: ssdp:byebye"))
            .collect();
        // The first announcement and its quick repeats, three notices each.
        assert!(alive >= 3 && alive % 3 == 0, "{notices:?}");
        for nt in ["upnp:rootdevice", &format!("uuid:{UUID}"), DEVICE_TYPE] {
            assert!(byebye
                .iter()
                .any(|n| n.contains(&format!("\r\nNT: {nt}\r\n"))));
        }
        assert!(byebye.iter().all(|n| !n.contains("LOCATION")));
    }

    #[test]
    fn the_first_announcement_is_repeated() {
        let group = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let mut config = SsdpConfig::new(UUID.into(), SocketAddr::from((Ipv4Addr::LOCALHOST, 80)));
        config.port = 0;
        config.notify_to = group.local_addr().unwrap();
        let _ssdp = Ssdp::spawn(config).unwrap();
        group
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 2048];
        let roots = (0..9)
            .map(|_| {
                let (len, _) = group.recv_from(&mut buf).unwrap();
                String::from_utf8_lossy(&buf[..len]).into_owned()
            })
            .filter(|n| n.contains("NTS: ssdp:alive") && n.contains("\r\nNT: upnp:rootdevice\r\n"))
            .count();
        assert_eq!(roots, 3);
    }

    /// Every notice up to the third byebye.
    fn until_three_byebyes(socket: &UdpSocket) -> Vec<String> {
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 2048];
        let mut notices = Vec::new();
        while notices
            .iter()
            .filter(|n: &&String| n.contains("ssdp:byebye"))
            .count()
            < 3
        {
            let (len, _) = socket.recv_from(&mut buf).unwrap();
            notices.push(String::from_utf8_lossy(&buf[..len]).into_owned());
        }
        notices
    }
}
