//! The daemon end to end: start-up, unknown paths, the role table of DESIGN.md and
//! shutdown, over real TCP.

mod common;

use common::{TestCamera, ADMIN};

#[test]
fn cgiversion_answers_in_the_spec_format() {
    let camera = TestCamera::start();
    let reply = camera.get("/cgiversion.cgi", ADMIN);
    assert_eq!(reply.status_line, "HTTP/1.0 200 OK");
    assert_eq!(reply.header("Content-Type"), Some("text/html"));
    assert_eq!(reply.text(), "CGIVersion=2\r\n");
}

#[test]
fn unknown_paths_are_404_even_without_credentials() {
    let camera = TestCamera::start();
    assert_eq!(camera.get("/nope.cgi", None).status, 404);
    assert_eq!(camera.get("/nope.cgi", ADMIN).status, 404);
}

#[test]
fn configuration_needs_credentials_and_says_how() {
    let camera = TestCamera::start();
    let reply = camera.get("/cgiversion.cgi", None);
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("WWW-Authenticate"),
        Some("Basic realm=\"ipcam\"")
    );
    assert_eq!(
        camera
            .get("/cgiversion.cgi", Some(("admin", "wrong")))
            .status,
        401
    );
}

#[test]
fn paths_match_ignoring_case_as_the_vendor_applet_sends_them() {
    let camera = TestCamera::start();
    assert_eq!(
        camera.get("/CGIVERSION.CGI", ADMIN).text(),
        "CGIVersion=2\r\n"
    );
}

#[test]
fn shutdown_with_a_viewer_connected_ends_cleanly() {
    let mut camera = TestCamera::start();
    let mut viewer = common::connect(camera.addr);
    std::io::Write::write_all(
        &mut viewer,
        common::request("GET", "/mjpeg.cgi", ADMIN, "").as_bytes(),
    )
    .unwrap();
    let mut first = [0u8; 12];
    std::io::Read::read_exact(&mut viewer, &mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.0 200");
    camera.stop();
    assert!(common::closed_by_server(&mut viewer));
}

#[test]
fn a_polled_iocontrol_with_a_cache_buster_is_a_status_read() {
    let camera = TestCamera::start();
    let reply = camera.get("/iocontrol.cgi?_=1732540000000", ADMIN);
    assert_eq!(reply.status, 200);
    assert!(
        reply.text().starts_with("Trigger1=0&Trigger2=0&"),
        "{}",
        reply.text()
    );
}
