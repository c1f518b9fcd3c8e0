//! FTP replies as the camera's FTP client reads them off a server's control connection:
//! any bytes are a run of replies and then an error, never a panic; a reply's code is in
//! RFC 959's classes, its size within the client's bounds, its shown form one line, and
//! a data port it names never 0.

#![no_main]

use ipcam_events::harness::{next_reply, MAX_LINE, MAX_REPLY_LINES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    // Every reply takes at least one line break, so this bounds the loop.
    for _ in 0..=data.len() {
        let before = input.len();
        let Ok(reply) = next_reply(&mut input) else {
            return;
        };
        assert!(input.len() < before, "a reply that took no bytes");
        assert!((100..600).contains(&reply.code), "code {}", reply.code);
        assert!(reply.lines.len() <= MAX_REPLY_LINES, "{} lines", reply.lines.len());
        for line in &reply.lines {
            assert!(line.len() <= MAX_LINE * 3, "a line of {} bytes", line.len());
        }
        assert!(
            !reply.shown.contains(char::is_control),
            "a control character in {:?}",
            reply.shown
        );
        assert_ne!(reply.passive_port, Some(0));
        assert_ne!(reply.extended_passive_port, Some(0));
    }
});
