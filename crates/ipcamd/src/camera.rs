//! The video pipeline: capture thread → MJPEG part → HTTP broadcast.
//!
//! The capture thread writes each JPEG once into a ring slot and, through the header hook,
//! the spec's part header (4.1.2) into the same slot: boundary, `Content-Length`, and the
//! `Date: yyyy-mm-dd hh:mm:ss IO_xxxxxxxx_PT_ppp_ttt` line stamped with the live I/O bits
//! and head position. The slot is then published to the HTTP broadcast by reference, so
//! every viewer sends `header + JPEG + CRLF CRLF` straight from that one slot, and
//! `/image.jpg` answers with the same bytes. Nothing on this path allocates per frame.

use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use ipcam_api::timezone::{format_date_time, DATE_TIME_LEN};
use ipcam_api::{CameraClock, ImageConfig};
use ipcam_capture::{
    source, Capture, CaptureError, CaptureOptions, Compression, Frame, FrameMeta, FrameRate,
    ImageSettings, Level, LightFrequency, Mirror, Resolution, SettingsError, SourceSpec,
};
use ipcam_events::EventsHandle;
use ipcam_httpd::{Broadcast, Chunk};
use ipcam_ptz::PositionReader;

use crate::alarm::FrameTap;

/// The multipart boundary exactly as the spec writes it, parameter and delimiter alike.
pub(crate) const BOUNDARY: &str = "--video boundary--";
/// `Content-Type` of `/mjpeg.cgi`, byte for byte as in spec 4.1.2.
pub(crate) const MJPEG_CONTENT_TYPE: &str = "multipart/x-mixed-replace;boundary=--video boundary--";
/// What follows each JPEG in a part.
const PART_TRAILER: &[u8] = b"\r\n\r\n";

/// One published frame, as a stream chunk: part header, JPEG, trailer.
#[derive(Clone)]
pub(crate) struct MjpegPart(pub(crate) Frame);

impl Chunk for MjpegPart {
    fn segments(&self) -> [&[u8]; 3] {
        [self.0.header(), self.0.jpeg(), PART_TRAILER]
    }
}

/// The JPEG of a frame as an owner of bytes, so a snapshot body is the slot itself.
pub(crate) struct JpegBytes(pub(crate) Frame);

impl AsRef<[u8]> for JpegBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.jpeg()
    }
}

/// The spec's I/O bits (Trigger1, Trigger2, Image Upload, Image Email), shared between the
/// control CGIs, the event workers and the per-frame header writer.
#[derive(Debug, Default)]
pub(crate) struct IoStatus(AtomicU8);

/// One of the four I/O bits, in the spec's order.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IoBit {
    Trigger1 = 0,
    Trigger2 = 1,
    ImageUpload = 2,
    ImageEmail = 3,
}

impl IoStatus {
    pub(crate) fn set(&self, bit: IoBit, on: bool) {
        let mask = 1u8 << bit as u8;
        if on {
            self.0.fetch_or(mask, Ordering::Relaxed);
        } else {
            self.0.fetch_and(!mask, Ordering::Relaxed);
        }
    }

    pub(crate) fn get(&self, bit: IoBit) -> bool {
        self.0.load(Ordering::Relaxed) & (1 << bit as u8) != 0
    }

    /// The eight characters of `IO_xxxxxxxx`: the four bits, then four reserved zeros.
    /// `active` adds bits that are on for another reason (an upload or e-mail schedule).
    fn digits(&self, active: u8) -> [u8; 8] {
        let bits = self.0.load(Ordering::Relaxed) | active;
        let mut out = *b"00000000";
        for (i, digit) in out.iter_mut().take(4).enumerate() {
            if bits & (1 << i) != 0 {
                *digit = b'1';
            }
        }
        out
    }
}

/// What the header hook reads for every frame.
#[derive(Clone)]
pub(crate) struct PartStamp {
    pub(crate) clock: CameraClock,
    pub(crate) io: Arc<IoStatus>,
    pub(crate) position: PositionReader,
    pub(crate) events: EventsHandle,
}

impl PartStamp {
    /// Writes the part header of a frame of `jpeg_len` bytes into `out` (cleared first; its
    /// capacity is reused from frame to frame).
    pub(crate) fn write_header(&self, jpeg_len: usize, out: &mut Vec<u8>) {
        let mut date = [0u8; DATE_TIME_LEN];
        let date = format_date_time(&self.clock.now_local(), &mut date);
        // The Image Upload / Image Email bits are on while the manual switch is on (the
        // IoStatus bit) or while the schedule is in an active period.
        let scheduled = u8::from(self.events.upload_active()) << IoBit::ImageUpload as u8
            | u8::from(self.events.email_active()) << IoBit::ImageEmail as u8;
        let io = self.io.digits(scheduled);
        let io = std::str::from_utf8(&io).unwrap_or("00000000");
        let position = self.position.position();
        out.clear();
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "{BOUNDARY}\r\nContent-Length: {jpeg_len}\r\nDate: {date} IO_{io}_PT_{:03}_{:03}\r\n\
             Content-Type: image/jpeg\r\n\r\n",
            position.pan(),
            position.tilt()
        );
    }
}

/// Everything needed to (re)start the capture thread: the pipeline restarts on
/// `ConfigReboot=Yes`, `Reset=Yes` and factory reset.
#[derive(Clone)]
pub(crate) struct Pipeline {
    pub(crate) source: SourceSpec,
    pub(crate) auto_fps: u32,
    /// Cap of the frame pool: see [`frame_pool_cap`].
    pub(crate) max_slots: usize,
    pub(crate) stamp: PartStamp,
    pub(crate) frames: Broadcast<MjpegPart>,
    /// Every frame is offered here too (never waiting): the alarm thread's feed.
    pub(crate) tap: FrameTap,
}

impl Pipeline {
    /// Opens the source and starts capturing with `settings`.
    pub(crate) fn start(&self, settings: ImageSettings) -> Result<Capture, CaptureError> {
        let stamp = self.stamp.clone();
        let frames = self.frames.clone();
        let tap = self.tap.clone();
        let options = CaptureOptions {
            auto_fps: self.auto_fps,
            max_slots: self.max_slots,
            header_writer: Some(Box::new(move |_meta: &FrameMeta, jpeg_len, out| {
                stamp.write_header(jpeg_len, out)
            })),
            on_publish: Some(Box::new(move |frame: &Frame| {
                frames.publish(MjpegPart(frame.clone()));
                tap.offer(frame);
            })),
            ..CaptureOptions::default()
        };
        let clock = self.stamp.clock.clone();
        let source = source::open(&self.source, Box::new(move || clock.now_local()))?;
        Capture::spawn(source, settings, options)
    }
}

/// Frames pinned outside HTTP connections: the newest, the one being written, and one
/// each for the FTP and e-mail workers, plus a margin.
const SLOTS_BEYOND_CONNECTIONS: usize = 8;

/// The frame pool's cap for a server of `max_connections`. Every connection pins at most
/// one frame (a stream client the frame it is writing, a snapshot its body), so with a
/// slot per connection no number of stalled or slow clients can use up the pool and stop
/// new frames for everyone else. Slots are allocated only when needed: the cap costs
/// memory only while that many clients really hold different frames.
pub(crate) fn frame_pool_cap(max_connections: usize) -> usize {
    max_connections + SLOTS_BEYOND_CONNECTIONS
}

/// The capture settings of a validated `/image.cgi` table.
pub(crate) fn image_settings(config: &ImageConfig) -> Result<ImageSettings, SettingsError> {
    Ok(ImageSettings {
        resolution: Resolution::from_code(config.video_resolution.into())?,
        compression: Compression::from_code(config.compression_rate.into())?,
        frame_rate: FrameRate::from_code(config.frame_rate.into())?,
        brightness: Level::new("BrightnessControl", config.brightness.into())?,
        contrast: Level::new("ContrastControl", config.contrast.into())?,
        saturation: Level::new("SaturationControl", config.saturation.into())?,
        light_frequency: LightFrequency::from_code(config.light_frequency.into())?,
        mirror: Mirror::from_code(config.mirror.into())?,
        anti_flicker: ipcam_capture::anti_flicker_from_code(config.anti_flicker.into())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_digits_follow_the_spec_order() {
        let io = IoStatus::default();
        assert_eq!(&io.digits(0), b"00000000");
        io.set(IoBit::Trigger2, true);
        io.set(IoBit::ImageEmail, true);
        assert_eq!(&io.digits(0), b"01010000");
        io.set(IoBit::Trigger2, false);
        assert_eq!(&io.digits(0), b"00010000");
        assert_eq!(&io.digits(1 << IoBit::ImageUpload as u8), b"00110000");
        assert!(io.get(IoBit::ImageEmail) && !io.get(IoBit::Trigger1));
    }

    #[test]
    fn factory_image_table_maps_to_capture_settings() {
        let settings = image_settings(&ImageConfig::default()).unwrap();
        assert_eq!(settings.resolution, Resolution::from_code(2).unwrap());
        assert_eq!(settings.frame_rate, FrameRate::from_code(0).unwrap());
    }
}
