//! Just enough JPEG structure to find images in a byte stream and read their size.
//!
//! A replayed MJPEG file is JPEG images back to back, often with multipart headers or other
//! bytes between them. Searching for `FF D9` is not enough to find where an image ends:
//! embedded thumbnails (EXIF) carry their own SOI/EOI pairs inside an APP1 segment. So this
//! walks the segment structure: marker segments are skipped by their length, and only the
//! entropy-coded data after SOS is scanned byte by byte, where `FF 00` (stuffing), `FF D0..D7`
//! (restart) and `FF FF` (fill) are data and any other marker ends the scan.

use std::io::{self, BufRead};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const TEM: u8 = 0x01;
const DHT: u8 = 0xC4;

/// True for the start-of-frame markers (SOF0..SOF15), which carry the picture size;
/// C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
fn is_start_of_frame(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Markers without a length field.
fn is_standalone(marker: u8) -> bool {
    matches!(marker, 0xD0..=0xD7 | TEM)
}

/// Width and height of a JPEG image from its SOF header, without decoding it.
pub fn jpeg_dimensions(jpeg: &[u8]) -> Result<(u16, u16), &'static str> {
    read_header(jpeg).map(|header| (header.width, header.height))
}

/// What the marker segments before the first scan say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JpegHeader {
    /// Width from the SOF header.
    pub width: u16,
    /// Height from the SOF header.
    pub height: u16,
    /// Offset of the first SOS marker.
    pub scan_offset: usize,
    /// Whether a DHT segment precedes the first scan (many webcams leave the standard
    /// Huffman tables out of their MJPEG frames).
    pub has_huffman_tables: bool,
}

/// Walks the marker segments from SOI to the first SOS.
pub(crate) fn read_header(jpeg: &[u8]) -> Result<JpegHeader, &'static str> {
    if jpeg.get(..2) != Some(&[0xFF, SOI]) {
        return Err("does not start with SOI");
    }
    let mut size = None;
    let mut has_huffman_tables = false;
    let mut pos = 2;
    loop {
        let marker = loop {
            match jpeg.get(pos..pos + 2) {
                Some([0xFF, 0xFF]) => pos += 1,
                Some([0xFF, m]) => break *m,
                Some(_) => return Err("expected a marker"),
                None => return Err("ends before the image data"),
            }
        };
        if marker == SOS {
            let (width, height) = size.ok_or("no frame header before the image data")?;
            return Ok(JpegHeader {
                width,
                height,
                scan_offset: pos,
                has_huffman_tables,
            });
        }
        pos += 2;
        if is_standalone(marker) {
            continue;
        }
        if marker == EOI {
            return Err("ends before the image data");
        }
        let length = match jpeg.get(pos..pos + 2) {
            Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return Err("ends inside a segment"),
        };
        if length < 2 {
            return Err("segment length below 2");
        }
        if is_start_of_frame(marker) {
            // Precision, height and width must lie inside the segment, not in what follows.
            if length < 7 {
                return Err("frame header too short");
            }
            match jpeg.get(pos + 3..pos + 7) {
                Some(&[h1, h0, w1, w0]) => {
                    size = Some((u16::from_be_bytes([w1, w0]), u16::from_be_bytes([h1, h0])));
                }
                _ => return Err("truncated frame header"),
            }
        }
        has_huffman_tables |= marker == DHT;
        pos += length;
    }
}

/// Where one image lies in a stream, and its size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JpegSpan {
    /// Offset of its SOI marker.
    pub start: u64,
    /// Bytes from SOI through EOI inclusive.
    pub len: u64,
    /// Width from the SOF header.
    pub width: u16,
    /// Height from the SOF header.
    pub height: u16,
}

/// Why a stream stopped yielding images.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScanError {
    /// The stream ended inside an image.
    #[error("the last image is cut short")]
    Truncated,
    /// The bytes after an SOI are not a JPEG image.
    #[error("{0} (at byte {1})")]
    Malformed(&'static str, u64),
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Finds successive JPEG images in a buffered byte stream.
pub(crate) struct JpegScanner<R> {
    reader: R,
    pos: u64,
}

impl<R: BufRead> JpegScanner<R> {
    /// Scans `reader` from its current position, counted as offset 0.
    pub fn new(reader: R) -> Self {
        JpegScanner { reader, pos: 0 }
    }

    /// The next image, or `None` when the stream ends between images.
    pub fn next_image(&mut self) -> Result<Option<JpegSpan>, ScanError> {
        if !self.seek_soi()? {
            return Ok(None);
        }
        let start = self.pos - 2;
        let mut size = None;
        let mut scanned = false;
        let mut next_marker = self.read_marker()?;
        loop {
            let marker = next_marker;
            match marker {
                EOI => {
                    // A scan comes after the frame header, so `scanned` implies a size.
                    let (width, height) = size
                        .filter(|_| scanned)
                        .ok_or(ScanError::Malformed("no image data", start))?;
                    return Ok(Some(JpegSpan {
                        start,
                        len: self.pos - start,
                        width,
                        height,
                    }));
                }
                SOI => return Err(ScanError::Malformed("SOI inside an image", self.pos)),
                m if is_standalone(m) => next_marker = self.read_marker()?,
                m => {
                    let length = self.read_u16()?;
                    if length < 2 {
                        return Err(ScanError::Malformed("segment length below 2", self.pos));
                    }
                    let mut rest = u64::from(length) - 2;
                    // One frame header per image, before its first scan, as `read_header`
                    // and decoders read it; anything else gives the image two sizes.
                    if is_start_of_frame(m) && size.is_some() {
                        return Err(ScanError::Malformed("a second frame header", self.pos));
                    }
                    if m == SOS && size.is_none() {
                        return Err(ScanError::Malformed(
                            "a scan before the frame header",
                            self.pos,
                        ));
                    }
                    scanned |= m == SOS;
                    if is_start_of_frame(m) && rest < 5 {
                        return Err(ScanError::Malformed("frame header too short", self.pos));
                    }
                    if is_start_of_frame(m) {
                        self.byte()?;
                        let height = self.read_u16()?;
                        let width = self.read_u16()?;
                        size = Some((width, height));
                        rest -= 5;
                    }
                    self.skip(rest)?;
                    next_marker = if m == SOS {
                        self.scan_entropy_data()?
                    } else {
                        self.read_marker()?
                    };
                }
            }
        }
    }

    /// Skips to just after the next `FF D8`; false if the stream ends first.
    fn seek_soi(&mut self) -> Result<bool, ScanError> {
        let mut previous_ff = false;
        loop {
            let Some(byte) = self.try_byte()? else {
                return Ok(false);
            };
            if previous_ff && byte == SOI {
                return Ok(true);
            }
            previous_ff = byte == 0xFF;
        }
    }

    /// Reads `FF xx` (after any fill bytes) and returns `xx`.
    fn read_marker(&mut self) -> Result<u8, ScanError> {
        if self.byte()? != 0xFF {
            return Err(ScanError::Malformed("expected a marker", self.pos - 1));
        }
        loop {
            match self.byte()? {
                0xFF => continue,
                marker => return Ok(marker),
            }
        }
    }

    /// Skips entropy-coded data and returns the marker that ends it.
    fn scan_entropy_data(&mut self) -> Result<u8, ScanError> {
        loop {
            self.skip_to_ff()?;
            self.byte()?;
            let mut marker = self.byte()?;
            while marker == 0xFF {
                marker = self.byte()?;
            }
            if marker != 0x00 && !(0xD0..=0xD7).contains(&marker) {
                return Ok(marker);
            }
        }
    }

    /// Advances to the next `FF` byte without consuming it, a buffer at a time.
    fn skip_to_ff(&mut self) -> Result<(), ScanError> {
        loop {
            let buffer = self.reader.fill_buf()?;
            if buffer.is_empty() {
                return Err(ScanError::Truncated);
            }
            let (advance, found) = match buffer.iter().position(|&b| b == 0xFF) {
                Some(at) => (at, true),
                None => (buffer.len(), false),
            };
            self.reader.consume(advance);
            self.pos += advance as u64;
            if found {
                return Ok(());
            }
        }
    }

    fn read_u16(&mut self) -> Result<u16, ScanError> {
        Ok(u16::from_be_bytes([self.byte()?, self.byte()?]))
    }

    fn byte(&mut self) -> Result<u8, ScanError> {
        self.try_byte()?.ok_or(ScanError::Truncated)
    }

    fn try_byte(&mut self) -> Result<Option<u8>, ScanError> {
        let byte = self.reader.fill_buf()?.first().copied();
        if byte.is_some() {
            self.reader.consume(1);
            self.pos += 1;
        }
        Ok(byte)
    }

    fn skip(&mut self, mut count: u64) -> Result<(), ScanError> {
        while count > 0 {
            let available = self.reader.fill_buf()?.len();
            if available == 0 {
                return Err(ScanError::Truncated);
            }
            let step = available.min(usize::try_from(count).unwrap_or(usize::MAX));
            self.reader.consume(step);
            self.pos += step as u64;
            count -= step as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny but structurally complete JPEG: SOI, an APP1 segment holding `app1` (which
    /// may contain its own SOI/EOI, like an EXIF thumbnail), SOF0 with the size, SOS, the
    /// given entropy bytes, EOI. Not decodable; the scanner only reads structure.
    pub fn synthetic_jpeg(width: u16, height: u16, app1: &[u8], entropy: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, SOI];
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&(app1.len() as u16 + 2).to_be_bytes());
        out.extend_from_slice(app1);
        out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
        out.extend_from_slice(&[0xFF, SOS, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
        out.extend_from_slice(entropy);
        out.extend_from_slice(&[0xFF, EOI]);
        out
    }

    fn scan_all(bytes: &[u8]) -> Result<Vec<JpegSpan>, ScanError> {
        let mut scanner = JpegScanner::new(bytes);
        let mut spans = Vec::new();
        while let Some(span) = scanner.next_image()? {
            spans.push(span);
        }
        Ok(spans)
    }

    #[test]
    fn reads_dimensions_from_the_frame_header() {
        let jpeg = synthetic_jpeg(640, 480, b"Exif", &[1, 2, 3]);
        assert_eq!(jpeg_dimensions(&jpeg), Ok((640, 480)));
        assert!(jpeg_dimensions(b"GIF89a").is_err());
        assert!(jpeg_dimensions(&jpeg[..8]).is_err());
        let header = read_header(&jpeg).unwrap();
        assert_eq!(
            &jpeg[header.scan_offset..header.scan_offset + 2],
            [0xFF, SOS]
        );
        assert!(!header.has_huffman_tables);
    }

    #[test]
    fn finds_images_between_multipart_headers() {
        let a = synthetic_jpeg(160, 120, b"a", &[0x12, 0xFF, 0x00, 0x34]);
        let b = synthetic_jpeg(320, 240, b"b", &[0x56]);
        let mut stream = b"--video boundary--\r\nContent-Length: 99\r\n\r\n".to_vec();
        let a_start = stream.len() as u64;
        stream.extend_from_slice(&a);
        stream.extend_from_slice(b"\r\n\r\n--video boundary--\r\n\r\n");
        let b_start = stream.len() as u64;
        stream.extend_from_slice(&b);
        stream.extend_from_slice(b"\r\n");

        let spans = scan_all(&stream).unwrap();
        assert_eq!(
            spans,
            vec![
                JpegSpan {
                    start: a_start,
                    len: a.len() as u64,
                    width: 160,
                    height: 120
                },
                JpegSpan {
                    start: b_start,
                    len: b.len() as u64,
                    width: 320,
                    height: 240
                },
            ]
        );
    }

    #[test]
    fn an_embedded_thumbnail_does_not_end_the_image() {
        let thumbnail = synthetic_jpeg(16, 16, b"", &[0x00]);
        let outer = synthetic_jpeg(640, 480, &thumbnail, &[0x11, 0x22]);
        let spans = scan_all(&outer).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].len, outer.len() as u64);
        assert_eq!((spans[0].width, spans[0].height), (640, 480));
    }

    #[test]
    fn stuffing_restart_and_fill_bytes_are_image_data() {
        let entropy = [
            0x01, 0xFF, 0x00, 0x02, 0xFF, 0xD3, 0x03, 0xFF, 0xFF, 0xD5, 0x04,
        ];
        let jpeg = synthetic_jpeg(8, 8, b"", &entropy);
        let spans = scan_all(&jpeg).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].len, jpeg.len() as u64);
    }

    #[test]
    fn an_image_with_a_second_frame_header_is_malformed() {
        // Found by fuzzing (fuzz/seeds/camera_frames/regression_two_frame_headers.mjpeg):
        // the scanner took the last frame header, read_header the first.
        let first = synthetic_jpeg(38, 16, b"", &[0x01]);
        let second = synthetic_jpeg(16, 16, b"", &[0x02]);
        let eoi_of_first = first.len() - 2;
        let frame_and_scan_of_second = second.iter().position(|&b| b == 0xC0).expect("SOF0") - 1;
        let mut joined = first[..eoi_of_first].to_vec();
        joined.extend_from_slice(&second[frame_and_scan_of_second..]);
        assert_eq!(jpeg_dimensions(&joined), Ok((38, 16)));
        assert!(matches!(
            scan_all(&joined),
            Err(ScanError::Malformed("a second frame header", _))
        ));
    }

    #[test]
    fn an_image_with_a_scan_before_its_frame_header_is_malformed() {
        // Found by fuzzing (fuzz/seeds/camera_frames/regression_scan_before_frame_header.jpg).
        let jpeg = synthetic_jpeg(16, 16, b"", &[0x01]);
        let sof = jpeg.iter().position(|&b| b == 0xC0).expect("SOF0") - 1;
        let sos = jpeg.iter().position(|&b| b == SOS).expect("SOS") - 1;
        let mut early_scan = jpeg[..sof].to_vec();
        early_scan.extend_from_slice(&jpeg[sos..sos + 10]);
        early_scan.extend_from_slice(&jpeg[sof..]);
        assert!(jpeg_dimensions(&early_scan).is_err());
        assert!(matches!(
            scan_all(&early_scan),
            Err(ScanError::Malformed("a scan before the frame header", _))
        ));
    }

    #[test]
    fn an_image_without_a_scan_is_malformed() {
        // Found by fuzzing (fuzz/seeds/camera_frames/regression_no_scan.jpg).
        let jpeg = synthetic_jpeg(16, 16, b"", &[0x01]);
        let sos = jpeg.iter().position(|&b| b == SOS).expect("SOS") - 1;
        let mut no_scan = jpeg[..sos].to_vec();
        no_scan.extend_from_slice(&[0xFF, EOI]);
        assert!(jpeg_dimensions(&no_scan).is_err());
        assert!(matches!(
            scan_all(&no_scan),
            Err(ScanError::Malformed("no image data", _))
        ));
    }

    #[test]
    fn a_frame_header_too_short_for_the_size_is_refused() {
        // Found by fuzzing (fuzz/seeds/camera_frames/regression_short_frame_header.jpg):
        // the size was read from the bytes after the segment.
        let short = [
            0xFF, SOI, 0xFF, 0xC0, 0x00, 0x03, 0x29, 0xFF, SOS, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00,
            0x3F, 0x00, 0xFF, EOI,
        ];
        assert_eq!(jpeg_dimensions(&short), Err("frame header too short"));
        assert!(matches!(scan_all(&short), Err(ScanError::Malformed(..))));
        // Nor may a later, whole frame header stand in for it
        // (regression_short_then_whole_frame_header.jpg).
        let whole = synthetic_jpeg(16, 16, b"", &[0x01]);
        let mut both = short[..7].to_vec();
        both.extend_from_slice(&whole[2..]);
        assert_eq!(jpeg_dimensions(&both), Err("frame header too short"));
        assert!(matches!(
            scan_all(&both),
            Err(ScanError::Malformed("frame header too short", _))
        ));
    }

    #[test]
    fn a_cut_short_image_is_reported() {
        let jpeg = synthetic_jpeg(8, 8, b"", &[1, 2, 3]);
        let cut = &jpeg[..jpeg.len() - 3];
        assert!(matches!(scan_all(cut), Err(ScanError::Truncated)));
    }

    #[test]
    fn garbage_after_soi_is_malformed() {
        let bytes = [0xFF, SOI, 0x12, 0x34, 0x56];
        assert!(matches!(scan_all(&bytes), Err(ScanError::Malformed(..))));
    }

    #[test]
    fn scans_a_real_encoded_jpeg_to_its_end() {
        let mut jpeg = Vec::new();
        let pixels: Vec<u8> = (0..64 * 48 * 3).map(|i| (i * 7 % 251) as u8).collect();
        jpeg_encoder::Encoder::new(&mut jpeg, 80)
            .encode(&pixels, 64, 48, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let spans = scan_all(&jpeg).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].len, jpeg.len() as u64);
        assert_eq!((spans[0].width, spans[0].height), (64, 48));
    }
}
