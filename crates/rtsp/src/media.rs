//! RTP out of a packetized frame: one viewer's progress through it, and the two ways of
//! sending it — `$`-framed packets on the RTSP connection with vectored writes, and
//! datagrams with `sendmmsg` — plus the UDP socket pair of a session.
//!
//! Per packet only the viewer's own bytes are built, on the stack: the interleave prefix
//! and the RTP header (sequence number, timestamp, SSRC), next to a copy of the few payload
//! header bytes. The scan goes by reference from the ring frame: no copy of the JPEG and no
//! allocation, whatever the number of viewers.

use std::io::{self, IoSlice, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;

use mio::net::{TcpStream, UdpSocket};

use crate::payload::Packetized;
use crate::rtp;
use crate::server::JpegChunk;

/// Packets per vectored write or `sendmmsg`.
const BATCH: usize = 64;
/// Interleave prefix (`$`, channel, length) plus RTP header.
const PREFIX_LEN: usize = 4 + rtp::HEADER_LEN;
/// Largest per-packet head: interleave prefix, RTP header, and RFC 2435's main header,
/// restart header and in-band tables (8 + 4 + 4 + 128).
const HEAD_CAP: usize = PREFIX_LEN + 8 + 4 + 4 + 128;

/// A frame packetized once, shared by every viewer sending it.
pub(crate) struct FrameSlot<C> {
    pub(crate) chunk: Option<C>,
    pub(crate) layout: Packetized,
    pub(crate) seq: u64,
    pub(crate) observed: Instant,
}

/// Progress through one frame for one viewer.
pub(crate) struct Sending<C> {
    pub(crate) frame: Arc<FrameSlot<C>>,
    /// Next packet not completely written.
    pub(crate) packet: usize,
    /// Bytes of that packet already written (TCP only; a datagram goes whole).
    pub(crate) offset: usize,
    pub(crate) first_seq: u16,
    pub(crate) timestamp: u32,
    pub(crate) ssrc: u32,
    pub(crate) channel: u8,
}

/// Writes as many `$`-framed packets of a frame as the socket takes; `Ok(true)` if any
/// byte went out. The interleave prefix and RTP header are built on the stack per batch.
pub(crate) fn write_interleaved<C: JpegChunk>(
    socket: &mut TcpStream,
    sending: &mut Sending<C>,
) -> io::Result<bool> {
    let layout = &sending.frame.layout;
    let jpeg: &[u8] = match &sending.frame.chunk {
        Some(chunk) => chunk.jpeg(),
        None => return Ok(false),
    };
    let packets = layout.packets();
    let mut progress = false;
    while sending.packet < packets.len() {
        let batch = &packets[sending.packet..packets.len().min(sending.packet + BATCH)];
        // Per packet: interleave prefix, RTP header and a copy of the few payload header
        // bytes in one stack buffer, then the scan by reference: two slices per packet.
        let mut heads = [[0u8; HEAD_CAP]; BATCH];
        let mut head_lens = [0usize; BATCH];
        for (n, packet) in batch.iter().enumerate() {
            let index = sending.packet + n;
            let payload_header = &layout.headers()[packet.header.clone()];
            let head = &mut heads[n];
            let len = (rtp::HEADER_LEN + payload_header.len() + packet.scan.len()) as u16;
            head[..4].copy_from_slice(&[b'$', sending.channel, (len >> 8) as u8, len as u8]);
            let header: &mut [u8; rtp::HEADER_LEN] = (&mut head[4..PREFIX_LEN])
                .try_into()
                .unwrap_or_else(|_| unreachable!("PREFIX_LEN is 4 + HEADER_LEN"));
            rtp::write_header(
                header,
                index + 1 == packets.len(),
                sending.first_seq.wrapping_add(index as u16),
                sending.timestamp,
                sending.ssrc,
            );
            head[PREFIX_LEN..PREFIX_LEN + payload_header.len()].copy_from_slice(payload_header);
            head_lens[n] = PREFIX_LEN + payload_header.len();
        }
        let mut slices = [IoSlice::new(&[]); BATCH * 2];
        let mut count = 0;
        let mut skip = sending.offset;
        for (n, packet) in batch.iter().enumerate() {
            for part in [&heads[n][..head_lens[n]], &jpeg[packet.scan.clone()]] {
                let cut = skip.min(part.len());
                skip -= cut;
                if cut < part.len() {
                    slices[count] = IoSlice::new(&part[cut..]);
                    count += 1;
                }
            }
        }
        let mut written = match socket.write_vectored(&slices[..count]) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(progress),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        progress |= written > 0;
        // Advance through whole packets, keeping the offset into a partial one.
        for packet in batch {
            let total = PREFIX_LEN + packet.header.len() + packet.scan.len();
            let left = total - sending.offset;
            if written >= left {
                written -= left;
                sending.packet += 1;
                sending.offset = 0;
            } else {
                sending.offset += written;
                return Ok(progress);
            }
        }
    }
    Ok(progress)
}

/// Sends the remaining packets of a frame as datagrams, `BATCH` per `sendmmsg`; returns
/// when all are sent or the socket buffer is full.
pub(crate) fn send_datagrams<C: JpegChunk>(
    socket: &UdpSocket,
    sending: &mut Sending<C>,
) -> io::Result<()> {
    let layout = &sending.frame.layout;
    let jpeg: &[u8] = match &sending.frame.chunk {
        Some(chunk) => chunk.jpeg(),
        None => return Ok(()),
    };
    let packets = layout.packets();
    while sending.packet < packets.len() {
        let batch = &packets[sending.packet..packets.len().min(sending.packet + BATCH)];
        let mut headers = [[0u8; rtp::HEADER_LEN]; BATCH];
        for (n, header) in headers.iter_mut().take(batch.len()).enumerate() {
            let index = sending.packet + n;
            rtp::write_header(
                header,
                index + 1 == packets.len(),
                sending.first_seq.wrapping_add(index as u16),
                sending.timestamp,
                sending.ssrc,
            );
        }
        let empty = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let mut iovecs = [[empty; 3]; BATCH];
        // SAFETY: an all-zero mmsghdr is valid (null pointers, zero lengths).
        let mut messages: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for (n, packet) in batch.iter().enumerate() {
            let parts = [
                &headers[n][..],
                &layout.headers()[packet.header.clone()],
                &jpeg[packet.scan.clone()],
            ];
            for (iov, part) in iovecs[n].iter_mut().zip(parts) {
                *iov = libc::iovec {
                    iov_base: part.as_ptr() as *mut libc::c_void,
                    iov_len: part.len(),
                };
            }
            messages[n].msg_hdr.msg_iov = iovecs[n].as_mut_ptr();
            messages[n].msg_hdr.msg_iovlen = 3;
        }
        // SAFETY: `messages` points into `iovecs`, which points into `headers`, the layout
        // and the JPEG; all outlive the call, and the kernel only reads them. The socket
        // is connected, so no destination address is needed.
        let sent = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                messages.as_mut_ptr(),
                batch.len() as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if sent < 0 {
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => return Ok(()),
                io::ErrorKind::Interrupted => continue,
                // An ICMP "port unreachable" of an earlier datagram: the client is not
                // listening (yet). Skip this batch; the session times out if it never does.
                io::ErrorKind::ConnectionRefused => {
                    sending.packet += batch.len();
                    continue;
                }
                _ => return Err(err),
            }
        }
        sending.packet += sent as usize;
    }
    Ok(())
}

/// Binds an RTP/RTCP socket pair on `ip`, an even port and the next one where possible
/// (RFC 3550 11), else any two ports.
pub(crate) fn udp_pair(ip: IpAddr) -> io::Result<((UdpSocket, UdpSocket), (u16, u16))> {
    for _ in 0..16 {
        let rtp = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
        let port = rtp.local_addr()?.port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = std::net::UdpSocket::bind(SocketAddr::new(ip, port + 1)) {
            return Ok((nonblocking_pair(rtp, rtcp)?, (port, port + 1)));
        }
    }
    let rtp = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
    let rtcp = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
    let ports = (rtp.local_addr()?.port(), rtcp.local_addr()?.port());
    Ok((nonblocking_pair(rtp, rtcp)?, ports))
}

fn nonblocking_pair(
    rtp: std::net::UdpSocket,
    rtcp: std::net::UdpSocket,
) -> io::Result<(UdpSocket, UdpSocket)> {
    rtp.set_nonblocking(true)?;
    rtcp.set_nonblocking(true)?;
    Ok((UdpSocket::from_std(rtp), UdpSocket::from_std(rtcp)))
}

pub(crate) fn set_send_buffer(socket: &TcpStream, bytes: usize) {
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live c_int; the fd is open.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result != 0 {
        log::debug!("SO_SNDBUF: {}", io::Error::last_os_error());
    }
}
