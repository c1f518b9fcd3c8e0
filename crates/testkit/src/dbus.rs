//! A private D-Bus system bus with systemd's services played by python-dbusmock.
//!
//! The Linux platform asks `systemd-timedated`, `-logind`, `-hostnamed`, `-networkd` and
//! the service manager for every change. Tests cannot let it touch this machine, so
//! [`TestBus`] starts a real `dbus-daemon` on a socket in a temporary directory (its own
//! configuration file, nothing of the host's) and one `python3 -m dbusmock` process per
//! service: dbusmock's `timedated` and `logind` templates, and small mocks built with
//! `AddMethod` for hostname1, network1 and systemd1 (dbusmock's `systemd` template has no
//! `RestartUnit`). Every call a mock receives is recorded; [`TestBus::calls`] reads them
//! back through `org.freedesktop.DBus.Mock.GetCalls`, so a test checks method names and
//! arguments against a real bus, and [`TestBus::fail`] makes a method raise a D-Bus
//! error (polkit's `AccessDenied`, a refused time zone).
//!
//! Processes are killed by PID when the bus is dropped. Debian's python3-dbusmock needs
//! Debian's interpreter, so mocks run under `/usr/bin/python3` whatever `python3` is on
//! `PATH`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ipcam_dbus::{Arg, Connection, MethodCall, Value};

use crate::process::ChildServer;

/// The message bus daemon.
pub const DBUS_DAEMON: &str = "/usr/bin/dbus-daemon";
/// Debian's Python, which has python3-dbusmock and python3-dbus.
pub const PYTHON: &str = "/usr/bin/python3";
/// How long a process may take to come up on the bus.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for a mock's answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(25);
/// `org.freedesktop.DBus.Mock`, the control interface of every dbusmock object.
const MOCK_IFACE: &str = "org.freedesktop.DBus.Mock";

/// One of the services the Linux platform calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mocked {
    /// `org.freedesktop.timedate1` (dbusmock template `timedated`).
    Timedated,
    /// `org.freedesktop.login1` (dbusmock template `logind`).
    Logind,
    /// `org.freedesktop.hostname1` (`SetPrettyHostname`, `SetLocation`).
    Hostnamed,
    /// `org.freedesktop.network1` (`Reload`, `ReconfigureLink`).
    Networkd,
    /// `org.freedesktop.systemd1` (`RestartUnit`, `StopUnit`).
    Systemd,
}

impl Mocked {
    /// Every service, in start order.
    pub const ALL: [Mocked; 5] = [
        Mocked::Timedated,
        Mocked::Logind,
        Mocked::Hostnamed,
        Mocked::Networkd,
        Mocked::Systemd,
    ];

    /// Bus name, object path and the interface the platform calls.
    pub fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Mocked::Timedated => (
                "org.freedesktop.timedate1",
                "/org/freedesktop/timedate1",
                "org.freedesktop.timedate1",
            ),
            Mocked::Logind => (
                "org.freedesktop.login1",
                "/org/freedesktop/login1",
                "org.freedesktop.login1.Manager",
            ),
            Mocked::Hostnamed => (
                "org.freedesktop.hostname1",
                "/org/freedesktop/hostname1",
                "org.freedesktop.hostname1",
            ),
            Mocked::Networkd => (
                "org.freedesktop.network1",
                "/org/freedesktop/network1",
                "org.freedesktop.network1.Manager",
            ),
            Mocked::Systemd => (
                "org.freedesktop.systemd1",
                "/org/freedesktop/systemd1",
                "org.freedesktop.systemd1.Manager",
            ),
        }
    }

    /// The dbusmock template, where one fits.
    fn template(self) -> Option<&'static str> {
        match self {
            Mocked::Timedated => Some("timedated"),
            Mocked::Logind => Some("logind"),
            _ => None,
        }
    }

    /// Methods added to a plain mock: (name, in signature, out signature, Python code).
    fn methods(self) -> &'static [(&'static str, &'static str, &'static str, &'static str)] {
        const JOB: &str = "ret = '/org/freedesktop/systemd1/job/1'";
        match self {
            Mocked::Hostnamed => &[
                ("SetPrettyHostname", "sb", "", ""),
                ("SetLocation", "sb", "", ""),
            ],
            Mocked::Networkd => &[("Reload", "", "", ""), ("ReconfigureLink", "i", "", "")],
            Mocked::Systemd => &[
                ("RestartUnit", "ss", "o", JOB),
                ("StopUnit", "ss", "o", JOB),
            ],
            Mocked::Timedated | Mocked::Logind => &[],
        }
    }
}

/// A method call a mock received, its arguments in plain text (strings as they are,
/// numbers in decimal, booleans as `true`/`false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The method's name.
    pub method: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Call {
    /// A call with these arguments, for comparisons.
    pub fn new(method: &str, args: &[&str]) -> Self {
        Self {
            method: method.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        }
    }
}

/// A bare `dbus-daemon` (the session configuration, no services on it) listening on an
/// address of the test's choosing, killed on drop: for tests of the D-Bus client itself,
/// which need a real bus but no systemd services, or a bus that goes away and comes back
/// on the same socket.
pub struct BareBus {
    _daemon: ChildServer,
    address: String,
}

impl BareBus {
    /// Starts the daemon on `listen` (`unix:path=…`, `unix:abstract=…`) and waits until it
    /// listens. `Err` says why this machine cannot run it (a test prints it as its skip
    /// reason).
    pub fn start(listen: &str) -> Result<Self, String> {
        let mut command = Command::new(DBUS_DAEMON);
        command
            .args(["--session", "--nofork", "--nopidfile", "--print-address"])
            .arg(format!("--address={listen}"));
        // The daemon prints its address once it listens.
        let (daemon, address) = ChildServer::start(&mut command)
            .map_err(|reason| format!("{reason}; Debian package dbus-daemon"))?;
        Ok(BareBus {
            _daemon: daemon,
            address,
        })
    }

    /// The address the daemon printed (`listen` with its `guid=`).
    pub fn address(&self) -> &str {
        &self.address
    }
}

/// A private bus with the mocked services on it.
pub struct TestBus {
    dir: tempfile::TempDir,
    address: String,
    daemon: Child,
    mocks: Vec<Child>,
    /// The tests' own connection (calls take `&mut`; the bus's methods take `&self` and
    /// may be called from any thread).
    connection: Mutex<Connection>,
}

impl TestBus {
    /// Starts the bus and every service of [`Mocked::ALL`]. `Err` says why this machine
    /// cannot (a test prints it as its skip reason).
    pub fn start() -> Result<Self, String> {
        check_tools()?;
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let socket = dir.path().join("bus");
        let address = format!("unix:path={}", socket.display());
        let config = dir.path().join("bus.conf");
        fs::write(&config, bus_config(&address)).map_err(|e| format!("bus config: {e}"))?;
        let daemon = Command::new(DBUS_DAEMON)
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--nosyslog"])
            .stdin(Stdio::null())
            .stdout(log_file(dir.path(), "dbus-daemon")?)
            .stderr(log_file(dir.path(), "dbus-daemon.err")?)
            .spawn()
            .map_err(|e| format!("{DBUS_DAEMON}: {e}"))?;
        let mut daemon = Kill(Some(daemon));
        let connection = poll(START_TIMEOUT, || {
            Connection::open(&address, CALL_TIMEOUT).ok()
        })
        .ok_or_else(|| format!("dbus-daemon did not listen on {address}"))?;
        let mut bus = TestBus {
            address,
            daemon: daemon.0.take().expect("the daemon"),
            mocks: Vec::new(),
            connection: Mutex::new(connection),
            dir,
        };
        for service in Mocked::ALL {
            bus.start_mock(service)?;
        }
        Ok(bus)
    }

    /// The bus's address, for `[platform] system_bus`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The directory of the bus's socket, configuration and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The calls `service` received so far, oldest first.
    pub fn calls(&self, service: Mocked) -> Vec<Call> {
        let (name, path, _) = service.names();
        let reply = self
            .call(name, path, MOCK_IFACE, "GetCalls", &[])
            .unwrap_or_else(|e| panic!("GetCalls of {name}: {e}"));
        // a(tsav): (timestamp, method, arguments) per call.
        let Ok([Value::Array(calls)]) = <[Value; 1]>::try_from(reply) else {
            panic!("GetCalls of {name}: not an array");
        };
        calls
            .into_iter()
            .map(|call| match call {
                Value::Struct(fields) => match <[Value; 3]>::try_from(fields) {
                    Ok([_, Value::Str(method), Value::Array(args)]) => Call {
                        method,
                        args: args.iter().map(text).collect(),
                    },
                    other => panic!("GetCalls of {name}: {other:?}"),
                },
                other => panic!("GetCalls of {name}: {other:?}"),
            })
            .collect()
    }

    /// Calls a method on the bus over the tests' connection.
    fn call(
        &self,
        destination: &str,
        path: &str,
        interface: &str,
        member: &str,
        args: &[Arg<'_>],
    ) -> Result<Vec<Value>, ipcam_dbus::Error> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connection.call(&MethodCall {
            destination,
            path,
            interface,
            member,
            args,
        })
    }

    /// Polls until `service` has received a call to `method`, or `timeout` passes.
    pub fn wait_for_call(&self, service: Mocked, method: &str, timeout: Duration) -> Option<Call> {
        poll(timeout, || {
            self.calls(service)
                .into_iter()
                .find(|call| call.method == method)
        })
    }

    /// Forgets the calls every service received (e.g. the daemon's start-up calls).
    pub fn clear_calls(&self) {
        for service in Mocked::ALL {
            let (name, path, _) = service.names();
            self.call(name, path, MOCK_IFACE, "ClearCalls", &[])
                .unwrap_or_else(|e| panic!("ClearCalls of {name}: {e}"));
        }
    }

    /// Makes `method` of `service` answer with the D-Bus error `error` (e.g.
    /// `org.freedesktop.DBus.Error.AccessDenied`) and `message`; calls are still recorded.
    pub fn fail(&self, service: Mocked, method: &str, error: &str, message: &str) {
        let (in_sig, out_sig) = signature(service, method);
        let code = format!("raise dbus.exceptions.DBusException({message:?}, name={error:?})");
        self.add_method(service, method, in_sig, out_sig, &code);
    }

    fn add_method(&self, service: Mocked, method: &str, in_sig: &str, out_sig: &str, code: &str) {
        let (name, path, interface) = service.names();
        let args = [interface, method, in_sig, out_sig, code].map(Arg::Str);
        self.call(name, path, MOCK_IFACE, "AddMethod", &args)
            .unwrap_or_else(|e| panic!("AddMethod {method} on {name}: {e}"));
    }

    fn start_mock(&mut self, service: Mocked) -> Result<(), String> {
        let (name, path, interface) = service.names();
        let mut command = Command::new(PYTHON);
        command.args(["-m", "dbusmock", "--system"]);
        match service.template() {
            Some(template) => command.args(["-t", template]),
            None => command.args([name, path, interface]),
        };
        let child = command
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .stdin(Stdio::null())
            .stdout(log_file(self.dir.path(), name)?)
            .stderr(log_file(self.dir.path(), &format!("{name}.err"))?)
            .spawn()
            .map_err(|e| format!("{PYTHON} -m dbusmock: {e}"))?;
        self.mocks.push(child);
        let owned = poll(START_TIMEOUT, || {
            let reply = self
                .call(
                    "org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus",
                    "NameHasOwner",
                    &[Arg::Str(name)],
                )
                .ok()?;
            (reply == [Value::Bool(true)]).then_some(())
        });
        if owned.is_none() {
            return Err(format!("dbusmock did not take {name} (see {name}.err)"));
        }
        for (method, in_sig, out_sig, code) in service.methods() {
            self.add_method(service, method, in_sig, out_sig, code);
        }
        Ok(())
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        for child in self
            .mocks
            .iter_mut()
            .chain(std::iter::once(&mut self.daemon))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Kills a process started before the [`TestBus`] that would own it exists.
struct Kill(Option<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Why this machine cannot run the bus, if it cannot.
fn check_tools() -> Result<(), String> {
    if !Path::new(DBUS_DAEMON).exists() {
        return Err(format!(
            "{DBUS_DAEMON} is missing (Debian package dbus-daemon)"
        ));
    }
    let probe = Command::new(PYTHON)
        .args(["-c", "import dbusmock"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Ok(status) if status.success() => Ok(()),
        _ => Err(format!(
            "{PYTHON} cannot import dbusmock (Debian package python3-dbusmock)"
        )),
    }
}

/// A bus that anyone on this machine may use, listening only on its own socket.
fn bus_config(address: &str) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"#
    )
}

fn log_file(dir: &Path, name: &str) -> Result<File, String> {
    let path: PathBuf = dir.join(format!("{name}.log"));
    File::create(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The signatures of a method the platform calls, for replacing it.
fn signature(service: Mocked, method: &str) -> (&'static str, &'static str) {
    let template = match (service, method) {
        (Mocked::Timedated, "SetTime") => Some(("xbb", "")),
        (Mocked::Timedated, "SetTimezone") => Some(("sb", "")),
        (Mocked::Timedated, "SetNTP") => Some(("bb", "")),
        (Mocked::Logind, "Reboot") => Some(("b", "")),
        _ => None,
    };
    template
        .or_else(|| {
            service
                .methods()
                .iter()
                .find(|(name, ..)| *name == method)
                .map(|(_, in_sig, out_sig, _)| (*in_sig, *out_sig))
        })
        .unwrap_or_else(|| panic!("{method} is not a method the platform calls"))
}

/// An argument as plain text.
fn text(value: &Value) -> String {
    match value {
        Value::Str(s) | Value::ObjectPath(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int32(n) => n.to_string(),
        Value::Int64(n) => n.to_string(),
        Value::Uint32(n) => n.to_string(),
        Value::Uint64(n) => n.to_string(),
        Value::Variant(inner) => text(inner),
        other => format!("{other:?}"),
    }
}

/// Calls `probe` until it returns something or `timeout` passes.
fn poll<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mocks_record_calls_and_fail_on_demand() {
        let bus = match TestBus::start() {
            Ok(bus) => bus,
            Err(why) => {
                eprintln!("skipped: {why}");
                return;
            }
        };
        let mut client = Connection::open(bus.address(), CALL_TIMEOUT).expect("connect");
        let (name, path, interface) = Mocked::Timedated.names();
        let (enable, disable) = ([Arg::Bool(true), Arg::Bool(false)], [Arg::Bool(false); 2]);
        let set_ntp = |args| MethodCall {
            destination: name,
            path,
            interface,
            member: "SetNTP",
            args,
        };
        client.call(&set_ntp(&enable)).expect("SetNTP");
        assert_eq!(
            bus.calls(Mocked::Timedated),
            [Call::new("SetNTP", &["true", "false"])]
        );
        bus.fail(
            Mocked::Timedated,
            "SetNTP",
            "org.freedesktop.DBus.Error.AccessDenied",
            "denied",
        );
        let err = client.call(&set_ntp(&disable)).expect_err("must fail");
        assert!(
            matches!(&err, ipcam_dbus::Error::Method { name, .. } if name == "org.freedesktop.DBus.Error.AccessDenied"),
            "{err}"
        );
        assert_eq!(bus.calls(Mocked::Timedated).len(), 2);
        bus.clear_calls();
        assert!(bus.calls(Mocked::Timedated).is_empty());
    }
}
