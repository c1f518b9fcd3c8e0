//! Basic credentials: any `Authorization` value decodes or is refused without panicking,
//! and every user name without `:` and any password survive encode → decode unchanged.

#![no_main]

use base64::Engine as _;
use ipcam_httpd::harness::decode_basic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_basic(data);

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (user, password) = text.split_once('\u{0}').unwrap_or((text, ""));
    if user.contains(':') {
        return;
    }
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let decoded = decode_basic(format!("Basic {token}").as_bytes());
    assert_eq!(
        decoded,
        Ok(Some((user.to_owned(), password.to_owned()))),
        "credentials changed on the way through"
    );
});
