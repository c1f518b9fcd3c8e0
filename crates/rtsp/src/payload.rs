//! The RTP payload format for JPEG (RFC 2435): a frame parsed once, cut into packets once.
//!
//! RFC 2435 carries only the entropy-coded scan of a baseline JPEG; the receiver rebuilds
//! the headers from a few fields (type, width/8, height/8, quantization tables, restart
//! interval) and the *standard* Huffman tables of JPEG Annex K. So a frame is checked
//! against what the format can express (baseline, 8-bit, three components with 4:2:2 or
//! 4:2:0 sampling, standard Huffman tables) and refused with a reason otherwise.
//!
//! **Quantization tables are always sent in-band (Q = 255).** Q 1..=99 would let the
//! receiver derive the tables from a quality factor, but only if the encoder scaled the
//! Annex K tables with exactly RFC 2435's formula and rounding, which no camera promises
//! (V4L2 MJPEG sensors ship their own tables), and the receiver's rounding then decides the
//! pixels. Q 128..=254 would let a receiver cache tables, but our tables change whenever
//! `CompressionRate` does. Q = 255 sends the frame's exact tables in the first packet of
//! every frame: 132 bytes on a frame of tens of kilobytes, and every decoder gets the same
//! pixels the encoder meant.
//!
//! **Restart markers** (a `DRI` segment) are carried as types 64/65 with a restart header.
//! Packets are not cut at restart boundaries, so the header says so the RFC's way (F = L =
//! 1, count 0x3FFF), which every receiver must accept.
//!
//! [`Packetized`] is filled once per frame and then only read: for each packet it holds
//! the payload header bytes and the byte range of the scan, so every viewer sends the
//! same bytes by reference and only its 12-byte RTP header differs. Its buffers are reused
//! from frame to frame: no allocation once they have grown to a frame's needs.

use std::ops::Range;

/// RTP payload type of JPEG (RFC 3551), clock rate 90 kHz.
pub const PAYLOAD_TYPE: u8 = 26;
/// RTP clock rate of JPEG.
pub const CLOCK_RATE: u32 = 90_000;
/// RTP payload bytes per packet (payload headers + scan) by default: a 1500-byte Ethernet
/// MTU less IPv4/IPv6, UDP and RTP headers, with room to spare for tunnels.
pub const DEFAULT_MAX_PAYLOAD: usize = 1400;
/// Q value meaning "the tables follow in-band, in this frame".
const Q_IN_BAND: u8 = 255;
/// Largest dimension the 8-bit width/8 and height/8 fields can express.
const MAX_DIMENSION: u16 = 2040;
/// Largest scan the 24-bit fragment offset can address.
const MAX_SCAN: usize = 1 << 24;

/// Why a frame cannot be sent as RFC 2435 JPEG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The data does not start with SOI.
    #[error("not a JPEG (no SOI marker)")]
    NotJpeg,
    /// A segment runs past the end, or no scan follows the headers.
    #[error("truncated JPEG: {0}")]
    Truncated(&'static str),
    /// Progressive, lossless or arithmetic coding.
    #[error("JPEG coding process SOF{0} is not baseline; RFC 2435 carries baseline only")]
    NotBaseline(u8),
    /// Samples of other than 8 bits.
    #[error("{0}-bit samples; RFC 2435 carries 8-bit only")]
    Precision(u8),
    /// Not representable in the 8-pixel units of the header.
    #[error("picture size {width}x{height}: RFC 2435 needs multiples of 8 up to 2040")]
    Size {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
    },
    /// Not three components.
    #[error("{0} colour components; RFC 2435 carries YCbCr (3)")]
    Components(u8),
    /// Not 4:2:2 or 4:2:0.
    #[error("chroma sampling is not 4:2:2 or 4:2:0 (luma {luma:#04x}, chroma {chroma:#04x})")]
    Sampling {
        /// Luma H/V sampling byte.
        luma: u8,
        /// First chroma component's H/V sampling byte.
        chroma: u8,
    },
    /// The two chroma components use different quantization tables.
    #[error("Cb and Cr use different quantization tables; RFC 2435 has one chroma table")]
    ChromaTables,
    /// A quantization table is 16-bit or used without being defined.
    #[error("quantization table {0} is missing or 16-bit")]
    QuantTable(u8),
    /// Huffman tables other than JPEG Annex K's, which receivers assume.
    #[error("the JPEG uses its own Huffman tables; RFC 2435 receivers assume the standard ones")]
    CustomHuffman,
    /// Not one interleaved scan of the three components.
    #[error("the scan is not one interleaved baseline scan of all three components")]
    Scan,
    /// More scan data than the 24-bit fragment offset reaches.
    #[error("scan of {0} bytes exceeds RFC 2435's 16 MiB")]
    TooLarge(usize),
}

/// The header fields of a frame as RFC 2435 sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameInfo {
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// RFC 2435 type: 0 (4:2:2), 1 (4:2:0), plus 64 with restart markers.
    pub kind: u8,
    /// Restart interval in MCUs (0 = none).
    pub restart_interval: u16,
}

/// One RTP packet's payload: header bytes in [`Packetized::headers`], then a scan range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketLayout {
    /// Range of this packet's payload headers in [`Packetized::headers`].
    pub header: Range<usize>,
    /// Range of this packet's scan bytes in the JPEG.
    pub scan: Range<usize>,
}

/// A frame cut into RFC 2435 packets. Fill it with [`Packetized::fill`]; reuse it.
#[derive(Debug, Default)]
pub struct Packetized {
    info: FrameInfo,
    headers: Vec<u8>,
    packets: Vec<PacketLayout>,
}

impl Packetized {
    /// An empty layout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `jpeg` and lays it out in packets of at most `max_payload` bytes (payload
    /// headers plus scan). On error the layout is left empty.
    pub fn fill(&mut self, jpeg: &[u8], max_payload: usize) -> Result<(), PayloadError> {
        self.headers.clear();
        self.packets.clear();
        let parsed = parse(jpeg)?;
        self.info = parsed.info;
        let scan_len = parsed.scan.len();
        let mut offset = 0;
        while offset < scan_len {
            let start = self.headers.len();
            self.push_main_header(offset);
            if parsed.info.restart_interval > 0 {
                self.headers
                    .extend_from_slice(&parsed.info.restart_interval.to_be_bytes());
                // F = L = 1 and count 0x3FFF: packets are not aligned to restart intervals.
                self.headers.extend_from_slice(&[0xFF, 0xFF]);
            }
            if offset == 0 {
                let [luma, chroma] = parsed.tables;
                // MBZ, precision 0 (8-bit tables), length 128.
                self.headers.extend_from_slice(&[0, 0, 0, 128]);
                self.headers.extend_from_slice(&jpeg[luma..luma + 64]);
                self.headers.extend_from_slice(&jpeg[chroma..chroma + 64]);
            }
            let header = start..self.headers.len();
            let room = max_payload.saturating_sub(header.len()).max(1);
            let len = room.min(scan_len - offset);
            let scan_start = parsed.scan.start + offset;
            self.packets.push(PacketLayout {
                header,
                scan: scan_start..scan_start + len,
            });
            offset += len;
        }
        Ok(())
    }

    fn push_main_header(&mut self, offset: usize) {
        let offset = (offset as u32).to_be_bytes();
        self.headers.extend_from_slice(&[
            0, // type-specific
            offset[1],
            offset[2],
            offset[3],
            self.info.kind,
            Q_IN_BAND,
            (self.info.width / 8) as u8,
            (self.info.height / 8) as u8,
        ]);
    }

    /// Clears the layout (e.g. after a frame was refused).
    pub fn clear(&mut self) {
        self.headers.clear();
        self.packets.clear();
    }

    /// The frame's header fields.
    pub fn info(&self) -> FrameInfo {
        self.info
    }

    /// All payload header bytes, indexed by [`PacketLayout::header`].
    pub fn headers(&self) -> &[u8] {
        &self.headers
    }

    /// The packets in order; the last one carries the RTP marker bit.
    pub fn packets(&self) -> &[PacketLayout] {
        &self.packets
    }

    /// Payload bytes of all packets (RTCP sender report's octet count).
    pub fn payload_len(&self) -> usize {
        self.packets
            .iter()
            .map(|p| p.header.len() + p.scan.len())
            .sum()
    }
}

/// What [`parse`] finds in a JPEG.
struct Parsed {
    info: FrameInfo,
    /// Offsets of the 64 bytes of the luma and chroma quantization tables.
    tables: [usize; 2],
    /// The entropy-coded data, without EOI.
    scan: Range<usize>,
}

/// One frame component of SOF.
#[derive(Clone, Copy, Default)]
struct Component {
    id: u8,
    sampling: u8,
    table: u8,
}

#[derive(Default)]
struct Headers {
    sof: Option<(u16, u16, [Component; 3])>,
    quant: [Option<usize>; 4],
    restart_interval: u16,
}

fn parse(jpeg: &[u8]) -> Result<Parsed, PayloadError> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(PayloadError::NotJpeg);
    }
    let mut headers = Headers::default();
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes (0xFF).
        while jpeg.get(at) == Some(&0xFF) && jpeg.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (jpeg.get(at), jpeg.get(at + 1)) else {
            return Err(PayloadError::Truncated("no scan after the headers"));
        };
        at += 2;
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            continue; // standalone markers without a length
        }
        let len = match jpeg.get(at..at + 2) {
            Some(bytes) => usize::from(u16::from_be_bytes([bytes[0], bytes[1]])),
            None => return Err(PayloadError::Truncated("segment length")),
        };
        let body = jpeg
            .get(at + 2..at + len.max(2))
            .ok_or(PayloadError::Truncated("segment"))?;
        let body_at = at + 2;
        at += len.max(2);
        match marker {
            0xC0 | 0xC1 => headers.sof = Some(frame_header(body)?),
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(PayloadError::NotBaseline(marker - 0xC0))
            }
            0xC4 => check_huffman(body)?,
            0xDB => quant_tables(body, body_at, &mut headers.quant)?,
            0xDD => {
                let ri = body.get(..2).ok_or(PayloadError::Truncated("DRI"))?;
                headers.restart_interval = u16::from_be_bytes([ri[0], ri[1]]);
            }
            0xDA => return finish(jpeg, &headers, body, at),
            0xD9 => return Err(PayloadError::Truncated("EOI before any scan")),
            _ => {} // APPn, COM and the like say nothing RFC 2435 carries
        }
    }
}

fn frame_header(body: &[u8]) -> Result<(u16, u16, [Component; 3]), PayloadError> {
    let fixed = body.get(..6).ok_or(PayloadError::Truncated("SOF"))?;
    if fixed[0] != 8 {
        return Err(PayloadError::Precision(fixed[0]));
    }
    let height = u16::from_be_bytes([fixed[1], fixed[2]]);
    let width = u16::from_be_bytes([fixed[3], fixed[4]]);
    if fixed[5] != 3 {
        return Err(PayloadError::Components(fixed[5]));
    }
    let mut components = [Component::default(); 3];
    for (n, component) in components.iter_mut().enumerate() {
        let c = body
            .get(6 + 3 * n..9 + 3 * n)
            .ok_or(PayloadError::Truncated("SOF components"))?;
        *component = Component {
            id: c[0],
            sampling: c[1],
            table: c[2],
        };
    }
    Ok((width, height, components))
}

fn quant_tables(
    mut body: &[u8],
    mut body_at: usize,
    quant: &mut [Option<usize>; 4],
) -> Result<(), PayloadError> {
    while let Some(&pq_tq) = body.first() {
        let (precision, id) = (pq_tq >> 4, pq_tq & 0x0F);
        let size = if precision == 0 { 64 } else { 128 };
        if body.len() < 1 + size || id > 3 {
            return Err(PayloadError::Truncated("DQT"));
        }
        quant[usize::from(id)] = (precision == 0).then_some(body_at + 1);
        body = &body[1 + size..];
        body_at += 1 + size;
    }
    Ok(())
}

/// Checks that every table of a DHT segment is the Annex K table of its class and slot.
fn check_huffman(mut body: &[u8]) -> Result<(), PayloadError> {
    while let Some(&tc_th) = body.first() {
        let lengths = body.get(1..17).ok_or(PayloadError::Truncated("DHT"))?;
        let count: usize = lengths.iter().map(|&n| usize::from(n)).sum();
        let values = body
            .get(17..17 + count)
            .ok_or(PayloadError::Truncated("DHT"))?;
        let standard = match tc_th {
            0x00 => STANDARD_HUFFMAN[0],
            0x01 => STANDARD_HUFFMAN[1],
            0x10 => STANDARD_HUFFMAN[2],
            0x11 => STANDARD_HUFFMAN[3],
            _ => return Err(PayloadError::CustomHuffman),
        };
        if lengths != standard.0 || values != standard.1 {
            return Err(PayloadError::CustomHuffman);
        }
        body = &body[17 + count..];
    }
    Ok(())
}

fn finish(
    jpeg: &[u8],
    headers: &Headers,
    sos: &[u8],
    scan_start: usize,
) -> Result<Parsed, PayloadError> {
    let (width, height, components) = headers.sof.ok_or(PayloadError::Truncated("no SOF"))?;
    if width == 0
        || height == 0
        || width % 8 != 0
        || height % 8 != 0
        || width > MAX_DIMENSION
        || height > MAX_DIMENSION
    {
        return Err(PayloadError::Size { width, height });
    }
    let [luma, cb, cr] = components;
    let kind = match (luma.sampling, cb.sampling, cr.sampling) {
        (0x21, 0x11, 0x11) => 0,
        (0x22, 0x11, 0x11) => 1,
        _ => {
            return Err(PayloadError::Sampling {
                luma: luma.sampling,
                chroma: cb.sampling,
            })
        }
    };
    if cb.table != cr.table {
        return Err(PayloadError::ChromaTables);
    }
    check_scan_header(sos, &components)?;
    let table = |id: u8| {
        headers
            .quant
            .get(usize::from(id))
            .copied()
            .flatten()
            .ok_or(PayloadError::QuantTable(id))
    };
    let tables = [table(luma.table)?, table(cb.table)?];
    // The scan runs to EOI; data after EOI (a driver's padding) is not part of it.
    let rest = &jpeg[scan_start..];
    let scan_len = rest
        .windows(2)
        .rposition(|w| w == [0xFF, 0xD9])
        .unwrap_or(rest.len());
    if scan_len == 0 {
        return Err(PayloadError::Truncated("empty scan"));
    }
    if scan_len > MAX_SCAN {
        return Err(PayloadError::TooLarge(scan_len));
    }
    let restart_interval = headers.restart_interval;
    Ok(Parsed {
        info: FrameInfo {
            width,
            height,
            kind: if restart_interval > 0 {
                kind + 64
            } else {
                kind
            },
            restart_interval,
        },
        tables,
        scan: scan_start..scan_start + scan_len,
    })
}

/// One interleaved scan of the three frame components, in order, with luma on Huffman
/// tables 0 and chroma on tables 1 (what the receiver's rebuilt header says), full
/// spectral range and no successive approximation.
fn check_scan_header(sos: &[u8], components: &[Component; 3]) -> Result<(), PayloadError> {
    if sos.len() != 1 + 2 * 3 + 3 || sos[0] != 3 {
        return Err(PayloadError::Scan);
    }
    let expected_tables = [0x00, 0x11, 0x11];
    for n in 0..3 {
        if sos[1 + 2 * n] != components[n].id || sos[2 + 2 * n] != expected_tables[n] {
            return Err(PayloadError::Scan);
        }
    }
    if sos[7..] != [0, 63, 0] {
        return Err(PayloadError::Scan);
    }
    Ok(())
}

/// The Huffman tables of JPEG Annex K (K.3), as (code lengths, values): DC luma, DC
/// chroma, AC luma, AC chroma. RFC 2435 receivers put exactly these in the header.
pub const STANDARD_HUFFMAN: [(&[u8; 16], &[u8]); 4] = [
    (
        &[0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ),
    (
        &[0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ),
    (
        &[0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D],
        &[
            0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51,
            0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1,
            0x15, 0x52, 0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18,
            0x19, 0x1A, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
            0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57,
            0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75,
            0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x92,
            0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
            0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
            0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8,
            0xD9, 0xDA, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2,
            0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
        ],
    ),
    (
        &[0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
        &[
            0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07,
            0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09,
            0x23, 0x33, 0x52, 0xF0, 0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25,
            0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38,
            0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56,
            0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74,
            0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
            0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
            0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA,
            0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6,
            0xD7, 0xD8, 0xD9, 0xDA, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2,
            0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
        ],
    ),
];

#[cfg(test)]
mod tests;
