//! What the black-box tests of ipcam-events share: a camera stand-in (the capture ring
//! filled with the synthetic test pattern) and polling with a deadline. The FTP and SMTP
//! servers they deliver to come from `ipcam-testkit`.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chrono::NaiveDate;
use ipcam_capture::ring::{self, Publisher};
use ipcam_capture::source::TestPattern;
use ipcam_capture::{Frame, FrameSource, ImageSettings, Resolution, RingReader};

/// Polls `check` until it returns `Some`, failing the test after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The wall-clock instant of a camera-local time, for a camera in UTC.
pub fn utc(date: (i32, u32, u32), time: (u32, u32, u32)) -> SystemTime {
    let local = NaiveDate::from_ymd_opt(date.0, date.1, date.2)
        .and_then(|d| d.and_hms_opt(time.0, time.1, time.2))
        .expect("valid date and time");
    SystemTime::UNIX_EPOCH + Duration::from_secs(local.and_utc().timestamp() as u64)
}

/// The capture ring with frames of the synthetic test pattern, published on demand.
pub struct Camera {
    publisher: Mutex<(Publisher, TestPattern)>,
    reader: RingReader,
}

impl Camera {
    /// A camera that has published one 160×120 frame.
    pub fn new() -> Arc<Camera> {
        let (publisher, reader) = ring::ring(8);
        let mut pattern = TestPattern::new();
        let settings = ImageSettings {
            resolution: Resolution::Qqvga,
            ..ImageSettings::default()
        };
        pattern.apply(&settings).expect("pattern takes settings");
        let camera = Arc::new(Camera {
            publisher: Mutex::new((publisher, pattern)),
            reader,
        });
        camera.capture();
        camera
    }

    /// Publishes a new frame and returns it.
    pub fn capture(&self) -> Frame {
        let mut guard = self.publisher.lock().expect("camera lock");
        let (publisher, pattern) = &mut *guard;
        let mut slot = publisher.claim().expect("a free slot");
        let info = pattern.next_frame(slot.jpeg_mut()).expect("pattern frame");
        slot.publish(info.width, info.height, info.captured_at, |_, _, _| {})
    }

    /// The read side, as the daemon would pass it.
    pub fn reader(&self) -> RingReader {
        self.reader.clone()
    }
}

/// Asserts that `bytes` is a JPEG that decodes to `width`×`height`.
pub fn assert_jpeg(bytes: &[u8], width: u16, height: u16) {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.decode().expect("a decodable JPEG");
    let info = decoder.info().expect("JPEG info");
    assert_eq!((info.width, info.height), (width, height));
}
