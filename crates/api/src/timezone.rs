//! The camera's wall clock: Table 1 (`TimeZoneIndex`) mapped to IANA zones and their
//! current rules, and the `yyyy-mm-dd hh:mm:ss` formatter shared by `/datetime.cgi`,
//! `/activeuser.cgi`, `/iocontrol.cgi` and the MJPEG part headers.
//!
//! "Time values use the camera's configured time zone" (DESIGN.md). The spec's table
//! names Windows-style zones of 2008; each row maps to the IANA zone of its first city,
//! so DST follows today's rules, not the 2008 label. Row 0 ("Unused timezone table") is a
//! fixed offset of `TimeZone` whole hours, UTC by default.
//!
//! A row carries two things: the IANA name, which the Linux backend hands to
//! systemd-timedated, and the zone's current rule, the footer of its compiled TZif file
//! (RFC 8536 §3.3: a POSIX TZ string such as `CET-1CEST,M3.5.0,M10.5.0/3`). The camera shows
//! and stamps "now", so the rule alone is enough: the zone's history before it (what a
//! full time-zone database would carry) is left out. The rules were copied by
//! `scripts/tz-rules` from Debian 12's `tzdata` 2025b-0+deb12u2, and a unit test compares
//! each with the system's compiled zone hour by hour from 2025 to 2036. They are evaluated
//! by `tz-rs`, parsed once, on first use, into a static table.
//!
//! [`CameraClock`] is a cheap cloneable handle: the event loop formats the current local
//! time into a stack buffer with no allocation and no lock, while the configuration
//! thread changes the zone (and, on the sim platform, the clock offset) atomically.

use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDateTime, TimeZone as _, Timelike, Utc,
};
use tz::datetime::FoundDateTimeKind;

/// A Table 1 zone: what the operating system is told and what the camera's clock follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    /// The IANA name, e.g. `Europe/Berlin`, for systemd-timedated's `SetTimezone`.
    pub name: &'static str,
    /// The zone's current rule: the footer of its TZif file, a POSIX TZ string (two rows
    /// use the footer's extension of transition hours beyond 0..=24, RFC 8536 §3.3.1).
    pub rule: &'static str,
}

/// One row of Table 1.
#[derive(Debug, Clone, Copy)]
pub struct TimeZoneEntry {
    /// The row's label, as in the spec.
    pub label: &'static str,
    /// The label's standard offset from UTC in minutes.
    pub offset_minutes: i16,
    /// The zone the row maps to; `None` for row 0 (fixed `TimeZone` offset).
    pub zone: Option<Zone>,
}

const fn row(
    label: &'static str,
    offset_minutes: i16,
    name: &'static str,
    rule: &'static str,
) -> TimeZoneEntry {
    TimeZoneEntry {
        label,
        offset_minutes,
        zone: Some(Zone { name, rule }),
    }
}

/// Table 1 of the appendix, all 85 rows, indexed by `TimeZoneIndex`. The rules come from
/// `scripts/tz-rules` (tzdata 2025b-0+deb12u2), not from memory.
pub const TIME_ZONES: [TimeZoneEntry; 85] = [
    TimeZoneEntry {
        label: "Unused timezone table",
        offset_minutes: 0,
        zone: None,
    },
    row(
        "(GMT-12:00) International Date Line West",
        -720,
        "Etc/GMT+12",
        "<-12>12",
    ),
    row(
        "(GMT-11:00) Midway Island, Samoa",
        -660,
        "Pacific/Pago_Pago",
        "SST11",
    ),
    row("(GMT-10:00) Hawaii", -600, "Pacific/Honolulu", "HST10"),
    row(
        "(GMT-09:00) Alaska",
        -540,
        "America/Anchorage",
        "AKST9AKDT,M3.2.0,M11.1.0",
    ),
    row(
        "(GMT-08:00) Pacific Time (US & Canada)",
        -480,
        "America/Los_Angeles",
        "PST8PDT,M3.2.0,M11.1.0",
    ),
    row(
        "(GMT-08:00) Tijuana, Baja California",
        -480,
        "America/Tijuana",
        "PST8PDT,M3.2.0,M11.1.0",
    ),
    row("(GMT-07:00) Arizona", -420, "America/Phoenix", "MST7"),
    row(
        "(GMT-07:00) Chihuahua, La Paz, Mazatlan",
        -420,
        "America/Mazatlan",
        "MST7",
    ),
    row(
        "(GMT-07:00) Mountain Time (US & Canada)",
        -420,
        "America/Denver",
        "MST7MDT,M3.2.0,M11.1.0",
    ),
    row(
        "(GMT-06:00) Central America",
        -360,
        "America/Guatemala",
        "CST6",
    ),
    row(
        "(GMT-06:00) Central Time (US & Canada)",
        -360,
        "America/Chicago",
        "CST6CDT,M3.2.0,M11.1.0",
    ),
    row(
        "(GMT-06:00) Guadalajara, Mexico City, Monterrey",
        -360,
        "America/Mexico_City",
        "CST6",
    ),
    row("(GMT-06:00) Saskatchewan", -360, "America/Regina", "CST6"),
    row(
        "(GMT-05:00) Bogota, Lima, Quito, Rio Branco",
        -300,
        "America/Bogota",
        "<-05>5",
    ),
    row(
        "(GMT-05:00) Eastern Time (US & Canada)",
        -300,
        "America/New_York",
        "EST5EDT,M3.2.0,M11.1.0",
    ),
    row(
        "(GMT-05:00) Indiana (East)",
        -300,
        "America/Indiana/Indianapolis",
        "EST5EDT,M3.2.0,M11.1.0",
    ),
    row("(GMT-04:30) Caracas", -270, "America/Caracas", "<-04>4"),
    row(
        "(GMT-04:00) Atlantic Time (Canada)",
        -240,
        "America/Halifax",
        "AST4ADT,M3.2.0,M11.1.0",
    ),
    row("(GMT-04:00) La Paz", -240, "America/La_Paz", "<-04>4"),
    row("(GMT-04:00) Manaus", -240, "America/Manaus", "<-04>4"),
    row(
        "(GMT-04:00) Santiago",
        -240,
        "America/Santiago",
        "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
    ),
    row(
        "(GMT-03:30) Newfoundland",
        -210,
        "America/St_Johns",
        "NST3:30NDT,M3.2.0,M11.1.0",
    ),
    row("(GMT-03:00) Brasilia", -180, "America/Sao_Paulo", "<-03>3"),
    row(
        "(GMT-03:00) Buenos Aires, Georgetown",
        -180,
        "America/Argentina/Buenos_Aires",
        "<-03>3",
    ),
    row(
        "(GMT-03:00) Greenland",
        -180,
        "America/Nuuk",
        "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
    ),
    row(
        "(GMT-03:00) Montevideo",
        -180,
        "America/Montevideo",
        "<-03>3",
    ),
    row(
        "(GMT-02:00) Mid-Atlantic",
        -120,
        "Atlantic/South_Georgia",
        "<-02>2",
    ),
    row(
        "(GMT-01:00) Azores",
        -60,
        "Atlantic/Azores",
        "<-01>1<+00>,M3.5.0/0,M10.5.0/1",
    ),
    row(
        "(GMT-01:00) Cape Verde Is.",
        -60,
        "Atlantic/Cape_Verde",
        "<-01>1",
    ),
    row(
        "(GMT) Casablanca, Monrovia, Reykjavik",
        0,
        "Atlantic/Reykjavik",
        "GMT0",
    ),
    row(
        "(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London",
        0,
        "Europe/London",
        "GMT0BST,M3.5.0/1,M10.5.0",
    ),
    row(
        "(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
        60,
        "Europe/Berlin",
        "CET-1CEST,M3.5.0,M10.5.0/3",
    ),
    row(
        "(GMT+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague",
        60,
        "Europe/Budapest",
        "CET-1CEST,M3.5.0,M10.5.0/3",
    ),
    row(
        "(GMT+01:00) Brussels, Copenhagen, Madrid, Paris",
        60,
        "Europe/Paris",
        "CET-1CEST,M3.5.0,M10.5.0/3",
    ),
    row(
        "(GMT+01:00) Sarajevo, Skopje, Warsaw, Zagreb",
        60,
        "Europe/Warsaw",
        "CET-1CEST,M3.5.0,M10.5.0/3",
    ),
    row(
        "(GMT+01:00) West Central Africa",
        60,
        "Africa/Lagos",
        "WAT-1",
    ),
    row("(GMT+02:00) Amman", 120, "Asia/Amman", "<+03>-3"),
    row(
        "(GMT+02:00) Athens, Bucharest, Istanbul",
        120,
        "Europe/Athens",
        "EET-2EEST,M3.5.0/3,M10.5.0/4",
    ),
    row(
        "(GMT+02:00) Beirut",
        120,
        "Asia/Beirut",
        "EET-2EEST,M3.5.0/0,M10.5.0/0",
    ),
    row(
        "(GMT+02:00) Cairo",
        120,
        "Africa/Cairo",
        "EET-2EEST,M4.5.5/0,M10.5.4/24",
    ),
    row(
        "(GMT+02:00) Harare, Pretoria",
        120,
        "Africa/Johannesburg",
        "SAST-2",
    ),
    row(
        "(GMT+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
        120,
        "Europe/Helsinki",
        "EET-2EEST,M3.5.0/3,M10.5.0/4",
    ),
    row(
        "(GMT+02:00) Jerusalem",
        120,
        "Asia/Jerusalem",
        "IST-2IDT,M3.4.4/26,M10.5.0",
    ),
    row("(GMT+02:00) Minsk", 120, "Europe/Minsk", "<+03>-3"),
    row("(GMT+02:00) Windhoek", 120, "Africa/Windhoek", "CAT-2"),
    row("(GMT+03:00) Baghdad", 180, "Asia/Baghdad", "<+03>-3"),
    row("(GMT+03:00) Kuwait, Riyadh", 180, "Asia/Riyadh", "<+03>-3"),
    row(
        "(GMT+03:00) Moscow, St. Petersburg, Volgograd",
        180,
        "Europe/Moscow",
        "MSK-3",
    ),
    row("(GMT+03:00) Nairobi", 180, "Africa/Nairobi", "EAT-3"),
    row("(GMT+03:00) Tbilisi", 180, "Asia/Tbilisi", "<+04>-4"),
    row("(GMT+03:30) Tehran", 210, "Asia/Tehran", "<+0330>-3:30"),
    row(
        "(GMT+04:00) Abu Dhabi, Muscat",
        240,
        "Asia/Dubai",
        "<+04>-4",
    ),
    row("(GMT+04:00) Baku", 240, "Asia/Baku", "<+04>-4"),
    row("(GMT+04:00) Yerevan", 240, "Asia/Yerevan", "<+04>-4"),
    row("(GMT+04:30) Kabul", 270, "Asia/Kabul", "<+0430>-4:30"),
    row(
        "(GMT+05:00) Ekaterinburg",
        300,
        "Asia/Yekaterinburg",
        "<+05>-5",
    ),
    row(
        "(GMT+05:00) Islamabad, Karachi, Tashkent",
        300,
        "Asia/Karachi",
        "PKT-5",
    ),
    row(
        "(GMT+05:30) Chennai, Kolkata, Mumbai, New Delhi",
        330,
        "Asia/Kolkata",
        "IST-5:30",
    ),
    row(
        "(GMT+05:30) Sri Jayawardenepura",
        330,
        "Asia/Colombo",
        "<+0530>-5:30",
    ),
    row(
        "(GMT+05:45) Kathmandu",
        345,
        "Asia/Kathmandu",
        "<+0545>-5:45",
    ),
    row(
        "(GMT+06:00) Almaty, Novosibirsk",
        360,
        "Asia/Almaty",
        "<+05>-5",
    ),
    row("(GMT+06:00) Astana, Dhaka", 360, "Asia/Dhaka", "<+06>-6"),
    row(
        "(GMT+06:30) Yangon (Rangoon)",
        390,
        "Asia/Yangon",
        "<+0630>-6:30",
    ),
    row(
        "(GMT+07:00) Bangkok, Hanoi, Jakarta",
        420,
        "Asia/Bangkok",
        "<+07>-7",
    ),
    row(
        "(GMT+07:00) Krasnoyarsk",
        420,
        "Asia/Krasnoyarsk",
        "<+07>-7",
    ),
    row(
        "(GMT+08:00) Beijing, Chongqing, Hong Kong, Urumqi",
        480,
        "Asia/Shanghai",
        "CST-8",
    ),
    row(
        "(GMT+08:00) Irkutsk, Ulaan Bataar",
        480,
        "Asia/Irkutsk",
        "<+08>-8",
    ),
    row(
        "(GMT+08:00) Kuala Lumpur, Singapore",
        480,
        "Asia/Singapore",
        "<+08>-8",
    ),
    row("(GMT+08:00) Perth", 480, "Australia/Perth", "AWST-8"),
    row("(GMT+08:00) Taipei", 480, "Asia/Taipei", "CST-8"),
    row(
        "(GMT+09:00) Osaka, Sapporo, Tokyo",
        540,
        "Asia/Tokyo",
        "JST-9",
    ),
    row("(GMT+09:00) Seoul", 540, "Asia/Seoul", "KST-9"),
    row("(GMT+09:00) Yakutsk", 540, "Asia/Yakutsk", "<+09>-9"),
    row(
        "(GMT+09:30) Adelaide",
        570,
        "Australia/Adelaide",
        "ACST-9:30ACDT,M10.1.0,M4.1.0/3",
    ),
    row("(GMT+09:30) Darwin", 570, "Australia/Darwin", "ACST-9:30"),
    row("(GMT+10:00) Brisbane", 600, "Australia/Brisbane", "AEST-10"),
    row(
        "(GMT+10:00) Canberra, Melbourne, Sydney",
        600,
        "Australia/Sydney",
        "AEST-10AEDT,M10.1.0,M4.1.0/3",
    ),
    row(
        "(GMT+10:00) Guam, Port Moresby",
        600,
        "Pacific/Port_Moresby",
        "<+10>-10",
    ),
    row(
        "(GMT+10:00) Hobart",
        600,
        "Australia/Hobart",
        "AEST-10AEDT,M10.1.0,M4.1.0/3",
    ),
    row(
        "(GMT+10:00) Vladivostok",
        600,
        "Asia/Vladivostok",
        "<+10>-10",
    ),
    row(
        "(GMT+11:00) Magadan, Solomon Is., New Caledonia",
        660,
        "Pacific/Guadalcanal",
        "<+11>-11",
    ),
    row(
        "(GMT+12:00) Auckland, Wellington",
        720,
        "Pacific/Auckland",
        "NZST-12NZDT,M9.5.0,M4.1.0/3",
    ),
    row(
        "(GMT+12:00) Fiji, Kamchatka, Marshall Is.",
        720,
        "Pacific/Fiji",
        "<+12>-12",
    ),
    row(
        "(GMT+13:00) Nuku'alofa",
        780,
        "Pacific/Tongatapu",
        "<+13>-13",
    ),
];

/// The `TimeZone` value shown for a `TimeZoneIndex` row: the label's standard offset in
/// whole hours, truncated toward zero (`GMT+05:30` → `+5`, `GMT-04:30` → `-4`).
/// `None` for row 0 and out-of-range indices.
pub fn derived_offset_hours(index: u8) -> Option<i8> {
    let entry = TIME_ZONES.get(usize::from(index))?;
    entry.zone?;
    i8::try_from(entry.offset_minutes / 60).ok()
}

/// The zone the camera's clock shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraTimeZone {
    /// A zone from Table 1, with its DST rule.
    Zone(&'static ZoneRule),
    /// Row 0: a fixed offset of `TimeZone` hours.
    Fixed(FixedOffset),
}

impl Default for CameraTimeZone {
    fn default() -> Self {
        CameraTimeZone::Fixed(utc_offset())
    }
}

fn utc_offset() -> FixedOffset {
    FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("0 is a valid offset"))
}

impl CameraTimeZone {
    /// The zone of a `TimeZoneIndex`/`TimeZone` pair; unknown rows fall back to the offset.
    /// The row's rule is parsed on its first use only.
    pub fn from_setting(index: u8, offset_hours: i8) -> Self {
        match ZoneRule::of_row(index) {
            Some(rule) => CameraTimeZone::Zone(rule),
            None => CameraTimeZone::Fixed(
                FixedOffset::east_opt(i32::from(offset_hours) * 3600).unwrap_or_else(utc_offset),
            ),
        }
    }

    /// The local wall-clock time of an instant.
    pub fn local(&self, at: SystemTime) -> NaiveDateTime {
        let utc: DateTime<Utc> = at.into();
        utc.with_timezone(&self.offset_at(utc.timestamp()))
            .naive_local()
    }

    /// Whether daylight saving time is in effect at an instant.
    pub fn is_dst(&self, at: SystemTime) -> bool {
        match self {
            CameraTimeZone::Zone(rule) => {
                let utc: DateTime<Utc> = at.into();
                rule.local_time_type(utc.timestamp())
                    .is_some_and(|t| t.is_dst())
            }
            CameraTimeZone::Fixed(_) => false,
        }
    }

    /// The zone as a POSIX TZ string: a row's rule (`CET-1CEST,M3.5.0,M10.5.0/3`), or for
    /// a fixed offset `UTC∓hh:mm`, whose sign is POSIX's: positive west of Greenwich.
    pub fn posix_tz(&self) -> String {
        match self {
            CameraTimeZone::Zone(rule) => rule.zone.rule.to_owned(),
            CameraTimeZone::Fixed(offset) => {
                let west = -offset.local_minus_utc();
                let sign = if west < 0 { '-' } else { '+' };
                let minutes = west.unsigned_abs() / 60;
                format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
            }
        }
    }

    /// The instant of a local wall-clock time; in a DST overlap the earlier one, in a
    /// DST gap `None` (that local time does not exist).
    pub fn instant(&self, local: NaiveDateTime) -> Option<SystemTime> {
        let utc = match self {
            CameraTimeZone::Zone(rule) => rule.earliest_instant(&local)?,
            CameraTimeZone::Fixed(offset) => match offset.from_local_datetime(&local) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                LocalResult::None => return None,
            },
        };
        Some(utc.into())
    }

    /// The offset from UTC at a Unix time; UTC for instants too far out for the rule.
    fn offset_at(&self, unix_time: i64) -> FixedOffset {
        match self {
            CameraTimeZone::Zone(rule) => rule
                .local_time_type(unix_time)
                .and_then(|t| FixedOffset::east_opt(t.ut_offset()))
                .unwrap_or_else(utc_offset),
            CameraTimeZone::Fixed(offset) => *offset,
        }
    }
}

/// A Table 1 zone with its rule parsed, ready for the clock.
#[derive(Debug, PartialEq, Eq)]
pub struct ZoneRule {
    zone: Zone,
    parsed: tz::TimeZone,
}

impl ZoneRule {
    /// The zone: its IANA name and rule.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// The parsed rule of a row; `None` for row 0, rows beyond the table and a rule that
    /// does not parse (logged; a unit test parses every row). Parsed once, on first use.
    fn of_row(index: u8) -> Option<&'static ZoneRule> {
        static PARSED: [OnceLock<Option<ZoneRule>>; TIME_ZONES.len()] =
            [const { OnceLock::new() }; TIME_ZONES.len()];
        let zone = TIME_ZONES.get(usize::from(index))?.zone?;
        PARSED[usize::from(index)]
            .get_or_init(|| match ZoneRule::parse(zone) {
                Ok(rule) => Some(rule),
                Err(e) => {
                    log::error!(
                        "time zone row {index} ({}): rule {:?} does not parse: {e}",
                        zone.name,
                        zone.rule
                    );
                    None
                }
            })
            .as_ref()
    }

    fn parse(zone: Zone) -> Result<Self, tz::TzError> {
        let parsed = tz::TimeZone::from_tz_data(&footer_only_tzif(zone.rule))?;
        Ok(ZoneRule { zone, parsed })
    }

    fn local_time_type(&self, unix_time: i64) -> Option<&tz::LocalTimeType> {
        self.parsed.find_local_time_type(unix_time).ok()
    }

    /// The earliest instant showing `local`; `None` in a gap (or out of the rule's range).
    fn earliest_instant(&self, local: &NaiveDateTime) -> Option<DateTime<Utc>> {
        let found = tz::DateTime::find(
            local.year(),
            u8::try_from(local.month()).ok()?,
            u8::try_from(local.day()).ok()?,
            u8::try_from(local.hour()).ok()?,
            u8::try_from(local.minute()).ok()?,
            u8::try_from(local.second()).ok()?,
            local.nanosecond().min(999_999_999),
            self.parsed.as_ref(),
        )
        .ok()?;
        // Found times come in ascending order; a gap is a single `Skipped`.
        match found.into_inner().first()? {
            FoundDateTimeKind::Normal(t) => {
                DateTime::from_timestamp(t.unix_time(), t.nanoseconds())
            }
            FoundDateTimeKind::Skipped { .. } => None,
        }
    }
}

/// `rule` as the footer of a TZif version 3 file (RFC 8536) with no transitions, so that
/// the footer alone gives local time at every instant. tz-rs parses a footer with the
/// extensions of §3.3.1 (transition hours outside 0..=24), which tzdata uses for two rows
/// (Nuuk's `M3.5.0/-1`, Jerusalem's `M3.4.4/26`); its `from_posix_tz` accepts strict POSIX
/// only.
fn footer_only_tzif(rule: &str) -> Vec<u8> {
    const DESIGNATION: &[u8] = b"-00\0";
    let mut block = Vec::with_capacity(64);
    block.extend_from_slice(b"TZif3");
    block.extend_from_slice(&[0; 15]);
    // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt: one time type, because a
    // TZif file needs one, and its designation; the footer overrides it everywhere.
    for count in [0, 0, 0, 0, 1, DESIGNATION.len() as u32] {
        block.extend_from_slice(&count.to_be_bytes());
    }
    // That time type: UT offset 0, not DST, designation at index 0.
    block.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    block.extend_from_slice(DESIGNATION);
    // Without transitions the version 1 data block and the version 2+ one are the same.
    let mut file = block.repeat(2);
    file.push(b'\n');
    file.extend_from_slice(rule.as_bytes());
    file.push(b'\n');
    file
}

/// Length of `yyyy-mm-dd hh:mm:ss`.
pub const DATE_TIME_LEN: usize = 19;

/// Writes `yyyy-mm-dd hh:mm:ss` into `buf` and returns it as text; no allocation, for the
/// per-frame MJPEG header. Years outside 0..=9999 are clamped to four digits.
pub fn format_date_time<'b>(local: &NaiveDateTime, buf: &'b mut [u8; DATE_TIME_LEN]) -> &'b str {
    let year = local.year().clamp(0, 9999) as u32;
    let fields = [
        (0, 4, year),
        (5, 2, local.month()),
        (8, 2, local.day()),
        (11, 2, local.hour()),
        (14, 2, local.minute()),
        (17, 2, local.second().min(59)),
    ];
    *buf = *b"0000-00-00 00:00:00";
    for (start, width, mut value) in fields {
        for i in (start..start + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    // Only ASCII digits, '-', ' ' and ':' were written.
    std::str::from_utf8(buf).unwrap_or_default()
}

/// The camera's clock: system time plus an offset (set manually on the sim platform), in
/// the configured zone. Clones share the same clock.
#[derive(Debug, Clone, Default)]
pub struct CameraClock {
    inner: Arc<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    /// Milliseconds added to the system clock.
    offset_ms: AtomicI64,
    /// `TimeZoneIndex` in the low byte, `TimeZone + 12` in the high byte.
    zone: AtomicU16,
}

const ZONE_OFFSET_BIAS: i16 = 12;

impl CameraClock {
    /// A clock on system time in UTC.
    pub fn new() -> Self {
        let clock = Self::default();
        clock.set_time_zone(0, 0);
        clock
    }

    /// The current instant of the camera's clock.
    pub fn now(&self) -> SystemTime {
        shift(
            SystemTime::now(),
            self.inner.offset_ms.load(Ordering::Relaxed),
        )
    }

    /// The configured zone.
    pub fn time_zone(&self) -> CameraTimeZone {
        let packed = self.inner.zone.load(Ordering::Relaxed);
        let index = (packed & 0xff) as u8;
        let offset = ((packed >> 8) as i16 - ZONE_OFFSET_BIAS) as i8;
        CameraTimeZone::from_setting(index, offset)
    }

    /// The current local wall-clock time.
    pub fn now_local(&self) -> NaiveDateTime {
        self.time_zone().local(self.now())
    }

    /// The current local time as `yyyy-mm-dd hh:mm:ss`, written into `buf`.
    pub fn format_now<'b>(&self, buf: &'b mut [u8; DATE_TIME_LEN]) -> &'b str {
        format_date_time(&self.now_local(), buf)
    }

    /// Switches the zone (`TimeZoneIndex`, `TimeZone`). The row's rule is parsed here, on
    /// the configuration thread, so that [`CameraClock::format_now`] never allocates.
    pub fn set_time_zone(&self, index: u8, offset_hours: i8) {
        ZoneRule::of_row(index);
        let high = (i16::from(offset_hours) + ZONE_OFFSET_BIAS).clamp(0, 255) as u16;
        self.inner
            .zone
            .store((high << 8) | u16::from(index), Ordering::Relaxed);
    }

    /// Makes [`CameraClock::now`] read `target` from now on, by offsetting system time.
    pub fn set_now(&self, target: SystemTime) {
        let offset = millis_since_epoch(target) - millis_since_epoch(SystemTime::now());
        self.inner.offset_ms.store(offset, Ordering::Relaxed);
    }
}

fn millis_since_epoch(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

fn shift(t: SystemTime, offset_ms: i64) -> SystemTime {
    let magnitude = Duration::from_millis(offset_ms.unsigned_abs());
    if offset_ms >= 0 {
        t + magnitude
    } else {
        t - magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> SystemTime {
        let naive = NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h, mi, s))
            .expect("valid test date");
        Utc.from_utc_datetime(&naive).into()
    }

    fn text(t: NaiveDateTime) -> String {
        let mut buf = [0; DATE_TIME_LEN];
        format_date_time(&t, &mut buf).to_owned()
    }

    #[test]
    fn the_table_has_all_85_rows_with_offsets_matching_their_labels() {
        assert_eq!(TIME_ZONES.len(), 85);
        assert!(TIME_ZONES[0].zone.is_none());
        for (index, entry) in TIME_ZONES.iter().enumerate().skip(1) {
            assert!(entry.zone.is_some(), "row {index}");
            let sign = if entry.offset_minutes < 0 { '-' } else { '+' };
            let m = entry.offset_minutes.unsigned_abs();
            let label = format!("(GMT{sign}{:02}:{:02})", m / 60, m % 60);
            let gmt = entry.label.starts_with("(GMT)") && m == 0;
            assert!(
                gmt || entry.label.starts_with(&label),
                "row {index}: {}",
                entry.label
            );
        }
        assert_eq!(TIME_ZONES[84].label, "(GMT+13:00) Nuku'alofa");
    }

    #[test]
    fn berlin_keeps_daylight_saving_time() {
        let berlin = CameraTimeZone::from_setting(32, 1);
        assert_eq!(
            text(berlin.local(at(2024, 1, 15, 12, 0, 0))),
            "2024-01-15 13:00:00"
        );
        assert_eq!(
            text(berlin.local(at(2024, 7, 15, 12, 0, 0))),
            "2024-07-15 14:00:00"
        );
    }

    #[test]
    fn row_zero_is_a_fixed_offset() {
        let utc = CameraTimeZone::from_setting(0, 0);
        assert_eq!(
            text(utc.local(at(2024, 7, 15, 12, 0, 0))),
            "2024-07-15 12:00:00"
        );
        let minus5 = CameraTimeZone::from_setting(0, -5);
        assert_eq!(
            text(minus5.local(at(2024, 7, 15, 2, 0, 0))),
            "2024-07-14 21:00:00"
        );
    }

    #[test]
    fn derived_offsets_truncate_half_hours_toward_zero() {
        assert_eq!(derived_offset_hours(58), Some(5));
        assert_eq!(derived_offset_hours(17), Some(-4));
        assert_eq!(derived_offset_hours(1), Some(-12));
        assert_eq!(derived_offset_hours(84), Some(13));
        assert_eq!(derived_offset_hours(0), None);
        assert_eq!(derived_offset_hours(85), None);
    }

    #[test]
    fn local_times_in_a_dst_gap_do_not_exist() {
        let berlin = CameraTimeZone::from_setting(32, 1);
        let gap = NaiveDate::from_ymd_opt(2024, 3, 31)
            .and_then(|d| d.and_hms_opt(2, 30, 0))
            .expect("valid");
        assert_eq!(berlin.instant(gap), None);
        let noon = gap
            .with_hour(12)
            .and_then(|t| t.with_minute(0))
            .expect("valid");
        assert_eq!(berlin.instant(noon), Some(at(2024, 3, 31, 10, 0, 0)));
    }

    #[test]
    fn the_clock_follows_its_zone_and_offset() {
        let clock = CameraClock::new();
        let target = at(2030, 1, 2, 3, 4, 5);
        clock.set_now(target);
        clock.set_time_zone(71, 9);
        let mut buf = [0; DATE_TIME_LEN];
        let shown = clock.format_now(&mut buf).to_owned();
        // Tokyo is UTC+9 without DST; the clock may have ticked a second meanwhile.
        assert!(shown.starts_with("2030-01-02 12:04:0"), "{shown}");
        clock.set_time_zone(0, -12);
        assert_eq!(clock.time_zone(), CameraTimeZone::from_setting(0, -12));
    }

    #[test]
    fn formatting_pads_every_field() {
        let t = NaiveDate::from_ymd_opt(987, 1, 2)
            .and_then(|d| d.and_hms_opt(3, 4, 5))
            .expect("valid");
        assert_eq!(text(t), "0987-01-02 03:04:05");
    }
    /// The `TimeZoneIndex` of the row mapped to an IANA zone.
    fn row_of(name: &str) -> u8 {
        let index = TIME_ZONES
            .iter()
            .position(|entry| entry.zone.is_some_and(|zone| zone.name == name))
            .expect("zone in the table");
        u8::try_from(index).expect("85 rows")
    }

    fn naive(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h, mi, 0))
            .expect("valid test date")
    }

    #[test]
    fn every_rows_rule_parses() {
        for index in 1..TIME_ZONES.len() as u8 {
            let zone = TIME_ZONES[usize::from(index)].zone.expect("zone");
            let parsed = ZoneRule::of_row(index)
                .unwrap_or_else(|| panic!("row {index} ({}): {:?}", zone.name, zone.rule));
            assert_eq!(parsed.zone(), zone);
            assert_eq!(
                CameraTimeZone::from_setting(index, 0),
                CameraTimeZone::Zone(parsed),
                "row {index}"
            );
        }
    }

    #[test]
    fn in_a_dst_overlap_the_earlier_instant_counts() {
        let berlin = CameraTimeZone::from_setting(32, 1);
        // 2024-10-27: clocks go back from 03:00 CEST to 02:00 CET; 02:30 happens twice.
        let twice = naive(2024, 10, 27, 2, 30);
        assert_eq!(berlin.instant(twice), Some(at(2024, 10, 27, 0, 30, 0)));
        assert_eq!(
            text(berlin.local(at(2024, 10, 27, 1, 30, 0))),
            "2024-10-27 02:30:00"
        );
    }

    #[test]
    fn rules_beyond_posix_hours_switch_when_tzdata_says() {
        // Israel: DST from the Friday before the last Sunday of March, 02:00
        // (`M3.4.4/26`: the fourth Thursday plus 26 hours), 2025-03-28 02:00 IST = 00:00 UTC.
        let jerusalem = CameraTimeZone::from_setting(row_of("Asia/Jerusalem"), 2);
        assert_eq!(
            text(jerusalem.local(at(2025, 3, 27, 23, 59, 59))),
            "2025-03-28 01:59:59"
        );
        assert_eq!(
            text(jerusalem.local(at(2025, 3, 28, 0, 0, 0))),
            "2025-03-28 03:00:00"
        );
        // Greenland: DST from the last Sunday of March at -01:00, i.e. Saturday 23:00 local
        // (`M3.5.0/-1`): 2025-03-29 23:00 -02 = 2025-03-30 01:00 UTC.
        let nuuk = CameraTimeZone::from_setting(row_of("America/Nuuk"), -3);
        assert!(!nuuk.is_dst(at(2025, 3, 30, 0, 59, 59)));
        assert!(nuuk.is_dst(at(2025, 3, 30, 1, 0, 0)));
        assert_eq!(
            text(nuuk.local(at(2025, 3, 30, 1, 0, 0))),
            "2025-03-30 00:00:00"
        );
    }

    #[test]
    fn the_posix_tz_of_a_row_is_its_rule_and_of_row_zero_its_offset() {
        let berlin = CameraTimeZone::from_setting(32, 1);
        assert_eq!(berlin.posix_tz(), "CET-1CEST,M3.5.0,M10.5.0/3");
        assert!(!berlin.is_dst(at(2025, 1, 15, 12, 0, 0)));
        assert!(berlin.is_dst(at(2025, 7, 15, 12, 0, 0)));
        // POSIX counts west of Greenwich as positive.
        assert_eq!(CameraTimeZone::from_setting(0, 1).posix_tz(), "UTC-01:00");
        assert_eq!(CameraTimeZone::from_setting(0, -5).posix_tz(), "UTC+05:00");
        assert_eq!(CameraTimeZone::from_setting(0, 0).posix_tz(), "UTC+00:00");
        assert!(!CameraTimeZone::from_setting(0, 3).is_dst(at(2025, 7, 15, 12, 0, 0)));
    }

    /// Each row's rule against the system's compiled zone of the same name (a TZif file
    /// with the zone's explicit transitions through 2037 on Debian), every hour from 2025
    /// to 2036 and to the second at every transition the system's zone makes.
    #[test]
    fn every_rule_matches_the_system_zone_2025_to_2036() {
        const ZONEINFO: &str = "/usr/share/zoneinfo";
        let (start, end) = (1_735_689_600_i64, 2_082_758_400_i64); // 2025-01-01, 2036-01-01 UTC
        if !std::path::Path::new(ZONEINFO)
            .join("Europe/Berlin")
            .exists()
        {
            println!("SKIP: {ZONEINFO} is missing (Debian's tzdata); run .ci/tz-deps");
            return;
        }
        let mut mismatches = Vec::new();
        for index in 1..TIME_ZONES.len() as u8 {
            let zone = TIME_ZONES[usize::from(index)].zone.expect("zone");
            let ours = ZoneRule::of_row(index).expect("parses");
            let path = format!("{ZONEINFO}/{}", zone.name);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let system = tz::TimeZone::from_tz_data(&bytes).expect("system zone parses");
            let type_at = |rules: &tz::TimeZone, t: i64| {
                let found = rules.find_local_time_type(t).expect("in range");
                (found.ut_offset(), found.is_dst())
            };
            let utc = |t: i64| DateTime::from_timestamp(t, 0).unwrap_or_default();
            let differs = |t: i64| type_at(&ours.parsed, t) != type_at(&system, t);
            let mut t = start;
            while t < end {
                if differs(t) {
                    mismatches.push(format!("row {index} {} at {}", zone.name, utc(t)));
                    break;
                }
                let next = t + 3600;
                if type_at(&system, t) != type_at(&system, next) {
                    // Bisect to the system's transition second, and check either side of it.
                    let (mut before, mut after) = (t, next);
                    while after - before > 1 {
                        let mid = (before + after) / 2;
                        if type_at(&system, mid) == type_at(&system, before) {
                            before = mid;
                        } else {
                            after = mid;
                        }
                    }
                    if differs(before) || differs(after) {
                        mismatches.push(format!("row {index} {} at {}", zone.name, utc(after)));
                        break;
                    }
                }
                t = next;
            }
        }
        assert!(
            mismatches.is_empty(),
            "rules differing from {ZONEINFO} (run scripts/tz-rules): {mismatches:#?}"
        );
    }
}
