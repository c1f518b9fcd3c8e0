//! Failed-login rate limiting per client address.
//!
//! Passwords are at most 8 characters (the spec's limit), so guessing must be slow: after
//! [`LoginLimiter::MAX_FAILURES`] wrong passwords within [`LoginLimiter::WINDOW`], an
//! address is refused without a password check for [`LoginLimiter::LOCKOUT`]. IPv6
//! clients are counted per /64, the block one subscriber usually gets. Memory is bounded:
//! at most [`LoginLimiter::CAPACITY`] addresses are tracked; when full, expired entries go
//! first and then the one whose last failure is oldest. Time is passed in by the caller,
//! so tests drive it without sleeping.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failed-login bookkeeping for all clients.
#[derive(Debug, Clone, Default)]
pub struct LoginLimiter {
    entries: HashMap<IpAddr, Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    window_start: Instant,
    last_failure: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
}

impl LoginLimiter {
    /// Wrong passwords allowed within [`Self::WINDOW`] before the address is blocked.
    pub const MAX_FAILURES: u32 = 5;
    /// The period failures are counted over.
    pub const WINDOW: Duration = Duration::from_secs(60);
    /// How long a blocked address stays blocked.
    pub const LOCKOUT: Duration = Duration::from_secs(60);
    /// Most addresses tracked at once.
    pub const CAPACITY: usize = 1024;

    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `client` must be refused without checking its password.
    pub fn is_blocked(&self, client: IpAddr, now: Instant) -> bool {
        self.entries
            .get(&key(client))
            .and_then(|e| e.blocked_until)
            .is_some_and(|until| now < until)
    }

    /// Counts a wrong password from `client`.
    pub fn record_failure(&mut self, client: IpAddr, now: Instant) {
        let key = key(client);
        if !self.entries.contains_key(&key) && self.entries.len() >= Self::CAPACITY {
            self.make_room(now);
        }
        let entry = self.entries.entry(key).or_insert(Entry {
            window_start: now,
            last_failure: now,
            failures: 0,
            blocked_until: None,
        });
        if now.duration_since(entry.window_start) > Self::WINDOW {
            entry.window_start = now;
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures >= Self::MAX_FAILURES {
            entry.blocked_until = Some(now + Self::LOCKOUT);
            entry.window_start = now;
            entry.failures = 0;
        }
    }

    /// Forgets the failures of `client` after a successful login.
    pub fn record_success(&mut self, client: IpAddr) {
        self.entries.remove(&key(client));
    }

    /// How many addresses are tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no address is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, e| {
            let blocked = e.blocked_until.is_some_and(|until| now < until);
            blocked || now.duration_since(e.window_start) <= Self::WINDOW
        });
        if self.entries.len() >= Self::CAPACITY {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_failure)
                .map(|(ip, _)| *ip);
            if let Some(ip) = oldest {
                self.entries.remove(&ip);
            }
        }
    }
}

/// The address a client is counted under: IPv4 as is, IPv6 by its /64 prefix.
fn key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn five_failures_block_for_the_lockout_then_release() {
        let mut limiter = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..4 {
            limiter.record_failure(ip(1), t0 + Duration::from_secs(i));
            assert!(!limiter.is_blocked(ip(1), t0 + Duration::from_secs(i)));
        }
        limiter.record_failure(ip(1), t0 + Duration::from_secs(4));
        assert!(limiter.is_blocked(ip(1), t0 + Duration::from_secs(5)));
        assert!(
            !limiter.is_blocked(ip(2), t0 + Duration::from_secs(5)),
            "other clients unaffected"
        );
        let after = t0 + Duration::from_secs(4) + LoginLimiter::LOCKOUT;
        assert!(!limiter.is_blocked(ip(1), after));
    }

    #[test]
    fn slow_failures_outside_the_window_do_not_add_up() {
        let mut limiter = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..10u64 {
            let t = t0 + (LoginLimiter::WINDOW + Duration::from_secs(1)) * (i as u32) / 2;
            limiter.record_failure(ip(1), t);
            assert!(!limiter.is_blocked(ip(1), t), "failure {i}");
        }
    }

    #[test]
    fn success_forgets_failures() {
        let mut limiter = LoginLimiter::new();
        let t0 = Instant::now();
        for _ in 0..4 {
            limiter.record_failure(ip(1), t0);
        }
        limiter.record_success(ip(1));
        limiter.record_failure(ip(1), t0);
        assert!(!limiter.is_blocked(ip(1), t0));
    }

    #[test]
    fn memory_stays_bounded_and_blocked_clients_are_kept() {
        let mut limiter = LoginLimiter::new();
        let t0 = Instant::now();
        for _ in 0..LoginLimiter::MAX_FAILURES {
            limiter.record_failure(ip(0), t0);
        }
        for n in 1..=(LoginLimiter::CAPACITY as u32 * 2) {
            limiter.record_failure(ip(n), t0 + Duration::from_millis(u64::from(n)));
        }
        assert!(limiter.len() <= LoginLimiter::CAPACITY);
        // Everything expires after the window; new clients then replace expired ones.
        let later = t0 + LoginLimiter::WINDOW * 3;
        limiter.record_failure(ip(999_999), later);
        assert!(limiter.len() <= 2, "{}", limiter.len());
    }

    #[test]
    fn ipv6_clients_count_per_64_prefix() {
        let mut limiter = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..LoginLimiter::MAX_FAILURES {
            let addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i as u16 + 1);
            limiter.record_failure(IpAddr::V6(addr), t0);
        }
        let neighbour = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0xffff, 0, 0, 7);
        assert!(limiter.is_blocked(IpAddr::V6(neighbour), t0));
        let elsewhere = Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1);
        assert!(!limiter.is_blocked(IpAddr::V6(elsewhere), t0));
    }
}
