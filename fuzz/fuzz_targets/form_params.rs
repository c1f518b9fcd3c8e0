//! Query and form decoding: whatever decodes, re-encoded the way a browser encodes a form,
//! decodes to the same parameters (percent-decoding loses and invents nothing).

#![no_main]

use ipcam_httpd::harness::decode_form;
use libfuzzer_sys::fuzz_target;
use percent_encoding::{percent_encode, NON_ALPHANUMERIC};

fuzz_target!(|data: &[u8]| {
    let Ok((text, binary)) = decode_form(data) else {
        return;
    };
    let mut encoded = Vec::new();
    let pairs = text
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .chain(binary.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
    for (name, value) in pairs {
        if !encoded.is_empty() {
            encoded.push(b'&');
        }
        encoded.extend_from_slice(name.as_bytes());
        encoded.push(b'=');
        encoded.extend(percent_encode(value, NON_ALPHANUMERIC).flat_map(str::bytes));
    }
    // Text and binary values are decoded into two lists, each in request order; the
    // re-encoded form lists all text first, so both lists come back in the same order.
    assert_eq!(decode_form(&encoded), Ok((text, binary)));
});
