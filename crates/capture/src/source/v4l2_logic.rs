//! The device-independent half of the V4L2 source: format choice, control value mapping
//! and the layout of raw frames for the encoder. Kept apart from the ioctl code so it is unit-tested on machines
//! without a camera (CI has no `/dev/video*`).

use jpeg_encoder::{ColorType, Encoder};

use super::jpeg::read_header;
use crate::encode::YuvLayout;
use crate::{ImageSettings, Level, LightFrequency};

/// A pixel format this crate can stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PixelFormat {
    /// The camera compresses: frames are copied out of the driver's buffer as they are.
    Mjpeg,
    /// Packed 4:2:2 luma/chroma, encoded to JPEG here.
    Yuyv,
    /// Planar 4:2:0 (Y plane, interleaved CbCr plane), encoded to JPEG here.
    Nv12,
}

impl PixelFormat {
    /// The V4L2 FourCC code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::Mjpeg => *b"MJPG",
            PixelFormat::Yuyv => *b"YUYV",
            PixelFormat::Nv12 => *b"NV12",
        }
    }

    /// How a raw frame `width` pixels wide with the driver's `bytesperline` lies in its
    /// buffer (drivers that report 0 get packed rows); `None` for a compressed format.
    pub fn raw_layout(self, bytes_per_line: usize, width: u16) -> Option<YuvLayout> {
        let width = usize::from(width);
        match self {
            PixelFormat::Mjpeg => None,
            PixelFormat::Yuyv => Some(YuvLayout::Yuyv {
                stride: bytes_per_line.max(2 * width),
            }),
            PixelFormat::Nv12 => Some(YuvLayout::Nv12 {
                stride: bytes_per_line.max(width),
            }),
        }
    }
}

/// Picks the format to stream from those a device offers: compressed first (no encoding
/// cost, one copy per frame), then YUYV, then NV12 (both encoded here). `JPEG` is the FourCC some older drivers use for
/// the same stream as `MJPG`.
pub(crate) fn choose_format(offered: &[[u8; 4]]) -> Option<PixelFormat> {
    if offered.iter().any(|f| f == b"MJPG" || f == b"JPEG") {
        Some(PixelFormat::Mjpeg)
    } else if offered.iter().any(|f| f == b"YUYV") {
        Some(PixelFormat::Yuyv)
    } else if offered.iter().any(|f| f == b"NV12") {
        Some(PixelFormat::Nv12)
    } else {
        None
    }
}

/// The standard Huffman tables of JPEG Annex K.3 as DHT segments. Taken from what
/// `jpeg-encoder` writes (it uses exactly these when not optimising), so no table is typed
/// in by hand.
pub(crate) fn standard_huffman_tables() -> Vec<u8> {
    let mut sample = Vec::new();
    Encoder::new(&mut sample, 75)
        .encode(&[128; 8 * 8 * 3], 8, 8, ColorType::Rgb)
        .expect("an 8x8 picture always encodes");
    let mut tables = Vec::new();
    let mut pos = 2;
    while let Some(&[0xFF, marker, hi, lo]) = sample.get(pos..pos + 4) {
        let end = pos + 2 + usize::from(u16::from_be_bytes([hi, lo]));
        if marker == 0xC4 {
            tables.extend_from_slice(&sample[pos..end]);
        }
        if marker == 0xDA {
            break;
        }
        pos = end;
    }
    tables
}

/// Copies a camera's MJPEG frame into `out` (the one copy of the payload), inserting the
/// standard Huffman tables before the scan when the camera left them out, as many UVC
/// webcams do: browsers and NVRs cannot decode such frames on their own. Returns the
/// picture size.
pub(crate) fn copy_mjpeg_frame(
    frame: &[u8],
    huffman_tables: &[u8],
    out: &mut Vec<u8>,
) -> Result<(u16, u16), &'static str> {
    let header = read_header(frame)?;
    if header.has_huffman_tables {
        out.extend_from_slice(frame);
    } else {
        out.reserve(frame.len() + huffman_tables.len());
        out.extend_from_slice(&frame[..header.scan_offset]);
        out.extend_from_slice(huffman_tables);
        out.extend_from_slice(&frame[header.scan_offset..]);
    }
    Ok((header.width, header.height))
}

/// The range a device reports for an integer control (VIDIOC_QUERYCTRL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ControlRange {
    pub min: i64,
    pub max: i64,
    pub step: i64,
    pub default: i64,
}

/// Maps a spec level (1..=128, 64 neutral) to a device value: 64 gives the device's
/// default, 1 its minimum and 128 its maximum, linear in between on each side, rounded
/// to the control's step.
pub(crate) fn scale_level(level: Level, range: ControlRange) -> i64 {
    let level = i64::from(level.get());
    let neutral = i64::from(Level::NEUTRAL.get());
    let default = range.default.clamp(range.min, range.max);
    let raw = if level <= neutral {
        range.min + (default - range.min) * (level - 1) / (neutral - 1)
    } else {
        default
            + (range.max - default) * (level - neutral) / (i64::from(Level::MAX.get()) - neutral)
    };
    let step = range.step.max(1);
    let snapped = range.min + (raw - range.min + step / 2) / step * step;
    snapped.clamp(range.min, range.max)
}

/// Value of V4L2_CID_POWER_LINE_FREQUENCY: 0 disabled, 1 = 50 Hz, 2 = 60 Hz. With
/// anti-flicker off the camera does not lock exposure to the mains at all.
pub(crate) fn power_line_frequency(settings: &ImageSettings) -> i64 {
    match (settings.anti_flicker, settings.light_frequency) {
        (false, _) => 0,
        (true, LightFrequency::Hz50) => 1,
        (true, LightFrequency::Hz60) => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(value: i64) -> Level {
        Level::new("test", value).unwrap()
    }

    #[test]
    fn compressed_formats_win_over_raw() {
        assert_eq!(
            choose_format(&[*b"YUYV", *b"MJPG"]),
            Some(PixelFormat::Mjpeg)
        );
        assert_eq!(choose_format(&[*b"JPEG"]), Some(PixelFormat::Mjpeg));
        assert_eq!(
            choose_format(&[*b"NV12", *b"YUYV"]),
            Some(PixelFormat::Yuyv)
        );
        assert_eq!(
            choose_format(&[*b"H264", *b"NV12"]),
            Some(PixelFormat::Nv12)
        );
        assert_eq!(choose_format(&[*b"H264", *b"RGB3"]), None);
        for format in [PixelFormat::Mjpeg, PixelFormat::Yuyv, PixelFormat::Nv12] {
            assert_eq!(choose_format(&[format.fourcc()]), Some(format));
        }
    }

    #[test]
    fn raw_formats_lay_out_rows_by_their_stride_and_mjpeg_has_none() {
        assert_eq!(PixelFormat::Mjpeg.raw_layout(1280, 640), None);
        assert_eq!(
            PixelFormat::Yuyv.raw_layout(1344, 640),
            Some(YuvLayout::Yuyv { stride: 1344 })
        );
        assert_eq!(
            PixelFormat::Yuyv.raw_layout(0, 640),
            Some(YuvLayout::Yuyv { stride: 1280 }),
            "a driver reporting no bytesperline gets packed rows"
        );
        assert_eq!(
            PixelFormat::Nv12.raw_layout(0, 640),
            Some(YuvLayout::Nv12 { stride: 640 })
        );
    }

    #[test]
    fn levels_map_neutral_to_the_device_default_and_ends_to_its_limits() {
        let range = ControlRange {
            min: 0,
            max: 255,
            step: 1,
            default: 128,
        };
        assert_eq!(scale_level(level(1), range), 0);
        assert_eq!(scale_level(level(64), range), 128);
        assert_eq!(scale_level(level(128), range), 255);
        let lopsided = ControlRange {
            min: -64,
            max: 64,
            step: 1,
            default: 0,
        };
        assert_eq!(scale_level(level(1), lopsided), -64);
        assert_eq!(scale_level(level(64), lopsided), 0);
        assert_eq!(scale_level(level(128), lopsided), 64);
        assert!(scale_level(level(32), lopsided) < 0);
        assert!(scale_level(level(96), lopsided) > 0);
    }

    #[test]
    fn levels_snap_to_the_control_step_and_stay_in_range() {
        let range = ControlRange {
            min: 0,
            max: 100,
            step: 10,
            default: 50,
        };
        for value in 1..=128 {
            let mapped = scale_level(level(value), range);
            assert_eq!(mapped % 10, 0, "level {value} gave {mapped}");
            assert!((0..=100).contains(&mapped));
        }
        let odd_default = ControlRange {
            min: 0,
            max: 10,
            step: 1,
            default: 99,
        };
        assert_eq!(scale_level(level(64), odd_default), 10);
    }

    #[test]
    fn levels_are_monotonic() {
        let range = ControlRange {
            min: -30,
            max: 200,
            step: 3,
            default: 40,
        };
        let values: Vec<i64> = (1..=128).map(|v| scale_level(level(v), range)).collect();
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
    }

    #[test]
    fn power_line_frequency_follows_anti_flicker_and_mains() {
        let mut settings = ImageSettings::default();
        assert_eq!(power_line_frequency(&settings), 0);
        settings.anti_flicker = true;
        assert_eq!(power_line_frequency(&settings), 2);
        settings.light_frequency = LightFrequency::Hz50;
        assert_eq!(power_line_frequency(&settings), 1);
    }

    /// Removes every DHT segment before the scan, as a table-less webcam would send.
    fn strip_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
        let scan = read_header(jpeg).unwrap().scan_offset;
        let mut out = jpeg[..2].to_vec();
        let mut pos = 2;
        while pos < scan {
            let end = pos + 2 + usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
            if jpeg[pos + 1] != 0xC4 {
                out.extend_from_slice(&jpeg[pos..end]);
            }
            pos = end;
        }
        out.extend_from_slice(&jpeg[scan..]);
        out
    }

    fn encoded_jpeg() -> Vec<u8> {
        let pixels: Vec<u8> = (0..32 * 16 * 3).map(|i| (i * 13 % 256) as u8).collect();
        let mut jpeg = Vec::new();
        Encoder::new(&mut jpeg, 80)
            .encode(&pixels, 32, 16, ColorType::Rgb)
            .unwrap();
        jpeg
    }

    #[test]
    fn the_standard_tables_are_the_four_annex_k_tables() {
        let tables = standard_huffman_tables();
        let mut classes = Vec::new();
        let mut value_count = 0;
        let mut pos = 0;
        while pos < tables.len() {
            assert_eq!(tables[pos..pos + 2], [0xFF, 0xC4]);
            let end = pos + 2 + usize::from(u16::from_be_bytes([tables[pos + 2], tables[pos + 3]]));
            classes.push(tables[pos + 4]);
            value_count += end - (pos + 4 + 17);
            pos = end;
        }
        classes.sort_unstable();
        // DC/AC (high nibble) × luma/chroma (low nibble); 12 DC and 162 AC symbols each.
        assert_eq!(classes, [0x00, 0x01, 0x10, 0x11]);
        assert_eq!(value_count, 12 + 12 + 162 + 162);
    }

    #[test]
    fn a_table_less_webcam_frame_gets_the_standard_tables() {
        let original = encoded_jpeg();
        let stripped = strip_huffman_tables(&original);
        assert!(!read_header(&stripped).unwrap().has_huffman_tables);
        let mut copied = Vec::new();
        let size = copy_mjpeg_frame(&stripped, &standard_huffman_tables(), &mut copied).unwrap();
        assert_eq!(size, (32, 16));
        assert!(read_header(&copied).unwrap().has_huffman_tables);
        assert_eq!(copied.len(), original.len());
        let decode = |jpeg: &[u8]| jpeg_decoder::Decoder::new(jpeg).decode().unwrap();
        assert_eq!(decode(&copied), decode(&original));
    }

    #[test]
    fn a_complete_frame_is_copied_unchanged() {
        let original = encoded_jpeg();
        let mut copied = Vec::new();
        copy_mjpeg_frame(&original, &standard_huffman_tables(), &mut copied).unwrap();
        assert_eq!(copied, original);
        assert!(copy_mjpeg_frame(b"\0\0garbage", &[], &mut Vec::new()).is_err());
    }
}
