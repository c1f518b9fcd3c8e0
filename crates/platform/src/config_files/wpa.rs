//! `wpa_supplicant.conf` for the wireless interface (3.4.6).
//!
//! One `network` block, or none when wireless is off (empty `SSID`). wpa_supplicant takes
//! a `#` that follows an even number of `"` on a line as the start of a comment (2.10
//! reads `ssid="a"b#c"` as `"a"b`), so a value holding a `"` cannot be quoted safely;
//! nor can one outside printable ASCII be trusted to survive.
//! Such an SSID or ASCII WEP key is written in hexadecimal, which wpa_supplicant reads
//! as the same bytes; such a WPA passphrase is written as the 256-bit PSK it stands for
//! (PBKDF2-HMAC-SHA1 over the SSID, 4096 rounds, as `wpa_passphrase` computes it).
//!
//! Not carried, because wpa_supplicant has no setting for them (the driver chooses):
//! `TransmissionRate` and `Preamble`. `WirelessChannel` and `BeaconInterval` apply in
//! ad-hoc mode only; in infrastructure mode the access point decides both.

use std::fmt::Write as _;

use ipcam_api::PlatformError;
use ipcam_api::{WirelessConfig, TX_KEYS};

use super::text::{check_no_control, hex, invalid};

const HEADER: &str = "# Written by ipcamd from the camera's settings; rewritten on every change.\n";
const KEY_NAMES: [&str; 4] = ["Key1", "Key2", "Key3", "Key4"];

/// The whole `wpa_supplicant.conf` for `config`.
pub fn render(config: &WirelessConfig) -> Result<String, PlatformError> {
    let mut out = format!("{HEADER}ctrl_interface=/run/wpa_supplicant\n");
    if config.ssid.is_empty() {
        out.push_str("# Wireless is off (no SSID): no network.\n");
        return Ok(out);
    }
    if config.ssid.len() > 32 {
        return Err(invalid("SSID", "longer than 32 bytes in UTF-8"));
    }
    check_no_control("SSID", &config.ssid)?;
    let _ = writeln!(out, "\nnetwork={{\n\tssid={}", wpa_string(&config.ssid));
    if config.connection_mode == 1 {
        let _ = writeln!(
            out,
            "\tmode=1\n\tfrequency={}\n\tbeacon_int={}",
            frequency_mhz(config.channel)?,
            config.beacon_interval
        );
    }
    match config.wep_encryption {
        0 => out.push_str("\tkey_mgmt=NONE\n"),
        2 | 3 => wep(&mut out, config)?,
        4 => wpa_psk(&mut out, config)?,
        _ => return Err(invalid("WEPEncryption", "must be 0, 2, 3 or 4")),
    }
    out.push_str("}\n");
    Ok(out)
}

/// A string value: quoted when wpa_supplicant reads it back verbatim, else hexadecimal.
fn wpa_string(value: &str) -> String {
    if value
        .bytes()
        .all(|b| (0x20..=0x7e).contains(&b) && b != b'"')
    {
        format!("\"{value}\"")
    } else {
        hex(value.as_bytes())
    }
}

/// The centre frequency of a 2.4 GHz channel (1 → 2412 MHz, 14 → 2484 MHz).
fn frequency_mhz(channel: u8) -> Result<u32, PlatformError> {
    match channel {
        1..=13 => Ok(2407 + 5 * u32::from(channel)),
        14 => Ok(2484),
        _ => Err(invalid("WirelessChannel", "must be 1 to 14")),
    }
}

fn wep(out: &mut String, config: &WirelessConfig) -> Result<(), PlatformError> {
    let hex_format = config.wep_key_format == 1;
    // 40-bit (WEPEncryption 2) or 104-bit (3) keys: 5 or 13 characters, 10 or 26 digits.
    let length = match (config.wep_encryption, hex_format) {
        (2, false) => 5,
        (2, true) => 10,
        (_, false) => 13,
        (_, true) => 26,
    };
    let keys = [&config.key1, &config.key2, &config.key3, &config.key4];
    let tx_index = TX_KEYS
        .iter()
        .position(|name| *name == config.tx_key)
        .ok_or_else(|| invalid("TxKey", "must be Key 1 to Key 4"))?;
    if keys[tx_index].is_empty() {
        return Err(invalid("TxKey", "selects an empty key"));
    }
    let auth_alg = match config.authentication_type {
        0 => "OPEN",
        1 => "SHARED",
        2 => "OPEN SHARED",
        _ => return Err(invalid("AuthenticationType", "must be 0, 1 or 2")),
    };
    out.push_str("\tkey_mgmt=NONE\n");
    for (index, (name, key)) in KEY_NAMES.iter().zip(keys).enumerate() {
        if key.is_empty() {
            continue;
        }
        if key.len() != length {
            return Err(invalid(
                name,
                format!("must be {length} characters for this key size"),
            ));
        }
        let value = if hex_format {
            if !key.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(name, "must be hexadecimal (WEPKeyFormat is 1)"));
            }
            key.to_ascii_lowercase()
        } else {
            check_no_control(name, key)?;
            wpa_string(key)
        };
        let _ = writeln!(out, "\twep_key{index}={value}");
    }
    let _ = writeln!(out, "\twep_tx_keyidx={tx_index}\n\tauth_alg={auth_alg}");
    Ok(())
}

/// WPA-PSK / WPA2-PSK. In infrastructure mode both protocols are accepted, as the spec's
/// "WPA-PSK / WPA2-PSK" says; in ad-hoc mode only IBSS RSN (WPA2, CCMP) exists.
fn wpa_psk(out: &mut String, config: &WirelessConfig) -> Result<(), PlatformError> {
    if config.connection_mode == 1 {
        out.push_str("\tkey_mgmt=WPA-PSK\n\tproto=RSN\n\tpairwise=CCMP\n\tgroup=CCMP\n");
    } else {
        out.push_str("\tkey_mgmt=WPA-PSK\n\tproto=RSN WPA\n");
    }
    let _ = writeln!(
        out,
        "\tpsk={}",
        psk_value(&config.pre_shared_key, &config.ssid)?
    );
    Ok(())
}

/// `PreSharedKey` as wpa_supplicant's `psk`: 64 hex digits are the key itself, a
/// passphrase of 8 to 63 printable characters is quoted, or turned into its key when it
/// holds a `"`. The reasons never repeat the key.
fn psk_value(key: &str, ssid: &str) -> Result<String, PlatformError> {
    if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(key.to_ascii_lowercase());
    }
    let printable = key.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if !(8..=63).contains(&key.len()) || !printable {
        return Err(invalid(
            "PreSharedKey",
            "must be 8 to 63 ASCII or 64 hexadecimal characters",
        ));
    }
    if key.contains('"') {
        Ok(hex(&passphrase_to_psk(key, ssid)))
    } else {
        Ok(format!("\"{key}\""))
    }
}

/// IEEE 802.11i's passphrase-to-PSK mapping: PBKDF2-HMAC-SHA1(passphrase, SSID, 4096, 256).
fn passphrase_to_psk(passphrase: &str, ssid: &str) -> [u8; 32] {
    let mut psk = [0; 32];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(passphrase.as_bytes(), ssid.as_bytes(), 4096, &mut psk);
    psk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_to_psk_matches_ieee_802_11i_annex_h4() {
        // IEEE 802.11i-2004, H.4.2, test vector 1.
        assert_eq!(
            hex(&passphrase_to_psk("password", "IEEE")),
            "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e"
        );
    }

    #[test]
    fn strings_wpa_supplicant_cannot_quote_are_hex() {
        assert_eq!(wpa_string("DI-624 # lab"), "\"DI-624 # lab\"");
        assert_eq!(wpa_string("say \"hi\""), "7361792022686922");
        assert_eq!(wpa_string("Café"), "436166c3a9");
    }

    #[test]
    fn channels_map_to_their_frequencies() {
        assert_eq!(frequency_mhz(1).unwrap(), 2412);
        assert_eq!(frequency_mhz(6).unwrap(), 2437);
        assert_eq!(frequency_mhz(13).unwrap(), 2472);
        assert_eq!(frequency_mhz(14).unwrap(), 2484);
        assert!(frequency_mhz(15).is_err());
    }

    #[test]
    fn a_passphrase_with_a_quote_becomes_its_key() {
        let value = psk_value("pass\"word#1", "home").unwrap();
        assert_eq!(value, hex(&passphrase_to_psk("pass\"word#1", "home")));
        assert_eq!(value.len(), 64);
        assert_eq!(psk_value("password", "home").unwrap(), "\"password\"");
    }

    #[test]
    fn a_bad_key_is_refused_without_repeating_it() {
        for key in ["short", "line\nbreak!", &"x".repeat(64)] {
            let error = psk_value(key, "home").unwrap_err().to_string();
            assert!(error.starts_with("PreSharedKey: "), "{error}");
            assert!(!error.contains(key), "{error}");
        }
    }

    #[test]
    fn an_ssid_too_long_in_bytes_is_refused() {
        let config = WirelessConfig {
            ssid: "é".repeat(17),
            ..WirelessConfig::default()
        };
        let error = render(&config).unwrap_err();
        assert_eq!(error.to_string(), "SSID: longer than 32 bytes in UTF-8");
    }

    #[test]
    fn wep_keys_must_fit_the_key_size_and_the_transmit_key_must_exist() {
        let wep64 = WirelessConfig {
            ssid: "home".into(),
            wep_encryption: 2,
            key1: "abcde".into(),
            ..WirelessConfig::default()
        };
        render(&wep64).unwrap();
        let long_key = WirelessConfig {
            key2: "abcdefghijklm".into(),
            ..wep64.clone()
        };
        let error = render(&long_key).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Key2: must be 5 characters for this key size"
        );
        let empty_tx = WirelessConfig {
            tx_key: "Key 4".into(),
            ..wep64
        };
        let error = render(&empty_tx).unwrap_err();
        assert_eq!(error.to_string(), "TxKey: selects an empty key");
    }

    #[test]
    fn a_line_break_in_a_wep_key_cannot_add_a_line() {
        let config = WirelessConfig {
            ssid: "home".into(),
            wep_encryption: 2,
            key1: "ab\ncd".into(),
            ..WirelessConfig::default()
        };
        let error = render(&config).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Key1: must not contain control characters"
        );
    }
}
