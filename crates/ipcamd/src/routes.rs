//! Maps request paths to the camera's answers.
//!
//! This is the one place that knows every path the daemon serves; anything else is `404`,
//! as the spec says for "This API is not supported for this IP camera".

use std::sync::Arc;
use std::time::Instant;

use ipcam_httpd::{Handler, Reply, Request, Response, Status};

use crate::systemd::{Notifier, Watchdog};

/// The daemon's request handler.
pub(crate) struct Routes {
    watchdog: Option<(Arc<Notifier>, Watchdog)>,
}

impl Routes {
    pub(crate) fn new(watchdog: Option<(Arc<Notifier>, Watchdog)>) -> Self {
        Routes { watchdog }
    }
}

impl Handler for Routes {
    fn handle(&mut self, request: &Request) -> Reply {
        match request.path.as_str() {
            "/cgiversion.cgi" => Response::html("CGIVersion=2\r\n").into(),
            _ => Response::error(Status::NotFound, "not found").into(),
        }
    }

    fn tick(&mut self, now: Instant) {
        if let Some((notifier, watchdog)) = &mut self.watchdog {
            if let Err(err) = watchdog.tick(notifier, now) {
                log::warn!("watchdog ping failed: {err}");
            }
        }
    }
}
