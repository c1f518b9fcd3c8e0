//! The camera's own web page in a real browser: Debian's headless Chromium, driven over the
//! DevTools protocol by `headless_chrome`, against an in-process camera on port 0.
//!
//! Login goes the way it does for a person: the page answers 401, the browser asks for
//! credentials (here the DevTools `Fetch.authRequired` event stands in for the dialog and
//! answers once per request, like a person who cancels a second prompt), then the browser
//! sends them with every request of the page. Each test has its own browser and profile.
//!
//! The other ways in (see `Entry`): an address with the login in it, which no prompt may
//! follow, and a real nginx in front of the camera under `/cam1/`, over HTTP and ending TLS
//! (see `nginx/mod.rs`); each is checked by `the_page_works`.
//!
//! Needs Chromium: `bash .ci/browser-deps` installs it. Without it these tests fail and say so.
//! The proxy tests install nginx with `.ci/web-deps` when it is missing.
//!
//! `cargo test --test browser -- --ignored screenshots` rewrites `docs/screenshots/*.png`.

mod common;
mod nginx;

use std::collections::HashSet;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use common::{TestCamera, ADMIN, ADMIN_PASSWORD};
use headless_chrome::browser::tab::point::Point;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::Emulation;
use headless_chrome::protocol::cdp::Fetch::{
    AuthChallengeResponse, AuthChallengeResponseResponse, ContinueWithAuth,
};
use headless_chrome::protocol::cdp::Page::{
    AddScriptToEvaluateOnNewDocument, CaptureScreenshotFormatOption,
};
use headless_chrome::{Browser, LaunchOptions, Tab};
use nginx::{Nginx, Scheme};

/// How long one step in the browser may take; generous because Chromium shares two cores
/// with the camera and the compiler on CI.
const DEADLINE: Duration = Duration::from_secs(30);

const DESKTOP: (u32, u32) = (1280, 800);

/// Chromium binaries, in the order tried; `CHROME` overrides.
const CHROMIUM: [&str; 3] = [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];

/// One Chromium at a time: two cores cannot run several next to a camera each.
fn one_browser_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn chromium_path() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROME") {
        return PathBuf::from(path);
    }
    CHROMIUM
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "Chromium not found (looked for {CHROMIUM:?}; set CHROME to override). \
                 The browser tests need it: run `bash .ci/browser-deps` as root."
            )
        })
}

/// How a person reaches the camera's page: the address they open, where the page's
/// requests must go, how they log in and what the browser needs for it.
struct Entry {
    /// The address typed into the browser (it may carry the login: `http://u:p@host/`).
    address: String,
    /// The page's base as the requests must show it: scheme, host, port and sub-path,
    /// no login.
    base: String,
    /// The credentials the login prompt is answered with; `None`: every prompt is
    /// cancelled, as by a person who expected none.
    login: Option<(String, String)>,
    /// More Chromium switches (certificate errors, host names).
    switches: Vec<String>,
}

impl Entry {
    /// The camera's own port at `addr`, the login answered in the prompt.
    fn direct(addr: SocketAddr, user: &str, password: &str) -> Entry {
        let base = format!("http://{addr}/");
        Entry {
            address: base.clone(),
            base,
            login: Some((user.to_owned(), password.to_owned())),
            switches: Vec::new(),
        }
    }
}

/// A browser logged in to the camera as one user, with what it did recorded.
struct Session {
    // Dropped after the tab: the browser process ends with it.
    tab: Arc<Tab>,
    _browser: Browser,
    /// The address the page was opened at.
    address: String,
    /// Where every request of the page must go (see `Entry::base`).
    base: String,
    /// Requests the browser had to ask credentials for: each is a login dialog for a person.
    prompts: Arc<AtomicUsize>,
    /// Every URL the page requested.
    requests: Arc<Mutex<Vec<String>>>,
    _turn: MutexGuard<'static, ()>,
}

impl Session {
    /// Opens the camera's page as `user`.
    fn open(camera: &TestCamera, user: &str, password: &str) -> Session {
        Session::open_with(camera, user, password, None)
    }

    /// Opens the camera's page as `user`, running `before_load` in every document before
    /// the page's own scripts (to take features away, as an older browser would lack them).
    fn open_with(
        camera: &TestCamera,
        user: &str,
        password: &str,
        before_load: Option<&str>,
    ) -> Session {
        Session::open_at(camera.addr, user, password, before_load)
    }

    /// Opens the page served at `addr` (the main or the second HTTP port).
    fn open_at(addr: SocketAddr, user: &str, password: &str, before_load: Option<&str>) -> Session {
        Session::enter(Entry::direct(addr, user, password), before_load)
    }

    /// Opens the page the way `entry` says.
    fn enter(entry: Entry, before_load: Option<&str>) -> Session {
        let turn = one_browser_at_a_time();
        let mut switches: Vec<&OsStr> = vec![
            OsStr::new("--disable-component-update"),
            OsStr::new("--no-default-browser-check"),
            OsStr::new("--hide-scrollbars"),
            OsStr::new("--mute-audio"),
        ];
        switches.extend(entry.switches.iter().map(OsStr::new));
        let options = LaunchOptions::default_builder()
            .path(Some(chromium_path()))
            .headless(true)
            .sandbox(false)
            .window_size(Some(DESKTOP))
            .idle_browser_timeout(Duration::from_secs(300))
            .args(switches)
            .build()
            .expect("launch options");
        let browser = Browser::new(options).expect("Chromium starts");
        let tab = browser.new_tab().expect("a tab");
        tab.set_default_timeout(DEADLINE);
        let prompts = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        answer_logins(&tab, entry.login.as_ref(), &prompts, &requests);
        tab.enable_fetch(None, Some(true)).expect("Fetch domain");
        if let Some(script) = before_load {
            tab.call_method(AddScriptToEvaluateOnNewDocument {
                source: script.to_owned(),
                world_name: None,
                include_command_line_api: None,
                run_immediately: None,
            })
            .expect("a script before the page's own");
        }
        let session = Session {
            tab,
            _browser: browser,
            address: entry.address,
            base: entry.base,
            prompts,
            requests,
            _turn: turn,
        };
        session.go("");
        session
    }

    /// Navigates to the page with `fragment` (e.g. `#settings/system`) and waits for the
    /// page to know who is logged in.
    fn go(&self, fragment: &str) {
        self.tab
            .navigate_to(&format!("{}{fragment}", self.address))
            .expect("navigate");
        self.wait_for_role();
    }

    fn reload(&self) {
        self.tab.reload(true, None).expect("reload");
        self.wait_for_role();
    }

    fn wait_for_role(&self) -> String {
        self.until("the page to find out the user's role", || {
            self.string("document.body.dataset.role || null")
        })
    }

    /// Evaluates `expression` (awaiting a promise) and returns its JSON value.
    fn eval(&self, expression: &str) -> Option<serde_json::Value> {
        let object = self
            .tab
            .evaluate(expression, true)
            .unwrap_or_else(|err| panic!("evaluating {expression}: {err}"));
        object.value.filter(|value| !value.is_null())
    }

    fn string(&self, expression: &str) -> Option<String> {
        self.eval(expression)
            .and_then(|value| value.as_str().map(str::to_owned))
    }

    fn number(&self, expression: &str) -> Option<f64> {
        self.eval(expression).and_then(|value| value.as_f64())
    }

    fn truth(&self, expression: &str) -> bool {
        self.eval(expression)
            .and_then(|value| value.as_bool())
            .unwrap_or(false)
    }

    /// Polls `probe` until it gives a value or the deadline passes.
    fn until<T>(&self, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(value) = probe() {
                return value;
            }
            if Instant::now() > deadline {
                let status = self.string(
                    "[...document.querySelectorAll('.status, #stream-state')]\
                     .map((n) => n.textContent).join(' | ')",
                );
                panic!("timed out waiting for {what}; page status: {status:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn click(&self, selector: &str) {
        self.tab
            .wait_for_element(selector)
            .unwrap_or_else(|err| panic!("{selector}: {err}"))
            .click()
            .unwrap_or_else(|err| panic!("clicking {selector}: {err}"));
    }

    /// Replaces the text of an input as a person would: select all, type.
    fn type_over(&self, selector: &str, text: &str) {
        self.click(selector);
        assert!(self.truth(&format!(
            "(() => {{ const n = document.querySelector('{selector}'); n.select(); \
             return document.activeElement === n; }})()"
        )));
        self.tab.type_str(text).expect("typing");
    }

    /// Frames the live view has shown so far.
    fn frames(&self) -> u64 {
        self.number("Number(document.querySelector('#video').dataset.frames)")
            .unwrap_or(0.0) as u64
    }

    /// Pan and tilt as the live view shows them (from the stream's part headers).
    fn position(&self) -> Option<(u64, u64)> {
        let pan = self.number("Number(document.querySelector('#position').dataset.pan)");
        let tilt = self.number("Number(document.querySelector('#position').dataset.tilt)");
        match (pan, tilt) {
            (Some(pan), Some(tilt)) if pan.is_finite() && tilt.is_finite() => {
                Some((pan as u64, tilt as u64))
            }
            _ => None,
        }
    }

    /// Waits for a settings page to finish loading from its CGI.
    fn open_settings(&self, page: &str) {
        self.tab
            .navigate_to(&format!("{}#settings/{page}", self.address))
            .expect("navigate");
        self.until(&format!("the {page} settings to load"), || {
            self.truth(&format!(
                "document.querySelector('.page[data-page=\"{page}\"]')?.dataset.ready === 'true'"
            ))
            .then_some(())
        });
    }

    /// Renders as a screen of `width` × `height` CSS pixels, a phone's when `mobile`, in the
    /// page's dark scheme, and reloads.
    fn emulate(&self, width: u32, height: u32, mobile: bool) {
        self.tab
            .call_method(Emulation::SetDeviceMetricsOverride {
                width,
                height,
                device_scale_factor: if mobile { 2.0 } else { 1.0 },
                mobile,
                scale: None,
                screen_width: None,
                screen_height: None,
                position_x: None,
                position_y: None,
                dont_set_visible_size: None,
                screen_orientation: None,
                viewport: None,
                display_feature: None,
                device_posture: None,
            })
            .expect("device metrics");
        self.tab
            .call_method(Emulation::SetEmulatedMedia {
                media: None,
                features: Some(vec![Emulation::MediaFeature {
                    name: "prefers-color-scheme".into(),
                    value: "dark".into(),
                }]),
            })
            .expect("dark scheme");
        self.reload();
    }

    fn save_screenshot(&self, name: &str) {
        let png = self
            .tab
            .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
            .expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }
}

/// Answers the browser's login prompts with `login`, once per request: a second prompt
/// for the same request means the camera refused them, and a person would cancel it.
/// Without `login` every prompt is cancelled. Counts the prompts and records every URL the
/// page asks for.
fn answer_logins(
    tab: &Arc<Tab>,
    login: Option<&(String, String)>,
    prompts: &Arc<AtomicUsize>,
    requests: &Arc<Mutex<Vec<String>>>,
) {
    if let Some((user, password)) = login {
        tab.authenticate(Some(user.clone()), Some(password.clone()))
            .expect("credentials");
    }
    let answers = login.is_some();
    let weak_tab: Weak<Tab> = Arc::downgrade(tab);
    let answered = Mutex::new(HashSet::new());
    let prompts = Arc::clone(prompts);
    let requests = Arc::clone(requests);
    tab.add_event_listener(Arc::new(move |event: &Event| match event {
        Event::FetchRequestPaused(paused) => {
            requests
                .lock()
                .unwrap()
                .push(paused.params.request.url.clone());
        }
        Event::FetchAuthRequired(challenge) => {
            let request_id = challenge.params.request_id.clone();
            if answered.lock().unwrap().insert(request_id.clone()) {
                prompts.fetch_add(1, Ordering::SeqCst);
                if answers {
                    return; // The tab's own handler gives the credentials (`Tab::authenticate`).
                }
            }
            // Answered before this handler's: the tab's own answer then finds the
            // request settled and is refused, harmlessly.
            if let Some(tab) = weak_tab.upgrade() {
                let cancel = AuthChallengeResponse {
                    response: AuthChallengeResponseResponse::CancelAuth,
                    username: None,
                    password: None,
                };
                let _ = tab.call_method(ContinueWithAuth {
                    request_id,
                    auth_challenge_response: cancel,
                });
            }
        }
        _ => {}
    }))
    .expect("event listener");
}

/// Adds a user through `/userlist.cgi`, as the admin.
fn add_user(camera: &TestCamera, name: &str, password: &str, privilege: u8) {
    let reply = camera.post(
        "/userlist.cgi",
        ADMIN,
        &format!("UserName={name}&UserPassword={password}&UserPrivilege={privilege}&UserAdd=Yes"),
    );
    assert_eq!(reply.status, 200, "adding {name}: {}", reply.text());
}

fn cgi_value(camera: &TestCamera, path: &str, name: &str) -> String {
    common::table(&camera.get(path, ADMIN))
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{path} has no {name}"))
        .1
}

#[test]
fn the_live_view_plays() {
    let camera = TestCamera::start();
    add_user(&camera, "viewer", "view0", 0);
    let page = Session::open(&camera, "viewer", "view0");
    let first = page.until("the first frame", || {
        let frames = page.frames();
        (frames >= 1).then_some(frames)
    });
    page.until("three more frames", || {
        (page.frames() >= first + 3).then_some(())
    });
    // Each frame swaps the image source, so a given instant may catch one still loading.
    page.until("a decoded frame on screen", || {
        page.truth(
            "document.querySelector('#video').complete && \
             document.querySelector('#video').naturalWidth > 0",
        )
        .then_some(())
    });
    let stamp = page.until("the frame time", || {
        page.string("document.querySelector('#stamp').textContent || null")
    });
    assert_eq!(stamp.len(), "yyyy-mm-dd hh:mm:ss".len(), "{stamp}");
    assert_eq!(
        page.position(),
        Some((170, 45)),
        "the home position, from the part header"
    );
    let requests = page.requests.lock().unwrap().clone();
    assert!(requests.iter().any(|url| url.ends_with("/mjpeg.cgi")));
    for url in requests {
        assert!(
            url.starts_with(&page.base),
            "the page fetched {url} from elsewhere"
        );
    }
}

#[test]
fn the_live_view_shows_the_rtsp_and_onvif_addresses() {
    let camera = TestCamera::start();
    add_user(&camera, "viewer", "view0", 0);
    let page = Session::open(&camera, "viewer", "view0");
    let port = camera.daemon().rtsp_addr().expect("RTSP serves").port();
    let shown = page.until("the RTSP address", || {
        page.string(
            "document.querySelector('#rtsp').hidden ? null : \
             document.querySelector('#rtsp-url').href",
        )
    });
    assert_eq!(shown, format!("rtsp://127.0.0.1:{port}/"));
    let onvif = page.until("the ONVIF address", || {
        page.string(
            "document.querySelector('#onvif').hidden ? null : \
             document.querySelector('#onvif-url').href + ' ' + \
             document.querySelector('#onvif-note').textContent",
        )
    });
    // The test cameras run without WS-Discovery (tests/common).
    assert_eq!(
        onvif,
        format!(
            "http://{}/onvif/device_service WS-Discovery off",
            camera.addr
        )
    );
}

#[test]
fn without_readable_streams_the_live_view_falls_back_to_a_plain_img_and_polls_the_io_state() {
    let camera = TestCamera::start();
    add_user(&camera, "viewer", "view0", 0);
    // What a browser without streaming fetch bodies looks like to the page.
    let page = Session::open_with(
        &camera,
        "viewer",
        "view0",
        Some("delete Response.prototype.body;"),
    );
    page.until("a decoded frame of the stream", || {
        page.truth(
            "document.querySelector('#video').src.endsWith('/mjpeg.cgi') && \
             document.querySelector('#video').naturalWidth === 640",
        )
        .then_some(())
    });
    page.until("the first frame counted", || {
        (page.frames() >= 1).then_some(())
    });
    let first_stamp = page.until("the camera time from /iocontrol.cgi", || {
        page.string("document.querySelector('#stamp').textContent || null")
    });
    page.until("the camera time to advance", || {
        let stamp = page.string("document.querySelector('#stamp').textContent")?;
        (stamp != first_stamp).then_some(())
    });

    let set = camera.post("/iocontrol.cgi", ADMIN, "Trigger1=1");
    assert_eq!(set.status, 204);
    page.until("the Trigger1 button to show the output on", || {
        page.truth(
            "document.querySelector('#io button[data-bit=\"0\"]')\
             .getAttribute('aria-pressed') === 'true'",
        )
        .then_some(())
    });
    let requests = page.requests.lock().unwrap().clone();
    assert!(requests.iter().any(|url| url.ends_with("/iocontrol.cgi")));
}

#[test]
fn a_pad_click_moves_the_camera() {
    let camera = TestCamera::start();
    add_user(&camera, "operator", "oper1", 1);
    let page = Session::open(&camera, "operator", "oper1");
    assert_eq!(page.wait_for_role(), "operator");
    let (pan, tilt) = page.until("the position", || page.position());
    page.until("the pad", || {
        page.truth("!document.querySelector('#pad').hidden")
            .then_some(())
    });

    page.click("#pan-degree"); // Focus, then set a 10° step with the keyboard.
    page.tab.press_key("End").unwrap();
    assert_eq!(
        page.string("document.querySelector('#pan-degree-out').textContent")
            .as_deref(),
        Some("10")
    );
    page.click("[data-move='5']");
    page.until("the camera to pan right by 10°", || {
        (page.position() == Some((pan + 10, tilt))).then_some(())
    });

    // A click on the map, a quarter across and at mid height: about pan 85, tilt 68.
    let bounds = page
        .string(
            "JSON.stringify((({ left, top, width, height }) => [left, top, width, height])\
             (document.querySelector('#map').getBoundingClientRect()))",
        )
        .expect("map bounds");
    let bounds: Vec<f64> = serde_json::from_str(&bounds).unwrap();
    let point = Point {
        x: bounds[0] + bounds[2] * 0.25,
        y: bounds[1] + bounds[3] * 0.5,
    };
    page.tab.click_point(point).expect("click on the map");
    let target = page.until("the page to aim", || {
        let pan = page.number("Number(document.querySelector('#map-target').dataset.pan)")?;
        let tilt = page.number("Number(document.querySelector('#map-target').dataset.tilt)")?;
        (pan.is_finite() && tilt.is_finite()).then_some((pan as u64, tilt as u64))
    });
    assert!(
        (84..=86).contains(&target.0) && (66..=69).contains(&target.1),
        "{target:?}"
    );
    page.until("the camera to reach the clicked point", || {
        (page.position()? == target).then_some(())
    });
    assert_eq!(
        page.string("document.querySelector('#position').textContent"),
        Some(format!("Pan {}° · Tilt {}°", target.0, target.1))
    );
}

#[test]
fn a_setting_round_trips_through_the_cgi_and_survives_a_reload() {
    let camera = TestCamera::start();
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    assert_eq!(page.wait_for_role(), "admin");
    page.open_settings("system");
    page.type_over("#f-CameraName", "Porch");
    page.click(".page[data-page='system'] button[type='submit']");
    page.until("the page to confirm", || {
        (page
            .string("document.querySelector('.page .status').textContent")
            .as_deref()
            == Some("Saved."))
        .then_some(())
    });
    assert_eq!(cgi_value(&camera, "/system.cgi", "CameraName"), "Porch");

    page.reload();
    page.until("the saved name after a reload", || {
        let field = page.string("document.querySelector('#f-CameraName')?.value || null")?;
        (field == "Porch").then_some(())
    });
    assert_eq!(
        page.string("document.querySelector('#camera-name').textContent")
            .as_deref(),
        Some("Porch")
    );
    assert_eq!(page.string("document.title").as_deref(), Some("Porch"));
}

#[test]
fn the_date_and_time_page_shows_the_cameras_running_clock() {
    let camera = TestCamera::start();
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    page.open_settings("datetime");
    let clock = || page.string("document.querySelector('#camera-clock')?.textContent || null");
    let shown = page.until("the camera time", || clock().filter(|t| t.len() == 19));
    page.until("the clock to tick", || clock().filter(|t| *t != shown));

    let set = camera.post(
        "/datetime.cgi",
        ADMIN,
        "DateTimeMode=1&Date=2030-01-02&Time=03:04:05",
    );
    assert_eq!(set.status, 200, "{}", set.text());
    page.until("the camera's new time, not the browser's", || {
        clock().filter(|t| t.starts_with("2030-01-02 03:0"))
    });
}

#[test]
fn an_invalid_value_shows_the_servers_reason_next_to_the_field() {
    let camera = TestCamera::start();
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    page.open_settings("ftp");
    page.type_over("#f-FTPPortNumber", "70000");
    page.click(".page[data-page='ftp'] button[type='submit']");
    let shown = page.until("the reason next to the field", || {
        page.string("document.querySelector('#e-FTPPortNumber').textContent || null")
    });

    let server = camera.post("/upload.cgi", ADMIN, "FTPPortNumber=70000");
    assert_eq!(server.status, 400);
    assert_eq!(shown, server.text().trim());
    assert!(shown.starts_with("FTPPortNumber"), "{shown}");
    assert!(page.truth(
        "document.querySelector('#e-FTPPortNumber').closest('.field').contains(\
         document.querySelector('#f-FTPPortNumber')) && \
         document.querySelector('#f-FTPPortNumber').getAttribute('aria-invalid') === 'true'"
    ));
    assert_eq!(cgi_value(&camera, "/upload.cgi", "FTPPortNumber"), "21");
}

#[test]
fn every_settings_page_shows_exactly_its_cgis_parameters() {
    let camera = TestCamera::start();
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    let pages = page
        .string(
            "JSON.stringify([...document.querySelectorAll('#settings-nav a')]\
             .map((a) => a.dataset.page))",
        )
        .expect("settings pages");
    let pages: Vec<String> = serde_json::from_str(&pages).unwrap();
    assert_eq!(pages.len(), 11, "{pages:?}");
    for name in &pages {
        page.open_settings(name);
        let problems = page
            .string(
                "JSON.stringify({ \
                   errors: [...document.querySelectorAll('.page .status[data-kind=error]')]\
                     .map((n) => n.textContent), \
                   missing: [...document.querySelectorAll('.field[data-missing=true]')]\
                     .map((n) => n.dataset.field), \
                   extra: [...document.querySelectorAll('.field[data-extra]')]\
                     .map((n) => n.dataset.field), \
                   stray: /\\b(null|undefined|NaN)\\b/.test(document.querySelector('.page').innerText) })",
            )
            .unwrap();
        assert_eq!(
            problems, r#"{"errors":[],"missing":[],"extra":[],"stray":false}"#,
            "settings page {name}"
        );
    }
}

#[test]
fn each_login_sees_only_what_its_role_may_use() {
    let camera = TestCamera::start();
    add_user(&camera, "viewer", "view0", 0);
    add_user(&camera, "operator", "oper1", 1);
    for (user, password, pad_shown, usable_io) in [
        ("viewer", "view0", false, "[]"),
        ("operator", "oper1", true, r#"["ImageUpload","ImageEmail"]"#),
    ] {
        let page = Session::open(&camera, user, password);
        assert_eq!(page.wait_for_role(), user);
        page.until("a frame", || (page.frames() >= 1).then_some(()));
        assert!(
            page.truth("document.querySelector('#nav').hidden"),
            "{user}"
        );
        assert_eq!(
            !page.truth("document.querySelector('#pad').hidden"),
            pad_shown,
            "{user}: the pan-tilt pad"
        );
        assert_eq!(
            page.string(
                "JSON.stringify([...document.querySelectorAll('#io button')]\
                 .filter((b) => !b.disabled).map((b) => b.dataset.io))"
            )
            .as_deref(),
            Some(usable_io),
            "{user}: the I/O switches"
        );

        page.go("#settings/system");
        page.until("a frame on the settings URL", || {
            (page.frames() >= 1).then_some(())
        });
        assert!(page.truth("document.querySelector('#view-settings').hidden"));
        assert!(page.truth("!document.querySelector('#view-live').hidden"));
        assert!(
            page.truth("document.querySelector('form[data-cgi]') === null"),
            "{user}: no settings form"
        );
    }
}

#[test]
fn the_page_works_from_the_second_http_port() {
    let camera = TestCamera::start();
    let port = ipcam_testkit::free_port();
    let set = camera.post(
        "/network.cgi",
        ADMIN,
        &format!("SecondHTTPPortEnable=3&SecondHTTPPort={port}"),
    );
    assert_eq!(set.status, 200, "{}", set.text());
    let second = SocketAddr::from(([127, 0, 0, 1], port));
    common::wait_for("the second port to answer", || {
        std::net::TcpStream::connect(second).ok()?;
        (common::get(second, "/", ADMIN).status == 200).then_some(())
    });
    let page = Session::open_at(second, "admin", ADMIN_PASSWORD, None);
    assert_eq!(page.wait_for_role(), "admin");
    page.until("frames on the second port", || {
        (page.frames() >= 3).then_some(())
    });
    page.open_settings("system");
    let requests = page.requests.lock().unwrap().clone();
    assert!(
        requests.iter().all(|url| url.starts_with(&page.base)),
        "everything from the second port: {requests:?}"
    );
}

#[test]
fn logging_in_takes_one_prompt_whatever_the_role() {
    let camera = TestCamera::start();
    add_user(&camera, "viewer", "view0", 0);
    add_user(&camera, "operator", "oper1", 1);
    for (user, password) in [
        ("admin", ADMIN_PASSWORD),
        ("operator", "oper1"),
        ("viewer", "view0"),
    ] {
        let page = Session::open(&camera, user, password);
        page.until("a frame", || (page.frames() >= 1).then_some(()));
        assert_eq!(
            page.prompts.load(Ordering::SeqCst),
            1,
            "login prompts for {user}"
        );
    }
}

/// What every way in must give a person logged in as the admin: a decoded live frame, one
/// pan-tilt move seen in the stream, one settings page saved and read back after a reload.
/// Every request goes to `page.base` and none carries `password`, which is nowhere in the
/// page either. `credentials` reach the camera directly, to check what the page did.
fn the_page_works(page: &Session, camera: &TestCamera, credentials: (&str, &str), name: &str) {
    assert_eq!(page.wait_for_role(), "admin");
    page.until("a decoded frame of the live view", || {
        page.truth(
            "Number(document.querySelector('#video').dataset.frames) >= 1 && \
             document.querySelector('#video').complete && \
             document.querySelector('#video').naturalWidth === 640",
        )
        .then_some(())
    });

    let (pan, tilt) = page.until("the position from the stream", || page.position());
    page.until("the pad", || {
        page.truth("!document.querySelector('#pad').hidden")
            .then_some(())
    });
    page.click("[data-move='5']");
    page.until("the camera to pan right by the pad's 5° step", || {
        (page.position() == Some((pan + 5, tilt))).then_some(())
    });

    page.open_settings("system");
    page.type_over("#f-CameraName", name);
    page.click(".page[data-page='system'] button[type='submit']");
    page.until("the page to confirm the save", || {
        (page
            .string("document.querySelector('.page .status').textContent")
            .as_deref()
            == Some("Saved."))
        .then_some(())
    });
    let system = common::table(&camera.get("/system.cgi", Some(credentials)));
    assert_eq!(common::value_of(&system, "CameraName"), Some(name));
    page.reload();
    page.until("the saved name after a reload", || {
        let field = page.string("document.querySelector('#f-CameraName')?.value || null")?;
        (field == name).then_some(())
    });

    let (_, password) = credentials;
    let requests = page.requests.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|url| *url == format!("{}mjpeg.cgi", page.base)),
        "the stream from {}: {requests:?}",
        page.base
    );
    // The browser itself loads the page and the files its HTML links from the address as
    // typed, login included; only what the page's script requests must be without it.
    let typed = page.address.split('#').next().unwrap_or_default();
    for url in &requests {
        if let Some(file) = url.strip_prefix(typed).filter(|_| typed != page.base) {
            assert!(file.is_empty() || file.starts_with("web/"), "{url}");
            continue;
        }
        assert!(url.starts_with(&page.base), "the page fetched {url}");
        assert!(
            !url.contains(password) && !url.contains(&common::encode(password)),
            "a URL with the password: {url}"
        );
    }
    assert!(
        !page.truth(&format!(
            "document.documentElement.outerHTML.includes({password:?})"
        )),
        "the password is in the page"
    );
}

#[test]
fn the_page_works_at_the_cameras_address_with_the_login_answered() {
    let camera = TestCamera::start();
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    the_page_works(&page, &camera, ADMIN.unwrap(), "Gate");
    assert_eq!(page.prompts.load(Ordering::SeqCst), 1, "one login prompt");
}

#[test]
fn the_page_logs_in_with_the_credentials_in_its_address() {
    let camera = TestCamera::start();
    // '@', ':' and '%' must be percent-encoded in the address and decoded by the page.
    let password = "a@b:c%d";
    let set = camera.post(
        "/system.cgi",
        ADMIN,
        &format!("AdminPassword={}", common::encode(password)),
    );
    assert_eq!(set.status, 200, "{}", set.text());
    let base = format!("http://{}/", camera.addr);
    let entry = Entry {
        address: format!("http://admin:{}@{}/", common::encode(password), camera.addr),
        base,
        login: None,
        switches: Vec::new(),
    };
    let page = Session::enter(entry, None);
    the_page_works(&page, &camera, ("admin", password), "Gate");
    assert_eq!(page.prompts.load(Ordering::SeqCst), 0, "no login prompt");
}

/// Adler-32 of `bytes`: the page computes the same, to say which JPEG it cut out.
fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Parses `stream` with the page's own MultipartParser, fed in every way a proxy could
/// re-chunk it, and returns each distinct outcome: a JSON list of `[date, length, adler32]`
/// per part.
fn parse_in_the_page(
    page: &Session,
    stream: &[u8],
    boundary: &str,
    part_starts: &[usize],
) -> Vec<String> {
    use base64::Engine as _;
    let script = format!(
        "(() => {{
           const text = atob('{stream}');
           const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
           const adler32 = (data) => {{
             let a = 1, b = 0;
             for (const byte of data) {{ a = (a + byte) % 65521; b = (b + a) % 65521; }}
             return b * 65536 + a;
           }};
           const parse = (cuts) => {{
             const parts = [];
             const parser = new MultipartParser({boundary:?}, (headers, jpeg) =>
               parts.push([headers.get('date'), jpeg.length, adler32(jpeg)]));
             let from = 0;
             for (const cut of [...cuts, bytes.length]) {{
               parser.push(bytes.subarray(from, cut));
               from = cut;
             }}
             return JSON.stringify(parts);
           }};
           const chunkings = [[]];
           for (const size of [1, 2, 3, 5, 7, 64, 1000, 4096]) {{
             const cuts = [];
             for (let at = size; at < bytes.length; at += size) cuts.push(at);
             chunkings.push(cuts);
           }}
           // One cut anywhere near each part's start: in the CRLFs before it, its boundary,
           // its head, the first bytes of its JPEG.
           for (const start of {part_starts:?}) {{
             for (let at = Math.max(1, start - 8); at < start + 120; at++) chunkings.push([at]);
           }}
           return JSON.stringify([...new Set(chunkings.map(parse))]);
         }})()",
        stream = base64::engine::general_purpose::STANDARD.encode(stream),
    );
    let outcomes = page.string(&script).expect("the parser's outcomes");
    serde_json::from_str(&outcomes).unwrap()
}

#[test]
fn the_stream_parser_cuts_the_same_parts_however_the_body_is_chunked() {
    let camera = TestCamera::start();
    let mut stream = common::MjpegStream::open(camera.addr, ADMIN);
    let parts: Vec<common::MjpegPart> = (0..3).map(|_| stream.next_part()).collect();
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);

    // The stream as spec 4.1.2 lays it out (MjpegStream checked every line), and as a
    // camera without Content-Length would send it: then parts end at the next boundary.
    for with_length in [true, false] {
        let mut body = Vec::new();
        let mut starts = Vec::new();
        for part in &parts {
            starts.push(body.len());
            body.extend_from_slice(b"--video boundary--\r\n");
            if with_length {
                body.extend_from_slice(
                    format!("Content-Length: {}\r\n", part.jpeg.len()).as_bytes(),
                );
            }
            body.extend_from_slice(
                format!("Date: {}\r\nContent-Type: image/jpeg\r\n\r\n", part.date).as_bytes(),
            );
            body.extend_from_slice(&part.jpeg);
            body.extend_from_slice(b"\r\n\r\n");
        }
        // The next part has begun: it is not a part until it is whole.
        body.extend_from_slice(b"--video boundary--\r\nContent-Length: 9000\r\nDate: 2");
        let expected = serde_json::to_string(
            &parts
                .iter()
                .map(|part| serde_json::json!([part.date, part.jpeg.len(), adler32(&part.jpeg)]))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(
            parse_in_the_page(&page, &body, "--video boundary--", &starts),
            [expected],
            "with Content-Length: {with_length}"
        );
    }
}

/// Opens the camera's page through `proxy`, the login answered in the prompt.
fn through(proxy: &Nginx) -> Session {
    let base = proxy.base();
    Session::enter(
        Entry {
            address: base.clone(),
            base,
            login: Some(("admin".to_owned(), ADMIN_PASSWORD.to_owned())),
            switches: proxy.browser_switches(),
        },
        None,
    )
}

/// Opening the sub-path without its final slash ends at the page all the same: nginx
/// redirects, to the scheme and port the browser used.
fn the_sub_path_without_its_slash_leads_to_the_page(page: &Session) {
    let without_slash = page.base.trim_end_matches('/');
    page.tab.navigate_to(without_slash).expect("navigate");
    page.until("the redirect to the page", || {
        (page.string("location.href").as_deref() == Some(page.base.as_str())).then_some(())
    });
    page.wait_for_role();
}

#[test]
fn the_page_works_behind_nginx_under_a_sub_path() {
    let camera = TestCamera::start();
    let proxy = Nginx::start(camera.addr, Scheme::Http);
    let page = through(&proxy);
    the_page_works(&page, &camera, ADMIN.unwrap(), "Gate");
    assert_eq!(page.prompts.load(Ordering::SeqCst), 1, "one login prompt");
    the_sub_path_without_its_slash_leads_to_the_page(&page);
    // Over plain HTTP to a host name the browser sends no Sec-Fetch-Site: the save was
    // let through by its Origin matching the X-Forwarded-Host the snippet sets.
    let saves: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|line| line.starts_with("POST /cam1/system.cgi "))
        .collect();
    assert_eq!(
        saves,
        [format!(
            "POST /cam1/system.cgi origin=http://{}:{} site=-",
            nginx::PROXY_HOST,
            proxy.port
        )]
    );
}

#[test]
fn the_page_works_behind_nginx_ending_tls() {
    let camera = TestCamera::start();
    let proxy = Nginx::start(camera.addr, Scheme::Https);
    let page = through(&proxy);
    assert!(page.base.starts_with("https://"), "{}", page.base);
    the_page_works(&page, &camera, ADMIN.unwrap(), "Gate");
    assert_eq!(page.prompts.load(Ordering::SeqCst), 1, "one login prompt");
    the_sub_path_without_its_slash_leads_to_the_page(&page);
    assert!(
        page.truth("window.isSecureContext && location.protocol === 'https:'"),
        "a secure page, so no mixed content was loaded"
    );
}

#[test]
fn without_readable_streams_the_login_in_the_address_still_plays_the_stream() {
    let camera = TestCamera::start();
    let entry = Entry {
        address: format!("http://admin:{ADMIN_PASSWORD}@{}/", camera.addr),
        base: format!("http://{}/", camera.addr),
        login: None,
        switches: Vec::new(),
    };
    // An <img> cannot send the page's Authorization header: the browser authenticates it
    // with the login it used for the page itself.
    let page = Session::enter(entry, Some("delete Response.prototype.body;"));
    page.until("a decoded frame of the plain <img> stream", || {
        page.truth(
            "document.querySelector('#video').src === new URL('mjpeg.cgi', location.origin + '/').href && \
             document.querySelector('#video').naturalWidth === 640",
        )
        .then_some(())
    });
    assert_eq!(page.prompts.load(Ordering::SeqCst), 0, "no login prompt");
    assert!(!page.truth(&format!(
        "document.documentElement.outerHTML.includes({ADMIN_PASSWORD:?})"
    )));
}

/// Writes the screenshots the README shows; run on purpose, not as a check.
#[test]
#[ignore = "writes docs/screenshots; run with --ignored screenshots"]
fn screenshots() {
    let camera = TestCamera::start();
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    page.emulate(DESKTOP.0, DESKTOP.1, false);
    page.until("frames", || (page.frames() >= 5).then_some(()));
    page.save_screenshot("live-desktop.png");
    for settings in ["image", "datetime", "users"] {
        page.open_settings(settings);
        page.save_screenshot(&format!("settings-{settings}-desktop.png"));
    }
    let mask = "0000,0000,0000,03FC,03FC,03FC,03FC,03FC,03FC,0000,0000,0000";
    let set = camera.post(
        "/motion.cgi",
        ADMIN,
        &format!("MotionDetectionEnable=1&MotionMask={mask}"),
    );
    assert_eq!(set.status, 200, "{}", set.text());
    page.open_settings("motion");
    page.until("the picture under the motion grid", || {
        page.truth("document.querySelector('#motion-picture').naturalWidth === 640")
            .then_some(())
    });
    page.eval("document.querySelector('#motion-grid').scrollIntoView({ block: 'center' })");
    page.save_screenshot("settings-motion-desktop.png");
    page.emulate(390, 844, true);
    page.go("#live");
    page.until("frames", || (page.frames() >= 5).then_some(()));
    page.save_screenshot("live-phone.png");
    page.open_settings("network");
    page.save_screenshot("settings-network-phone.png");
}

/// A left-button drag through `points`, as a person paints: press at the first, move
/// through the others, release at the last.
fn drag(tab: &Tab, points: &[Point]) {
    use headless_chrome::protocol::cdp::Input::{
        DispatchMouseEvent, DispatchMouseEventTypeOption, MouseButton,
    };
    let event = |kind, point: &Point, buttons| DispatchMouseEvent {
        Type: kind,
        x: point.x,
        y: point.y,
        button: Some(MouseButton::Left),
        click_count: Some(1),
        modifiers: None,
        timestamp: None,
        buttons: Some(buttons),
        force: None,
        tangential_pressure: None,
        tilt_x: None,
        tilt_y: None,
        twist: None,
        delta_x: None,
        delta_y: None,
        pointer_Type: None,
    };
    let (first, last) = (&points[0], &points[points.len() - 1]);
    tab.call_method(event(DispatchMouseEventTypeOption::MouseMoved, first, 0))
        .expect("move");
    tab.call_method(event(DispatchMouseEventTypeOption::MousePressed, first, 1))
        .expect("press");
    for point in &points[1..] {
        tab.call_method(event(DispatchMouseEventTypeOption::MouseMoved, point, 1))
            .expect("drag");
    }
    tab.call_method(event(DispatchMouseEventTypeOption::MouseReleased, last, 0))
        .expect("release");
}

#[test]
fn the_motion_page_paints_the_mask_over_the_picture_and_saves_it() {
    let camera = TestCamera::start();
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    page.open_settings("motion");
    page.until("the picture under the grid", || {
        page.truth("document.querySelector('#motion-picture').naturalWidth === 640")
            .then_some(())
    });
    let cell = |row: u32, col: u32| {
        let selector = format!("#motion-grid button[data-row='{row}'][data-col='{col}']");
        page.tab
            .wait_for_element(&selector)
            .and_then(|cell| cell.get_midpoint())
            .unwrap_or_else(|err| panic!("{selector}: {err}"))
    };
    page.click("#motion-none");
    // One cell by a click, then a stroke across four cells of the row below.
    page.click("#motion-grid button[data-row='2'][data-col='4']");
    drag(&page.tab, &[cell(3, 4), cell(3, 5), cell(3, 6), cell(3, 7)]);
    page.click("#motion-MotionDetectionEnable");
    page.click("#motion-save");
    page.until("the page to confirm", || {
        (page
            .string("document.querySelector('#motion-status').textContent")
            .as_deref()
            == Some("Saved."))
        .then_some(())
    });
    let mut rows = ["0000"; 12];
    rows[2] = "0800";
    rows[3] = "0F00";
    assert_eq!(
        cgi_value(&camera, "/motion.cgi", "MotionMask"),
        rows.join(",")
    );
    assert_eq!(
        cgi_value(&camera, "/motion.cgi", "MotionDetectionEnable"),
        "1"
    );

    // A bad value: the server's reason under its field, nothing saved.
    page.type_over("#motion-EventInterval", "0");
    page.click("#motion-save");
    let shown = page.until("the reason next to the field", || {
        page.string("document.querySelector('#e-EventInterval').textContent || null")
    });
    assert!(shown.starts_with("EventInterval"), "{shown}");
    assert_eq!(cgi_value(&camera, "/motion.cgi", "EventInterval"), "60");

    page.reload();
    page.open_settings("motion");
    let watched = page
        .string(
            "JSON.stringify([...document.querySelectorAll('#motion-grid button[data-watched=true]')]\
             .map((c) => `${c.dataset.row},${c.dataset.col}`))",
        )
        .expect("cells");
    assert_eq!(watched, r#"["2,4","3,4","3,5","3,6","3,7"]"#);
}

/// A camera on the Linux platform backend whose `system_bus` is a private bus with
/// systemd's services mocked (see `tests/platform_linux.rs`); `None` prints why not.
fn linux_camera() -> Option<(ipcam_testkit::dbus::TestBus, TestCamera)> {
    let bus = match ipcam_testkit::dbus::TestBus::start() {
        Ok(bus) => bus,
        Err(why) => {
            eprintln!("skipped: no private D-Bus with dbusmock here: {why}");
            return None;
        }
    };
    let address = bus.address().to_owned();
    let camera = TestCamera::start_with(move |config| {
        config.platform.backend = ipcamd::config::PlatformBackend::Linux;
        config.platform.interface = "lo".into();
        // Interfaces are only named in files and calls the mocks take; lo always exists.
        config.platform.wireless_interface = Some("lo".into());
        config.platform.system_bus = Some(address);
    });
    bus.clear_calls();
    Some((bus, camera))
}

impl Session {
    /// Picks `value` in the `<select>` of `field` as a person would, firing its events.
    fn choose(&self, field: &str, value: &str) {
        assert!(self.truth(&format!(
            "(() => {{ const n = document.querySelector('#f-{field}'); n.value = '{value}'; \
             n.dispatchEvent(new Event('input', {{ bubbles: true }})); \
             n.dispatchEvent(new Event('change', {{ bubbles: true }})); \
             return n.value === '{value}'; }})()"
        )));
    }

    /// Submits settings `page` and returns the status line it shows once it has an answer.
    fn submit(&self, page: &str) -> String {
        self.click(&format!(".page[data-page='{page}'] button[type='submit']"));
        self.until("the page's answer", || {
            self.string(&format!(
                "document.querySelector('.page[data-page=\"{page}\"] .status').textContent"
            ))
            .filter(|text| text != "Saving…" && !text.is_empty())
        })
    }
}

#[test]
fn the_date_and_time_page_sets_the_system_time_zone_through_timedated() {
    use ipcam_testkit::dbus::{Call, Mocked};
    let Some((bus, camera)) = linux_camera() else {
        return;
    };
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    page.open_settings("datetime");
    // Row 32: "(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna".
    page.choose("TimeZoneIndex", "32");
    assert_eq!(page.submit("datetime"), "Saved.");
    assert_eq!(
        bus.calls(Mocked::Timedated),
        [Call::new("SetTimezone", &["Europe/Berlin", "false"])]
    );

    // The image lacks the zone: the reason appears next to the field, nothing is stored.
    bus.fail(
        Mocked::Timedated,
        "SetTimezone",
        "org.freedesktop.DBus.Error.InvalidArgs",
        "Invalid or not installed time zone 'Asia/Kolkata'",
    );
    page.choose("TimeZoneIndex", "58");
    assert_eq!(page.submit("datetime"), "Not saved: see the field marked.");
    let reason = page
        .string("document.querySelector('#e-TimeZoneIndex').textContent")
        .unwrap_or_default();
    assert!(reason.starts_with("TimeZoneIndex: "), "{reason}");
    assert!(reason.contains("not installed time zone"), "{reason}");
    assert_eq!(cgi_value(&camera, "/datetime.cgi", "TimeZoneIndex"), "32");

    // polkit refuses: the camera's fault, said in the page's status line.
    bus.fail(
        Mocked::Timedated,
        "SetTimezone",
        "org.freedesktop.DBus.Error.AccessDenied",
        "Access denied",
    );
    page.choose("TimeZoneIndex", "58");
    assert_eq!(
        page.submit("datetime"),
        "Not saved: cannot apply the setting: systemd-timedated refused: Access denied"
    );
    assert_eq!(cgi_value(&camera, "/datetime.cgi", "TimeZoneIndex"), "32");
}

#[test]
fn the_system_page_names_the_camera_through_hostnamed() {
    use ipcam_testkit::dbus::{Call, Mocked};
    let Some((bus, camera)) = linux_camera() else {
        return;
    };
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    page.open_settings("system");
    page.type_over("#f-CameraName", "Porch");
    page.type_over("#f-Location", "Front door");
    assert_eq!(page.submit("system"), "Saved.");
    assert_eq!(
        bus.calls(Mocked::Hostnamed),
        [
            Call::new("SetPrettyHostname", &["Porch", "false"]),
            Call::new("SetLocation", &["Front door", "false"]),
        ]
    );
    assert!(bus.calls(Mocked::Logind).is_empty(), "saving is no reboot");
}

/// The text of an OS file the Linux backend wrote for `camera`.
fn os_file(camera: &TestCamera, name: &str) -> String {
    let path = camera.state_dir.join("system").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_network_page_writes_a_fixed_address_for_networkd() {
    use ipcam_testkit::dbus::Mocked;
    let Some((bus, camera)) = linux_camera() else {
        return;
    };
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    page.open_settings("network");
    page.choose("IPAddressMode", "1");
    page.type_over("#f-IPAddress", "192.168.7.20");
    page.type_over("#f-SubnetMask", "255.255.255.0");
    page.type_over("#f-DefaultGateway", "192.168.7.1");
    page.type_over("#f-DNSIPAddress1", "192.168.7.2");
    assert_eq!(page.submit("network"), "Saved.");
    let network = os_file(&camera, "wired.network");
    for line in [
        "Address=192.168.7.20/24",
        "Gateway=192.168.7.1",
        "DNS=192.168.7.2",
    ] {
        assert!(network.lines().any(|l| l == line), "{line} in {network}");
    }
    bus.wait_for_call(Mocked::Networkd, "ReconfigureLink", DEADLINE)
        .expect("networkd applies the file after the page has its answer");
    page.reload();
    page.open_settings("network");
    assert_eq!(
        page.string("document.querySelector('#f-IPAddress').value"),
        Some("192.168.7.20".into())
    );
}

#[test]
fn the_wireless_page_configures_wpa_supplicant_and_shows_a_refused_ssid() {
    use ipcam_testkit::dbus::{Call, Mocked};
    let Some((bus, camera)) = linux_camera() else {
        return;
    };
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    page.open_settings("wireless");
    page.type_over("#f-SSID", "garden");
    page.choose("WEPEncryption", "4");
    page.type_over("#f-PreSharedKey", "correct horse battery");
    assert_eq!(page.submit("wireless"), "Saved.");
    let conf = os_file(&camera, "wpa_supplicant.conf");
    assert!(conf.contains(r#"ssid="garden""#), "{conf}");
    let call = bus
        .wait_for_call(Mocked::Systemd, "RestartUnit", DEADLINE)
        .expect("wpa_supplicant restarts");
    assert_eq!(
        call,
        Call::new("RestartUnit", &["wpa_supplicant@lo.service", "replace"])
    );

    // 32 characters the spec allows, 64 bytes 802.11 does not: refused at the field.
    page.type_over("#f-SSID", &"é".repeat(32));
    assert_eq!(page.submit("wireless"), "Not saved: see the field marked.");
    let reason = page
        .string("document.querySelector('#e-SSID').textContent")
        .unwrap_or_default();
    assert!(reason.starts_with("SSID: "), "{reason}");
    assert_eq!(cgi_value(&camera, "/wireless.cgi", "SSID"), "garden");
    assert_eq!(os_file(&camera, "wpa_supplicant.conf"), conf);
}

#[test]
fn the_date_and_time_page_sets_the_system_clock_from_the_computers() {
    use ipcam_testkit::dbus::{Call, Mocked};
    use std::time::SystemTime;
    let Some((bus, camera)) = linux_camera() else {
        return;
    };
    let page = Session::open(&camera, "admin", ADMIN_PASSWORD);
    page.open_settings("datetime");
    page.choose("DateTimeMode", "1");
    // The button writes the computer's local wall time; the camera reads it in its own
    // zone, UTC from the factory. So the instant set is now shifted by the computer's
    // offset from UTC (getTimezoneOffset: minutes from local time to UTC).
    let offset_minutes = page
        .number("new Date().getTimezoneOffset()")
        .expect("the browser's offset");
    let micros = |t: SystemTime| {
        let since = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970");
        i64::try_from(since.as_micros()).expect("in range")
    };
    let loaded = page
        .string("document.querySelector('#f-Time').value")
        .expect("the camera's time");
    let before = micros(SystemTime::now());
    // The page saves what differs from what it loaded: press until the computer's clock
    // has left the loaded second (it already has wherever the two zones differ).
    page.until("a time other than the loaded one", || {
        page.string(
            "(() => { const t = document.querySelector('#f-Time'); \
             t.parentElement.querySelector('button').click(); return t.value; })()",
        )
        .filter(|filled| *filled != loaded)
    });
    assert_eq!(page.submit("datetime"), "Saved.");
    let after = micros(SystemTime::now());
    let calls = bus.calls(Mocked::Timedated);
    assert_eq!(
        calls.first(),
        Some(&Call::new("SetNTP", &["false", "false"]))
    );
    let set = calls
        .iter()
        .find(|call| call.method == "SetTime")
        .expect("SetTime after SetNTP(false)");
    let sent: i64 = set.args[0].parse().expect("microseconds");
    let shift = -(offset_minutes as i64) * 60 * 1_000_000;
    // The page sends whole seconds: the instant lies within the second before `before`
    // and `after`, shifted.
    assert!(
        (before + shift - 1_000_000..=after + shift).contains(&sent),
        "SetTime({sent}) outside {}..={}",
        before + shift - 1_000_000,
        after + shift
    );
    assert_eq!(set.args[1..], ["false".to_owned(), "false".to_owned()]);
}
