//! One count of failed logins per client address, whatever the protocol.
//!
//! Passwords are short (the spec allows 8 characters), so guessing must be slow
//! everywhere: a client that fails over HTTP is blocked over RTSP too, and the other way
//! round. The HTTP and RTSP event loops share one [`LoginLimiter`] behind a mutex; each
//! takes it once per login check, which never contends in practice.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ipcam_api::LoginLimiter;

/// The daemon's one failed-login limiter, cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedLimiter(Arc<Mutex<LoginLimiter>>);

impl SharedLimiter {
    /// The limiter, for one check. A panic while holding it leaves consistent counts (each
    /// update is one map operation), so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, LoginLimiter> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
