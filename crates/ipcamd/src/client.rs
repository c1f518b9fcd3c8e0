//! Which address a request comes from when a reverse proxy stands in between.
//!
//! Behind a proxy every connection comes from the proxy, so the failed-login limit (per
//! client address) would be one for everybody, letting one mistyped password, or one
//! attacker, lock every user out, and the list of active viewers would show only the
//! proxy. A proxy names the address it serves in `X-Forwarded-For`; the camera believes it
//! only from the proxies its configuration names (`[server] trusted_proxies`), since
//! anyone else could write any address there to dodge the limit.

use std::net::IpAddr;

use ipcam_httpd::Request;

/// The proxies whose `X-Forwarded-For` the camera believes.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies(Vec<IpAddr>);

impl TrustedProxies {
    /// Trusts the proxies at `addresses` (IPv4-mapped IPv6 addresses count as IPv4).
    pub(crate) fn new(addresses: &[IpAddr]) -> Self {
        TrustedProxies(addresses.iter().map(IpAddr::to_canonical).collect())
    }

    /// The address `request` comes from: its peer's, or, when the peer is a trusted
    /// proxy, the nearest address in `X-Forwarded-For` that is not one.
    pub(crate) fn client(&self, request: &Request) -> IpAddr {
        self.client_of(request.peer.ip(), request.forwarded_for.as_deref())
    }

    /// Walks the chain from the nearest hop back: each trusted proxy vouches for the hop
    /// before it, the first untrusted one is the client. A hop that is not an address ends
    /// the walk at the last proxy that named it, which is all that can be known.
    fn client_of(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let mut client = peer.to_canonical();
        let Some(hops) = forwarded_for else {
            return client;
        };
        for hop in hops.rsplit(',') {
            if !self.0.contains(&client) {
                break;
            }
            match hop.trim().parse::<IpAddr>() {
                Ok(address) => client = address.to_canonical(),
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_of(ip("127.0.0.1"), Some("203.0.113.9")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let local = TrustedProxies::new(&[ip("127.0.0.1"), ip("10.0.0.2")]);
        for (peer, forwarded, client) in [
            ("127.0.0.1", Some("203.0.113.9"), "203.0.113.9"),
            ("::ffff:127.0.0.1", Some(" 203.0.113.9 "), "203.0.113.9"),
            ("127.0.0.1", Some("2001:db8::7"), "2001:db8::7"),
            // Two proxies: each trusted hop vouches for the one before.
            ("127.0.0.1", Some("203.0.113.9, 10.0.0.2"), "203.0.113.9"),
            // What the client itself wrote before the first proxy counts for nothing.
            (
                "127.0.0.1",
                Some("198.51.100.1, 203.0.113.9"),
                "203.0.113.9",
            ),
            ("127.0.0.1", Some("10.0.0.2, 203.0.113.9"), "203.0.113.9"),
            // A proxy that names no client, or garbage: the proxy is all that is known.
            ("127.0.0.1", None, "127.0.0.1"),
            ("127.0.0.1", Some("unknown"), "127.0.0.1"),
            ("127.0.0.1", Some("203.0.113.9, unknown"), "127.0.0.1"),
            // Only a trusted peer is believed.
            ("192.0.2.50", Some("203.0.113.9"), "192.0.2.50"),
        ] {
            assert_eq!(
                local.client_of(ip(peer), forwarded),
                ip(client),
                "{peer} {forwarded:?}"
            );
        }
    }

    #[test]
    fn a_chain_of_trusted_proxies_only_ends_at_its_first_hop() {
        let local = TrustedProxies::new(&[ip("127.0.0.1"), ip("10.0.0.2")]);
        assert_eq!(
            local.client_of(ip("127.0.0.1"), Some("10.0.0.2")),
            ip("10.0.0.2")
        );
    }
}
