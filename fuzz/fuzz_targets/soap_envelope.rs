//! SOAP envelopes for the ONVIF services: any text is an envelope or a fault, never a
//! panic and never an entity expansion; every fault renders to an envelope that the
//! camera's own XML reader reads back.

#![no_main]

use ipcam_onvif::{soap, xml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(fault) = soap::parse_envelope(text) {
        let rendered = fault.render();
        assert!(
            xml::parse(&rendered).is_ok(),
            "the fault does not parse: {rendered}"
        );
    }
});
