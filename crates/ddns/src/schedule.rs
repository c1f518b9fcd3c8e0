//! When the next update is due: the decisions of the updater, without threads, sockets
//! or clocks, so that every rule is tested by passing times.
//!
//! - The first update goes out as soon as the settings are usable.
//! - Another goes out when the address the camera would send changes.
//! - Otherwise the name is refreshed after [`Timing::refresh`], so that a public address
//!   that changed behind a NAT router is caught and the provider does not expire the
//!   name. The protocol calls a request that changes nothing (`nochg`) abusive when
//!   repeated, so each `nochg` in a row doubles the wait, up to [`Timing::refresh_max`];
//!   a `good` starts over.
//! - A fatal answer stops every update until the settings change (a new `Schedule`).
//! - A passing failure (`911`, `dnserr`, network) waits [`Timing::retry_min`], doubling up
//!   to [`Timing::retry_max`]; the address the camera sends changing does not shorten it.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::answer::{Answer, Outcome};

/// The intervals of the updater.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Wait after a `good` before the name is refreshed.
    pub refresh: Duration,
    /// Longest wait between refreshes after `nochg` answers.
    pub refresh_max: Duration,
    /// How often the camera's own address is looked at.
    pub address_check: Duration,
    /// How often a "check IP" service is asked, when one is configured.
    pub check_ip: Duration,
    /// First wait after a passing failure.
    pub retry_min: Duration,
    /// Longest wait after passing failures.
    pub retry_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        const HOUR: u64 = 3600;
        Timing {
            refresh: Duration::from_secs(24 * HOUR),
            refresh_max: Duration::from_secs(28 * 24 * HOUR),
            address_check: Duration::from_secs(60),
            check_ip: Duration::from_secs(600),
            retry_min: Duration::from_secs(60),
            retry_max: Duration::from_secs(HOUR),
        }
    }
}

/// When to act next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Send an update now.
    Now,
    /// Look again after this long (or when the address may have changed).
    In(Duration),
    /// Nothing until the settings change.
    Never,
}

/// The last update the provider accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Accepted {
    /// Monotonic time when the name is to be refreshed.
    refresh_at: Duration,
    /// The `myip` it carried (`None`: the server took the request's source address).
    myip: Option<Ipv4Addr>,
}

/// The updater's memory for one set of settings.
#[derive(Debug, Clone)]
pub struct Schedule {
    timing: Timing,
    accepted: Option<Accepted>,
    nochg_in_a_row: u32,
    retry_at: Duration,
    retry_delay: Duration,
    stopped: bool,
}

impl Schedule {
    /// A schedule with nothing sent yet.
    pub fn new(timing: Timing) -> Self {
        Schedule {
            timing,
            accepted: None,
            nochg_in_a_row: 0,
            retry_at: Duration::ZERO,
            retry_delay: timing.retry_min,
            stopped: false,
        }
    }

    /// Whether a fatal answer stopped updates.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Whether an update carrying `myip` is due at monotonic time `now`.
    pub fn due(&self, now: Duration, myip: Option<Ipv4Addr>) -> Due {
        if self.stopped {
            return Due::Never;
        }
        let wanted = match self.accepted {
            Some(last) if last.myip == myip => last.refresh_at,
            _ => now,
        };
        let at = wanted.max(self.retry_at);
        if at <= now {
            Due::Now
        } else {
            Due::In(at - now)
        }
    }

    /// Takes over an update with `myip` that a previous run of the daemon had accepted
    /// `age` ago: no update until its refresh is due or the address changes.
    pub fn resume(&mut self, now: Duration, age: Duration, myip: Option<Ipv4Addr>) {
        self.accepted = Some(Accepted {
            refresh_at: now + self.timing.refresh.saturating_sub(age),
            myip,
        });
    }

    /// Takes the result of the update sent with `myip` and answered at `now`; `None` is
    /// a failure without an answer (network, HTTP error, not dyndns2), which is retried.
    pub fn record(&mut self, now: Duration, myip: Option<Ipv4Addr>, answer: Option<&Answer>) {
        match answer.map(Answer::outcome) {
            Some(Outcome::Success) => {
                self.nochg_in_a_row = match answer {
                    Some(Answer::NoChange(_)) => self.nochg_in_a_row.saturating_add(1),
                    _ => 0,
                };
                self.accepted = Some(Accepted {
                    refresh_at: now + self.refresh_wait(),
                    myip,
                });
                self.retry_at = Duration::ZERO;
                self.retry_delay = self.timing.retry_min;
            }
            Some(Outcome::Fatal) => self.stopped = true,
            Some(Outcome::Retry) | None => {
                self.retry_at = now + self.retry_delay;
                self.retry_delay = (self.retry_delay * 2).min(self.timing.retry_max);
            }
        }
    }

    /// How long after the last accepted update the name is refreshed.
    fn refresh_wait(&self) -> Duration {
        let doublings = self.nochg_in_a_row.min(16);
        self.timing
            .refresh
            .saturating_mul(1 << doublings)
            .min(self.timing.refresh_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn timing() -> Timing {
        Timing {
            refresh: secs(100),
            refresh_max: secs(350),
            address_check: secs(10),
            check_ip: secs(30),
            retry_min: secs(5),
            retry_max: secs(20),
        }
    }

    const PUBLIC: Option<Ipv4Addr> = Some(Ipv4Addr::new(81, 2, 69, 160));
    const OTHER: Option<Ipv4Addr> = Some(Ipv4Addr::new(81, 2, 69, 161));

    #[test]
    fn the_first_update_is_due_at_once_then_after_the_refresh() {
        let mut schedule = Schedule::new(timing());
        assert_eq!(schedule.due(secs(7), None), Due::Now);
        schedule.record(secs(7), None, Some(&Answer::Good(None)));
        assert_eq!(schedule.due(secs(8), None), Due::In(secs(99)));
        assert_eq!(schedule.due(secs(107), None), Due::Now);
    }

    #[test]
    fn a_resumed_update_is_refreshed_when_its_first_run_would_have() {
        let mut schedule = Schedule::new(timing());
        schedule.resume(secs(5), secs(30), None);
        assert_eq!(schedule.due(secs(5), None), Due::In(secs(70)));
        assert_eq!(schedule.due(secs(5), PUBLIC), Due::Now, "a new address");
        let mut stale = Schedule::new(timing());
        stale.resume(secs(5), secs(500), None);
        assert_eq!(stale.due(secs(5), None), Due::Now);
    }

    #[test]
    fn a_new_address_is_sent_at_once() {
        let mut schedule = Schedule::new(timing());
        schedule.record(secs(0), PUBLIC, Some(&Answer::Good(None)));
        assert_eq!(schedule.due(secs(1), PUBLIC), Due::In(secs(99)));
        assert_eq!(schedule.due(secs(1), OTHER), Due::Now);
        assert_eq!(schedule.due(secs(1), None), Due::Now, "now behind NAT");
    }

    #[test]
    fn each_nochg_in_a_row_doubles_the_refresh_up_to_the_cap_and_good_starts_over() {
        let mut schedule = Schedule::new(timing());
        let mut now = secs(0);
        let mut waits = Vec::new();
        schedule.record(now, None, Some(&Answer::Good(None)));
        for _ in 0..4 {
            let Due::In(wait) = schedule.due(now, None) else {
                panic!("a refresh is scheduled");
            };
            waits.push(wait.as_secs());
            now += wait;
            assert_eq!(schedule.due(now, None), Due::Now);
            schedule.record(now, None, Some(&Answer::NoChange(None)));
        }
        assert_eq!(waits, [100, 200, 350, 350]);
        schedule.record(now, None, Some(&Answer::Good(None)));
        assert_eq!(schedule.due(now, None), Due::In(secs(100)));
    }

    #[test]
    fn passing_failures_back_off_exponentially_even_when_the_address_changes() {
        let mut schedule = Schedule::new(timing());
        let mut now = secs(0);
        let mut waits = Vec::new();
        for answer in [
            Some(Answer::ServerTrouble),
            None,
            Some(Answer::DnsError),
            None,
            None,
        ] {
            schedule.record(now, PUBLIC, answer.as_ref());
            let Due::In(wait) = schedule.due(now, OTHER) else {
                panic!("a retry is scheduled");
            };
            waits.push(wait.as_secs());
            now += wait;
        }
        assert_eq!(waits, [5, 10, 20, 20, 20]);
        schedule.record(now, PUBLIC, Some(&Answer::Good(None)));
        schedule.record(now + secs(100), PUBLIC, None);
        assert_eq!(
            schedule.due(now + secs(100), PUBLIC),
            Due::In(secs(5)),
            "a success resets the back-off"
        );
    }

    #[test]
    fn fatal_answers_stop_updates_whatever_happens() {
        for fatal in [
            Answer::BadAuth,
            Answer::Abuse,
            Answer::NoHost,
            Answer::NotDonator,
        ] {
            let mut schedule = Schedule::new(timing());
            schedule.record(secs(0), PUBLIC, Some(&fatal));
            assert_eq!(schedule.due(secs(1), PUBLIC), Due::Never, "{fatal}");
            assert_eq!(schedule.due(secs(1_000_000), OTHER), Due::Never, "{fatal}");
        }
    }
}
