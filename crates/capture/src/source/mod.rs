//! Frame sources: where JPEG frames come from.
//!
//! One trait, [`FrameSource`], with a backend per kind of camera, chosen at start-up from a
//! [`SourceSpec`] (`--source test | replay:PATH | v4l2:/dev/videoN`). The synthetic test
//! pattern is the embedded default, not a test double: it is what the daemon streams when
//! there is no camera, exactly as a real camera would.

mod jpeg;
mod pattern;
mod replay;
#[cfg(feature = "v4l2")]
mod v4l2;
#[cfg(any(feature = "v4l2", feature = "fuzzing", test))]
#[cfg_attr(not(any(feature = "v4l2", test)), allow(dead_code))]
pub(crate) mod v4l2_logic;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::SystemTime;

use crate::{CaptureError, ImageSettings, SpecError};

pub use jpeg::jpeg_dimensions;
pub use pattern::{OverlayClock, TestPattern};
pub use replay::Replay;

/// What a source reports about the frame it just wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Picture width in pixels.
    pub width: u16,
    /// Picture height in pixels.
    pub height: u16,
    /// When the picture was taken.
    pub captured_at: SystemTime,
}

/// A camera, real or not, as the capture thread drives it.
pub trait FrameSource: Send {
    /// What this source is, for logs (e.g. `replay /srv/frames`).
    fn describe(&self) -> String;

    /// Applies image settings; called before the first frame and after every change.
    /// A source applies what it can (a replay can apply nothing) and reports settings the
    /// device refused as an error, which the capture thread logs.
    fn apply(&mut self, settings: &ImageSettings) -> Result<(), CaptureError>;

    /// The source's own maximum frame rate, if it has one (a camera's negotiated rate).
    /// `None` lets the capture thread use its configured automatic rate.
    fn native_fps(&self) -> Option<f64>;

    /// Writes the next JPEG into `jpeg` (empty, with the capacity of earlier frames) and
    /// describes it. May block for about one frame time.
    fn next_frame(&mut self, jpeg: &mut Vec<u8>) -> Result<FrameInfo, CaptureError>;
}

/// Which source to open, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `test`: the synthetic test pattern.
    TestPattern,
    /// `replay:PATH`: a folder of JPEG files, or one file of concatenated JPEGs / MJPEG.
    Replay(PathBuf),
    /// `v4l2:/dev/videoN`: a Video4Linux2 camera (needs the `v4l2` feature).
    V4l2(PathBuf),
}

impl FromStr for SourceSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let path = |kind: &'static str, rest: &str| {
            if rest.is_empty() {
                Err(SpecError::MissingPath(kind))
            } else {
                Ok(PathBuf::from(rest))
            }
        };
        match spec.split_once(':') {
            None if spec == "test" => Ok(SourceSpec::TestPattern),
            Some(("replay", rest)) => path("replay", rest).map(SourceSpec::Replay),
            Some(("v4l2", rest)) => path("v4l2", rest).map(SourceSpec::V4l2),
            _ => Err(SpecError::Unknown(spec.to_owned())),
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::TestPattern => f.write_str("test"),
            SourceSpec::Replay(path) => write!(f, "replay:{}", path.display()),
            SourceSpec::V4l2(path) => write!(f, "v4l2:{}", path.display()),
        }
    }
}

/// Opens the source a spec names; `clock` is the time a source that draws its own
/// on-screen display (the test pattern) shows. A missing, unreadable or busy device or
/// path is an error naming it.
pub fn open(spec: &SourceSpec, clock: OverlayClock) -> Result<Box<dyn FrameSource>, CaptureError> {
    match spec {
        SourceSpec::TestPattern => Ok(Box::new(TestPattern::with_clock(clock))),
        SourceSpec::Replay(path) => Ok(Box::new(Replay::open(path)?)),
        SourceSpec::V4l2(path) => open_v4l2(path),
    }
}

#[cfg(feature = "v4l2")]
fn open_v4l2(path: &std::path::Path) -> Result<Box<dyn FrameSource>, CaptureError> {
    Ok(Box::new(v4l2::V4l2Camera::open(path)?))
}

#[cfg(not(feature = "v4l2"))]
fn open_v4l2(_path: &std::path::Path) -> Result<Box<dyn FrameSource>, CaptureError> {
    Err(CaptureError::Unsupported(
        "this build has no V4L2 support (rebuild ipcam-capture with the `v4l2` feature)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_from_the_command_line_forms() {
        assert_eq!("test".parse(), Ok(SourceSpec::TestPattern));
        assert_eq!(
            "replay:/srv/frames".parse(),
            Ok(SourceSpec::Replay("/srv/frames".into()))
        );
        assert_eq!(
            "v4l2:/dev/video0".parse(),
            Ok(SourceSpec::V4l2("/dev/video0".into()))
        );
        assert_eq!(
            "replay:C:/clips/a.mjpeg".parse(),
            Ok(SourceSpec::Replay("C:/clips/a.mjpeg".into())),
            "only the first colon separates the kind"
        );
    }

    #[test]
    fn bad_specs_are_clear_errors() {
        assert_eq!(
            "camera".parse::<SourceSpec>(),
            Err(SpecError::Unknown("camera".into()))
        );
        assert_eq!("".parse::<SourceSpec>(), Err(SpecError::Unknown("".into())));
        assert_eq!(
            "test:x".parse::<SourceSpec>(),
            Err(SpecError::Unknown("test:x".into()))
        );
        assert_eq!(
            "replay:".parse::<SourceSpec>(),
            Err(SpecError::MissingPath("replay"))
        );
        assert_eq!(
            "v4l2:".parse::<SourceSpec>(),
            Err(SpecError::MissingPath("v4l2"))
        );
        let message = "camera".parse::<SourceSpec>().unwrap_err().to_string();
        assert!(message.contains("replay:PATH"), "{message}");
    }

    #[test]
    fn specs_print_as_they_parse() {
        for text in ["test", "replay:/srv/frames", "v4l2:/dev/video2"] {
            assert_eq!(text.parse::<SourceSpec>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn a_missing_replay_path_is_named_in_the_error() {
        let Err(err) = open(
            &SourceSpec::Replay("/nonexistent/ipcam-frames".into()),
            pattern::host_clock(),
        ) else {
            panic!("opened a missing path");
        };
        assert!(matches!(err, CaptureError::Open { .. }), "{err:?}");
        assert!(
            err.to_string().contains("/nonexistent/ipcam-frames"),
            "{err}"
        );
    }

    #[cfg(not(feature = "v4l2"))]
    #[test]
    fn v4l2_without_the_feature_says_how_to_get_it() {
        let Err(err) = open(
            &SourceSpec::V4l2("/dev/video0".into()),
            pattern::host_clock(),
        ) else {
            panic!("opened V4L2 without V4L2 support");
        };
        assert!(err.to_string().contains("v4l2"), "{err}");
    }

    #[cfg(feature = "v4l2")]
    #[test]
    fn a_missing_v4l2_device_is_named_in_the_error() {
        let Err(err) = open(
            &SourceSpec::V4l2("/dev/ipcam-no-such-video".into()),
            pattern::host_clock(),
        ) else {
            panic!("opened a missing device");
        };
        assert!(
            err.to_string().contains("/dev/ipcam-no-such-video"),
            "{err}"
        );
    }
}
