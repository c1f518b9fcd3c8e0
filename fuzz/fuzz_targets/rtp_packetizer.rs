//! RFC 2435 packetization of any bytes as a camera frame: a frame the format cannot carry
//! is refused, never a panic; an accepted one is laid out as packets that stay within the
//! payload size, cover the scan once in order, and lie inside the frame.

#![no_main]

use ipcam_rtsp::payload::Packetized;
use libfuzzer_sys::fuzz_target;

/// The server's RTP payload size.
const MAX_PAYLOAD: usize = 1400;

fuzz_target!(|data: &[u8]| {
    let mut frame = Packetized::new();
    if frame.fill(data, MAX_PAYLOAD).is_err() {
        assert!(frame.packets().is_empty(), "a refused frame left packets");
        return;
    }
    let info = frame.info();
    assert!(
        info.width > 0 && info.width % 8 == 0 && info.width <= 2040,
        "{info:?}"
    );
    assert!(
        info.height > 0 && info.height % 8 == 0 && info.height <= 2040,
        "{info:?}"
    );
    let mut next = None;
    for packet in frame.packets() {
        assert!(packet.scan.end <= data.len(), "scan past the frame");
        assert!(packet.header.end <= frame.headers().len());
        assert!(
            packet.header.len() + packet.scan.len() <= MAX_PAYLOAD,
            "a packet over the payload size"
        );
        if let Some(expected) = next {
            assert_eq!(packet.scan.start, expected, "a gap or overlap in the scan");
        }
        next = Some(packet.scan.end);
    }
});
