//! The stored configuration sections of chapter 3, declared once each.
//!
//! Every struct here is both a resource table (via [`Section::PARAMS`], generated from
//! the declaration) and a part of the state file. Integer codes stay the spec's codes
//! (`VideoResolution=2` is stored as `2`), so the daemon hands them to the capture and
//! platform code that already speaks them. Rules between parameters live in each
//! section's [`Section::check`].

use std::net::Ipv4Addr;

use chrono::NaiveTime;

use crate::error::ApiError;
use crate::mail;
use crate::schema::{section, Kind, Section};

const BIT: &[i64] = &[0, 1];

section! {
    /// `/system.cgi` (3.1.3/3.1.4): names, the administrator and the LED.
    pub struct SystemConfig {
        /// `CameraName`.
        camera_name: String = "CameraName", Kind::Text { max: 32 }, "IPCam";
        /// `Location`.
        location: String = "Location", Kind::Text { max: 64 }, "";
        /// `AdminID`: the administrator's user name.
        admin_id: String = "AdminID", Kind::Text { max: 12 }, "admin";
        /// `AdminPassword`: readable back by the administrator, as the spec requires.
        admin_password: String = "AdminPassword", Kind::Text { max: 8 }, "";
        /// `LEDControl`: 0 → Normal, 1 → Off, 2 → Dummy.
        led_control: u8 = "LEDControl", Kind::OneOf(&[0, 1, 2]), "0";
    }
}

impl Section for SystemConfig {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;

    fn check(&self) -> Result<(), ApiError> {
        check_login_name("AdminID", &self.admin_id)
    }

    fn check_request(&self) -> Result<(), ApiError> {
        check_password("AdminPassword", &self.admin_password)
    }
}

/// A name someone logs in with: not empty, and without `:` which Basic authentication
/// uses as the separator (such a user could never log in).
pub(crate) fn check_login_name(param: &'static str, name: &str) -> Result<(), ApiError> {
    if name.is_empty() {
        return Err(ApiError::invalid(param, "must not be empty"));
    }
    if name.contains(':') {
        return Err(ApiError::invalid(param, "must not contain ':'"));
    }
    Ok(())
}

/// A password someone logs in with must not be empty. The spec gives `AdminPassword` and
/// `UserPassword` only a maximum length, but a login that needs no password is no login:
/// a camera owner who wants viewers without one turns access control off
/// (`AccessControlEnable=1`) instead. Start-up (`--admin-password`) refuses an empty
/// administrator password for the same reason.
pub(crate) fn check_password(param: &'static str, password: &str) -> Result<(), ApiError> {
    if password.is_empty() {
        return Err(ApiError::invalid(param, "must not be empty"));
    }
    Ok(())
}

section! {
    /// `/datetime.cgi` (3.1.5/3.1.6) without the live `Date` and `Time`.
    pub struct DateTimeConfig {
        /// `DateTimeMode`: 0 → synchronised with a time server, 1 → set manually.
        date_time_mode: u8 = "DateTimeMode", Kind::OneOf(BIT), "0";
        /// `TimeServerIPAddress`: NTP server host or address.
        time_server: String = "TimeServerIPAddress", Kind::Host { max: 64 }, "pool.ntp.org";
        /// `TimeServerProtocol`: 0 → NTP, 1 → Time (RFC 868).
        time_server_protocol: u8 = "TimeServerProtocol", Kind::OneOf(BIT), "0";
        /// `TimeZone`: whole hours; derived from `TimeZoneIndex` unless that is 0.
        time_zone: i8 = "TimeZone", Kind::Offset { min: -12, max: 13 }, "0";
        /// `TimeZoneIndex`: row of the appendix's Table 1; 0 → fixed `TimeZone` offset.
        time_zone_index: u8 = "TimeZoneIndex", Kind::Range { min: 0, max: 84 }, "0";
    }
}

impl Section for DateTimeConfig {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;

    fn check(&self) -> Result<(), ApiError> {
        if self.date_time_mode == 0 && self.time_server.is_empty() {
            return Err(ApiError::invalid(
                "TimeServerIPAddress",
                "required when DateTimeMode is 0 (time server)",
            ));
        }
        Ok(())
    }
}

section! {
    /// `/user.cgi` (3.2.1/3.2.2).
    pub struct UserAccessConfig {
        /// `AccessControlEnable` in the spec's encoding: 0 → enabled, 1 → disabled.
        access_control_enable: u8 = "AccessControlEnable", Kind::OneOf(BIT), "0";
    }
}

impl Section for UserAccessConfig {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;
}

impl UserAccessConfig {
    /// Whether viewers must log in (`AccessControlEnable=0`).
    pub fn enabled(&self) -> bool {
        self.access_control_enable == 0
    }
}

section! {
    /// One entry of `/userlist.cgi` (3.2.3/3.2.4).
    pub struct UserRecord {
        /// `UserName`: unique among users and different from `AdminID`.
        name: String = "UserName", Kind::Text { max: 12 }, "";
        /// `UserPassword`.
        password: String = "UserPassword", Kind::Text { max: 8 }, "";
        /// `UserPrivilege`: 0 → view only, 1 → also pan/tilt and image upload/e-mail.
        privilege: u8 = "UserPrivilege", Kind::OneOf(BIT), "0";
    }
}

impl Section for UserRecord {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;

    fn check(&self) -> Result<(), ApiError> {
        check_login_name("UserName", &self.name)
    }

    fn check_request(&self) -> Result<(), ApiError> {
        check_password("UserPassword", &self.password)
    }
}

section! {
    /// `/image.cgi` (3.3.2/3.3.3), in the spec's codes as the capture settings take them.
    pub struct ImageConfig {
        /// `VideoResolution`: 0 → 160×120, 1 → 320×240, 2 → 640×480.
        video_resolution: u8 = "VideoResolution", Kind::OneOf(&[0, 1, 2]), "2";
        /// `CompressionRate`: 0 → Very Low ... 4 → Very High.
        compression_rate: u8 = "CompressionRate", Kind::OneOf(&[0, 1, 2, 3, 4]), "2";
        /// `FrameRate`: 0 → Auto, else frames per second.
        frame_rate: u8 = "FrameRate", Kind::OneOf(&[0, 1, 5, 7, 15, 20]), "0";
        /// `BrightnessControl`.
        brightness: u8 = "BrightnessControl", Kind::Range { min: 1, max: 128 }, "64";
        /// `ContrastControl`.
        contrast: u8 = "ContrastControl", Kind::Range { min: 1, max: 128 }, "64";
        /// `SaturationControl`.
        saturation: u8 = "SaturationControl", Kind::Range { min: 1, max: 128 }, "64";
        /// `LightFrequency`: 0 → 50 Hz, 1 → 60 Hz.
        light_frequency: u8 = "LightFrequency", Kind::OneOf(BIT), "0";
        /// `Mirror`: bit 0 horizontal, bit 1 vertical.
        mirror: u8 = "Mirror", Kind::Range { min: 0, max: 3 }, "0";
        /// `AntiFlickerEnable`.
        anti_flicker: u8 = "AntiFlickerEnable", Kind::OneOf(BIT), "0";
    }
}

impl Section for ImageConfig {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;
}

/// Table 2 of the appendix: the dynamic DNS providers, in the spec's spelling (all 18
/// rows; the last, `Address.net`, ends the spec file without a line break).
pub const DDNS_PROVIDERS: &[&str] = &[
    "www.dlinkddns.com",
    "WWW.ORAY.NET",
    "corede.net",
    "www.DynDNS.org(Custom)",
    "www.DynDNS.org(Free)",
    "DynDNS.org(Custom)",
    "DynDNS.org(Free)",
    "DynDNS",
    "Cn99",
    "DyNS",
    "TZO.com",
    "dhs.org",
    "Ivy Network",
    "@Net DDNS",
    "Sharella",
    "51Wireless",
    "PLANEX CyberGate",
    "Address.net",
];

section! {
    /// `/network.cgi` (3.4.2/3.4.3).
    pub struct NetworkConfig {
        /// `IPAddressMode`: 1 → fixed IP, 4 → DHCP, 5 → PPPoE.
        ip_address_mode: u8 = "IPAddressMode", Kind::OneOf(&[1, 4, 5]), "4";
        /// `IPAddress` for fixed IP.
        ip_address: Ipv4Addr = "IPAddress", Kind::Ipv4, "192.168.0.20";
        /// `SubnetMask`.
        subnet_mask: Ipv4Addr = "SubnetMask", Kind::Ipv4, "255.255.255.0";
        /// `DefaultGateway`.
        default_gateway: Ipv4Addr = "DefaultGateway", Kind::Ipv4, "192.168.0.1";
        /// `PPPoEUserID`.
        pppoe_user_id: String = "PPPoEUserID", Kind::Text { max: 64 }, "";
        /// `PPPoEPASSWORD` (the spec's capitals).
        pppoe_password: String = "PPPoEPASSWORD", Kind::Text { max: 32 }, "";
        /// `DNSIPAddress1`.
        dns1: Ipv4Addr = "DNSIPAddress1", Kind::Ipv4, "192.168.0.1";
        /// `DNSIPAddress2`.
        dns2: Ipv4Addr = "DNSIPAddress2", Kind::Ipv4, "0.0.0.0";
        /// `DDNSEnable`.
        ddns_enable: u8 = "DDNSEnable", Kind::OneOf(BIT), "0";
        /// `DDNSProvider`: one of [`DDNS_PROVIDERS`].
        ddns_provider: String = "DDNSProvider", Kind::Choice(DDNS_PROVIDERS), "www.dlinkddns.com";
        /// `DDNSHostName`.
        ddns_host_name: String = "DDNSHostName", Kind::Host { max: 64 }, "";
        /// `DDNSUserName`.
        ddns_user_name: String = "DDNSUserName", Kind::Text { max: 64 }, "";
        /// `DDNSPassword`.
        ddns_password: String = "DDNSPassword", Kind::Text { max: 32 }, "";
        /// `SecondHTTPPortEnable`: 0 → disabled, 3 → enabled.
        second_http_port_enable: u8 = "SecondHTTPPortEnable", Kind::OneOf(&[0, 3]), "0";
        /// `SecondHTTPPort`.
        second_http_port: u16 = "SecondHTTPPort", Kind::Range { min: 1, max: 65535 }, "81";
        /// `UPnPEnable`.
        upnp_enable: u8 = "UPnPEnable", Kind::OneOf(BIT), "0";
    }
}

impl Section for NetworkConfig {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;

    fn check(&self) -> Result<(), ApiError> {
        let mask = u32::from(self.subnet_mask);
        if mask.leading_ones() + mask.trailing_zeros() != 32 {
            return Err(ApiError::invalid(
                "SubnetMask",
                "must be a contiguous netmask",
            ));
        }
        if self.ip_address_mode == 1 {
            self.check_fixed_address(mask)?;
        }
        if self.ip_address_mode == 5 && self.pppoe_user_id.is_empty() {
            return Err(ApiError::invalid(
                "PPPoEUserID",
                "required when IPAddressMode is 5 (PPPoE)",
            ));
        }
        if self.ddns_enable == 1 && self.ddns_host_name.is_empty() {
            return Err(ApiError::invalid(
                "DDNSHostName",
                "required when DDNSEnable is 1",
            ));
        }
        Ok(())
    }
}

impl NetworkConfig {
    /// The port of the extra listener, if `SecondHTTPPortEnable` is 3.
    pub fn second_port(&self) -> Option<u16> {
        (self.second_http_port_enable == 3).then_some(self.second_http_port)
    }

    fn check_fixed_address(&self, mask: u32) -> Result<(), ApiError> {
        let ip = self.ip_address;
        if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
            return Err(ApiError::invalid("IPAddress", "must be a host address"));
        }
        let host_bits = u32::from(ip) & !mask;
        if mask != u32::MAX && (host_bits == 0 || host_bits == !mask) {
            return Err(ApiError::invalid(
                "IPAddress",
                "is the network or broadcast address of its subnet",
            ));
        }
        let gateway = u32::from(self.default_gateway);
        if gateway != 0 && (gateway & mask) != (u32::from(ip) & mask) {
            return Err(ApiError::invalid(
                "DefaultGateway",
                "must be in the subnet of IPAddress",
            ));
        }
        Ok(())
    }
}

/// The `TransmissionRate` spellings of 3.4.5.
pub const TRANSMISSION_RATES: &[&str] = &[
    "Fully Automatic",
    "1 Mb",
    "2 Mb",
    "5.5 Mb",
    "11 Mb",
    "6 Mb",
    "9 Mb",
    "12 Mb",
    "18 Mb",
    "24 Mb",
    "36 Mb",
    "48 Mb",
    "54 Mb",
];

/// The `TxKey` spellings of 3.4.5.
pub const TX_KEYS: &[&str] = &["Key 1", "Key 2", "Key 3", "Key 4"];

section! {
    /// `/wireless.cgi` (3.4.5/3.4.6).
    pub struct WirelessConfig {
        /// `ConnectionMode`: 0 → Infrastructure, 1 → Ad-Hoc.
        connection_mode: u8 = "ConnectionMode", Kind::OneOf(BIT), "0";
        /// `SSID`.
        ssid: String = "SSID", Kind::Text { max: 32 }, "";
        /// `WirelessChannel`.
        channel: u8 = "WirelessChannel", Kind::Range { min: 1, max: 14 }, "6";
        /// `TransmissionRate`: one of [`TRANSMISSION_RATES`].
        transmission_rate: String = "TransmissionRate", Kind::Choice(TRANSMISSION_RATES), "Fully Automatic";
        /// `WEPEncryption`: 0 → off, 2 → WEP 64, 3 → WEP 128, 4 → WPA-PSK/WPA2-PSK.
        wep_encryption: u8 = "WEPEncryption", Kind::OneOf(&[0, 2, 3, 4]), "0";
        /// `WEPKeyFormat`: 0 → ASCII, 1 → HEX.
        wep_key_format: u8 = "WEPKeyFormat", Kind::OneOf(BIT), "0";
        /// `Key1`.
        key1: String = "Key1", Kind::Text { max: 26 }, "";
        /// `Key2`.
        key2: String = "Key2", Kind::Text { max: 26 }, "";
        /// `Key3`.
        key3: String = "Key3", Kind::Text { max: 26 }, "";
        /// `Key4`.
        key4: String = "Key4", Kind::Text { max: 26 }, "";
        /// `TxKey`: one of [`TX_KEYS`].
        tx_key: String = "TxKey", Kind::Choice(TX_KEYS), "Key 1";
        /// `BeaconInterval`.
        beacon_interval: u16 = "BeaconInterval", Kind::Range { min: 1, max: 65535 }, "100";
        /// `Preamble`: 0 → long, 1 → short.
        preamble: u8 = "Preamble", Kind::OneOf(BIT), "0";
        /// `AuthenticationType`: 0 → open, 1 → shared key, 2 → both.
        authentication_type: u8 = "AuthenticationType", Kind::OneOf(&[0, 1, 2]), "0";
        /// `PreSharedKey`: 8..63 ASCII or 64 hex characters.
        pre_shared_key: String = "PreSharedKey", Kind::Text { max: 64 }, "";
    }
}

const WEP_KEY_NAMES: [&str; 4] = ["Key1", "Key2", "Key3", "Key4"];

impl Section for WirelessConfig {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;

    fn check(&self) -> Result<(), ApiError> {
        self.check_wep_keys()?;
        self.check_pre_shared_key()
    }
}

impl WirelessConfig {
    fn keys(&self) -> [&str; 4] {
        [&self.key1, &self.key2, &self.key3, &self.key4]
    }

    /// Each non-empty key must have the length and alphabet of `WEPKeyFormat`; with WEP
    /// on, every non-empty key and the transmit key must match the key size.
    fn check_wep_keys(&self) -> Result<(), ApiError> {
        let hex = self.wep_key_format == 1;
        let (short, long) = if hex { (10, 26) } else { (5, 13) };
        let wanted = match self.wep_encryption {
            2 => Some(short),
            3 => Some(long),
            _ => None,
        };
        for (name, key) in WEP_KEY_NAMES.iter().zip(self.keys()) {
            if key.is_empty() {
                continue;
            }
            if hex && !key.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ApiError::invalid(
                    name,
                    "must be hexadecimal (WEPKeyFormat is 1)",
                ));
            }
            if !key.is_ascii() {
                return Err(ApiError::invalid(name, "must be ASCII"));
            }
            let ok = match wanted {
                Some(len) => key.len() == len,
                None => key.len() == short || key.len() == long,
            };
            if !ok {
                let format = if hex { "HEX" } else { "ASCII" };
                let reason = match wanted {
                    Some(len) => format!("must be {len} {format} characters for this key size"),
                    None => format!("must be {short} or {long} {format} characters"),
                };
                return Err(ApiError::invalid(name, reason));
            }
        }
        let selected = TX_KEYS.iter().position(|k| *k == self.tx_key).unwrap_or(0);
        if wanted.is_some() && self.keys()[selected].is_empty() {
            return Err(ApiError::invalid("TxKey", "selects an empty key"));
        }
        Ok(())
    }

    fn check_pre_shared_key(&self) -> Result<(), ApiError> {
        let psk = &self.pre_shared_key;
        if psk.is_empty() {
            return if self.wep_encryption == 4 {
                Err(ApiError::invalid(
                    "PreSharedKey",
                    "required when WEPEncryption is 4",
                ))
            } else {
                Ok(())
            };
        }
        let passphrase =
            (8..=63).contains(&psk.len()) && psk.bytes().all(|b| (32..=126).contains(&b));
        let raw_key = psk.len() == 64 && psk.bytes().all(|b| b.is_ascii_hexdigit());
        if passphrase || raw_key {
            Ok(())
        } else {
            Err(ApiError::invalid(
                "PreSharedKey",
                "must be 8 to 63 ASCII or 64 hexadecimal characters",
            ))
        }
    }
}

section! {
    /// `/upload.cgi` (3.5.1/3.5.2).
    pub struct UploadConfig {
        /// `FTPHostAddress`.
        host: String = "FTPHostAddress", Kind::Host { max: 64 }, "";
        /// `FTPPortNumber`.
        port: u16 = "FTPPortNumber", Kind::Range { min: 1, max: 65535 }, "21";
        /// `FTPUserName`.
        user_name: String = "FTPUserName", Kind::Text { max: 32 }, "";
        /// `FTPPassword`.
        password: String = "FTPPassword", Kind::Text { max: 32 }, "";
        /// `FTPDirectoryPath`.
        directory: String = "FTPDirectoryPath", Kind::Text { max: 64 }, "/";
        /// `FTPPassiveMode`.
        passive: u8 = "FTPPassiveMode", Kind::OneOf(BIT), "1";
        /// `FTPScheduleEnable`.
        schedule_enable: u8 = "FTPScheduleEnable", Kind::OneOf(BIT), "0";
        /// `FTPScheduleMode`: 0 → always, 1 → schedule.
        schedule_mode: u8 = "FTPScheduleMode", Kind::OneOf(BIT), "0";
        /// `FTPScheduleDay`: bit 0 Sunday ... bit 6 Saturday.
        schedule_day: u8 = "FTPScheduleDay", Kind::Range { min: 0, max: 127 }, "127";
        /// `FTPScheduleTimeStart`.
        schedule_start: NaiveTime = "FTPScheduleTimeStart", Kind::Time, "00:00:00";
        /// `FTPScheduleTimeStop`.
        schedule_stop: NaiveTime = "FTPScheduleTimeStop", Kind::Time, "23:59:59";
        /// `FTPScheduleVideoFrequencyMode`: 0 → frames/second, 1 → seconds/frame.
        video_frequency_mode: u8 = "FTPScheduleVideoFrequencyMode", Kind::OneOf(BIT), "0";
        /// `FTPScheduleFramePerSecond`: `1`, `2`, `3` or `Auto`.
        frames_per_second: String = "FTPScheduleFramePerSecond", Kind::Choice(&["1", "2", "3", "Auto"]), "1";
        /// `FTPScheduleSecondPerFrame`.
        seconds_per_frame: u16 = "FTPScheduleSecondPerFrame", Kind::Range { min: 1, max: 65535 }, "1";
        /// `FTPScheduleBaseFileName`.
        schedule_base_file_name: String = "FTPScheduleBaseFileName", Kind::FileName { max: 32 }, "image";
        /// `FTPScheduleFileMode` (the spec's `FTPSchedule FileMode`): 0 → overwrite,
        /// 1 → date/time, 2 → sequence number.
        schedule_file_mode: u8 = "FTPScheduleFileMode", Kind::OneOf(&[0, 1, 2]), "1";
        /// `FTPScheduleMaxFileSequenceNumber`.
        schedule_max_sequence: u16 = "FTPScheduleMaxFileSequenceNumber", Kind::Range { min: 1, max: 65535 }, "1024";
        /// `FTPManualEnable`.
        manual_enable: u8 = "FTPManualEnable", Kind::OneOf(BIT), "0";
        /// `FTPManualBaseFileName`.
        manual_base_file_name: String = "FTPManualBaseFileName", Kind::FileName { max: 32 }, "image";
        /// `FTPManualFileMode` (the spec's `FTPManual FileMode`).
        manual_file_mode: u8 = "FTPManualFileMode", Kind::OneOf(&[0, 1, 2]), "1";
        /// `FTPManualMaxFileSequenceNumber`.
        manual_max_sequence: u16 = "FTPManualMaxFileSequenceNumber", Kind::Range { min: 1, max: 65535 }, "1024";
    }
}

impl Section for UploadConfig {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;

    fn check(&self) -> Result<(), ApiError> {
        if (self.schedule_enable == 1 || self.manual_enable == 1) && self.host.is_empty() {
            return Err(ApiError::invalid(
                "FTPHostAddress",
                "required when FTP upload is enabled",
            ));
        }
        check_schedule(
            self.schedule_mode,
            self.schedule_start,
            self.schedule_stop,
            "FTPScheduleTimeStop",
        )
    }
}

/// A schedule window may cross midnight (22:00:00 to 06:00:00) but must not be empty.
fn check_schedule(
    mode: u8,
    start: NaiveTime,
    stop: NaiveTime,
    stop_name: &'static str,
) -> Result<(), ApiError> {
    if mode == 1 && start == stop {
        return Err(ApiError::invalid(
            stop_name,
            "must differ from the start time",
        ));
    }
    Ok(())
}

section! {
    /// `/email.cgi` (3.5.3/3.5.4) with the `EmailSMTPPortNumber` extension last.
    pub struct EmailConfig {
        /// `EmailSMTPServerAddress`.
        smtp_server: String = "EmailSMTPServerAddress", Kind::Host { max: 64 }, "";
        /// `EmailSenderAddress`.
        sender: String = "EmailSenderAddress", Kind::Text { max: 64 }, "";
        /// `EmailReceiverAddress`.
        receiver: String = "EmailReceiverAddress", Kind::Text { max: 64 }, "";
        /// `EmailUserName`.
        user_name: String = "EmailUserName", Kind::Text { max: 64 }, "";
        /// `EmailPassword`.
        password: String = "EmailPassword", Kind::Text { max: 32 }, "";
        /// `EmailScheduleEnable`.
        schedule_enable: u8 = "EmailScheduleEnable", Kind::OneOf(BIT), "0";
        /// `EmailScheduleMode`: 0 → always, 1 → schedule.
        schedule_mode: u8 = "EmailScheduleMode", Kind::OneOf(BIT), "0";
        /// `EmailScheduleDay`: bit 0 Sunday ... bit 6 Saturday.
        schedule_day: u8 = "EmailScheduleDay", Kind::Range { min: 0, max: 127 }, "127";
        /// `EmailScheduleTimeStart`.
        schedule_start: NaiveTime = "EmailScheduleTimeStart", Kind::Time, "00:00:00";
        /// `EmailScheduleTimeStop`.
        schedule_stop: NaiveTime = "EmailScheduleTimeStop", Kind::Time, "23:59:59";
        /// `EmailScheduleInterval` in seconds.
        schedule_interval: u16 = "EmailScheduleInterval", Kind::Range { min: 1, max: 65535 }, "60";
        /// `EmailManualEnable`.
        manual_enable: u8 = "EmailManualEnable", Kind::OneOf(BIT), "0";
        /// `EmailManualInterval` in seconds.
        manual_interval: u16 = "EmailManualInterval", Kind::Range { min: 1, max: 65535 }, "60";
        /// Extension `EmailSMTPPortNumber` (DESIGN.md): 25, or 587 for submission.
        smtp_port: u16 = "EmailSMTPPortNumber", Kind::Range { min: 1, max: 65535 }, "25";
    }
}

impl Section for EmailConfig {
    const PARAMS: &'static [crate::schema::Param<Self>] = Self::PARAM_TABLE;

    fn check(&self) -> Result<(), ApiError> {
        if self.schedule_enable == 1 || self.manual_enable == 1 {
            if self.smtp_server.is_empty() {
                return Err(ApiError::invalid(
                    "EmailSMTPServerAddress",
                    "required when e-mail is enabled",
                ));
            }
            if mail::addresses(&self.receiver).next().is_none() {
                return Err(ApiError::invalid(
                    "EmailReceiverAddress",
                    "required when e-mail is enabled",
                ));
            }
        }
        check_schedule(
            self.schedule_mode,
            self.schedule_start,
            self.schedule_stop,
            "EmailScheduleTimeStop",
        )
    }

    /// The addresses must be ones the mailer takes ([`mail`]): an address it refuses
    /// would make the whole e-mail table unusable to the events workers.
    fn check_request(&self) -> Result<(), ApiError> {
        let sender = self.sender.trim();
        if !sender.is_empty() {
            mail::check_address(sender)
                .map_err(|e| ApiError::invalid("EmailSenderAddress", e.to_string()))?;
        }
        let receivers: Vec<&str> = mail::addresses(&self.receiver).collect();
        for (n, address) in receivers.iter().enumerate() {
            mail::check_address(address).map_err(|e| {
                let reason = match receivers.len() {
                    1 => e.to_string(),
                    _ => format!("address {} of {}: {e}", n + 1, receivers.len()),
                };
                ApiError::invalid("EmailReceiverAddress", reason)
            })?;
        }
        Ok(())
    }
}
