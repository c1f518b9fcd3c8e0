//! Frame ring, frame sources and image settings of the ipcam camera stack.
//!
//! This crate is the camera's hot path, from the sensor (or its stand-in) to the bytes
//! that stream clients send:
//!
//! - [`ring`]: a pool of refcounted JPEG slots. Each frame is written once; snapshot and
//!   stream clients hold [`Frame`] references, never copies; the writer never waits.
//! - [`source`]: where frames come from ([`FrameSource`]): the synthetic test pattern,
//!   a replay of recorded JPEGs, or a V4L2 camera (feature `v4l2`).
//! - [`encode`]: JPEG encoding of YUV pictures, by `jpeg-encoder` or (feature `turbojpeg`)
//!   the system's libjpeg-turbo.
//! - [`Capture`]: the thread that paces a source, applies [`ImageSettings`] live, and
//!   publishes into the ring, calling the daemon's hooks for each frame.
//!
//! ```no_run
//! use ipcam_capture::{source, Capture, CaptureOptions, ImageSettings, SourceSpec};
//!
//! let spec: SourceSpec = "test".parse()?;
//! // The on-screen display of the test pattern shows the host's local time.
//! let clock = Box::new(|| chrono::Local::now().naive_local());
//! let source = source::open(&spec, clock)?;
//! let capture = Capture::spawn(source, ImageSettings::default(), CaptureOptions::default())?;
//! if let Some(frame) = capture.latest() {
//!     println!("frame {} is {} bytes", frame.meta().seq, frame.jpeg().len());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod capture;
pub mod encode;
mod error;
pub mod ring;
mod settings;
pub mod source;

pub use capture::{Capture, CaptureOptions, CaptureStats, HeaderWriter, OnPublish};
pub use error::{CaptureError, SettingsError, SpecError};
pub use ring::{Frame, FrameMeta, RingReader, RingStats};
pub use settings::{
    anti_flicker_from_code, Compression, FrameRate, ImageSettings, Level, LightFrequency, Mirror,
    Resolution,
};
pub use source::{open, FrameInfo, FrameSource, SourceSpec};

/// Entry points for the fuzz targets (feature `fuzzing`); not a stable API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod harness {
    use std::sync::OnceLock;

    use crate::source::v4l2_logic::{copy_mjpeg_frame, standard_huffman_tables};

    /// Copies a frame as the V4L2 source copies a camera's MJPEG buffer into a ring slot,
    /// inserting the standard Huffman tables where the camera left them out.
    pub fn copy_camera_frame(frame: &[u8], out: &mut Vec<u8>) -> Result<(u16, u16), &'static str> {
        static TABLES: OnceLock<Vec<u8>> = OnceLock::new();
        copy_mjpeg_frame(frame, TABLES.get_or_init(standard_huffman_tables), out)
    }
}
