//! RTSP 1.0 server (RFC 2326) streaming MJPEG over RTP (RFC 2435).

pub mod payload;
