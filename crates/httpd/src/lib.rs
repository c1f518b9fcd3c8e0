//! Minimal mio + httparse HTTP/1.x server with zero-copy streaming bodies.
