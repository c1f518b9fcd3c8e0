//! JPEG encoding of the YUV pictures the sources produce, by one of two encoders chosen at
//! build time.
//!
//! The test pattern draws in YCbCr and V4L2 cameras deliver YUYV or NV12, so every picture
//! reaches the encoder as YUV and none goes through RGB. Two encoders implement
//! [`JpegEncoder`]:
//!
//! - [`PureRust`] (`jpeg-encoder`): the default, so a plain `cargo build` needs no C library;
//!   AVX2 on a PC, but no NEON path on ARM.
//! - `TurboJpeg` (feature `turbojpeg`): the system's libjpeg-turbo, linked through pkg-config,
//!   whose SIMD (NEON on ARM) is what camera firmware uses. The picture is handed over as
//!   4:2:0 planes (`tjCompressFromYUVPlanes`), so libjpeg-turbo does no colour conversion.
//!
//! [`DefaultEncoder`] is the one the sources use: `TurboJpeg` when the feature is on, else
//! `PureRust`. Both are always available to the benches and tests of a `turbojpeg` build, so
//! they can be compared side by side. Both write 4:2:0 JPEGs.

mod picture;
mod pure;
#[cfg(feature = "turbojpeg")]
mod turbo;

pub use picture::{YuvLayout, YuvPicture, YuvRows};
pub use pure::PureRust;
#[cfg(feature = "turbojpeg")]
pub use turbo::TurboJpeg;

/// The encoder the sources use, chosen by the `turbojpeg` feature.
#[cfg(feature = "turbojpeg")]
pub type DefaultEncoder = TurboJpeg;
/// The encoder the sources use, chosen by the `turbojpeg` feature.
#[cfg(not(feature = "turbojpeg"))]
pub type DefaultEncoder = PureRust;

/// Why a picture could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The buffer is shorter than its layout and size need (a truncated driver buffer).
    #[error("a {width}x{height} {layout:?} picture needs {needed} bytes, got {got}")]
    ShortPicture {
        /// Picture width in pixels.
        width: u16,
        /// Picture height in pixels.
        height: u16,
        /// The layout that was claimed.
        layout: YuvLayout,
        /// Bytes the layout needs.
        needed: usize,
        /// Bytes there are.
        got: usize,
    },
    /// A size or stride the layout cannot have (zero, odd YUYV width, stride below a row).
    #[error("a {width}x{height} {layout:?} picture is not a valid layout")]
    BadLayout {
        /// Picture width in pixels.
        width: u16,
        /// Picture height in pixels.
        height: u16,
        /// The layout that was claimed.
        layout: YuvLayout,
    },
    /// `jpeg-encoder` failed.
    #[error("jpeg-encoder: {0}")]
    PureRust(#[from] jpeg_encoder::EncodingError),
    /// libjpeg-turbo failed; its own message.
    #[error("libjpeg-turbo: {0}")]
    TurboJpeg(String),
}

/// A JPEG encoder for [`YuvPicture`]s. It keeps its working buffers between frames, so
/// encoding a stream allocates only while the frame size grows.
pub trait JpegEncoder: Send + Default {
    /// The encoder's name, for logs and benches.
    const NAME: &'static str;

    /// Appends `picture` as a baseline 4:2:0 JPEG of `quality` (1..=100) to `jpeg`.
    fn encode(
        &mut self,
        picture: &YuvPicture<'_>,
        quality: u8,
        jpeg: &mut Vec<u8>,
    ) -> Result<(), EncodeError>;

    /// Appends a picture that is produced a row at a time (the test pattern, which never
    /// holds a whole picture) as a baseline 4:2:0 JPEG of `quality` to `jpeg`.
    fn encode_rows(
        &mut self,
        rows: &dyn YuvRows,
        quality: u8,
        jpeg: &mut Vec<u8>,
    ) -> Result<(), EncodeError>;
}

#[cfg(test)]
mod tests;
