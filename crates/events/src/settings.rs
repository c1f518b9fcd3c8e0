//! The FTP and e-mail settings as the workers use them: the `/upload.cgi` and
//! `/email.cgi` tables (stored by `ipcam-api` with the spec's integer codes) turned into
//! typed values once, when the daemon pushes them, rather than re-interpreted per frame.
//!
//! Passwords live in [`Secret`], whose `Debug` shows no characters, so that neither a
//! `{:?}` of the settings nor a log line can leak them.

use std::fmt;
use std::time::Duration;

use chrono::{Datelike, NaiveDateTime, NaiveTime, Timelike};
use ipcam_api::{mail, EmailConfig, UploadConfig};
use lettre::message::Mailbox;
use lettre::Address;

/// A setting that cannot be used as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {reason}")]
pub struct SettingsError {
    /// The spec's parameter name.
    pub param: &'static str,
    /// Why, without repeating the value.
    pub reason: String,
}

impl SettingsError {
    fn new(param: &'static str, reason: impl Into<String>) -> Self {
        SettingsError {
            param,
            reason: reason.into(),
        }
    }
}

/// The tables [`crate::EventsHandle::apply_state`] could not use; each such channel was
/// switched off, the other one configured all the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct UnusableSettings {
    /// Why `/upload.cgi` could not be used, if it could not.
    pub upload: Option<SettingsError>,
    /// Why `/email.cgi` could not be used, if it could not.
    pub email: Option<SettingsError>,
}

impl UnusableSettings {
    fn describe(&self) -> String {
        let channels = [("FTP upload", &self.upload), ("e-mail", &self.email)];
        channels
            .iter()
            .filter_map(|(channel, error)| {
                error
                    .as_ref()
                    .map(|error| format!("{channel} is off: {error}"))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A password: compared and used, never shown.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The password itself, for the login command only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which days and times a schedule covers, in the camera's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Bit 0 Sunday ... bit 6 Saturday (the spec's `ScheduleDay`).
    pub days: u8,
    /// First second of the window.
    pub start: NaiveTime,
    /// Last second of the window (inclusive). Before `start`, the window runs past
    /// midnight into the next day.
    pub stop: NaiveTime,
}

impl Window {
    /// Whether the local time `at` falls inside the window. A window crossing midnight
    /// belongs to the day it starts on: 22:00–06:00 on Sundays covers Monday 03:00.
    pub fn contains(&self, at: NaiveDateTime) -> bool {
        let time = at.time().with_nanosecond(0).unwrap_or(at.time());
        let today = at.weekday().num_days_from_sunday();
        let day_enabled = |day: u32| self.days & (1 << day) != 0;
        if self.start <= self.stop {
            day_enabled(today) && self.start <= time && time <= self.stop
        } else if time >= self.start {
            day_enabled(today)
        } else {
            time <= self.stop && day_enabled((today + 6) % 7)
        }
    }
}

/// When the schedule of a channel is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// `ScheduleEnable=0`.
    Off,
    /// `ScheduleEnable=1`, `ScheduleMode=0`.
    Always,
    /// `ScheduleEnable=1`, `ScheduleMode=1`.
    Within(Window),
}

impl Schedule {
    fn from_codes(enable: u8, mode: u8, days: u8, start: NaiveTime, stop: NaiveTime) -> Schedule {
        match (enable, mode) {
            (0, _) => Schedule::Off,
            (_, 0) => Schedule::Always,
            _ => Schedule::Within(Window { days, start, stop }),
        }
    }

    /// Whether the schedule is on at the local time `at`.
    pub fn is_on(&self, at: NaiveDateTime) -> bool {
        match self {
            Schedule::Off => false,
            Schedule::Always => true,
            Schedule::Within(window) => window.contains(at),
        }
    }
}

/// How often frames are uploaded (`FTPScheduleVideoFrequencyMode` and its two values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// `FTPScheduleFramePerSecond` 1, 2 or 3.
    FramesPerSecond(u8),
    /// `FTPScheduleFramePerSecond=Auto`: each new frame as soon as the previous upload has
    /// finished, so the server's speed sets the rate (never the same frame twice).
    Auto,
    /// `FTPScheduleSecondPerFrame`.
    SecondsPerFrame(u16),
}

impl Frequency {
    /// The time between uploads, `None` for [`Frequency::Auto`].
    pub fn interval(self) -> Option<Duration> {
        match self {
            Frequency::FramesPerSecond(n) => Some(Duration::from_secs(1) / u32::from(n.max(1))),
            Frequency::Auto => None,
            Frequency::SecondsPerFrame(n) => Some(Duration::from_secs(u64::from(n.max(1)))),
        }
    }
}

/// How uploaded files are named (`FileMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// 0: always `<base>.jpg`.
    Overwrite,
    /// 1: `<base>YYYYMMDD_HHMMSS.jpg`, then `_1`, `_2`... for more files in the same second.
    DateTime,
    /// 2: `<base>0001.jpg` up to the maximum, then from 1 again.
    Sequence {
        /// `MaxFileSequenceNumber`.
        max: u16,
    },
}

impl FileMode {
    fn from_code(param: &'static str, code: u8, max: u16) -> Result<FileMode, SettingsError> {
        match code {
            0 => Ok(FileMode::Overwrite),
            1 => Ok(FileMode::DateTime),
            2 => Ok(FileMode::Sequence { max: max.max(1) }),
            _ => Err(SettingsError::new(param, "must be 0, 1 or 2")),
        }
    }
}

/// A base file name and a file mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNaming {
    /// `BaseFileName`; `image` when the setting is empty.
    pub base: String,
    /// `FileMode`.
    pub mode: FileMode,
}

/// Where files go: `/upload.cgi`'s server fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpServer {
    /// `FTPHostAddress`.
    pub host: String,
    /// `FTPPortNumber`.
    pub port: u16,
    /// `FTPUserName`; `anonymous` when empty.
    pub user: String,
    /// `FTPPassword`.
    pub password: Secret,
    /// `FTPDirectoryPath`: absolute from the server's root, or relative to the login
    /// directory; created (with its parents) if missing.
    pub directory: String,
    /// `FTPPassiveMode`.
    pub passive: bool,
}

/// Everything the FTP worker needs from `/upload.cgi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSettings {
    /// The server.
    pub server: FtpServer,
    /// When scheduled uploads run.
    pub schedule: Schedule,
    /// How often, for scheduled and manual uploads alike (the spec gives manual uploads
    /// no rate of their own).
    pub frequency: Frequency,
    /// Names of scheduled uploads.
    pub schedule_naming: FileNaming,
    /// `FTPManualEnable`: whether `ImageUpload=1` uploads.
    pub manual_enabled: bool,
    /// Names of manual uploads.
    pub manual_naming: FileNaming,
}

impl Default for UploadSettings {
    fn default() -> Self {
        UploadSettings::try_from(&UploadConfig::default())
            .unwrap_or_else(|e| unreachable!("factory upload settings are valid: {e}"))
    }
}

impl TryFrom<&UploadConfig> for UploadSettings {
    type Error = SettingsError;

    fn try_from(c: &UploadConfig) -> Result<Self, SettingsError> {
        let frequency = match (c.video_frequency_mode, c.frames_per_second.as_str()) {
            (1, _) => Frequency::SecondsPerFrame(c.seconds_per_frame.max(1)),
            (_, "Auto") => Frequency::Auto,
            (_, n) => match n.parse::<u8>() {
                Ok(n @ 1..=3) => Frequency::FramesPerSecond(n),
                _ => {
                    return Err(SettingsError::new(
                        "FTPScheduleFramePerSecond",
                        "must be 1, 2, 3 or Auto",
                    ))
                }
            },
        };
        Ok(UploadSettings {
            server: FtpServer {
                host: c.host.trim().to_owned(),
                port: c.port,
                user: non_empty_or(&c.user_name, "anonymous"),
                password: Secret::new(c.password.clone()),
                directory: c.directory.clone(),
                passive: c.passive != 0,
            },
            schedule: Schedule::from_codes(
                c.schedule_enable,
                c.schedule_mode,
                c.schedule_day,
                c.schedule_start,
                c.schedule_stop,
            ),
            frequency,
            schedule_naming: FileNaming {
                base: non_empty_or(&c.schedule_base_file_name, "image"),
                mode: FileMode::from_code(
                    "FTPScheduleFileMode",
                    c.schedule_file_mode,
                    c.schedule_max_sequence,
                )?,
            },
            manual_enabled: c.manual_enable != 0,
            manual_naming: FileNaming {
                base: non_empty_or(&c.manual_base_file_name, "image"),
                mode: FileMode::from_code(
                    "FTPManualFileMode",
                    c.manual_file_mode,
                    c.manual_max_sequence,
                )?,
            },
        })
    }
}

/// An SMTP login (`EmailUserName`/`EmailPassword`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpLogin {
    /// `EmailUserName`.
    pub user: String,
    /// `EmailPassword`.
    pub password: Secret,
}

/// Everything the e-mail worker needs from `/email.cgi` (and the camera's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// `EmailSMTPServerAddress`.
    pub server: String,
    /// Extension `EmailSMTPPortNumber`: 465 means TLS from the first byte, any other port
    /// plain SMTP with STARTTLS whenever the server offers it.
    pub port: u16,
    /// `EmailSenderAddress`; the first receiver when empty (servers refuse an empty sender).
    pub sender: Option<Mailbox>,
    /// `EmailReceiverAddress`: one address, or several separated by `,` or `;`.
    pub receivers: Vec<Mailbox>,
    /// Present when `EmailUserName` is not empty.
    pub login: Option<SmtpLogin>,
    /// When scheduled e-mails go out.
    pub schedule: Schedule,
    /// `EmailScheduleInterval`.
    pub schedule_interval: Duration,
    /// `EmailManualEnable`: whether `ImageEmail=1` sends.
    pub manual_enabled: bool,
    /// `EmailManualInterval`.
    pub manual_interval: Duration,
    /// `CameraName` of `/system.cgi`, for the subject and text.
    pub camera_name: String,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings::from_config(&EmailConfig::default(), "IPCam")
            .unwrap_or_else(|e| unreachable!("factory e-mail settings are valid: {e}"))
    }
}

impl EmailSettings {
    /// The settings of `/email.cgi` for the camera called `camera_name`.
    pub fn from_config(c: &EmailConfig, camera_name: &str) -> Result<Self, SettingsError> {
        let receivers = mail::addresses(&c.receiver)
            .map(|address| mailbox("EmailReceiverAddress", address))
            .collect::<Result<Vec<_>, _>>()?;
        let sender = match c.sender.trim() {
            "" => None,
            address => Some(mailbox("EmailSenderAddress", address)?),
        };
        let login = (!c.user_name.is_empty()).then(|| SmtpLogin {
            user: c.user_name.clone(),
            password: Secret::new(c.password.clone()),
        });
        Ok(EmailSettings {
            server: c.smtp_server.trim().to_owned(),
            port: c.smtp_port,
            sender,
            receivers,
            login,
            schedule: Schedule::from_codes(
                c.schedule_enable,
                c.schedule_mode,
                c.schedule_day,
                c.schedule_start,
                c.schedule_stop,
            ),
            schedule_interval: seconds(c.schedule_interval),
            manual_enabled: c.manual_enable != 0,
            manual_interval: seconds(c.manual_interval),
            camera_name: camera_name.to_owned(),
        })
    }
}

/// One plain address (`name@domain`, no display name), parsed by lettre's `Address`:
/// the rule `ipcam_api::mail` writes out for `/email.cgi`.
fn mailbox(param: &'static str, address: &str) -> Result<Mailbox, SettingsError> {
    address
        .parse::<Address>()
        .map(Mailbox::from)
        .map_err(|_| SettingsError::new(param, "must be an e-mail address"))
}

fn seconds(value: u16) -> Duration {
    Duration::from_secs(u64::from(value.max(1)))
}

fn non_empty_or(value: &str, fallback: &str) -> String {
    if value.is_empty() {
        fallback.to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(date: (i32, u32, u32), time: (u32, u32, u32)) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(date.0, date.1, date.2)
            .and_then(|d| d.and_hms_opt(time.0, time.1, time.2))
            .expect("valid date")
    }

    fn hms(h: u32, m: u32, s: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, s).expect("valid time")
    }

    const SUNDAY: u8 = 1;
    const MONDAY: u8 = 2;
    const SATURDAY: u8 = 1 << 6;

    #[test]
    fn window_covers_its_days_and_times_inclusively() {
        // 2024-06-02 is a Sunday.
        let window = Window {
            days: SUNDAY | SATURDAY,
            start: hms(6, 12, 35),
            stop: hms(18, 12, 35),
        };
        assert!(window.contains(at((2024, 6, 2), (6, 12, 35))));
        assert!(window.contains(at((2024, 6, 2), (18, 12, 35))));
        assert!(window.contains(at((2024, 6, 1), (12, 0, 0))));
        assert!(!window.contains(at((2024, 6, 2), (6, 12, 34))));
        assert!(!window.contains(at((2024, 6, 2), (18, 12, 36))));
        assert!(!window.contains(at((2024, 6, 3), (12, 0, 0))), "Monday");
    }

    #[test]
    fn window_across_midnight_belongs_to_its_start_day() {
        let window = Window {
            days: SUNDAY,
            start: hms(22, 0, 0),
            stop: hms(6, 0, 0),
        };
        assert!(
            window.contains(at((2024, 6, 2), (23, 0, 0))),
            "Sunday night"
        );
        assert!(window.contains(at((2024, 6, 3), (3, 0, 0))), "Monday early");
        assert!(
            !window.contains(at((2024, 6, 2), (3, 0, 0))),
            "Sunday early"
        );
        assert!(
            !window.contains(at((2024, 6, 3), (23, 0, 0))),
            "Monday night"
        );
        assert!(!window.contains(at((2024, 6, 3), (6, 0, 1))));
        let monday_only = Window {
            days: MONDAY,
            ..window
        };
        assert!(monday_only.contains(at((2024, 6, 4), (5, 59, 59))));
    }

    #[test]
    fn last_second_of_the_day_is_inside_the_factory_window() {
        let window = Window {
            days: 127,
            start: hms(0, 0, 0),
            stop: hms(23, 59, 59),
        };
        let late = at((2024, 6, 2), (23, 59, 59)) + chrono::Duration::milliseconds(900);
        assert!(window.contains(late));
    }

    #[test]
    fn upload_codes_become_typed_settings() {
        let config = UploadConfig {
            host: "ftp.example.com".into(),
            password: "hunter2".into(),
            passive: 0,
            schedule_enable: 1,
            schedule_mode: 1,
            schedule_day: 5,
            frames_per_second: "Auto".into(),
            schedule_file_mode: 2,
            schedule_max_sequence: 9,
            manual_file_mode: 0,
            manual_base_file_name: String::new(),
            ..UploadConfig::default()
        };
        let settings = UploadSettings::try_from(&config).expect("valid");
        assert!(!settings.server.passive);
        assert_eq!(settings.server.user, "anonymous");
        assert_eq!(settings.frequency, Frequency::Auto);
        assert!(matches!(settings.schedule, Schedule::Within(w) if w.days == 5));
        assert_eq!(settings.schedule_naming.mode, FileMode::Sequence { max: 9 });
        assert_eq!(settings.manual_naming.base, "image");
        assert_eq!(settings.manual_naming.mode, FileMode::Overwrite);

        let spf = UploadConfig {
            video_frequency_mode: 1,
            seconds_per_frame: 30,
            ..UploadConfig::default()
        };
        let settings = UploadSettings::try_from(&spf).expect("valid");
        assert_eq!(settings.frequency.interval(), Some(Duration::from_secs(30)));
        assert_eq!(settings.schedule, Schedule::Off);
        assert_eq!(
            Frequency::FramesPerSecond(3).interval(),
            Some(Duration::from_millis(333) + Duration::from_nanos(333_333))
        );
    }

    #[test]
    fn bad_codes_are_named() {
        let config = UploadConfig {
            schedule_file_mode: 7,
            ..UploadConfig::default()
        };
        let err = UploadSettings::try_from(&config).expect_err("invalid");
        assert_eq!(err.param, "FTPScheduleFileMode");
        let config = UploadConfig {
            frames_per_second: "4".into(),
            ..UploadConfig::default()
        };
        let err = UploadSettings::try_from(&config).expect_err("invalid");
        assert_eq!(err.param, "FTPScheduleFramePerSecond");
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let upload = UploadConfig {
            password: "ftp-pass-123".into(),
            ..UploadConfig::default()
        };
        let email = EmailConfig {
            user_name: "cam".into(),
            password: "mail-pass-456".into(),
            ..EmailConfig::default()
        };
        let shown = format!(
            "{:?} {:?}",
            UploadSettings::try_from(&upload).expect("valid"),
            EmailSettings::from_config(&email, "cam").expect("valid")
        );
        assert!(!shown.contains("ftp-pass-123"), "{shown}");
        assert!(!shown.contains("mail-pass-456"), "{shown}");
        assert!(shown.contains("Secret(***)"));
    }

    #[test]
    fn receivers_may_be_a_list_and_the_sender_optional() {
        let email = EmailConfig {
            smtp_server: "mail.example.com".into(),
            receiver: "a@example.com; b@example.com,".into(),
            ..EmailConfig::default()
        };
        let settings = EmailSettings::from_config(&email, "Door").expect("valid");
        let receivers: Vec<String> = settings.receivers.iter().map(|m| m.to_string()).collect();
        assert_eq!(receivers, ["a@example.com", "b@example.com"]);
        assert_eq!(settings.sender, None);
        assert_eq!(settings.login, None);
        assert_eq!(settings.port, 25);

        let bad = EmailConfig {
            receiver: "not an address".into(),
            ..EmailConfig::default()
        };
        let err = EmailSettings::from_config(&bad, "Door").expect_err("invalid");
        assert_eq!(err.param, "EmailReceiverAddress");
    }

    #[test]
    fn a_display_name_or_a_second_address_in_one_entry_is_refused() {
        for receiver in ["Owner <me@example.com>", "me@example.com typo", "owner@"] {
            let bad = EmailConfig {
                receiver: receiver.into(),
                ..EmailConfig::default()
            };
            let err = EmailSettings::from_config(&bad, "Door").expect_err(receiver);
            assert_eq!(err.param, "EmailReceiverAddress", "{receiver}");
        }
    }

    /// `/email.cgi` refuses with `ipcam_api::mail` what this crate would refuse with
    /// lettre, and takes what lettre takes.
    #[test]
    fn the_api_rule_and_the_mailer_agree() {
        let long_local = format!("{}@example.com", "u".repeat(65));
        let long_label = format!("me@{}.com", "d".repeat(64));
        let long_domain = format!("me@{}", vec!["d".repeat(60); 5].join("."));
        let corpus = [
            "me@example.com",
            "first.last+tag@mail.example.co.uk",
            "o'brien@example.ie",
            "!#$%&'*+-/=?^_`{|}~@example.com",
            "user@localhost",
            "user@192.0.2.1",
            "user@[192.0.2.1]",
            "user@2001:db8::1",
            "user@[IPv6:2001:db8::1]",
            "user@[]",
            "user@[a[b]",
            "\"john doe\"@example.com",
            "\"a\\\"b\"@example.com",
            "\"a\"b\"@example.com",
            "\"\"@example.com",
            "\"@example.com",
            "jörg@bücher.de",
            "用户@例子.广告",
            "a@b",
            "typo",
            "",
            "@",
            "owner@",
            "@example.com",
            "me@example.com;typo",
            "me@example.com,you@example.com",
            "john doe@example.com",
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "me<x>@example.com",
            "me@example..com",
            "me@example.com.",
            "me@.example.com",
            "me@-example.com",
            "me@example-.com",
            "me@exa_mple.com",
            "me@exa mple.com",
            "me@exa\tmple.com",
            "me@@example.com",
            "a@b@example.com",
            "Me <me@example.com>",
            "me@ex(comment)ample.com",
            &long_local,
            &long_label,
            &long_domain,
        ];
        for address in corpus {
            let api = ipcam_api::mail::check_address(address).is_ok();
            let lettre = address.parse::<Address>().is_ok();
            assert_eq!(api, lettre, "{address:?}: api {api}, lettre {lettre}");
        }
    }

    /// lettre retries a refused domain after IDNA mapping; the api does not, so it is
    /// stricter there and never looser.
    #[test]
    fn the_api_rule_is_stricter_only_where_idna_rescues_a_domain() {
        let rescued = "me@\u{AD}example.com";
        assert!(rescued.parse::<Address>().is_ok());
        assert!(ipcam_api::mail::check_address(rescued).is_err());
    }
}
