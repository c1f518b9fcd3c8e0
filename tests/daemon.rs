//! The daemon end to end: start-up, unknown paths, the role table of DESIGN.md and
//! shutdown, over real TCP.

mod common;

use common::{exchange, TestCamera, ADMIN, ADMIN_PASSWORD};

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

/// A request as a browser sends it for a page, with the admin's cached login and the
/// browser's own word on which site the page came from.
fn from_a_page(camera: &TestCamera, method: &str, target: &str, origin_headers: &str) -> u16 {
    let body = if method == "POST" {
        "CameraName=Pwned"
    } else {
        ""
    };
    let raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\n{origin_headers}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        camera.addr,
        common::basic("admin", ADMIN_PASSWORD),
        body.len()
    );
    exchange(camera.addr, raw.as_bytes()).status
}

#[test]
fn pages_of_other_sites_may_show_the_camera_but_not_change_it() {
    let camera = TestCamera::start();
    let name_before = camera.get("/system.cgi", ADMIN).text();
    let cross_site = "Sec-Fetch-Site: cross-site\r\n";
    let foreign_origin = "Origin: http://attacker.example\r\n";
    for (method, target, headers) in [
        ("POST", "/system.cgi", cross_site),
        ("POST", "/system.cgi", foreign_origin),
        // Behind a proxy: another site's page, though the proxy names its own address.
        (
            "POST",
            "/system.cgi",
            "Origin: http://attacker.example\r\nX-Forwarded-Host: camera.test:8443\r\n",
        ),
        ("GET", "/reset.cgi?FactoryReset=Yes", cross_site),
        (
            "GET",
            "/iocontrol.cgi?Trigger1=1",
            "Sec-Fetch-Site: same-site\r\n",
        ),
        ("POST", "/image.jpg", cross_site),
    ] {
        assert_eq!(
            from_a_page(&camera, method, target, headers),
            400,
            "{method} {target} with {headers:?}"
        );
    }
    assert_eq!(camera.get("/system.cgi", ADMIN).text(), name_before);
    let io = camera.get("/iocontrol.cgi", ADMIN).text();
    assert!(io.starts_with("Trigger1=0&"), "{io}");

    for target in ["/image.jpg", "/", "/web/app.js"] {
        assert_eq!(
            from_a_page(&camera, "GET", target, cross_site),
            200,
            "{target}"
        );
    }
    // The camera's own page, and clients that are not browsers, change settings as before.
    let own = format!(
        "Sec-Fetch-Site: same-origin\r\nOrigin: http://{}\r\n",
        camera.addr
    );
    assert_eq!(from_a_page(&camera, "POST", "/system.cgi", &own), 200);
    // The same page through a reverse proxy that keeps the camera's Host and says which
    // address the browser used.
    let proxied = "Origin: https://camera.test:8443\r\nX-Forwarded-Host: camera.test:8443\r\n";
    assert_eq!(from_a_page(&camera, "POST", "/system.cgi", proxied), 200);
    assert_eq!(from_a_page(&camera, "POST", "/system.cgi", ""), 200);
}
