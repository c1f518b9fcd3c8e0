//! systemd's D-Bus services, as the unprivileged daemon asks them for privileged changes.
//!
//! The camera never changes the clock, the time zone, the host's name, the network or the
//! power state itself: it asks `systemd-timedated`, `systemd-hostnamed`, `systemd-logind`,
//! `systemd-networkd` and the service manager over the system bus, and polkit decides
//! (the shipped rule `systemd/polkit/50-ipcamd.rules` allows exactly the calls below for
//! the `ipcamd` user). Every call is non-interactive: polkit must answer at once, never
//! wait for a password prompt nobody will see.
//!
//! [`SystemBus`] is a blocking client (`ipcam-dbus`, the workspace's own minimal D-Bus
//! client; `zbus` cost 0.91 MB of the binary) for the configuration worker thread. It
//! connects on first use and reconnects after a broken connection, so a bus that restarts
//! costs one failed request, not the daemon. A service's answer is sorted into
//! [`BusError`]: refused by polkit, a value the service rejects, or any other failure,
//! each with the service's one-line reason.

use ipcam_dbus::{Arg, Connection, MethodCall, Value};

/// One of systemd's services: its bus name, object and interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The unit's short name, for messages (`systemd-timedated`).
    pub label: &'static str,
    /// The well-known bus name.
    pub destination: &'static str,
    /// The object whose methods are called.
    pub path: &'static str,
    /// The interface of those methods.
    pub interface: &'static str,
}

/// `systemd-timedated`: clock, NTP switch and time zone.
pub const TIMEDATED: Service = Service {
    label: "systemd-timedated",
    destination: "org.freedesktop.timedate1",
    path: "/org/freedesktop/timedate1",
    interface: "org.freedesktop.timedate1",
};

/// `systemd-logind`: reboot.
pub const LOGIND: Service = Service {
    label: "systemd-logind",
    destination: "org.freedesktop.login1",
    path: "/org/freedesktop/login1",
    interface: "org.freedesktop.login1.Manager",
};

/// `systemd-hostnamed`: the pretty host name and the location of `/etc/machine-info`.
pub const HOSTNAMED: Service = Service {
    label: "systemd-hostnamed",
    destination: "org.freedesktop.hostname1",
    path: "/org/freedesktop/hostname1",
    interface: "org.freedesktop.hostname1",
};

/// `systemd-networkd`: re-reading `.network` files and reconfiguring a link.
pub const NETWORKD: Service = Service {
    label: "systemd-networkd",
    destination: "org.freedesktop.network1",
    path: "/org/freedesktop/network1",
    interface: "org.freedesktop.network1.Manager",
};

/// The service manager: restarting and stopping units.
pub const SYSTEMD: Service = Service {
    label: "systemd",
    destination: "org.freedesktop.systemd1",
    path: "/org/freedesktop/systemd1",
    interface: "org.freedesktop.systemd1.Manager",
};

/// Longest wait for a service's answer (libdbus's default): a hung service costs one
/// failed request, never the configuration thread.
const METHOD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);

/// Longest service reason kept in a message; the rest is cut.
const MAX_REASON: usize = 200;

/// Why a call did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// polkit (or the bus policy) did not allow the call.
    #[error("{service} refused: {reason}")]
    Denied {
        /// The service's label.
        service: &'static str,
        /// The service's reason, one line.
        reason: String,
    },
    /// The service rejected an argument (`org.freedesktop.DBus.Error.InvalidArgs`).
    #[error("{service} rejected the value: {reason}")]
    InvalidArgs {
        /// The service's label.
        service: &'static str,
        /// The service's reason, one line.
        reason: String,
    },
    /// Any other failure: the service is missing, failed, or the bus is unreachable.
    #[error("{service}: {reason}")]
    Failed {
        /// The service's label.
        service: &'static str,
        /// What happened, one line.
        reason: String,
    },
}

/// A blocking connection to the system bus (or the bus at a configured address).
pub struct SystemBus {
    address: Option<String>,
    connection: Option<Connection>,
}

impl std::fmt::Debug for SystemBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemBus")
            .field("address", &self.address)
            .field("connected", &self.connection.is_some())
            .finish()
    }
}

impl SystemBus {
    /// The bus at `address` (a D-Bus address such as `unix:path=/run/dbus/system_bus_socket`),
    /// or the system bus for `None`. Nothing connects until the first call.
    pub fn new(address: Option<String>) -> Self {
        Self {
            address,
            connection: None,
        }
    }

    /// `SetTime(usec_utc, relative=false, interactive=false)`.
    pub fn set_time(&mut self, usec_utc: i64) -> Result<(), BusError> {
        let args = [Arg::Int64(usec_utc), Arg::Bool(false), Arg::Bool(false)];
        self.call(TIMEDATED, "SetTime", &args)
    }

    /// `SetNTP(use_ntp, interactive=false)`.
    pub fn set_ntp(&mut self, use_ntp: bool) -> Result<(), BusError> {
        self.call(TIMEDATED, "SetNTP", &[Arg::Bool(use_ntp), Arg::Bool(false)])
    }

    /// `SetTimezone(zone, interactive=false)` with an IANA zone name.
    pub fn set_timezone(&mut self, zone: &str) -> Result<(), BusError> {
        self.call(
            TIMEDATED,
            "SetTimezone",
            &[Arg::Str(zone), Arg::Bool(false)],
        )
    }

    /// `SetPrettyHostname(name, interactive=false)`.
    pub fn set_pretty_hostname(&mut self, name: &str) -> Result<(), BusError> {
        let args = [Arg::Str(name), Arg::Bool(false)];
        self.call(HOSTNAMED, "SetPrettyHostname", &args)
    }

    /// `SetLocation(location, interactive=false)`.
    pub fn set_location(&mut self, location: &str) -> Result<(), BusError> {
        let args = [Arg::Str(location), Arg::Bool(false)];
        self.call(HOSTNAMED, "SetLocation", &args)
    }

    /// logind's `Reboot(interactive=false)`.
    pub fn reboot(&mut self) -> Result<(), BusError> {
        self.call(LOGIND, "Reboot", &[Arg::Bool(false)])
    }

    /// networkd's `Reload()`: re-read every `.network` file.
    pub fn reload_networkd(&mut self) -> Result<(), BusError> {
        self.call(NETWORKD, "Reload", &[])
    }

    /// networkd's `ReconfigureLink(ifindex)`: apply the files to one interface now.
    pub fn reconfigure_link(&mut self, ifindex: i32) -> Result<(), BusError> {
        self.call(NETWORKD, "ReconfigureLink", &[Arg::Int32(ifindex)])
    }

    /// `RestartUnit(unit, "replace")`; the job runs on after the call returns.
    pub fn restart_unit(&mut self, unit: &str) -> Result<(), BusError> {
        self.call_for_job("RestartUnit", unit)
    }

    /// `StopUnit(unit, "replace")`; the job runs on after the call returns.
    pub fn stop_unit(&mut self, unit: &str) -> Result<(), BusError> {
        self.call_for_job("StopUnit", unit)
    }

    fn call_for_job(&mut self, method: &'static str, unit: &str) -> Result<(), BusError> {
        let reply = self.call_raw(SYSTEMD, method, &[Arg::Str(unit), Arg::Str("replace")])?;
        let [Value::ObjectPath(job)] = reply.as_slice() else {
            return Err(BusError::Failed {
                service: SYSTEMD.label,
                reason: one_line(&format!(
                    "unexpected reply to {method}: {reply:?} instead of a job's object path"
                )),
            });
        };
        log::debug!("{method} {unit}: job {job}");
        Ok(())
    }

    fn call(
        &mut self,
        service: Service,
        method: &'static str,
        args: &[Arg<'_>],
    ) -> Result<(), BusError> {
        self.call_raw(service, method, args).map(drop)
    }

    fn call_raw(
        &mut self,
        service: Service,
        method: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Vec<Value>, BusError> {
        let connection = self.connection(service)?;
        let result = connection.call(&MethodCall {
            destination: service.destination,
            path: service.path,
            interface: service.interface,
            member: method,
            args,
        });
        result.map_err(|err| {
            if !err.keeps_connection() {
                // The connection itself may be broken: start afresh next time.
                self.connection = None;
            }
            classify(service, method, &err)
        })
    }

    fn connection(&mut self, service: Service) -> Result<&mut Connection, BusError> {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                let connected = match &self.address {
                    None => Connection::system(METHOD_TIMEOUT),
                    Some(address) => Connection::open(address, METHOD_TIMEOUT),
                };
                connected.map_err(|err| BusError::Failed {
                    service: service.label,
                    reason: one_line(&format!("cannot connect to the system bus: {err}")),
                })?
            }
        };
        Ok(self.connection.insert(connection))
    }
}

/// Sorts a failed call by the D-Bus error name of the reply.
fn classify(service: Service, method: &str, err: &ipcam_dbus::Error) -> BusError {
    let ipcam_dbus::Error::Method { name, message } = err else {
        return BusError::Failed {
            service: service.label,
            reason: one_line(&format!("{method}: {err}")),
        };
    };
    let reason = one_line(message.as_deref().unwrap_or(name.as_str()));
    match name.as_str() {
        "org.freedesktop.DBus.Error.AccessDenied"
        | "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" => BusError::Denied {
            service: service.label,
            reason,
        },
        "org.freedesktop.DBus.Error.InvalidArgs" => BusError::InvalidArgs {
            service: service.label,
            reason,
        },
        other => BusError::Failed {
            service: service.label,
            reason: one_line(&format!("{method}: {other}: {reason}")),
        },
    }
}

/// A service's text as one bounded line: control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use ipcam_testkit::dbus::BareBus;

    use super::*;

    #[test]
    fn reasons_are_one_bounded_line() {
        assert_eq!(one_line(" a\r\nb\tc "), "a  b c");
        assert_eq!(one_line(&"x".repeat(500)).len(), MAX_REASON);
    }

    #[test]
    fn an_unreachable_bus_is_a_failure_naming_the_service() {
        let dir = tempfile::tempdir().expect("tempdir");
        let address = format!("unix:path={}", dir.path().join("none").display());
        let mut bus = SystemBus::new(Some(address));
        match bus.set_ntp(true) {
            Err(BusError::Failed { service, reason }) => {
                assert_eq!(service, "systemd-timedated");
                assert!(reason.starts_with("cannot connect"), "{reason}");
            }
            other => panic!("expected a connection failure, got {other:?}"),
        }
    }

    /// A bare bus on `socket`; `None` (the reason printed) where this machine has none.
    fn bare_bus(socket: &std::path::Path) -> Option<BareBus> {
        BareBus::start(&format!("unix:path={}", socket.display()))
            .map_err(|reason| eprintln!("skipped: {reason}"))
            .ok()
    }

    /// The bus answers that no service owns timedated's name: an ordinary D-Bus error.
    fn assert_service_unknown(result: Result<(), BusError>) {
        match result {
            Err(BusError::Failed { service, reason }) => {
                assert_eq!(service, "systemd-timedated");
                assert!(
                    reason.starts_with("SetNTP: org.freedesktop.DBus.Error.ServiceUnknown: "),
                    "{reason}"
                );
            }
            other => panic!("expected ServiceUnknown, got {other:?}"),
        }
    }

    #[test]
    fn a_restarted_bus_costs_one_failed_call() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("bus");
        let mut bus = SystemBus::new(Some(format!("unix:path={}", socket.display())));
        let Some(daemon) = bare_bus(&socket) else {
            return;
        };
        assert_service_unknown(bus.set_ntp(true));
        assert_service_unknown(bus.set_ntp(true)); // the same connection, still usable
        assert!(format!("{bus:?}").contains("connected: true"), "{bus:?}");

        drop(daemon);
        std::fs::remove_file(&socket).expect("the old socket");
        match bus.set_ntp(true) {
            Err(BusError::Failed { reason, .. }) => {
                assert!(reason.starts_with("SetNTP: "), "{reason}");
                assert!(!reason.contains("ServiceUnknown"), "{reason}");
            }
            other => panic!("expected a broken connection, got {other:?}"),
        }
        assert!(format!("{bus:?}").contains("connected: false"), "{bus:?}");

        let Some(_daemon) = bare_bus(&socket) else {
            return;
        };
        assert_service_unknown(bus.set_ntp(true));
    }
}
