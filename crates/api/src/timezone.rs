//! The camera's wall clock: Table 1 (`TimeZoneIndex`) mapped to IANA zones, and the
//! `yyyy-mm-dd hh:mm:ss` formatter shared by `/datetime.cgi`, `/activeuser.cgi`,
//! `/iocontrol.cgi` and the MJPEG part headers.
//!
//! "Time values use the camera's configured time zone" (DESIGN.md). The spec's table
//! names Windows-style zones of 2008; each row maps to the IANA zone of its first city,
//! so DST follows today's rules (`chrono-tz`), not the 2008 label. Row 0 ("Unused timezone
//! table") is a fixed offset of `TimeZone` whole hours, UTC by default.
//!
//! [`CameraClock`] is a cheap cloneable handle: the event loop formats the current local
//! time into a stack buffer with no allocation and no lock, while the configuration
//! thread changes the zone (and, on the sim platform, the clock offset) atomically.

use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDateTime, TimeZone as _, Timelike, Utc,
};
use chrono_tz::Tz;

/// One row of Table 1.
#[derive(Debug, Clone, Copy)]
pub struct TimeZoneEntry {
    /// The row's label, as in the spec.
    pub label: &'static str,
    /// The label's standard offset from UTC in minutes.
    pub offset_minutes: i16,
    /// The IANA zone the row maps to; `None` for row 0 (fixed `TimeZone` offset).
    pub zone: Option<Tz>,
}

const fn row(label: &'static str, offset_minutes: i16, zone: Tz) -> TimeZoneEntry {
    TimeZoneEntry {
        label,
        offset_minutes,
        zone: Some(zone),
    }
}

/// Table 1 of the appendix, all 85 rows, indexed by `TimeZoneIndex`.
pub const TIME_ZONES: [TimeZoneEntry; 85] = [
    TimeZoneEntry {
        label: "Unused timezone table",
        offset_minutes: 0,
        zone: None,
    },
    row(
        "(GMT-12:00) International Date Line West",
        -720,
        Tz::Etc__GMTPlus12,
    ),
    row(
        "(GMT-11:00) Midway Island, Samoa",
        -660,
        Tz::Pacific__Pago_Pago,
    ),
    row("(GMT-10:00) Hawaii", -600, Tz::Pacific__Honolulu),
    row("(GMT-09:00) Alaska", -540, Tz::America__Anchorage),
    row(
        "(GMT-08:00) Pacific Time (US & Canada)",
        -480,
        Tz::America__Los_Angeles,
    ),
    row(
        "(GMT-08:00) Tijuana, Baja California",
        -480,
        Tz::America__Tijuana,
    ),
    row("(GMT-07:00) Arizona", -420, Tz::America__Phoenix),
    row(
        "(GMT-07:00) Chihuahua, La Paz, Mazatlan",
        -420,
        Tz::America__Mazatlan,
    ),
    row(
        "(GMT-07:00) Mountain Time (US & Canada)",
        -420,
        Tz::America__Denver,
    ),
    row("(GMT-06:00) Central America", -360, Tz::America__Guatemala),
    row(
        "(GMT-06:00) Central Time (US & Canada)",
        -360,
        Tz::America__Chicago,
    ),
    row(
        "(GMT-06:00) Guadalajara, Mexico City, Monterrey",
        -360,
        Tz::America__Mexico_City,
    ),
    row("(GMT-06:00) Saskatchewan", -360, Tz::America__Regina),
    row(
        "(GMT-05:00) Bogota, Lima, Quito, Rio Branco",
        -300,
        Tz::America__Bogota,
    ),
    row(
        "(GMT-05:00) Eastern Time (US & Canada)",
        -300,
        Tz::America__New_York,
    ),
    row(
        "(GMT-05:00) Indiana (East)",
        -300,
        Tz::America__Indiana__Indianapolis,
    ),
    row("(GMT-04:30) Caracas", -270, Tz::America__Caracas),
    row(
        "(GMT-04:00) Atlantic Time (Canada)",
        -240,
        Tz::America__Halifax,
    ),
    row("(GMT-04:00) La Paz", -240, Tz::America__La_Paz),
    row("(GMT-04:00) Manaus", -240, Tz::America__Manaus),
    row("(GMT-04:00) Santiago", -240, Tz::America__Santiago),
    row("(GMT-03:30) Newfoundland", -210, Tz::America__St_Johns),
    row("(GMT-03:00) Brasilia", -180, Tz::America__Sao_Paulo),
    row(
        "(GMT-03:00) Buenos Aires, Georgetown",
        -180,
        Tz::America__Argentina__Buenos_Aires,
    ),
    row("(GMT-03:00) Greenland", -180, Tz::America__Nuuk),
    row("(GMT-03:00) Montevideo", -180, Tz::America__Montevideo),
    row(
        "(GMT-02:00) Mid-Atlantic",
        -120,
        Tz::Atlantic__South_Georgia,
    ),
    row("(GMT-01:00) Azores", -60, Tz::Atlantic__Azores),
    row("(GMT-01:00) Cape Verde Is.", -60, Tz::Atlantic__Cape_Verde),
    row(
        "(GMT) Casablanca, Monrovia, Reykjavik",
        0,
        Tz::Atlantic__Reykjavik,
    ),
    row(
        "(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London",
        0,
        Tz::Europe__London,
    ),
    row(
        "(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
        60,
        Tz::Europe__Berlin,
    ),
    row(
        "(GMT+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague",
        60,
        Tz::Europe__Budapest,
    ),
    row(
        "(GMT+01:00) Brussels, Copenhagen, Madrid, Paris",
        60,
        Tz::Europe__Paris,
    ),
    row(
        "(GMT+01:00) Sarajevo, Skopje, Warsaw, Zagreb",
        60,
        Tz::Europe__Warsaw,
    ),
    row("(GMT+01:00) West Central Africa", 60, Tz::Africa__Lagos),
    row("(GMT+02:00) Amman", 120, Tz::Asia__Amman),
    row(
        "(GMT+02:00) Athens, Bucharest, Istanbul",
        120,
        Tz::Europe__Athens,
    ),
    row("(GMT+02:00) Beirut", 120, Tz::Asia__Beirut),
    row("(GMT+02:00) Cairo", 120, Tz::Africa__Cairo),
    row(
        "(GMT+02:00) Harare, Pretoria",
        120,
        Tz::Africa__Johannesburg,
    ),
    row(
        "(GMT+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
        120,
        Tz::Europe__Helsinki,
    ),
    row("(GMT+02:00) Jerusalem", 120, Tz::Asia__Jerusalem),
    row("(GMT+02:00) Minsk", 120, Tz::Europe__Minsk),
    row("(GMT+02:00) Windhoek", 120, Tz::Africa__Windhoek),
    row("(GMT+03:00) Baghdad", 180, Tz::Asia__Baghdad),
    row("(GMT+03:00) Kuwait, Riyadh", 180, Tz::Asia__Riyadh),
    row(
        "(GMT+03:00) Moscow, St. Petersburg, Volgograd",
        180,
        Tz::Europe__Moscow,
    ),
    row("(GMT+03:00) Nairobi", 180, Tz::Africa__Nairobi),
    row("(GMT+03:00) Tbilisi", 180, Tz::Asia__Tbilisi),
    row("(GMT+03:30) Tehran", 210, Tz::Asia__Tehran),
    row("(GMT+04:00) Abu Dhabi, Muscat", 240, Tz::Asia__Dubai),
    row("(GMT+04:00) Baku", 240, Tz::Asia__Baku),
    row("(GMT+04:00) Yerevan", 240, Tz::Asia__Yerevan),
    row("(GMT+04:30) Kabul", 270, Tz::Asia__Kabul),
    row("(GMT+05:00) Ekaterinburg", 300, Tz::Asia__Yekaterinburg),
    row(
        "(GMT+05:00) Islamabad, Karachi, Tashkent",
        300,
        Tz::Asia__Karachi,
    ),
    row(
        "(GMT+05:30) Chennai, Kolkata, Mumbai, New Delhi",
        330,
        Tz::Asia__Kolkata,
    ),
    row("(GMT+05:30) Sri Jayawardenepura", 330, Tz::Asia__Colombo),
    row("(GMT+05:45) Kathmandu", 345, Tz::Asia__Kathmandu),
    row("(GMT+06:00) Almaty, Novosibirsk", 360, Tz::Asia__Almaty),
    row("(GMT+06:00) Astana, Dhaka", 360, Tz::Asia__Dhaka),
    row("(GMT+06:30) Yangon (Rangoon)", 390, Tz::Asia__Yangon),
    row(
        "(GMT+07:00) Bangkok, Hanoi, Jakarta",
        420,
        Tz::Asia__Bangkok,
    ),
    row("(GMT+07:00) Krasnoyarsk", 420, Tz::Asia__Krasnoyarsk),
    row(
        "(GMT+08:00) Beijing, Chongqing, Hong Kong, Urumqi",
        480,
        Tz::Asia__Shanghai,
    ),
    row("(GMT+08:00) Irkutsk, Ulaan Bataar", 480, Tz::Asia__Irkutsk),
    row(
        "(GMT+08:00) Kuala Lumpur, Singapore",
        480,
        Tz::Asia__Singapore,
    ),
    row("(GMT+08:00) Perth", 480, Tz::Australia__Perth),
    row("(GMT+08:00) Taipei", 480, Tz::Asia__Taipei),
    row("(GMT+09:00) Osaka, Sapporo, Tokyo", 540, Tz::Asia__Tokyo),
    row("(GMT+09:00) Seoul", 540, Tz::Asia__Seoul),
    row("(GMT+09:00) Yakutsk", 540, Tz::Asia__Yakutsk),
    row("(GMT+09:30) Adelaide", 570, Tz::Australia__Adelaide),
    row("(GMT+09:30) Darwin", 570, Tz::Australia__Darwin),
    row("(GMT+10:00) Brisbane", 600, Tz::Australia__Brisbane),
    row(
        "(GMT+10:00) Canberra, Melbourne, Sydney",
        600,
        Tz::Australia__Sydney,
    ),
    row(
        "(GMT+10:00) Guam, Port Moresby",
        600,
        Tz::Pacific__Port_Moresby,
    ),
    row("(GMT+10:00) Hobart", 600, Tz::Australia__Hobart),
    row("(GMT+10:00) Vladivostok", 600, Tz::Asia__Vladivostok),
    row(
        "(GMT+11:00) Magadan, Solomon Is., New Caledonia",
        660,
        Tz::Pacific__Guadalcanal,
    ),
    row(
        "(GMT+12:00) Auckland, Wellington",
        720,
        Tz::Pacific__Auckland,
    ),
    row(
        "(GMT+12:00) Fiji, Kamchatka, Marshall Is.",
        720,
        Tz::Pacific__Fiji,
    ),
    row("(GMT+13:00) Nuku'alofa", 780, Tz::Pacific__Tongatapu),
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
    /// An IANA zone from Table 1, with its DST rules.
    Zone(Tz),
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
    pub fn from_setting(index: u8, offset_hours: i8) -> Self {
        match TIME_ZONES.get(usize::from(index)).and_then(|e| e.zone) {
            Some(tz) => CameraTimeZone::Zone(tz),
            None => CameraTimeZone::Fixed(
                FixedOffset::east_opt(i32::from(offset_hours) * 3600).unwrap_or_else(utc_offset),
            ),
        }
    }

    /// The local wall-clock time of an instant.
    pub fn local(&self, at: SystemTime) -> NaiveDateTime {
        let utc: DateTime<Utc> = at.into();
        match self {
            CameraTimeZone::Zone(tz) => utc.with_timezone(tz).naive_local(),
            CameraTimeZone::Fixed(offset) => utc.with_timezone(offset).naive_local(),
        }
    }

    /// The instant of a local wall-clock time; in a DST overlap the earlier one, in a
    /// DST gap `None` (that local time does not exist).
    pub fn instant(&self, local: NaiveDateTime) -> Option<SystemTime> {
        let utc = match self {
            CameraTimeZone::Zone(tz) => {
                earliest(tz.from_local_datetime(&local))?.with_timezone(&Utc)
            }
            CameraTimeZone::Fixed(offset) => {
                earliest(offset.from_local_datetime(&local))?.with_timezone(&Utc)
            }
        };
        Some(utc.into())
    }
}

fn earliest<T: chrono::TimeZone>(result: LocalResult<DateTime<T>>) -> Option<DateTime<T>> {
    match result {
        LocalResult::Single(t) => Some(t),
        LocalResult::Ambiguous(early, _) => Some(early),
        LocalResult::None => None,
    }
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

    /// Switches the zone (`TimeZoneIndex`, `TimeZone`).
    pub fn set_time_zone(&self, index: u8, offset_hours: i8) {
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
}
