//! Dynamic DNS as an owner sees it: enabling DDNS in `/network.cgi` makes the camera
//! update its host name at a dyndns2 server (a real HTTP server on 127.0.0.1 that checks
//! the login and the query), and `/inetwork.cgi` shows how that went. Fatal answers stop
//! the updates, passing failures are retried until the server is back, and the DDNS
//! password reaches neither `/inetwork.cgi` nor the log.

mod common;

use std::time::{Duration, Instant};

use common::{form, table, value_of, wait_for, TestCamera, ADMIN};
use ipcam_testkit::dyndns::{self, Server};
use ipcam_testkit::log_capture;
use log::Level;

fn capture_log() {
    log_capture::capture("");
}

/// Log lines at `level` containing every one of `words`.
fn log_lines(level: Level, words: &[&str]) -> usize {
    log_capture::count(level, words)
}

/// A camera whose updates go to `server_url`, retrying after 1 s (at most 2 s) and
/// looking at its address every second.
fn camera(server_url: &str) -> TestCamera {
    capture_log();
    TestCamera::start_with(|config| {
        config.ddns.server = server_url.to_owned();
        config.ddns.retry_min_secs = 1;
        config.ddns.retry_max_secs = 2;
        config.ddns.address_check_secs = 1;
    })
}

fn set_network(camera: &TestCamera, pairs: &[(&str, &str)]) {
    let reply = camera.post("/network.cgi", ADMIN, &form(pairs));
    assert_eq!(reply.status, 200, "{}", reply.text());
}

fn enable_ddns(camera: &TestCamera, host: &str, password: &str) {
    set_network(
        camera,
        &[
            ("DDNSEnable", "1"),
            ("DDNSProvider", "DynDNS.org(Free)"),
            ("DDNSHostName", host),
            ("DDNSUserName", dyndns::USER),
            ("DDNSPassword", password),
        ],
    );
}

fn dynamic_dns(camera: &TestCamera) -> String {
    let reply = camera.get("/inetwork.cgi", ADMIN);
    assert_eq!(reply.status, 200);
    value_of(&table(&reply), "DynamicDNS")
        .expect("DynamicDNS line")
        .to_owned()
}

fn wait_for_status(camera: &TestCamera, expected: &str) {
    wait_for(&format!("DynamicDNS={expected}"), || {
        (dynamic_dns(camera) == expected).then_some(())
    });
}

fn wait_for_updates(server: &Server, count: usize) -> Vec<dyndns::Update> {
    wait_for(&format!("{count} update(s)"), || {
        let updates = server.updates();
        (updates.len() >= count).then_some(updates)
    })
}

/// Checks that no request arrives for `window`: a stopped updater cannot be told from a
/// slow one any other way. The window is three of the test camera's retry periods.
fn assert_no_update_during(server: &Server, window: Duration, expected: usize) {
    let end = Instant::now() + window;
    while Instant::now() < end {
        assert_eq!(
            server.updates().len(),
            expected,
            "no retry after a fatal answer"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn enabling_ddns_makes_an_authenticated_update_that_inetwork_shows() {
    let server = Server::start();
    let camera = camera(&server.url());
    assert_eq!(dynamic_dns(&camera), "Disable", "the spec's example");

    enable_ddns(&camera, "cam-first.example.org", dyndns::PASSWORD);
    let updates = wait_for_updates(&server, 1);
    let update = &updates[0];
    assert_eq!(update.method, "GET");
    assert_eq!(update.path, "/nic/update");
    assert_eq!(update.hostname.as_deref(), Some("cam-first.example.org"));
    assert_eq!(
        update.credentials,
        Some((dyndns::USER.into(), dyndns::PASSWORD.into()))
    );
    assert_eq!(
        update.myip, None,
        "the camera's 192.168.0.20 is private: the server takes the source address"
    );
    let agent = update.user_agent.as_deref().unwrap_or("");
    assert!(agent.starts_with("ipcam - ipcamd - "), "{agent}");
    wait_for_status(&camera, "Enable (good 127.0.0.1)");

    // A new host name is a new update.
    enable_ddns(&camera, "cam-second.example.org", dyndns::PASSWORD);
    let updates = wait_for_updates(&server, 2);
    assert_eq!(
        updates[1].hostname.as_deref(),
        Some("cam-second.example.org")
    );

    // Disabling shows the spec's word again.
    set_network(&camera, &[("DDNSEnable", "0")]);
    assert_eq!(dynamic_dns(&camera), "Disable");

    let inetwork = camera.get("/inetwork.cgi", ADMIN).text();
    assert!(!inetwork.contains(dyndns::PASSWORD), "{inetwork}");
    assert_eq!(
        log_capture::lines_with(dyndns::PASSWORD),
        Vec::<String>::new()
    );
}

#[test]
fn a_new_public_address_is_sent_at_once_as_myip() {
    let server = Server::start();
    let camera = camera(&server.url());
    enable_ddns(&camera, "cam-moving.example.org", dyndns::PASSWORD);
    wait_for_status(&camera, "Enable (good 127.0.0.1)");

    set_network(
        &camera,
        &[
            ("IPAddressMode", "1"),
            ("IPAddress", "81.2.69.160"),
            ("SubnetMask", "255.255.255.0"),
            ("DefaultGateway", "81.2.69.1"),
        ],
    );
    let updates = wait_for_updates(&server, 2);
    assert_eq!(updates[1].myip.as_deref(), Some("81.2.69.160"));
    assert_eq!(
        updates[1].hostname.as_deref(),
        Some("cam-moving.example.org")
    );
    wait_for_status(&camera, "Enable (good 81.2.69.160)");
}

#[test]
fn badauth_stops_updates_until_the_settings_change() {
    let server = Server::start();
    let camera = camera(&server.url());
    let wrong = "Wr0ng-pa55";
    enable_ddns(&camera, "cam-badauth.example.org", wrong);
    wait_for_status(&camera, "Enable (badauth)");
    assert_no_update_during(&server, Duration::from_secs(3), 1);
    assert_eq!(
        log_lines(Level::Error, &["cam-badauth.example.org", "badauth"]),
        1
    );

    // The owner fixes the password: updates start again, at once.
    enable_ddns(&camera, "cam-badauth.example.org", dyndns::PASSWORD);
    wait_for_status(&camera, "Enable (good 127.0.0.1)");
    assert_eq!(server.updates().len(), 2);

    let inetwork = camera.get("/inetwork.cgi", ADMIN).text();
    assert!(!inetwork.contains(wrong), "{inetwork}");
    assert_eq!(log_capture::lines_with(wrong), Vec::<String>::new());
    assert_eq!(
        log_capture::lines_with(dyndns::PASSWORD),
        Vec::<String>::new()
    );
}

#[test]
fn abuse_stops_updates_too() {
    let server = Server::start();
    server.script(&["abuse"]);
    let camera = camera(&server.url());
    enable_ddns(&camera, "cam-abuse.example.org", dyndns::PASSWORD);
    wait_for_status(&camera, "Enable (abuse)");
    assert_no_update_during(&server, Duration::from_secs(3), 1);
}

#[test]
fn an_unreachable_or_troubled_server_is_retried_until_it_answers() {
    let port = ipcam_testkit::free_port();
    let camera = camera(&format!("http://127.0.0.1:{port}"));
    enable_ddns(&camera, "cam-retry.example.org", dyndns::PASSWORD);
    wait_for_status(&camera, "Enable (unreachable, retrying)");
    // At least one retry failed too, and the episode was logged once.
    wait_for("a second failed attempt", || {
        (log_lines(Level::Debug, &["cam-retry.example.org", "failed again"]) >= 1).then_some(())
    });
    assert_eq!(
        log_lines(Level::Warn, &["cam-retry.example.org", "failed"]),
        1,
        "one warning per failure episode"
    );

    let server = Server::start_on(port).expect("the server comes back on its port");
    server.script(&["911"]);
    wait_for_status(&camera, "Enable (good 127.0.0.1)");
    let updates = server.updates();
    assert_eq!(updates.len(), 2, "911, then good after the back-off");
    assert_eq!(
        log_lines(Level::Warn, &["cam-retry.example.org", "911"]),
        1,
        "a new kind of failure is a new episode"
    );
    assert_eq!(
        log_lines(Level::Info, &["cam-retry.example.org", "work again"]),
        1
    );
    assert_eq!(
        log_capture::lines_with(dyndns::PASSWORD),
        Vec::<String>::new()
    );
}

#[test]
fn an_unsupported_provider_is_named_in_the_status() {
    capture_log();
    // No server override: the camera would use the provider's own server, if it had one.
    let camera = TestCamera::start_with(|config| config.ddns.server = String::new());
    set_network(
        &camera,
        &[
            ("DDNSEnable", "1"),
            ("DDNSProvider", "TZO.com"),
            ("DDNSHostName", "cam.example.org"),
        ],
    );
    assert_eq!(dynamic_dns(&camera), "Enable (unsupported provider)");
}

#[test]
fn updates_go_over_https_to_a_server_whose_ca_is_configured_and_no_other() {
    let (server, ca_pem) = Server::start_tls();
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write the CA");

    capture_log();
    let trusting = TestCamera::start_with(|config| {
        config.ddns.server = server.url();
        config.ddns.ca_file = ca_file.clone();
    });
    enable_ddns(&trusting, "cam-tls.example.org", dyndns::PASSWORD);
    wait_for_status(&trusting, "Enable (good 127.0.0.1)");
    let updates = server.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].credentials,
        Some((dyndns::USER.into(), dyndns::PASSWORD.into()))
    );

    // The same server is refused by a camera that trusts only the public roots.
    let wary = camera(&server.url());
    enable_ddns(&wary, "cam-untrusted.example.org", dyndns::PASSWORD);
    wait_for_status(&wary, "Enable (TLS error, retrying)");
    assert_eq!(
        server.updates().len(),
        1,
        "no request over an untrusted TLS"
    );
    assert_eq!(
        log_lines(Level::Warn, &["cam-untrusted.example.org", "failed"]),
        1
    );
}

#[test]
fn a_factory_reset_stops_updates() {
    let server = Server::start();
    let camera = camera(&server.url());
    enable_ddns(&camera, "cam-reset.example.org", dyndns::PASSWORD);
    set_network(
        &camera,
        &[
            ("IPAddressMode", "1"),
            ("IPAddress", "81.2.69.160"),
            ("SubnetMask", "255.255.255.0"),
            ("DefaultGateway", "81.2.69.1"),
        ],
    );
    wait_for_status(&camera, "Enable (good 81.2.69.160)");
    let before = server.updates().len();

    // The reset takes the camera back to the private factory address: an updater still
    // running would send that change within a second.
    let reply = camera.post("/reset.cgi", ADMIN, "FactoryReset=Yes");
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(dynamic_dns(&camera), "Disable");
    assert_no_update_during(&server, Duration::from_secs(3), before);
}

#[test]
fn behind_nat_a_check_ip_service_gives_the_public_address_to_send() {
    let server = Server::start();
    server.set_public_address("81.2.69.160");
    capture_log();
    let camera = TestCamera::start_with(|config| {
        config.ddns.server = server.url();
        config.ddns.check_ip = format!("{}{}", server.url(), dyndns::CHECK_IP_PATH);
        config.ddns.check_ip_secs = 1;
        config.ddns.address_check_secs = 1;
    });
    enable_ddns(&camera, "cam-nat.example.org", dyndns::PASSWORD);
    wait_for_status(&camera, "Enable (good 81.2.69.160)");
    assert_eq!(server.updates()[0].myip.as_deref(), Some("81.2.69.160"));

    // The router gets a new address: the camera, whose own address is private, sends it.
    let checks = server.checks();
    server.set_public_address("81.2.69.161");
    wait_for_status(&camera, "Enable (good 81.2.69.161)");
    let updates = server.updates();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].myip.as_deref(), Some("81.2.69.161"));
    assert!(server.checks() > checks);
}

#[test]
fn a_restart_does_not_send_the_last_update_again() {
    let server = Server::start();
    let state = tempfile::tempdir().expect("state dir");
    let tweak = |config: &mut ipcamd::config::Config| {
        config.ddns.server = server.url();
        config.ddns.address_check_secs = 1;
    };
    capture_log();
    let mut camera = TestCamera::start_in(state.path(), tweak);
    enable_ddns(&camera, "cam-restart.example.org", dyndns::PASSWORD);
    wait_for_status(&camera, "Enable (good 127.0.0.1)");
    camera.stop();

    // The protocol calls a repeated update that changes nothing abuse: the camera
    // remembers the accepted one (state directory) and shows it without sending again.
    let camera = TestCamera::start_in(state.path(), tweak);
    wait_for_status(&camera, "Enable (good 127.0.0.1)");
    assert_no_update_during(&server, Duration::from_secs(3), 1);
    assert_eq!(
        log_lines(
            Level::Info,
            &["cam-restart.example.org", "not sending that again"]
        ),
        1
    );
}
