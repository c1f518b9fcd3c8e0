//! The synthetic test pattern: the camera the daemon streams when it has none.
//!
//! Colour bars over a grey ramp (so mirroring and the picture controls visibly change the
//! picture), a box that moves every frame, and an on-screen display with the date and time
//! and the frame number, so consecutive frames always differ and a viewer can see latency
//! and dropped frames at a glance. The time comes from an [`OverlayClock`], so the daemon
//! can show the camera's own time (its time zone and any manually set time), as the
//! on-screen display of a real camera does, rather than the host's.
//!
//! The static background is built once per settings change, in YCbCr with brightness,
//! contrast, saturation and mirror already applied. Every row of it is either a row of the
//! bars or a row of the ramp, so only those two rows are kept (kilobytes, not the megabyte
//! of a whole picture). No frame is ever held whole either: the encoder asks for one row
//! at a time ([`YuvRows`]), and each row is laid out from its background row with the
//! spans of the box and the text painted over it. Output is 4:2:0 at the quality of the
//! compression setting. The only per-frame allocations are `jpeg-encoder`'s own working
//! rows (none with libjpeg-turbo).

use std::time::SystemTime;

use chrono::{Datelike, Local, NaiveDateTime, Timelike};

use super::{FrameInfo, FrameSource};
use crate::encode::{DefaultEncoder, JpegEncoder, YuvRows};
use crate::{CaptureError, ImageSettings};

/// A YCbCr pixel.
type Ycc = [u8; 3];

/// The local date and time the on-screen display shows, asked once per frame.
pub type OverlayClock = Box<dyn Fn() -> NaiveDateTime + Send>;

/// The host's local time, for a pattern on its own (benches, tests, tools).
pub(crate) fn host_clock() -> OverlayClock {
    Box::new(|| Local::now().naive_local())
}

/// The synthetic camera.
pub struct TestPattern {
    settings: ImageSettings,
    /// One row of the colour bars and one of the grey ramp, mirrored as set.
    bar_row: Vec<u8>,
    ramp_row: Vec<u8>,
    frames: u64,
    clock: OverlayClock,
    encoder: DefaultEncoder,
}

impl TestPattern {
    /// A test pattern with the default settings (changed through [`FrameSource::apply`])
    /// that shows the host's local time.
    pub fn new() -> Self {
        Self::with_clock(host_clock())
    }

    /// A test pattern that shows the time `clock` gives.
    ///
    /// ```
    /// use ipcam_capture::source::TestPattern;
    /// use ipcam_capture::FrameSource;
    ///
    /// let noon = chrono::NaiveDate::from_ymd_opt(2024, 6, 3)
    ///     .and_then(|day| day.and_hms_opt(12, 0, 0))
    ///     .unwrap();
    /// let mut pattern = TestPattern::with_clock(Box::new(move || noon));
    /// let mut jpeg = Vec::new();
    /// let frame = pattern.next_frame(&mut jpeg)?;
    /// assert_eq!((frame.width, frame.height), (640, 480));
    /// # Ok::<(), ipcam_capture::CaptureError>(())
    /// ```
    pub fn with_clock(clock: OverlayClock) -> Self {
        let mut pattern = TestPattern {
            settings: ImageSettings::default(),
            bar_row: Vec::new(),
            ramp_row: Vec::new(),
            frames: 0,
            clock,
            encoder: DefaultEncoder::default(),
        };
        pattern.build_background();
        pattern
    }

    fn size(&self) -> (usize, usize) {
        let resolution = self.settings.resolution;
        (
            usize::from(resolution.width()),
            usize::from(resolution.height()),
        )
    }

    /// The two background rows, picture controls and horizontal mirror applied.
    fn build_background(&mut self) {
        let (width, _) = self.size();
        let adjust = PictureControls::new(&self.settings);
        let bars = BARS_RGB.map(|rgb| adjust.apply(rgb_to_ycc(rgb)));
        let mirror = self.settings.mirror.horizontal;
        let column = |x: usize| if mirror { width - 1 - x } else { x };
        self.bar_row.clear();
        self.ramp_row.clear();
        for x in (0..width).map(column) {
            self.bar_row
                .extend_from_slice(&bars[x * bars.len() / width]);
            let grey = (x * 255 / (width - 1)) as u8;
            self.ramp_row
                .extend_from_slice(&adjust.apply([grey, 128, 128]));
        }
    }

    /// The box bouncing left and right across the bars, one step per frame: `(x, y,
    /// side)`.
    fn moving_box(&self) -> (usize, usize, usize) {
        let (width, height) = self.size();
        let side = height / 6;
        let travel = width - side;
        let step = (width / 90).max(1);
        let phase = (self.frames as usize * step) % (2 * travel);
        let mut x = if phase < travel {
            phase
        } else {
            2 * travel - phase
        };
        let mut y = height / 3 - side / 2;
        let mirror = self.settings.mirror;
        if mirror.horizontal {
            x = width - side - x;
        }
        if mirror.vertical {
            y = height - side - y;
        }
        (x, y, side)
    }

    /// Date and time, and the frame number, as the on-screen display shows them.
    fn overlay_text(&self) -> ([u8; 19], [u8; 9]) {
        let local = (self.clock)();
        let mut line = [b' '; 19];
        write_number(&mut line[0..4], local.year().unsigned_abs());
        line[4] = b'-';
        write_number(&mut line[5..7], local.month());
        line[7] = b'-';
        write_number(&mut line[8..10], local.day());
        write_number(&mut line[11..13], local.hour());
        line[13] = b':';
        write_number(&mut line[14..16], local.minute());
        line[16] = b':';
        write_number(&mut line[17..19], local.second());
        let mut counter = [b'#'; 9];
        write_number(&mut counter[1..], (self.frames % 100_000_000) as u32);
        (line, counter)
    }
}

impl std::fmt::Debug for TestPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPattern")
            .field("settings", &self.settings)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl Default for TestPattern {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameSource for TestPattern {
    fn describe(&self) -> String {
        "synthetic test pattern".to_owned()
    }

    fn apply(&mut self, settings: &ImageSettings) -> Result<(), CaptureError> {
        let redraw = (settings.resolution, settings.brightness, settings.contrast)
            != (
                self.settings.resolution,
                self.settings.brightness,
                self.settings.contrast,
            )
            || (settings.saturation, settings.mirror)
                != (self.settings.saturation, self.settings.mirror);
        self.settings = *settings;
        if redraw {
            self.build_background();
        }
        Ok(())
    }

    fn native_fps(&self) -> Option<f64> {
        None
    }

    fn next_frame(&mut self, jpeg: &mut Vec<u8>) -> Result<FrameInfo, CaptureError> {
        let captured_at = SystemTime::now();
        let (width, height) = self.size();
        let (date_time, counter) = self.overlay_text();
        let frame = PatternFrame {
            width,
            height,
            bar_row: &self.bar_row,
            ramp_row: &self.ramp_row,
            bars_at_bottom: self.settings.mirror.vertical,
            moving_box: self.moving_box(),
            box_colour: PictureControls::new(&self.settings).apply(rgb_to_ycc([255, 140, 0])),
            scale: (width / 200).max(1),
            lines: [&date_time, &counter],
        };
        let quality = self.settings.compression.jpeg_quality();
        self.encoder.encode_rows(&frame, quality, jpeg)?;
        self.frames += 1;
        let resolution = self.settings.resolution;
        Ok(FrameInfo {
            width: resolution.width(),
            height: resolution.height(),
            captured_at,
        })
    }
}

/// 75 % colour bars: white, yellow, cyan, green, magenta, red, blue, black.
const BARS_RGB: [[u8; 3]; 8] = [
    [191, 191, 191],
    [191, 191, 0],
    [0, 191, 191],
    [0, 191, 0],
    [191, 0, 191],
    [191, 0, 0],
    [0, 0, 191],
    [0, 0, 0],
];

const BLACK: Ycc = [16, 128, 128];
const WHITE: Ycc = [235, 128, 128];

/// JFIF (full-range BT.601) RGB → YCbCr.
fn rgb_to_ycc([r, g, b]: [u8; 3]) -> Ycc {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    [clamp_u8(y), clamp_u8(cb), clamp_u8(cr)]
}

fn clamp_u8(value: f32) -> u8 {
    value.round().clamp(0.0, 255.0) as u8
}

/// Brightness, contrast and saturation as a sensor pipeline would apply them: contrast
/// scales luma around mid-grey, brightness shifts it (±2 per level from 64), saturation
/// scales chroma.
struct PictureControls {
    brightness: f32,
    contrast: f32,
    saturation: f32,
}

impl PictureControls {
    fn new(settings: &ImageSettings) -> Self {
        PictureControls {
            brightness: (f32::from(settings.brightness.get()) - 64.0) * 2.0,
            contrast: settings.contrast.gain(),
            saturation: settings.saturation.gain(),
        }
    }

    fn apply(&self, [y, cb, cr]: Ycc) -> Ycc {
        let luma = (f32::from(y) - 128.0) * self.contrast + 128.0 + self.brightness;
        let chroma = |c: u8| (f32::from(c) - 128.0) * self.saturation + 128.0;
        [clamp_u8(luma), clamp_u8(chroma(cb)), clamp_u8(chroma(cr))]
    }
}

/// Writes `value` as zero-padded decimal digits filling `digits`.
fn write_number(digits: &mut [u8], mut value: u32) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

const GLYPH_ROWS: usize = 7;
const GLYPH_ADVANCE: usize = 6;

/// 5×7 bitmaps (bit 4 = leftmost column) of the characters the overlay uses.
fn glyph(character: u8) -> [u8; GLYPH_ROWS] {
    match character {
        b'0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        b'1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        b'2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        b'3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        b'4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        b'5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        b'6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        b'7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        b'8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        b'9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        b'-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        b':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        b'#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        _ => [0; GLYPH_ROWS],
    }
}

/// One frame of the pattern, laid out a row at a time for the encoder.
struct PatternFrame<'a> {
    width: usize,
    height: usize,
    bar_row: &'a [u8],
    ramp_row: &'a [u8],
    /// Vertical mirror: the ramp at the top, the bars below.
    bars_at_bottom: bool,
    /// `(x, y, side)` of the box.
    moving_box: (usize, usize, usize),
    box_colour: Ycc,
    /// Size of one font pixel in picture pixels.
    scale: usize,
    /// The on-screen display's lines, top to bottom.
    lines: [&'a [u8]; 2],
}

impl PatternFrame<'_> {
    fn has_bars(&self, y: usize) -> bool {
        let bar_rows = self.height * 2 / 3;
        if self.bars_at_bottom {
            y >= self.height - bar_rows
        } else {
            y < bar_rows
        }
    }

    /// Calls `paint(from, to, colour)` for the spans of row `y` covered by the box, then
    /// by the on-screen display (white text on a black box, never mirrored: it is drawn
    /// after the sensor's picture, like a real camera's).
    fn spans(&self, y: usize, mut paint: impl FnMut(usize, usize, Ycc)) {
        let (box_x, box_y, side) = self.moving_box;
        if (box_y..box_y + side).contains(&y) {
            paint(box_x, box_x + side, self.box_colour);
        }
        let scale = self.scale;
        let margin = 2 * scale;
        let line_height = (GLYPH_ROWS + 2) * scale;
        if y >= self.lines.len() * line_height + margin {
            return;
        }
        let longest = self.lines.iter().map(|l| l.len()).max().unwrap_or(0);
        paint(0, (longest * GLYPH_ADVANCE + 2) * scale, BLACK);
        for (index, text) in self.lines.iter().enumerate() {
            let top = margin + index * line_height;
            if !(top..top + GLYPH_ROWS * scale).contains(&y) {
                continue;
            }
            let glyph_row = (y - top) / scale;
            for (position, &character) in text.iter().enumerate() {
                let left = margin + position * GLYPH_ADVANCE * scale;
                let bits = glyph(character)[glyph_row];
                for column in 0..5 {
                    if bits & (0x10 >> column) != 0 {
                        let x = left + column * scale;
                        paint(x, x + scale, WHITE);
                    }
                }
            }
        }
    }
}

impl YuvRows for PatternFrame<'_> {
    fn size(&self) -> (u16, u16) {
        // Both come from a `Resolution`, so they fit.
        (self.width as u16, self.height as u16)
    }

    fn row(&self, y: usize, luma: &mut Vec<u8>, cb: &mut Vec<u8>, cr: &mut Vec<u8>) {
        let starts = (luma.len(), cb.len(), cr.len());
        let background = if self.has_bars(y) {
            self.bar_row
        } else {
            self.ramp_row
        };
        for pixel in background.chunks_exact(3) {
            luma.push(pixel[0]);
            cb.push(pixel[1]);
            cr.push(pixel[2]);
        }
        let width = self.width;
        self.spans(y, |from, to, [y_value, cb_value, cr_value]| {
            let (from, to) = (from.min(width), to.min(width));
            luma[starts.0 + from..starts.0 + to].fill(y_value);
            cb[starts.1 + from..starts.1 + to].fill(cb_value);
            cr[starts.2 + from..starts.2 + to].fill(cr_value);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Level, Mirror, Resolution};

    fn decode(jpeg: &[u8]) -> (u16, u16, Vec<u8>) {
        let mut decoder = jpeg_decoder::Decoder::new(jpeg);
        let pixels = decoder.decode().expect("a valid JPEG");
        let info = decoder.info().unwrap();
        (info.width, info.height, pixels)
    }

    fn frame(pattern: &mut TestPattern) -> (FrameInfo, Vec<u8>) {
        let mut jpeg = Vec::new();
        let info = pattern.next_frame(&mut jpeg).unwrap();
        (info, jpeg)
    }

    /// Mean RGB of a rectangle of a decoded RGB picture.
    fn mean(pixels: &[u8], width: usize, (x, y, w, h): (usize, usize, usize, usize)) -> [f32; 3] {
        let mut sum = [0f32; 3];
        for row in y..y + h {
            for col in x..x + w {
                for c in 0..3 {
                    sum[c] += f32::from(pixels[(row * width + col) * 3 + c]);
                }
            }
        }
        sum.map(|s| s / (w * h) as f32)
    }

    fn at(hour: u32) -> TestPattern {
        let time = chrono::NaiveDate::from_ymd_opt(2024, 6, 3)
            .and_then(|day| day.and_hms_opt(hour, 0, 0))
            .unwrap();
        TestPattern::with_clock(Box::new(move || time))
    }

    #[test]
    fn the_overlay_shows_the_clocks_time_and_nothing_else_depends_on_it() {
        let (_, noon) = frame(&mut at(12));
        let (_, noon_again) = frame(&mut at(12));
        let (_, one_pm) = frame(&mut at(13));
        assert_eq!(noon, noon_again, "same clock, same frame");
        let (width, height, noon) = decode(&noon);
        let (_, _, one_pm) = decode(&one_pm);
        let width = usize::from(width);
        let differing_rows: Vec<usize> = (0..usize::from(height))
            .filter(|row| {
                let span = row * width * 3..(row + 1) * width * 3;
                noon[span.clone()] != one_pm[span]
            })
            .collect();
        assert!(!differing_rows.is_empty(), "the time is drawn");
        assert!(
            differing_rows.iter().all(|&row| row < height as usize / 8),
            "only the overlay at the top changes: rows {differing_rows:?}"
        );
    }

    #[test]
    fn frames_have_the_configured_resolution() {
        let mut pattern = TestPattern::new();
        for resolution in Resolution::ALL {
            let settings = ImageSettings {
                resolution,
                ..ImageSettings::default()
            };
            pattern.apply(&settings).unwrap();
            let (info, jpeg) = frame(&mut pattern);
            let (width, height, _) = decode(&jpeg);
            assert_eq!((width, height), (resolution.width(), resolution.height()));
            assert_eq!((info.width, info.height), (width, height));
        }
    }

    #[test]
    fn consecutive_frames_differ() {
        let mut pattern = TestPattern::new();
        let (_, first) = frame(&mut pattern);
        let (_, second) = frame(&mut pattern);
        assert_ne!(decode(&first).2, decode(&second).2);
    }

    #[test]
    fn higher_compression_gives_smaller_frames() {
        let mut pattern = TestPattern::new();
        let mut sizes = Vec::new();
        for code in [0, 4] {
            let compression = crate::Compression::from_code(code).unwrap();
            pattern
                .apply(&ImageSettings {
                    compression,
                    ..ImageSettings::default()
                })
                .unwrap();
            sizes.push(frame(&mut pattern).1.len());
        }
        assert!(sizes[0] > sizes[1], "{sizes:?}");
    }

    #[test]
    fn brightness_raises_the_picture_level() {
        let area = (400, 400, 60, 40);
        let mut levels = Vec::new();
        for level in [32, 64, 96] {
            let mut pattern = TestPattern::new();
            let brightness = Level::new("BrightnessControl", level).unwrap();
            pattern
                .apply(&ImageSettings {
                    brightness,
                    ..ImageSettings::default()
                })
                .unwrap();
            let (_, jpeg) = frame(&mut pattern);
            levels.push(mean(&decode(&jpeg).2, 640, area)[1]);
        }
        assert!(levels[0] < levels[1] && levels[1] < levels[2], "{levels:?}");
    }

    #[test]
    fn zero_saturation_looks_grey() {
        let mut pattern = TestPattern::new();
        let saturation = Level::MIN;
        pattern
            .apply(&ImageSettings {
                saturation,
                ..ImageSettings::default()
            })
            .unwrap();
        let (_, jpeg) = frame(&mut pattern);
        // The yellow bar (second of eight) must have lost its colour.
        let [r, g, b] = mean(&decode(&jpeg).2, 640, (90, 250, 40, 40));
        assert!((r - b).abs() < 12.0 && (g - b).abs() < 12.0, "{r} {g} {b}");
    }

    #[test]
    fn mirror_flips_the_bars() {
        let blue_bar = (490, 250, 40, 40);
        let mut pattern = TestPattern::new();
        let (_, plain) = frame(&mut pattern);
        let mirror = Mirror {
            horizontal: true,
            vertical: false,
        };
        pattern
            .apply(&ImageSettings {
                mirror,
                ..ImageSettings::default()
            })
            .unwrap();
        let (_, mirrored) = frame(&mut pattern);
        let plain_rgb = mean(&decode(&plain).2, 640, blue_bar);
        let mirrored_rgb = mean(&decode(&mirrored).2, 640, blue_bar);
        assert!(
            plain_rgb[2] > 150.0 && plain_rgb[0] < 60.0,
            "blue bar {plain_rgb:?}"
        );
        assert!(
            mirrored_rgb[2] < 60.0 && mirrored_rgb[0] > 150.0,
            "mirrored {mirrored_rgb:?}"
        );
    }

    #[test]
    fn vertical_mirror_moves_the_ramp_to_the_top() {
        let mut pattern = TestPattern::new();
        let mirror = Mirror {
            horizontal: false,
            vertical: true,
        };
        pattern
            .apply(&ImageSettings {
                mirror,
                ..ImageSettings::default()
            })
            .unwrap();
        let (_, jpeg) = frame(&mut pattern);
        let pixels = decode(&jpeg).2;
        // Right end of the ramp is near white; under the bars it would be black.
        let [r, g, b] = mean(&pixels, 640, (620, 100, 16, 16));
        assert!(r > 200.0 && g > 200.0 && b > 200.0, "{r} {g} {b}");
    }
}
