//! A camera behind a reverse proxy: every connection comes from the proxy, which names the
//! client in `X-Forwarded-For`. With `[server] trusted_proxies` naming the proxy, the
//! failed-login limit and the viewer list go by that client; from anyone else the header
//! counts for nothing, so it cannot be used to dodge the limit.

mod common;

use std::io::{BufReader, Write};
use std::net::{IpAddr, Ipv4Addr};

use common::{exchange, TestCamera, ADMIN, ADMIN_PASSWORD};

/// One more wrong password than the limit lets through.
const TOO_MANY: usize = 6;

/// `GET path` as the proxy forwards it for a client at `forwarded_for`, with a login.
fn via_proxy(camera: &TestCamera, path: &str, forwarded_for: &str, password: &str) -> u16 {
    let raw = format!(
        "GET {path} HTTP/1.0\r\nAuthorization: Basic {}\r\nX-Forwarded-For: {forwarded_for}\r\n\r\n",
        common::basic("admin", password)
    );
    exchange(camera.addr, raw.as_bytes()).status
}

fn behind_loopback_proxy() -> TestCamera {
    TestCamera::start_with(|config| {
        config.server.trusted_proxies = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    })
}

#[test]
fn behind_a_trusted_proxy_each_client_has_its_own_login_limit() {
    let camera = behind_loopback_proxy();
    for _ in 0..TOO_MANY {
        assert_eq!(
            via_proxy(&camera, "/system.cgi", "203.0.113.9", "wrong"),
            401
        );
    }
    assert_eq!(
        via_proxy(&camera, "/system.cgi", "203.0.113.9", ADMIN_PASSWORD),
        401,
        "the client that failed too often is blocked"
    );
    assert_eq!(
        via_proxy(&camera, "/system.cgi", "198.51.100.7", ADMIN_PASSWORD),
        200,
        "another client behind the same proxy is not"
    );
    assert_eq!(
        via_proxy(
            &camera,
            "/system.cgi",
            "203.0.113.9, 198.51.100.7",
            ADMIN_PASSWORD
        ),
        200,
        "what a client writes into the header itself is not its address"
    );
}

#[test]
fn from_an_untrusted_peer_the_header_does_not_dodge_the_login_limit() {
    let camera = TestCamera::start();
    for client in 0..TOO_MANY {
        let claimed = format!("203.0.113.{client}");
        assert_eq!(via_proxy(&camera, "/system.cgi", &claimed, "wrong"), 401);
    }
    assert_eq!(
        via_proxy(&camera, "/system.cgi", "198.51.100.7", ADMIN_PASSWORD),
        401,
        "the connection's own address is blocked, whatever the header says"
    );
}

#[test]
fn behind_a_trusted_proxy_the_viewer_list_shows_the_client() {
    let camera = behind_loopback_proxy();
    let mut stream = common::connect(camera.addr);
    let raw = format!(
        "GET /mjpeg.cgi HTTP/1.0\r\nAuthorization: Basic {}\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n",
        common::basic("admin", ADMIN_PASSWORD)
    );
    stream.write_all(raw.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let head = common::read_reply(&mut reader, true);
    assert_eq!(head.status, 200);

    let viewers = common::table(&camera.get("/activeuser.cgi", ADMIN));
    assert_eq!(
        common::value_of(&viewers, "UserIPAddress"),
        Some("203.0.113.9")
    );
}
