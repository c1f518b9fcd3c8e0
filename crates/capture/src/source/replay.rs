//! The replay source: a "virtual camera" that loops recorded JPEG frames.
//!
//! NVR integrators point their software at it to test against known pictures. It serves
//! the very bytes of the recording, never a re-encode, so image settings (resolution,
//! compression, picture controls, mirror) cannot apply; only the frame rate does, through
//! the capture thread's pacing. Frames are read from disk one at a time into the ring's
//! slot (one copy, no allocation once the slot has grown), so a long recording costs disk,
//! not memory.
//!
//! A path is either a folder of `*.jpg`/`*.jpeg` files, played in name order, or one file
//! of concatenated JPEG images (an `.mjpeg` recording, with or without multipart headers
//! between the images), indexed once at open.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::jpeg::{jpeg_dimensions, JpegScanner, JpegSpan};
use super::{FrameInfo, FrameSource};
use crate::{CaptureError, ImageSettings};

/// Loops the JPEG images of a folder or of one concatenated file.
#[derive(Debug)]
pub struct Replay {
    path: PathBuf,
    frames: Frames,
    next: usize,
}

#[derive(Debug)]
enum Frames {
    Folder(Vec<PathBuf>),
    Concatenated { file: File, spans: Vec<JpegSpan> },
}

impl Replay {
    /// Opens a folder of JPEG files or a file of concatenated JPEG images. Fails, naming
    /// the path, if it cannot be read or holds no image.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let open_error = |source| CaptureError::Open {
            path: path.clone(),
            source,
        };
        let metadata = fs::metadata(&path).map_err(open_error)?;
        let frames = if metadata.is_dir() {
            Frames::Folder(list_jpeg_files(&path).map_err(open_error)?)
        } else {
            let file = File::open(&path).map_err(open_error)?;
            let spans = index_images(&file, &path)?;
            Frames::Concatenated { file, spans }
        };
        let replay = Replay {
            path,
            frames,
            next: 0,
        };
        if replay.frame_count() == 0 {
            return Err(CaptureError::NoFrames { path: replay.path });
        }
        Ok(replay)
    }

    /// How many images one loop plays.
    pub fn frame_count(&self) -> usize {
        match &self.frames {
            Frames::Folder(files) => files.len(),
            Frames::Concatenated { spans, .. } => spans.len(),
        }
    }

    fn read_file(file_path: &Path, jpeg: &mut Vec<u8>) -> Result<(u16, u16), CaptureError> {
        let read_error = |source| CaptureError::Read {
            path: file_path.to_path_buf(),
            source,
        };
        let mut file = File::open(file_path).map_err(read_error)?;
        let length = file.metadata().map_err(read_error)?.len();
        jpeg.reserve(usize::try_from(length).unwrap_or(0));
        file.read_to_end(jpeg).map_err(read_error)?;
        jpeg_dimensions(jpeg).map_err(|reason| CaptureError::InvalidJpeg {
            path: file_path.to_path_buf(),
            reason,
        })
    }

    fn read_span(
        &self,
        file: &File,
        span: JpegSpan,
        jpeg: &mut Vec<u8>,
    ) -> Result<(u16, u16), CaptureError> {
        let length = usize::try_from(span.len).expect("an indexed image fits in memory");
        jpeg.resize(length, 0);
        file.read_exact_at(jpeg, span.start)
            .map_err(|source| CaptureError::Read {
                path: self.path.clone(),
                source,
            })?;
        Ok((span.width, span.height))
    }
}

impl FrameSource for Replay {
    fn describe(&self) -> String {
        format!(
            "replay {} ({} frames)",
            self.path.display(),
            self.frame_count()
        )
    }

    fn apply(&mut self, _settings: &ImageSettings) -> Result<(), CaptureError> {
        // Recorded bytes are served as they are; the frame rate is the capture thread's.
        Ok(())
    }

    fn native_fps(&self) -> Option<f64> {
        None
    }

    fn next_frame(&mut self, jpeg: &mut Vec<u8>) -> Result<FrameInfo, CaptureError> {
        let index = self.next;
        self.next = (index + 1) % self.frame_count();
        let captured_at = SystemTime::now();
        let (width, height) = match &self.frames {
            Frames::Folder(files) => Self::read_file(&files[index], jpeg)?,
            Frames::Concatenated { file, spans } => self.read_span(file, spans[index], jpeg)?,
        };
        Ok(FrameInfo {
            width,
            height,
            captured_at,
        })
    }
}

/// The `*.jpg`/`*.jpeg` files (any case) directly in `folder`, sorted by name.
fn list_jpeg_files(folder: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(folder)? {
        let path = entry?.path();
        let is_jpeg = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"));
        if is_jpeg && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Finds every complete image in a concatenated file. A cut-short last image (a recording
/// stopped mid-frame) is left out with a warning; anything else malformed is an error.
fn index_images(file: &File, path: &Path) -> Result<Vec<JpegSpan>, CaptureError> {
    let mut scanner = JpegScanner::new(BufReader::with_capacity(64 * 1024, file));
    let mut spans = Vec::new();
    loop {
        match scanner.next_image() {
            Ok(Some(span)) => spans.push(span),
            Ok(None) => return Ok(spans),
            Err(super::jpeg::ScanError::Truncated) => {
                log::warn!("{}: last image is cut short, skipping it", path.display());
                return Ok(spans);
            }
            Err(super::jpeg::ScanError::Io(source)) => {
                return Err(CaptureError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
            Err(malformed) => {
                log::warn!("{}: {malformed}", path.display());
                return Err(CaptureError::InvalidJpeg {
                    path: path.to_path_buf(),
                    reason: "malformed image in the concatenated file",
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::jpeg::tests::synthetic_jpeg;
    use super::*;

    fn frames(count: u16) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| {
                synthetic_jpeg(
                    160 + i,
                    120 + i,
                    &i.to_be_bytes(),
                    &[0x10, 0xFF, 0x00, i as u8],
                )
            })
            .collect()
    }

    fn play(replay: &mut Replay, count: usize) -> Vec<(Vec<u8>, u16, u16)> {
        (0..count)
            .map(|_| {
                let mut jpeg = Vec::new();
                let info = replay.next_frame(&mut jpeg).unwrap();
                (jpeg, info.width, info.height)
            })
            .collect()
    }

    #[test]
    fn a_folder_plays_its_files_byte_for_byte_in_name_order_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        let originals = frames(3);
        // Written out of order, with a non-JPEG file that must be ignored.
        for (i, name) in [(2, "c.jpg"), (0, "a.JPG"), (1, "b.jpeg")] {
            fs::write(dir.path().join(name), &originals[i]).unwrap();
        }
        fs::write(dir.path().join("notes.txt"), b"not a frame").unwrap();

        let mut replay = Replay::open(dir.path()).unwrap();
        assert_eq!(replay.frame_count(), 3);
        let played = play(&mut replay, 4);
        for (i, (jpeg, width, height)) in played.iter().enumerate() {
            let original = &originals[i % 3];
            assert_eq!(jpeg, original, "frame {i}");
            assert_eq!(
                (*width, *height),
                (160 + (i % 3) as u16, 120 + (i % 3) as u16)
            );
        }
    }

    #[test]
    fn a_concatenated_file_plays_each_image_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let originals = frames(3);
        let mut mjpeg = Vec::new();
        for frame in &originals {
            mjpeg.extend_from_slice(b"--video boundary--\r\nContent-Type: image/jpeg\r\n\r\n");
            mjpeg.extend_from_slice(frame);
            mjpeg.extend_from_slice(b"\r\n\r\n");
        }
        let path = dir.path().join("clip.mjpeg");
        fs::write(&path, &mjpeg).unwrap();

        let mut replay = Replay::open(&path).unwrap();
        assert_eq!(replay.frame_count(), 3);
        let played: Vec<Vec<u8>> = play(&mut replay, 6).into_iter().map(|p| p.0).collect();
        let expected: Vec<Vec<u8>> = originals.iter().chain(&originals).cloned().collect();
        assert_eq!(played, expected);
    }

    #[test]
    fn a_real_encoded_jpeg_decodes_after_replay() {
        let dir = tempfile::tempdir().unwrap();
        let mut jpeg = Vec::new();
        let pixels = vec![200u8; 32 * 16 * 3];
        jpeg_encoder::Encoder::new(&mut jpeg, 75)
            .encode(&pixels, 32, 16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let path = dir.path().join("two.mjpeg");
        fs::write(&path, [jpeg.clone(), jpeg.clone()].concat()).unwrap();
        let mut replay = Replay::open(&path).unwrap();
        let (bytes, width, height) = play(&mut replay, 1).remove(0);
        assert_eq!(bytes, jpeg);
        assert_eq!((width, height), (32, 16));
        let mut decoder = jpeg_decoder::Decoder::new(&bytes[..]);
        decoder.decode().unwrap();
        assert_eq!(decoder.info().map(|i| (i.width, i.height)), Some((32, 16)));
    }

    #[test]
    fn empty_folders_and_files_without_images_are_errors_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = Replay::open(dir.path()).unwrap_err();
        assert!(matches!(err, CaptureError::NoFrames { .. }), "{err:?}");
        assert!(err.to_string().contains(&dir.path().display().to_string()));

        let text = dir.path().join("readme.mjpeg");
        fs::write(&text, b"no images here").unwrap();
        let err = Replay::open(&text).unwrap_err();
        assert!(matches!(err, CaptureError::NoFrames { .. }), "{err:?}");
    }

    #[test]
    fn a_cut_short_last_image_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let originals = frames(2);
        let mut bytes = originals[0].clone();
        bytes.extend_from_slice(&originals[1][..originals[1].len() / 2]);
        let path = dir.path().join("cut.mjpeg");
        fs::write(&path, bytes).unwrap();
        let mut replay = Replay::open(&path).unwrap();
        assert_eq!(replay.frame_count(), 1);
        assert_eq!(play(&mut replay, 1)[0].0, originals[0]);
    }

    #[test]
    fn a_bad_file_in_a_folder_is_an_error_for_that_frame_only() {
        let dir = tempfile::tempdir().unwrap();
        let good = frames(1).remove(0);
        fs::write(dir.path().join("1.jpg"), b"not a jpeg").unwrap();
        fs::write(dir.path().join("2.jpg"), &good).unwrap();
        let mut replay = Replay::open(dir.path()).unwrap();
        let mut jpeg = Vec::new();
        let err = replay.next_frame(&mut jpeg).unwrap_err();
        assert!(err.to_string().contains("1.jpg"), "{err}");
        jpeg.clear();
        replay.next_frame(&mut jpeg).unwrap();
        assert_eq!(jpeg, good);
    }
}
