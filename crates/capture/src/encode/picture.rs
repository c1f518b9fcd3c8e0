//! The YUV pictures the encoders take, read in place from where a source keeps them, and
//! the two conversions the encoders need: full-resolution rows for `jpeg-encoder`, 4:2:0
//! planes for libjpeg-turbo. Mirroring for cameras without flip controls happens here, on
//! the way into the encoder, so no mirrored copy of the picture is ever made.

use crate::Mirror;

use super::EncodeError;

/// How the bytes of a [`YuvPicture`] are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YuvLayout {
    /// Y, Cb, Cr for every pixel, rows of `3 * width` bytes (the test pattern's canvas).
    Ycc444,
    /// Packed 4:2:2 `Y0 Cb Y1 Cr` (V4L2 `YUYV`), `stride` bytes a row (`bytesperline`).
    Yuyv {
        /// Bytes per row, at least `2 * width`.
        stride: usize,
    },
    /// 4:2:0 with a Y plane of `height` rows, then one plane of interleaved `Cb Cr` pairs at
    /// half resolution (V4L2 `NV12`); both planes have `stride` bytes a row.
    Nv12 {
        /// Bytes per row of each plane, at least `width`.
        stride: usize,
    },
}

/// A picture produced a row at a time, at full resolution (one Y, Cb and Cr per pixel).
pub trait YuvRows {
    /// Width and height in pixels, both at least 1.
    fn size(&self) -> (u16, u16);

    /// Appends row `y` (`0..height`): `width` bytes each to `luma`, `cb` and `cr`.
    fn row(&self, y: usize, luma: &mut Vec<u8>, cb: &mut Vec<u8>, cr: &mut Vec<u8>);
}

/// A picture to encode, borrowed from the source's buffer.
#[derive(Debug, Clone, Copy)]
pub struct YuvPicture<'a> {
    /// The pixels, in `layout`.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// How `data` is laid out.
    pub layout: YuvLayout,
    /// Flips to apply while encoding.
    pub mirror: Mirror,
}

impl YuvPicture<'_> {
    /// Checks that the size is valid for the layout and that `data` holds all of it.
    pub fn validate(&self) -> Result<(), EncodeError> {
        let (width, height) = (usize::from(self.width), usize::from(self.height));
        let bad_layout = || EncodeError::BadLayout {
            width: self.width,
            height: self.height,
            layout: self.layout,
        };
        if width == 0 || height == 0 {
            return Err(bad_layout());
        }
        let needed = match self.layout {
            YuvLayout::Ycc444 => width * height * 3,
            YuvLayout::Yuyv { stride } => {
                if width % 2 != 0 || stride < 2 * width {
                    return Err(bad_layout());
                }
                (height - 1) * stride + 2 * width
            }
            YuvLayout::Nv12 { stride } => {
                if stride < width.next_multiple_of(2) {
                    return Err(bad_layout());
                }
                height * stride + (height.div_ceil(2) - 1) * stride + width.next_multiple_of(2)
            }
        };
        if self.data.len() < needed {
            return Err(EncodeError::ShortPicture {
                width: self.width,
                height: self.height,
                layout: self.layout,
                needed,
                got: self.data.len(),
            });
        }
        Ok(())
    }

    /// The stored row shown at output row `y`.
    fn source_row(&self, y: usize) -> usize {
        if self.mirror.vertical {
            usize::from(self.height) - 1 - y
        } else {
            y
        }
    }

    /// Output row `y` at full resolution: one Y, Cb and Cr byte per pixel appended to
    /// `luma`, `cb` and `cr`. Needs a validated picture.
    pub(super) fn full_row(
        &self,
        y: usize,
        luma: &mut Vec<u8>,
        cb: &mut Vec<u8>,
        cr: &mut Vec<u8>,
    ) {
        let starts = (luma.len(), cb.len(), cr.len());
        let width = usize::from(self.width);
        let row = self.source_row(y);
        match self.layout {
            YuvLayout::Ycc444 => {
                let pixels = &self.data[row * width * 3..(row + 1) * width * 3];
                for pixel in pixels.chunks_exact(3) {
                    luma.push(pixel[0]);
                    cb.push(pixel[1]);
                    cr.push(pixel[2]);
                }
            }
            YuvLayout::Yuyv { stride } => {
                let pixels = &self.data[row * stride..row * stride + width * 2];
                for pair in pixels.chunks_exact(4) {
                    luma.extend_from_slice(&[pair[0], pair[2]]);
                    cb.extend_from_slice(&[pair[1], pair[1]]);
                    cr.extend_from_slice(&[pair[3], pair[3]]);
                }
            }
            YuvLayout::Nv12 { stride } => {
                luma.extend_from_slice(&self.data[row * stride..row * stride + width]);
                let chroma_start = (usize::from(self.height) + row / 2) * stride;
                let pairs = &self.data[chroma_start..chroma_start + width.next_multiple_of(2)];
                for (x, pair) in pairs.chunks_exact(2).enumerate() {
                    let repeat = if 2 * x + 1 < width { 2 } else { 1 };
                    for _ in 0..repeat {
                        cb.push(pair[0]);
                        cr.push(pair[1]);
                    }
                }
            }
        }
        if self.mirror.horizontal {
            luma[starts.0..].reverse();
            cb[starts.1..].reverse();
            cr[starts.2..].reverse();
        }
    }
}

/// A validated picture, row by row.
impl YuvRows for YuvPicture<'_> {
    fn size(&self) -> (u16, u16) {
        (self.width, self.height)
    }

    fn row(&self, y: usize, luma: &mut Vec<u8>, cb: &mut Vec<u8>, cr: &mut Vec<u8>) {
        self.full_row(y, luma, cb, cr);
    }
}

/// A picture as three 4:2:0 planes without padding: Y is `width` by `height`, Cb and Cr
/// are `ceil(width / 2)` by `ceil(height / 2)`, each chroma sample the mean of its 2×2
/// block. The buffers are kept between frames.
#[cfg(any(feature = "turbojpeg", test))]
#[derive(Debug, Default)]
pub(super) struct Planes420 {
    pub y: Vec<u8>,
    pub cb: Vec<u8>,
    pub cr: Vec<u8>,
    /// Two full-resolution rows of Cb and Cr, for [`Planes420::fill_rows`].
    row_cb: Vec<u8>,
    row_cr: Vec<u8>,
}

#[cfg(any(feature = "turbojpeg", test))]
impl Planes420 {
    /// Fills the planes from a validated picture, mirrored as it asks.
    pub fn fill(&mut self, picture: &YuvPicture<'_>) {
        let (width, height) = (usize::from(picture.width), usize::from(picture.height));
        self.y.clear();
        self.cb.clear();
        self.cr.clear();
        for y in 0..height {
            let start = self.y.len();
            let row = picture.source_row(y);
            match picture.layout {
                YuvLayout::Ycc444 => self.y.extend(
                    picture.data[row * width * 3..(row + 1) * width * 3]
                        .iter()
                        .step_by(3),
                ),
                YuvLayout::Yuyv { stride } => self.y.extend(
                    picture.data[row * stride..row * stride + 2 * width]
                        .iter()
                        .step_by(2),
                ),
                YuvLayout::Nv12 { stride } => self
                    .y
                    .extend_from_slice(&picture.data[row * stride..row * stride + width]),
            }
            if picture.mirror.horizontal {
                self.y[start..].reverse();
            }
        }
        for pair in 0..height.div_ceil(2) {
            let start = self.cb.len();
            let upper = picture.source_row(2 * pair);
            let lower = picture.source_row((2 * pair + 1).min(height - 1));
            picture.chroma_row_420(upper, lower, &mut self.cb, &mut self.cr);
            if picture.mirror.horizontal {
                self.cb[start..].reverse();
                self.cr[start..].reverse();
            }
        }
    }
}

#[cfg(any(feature = "turbojpeg", test))]
impl Planes420 {
    /// Fills the planes from a picture produced row by row.
    pub fn fill_rows(&mut self, rows: &dyn YuvRows) {
        let (width, height) = rows.size();
        let (width, height) = (usize::from(width), usize::from(height));
        self.y.clear();
        self.cb.clear();
        self.cr.clear();
        for pair in (0..height).step_by(2) {
            self.row_cb.clear();
            self.row_cr.clear();
            for y in pair..(pair + 2).min(height) {
                rows.row(y, &mut self.y, &mut self.row_cb, &mut self.row_cr);
            }
            // An odd height's last pair is one row: it stands for both.
            let lower = if pair + 1 < height { width } else { 0 };
            for (plane, row) in [(&mut self.cb, &self.row_cb), (&mut self.cr, &self.row_cr)] {
                for x in (0..width).step_by(2) {
                    let right = (x + 1).min(width - 1);
                    let sum = u32::from(row[x])
                        + u32::from(row[right])
                        + u32::from(row[lower + x])
                        + u32::from(row[lower + right]);
                    plane.push(((sum + 2) / 4) as u8);
                }
            }
        }
    }
}

#[cfg(any(feature = "turbojpeg", test))]
impl YuvPicture<'_> {
    /// Appends the 4:2:0 chroma of stored rows `upper` and `lower` (equal for the last
    /// row of an odd height): each sample the rounded mean of what covers its block.
    fn chroma_row_420(&self, upper: usize, lower: usize, cb: &mut Vec<u8>, cr: &mut Vec<u8>) {
        let width = usize::from(self.width);
        let mean2 = |a: u8, b: u8| (u16::from(a) + u16::from(b)).div_ceil(2) as u8;
        match self.layout {
            YuvLayout::Ycc444 => {
                let row = |r: usize| &self.data[r * width * 3..(r + 1) * width * 3];
                // Two pixels per block; an odd width's last block has one.
                for (top, bottom) in row(upper).chunks(6).zip(row(lower).chunks(6)) {
                    let last = top.len() - 3;
                    for (channel, plane) in [(1, &mut *cb), (2, &mut *cr)] {
                        let sum = u32::from(top[channel])
                            + u32::from(top[last + channel])
                            + u32::from(bottom[channel])
                            + u32::from(bottom[last + channel]);
                        plane.push(((sum + 2) / 4) as u8);
                    }
                }
            }
            YuvLayout::Yuyv { stride } => {
                let row = |r: usize| &self.data[r * stride..r * stride + 2 * width];
                for (top, bottom) in row(upper).chunks_exact(4).zip(row(lower).chunks_exact(4)) {
                    cb.push(mean2(top[1], bottom[1]));
                    cr.push(mean2(top[3], bottom[3]));
                }
            }
            YuvLayout::Nv12 { stride } => {
                let start = (usize::from(self.height) + upper / 2) * stride;
                for pair in self.data[start..start + width.next_multiple_of(2)].chunks_exact(2) {
                    cb.push(pair[0]);
                    cr.push(pair[1]);
                }
            }
        }
    }
}
