//! The pure-Rust encoder (`jpeg-encoder`): no C library to build or link, AVX2 with runtime
//! detection on x86-64. `jpeg-encoder` takes full-resolution Y, Cb and Cr rows and does the
//! 4:2:0 subsampling itself, so pictures are fed to it a row at a time straight from their
//! buffer.

use jpeg_encoder::{ColorType, Encoder, ImageBuffer, JpegColorType, SamplingFactor};

use super::{EncodeError, JpegEncoder, YuvLayout, YuvPicture, YuvRows};

/// `jpeg-encoder`, the default encoder.
#[derive(Debug, Default)]
pub struct PureRust;

impl JpegEncoder for PureRust {
    const NAME: &'static str = "jpeg-encoder";

    fn encode(
        &mut self,
        picture: &YuvPicture<'_>,
        quality: u8,
        jpeg: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        picture.validate()?;
        let mut encoder = Encoder::new(jpeg, quality);
        encoder.set_sampling_factor(SamplingFactor::F_2_2);
        let plain = picture.mirror == crate::Mirror::default();
        if plain && picture.layout == YuvLayout::Ycc444 {
            // Already interleaved YCbCr: the encoder reads the buffer as it is.
            let size = usize::from(picture.width) * usize::from(picture.height) * 3;
            encoder.encode(
                &picture.data[..size],
                picture.width,
                picture.height,
                ColorType::Ycbcr,
            )?;
        } else {
            encoder.encode_image(Rows(picture))?;
        }
        Ok(())
    }

    fn encode_rows(
        &mut self,
        rows: &dyn YuvRows,
        quality: u8,
        jpeg: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let mut encoder = Encoder::new(jpeg, quality);
        encoder.set_sampling_factor(SamplingFactor::F_2_2);
        encoder.encode_image(Rows(rows))?;
        Ok(())
    }
}

/// Rows as `jpeg-encoder` reads them: one full-resolution row at a time.
struct Rows<'r>(&'r dyn YuvRows);

impl ImageBuffer for Rows<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        self.0.size().0
    }

    fn height(&self) -> u16 {
        self.0.size().1
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let [luma, cb, cr, _] = buffers;
        self.0.row(usize::from(y), luma, cb, cr);
    }
}
