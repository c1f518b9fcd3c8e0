//! RTSP requests and interleaved frames at the start of a connection's input: any bytes
//! are a request, a `$` frame, "need more" or a refusal with a status, never a panic; a
//! request never claims more bytes than it was given.

#![no_main]

use ipcam_rtsp::harness::{parse_request, Input};
use libfuzzer_sys::fuzz_target;

/// The daemon's defaults: `[server] max_head_bytes`, and RTSP's 4 KiB body limit.
const MAX_HEAD: usize = 8 * 1024;
const MAX_BODY: usize = 4 * 1024;

fuzz_target!(|data: &[u8]| {
    match parse_request(data, MAX_HEAD, MAX_BODY) {
        Ok(Input::Request(request, used)) => {
            assert!(
                used <= data.len(),
                "a request of {used} bytes from {}",
                data.len()
            );
            assert!(used <= MAX_HEAD + MAX_BODY, "past the limits: {used} bytes");
            for (name, value) in &request.headers {
                assert!(
                    !(name.contains(['\r', '\n']) || value.contains(['\r', '\n'])),
                    "a header line break got through"
                );
            }
        }
        Ok(Input::Interleaved { .. } | Input::Incomplete) => {}
        Err(bad) => assert!((400..600).contains(&bad.status), "status {}", bad.status),
    }
});
