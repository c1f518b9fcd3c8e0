//! The camera's public address as a "check IP" web service sees it, for a camera behind a
//! NAT router: its own interface has a private address, and without this a new public
//! address would only be caught by the next refresh.
//!
//! Optional (`[ddns] check_ip`), since it asks a third party. The service is asked at
//! most once per interval (Dyn asks for ten minutes or more), and its answer is any text
//! holding the address: `81.2.69.160` (checkip.amazonaws.com, api.ipify.org) or
//! `<html>... Current IP Address: 81.2.69.160</html>` (checkip.dyndns.org). A failed
//! check keeps the last address; it is logged once per episode.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::client::Updater;

/// The public address and when to ask again.
#[derive(Debug)]
pub(crate) struct PublicAddress {
    url: String,
    interval: Duration,
    known: Option<Ipv4Addr>,
    next_check: Duration,
    failing: bool,
}

impl PublicAddress {
    /// Asks `url` every `interval`, the first time at once.
    pub(crate) fn new(url: String, interval: Duration) -> Self {
        PublicAddress {
            url,
            interval,
            known: None,
            next_check: Duration::ZERO,
            failing: false,
        }
    }

    /// The public address at monotonic time `now`, asking the service if it is time.
    pub(crate) fn current(
        &mut self,
        now: Duration,
        updater: &mut impl Updater,
    ) -> Option<Ipv4Addr> {
        if now >= self.next_check {
            self.next_check = now + self.interval;
            match updater.fetch(&self.url).map(|body| first_ipv4(&body)) {
                Ok(Some(ip)) => {
                    if self.failing {
                        log::info!("DDNS: {} answers again: {ip}", self.url);
                    }
                    self.failing = false;
                    self.known = Some(ip);
                }
                Ok(None) => self.failed("no IPv4 address in its answer"),
                Err(err) => self.failed(&err.to_string()),
            }
        }
        self.known
    }

    /// How long until the next check is due.
    pub(crate) fn next_check_in(&self, now: Duration) -> Duration {
        self.next_check.saturating_sub(now)
    }

    fn failed(&mut self, reason: &str) {
        if !self.failing {
            log::warn!(
                "DDNS: cannot learn the public address from {}: {reason}; keeping {}",
                self.url,
                self.known
                    .map_or_else(|| "none".to_owned(), |ip| ip.to_string())
            );
        }
        self.failing = true;
    }
}

/// The first IPv4 address written in `text`.
pub(crate) fn first_ipv4(text: &str) -> Option<Ipv4Addr> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find_map(|word| word.trim_matches('.').parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_found_in_plain_or_html_answers() {
        let ip = Some(Ipv4Addr::new(81, 2, 69, 160));
        assert_eq!(first_ipv4("81.2.69.160\n"), ip);
        assert_eq!(
            first_ipv4(
                "<html><head><title>Current IP Check</title></head>\
                 <body>Current IP Address: 81.2.69.160</body></html>"
            ),
            ip
        );
        assert_eq!(first_ipv4("IP 1.2.3 is short, 81.2.69.160."), ip);
        assert_eq!(first_ipv4("no address"), None);
        assert_eq!(first_ipv4("999.1.1.1"), None);
    }
}
