//! Error types of the capture crate.
//!
//! Three families, because callers react differently: a [`SettingsError`] is a client's
//! bad parameter (HTTP 400), a [`SpecError`] is a bad `--source` argument (start-up usage
//! error), and a [`CaptureError`] is the camera itself failing (start-up error naming the
//! device or path, or a logged and retried runtime failure).

use std::io;
use std::path::PathBuf;

/// A value outside what IPCamCGI 3.3.2 allows; the message names the spec parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// `VideoResolution` not 0, 1 or 2.
    #[error("VideoResolution must be 0, 1 or 2, got {0}")]
    Resolution(i64),
    /// `CompressionRate` not 0..=4.
    #[error("CompressionRate must be 0..4, got {0}")]
    Compression(i64),
    /// `FrameRate` not one of 0, 1, 5, 7, 15, 20.
    #[error("FrameRate must be 0, 1, 5, 7, 15 or 20, got {0}")]
    FrameRate(i64),
    /// A brightness/contrast/saturation level outside 1..=128.
    #[error("{control} must be 1..128, got {value}")]
    Level {
        /// The spec parameter, e.g. `BrightnessControl`.
        control: &'static str,
        /// The rejected value.
        value: i64,
    },
    /// `LightFrequency` not 0 or 1.
    #[error("LightFrequency must be 0 or 1, got {0}")]
    LightFrequency(i64),
    /// `Mirror` not 0..=3.
    #[error("Mirror must be 0..3, got {0}")]
    Mirror(i64),
    /// `AntiFlickerEnable` not 0 or 1.
    #[error("AntiFlickerEnable must be 0 or 1, got {0}")]
    AntiFlicker(i64),
}

/// A `--source` argument that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Neither `test`, `replay:PATH` nor `v4l2:DEVICE`.
    #[error("unknown frame source {0:?}: expected test, replay:PATH or v4l2:/dev/videoN")]
    Unknown(String),
    /// `replay:` or `v4l2:` without a path.
    #[error("frame source {0}: needs a path after the colon")]
    MissingPath(&'static str),
}

/// The camera failed: a source cannot be opened, read or encoded, or the capture thread
/// cannot start.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A device or replay path cannot be opened (missing, unreadable, busy).
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The device node or replay path.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// Reading a frame failed after the source was opened.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The device node or replay file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A replay path holds no JPEG image.
    #[error("{}: no JPEG images found", path.display())]
    NoFrames {
        /// The replay folder or file.
        path: PathBuf,
    },
    /// Bytes that should be a JPEG image are not one.
    #[error("{}: not a valid JPEG image: {reason}", path.display())]
    InvalidJpeg {
        /// Where the bytes came from.
        path: PathBuf,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// A device offers nothing this crate can stream, or rejected a setting.
    #[error("{}: {reason}", path.display())]
    Device {
        /// The device node.
        path: PathBuf,
        /// What the device lacks or refused.
        reason: String,
    },
    /// The source kind was not compiled into this build.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The JPEG encoder rejected a picture.
    #[error("JPEG encoding failed: {0}")]
    Encode(#[from] crate::encode::EncodeError),
    /// The capture thread could not be started.
    #[error("cannot start the capture thread: {0}")]
    Spawn(io::Error),
}
