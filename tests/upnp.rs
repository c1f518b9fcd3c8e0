//! UPnP (`UPnPEnable` of `/network.cgi`): the camera announces itself over SSDP on
//! loopback and serves its device description, checked with clients nobody here wrote:
//! GNOME's `gssdp-discover` (gupnp-tools) and Home Assistant's `async-upnp-client`
//! (PyPI), both installed by `.ci/upnp-deps`. Test cameras listen on 127.0.0.1, so their
//! SSDP joins the group on `lo` only and nothing leaves the host.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use common::{table, value_of, wait_for, TestCamera, ADMIN, DEADLINE};
use serde_json::Value;

/// A camera whose SSDP runs on the protocol's port (where the clients search), on lo.
fn announcing_camera() -> TestCamera {
    TestCamera::start_with(|config| config.upnp.ssdp = true)
}

fn set_upnp(camera: &TestCamera, enable: bool) {
    let query = format!("/network.cgi?UPnPEnable={}", u8::from(enable));
    assert_eq!(camera.get(&query, ADMIN).status, 200);
}

/// The `<UDN>` of the camera's description, without `uuid:`.
fn camera_uuid(camera: &TestCamera) -> String {
    let xml = camera.get("/upnp/device.xml", None).text();
    let start = xml.find("<UDN>uuid:").expect("a UDN") + "<UDN>uuid:".len();
    let end = start + xml[start..].find('<').expect("end of UDN");
    xml[start..end].to_owned()
}

fn location(camera: &TestCamera) -> String {
    format!("http://{}/upnp/device.xml", camera.addr)
}

/// `target/upnp-venv/bin/NAME`, or `None` (with the skip message) before `.ci/upnp-deps`.
fn venv_program(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/upnp-venv/bin")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        println!("SKIP: {} missing; run .ci/upnp-deps", path.display());
        None
    }
}

/// Whether a datagram sent to the SSDP group through lo comes back on lo. Where it does
/// not (a kernel or container without a multicast route on loopback), the tests that
/// need it say so and stop; the unicast and description tests still run.
fn multicast_on_lo() -> bool {
    let group = Ipv4Addr::new(239, 255, 255, 250);
    let works = (|| -> std::io::Result<bool> {
        let listener = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        listener.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)?;
        listener.set_read_timeout(Some(Duration::from_secs(2)))?;
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        sender.send_to(b"probe", (group, listener.local_addr()?.port()))?;
        let mut buf = [0u8; 8];
        Ok(listener
            .recv_from(&mut buf)
            .is_ok_and(|(len, _)| &buf[..len] == b"probe"))
    })()
    .unwrap_or(false);
    if !works {
        println!("SKIP: multicast to 239.255.255.250 does not loop back on lo here");
    }
    works
}

/// A child process killed on drop, its stdout read line by line on a thread.
struct Client {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Client {
    fn spawn(command: &mut Command) -> std::io::Result<Client> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Client {
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// Reads lines until `found` says the output so far shows what is awaited.
    fn wait_until(&mut self, what: &str, found: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !found(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("timed out waiting for {what}; output: {:#?}", self.seen),
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gssdp-discover` on lo for `target`, printing available and unavailable resources. It
/// searches once when it starts; after that, news comes only from the camera's NOTIFYs.
fn gssdp_discover(target: &str) -> Option<Client> {
    let mut command = Command::new("gssdp-discover");
    command.args([
        "-i", "lo", "-t", target, "-n", "60", "-r", "600", "-m", "all",
    ]);
    match Client::spawn(&mut command) {
        Ok(client) => Some(client),
        Err(err) => {
            println!("SKIP: gssdp-discover cannot run ({err}); run .ci/upnp-deps");
            None
        }
    }
}

/// The fields of gssdp-discover's block about `usn` that is `kind` ("available" or
/// "unavailable"): it prints `resource available`, then indented `USN:      ...`,
/// `Location: ...` lines, returned here as `("USN", "...")` pairs.
fn resource_block(lines: &[String], kind: &str, usn: &str) -> Option<Vec<(String, String)>> {
    lines.iter().enumerate().find_map(|(at, line)| {
        let head = line.trim() == format!("resource {kind}");
        let block: Vec<(String, String)> = lines[at + 1..]
            .iter()
            .take_while(|l| l.starts_with(' ') || l.starts_with('\t'))
            .filter_map(|l| l.trim().split_once(':'))
            .map(|(name, value)| (name.to_owned(), value.trim().to_owned()))
            .collect();
        let ours = block
            .iter()
            .any(|(name, value)| name == "USN" && value == usn);
        (head && ours).then_some(block)
    })
}

#[test]
fn the_description_is_public_only_while_upnp_is_enabled() {
    let camera = TestCamera::start();
    assert_eq!(camera.get("/upnp/device.xml", None).status, 404);
    set_upnp(&camera, true);
    // Access control on: the stream would need a login, the description does not.
    assert_eq!(
        camera.get("/user.cgi?AccessControlEnable=0", ADMIN).status,
        200
    );
    assert_eq!(camera.get("/image.jpg", None).status, 401);
    assert_eq!(
        camera
            .get("/system.cgi?CameraName=Yard%20%26%20Gate", ADMIN)
            .status,
        200
    );
    let reply = camera.get("/upnp/device.xml", None);
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("Content-Type")
        .unwrap()
        .starts_with("text/xml"));
    let xml = reply.text();
    assert!(
        xml.contains("<friendlyName>Yard &amp; Gate</friendlyName>"),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<presentationURL>http://{}/</presentationURL>",
            camera.addr
        )),
        "{xml}"
    );
    // A wrong login is still refused, as on every path.
    assert_eq!(
        camera
            .get("/upnp/device.xml", Some(("admin", "wrong")))
            .status,
        401
    );
    set_upnp(&camera, false);
    assert_eq!(camera.get("/upnp/device.xml", None).status, 404);
}

#[test]
fn a_control_point_parses_the_description() {
    let Some(python) = venv_program("python") else {
        return;
    };
    let camera = TestCamera::start();
    set_upnp(&camera, true);
    assert_eq!(
        camera.get("/system.cgi?CameraName=Porch", ADMIN).status,
        200
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/upnp_describe.py");
    let output = Command::new(python)
        .arg(script)
        .arg(location(&camera))
        .output()
        .expect("run upnp_describe.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let device: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(device["friendly_name"], "Porch");
    assert_eq!(device["device_type"], "urn:schemas-upnp-org:device:Basic:1");
    assert_eq!(device["manufacturer"], "ipcam");
    assert_eq!(
        device["model_name"],
        ipcamd::config::Config::default().platform.model
    );
    assert_eq!(device["udn"], format!("uuid:{}", camera_uuid(&camera)));
    assert_eq!(
        device["presentation_url"],
        format!("http://{}/", camera.addr)
    );
    assert_eq!(device["serial_number"], Value::Null);
}

#[test]
fn gssdp_discover_sees_the_camera_come_and_go() {
    if !multicast_on_lo() {
        return;
    }
    let camera = announcing_camera();
    set_upnp(&camera, true);
    let uuid = camera_uuid(&camera);
    let usn = format!("uuid:{uuid}::upnp:rootdevice");
    let Some(mut discover) = gssdp_discover("upnp:rootdevice") else {
        return;
    };
    // Found by its search (the camera's alive went out before the client listened), at
    // the address of its description.
    let listed = ("Location".to_owned(), location(&camera));
    discover.wait_until("the camera to be listed", |lines| {
        resource_block(lines, "available", &usn).is_some_and(|block| block.contains(&listed))
    });
    set_upnp(&camera, false);
    discover.wait_until("the camera's byebye", |lines| {
        resource_block(lines, "unavailable", &usn).is_some()
    });
}

#[test]
fn gssdp_discover_hears_the_alive_of_a_camera_switched_on_and_its_byebye_at_shutdown() {
    if !multicast_on_lo() {
        return;
    }
    let mut camera = announcing_camera();
    let Some(mut discover) = gssdp_discover("urn:schemas-upnp-org:device:Basic:1") else {
        return;
    };
    // Give the client time to be listening: it prints its banner first.
    discover.wait_until("gssdp-discover to start", |lines| !lines.is_empty());
    set_upnp(&camera, true);
    let usn = format!(
        "uuid:{}::urn:schemas-upnp-org:device:Basic:1",
        camera_uuid(&camera)
    );
    let listed = ("Location".to_owned(), location(&camera));
    discover.wait_until("the camera's device type", |lines| {
        resource_block(lines, "available", &usn).is_some_and(|block| block.contains(&listed))
    });
    camera.stop();
    discover.wait_until("the byebye of the shutdown", |lines| {
        resource_block(lines, "unavailable", &usn).is_some()
    });
}

#[test]
fn a_camera_started_with_upnp_on_announces_itself_and_a_factory_reset_says_goodbye() {
    if !multicast_on_lo() {
        return;
    }
    let mut before = announcing_camera();
    set_upnp(&before, true);
    before.stop();
    let Some(mut discover) = gssdp_discover("upnp:rootdevice") else {
        return;
    };
    discover.wait_until("gssdp-discover to start", |lines| !lines.is_empty());
    // Started after the client's only search: only its own alive can list it.
    let camera = TestCamera::start_in(&before.state_dir, |config| config.upnp.ssdp = true);
    let usn = format!("uuid:{}::upnp:rootdevice", camera_uuid(&camera));
    let listed = ("Location".to_owned(), location(&camera));
    discover.wait_until("the restarted camera's alive", |lines| {
        resource_block(lines, "available", &usn).is_some_and(|block| block.contains(&listed))
    });
    let reset = camera.post("/reset.cgi", ADMIN, "FactoryReset=Yes");
    assert_eq!(reset.status, 204);
    discover.wait_until("the byebye of the factory reset", |lines| {
        resource_block(lines, "unavailable", &usn).is_some()
    });
    assert_eq!(camera.get("/upnp/device.xml", None).status, 404);
}

#[test]
fn upnp_client_search_finds_the_camera_by_uuid() {
    if !multicast_on_lo() {
        return;
    }
    let Some(upnp_client) = venv_program("upnp-client") else {
        return;
    };
    let camera = announcing_camera();
    set_upnp(&camera, true);
    let target = format!("uuid:{}", camera_uuid(&camera));
    let mut command = Command::new(upnp_client);
    command.args(["--strict", "search", "--bind", "127.0.0.1"]);
    command.args(["--search_target", &target]);
    // Each answer is printed as it arrives, not when the search ends.
    command.env("PYTHONUNBUFFERED", "1");
    let mut search = Client::spawn(&mut command).expect("run upnp-client");
    let answer = |line: &String| {
        serde_json::from_str::<Value>(line)
            .ok()
            .filter(|json| json["USN"] == target.as_str())
    };
    search.wait_until("an answer to the search", |lines| {
        lines.iter().any(|line| answer(line).is_some())
    });
    let json = search.seen.iter().find_map(answer).unwrap();
    assert_eq!(json["ST"], target.as_str());
    assert_eq!(json["LOCATION"], location(&camera).as_str());
    assert_eq!(json["CACHE-CONTROL"], "max-age=1800");
}

#[test]
fn inetwork_shows_the_cameras_address_while_nothing_is_mapped() {
    let camera = TestCamera::start();
    let status = |camera: &TestCamera| {
        let reply = camera.get("/inetwork.cgi", ADMIN);
        let rows = table(&reply);
        let ip = value_of(&rows, "IPAddress").unwrap().to_owned();
        (ip, value_of(&rows, "UpnP").unwrap().to_owned())
    };
    assert_eq!(status(&camera).1, "Disable");
    set_upnp(&camera, true);
    let (ip, upnp) = wait_for("UPnP on", || Some(status(&camera)));
    assert_eq!(upnp, format!("Enable (IP : {ip})"));
}

/// The test router: `upnp_igd.py` (an InternetGatewayDevice on async-upnp-client's UPnP
/// server, on 127.0.0.1), its calls read as JSON lines.
struct Router {
    client: Client,
    location: String,
    read: usize,
    _alone: MutexGuard<'static, ()>,
}

/// The address the test router says is its external one (TEST-NET-3).
const EXTERNAL_IP: &str = "203.0.113.7";

/// One test router at a time: cameras find theirs by a multicast search on lo, which
/// every router there would answer.
static ONE_ROUTER: Mutex<()> = Mutex::new(());

impl Router {
    /// The router, refusing to map `refused` if given.
    fn start(refused: Option<u16>) -> Option<Router> {
        let python = venv_program("python")?;
        let alone = ONE_ROUTER.lock().unwrap_or_else(PoisonError::into_inner);
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/upnp_igd.py");
        let mut command = Command::new(python);
        command.arg(script).arg(EXTERNAL_IP);
        command.args(refused.map(|port| port.to_string()));
        command.env("PYTHONUNBUFFERED", "1");
        let mut client = Client::spawn(&mut command).expect("start upnp_igd.py");
        client.wait_until("the router to listen", |lines| !lines.is_empty());
        let first: Value = serde_json::from_str(&client.seen[0]).expect("JSON");
        let location = first["location"].as_str().expect("location").to_owned();
        Some(Router {
            client,
            location,
            read: 1,
            _alone: alone,
        })
    }

    /// Waits for the next call of `action` and returns its arguments.
    fn next_call(&mut self, action: &str) -> Value {
        let read = self.read;
        let is_call = |line: &String| {
            serde_json::from_str::<Value>(line)
                .ok()
                .filter(|call| call["action"] == action)
        };
        self.client
            .wait_until(&format!("a call of {action}"), |lines| {
                lines[read..].iter().any(|line| is_call(line).is_some())
            });
        let (at, call) = self.client.seen[read..]
            .iter()
            .enumerate()
            .find_map(|(at, line)| is_call(line).map(|call| (at, call)))
            .unwrap();
        self.read = read + at + 1;
        call
    }
}

fn upnp_status(camera: &TestCamera) -> String {
    let rows = table(&camera.get("/inetwork.cgi", ADMIN));
    value_of(&rows, "UpnP").expect("UpnP").to_owned()
}

#[test]
fn the_router_maps_the_http_ports_renews_them_and_removes_them() {
    if !multicast_on_lo() {
        return;
    }
    let Some(mut router) = Router::start(None) else {
        return;
    };
    // miniupnpc's upnpc, a real IGD client, agrees that the test router is one.
    match Command::new("upnpc")
        .args(["-u", &router.location, "-s"])
        .output()
    {
        Ok(out) => assert!(
            String::from_utf8_lossy(&out.stdout).contains("Found valid IGD"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(err) => println!("upnpc cannot run ({err}); the router is not cross-checked"),
    }
    let _ = router.next_call("GetExternalIPAddress");
    let camera = TestCamera::start_with(|config| {
        config.upnp.port_mapping = true;
        config.upnp.lease_seconds = 2;
    });
    let port = u64::from(camera.addr.port());
    set_upnp(&camera, true);
    let add = router.next_call("AddPortMapping");
    assert_eq!(add["NewProtocol"], "TCP");
    assert_eq!(add["NewExternalPort"], port);
    assert_eq!(add["NewInternalPort"], port);
    assert_eq!(add["NewInternalClient"], "127.0.0.1");
    assert_eq!(add["NewLeaseDuration"], 2);
    assert_eq!(add["NewPortMappingDescription"], "IPCam (ipcam HTTP)");
    let _ = router.next_call("GetExternalIPAddress");
    wait_for("the external address on /inetwork.cgi", || {
        (upnp_status(&camera) == format!("Enable (IP : {EXTERNAL_IP})")).then_some(())
    });
    // Renewed before the 2 s lease ends.
    let renewal = router.next_call("AddPortMapping");
    assert_eq!(renewal["NewExternalPort"], port);

    // The second HTTP port is mapped too once it is enabled.
    let second = ipcam_testkit::free_port();
    let query = format!("/network.cgi?SecondHTTPPortEnable=3&SecondHTTPPort={second}");
    assert_eq!(camera.get(&query, ADMIN).status, 200);
    assert_eq!(
        router.next_call("DeletePortMapping")["NewExternalPort"],
        port
    );
    let mut mapped: Vec<Value> = (0..2)
        .map(|_| router.next_call("AddPortMapping")["NewExternalPort"].clone())
        .collect();
    mapped.sort_by_key(|port| port.as_u64());
    let mut expected = vec![Value::from(port), Value::from(second)];
    expected.sort_by_key(|port| port.as_u64());
    assert_eq!(mapped, expected);

    set_upnp(&camera, false);
    let mut deleted: Vec<Value> = (0..2)
        .map(|_| {
            let delete = router.next_call("DeletePortMapping");
            assert_eq!(delete["NewProtocol"], "TCP");
            delete["NewExternalPort"].clone()
        })
        .collect();
    deleted.sort_by_key(|port| port.as_u64());
    assert_eq!(deleted, expected);
    assert_eq!(upnp_status(&camera), "Disable");
}

#[test]
fn a_port_the_router_refuses_leaves_the_cameras_address_and_the_others_are_still_removed() {
    if !multicast_on_lo() {
        return;
    }
    let second = ipcam_testkit::free_port();
    let Some(mut router) = Router::start(Some(second)) else {
        return;
    };
    let camera = TestCamera::start_with(|config| config.upnp.port_mapping = true);
    let port = u64::from(camera.addr.port());
    let query = format!("/network.cgi?UPnPEnable=1&SecondHTTPPortEnable=3&SecondHTTPPort={second}");
    assert_eq!(camera.get(&query, ADMIN).status, 200);
    let first = router.next_call("AddPortMapping");
    assert_eq!(
        (first["NewExternalPort"].clone(), first["refused"].clone()),
        (Value::from(port), Value::from(false))
    );
    let refused = router.next_call("AddPortMapping");
    assert_eq!(refused["NewExternalPort"], second);
    assert_eq!(refused["refused"], true);
    let ip = {
        let rows = table(&camera.get("/inetwork.cgi", ADMIN));
        value_of(&rows, "IPAddress").unwrap().to_owned()
    };
    assert_eq!(upnp_status(&camera), format!("Enable (IP : {ip})"));
    // The port the router did map is removed when UPnP is switched off.
    set_upnp(&camera, false);
    assert_eq!(
        router.next_call("DeletePortMapping")["NewExternalPort"],
        port
    );
}
