//! The packetizer against real JPEGs: each frame is cut into packets, reassembled by a
//! receiver written from RFC 2435 (section 3 and appendix B's MakeHeaders, not from the
//! packetizer), decoded, and compared pixel for pixel with the original's decoding.

use super::*;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// A 640x480 picture with detail in every channel, so that chroma errors would show.
fn picture() -> Vec<u8> {
    let (width, height) = (640usize, 480usize);
    let mut rgb = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            rgb.extend_from_slice(&[
                (x * 255 / width) as u8,
                (y * 255 / height) as u8,
                ((x ^ y) & 0xFF) as u8,
            ]);
        }
    }
    rgb
}

fn encode(sampling: SamplingFactor, restart_interval: u16, quality: u8) -> Vec<u8> {
    let mut jpeg = Vec::new();
    let mut encoder = Encoder::new(&mut jpeg, quality);
    encoder.set_sampling_factor(sampling);
    encoder.set_restart_interval(restart_interval);
    encoder
        .encode(&picture(), 640, 480, ColorType::Rgb)
        .expect("encode");
    jpeg
}

fn decode(jpeg: &[u8]) -> Vec<u8> {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let pixels = decoder.decode().expect("decodable JPEG");
    let info = decoder.info().expect("info");
    assert_eq!((info.width, info.height), (640, 480));
    pixels
}

/// The receiver's side: RTP payloads of one frame in, a complete JPEG out.
fn depacketize(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut scan = Vec::new();
    let mut tables: Option<Vec<u8>> = None;
    let (mut kind, mut width, mut height, mut dri) = (0u8, 0u16, 0u16, 0u16);
    for payload in payloads {
        let offset = u32::from_be_bytes([0, payload[1], payload[2], payload[3]]) as usize;
        kind = payload[4];
        let q = payload[5];
        width = u16::from(payload[6]) * 8;
        height = u16::from(payload[7]) * 8;
        let mut at = 8;
        if kind >= 64 {
            dri = u16::from_be_bytes([payload[8], payload[9]]);
            at += 4;
        }
        if q >= 128 && offset == 0 {
            let len = usize::from(u16::from_be_bytes([payload[at + 2], payload[at + 3]]));
            assert_eq!(payload[at + 1], 0, "8-bit tables");
            tables = Some(payload[at + 4..at + 4 + len].to_vec());
            at += 4 + len;
        }
        assert_eq!(offset, scan.len(), "fragments arrive in order without gaps");
        scan.extend_from_slice(&payload[at..]);
    }
    let tables = tables.expect("tables in the first packet");
    let mut jpeg = make_headers(kind & 0x3F, width, height, &tables, dri);
    jpeg.extend_from_slice(&scan);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    jpeg
}

/// RFC 2435 appendix B's MakeHeaders: SOI, DQT, DRI, SOF0, the four Annex K Huffman
/// tables, SOS.
fn make_headers(kind: u8, width: u16, height: u16, tables: &[u8], dri: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    for (id, table) in tables.chunks(64).enumerate() {
        out.extend_from_slice(&[0xFF, 0xDB, 0, 67, id as u8]);
        out.extend_from_slice(table);
    }
    if dri > 0 {
        out.extend_from_slice(&[0xFF, 0xDD, 0, 4]);
        out.extend_from_slice(&dri.to_be_bytes());
    }
    let luma_sampling = if kind == 0 { 0x21 } else { 0x22 };
    out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    // Components 0, 1, 2: luma on table 0, chroma on table 1.
    out.extend_from_slice(&[3, 0, luma_sampling, 0, 1, 0x11, 1, 2, 0x11, 1]);
    let huffman: [(u8, usize); 4] = [(0x00, 0), (0x10, 2), (0x01, 1), (0x11, 3)];
    for (class_id, index) in huffman {
        let (lengths, values) = STANDARD_HUFFMAN[index];
        let len = 2 + 1 + 16 + values.len();
        out.extend_from_slice(&[0xFF, 0xC4]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.push(class_id);
        out.extend_from_slice(lengths);
        out.extend_from_slice(values);
    }
    out.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 0, 0x00, 1, 0x11, 2, 0x11, 0, 63, 0]);
    out
}

/// The payloads a viewer receives: payload headers then the scan bytes of each packet.
fn payloads(jpeg: &[u8], packetized: &Packetized) -> Vec<Vec<u8>> {
    packetized
        .packets()
        .iter()
        .map(|p| {
            let mut payload = packetized.headers()[p.header.clone()].to_vec();
            payload.extend_from_slice(&jpeg[p.scan.clone()]);
            payload
        })
        .collect()
}

fn round_trip(sampling: SamplingFactor, restart_interval: u16, expected_kind: u8) {
    let jpeg = encode(sampling, restart_interval, 80);
    let mut packetized = Packetized::new();
    packetized
        .fill(&jpeg, DEFAULT_MAX_PAYLOAD)
        .expect("packetize");
    assert_eq!(packetized.info().kind, expected_kind);
    assert_eq!(
        (packetized.info().width, packetized.info().height),
        (640, 480)
    );
    let payloads = payloads(&jpeg, &packetized);
    assert!(payloads.len() > 3, "a frame takes several packets");
    assert!(payloads.iter().all(|p| p.len() <= DEFAULT_MAX_PAYLOAD));
    let rebuilt = depacketize(&payloads);
    assert_eq!(decode(&rebuilt), decode(&jpeg), "same pixels after RTP");
}

#[test]
fn a_420_frame_survives_the_round_trip() {
    round_trip(SamplingFactor::F_2_2, 0, 1);
}

#[test]
fn a_422_frame_survives_the_round_trip() {
    round_trip(SamplingFactor::F_2_1, 0, 0);
}

#[test]
fn restart_intervals_travel_as_types_64_and_65() {
    round_trip(SamplingFactor::F_2_2, 4, 65);
    round_trip(SamplingFactor::F_2_1, 1, 64);
}

#[test]
fn the_tables_sent_are_the_frames_own() {
    // A low quality scales the tables far from the standard ones: the receiver must get
    // them in-band, byte for byte.
    let jpeg = encode(SamplingFactor::F_2_2, 0, 20);
    let mut packetized = Packetized::new();
    packetized.fill(&jpeg, DEFAULT_MAX_PAYLOAD).unwrap();
    let first = &packetized.packets()[0];
    let header = &packetized.headers()[first.header.clone()];
    assert_eq!(header[5], 255, "Q = 255: tables in-band");
    assert_eq!(&header[8..12], &[0, 0, 0, 128]);
    let dqt = jpeg.windows(2).position(|w| w == [0xFF, 0xDB]).unwrap();
    assert_eq!(&header[12..76], &jpeg[dqt + 5..dqt + 69], "luma table");
    let rebuilt = depacketize(&payloads(&jpeg, &packetized));
    assert_eq!(decode(&rebuilt), decode(&jpeg));
}

#[test]
fn only_the_first_packet_carries_tables_and_offsets_follow_the_scan() {
    let jpeg = encode(SamplingFactor::F_2_2, 0, 80);
    let mut packetized = Packetized::new();
    packetized.fill(&jpeg, 1000).unwrap();
    let mut expected_offset = 0;
    for (n, packet) in packetized.packets().iter().enumerate() {
        let header = &packetized.headers()[packet.header.clone()];
        assert_eq!(header.len(), if n == 0 { 8 + 4 + 128 } else { 8 });
        let offset = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        assert_eq!(offset, expected_offset);
        expected_offset += packet.scan.len();
    }
    let last = packetized.packets().last().unwrap();
    assert_eq!(&jpeg[last.scan.end..], &[0xFF, 0xD9], "EOI is not sent");
}

#[test]
fn refill_reuses_the_buffers() {
    let jpeg = encode(SamplingFactor::F_2_2, 0, 80);
    let mut packetized = Packetized::new();
    packetized.fill(&jpeg, DEFAULT_MAX_PAYLOAD).unwrap();
    let (headers, packets) = (
        packetized.headers.as_ptr(),
        packetized.packets.as_ptr() as usize,
    );
    packetized.fill(&jpeg, DEFAULT_MAX_PAYLOAD).unwrap();
    assert_eq!(packetized.headers.as_ptr(), headers);
    assert_eq!(packetized.packets.as_ptr() as usize, packets);
}

#[test]
fn frames_the_format_cannot_carry_are_refused_with_a_reason() {
    let mut packetized = Packetized::new();
    let jpeg = encode(SamplingFactor::F_1_1, 0, 80);
    assert_eq!(
        packetized.fill(&jpeg, DEFAULT_MAX_PAYLOAD),
        Err(PayloadError::Sampling {
            luma: 0x11,
            chroma: 0x11
        })
    );
    assert!(packetized.packets().is_empty());

    let mut optimized = Vec::new();
    let mut encoder = Encoder::new(&mut optimized, 80);
    encoder.set_optimized_huffman_tables(true);
    encoder
        .encode(&picture(), 640, 480, ColorType::Rgb)
        .unwrap();
    assert_eq!(
        packetized.fill(&optimized, DEFAULT_MAX_PAYLOAD),
        Err(PayloadError::CustomHuffman)
    );

    assert_eq!(
        packetized.fill(b"GIF89a", DEFAULT_MAX_PAYLOAD),
        Err(PayloadError::NotJpeg)
    );
    let jpeg = encode(SamplingFactor::F_2_2, 0, 80);
    let cut = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    assert!(matches!(
        packetized.fill(&jpeg[..cut], DEFAULT_MAX_PAYLOAD),
        Err(PayloadError::Truncated(_))
    ));

    let mut progressive = jpeg.clone();
    let sof = progressive
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .unwrap();
    progressive[sof + 1] = 0xC2;
    assert_eq!(
        packetized.fill(&progressive, DEFAULT_MAX_PAYLOAD),
        Err(PayloadError::NotBaseline(2))
    );
}
