//! What one ONVIF request costs the event loop: envelope parsing, the WS-Security digest
//! login, the operation and the rendered answer, against an in-memory camera.
//!
//! `cargo bench -p ipcam-onvif --bench soap -- --warm-up-time 1 --measurement-time 3`

use std::net::Ipv4Addr;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use ipcam_onvif::security::password_digest;
use ipcam_onvif::{
    Camera, ClockInfo, DeviceInfo, Level, LoginError, Motion, NetworkFacts, Onvif, PanTilt,
    PresetInfo, PtzRefusal, SoapRequest, UserInfo, VideoInfo,
};

const PASSWORD: &str = "secret12";

/// A camera with one administrator and fixed facts.
struct Bench;

impl Camera for Bench {
    fn login(&mut self, user: &str, proves: &dyn Fn(&str) -> bool) -> Result<Level, LoginError> {
        (user == "admin" && proves(PASSWORD))
            .then_some(Level::Admin)
            .ok_or(LoginError::BadCredentials)
    }
    fn anonymous_level(&self) -> Level {
        Level::Anonymous
    }
    fn device_info(&self) -> DeviceInfo {
        DeviceInfo {
            manufacturer: "ipcam".into(),
            model: "ipcam".into(),
            firmware: "1".into(),
            serial: "02FF5C8A1318".into(),
            hardware_id: "ipcam".into(),
            name: "IPCam".into(),
            location: String::new(),
        }
    }
    fn clock(&self) -> ClockInfo {
        ClockInfo {
            now: SystemTime::now(),
            utc_offset_secs: 0,
            posix_tz: "UTC+00:00".into(),
            dst: false,
            ntp: true,
        }
    }
    fn network(&self) -> NetworkFacts {
        NetworkFacts {
            interface: "eth0".into(),
            mac: [2, 0xff, 0x5c, 0x8a, 0x13, 0x18],
            ipv4: Ipv4Addr::new(192, 168, 0, 20),
            prefix_len: 24,
            dhcp: true,
            hostname: "IPCam".into(),
        }
    }
    fn users(&self) -> Vec<UserInfo> {
        Vec::new()
    }
    fn video_options(&self) -> (Vec<(u16, u16)>, u32) {
        (vec![(640, 480)], 30)
    }
    fn video(&self) -> VideoInfo {
        VideoInfo {
            width: 640,
            height: 480,
            fps: 30,
            quality: 70,
        }
    }
    fn pan_tilt_limits(&self) -> PanTilt {
        PanTilt {
            pan: 340,
            tilt: 135,
        }
    }
    fn position(&self) -> (PanTilt, bool) {
        (PanTilt { pan: 170, tilt: 45 }, false)
    }
    fn move_head(&mut self, _motion: Motion) -> Result<(), PtzRefusal> {
        Ok(())
    }
    fn preset_slots(&self) -> u8 {
        24
    }
    fn presets(&self) -> Vec<PresetInfo> {
        Vec::new()
    }
    fn set_preset(&mut self, _number: u8, _name: Option<&str>) -> Result<(), PtzRefusal> {
        Ok(())
    }
    fn remove_preset(&mut self, _number: u8) -> Result<(), PtzRefusal> {
        Ok(())
    }
}

fn envelope(header: &str, body: &str) -> String {
    format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header>{header}\
         </s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

/// A UsernameToken with a fresh nonce, as zeep sends it.
fn token(counter: u64) -> String {
    let nonce = counter.to_be_bytes();
    let created = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let digest = BASE64.encode(password_digest(&nonce, &created, PASSWORD));
    format!(
        "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" \
         xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">\
         <wsse:UsernameToken><wsse:Username>admin</wsse:Username>\
         <wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest\">{digest}</wsse:Password>\
         <wsse:Nonce>{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>",
        BASE64.encode(nonce)
    )
}

fn bench(c: &mut Criterion) {
    let mut onvif = Onvif::new(Some(8554));
    let mut camera = Bench;
    let time = envelope(
        "",
        "<GetSystemDateAndTime xmlns=\"http://www.onvif.org/ver10/device/wsdl\"/>",
    );
    c.bench_function("GetSystemDateAndTime, anonymous", |b| {
        b.iter(|| {
            let answer = onvif.handle(
                SoapRequest {
                    body: time.as_bytes(),
                    authority: "192.168.0.20",
                    http_level: None,
                },
                &mut camera,
            );
            assert_eq!(answer.status, 200);
        })
    });
    let mut counter = 0u64;
    c.bench_function("GetProfiles, PasswordDigest login", |b| {
        b.iter_batched(
            || {
                counter += 1;
                envelope(
                    &token(counter),
                    "<GetProfiles xmlns=\"http://www.onvif.org/ver10/media/wsdl\"/>",
                )
            },
            |request| {
                let answer = onvif.handle(
                    SoapRequest {
                        body: request.as_bytes(),
                        authority: "192.168.0.20",
                        http_level: None,
                    },
                    &mut camera,
                );
                assert_eq!(answer.status, 200, "{}", answer.body);
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
