//! Where a LAN discovery protocol (SSDP here, WS-Discovery in `ipcam-onvif`) joins its
//! multicast group: only where the camera serves HTTP.
//!
//! A camera whose HTTP listener is bound to one address (a test camera on 127.0.0.1, a
//! camera serving one interface) must be discovered there only and never announce itself
//! elsewhere with an address nobody there can reach; a camera listening on all addresses
//! joins on every interface that is up and can multicast (a camera often has a wired and
//! a wireless one).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// A discovery agent's thread: its socket bound to `port` and joined to the group where
/// the camera serves HTTP. Dropping it raises the stop flag the agent polls and waits for
/// the agent to end (after its goodbye).
pub struct GroupMember {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    local_addr: SocketAddr,
    multicast: bool,
}

impl GroupMember {
    /// Binds and joins (see [`join_where_served`]), then runs `agent` on a thread named
    /// `protocol` with the socket, the interfaces joined and the stop flag.
    pub fn spawn(
        protocol: &str,
        port: u16,
        group: Ipv4Addr,
        http: IpAddr,
        agent: impl FnOnce(UdpSocket, Vec<Ipv4Addr>, &AtomicBool) + Send + 'static,
    ) -> std::io::Result<GroupMember> {
        let socket = bind(port)?;
        let interfaces = join_where_served(&socket, group, http, protocol);
        let multicast = !interfaces.is_empty();
        let socket: UdpSocket = socket.into();
        let local_addr = socket.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(protocol.to_ascii_lowercase())
                .spawn(move || agent(socket, interfaces, &stop))?
        };
        log::info!("{protocol} on udp {local_addr} (multicast: {multicast})");
        Ok(GroupMember {
            stop,
            thread: Some(thread),
            local_addr,
            multicast,
        })
    }

    /// The address the socket is bound to (its port, with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the group was joined (else only unicast requests are answered).
    pub fn multicast(&self) -> bool {
        self.multicast
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One datagram from `socket` into `buf`, or `None` when the read timed out (the agent
/// then looks at its stop flag and timers) or failed (logged, naming `protocol`).
pub fn receive<'b>(
    socket: &UdpSocket,
    buf: &'b mut [u8],
    protocol: &str,
) -> Option<(&'b [u8], SocketAddr)> {
    match socket.recv_from(buf) {
        Ok((len, from)) => Some((&buf[..len], from)),
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(err) => {
            log::warn!("{protocol} receive failed: {err}");
            None
        }
    }
}

/// How many answers a discovery agent may send per second: requests beyond it are
/// dropped, so the camera cannot be used to amplify a flood of spoofed requests.
#[derive(Debug)]
pub struct AnswerBudget {
    per_second: u32,
    since: Instant,
    spent: u32,
}

impl AnswerBudget {
    /// A budget of `per_second` answers.
    pub fn new(per_second: u32) -> Self {
        AnswerBudget {
            per_second,
            since: Instant::now(),
            spent: 0,
        }
    }

    /// Whether one more answer fits in the current second (and counts it).
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.since) >= Duration::from_secs(1) {
            (self.since, self.spent) = (now, 0);
        }
        self.spent += 1;
        self.spent <= self.per_second
    }
}

/// A UDP socket on `port` of every address, shared with the host's other agents of the
/// same protocol (SO_REUSEADDR), that receives only the groups it joins itself (not those
/// another socket of the host joined: IP_MULTICAST_ALL off) and whose multicasts stay on
/// the link (TTL 1) and loop back to this host's listeners.
pub fn bind(port: u16) -> std::io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_multicast_all_v4(false)?;
    socket.set_multicast_loop_v4(true)?;
    socket.set_multicast_ttl_v4(1)?;
    socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())?;
    Ok(socket)
}

/// Joins `group` where the camera serves HTTP (`http` is the listener's address): on that
/// address when the listener is bound to one (loopback included), else on every interface
/// that is up and can multicast, else on the one the kernel picks. Returns the interfaces
/// joined (`0.0.0.0` for the kernel's pick); empty means unicast only. `protocol` names
/// the caller in the log.
pub fn join_where_served(
    socket: &Socket,
    group: Ipv4Addr,
    http: IpAddr,
    protocol: &str,
) -> Vec<Ipv4Addr> {
    let join = |ip: &Ipv4Addr| match socket.join_multicast_v4(&group, ip) {
        Ok(()) => true,
        Err(err) => {
            log::warn!("{protocol}: cannot join {group} on {ip}: {err}");
            false
        }
    };
    let only = match http {
        IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
        IpAddr::V6(ip) if ip.is_loopback() => Some(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if !ip.is_unspecified() => {
            log::info!("{protocol}: HTTP listens on {ip} only; answering unicast only");
            return Vec::new();
        }
        _ => None,
    };
    if let Some(ip) = only {
        return [ip].into_iter().filter(join).collect();
    }
    let mut joined: Vec<Ipv4Addr> = multicast_interfaces().into_iter().filter(join).collect();
    if joined.is_empty() {
        match socket.join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED) {
            Ok(()) => joined.push(Ipv4Addr::UNSPECIFIED),
            Err(err) => {
                log::warn!("{protocol}: cannot join {group} ({err}); answering unicast only")
            }
        }
    }
    joined
}

/// IPv4 addresses of the interfaces that are up and can multicast, loopback left out.
pub fn multicast_interfaces() -> Vec<Ipv4Addr> {
    use nix::net::if_::InterfaceFlags;
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut ips: Vec<Ipv4Addr> = addrs
        .filter(|a| {
            a.flags
                .contains(InterfaceFlags::IFF_UP | InterfaceFlags::IFF_MULTICAST)
                && !a.flags.contains(InterfaceFlags::IFF_LOOPBACK)
        })
        .filter_map(|a| a.address.as_ref()?.as_sockaddr_in().map(|sin| sin.ip()))
        .collect();
    ips.dedup();
    ips
}

/// The address to give a peer at `peer` for a service of the listener bound to `http`:
/// the listener's own address when it has one, else the local address the kernel would
/// send to the peer from (no packet is sent: a UDP `connect` only picks the route).
pub fn local_address_towards(http: IpAddr, peer: IpAddr) -> IpAddr {
    if !http.is_unspecified() {
        return http;
    }
    std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|probe| {
            probe.connect((peer, 9))?;
            probe.local_addr()
        })
        .map(|local| local.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_answers_beyond_its_rate() {
        let mut budget = AnswerBudget::new(3);
        assert_eq!(
            (0..5).map(|_| budget.allow()).collect::<Vec<_>>(),
            [true, true, true, false, false]
        );
    }

    #[test]
    fn a_listener_on_loopback_joins_on_loopback_only() {
        let socket = bind(0).unwrap();
        let joined = join_where_served(
            &socket,
            Ipv4Addr::new(239, 255, 255, 250),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            "test",
        );
        // Joining on lo can only fail, never widen to another interface.
        assert!(joined.is_empty() || joined == [Ipv4Addr::LOCALHOST]);
    }

    #[test]
    fn a_listener_on_one_address_is_named_by_that_address() {
        let http = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        assert_eq!(
            local_address_towards(http, IpAddr::V4(Ipv4Addr::LOCALHOST)),
            http
        );
        assert_eq!(
            local_address_towards(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            ),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }
}
