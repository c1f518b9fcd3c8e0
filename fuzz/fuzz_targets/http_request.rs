//! Request heads and body framing: any bytes a client can send on a connection are split
//! into pipelined requests exactly as the server splits them, and nothing panics.

#![no_main]

use ipcam_httpd::harness::frame_requests;
use libfuzzer_sys::fuzz_target;

/// The daemon's default limits (`[server] max_head_bytes`, `max_body_bytes`).
const MAX_HEAD: usize = 8 * 1024;
const MAX_BODY: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let framed = frame_requests(data, MAX_HEAD, MAX_BODY);
    for params in &framed.requests {
        for (name, _) in params {
            assert!(!name.is_empty(), "an empty parameter name got through");
            assert!(
                name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "parameter name {name:?} is outside [A-Za-z0-9_]"
            );
        }
    }
});
