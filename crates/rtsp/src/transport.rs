//! The `Transport` header of SETUP (RFC 2326 12.39): what the client offers, what we use.
//!
//! A client lists the transports it accepts, best first. We take the first unicast RTP
//! one: interleaved on the RTSP connection (`RTP/AVP/TCP;interleaved=a-b`) or UDP to the
//! client's ports (`RTP/AVP;client_port=a-b`). A `destination` parameter is ignored: media
//! only ever goes to the address the request came from, so a request cannot aim the
//! stream at a third party.

/// A transport we can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// RTP and RTCP interleaved on the RTSP connection, on these channels.
    Interleaved {
        /// RTP channel.
        rtp: u8,
        /// RTCP channel.
        rtcp: u8,
    },
    /// RTP and RTCP over UDP to these client ports.
    Udp {
        /// The client's RTP port.
        rtp: u16,
        /// The client's RTCP port.
        rtcp: u16,
    },
}

/// The first transport of `header` that we serve, if any.
pub fn choose(header: &str) -> Option<Offer> {
    header.split(',').find_map(offer)
}

fn offer(spec: &str) -> Option<Offer> {
    let mut params = spec.split(';').map(str::trim);
    let protocol = params.next()?.to_ascii_uppercase();
    let tcp = match protocol.as_str() {
        "RTP/AVP" | "RTP/AVP/UDP" => false,
        "RTP/AVP/TCP" => true,
        _ => return None,
    };
    let (mut interleaved, mut client_port) = (None, None);
    for param in params {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        match name.to_ascii_lowercase().as_str() {
            "multicast" => return None,
            "interleaved" => interleaved = Some(pair::<u8>(value)?),
            "client_port" => client_port = Some(pair::<u16>(value)?),
            "mode" if !value.trim_matches('"').eq_ignore_ascii_case("play") => return None,
            _ => {}
        }
    }
    if tcp {
        let (rtp, rtcp) = interleaved.unwrap_or((0, 1));
        Some(Offer::Interleaved { rtp, rtcp })
    } else {
        let (rtp, rtcp) = client_port?;
        (rtp != 0).then_some(Offer::Udp { rtp, rtcp })
    }
}

/// `a-b`, or `a` alone meaning `a-(a+1)`.
fn pair<T: std::str::FromStr + Copy + TryFrom<u32> + Into<u32>>(value: &str) -> Option<(T, T)> {
    match value.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let a: T = value.trim().parse().ok()?;
            let b = T::try_from(a.into() + 1).ok()?;
            Some((a, b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_offers_are_understood() {
        assert_eq!(
            choose("RTP/AVP/TCP;unicast;interleaved=0-1"),
            Some(Offer::Interleaved { rtp: 0, rtcp: 1 })
        );
        assert_eq!(
            choose("RTP/AVP;unicast;client_port=5000-5001"),
            Some(Offer::Udp {
                rtp: 5000,
                rtcp: 5001
            })
        );
        assert_eq!(
            choose("RTP/AVP/UDP;unicast;client_port=6970"),
            Some(Offer::Udp {
                rtp: 6970,
                rtcp: 6971
            })
        );
        assert_eq!(
            choose("RTP/AVP/TCP;unicast"),
            Some(Offer::Interleaved { rtp: 0, rtcp: 1 })
        );
    }

    #[test]
    fn the_first_servable_offer_wins() {
        assert_eq!(
            choose("RTP/AVP;multicast;port=5000-5001,RTP/AVP/TCP;unicast;interleaved=2-3"),
            Some(Offer::Interleaved { rtp: 2, rtcp: 3 })
        );
        assert_eq!(choose("RTP/AVP;multicast"), None);
        assert_eq!(choose("RAW/RAW/UDP;unicast;client_port=1-2"), None);
        assert_eq!(choose("RTP/AVP;unicast"), None, "UDP needs client ports");
        assert_eq!(choose("RTP/AVP/TCP;interleaved=300-301"), None);
        assert_eq!(
            choose("RTP/AVP;unicast;client_port=5000-5001;mode=record"),
            None
        );
    }
}
