//! D-Bus messages as the camera's D-Bus client reads them off the bus: any bytes are a
//! message or an error, never a panic; a message that reads has exactly the length its
//! header declares (within the 1 MiB limit), a serial, and the header fields its type
//! requires.

#![no_main]

use ipcam_dbus::wire::{decode, message_len, Kind, FIXED_HEADER, MAX_MESSAGE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let declared = data
        .first_chunk::<FIXED_HEADER>()
        .map(message_len);
    if let Some(Ok(len)) = declared {
        assert!(len <= MAX_MESSAGE, "{len} bytes declared and accepted");
    }
    let Ok(message) = decode(data) else {
        return;
    };
    assert!(matches!(declared, Some(Ok(len)) if len == data.len()));
    assert_ne!(message.serial, 0);
    match message.kind {
        Kind::MethodReturn => assert!(message.reply_serial.is_some()),
        Kind::Error => assert!(message.reply_serial.is_some() && message.error_name.is_some()),
        _ => {}
    }
});
