//! The V4L2 source: a real camera through Video4Linux2 memory-mapped streaming.
//!
//! MJPEG cameras are passed through: each frame is copied once, from the driver's mmap
//! buffer into the ring's slot (with the standard Huffman tables inserted if the camera
//! omits them). YUYV and NV12 cameras are encoded here by the build's encoder (`encode`),
//! reading the mmap buffer in place as YUV: no RGB step. Image settings map to the device's
//! controls; what a device lacks is logged (and mirror is done in software for raw frames). The pure logic lives in `v4l2_logic`, tested
//! without a device.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use v4l::buffer::Type as BufferType;
use v4l::capability::Flags as CapabilityFlags;
use v4l::control::{Control, Type as ControlType, Value};
use v4l::io::mmap::Stream as MmapStream;
use v4l::io::traits::CaptureStream;
use v4l::video::capture::Parameters;
use v4l::video::Capture;
use v4l::{Device, Format, FourCC};

use super::v4l2_logic::{
    choose_format, copy_mjpeg_frame, power_line_frequency, scale_level, standard_huffman_tables,
    ControlRange, PixelFormat,
};
use super::{FrameInfo, FrameSource};
use crate::encode::{DefaultEncoder, JpegEncoder, YuvPicture};
use crate::{CaptureError, ImageSettings, Mirror, Resolution};

const CID_BRIGHTNESS: u32 = 0x0098_0900;
const CID_CONTRAST: u32 = 0x0098_0901;
const CID_SATURATION: u32 = 0x0098_0902;
const CID_HFLIP: u32 = 0x0098_0914;
const CID_VFLIP: u32 = 0x0098_0915;
const CID_POWER_LINE_FREQUENCY: u32 = 0x0098_0918;
const CID_JPEG_COMPRESSION_QUALITY: u32 = 0x009d_0903;

/// Driver buffers: enough to keep the camera busy while one is being copied.
const BUFFER_COUNT: u32 = 4;
/// Longest wait for a frame, so that stopping the capture thread stays bounded.
const FRAME_TIMEOUT: Duration = Duration::from_secs(2);

/// A Video4Linux2 camera.
pub(crate) struct V4l2Camera {
    path: PathBuf,
    device: Device,
    format: PixelFormat,
    controls: HashMap<u32, (ControlType, ControlRange)>,
    huffman_tables: Vec<u8>,
    stream: Option<MmapStream<'static>>,
    streaming: Option<Streaming>,
    quality: u8,
    software_mirror: Mirror,
    native_fps: Option<f64>,
    encoder: DefaultEncoder,
}

/// The negotiated stream, set up by `configure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Streaming {
    requested: Resolution,
    width: u16,
    height: u16,
    stride: usize,
}

impl V4l2Camera {
    /// Opens `path` and starts streaming at the default resolution, so that a missing,
    /// foreign or busy device fails here, at start-up, naming the device.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let open_error = |source| CaptureError::Open {
            path: path.to_path_buf(),
            source,
        };
        let device = Device::with_path(path).map_err(open_error)?;
        let caps = device.query_caps().map_err(open_error)?;
        let needed = CapabilityFlags::VIDEO_CAPTURE | CapabilityFlags::STREAMING;
        if !caps.capabilities.contains(needed) {
            return Err(device_error(
                path,
                "is not a streaming video capture device",
            ));
        }
        let offered: Vec<[u8; 4]> = device
            .enum_formats()
            .map_err(open_error)?
            .iter()
            .map(|description| description.fourcc.repr)
            .collect();
        let format = choose_format(&offered).ok_or_else(|| {
            let names: Vec<String> = offered
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            device_error(
                path,
                &format!(
                    "offers neither MJPEG, YUYV nor NV12 (only {})",
                    names.join(", ")
                ),
            )
        })?;
        let controls = query_controls(&device, path);
        let mut camera = V4l2Camera {
            path: path.to_path_buf(),
            device,
            format,
            controls,
            huffman_tables: standard_huffman_tables(),
            stream: None,
            streaming: None,
            quality: ImageSettings::default().compression.jpeg_quality(),
            software_mirror: Mirror::default(),
            native_fps: None,
            encoder: DefaultEncoder::default(),
        };
        camera
            .configure(&ImageSettings::default())
            .map_err(open_error)?;
        Ok(camera)
    }

    /// (Re)negotiates format and rate and starts the stream if the resolution or rate
    /// changed; a change restarts the stream, not the viewers' connections.
    fn configure(&mut self, settings: &ImageSettings) -> io::Result<()> {
        let resolution = settings.resolution;
        if self.streaming.is_some_and(|s| s.requested == resolution) && self.stream.is_some() {
            return self.set_rate(settings);
        }
        self.stream = None;
        let wanted = Format::new(
            u32::from(resolution.width()),
            u32::from(resolution.height()),
            FourCC::new(&self.format.fourcc()),
        );
        let actual = self.device.set_format(&wanted)?;
        if (actual.width, actual.height) != (wanted.width, wanted.height) {
            log::warn!(
                "{}: asked for {}x{}, the camera gives {}x{}",
                self.path.display(),
                wanted.width,
                wanted.height,
                actual.width,
                actual.height
            );
        }
        let to_u16 =
            |v: u32| u16::try_from(v).map_err(|_| io::Error::other("frame size beyond 65535"));
        self.streaming = Some(Streaming {
            requested: resolution,
            width: to_u16(actual.width)?,
            height: to_u16(actual.height)?,
            stride: actual.stride as usize,
        });
        self.set_rate(settings)?;
        let mut stream =
            MmapStream::with_buffers(&self.device, BufferType::VideoCapture, BUFFER_COUNT)?;
        stream.set_timeout(FRAME_TIMEOUT);
        self.stream = Some(stream);
        Ok(())
    }

    /// Asks for the fixed rate (Auto keeps the device's), then reads back what it runs at.
    fn set_rate(&mut self, settings: &ImageSettings) -> io::Result<()> {
        if let Some(fps) = settings.frame_rate.fps() {
            if let Err(error) = self
                .device
                .set_params(&Parameters::with_fps(u32::from(fps)))
            {
                log::warn!("{}: cannot set {fps} fps: {error}", self.path.display());
            }
        }
        self.native_fps = self.device.params().ok().and_then(|params| {
            let interval = params.interval;
            (interval.numerator > 0)
                .then(|| f64::from(interval.denominator) / f64::from(interval.numerator))
        });
        Ok(())
    }

    fn set_controls(&mut self, settings: &ImageSettings) {
        self.software_mirror = Mirror::default();
        let levels = [
            (CID_BRIGHTNESS, settings.brightness),
            (CID_CONTRAST, settings.contrast),
            (CID_SATURATION, settings.saturation),
        ];
        for (id, level) in levels {
            self.set_control(id, |range| Value::Integer(scale_level(level, range)));
        }
        self.set_control(CID_POWER_LINE_FREQUENCY, |_| {
            Value::Integer(power_line_frequency(settings))
        });
        let quality = i64::from(settings.compression.jpeg_quality());
        self.set_control(CID_JPEG_COMPRESSION_QUALITY, |range| {
            Value::Integer(quality.clamp(range.min, range.max))
        });
        let flips = [
            (CID_HFLIP, settings.mirror.horizontal),
            (CID_VFLIP, settings.mirror.vertical),
        ];
        for (id, on) in flips {
            if !self.set_control(id, |_| Value::Boolean(on)) && on {
                match self.format {
                    PixelFormat::Yuyv | PixelFormat::Nv12 if id == CID_HFLIP => {
                        self.software_mirror.horizontal = true
                    }
                    PixelFormat::Yuyv | PixelFormat::Nv12 => self.software_mirror.vertical = true,
                    PixelFormat::Mjpeg => log::warn!(
                        "{}: the camera cannot mirror its MJPEG stream",
                        self.path.display()
                    ),
                }
            }
        }
    }

    /// Sets a control if the device has it; false if it has not or refused.
    fn set_control(&self, id: u32, value: impl FnOnce(ControlRange) -> Value) -> bool {
        let Some(&(kind, range)) = self.controls.get(&id) else {
            return false;
        };
        let value = match (kind, value(range)) {
            (ControlType::Boolean, Value::Boolean(on)) => Value::Boolean(on),
            (ControlType::Boolean, Value::Integer(v)) => Value::Boolean(v != 0),
            (_, Value::Boolean(on)) => Value::Integer(i64::from(on)),
            (_, other) => other,
        };
        match self.device.set_control(Control { id, value }) {
            Ok(()) => true,
            Err(error) => {
                log::warn!("{}: control {id:#x} refused: {error}", self.path.display());
                false
            }
        }
    }
}

impl FrameSource for V4l2Camera {
    fn describe(&self) -> String {
        format!("v4l2 {} ({:?})", self.path.display(), self.format)
    }

    fn apply(&mut self, settings: &ImageSettings) -> Result<(), CaptureError> {
        self.quality = settings.compression.jpeg_quality();
        self.configure(settings)
            .map_err(|source| CaptureError::Device {
                path: self.path.clone(),
                reason: format!(
                    "cannot apply {}x{}: {source}",
                    settings.resolution.width(),
                    settings.resolution.height()
                ),
            })?;
        self.set_controls(settings);
        Ok(())
    }

    fn native_fps(&self) -> Option<f64> {
        self.native_fps
    }

    fn next_frame(&mut self, jpeg: &mut Vec<u8>) -> Result<FrameInfo, CaptureError> {
        let read_error = |source| CaptureError::Read {
            path: self.path.clone(),
            source,
        };
        let (Some(stream), Some(streaming)) = (self.stream.as_mut(), self.streaming) else {
            return Err(device_error(
                &self.path,
                "is not streaming (its last configuration failed)",
            ));
        };
        let (buffer, metadata) = CaptureStream::next(stream).map_err(read_error)?;
        let captured_at = SystemTime::now();
        let used = (metadata.bytesused as usize).min(buffer.len());
        let data = &buffer[..used];
        let (width, height) = match self.format.raw_layout(streaming.stride, streaming.width) {
            None => copy_mjpeg_frame(data, &self.huffman_tables, jpeg).map_err(|reason| {
                CaptureError::InvalidJpeg {
                    path: self.path.clone(),
                    reason,
                }
            })?,
            Some(layout) => {
                let picture = YuvPicture {
                    data,
                    width: streaming.width,
                    height: streaming.height,
                    layout,
                    mirror: self.software_mirror,
                };
                self.encoder.encode(&picture, self.quality, jpeg)?;
                (streaming.width, streaming.height)
            }
        };
        Ok(FrameInfo {
            width,
            height,
            captured_at,
        })
    }
}

fn device_error(path: &Path, reason: &str) -> CaptureError {
    CaptureError::Device {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    }
}

/// The integer, boolean and menu controls the device has, by id.
fn query_controls(device: &Device, path: &Path) -> HashMap<u32, (ControlType, ControlRange)> {
    let descriptions = match device.query_controls() {
        Ok(descriptions) => descriptions,
        Err(error) => {
            log::warn!("{}: cannot list controls: {error}", path.display());
            return HashMap::new();
        }
    };
    descriptions
        .into_iter()
        .filter(|d| {
            matches!(
                d.typ,
                ControlType::Integer | ControlType::Boolean | ControlType::Menu
            )
        })
        .map(|d| {
            let range = ControlRange {
                min: d.minimum,
                max: d.maximum,
                step: i64::try_from(d.step).unwrap_or(1),
                default: d.default,
            };
            (d.id, (d.typ, range))
        })
        .collect()
}
