//! RTP headers (RFC 3550 5.1) and RTCP sender reports (6.4.1) with the SDES CNAME that
//! every compound RTCP packet must carry (6.1).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::payload::PAYLOAD_TYPE;

/// Size of an RTP header without CSRCs or extensions.
pub const HEADER_LEN: usize = 12;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// CNAME of every session: RFC 3550 wants it unique per host, and one SSRC per session
/// already tells sessions apart.
const CNAME: &[u8] = b"ipcam";

/// Writes the RTP header of one JPEG packet.
pub fn write_header(out: &mut [u8; HEADER_LEN], marker: bool, seq: u16, timestamp: u32, ssrc: u32) {
    out[0] = 0x80; // version 2, no padding, no extension, no CSRC
    out[1] = PAYLOAD_TYPE | if marker { 0x80 } else { 0 };
    out[2..4].copy_from_slice(&seq.to_be_bytes());
    out[4..8].copy_from_slice(&timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

/// What a sender report says.
#[derive(Debug, Clone, Copy)]
pub struct SenderReport {
    /// The session's SSRC.
    pub ssrc: u32,
    /// Wall-clock time of the report.
    pub wall_clock: SystemTime,
    /// The RTP timestamp that corresponds to `wall_clock`.
    pub rtp_time: u32,
    /// Packets sent so far.
    pub packets: u32,
    /// Payload octets sent so far.
    pub octets: u32,
}

/// Appends a compound RTCP packet (SR + SDES CNAME) to `out`; returns its length.
pub fn write_sender_report(report: &SenderReport, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    let since_unix = report
        .wall_clock
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ntp_seconds = (since_unix.as_secs() + NTP_UNIX_OFFSET) as u32;
    let ntp_fraction = ((u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    out.extend_from_slice(&[0x80, 200, 0, 6]);
    for word in [
        report.ssrc,
        ntp_seconds,
        ntp_fraction,
        report.rtp_time,
        report.packets,
        report.octets,
    ] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    // SDES: one chunk, CNAME item, END, padded to a 32-bit boundary.
    let items = 2 + CNAME.len() + 1;
    let padded = (4 + items).div_ceil(4) * 4;
    let words = (4 + padded) / 4 - 1;
    out.extend_from_slice(&[0x81, 202]);
    out.extend_from_slice(&(words as u16).to_be_bytes());
    out.extend_from_slice(&report.ssrc.to_be_bytes());
    out.extend_from_slice(&[1, CNAME.len() as u8]);
    out.extend_from_slice(CNAME);
    out.resize(out.len() + (padded - 4 - 2 - CNAME.len()), 0);
    out.len() - start
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn header_fields_are_where_rfc_3550_puts_them() {
        let mut header = [0; HEADER_LEN];
        write_header(&mut header, true, 0x1234, 0xDEADBEEF, 7);
        assert_eq!(
            header,
            [
                0x80,
                0x80 | 26,
                0x12,
                0x34,
                0xDE,
                0xAD,
                0xBE,
                0xEF,
                0,
                0,
                0,
                7
            ]
        );
        write_header(&mut header, false, 1, 0, 0);
        assert_eq!(header[1], 26);
    }

    #[test]
    fn a_sender_report_is_a_valid_compound_packet() {
        let mut out = Vec::new();
        let report = SenderReport {
            ssrc: 0x01020304,
            wall_clock: UNIX_EPOCH + Duration::from_millis(1500),
            rtp_time: 90_000,
            packets: 10,
            octets: 14_000,
        };
        let len = write_sender_report(&report, &mut out);
        assert_eq!(len, out.len());
        assert_eq!(len % 4, 0);
        // SR: length field counts 32-bit words minus one.
        assert_eq!((out[1], u16::from_be_bytes([out[2], out[3]])), (200, 6));
        assert_eq!(&out[8..12], &((NTP_UNIX_OFFSET + 1) as u32).to_be_bytes());
        assert_eq!(&out[12..16], &0x8000_0000u32.to_be_bytes(), "half a second");
        let sdes = &out[28..];
        assert_eq!(sdes[1], 202);
        assert_eq!(
            (usize::from(u16::from_be_bytes([sdes[2], sdes[3]])) + 1) * 4,
            sdes.len()
        );
        assert_eq!(&sdes[8..10], &[1, 5]);
        assert_eq!(&sdes[10..15], b"ipcam");
        assert_eq!(sdes[15], 0, "END");
    }
}
