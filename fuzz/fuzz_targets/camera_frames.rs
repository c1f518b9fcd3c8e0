//! JPEG frames from outside: a camera's MJPEG buffer (V4L2) and replay files of JPEGs or
//! MJPEG. A broken frame is refused with a reason, never a panic; a frame that is copied
//! into a ring slot is a JPEG whose header reads back with the same size and with Huffman
//! tables; a replay file either opens or is refused, and every frame it yields is a JPEG
//! of the size it reports.

#![no_main]

use ipcam_capture::harness::copy_camera_frame;
use ipcam_capture::source::{jpeg_dimensions, Replay};
use ipcam_capture::FrameSource;
use ipcam_fuzz::scratch_dir;
use libfuzzer_sys::fuzz_target;

/// Frames read from a replay per input: enough to wrap around a short file.
const REPLAY_FRAMES: usize = 4;

fuzz_target!(|data: &[u8]| {
    camera_buffer(data);
    replay_file(data);
});

fn camera_buffer(data: &[u8]) {
    let mut slot = Vec::new();
    let Ok(size) = copy_camera_frame(data, &mut slot) else {
        return;
    };
    assert_eq!(
        jpeg_dimensions(&slot),
        Ok(size),
        "the slot's header disagrees"
    );
    let mut again = Vec::new();
    assert_eq!(copy_camera_frame(&slot, &mut again), Ok(size));
    assert_eq!(again, slot, "a frame with tables is copied as it is");
}

fn replay_file(data: &[u8]) {
    let dir = scratch_dir();
    let path = dir.path().join("clip.mjpeg");
    std::fs::write(&path, data).expect("write the replay file");
    let Ok(mut replay) = Replay::open(&path) else {
        return;
    };
    let mut jpeg = Vec::new();
    for _ in 0..REPLAY_FRAMES {
        jpeg.clear();
        let Ok(info) = replay.next_frame(&mut jpeg) else {
            return;
        };
        assert_eq!(
            jpeg_dimensions(&jpeg),
            Ok((info.width, info.height)),
            "a replayed frame is not what its info says"
        );
    }
}
