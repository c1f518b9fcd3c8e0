//! The order validate → platform → save, seen through a platform that records every call
//! and fails the one a test names: a refusal stores nothing, a rejected value is the
//! client's 400, a failed save puts the old settings back on the platform.

use std::sync::{Arc, Mutex, PoisonError};

use super::tests::RUNTIME;
use super::*;
use crate::platform::sim::SimPlatform;
use crate::platform::{EthernetInfo, NetworkInfo, WirelessInfo};

/// How the named call fails.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// polkit said no: a 500.
    Refused,
    /// The service rejected the value: a 400.
    Rejected,
}

#[derive(Default)]
struct Log {
    calls: Vec<String>,
    fail: Option<(&'static str, Failure)>,
}

/// The sim's facts, with every change recorded as `method(argument)`.
struct RecordingPlatform {
    sim: SimPlatform,
    log: Arc<Mutex<Log>>,
}

impl RecordingPlatform {
    fn record(&self, method: &'static str, argument: String) -> Result<(), PlatformError> {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.calls.push(format!("{method}({argument})"));
        match log.fail {
            Some((name, Failure::Refused)) if name == method => Err(PlatformError::Refused {
                service: "systemd-timedated",
                reason: "Access denied".into(),
            }),
            Some((name, Failure::Rejected)) if name == method => Err(PlatformError::Rejected {
                service: "systemd-timedated",
                reason: "Invalid or not installed time zone".into(),
            }),
            _ => Ok(()),
        }
    }
}

impl Platform for RecordingPlatform {
    fn clock(&self) -> CameraClock {
        self.sim.clock()
    }
    fn ethernet(&self) -> Result<EthernetInfo, PlatformError> {
        self.sim.ethernet()
    }
    fn network(&self) -> Result<NetworkInfo, PlatformError> {
        self.sim.network()
    }
    fn wireless(&self) -> Result<WirelessInfo, PlatformError> {
        self.sim.wireless()
    }
    fn apply_network(&mut self, config: &NetworkConfig) -> Result<(), PlatformError> {
        self.record("apply_network", config.ip_address.to_string())
    }
    fn apply_wireless(&mut self, config: &WirelessConfig) -> Result<(), PlatformError> {
        self.record("apply_wireless", config.ssid.clone())
    }
    fn apply_time_sync(&mut self, config: &DateTimeConfig) -> Result<(), PlatformError> {
        self.record("apply_time_sync", config.date_time_mode.to_string())
    }
    fn set_time(&mut self, now: SystemTime) -> Result<(), PlatformError> {
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.record("set_time", secs.to_string())
    }
    fn set_time_zone(&mut self, zone: &str) -> Result<(), PlatformError> {
        self.record("set_time_zone", zone.to_owned())
    }
    fn set_identity(&mut self, name: &str, location: &str) -> Result<(), PlatformError> {
        self.record("set_identity", format!("{name}, {location}"))
    }
    fn run_deferred(&mut self) -> Result<(), PlatformError> {
        self.record("run_deferred", String::new())
    }
    fn reboot(&mut self) -> Result<Reboot, PlatformError> {
        self.record("reboot", String::new())
            .map(|()| Reboot::Requested)
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    service: ConfigService,
    log: Arc<Mutex<Log>>,
}

impl Fixture {
    /// A service on a recording platform, its start-up calls forgotten.
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = Arc::new(Mutex::new(Log::default()));
        let platform = RecordingPlatform {
            sim: SimPlatform::new(),
            log: log.clone(),
        };
        let (service, _) = ConfigService::open(
            dir.path(),
            Box::new(platform),
            InitialAdmin::Password("secret".into()),
        )
        .expect("open");
        let fixture = Self { dir, service, log };
        fixture.take_calls();
        fixture
    }

    fn fail(&self, method: &'static str, failure: Failure) {
        self.log.lock().expect("log").fail = Some((method, failure));
    }

    fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut self.log.lock().expect("log").calls)
    }

    fn set(&mut self, resource: Resource, params: &[(&str, &str)]) -> Result<Reply, ApiError> {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        self.service.handle(resource, &params, &RUNTIME)
    }

    /// What a restarted daemon would read from the state directory.
    fn stored(&self) -> State {
        let (state, _) = StateStore::new(self.dir.path())
            .expect("store")
            .load()
            .expect("load");
        state.expect("a saved state")
    }
}

#[test]
fn start_up_applies_the_whole_table_including_the_deferred_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(Mutex::new(Log::default()));
    let platform = RecordingPlatform {
        sim: SimPlatform::new(),
        log: log.clone(),
    };
    ConfigService::open(
        dir.path(),
        Box::new(platform),
        InitialAdmin::Password("secret".into()),
    )
    .expect("open");
    let calls = std::mem::take(&mut log.lock().expect("log").calls);
    // Factory settings: the spec's address, no SSID, UTC, time-server mode, "IPCam".
    assert_eq!(
        calls,
        [
            "apply_network(192.168.0.20)",
            "apply_wireless()",
            "set_time_zone(Etc/GMT)",
            "apply_time_sync(0)",
            "set_identity(IPCam, )",
            "run_deferred()",
        ]
    );
}

#[test]
fn a_time_zone_row_goes_to_the_platform_before_it_is_stored() {
    let mut f = Fixture::new();
    // Row 32 is "(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna".
    f.set(Resource::DateTime, &[("TimeZoneIndex", "32")])
        .expect("accepted");
    assert_eq!(f.take_calls(), ["set_time_zone(Europe/Berlin)"]);
    assert_eq!(f.stored().datetime.time_zone_index, 32);
    // The same zone again changes nothing on the system.
    f.set(Resource::DateTime, &[("TimeZoneIndex", "32")])
        .expect("accepted");
    assert_eq!(f.take_calls(), Vec::<String>::new());
}

#[test]
fn a_zone_the_service_rejects_is_a_400_naming_the_parameter_and_nothing_is_stored() {
    let mut f = Fixture::new();
    f.fail("set_time_zone", Failure::Rejected);
    let err = f
        .set(Resource::DateTime, &[("TimeZoneIndex", "32")])
        .expect_err("rejected");
    assert_eq!(err.status(), 400);
    let message = err.to_string();
    assert!(message.starts_with("TimeZoneIndex: "), "{message}");
    assert!(message.contains("systemd-timedated"), "{message}");
    assert_eq!(f.service.state().datetime.time_zone_index, 0);
    assert_eq!(f.stored().datetime.time_zone_index, 0);
}

#[test]
fn a_refused_ntp_switch_is_a_500_and_the_zone_set_before_it_is_put_back() {
    let mut f = Fixture::new();
    f.fail("apply_time_sync", Failure::Refused);
    let err = f
        .set(
            Resource::DateTime,
            &[("TimeZoneIndex", "32"), ("DateTimeMode", "1")],
        )
        .expect_err("refused");
    assert_eq!(err.status(), 500);
    assert_eq!(
        err.to_string(),
        "cannot apply the setting: systemd-timedated refused: Access denied"
    );
    assert_eq!(
        f.take_calls(),
        [
            "set_time_zone(Europe/Berlin)",
            "apply_time_sync(1)",
            "set_time_zone(Etc/GMT)",
        ]
    );
    let stored = f.stored().datetime;
    assert_eq!((stored.time_zone_index, stored.date_time_mode), (0, 0));
}

#[test]
fn manual_time_switches_synchronisation_off_then_sets_the_clock() {
    let mut f = Fixture::new();
    f.set(
        Resource::DateTime,
        &[
            ("DateTimeMode", "1"),
            ("Date", "2030-01-02"),
            ("Time", "03:04:05"),
        ],
    )
    .expect("accepted");
    // UTC (row 0, offset 0): 2030-01-02T03:04:05Z.
    assert_eq!(
        f.take_calls(),
        ["apply_time_sync(1)", "set_time(1893553445)"]
    );
}

#[test]
fn a_failed_save_puts_the_old_settings_back_on_the_platform() {
    let mut f = Fixture::new();
    std::fs::remove_dir_all(f.dir.path()).expect("remove the state directory");
    let err = f
        .set(Resource::DateTime, &[("TimeZoneIndex", "32")])
        .expect_err("cannot save");
    assert_eq!(err.status(), 500);
    assert_eq!(
        f.take_calls(),
        ["set_time_zone(Europe/Berlin)", "set_time_zone(Etc/GMT)"]
    );
    let err = f
        .set(Resource::System, &[("CameraName", "Porch")])
        .expect_err("cannot save");
    assert_eq!(err.status(), 500);
    assert_eq!(
        f.take_calls(),
        ["set_identity(Porch, )", "set_identity(IPCam, )"]
    );
    assert_eq!(f.service.state().system.camera_name, "IPCam");
}

#[test]
fn name_and_location_go_to_the_platform_and_a_rejection_names_the_parameter() {
    let mut f = Fixture::new();
    f.set(
        Resource::System,
        &[("CameraName", "Porch"), ("Location", "Front door")],
    )
    .expect("accepted");
    assert_eq!(f.take_calls(), ["set_identity(Porch, Front door)"]);
    f.fail("set_identity", Failure::Rejected);
    let err = f
        .set(Resource::System, &[("Location", "Back door")])
        .expect_err("rejected");
    assert!(err.to_string().starts_with("Location: "), "{err}");
    assert_eq!(f.stored().system.location, "Front door");
    // A change of something else leaves the identity alone.
    f.take_calls();
    f.set(Resource::System, &[("LEDControl", "1")])
        .expect("accepted");
    assert_eq!(f.take_calls(), Vec::<String>::new());
}

#[test]
fn a_network_change_is_applied_before_saving_and_reloads_after_the_response() {
    let mut f = Fixture::new();
    let reply = f
        .set(
            Resource::Network,
            &[
                ("IPAddressMode", "1"),
                ("IPAddress", "192.168.0.20"),
                ("SubnetMask", "255.255.255.0"),
                ("DefaultGateway", "192.168.0.1"),
            ],
        )
        .expect("accepted");
    assert!(reply.effects.run_deferred);
    assert_eq!(f.take_calls(), ["apply_network(192.168.0.20)"]);
    f.service.run_deferred().expect("deferred work");
    assert_eq!(f.take_calls(), ["run_deferred()"]);
    let reply = f
        .set(Resource::Network, &[("IPAddress", "192.168.0.20")])
        .expect("accepted");
    assert!(!reply.effects.run_deferred, "nothing changed");
    assert_eq!(f.take_calls(), Vec::<String>::new());
}

#[test]
fn reset_asks_for_a_reboot_after_the_response() {
    let mut f = Fixture::new();
    let reply = f
        .set(Resource::Reset, &[("Reset", "Yes")])
        .expect("accepted");
    assert_eq!(reply.status, 204);
    assert!(reply.effects.reboot);
    assert_eq!(
        f.take_calls(),
        Vec::<String>::new(),
        "nothing before the 204"
    );
    assert_eq!(f.service.reboot().expect("reboot"), Reboot::Requested);
    assert_eq!(f.take_calls(), ["reboot()"]);
}
