//! Checks shared by the renderers: every value that goes into a system file is checked
//! for that file's syntax here, even though `ipcam-api` validated it on the way in, so a
//! hand-edited state file or a new caller cannot inject a line or an option.

use ipcam_api::PlatformError;

/// The [`PlatformError::Invalid`] for `name`.
pub fn invalid(name: &'static str, reason: impl Into<String>) -> PlatformError {
    PlatformError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// A network interface name as networkd's `Name=`, pppd's `nic-` and the file names take
/// it: 1 to 15 bytes (IFNAMSIZ - 1) of letters, digits, `-`, `_` and `.`; no glob or
/// whitespace, which `Name=` would read as a pattern or a list.
pub fn check_interface(key: &'static str, name: &str) -> Result<(), PlatformError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if name.is_empty() || name.len() > 15 || !name.bytes().all(allowed) || name.starts_with('.') {
        return Err(invalid(
            key,
            "must be an interface name of 1 to 15 letters, digits, '-', '_' or '.'",
        ));
    }
    Ok(())
}

/// Refuses control characters (CR, LF, NUL, ...), which end a line in every format here.
/// The reason never repeats the value: it may be a secret.
pub fn check_no_control(name: &'static str, value: &str) -> Result<(), PlatformError> {
    if value.chars().any(char::is_control) {
        return Err(invalid(name, "must not contain control characters"));
    }
    Ok(())
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        for good in ["eth0", "wlan0", "enp1s0", "br-lan", "eth0.100", "wl_x"] {
            check_interface("interface", good).unwrap();
        }
        for bad in [
            "",
            "eth*",
            "eth0 wlan0",
            "a/b",
            "sixteen-chars-xx",
            ".hidden",
            "e\nx",
        ] {
            let error = check_interface("interface", bad).unwrap_err();
            assert!(error.to_string().starts_with("interface: "), "{error}");
        }
    }

    #[test]
    fn control_characters_are_refused_without_echoing_the_value() {
        let error = check_no_control("PPPoEPASSWORD", "secret\nplugin x").unwrap_err();
        assert_eq!(
            error.to_string(),
            "PPPoEPASSWORD: must not contain control characters"
        );
        check_no_control("PPPoEPASSWORD", "quote\" back\\slash # ok").unwrap();
    }

    #[test]
    fn hex_is_lower_case_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab]), "000fab");
    }
}
