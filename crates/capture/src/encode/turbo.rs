//! libjpeg-turbo through its TurboJPEG API (feature `turbojpeg`), linked from the system
//! via pkg-config: the encoder camera firmware uses, with NEON on ARM and SIMD on x86.
//!
//! The picture goes in as three 4:2:0 planes (`tjCompressFromYUVPlanes`), so libjpeg-turbo
//! skips colour conversion and downsampling, and the JPEG is written straight into the
//! caller's vector (`TJFLAG_NOREALLOC` into reserved capacity): no copy out of a C buffer.

use std::ffi::CStr;
use std::ptr::NonNull;

use turbojpeg_sys as tj;

use super::picture::Planes420;
use super::{EncodeError, JpegEncoder, YuvPicture, YuvRows};

/// libjpeg-turbo's compressor with the planes it is fed from, both kept between frames.
#[derive(Debug, Default)]
pub struct TurboJpeg {
    /// Created on the first frame, so constructing an encoder cannot fail.
    handle: Option<Handle>,
    planes: Planes420,
}

impl JpegEncoder for TurboJpeg {
    const NAME: &'static str = "libjpeg-turbo";

    fn encode(
        &mut self,
        picture: &YuvPicture<'_>,
        quality: u8,
        jpeg: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        picture.validate()?;
        self.planes.fill(picture);
        self.compress_planes(picture.width, picture.height, quality, jpeg)
    }

    fn encode_rows(
        &mut self,
        rows: &dyn YuvRows,
        quality: u8,
        jpeg: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        self.planes.fill_rows(rows);
        let (width, height) = rows.size();
        self.compress_planes(width, height, quality, jpeg)
    }
}

impl TurboJpeg {
    /// Compresses the planes, filled for a `width`×`height` picture, onto `jpeg`.
    fn compress_planes(
        &mut self,
        width: u16,
        height: u16,
        quality: u8,
        jpeg: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let handle = match &self.handle {
            Some(handle) => handle,
            None => self.handle.insert(Handle::new()?),
        };
        let width = i32::from(width);
        let height = i32::from(height);
        let chroma_width = (width + 1) / 2;
        let subsampling = tj::TJSAMP_TJSAMP_420 as i32;
        // SAFETY: tjBufSize only computes a size.
        let worst_case = unsafe { tj::tjBufSize(width, height, subsampling) };
        let worst_case = usize::try_from(worst_case)
            .map_err(|_| EncodeError::TurboJpeg("picture too large".to_owned()))?;
        jpeg.reserve(worst_case);
        let start = jpeg.len();
        // SAFETY: `start` is within the allocation; `reserve` made room for `worst_case`.
        let mut output = unsafe { jpeg.as_mut_ptr().add(start) };
        let mut written = worst_case as std::ffi::c_ulong;
        let mut planes = [
            self.planes.y.as_ptr(),
            self.planes.cb.as_ptr(),
            self.planes.cr.as_ptr(),
        ];
        let strides = [width, chroma_width, chroma_width];
        // SAFETY: the planes hold width×height and ceil(width/2)×ceil(height/2) samples at
        // the strides given (Planes420::fill of a validated picture, or fill_rows of rows
        // of this size); `output` points at
        // `worst_case` writable bytes, which TJFLAG_NOREALLOC makes the encoder respect
        // instead of reallocating (tjBufSize is its documented worst case).
        let status = unsafe {
            tj::tjCompressFromYUVPlanes(
                handle.0.as_ptr(),
                planes.as_mut_ptr(),
                width,
                strides.as_ptr(),
                height,
                subsampling,
                &mut output,
                &mut written,
                i32::from(quality),
                tj::TJFLAG_NOREALLOC as i32,
            )
        };
        if status != 0 {
            return Err(EncodeError::TurboJpeg(handle.last_error()));
        }
        let written = usize::try_from(written)
            .unwrap_or(usize::MAX)
            .min(worst_case);
        // SAFETY: the encoder initialised `written` bytes (at most `worst_case`) at `start`.
        unsafe { jpeg.set_len(start + written) };
        Ok(())
    }
}

/// A TurboJPEG compressor instance.
#[derive(Debug)]
struct Handle(NonNull<std::ffi::c_void>);

// SAFETY: a TurboJPEG handle may move between threads; it is only used through `&mut
// TurboJpeg`, so never from two threads at once.
unsafe impl Send for Handle {}

impl Handle {
    fn new() -> Result<Self, EncodeError> {
        // SAFETY: no preconditions; a null return is checked.
        let raw = unsafe { tj::tjInitCompress() };
        NonNull::new(raw).map(Handle).ok_or_else(|| {
            EncodeError::TurboJpeg("tjInitCompress failed (out of memory?)".to_owned())
        })
    }

    /// The message of the last failure on this handle.
    fn last_error(&self) -> String {
        // SAFETY: tjGetErrorStr2 returns a NUL-terminated string owned by the handle (or a
        // static one), valid until the next call on the handle; it is copied at once.
        unsafe {
            let message = tj::tjGetErrorStr2(self.0.as_ptr());
            if message.is_null() {
                "unknown error".to_owned()
            } else {
                CStr::from_ptr(message).to_string_lossy().into_owned()
            }
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from tjInitCompress and is destroyed once.
        unsafe { tj::tjDestroy(self.0.as_ptr()) };
    }
}
