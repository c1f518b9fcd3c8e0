//! What the updater shows: the status line of `/inetwork.cgi`, published by the worker
//! and read by the daemon with every request (a short lock, never held across I/O).

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::answer::Answer;

/// The state of the updater, for `DynamicDNS` of `/inetwork.cgi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DdnsStatus {
    /// `DDNSEnable` is 0.
    Disabled,
    /// Enabled; the first update has not been answered yet.
    Updating,
    /// The provider accepted the last update (`good`/`nochg`, with the address).
    Updated(Answer),
    /// A fatal answer stopped updates until the settings change.
    Stopped(Answer),
    /// The last update failed for a passing reason; retrying with back-off.
    Retrying(String),
    /// The provider does not speak dyndns2.
    Unsupported,
}

impl fmt::Display for DdnsStatus {
    /// The words inside the parentheses of `Enable (...)`: `good 81.2.69.160`,
    /// `badauth`, `911, retrying`, `updating`, `unsupported provider`, `off`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DdnsStatus::Disabled => f.write_str("off"),
            DdnsStatus::Updating => f.write_str("updating"),
            DdnsStatus::Updated(answer) => write!(f, "{answer}"),
            DdnsStatus::Stopped(answer) => f.write_str(answer.code()),
            DdnsStatus::Retrying(reason) => write!(f, "{reason}, retrying"),
            DdnsStatus::Unsupported => f.write_str("unsupported provider"),
        }
    }
}

/// The status and the number of the settings it belongs to.
#[derive(Debug)]
pub(crate) struct Shared {
    published: Mutex<Published>,
}

#[derive(Debug)]
pub(crate) struct Published {
    /// The newest settings handed to the worker (numbered from 1).
    pub(crate) generation: u64,
    /// Those settings, so that equal ones are not sent again.
    pub(crate) settings: Option<crate::DdnsSettings>,
    pub(crate) status: DdnsStatus,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Shared {
            published: Mutex::new(Published {
                generation: 0,
                settings: None,
                status: DdnsStatus::Disabled,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Published> {
        // Only whole values are assigned under the lock: a poisoned one is consistent.
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes the status of the settings numbered `generation`, unless newer ones were
    /// handed over since.
    pub(crate) fn publish(&self, generation: u64, status: DdnsStatus) {
        let mut published = self.lock();
        if published.generation == generation {
            published.status = status;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_texts() {
        let ip = "81.2.69.160".parse().ok();
        assert_eq!(
            DdnsStatus::Updated(Answer::Good(ip)).to_string(),
            "good 81.2.69.160"
        );
        assert_eq!(
            DdnsStatus::Updated(Answer::NoChange(None)).to_string(),
            "nochg"
        );
        assert_eq!(DdnsStatus::Stopped(Answer::BadAuth).to_string(), "badauth");
        assert_eq!(
            DdnsStatus::Retrying("911".into()).to_string(),
            "911, retrying"
        );
        assert_eq!(DdnsStatus::Updating.to_string(), "updating");
    }

    #[test]
    fn a_late_status_of_old_settings_is_not_published() {
        let shared = Shared::new();
        shared.lock().generation = 2;
        shared.publish(1, DdnsStatus::Stopped(Answer::BadAuth));
        assert_eq!(shared.lock().status, DdnsStatus::Disabled);
        shared.publish(2, DdnsStatus::Updating);
        assert_eq!(shared.lock().status, DdnsStatus::Updating);
    }
}
