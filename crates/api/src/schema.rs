//! The one description of every configurable parameter.
//!
//! Each chapter-3 section is declared once with [`section!`]: field, spec name, value
//! [`Kind`] and factory default (in wire spelling). That declaration generates the Rust
//! struct kept in the state file, its `Default` (the factory values, parsed through the same
//! rules a client's value goes through) and the ordered [`Param`] table that the generic
//! [`apply`] and [`render`] walk. Nothing else in the crate knows a parameter name of a
//! configuration section, so the order, spellings and limits cannot drift apart.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use chrono::{NaiveDate, NaiveTime};

use crate::error::ApiError;

/// What values a parameter takes, in the spec's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer in `min..=max` (`1...128`, `#`).
    Range {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// One of the listed integers (`1, 4, 5`, `0, 3`).
    OneOf(&'static [i64]),
    /// A signed whole-hour offset rendered with an explicit `+` (`TimeZone`).
    Offset {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// One of the listed spellings; matched ignoring case, stored in the spec's spelling.
    Choice(&'static [&'static str]),
    /// UTF-8 text of at most `max` characters without control characters.
    Text {
        /// Largest length in characters.
        max: usize,
    },
    /// Like [`Kind::Text`], but a file name: no `/` or `\`.
    FileName {
        /// Largest length in characters.
        max: usize,
    },
    /// A host name or an IPv4 address, or empty for "not configured".
    Host {
        /// Largest length in characters.
        max: usize,
    },
    /// An IPv4 address `xxx.xxx.xxx.xxx`.
    Ipv4,
    /// A time `hh:mm:ss`.
    Time,
    /// A date `yyyy-mm-dd`.
    Date,
    /// `Yes` or `No`.
    YesNo,
}

/// A parsed, valid value of some [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// From [`Kind::Range`], [`Kind::OneOf`] and [`Kind::Offset`].
    Int(i64),
    /// From [`Kind::Text`], [`Kind::FileName`], [`Kind::Host`] and [`Kind::Choice`].
    Text(String),
    /// From [`Kind::Ipv4`].
    Ip(Ipv4Addr),
    /// From [`Kind::Time`].
    Time(NaiveTime),
    /// From [`Kind::Date`].
    Date(NaiveDate),
    /// From [`Kind::YesNo`].
    Flag(bool),
}

/// One row of a resource table: the spec name, its kind, its factory value and how it
/// reaches the field of the section struct `S`.
pub struct Param<S: 'static> {
    /// The spec's parameter name, without spaces (`FTPScheduleFileMode`).
    pub name: &'static str,
    /// Allowed values.
    pub kind: Kind,
    /// The factory value in wire spelling.
    pub default: &'static str,
    /// Reads the field.
    pub get: fn(&S) -> Value,
    /// Writes the field with a value already validated against `kind`.
    pub set: fn(&mut S, Value),
}

/// A configuration section described by a [`Param`] table.
pub trait Section: Clone + 'static {
    /// The rows in spec order; extensions last.
    const PARAMS: &'static [Param<Self>];

    /// Rules that involve more than one parameter, checked on the would-be section
    /// after all values of a request are applied to a copy.
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }

    /// Rules a client's change must meet on top of [`Section::check`] that a state file
    /// written by an earlier build may break without being corrupt (an empty password,
    /// an address the mailer refuses). The state file is not held to them: refusing it
    /// would throw away every setting for one value the owner can correct.
    fn check_request(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// A Rust field type that holds a [`Value`].
pub trait Field: Sized {
    /// The field as a value.
    fn to_value(&self) -> Value;
    /// The field from a value of the matching kind; `None` means the schema pairs a kind
    /// with the wrong field type (caught by each section's round-trip test).
    fn from_value(value: Value) -> Option<Self>;
}

macro_rules! int_field {
    ($($ty:ty),*) => {$(
        impl Field for $ty {
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
            fn from_value(value: Value) -> Option<Self> {
                match value {
                    Value::Int(n) => <$ty>::try_from(n).ok(),
                    _ => None,
                }
            }
        }
    )*};
}
int_field!(u8, u16, u32, i8);

impl Field for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl Field for Ipv4Addr {
    fn to_value(&self) -> Value {
        Value::Ip(*self)
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Ip(ip) => Some(ip),
            _ => None,
        }
    }
}

impl Field for NaiveTime {
    fn to_value(&self) -> Value {
        Value::Time(*self)
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Time(t) => Some(t),
            _ => None,
        }
    }
}

impl Field for bool {
    fn to_value(&self) -> Value {
        Value::Flag(*self)
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Flag(b) => Some(b),
            _ => None,
        }
    }
}

/// Writes `value` into `field`; a kind/field mismatch is a schema bug, reported loudly in
/// debug builds and leaving the field unchanged in release builds.
pub fn assign<T: Field>(field: &mut T, value: Value) {
    match T::from_value(value) {
        Some(v) => *field = v,
        None => debug_assert!(false, "schema kind does not match the field type"),
    }
}

/// The factory value of a field, parsed from its wire spelling by the client's rules.
///
/// # Panics
/// If a default in a [`section!`] declaration is not a valid value of its kind; every
/// section's `Default` is exercised by its tests.
pub fn default_of<T: Field>(name: &str, kind: &Kind, default: &str) -> T {
    parse(kind, default)
        .ok()
        .and_then(T::from_value)
        .unwrap_or_else(|| panic!("factory default of {name} is invalid"))
}

/// Declares a configuration section: the struct, its factory `Default` and its
/// [`Section::PARAMS`] table, in spec order.
macro_rules! section {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $wire:literal, $kind:expr, $default:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            const PARAM_TABLE: &'static [$crate::schema::Param<$name>] = &[
                $( $crate::schema::Param {
                    name: $wire,
                    kind: $kind,
                    default: $default,
                    get: |s: &$name| $crate::schema::Field::to_value(&s.$field),
                    set: |s: &mut $name, v| $crate::schema::assign(&mut s.$field, v),
                }, )*
            ];
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $crate::schema::default_of($wire, &$kind, $default), )* }
            }
        }
    };
}
pub(crate) use section;

/// Parses one wire value of `kind`; the error is the reason without the parameter name.
pub fn parse(kind: &Kind, raw: &str) -> Result<Value, String> {
    match *kind {
        Kind::Range { min, max } | Kind::Offset { min, max } => parse_int(raw, min, max),
        Kind::OneOf(allowed) => parse_one_of(raw, allowed),
        Kind::Choice(spellings) => parse_choice(raw, spellings),
        Kind::Text { max } => parse_text(raw, max).map(Value::Text),
        Kind::FileName { max } => parse_file_name(raw, max),
        Kind::Host { max } => parse_host(raw, max),
        Kind::Ipv4 => parse_ipv4(raw),
        Kind::Time => parse_time(raw).map(Value::Time),
        Kind::Date => parse_date(raw).map(Value::Date),
        Kind::YesNo => parse_yes_no(raw).map(Value::Flag),
    }
}

/// Renders a value of `kind` in wire spelling.
pub fn format_value(kind: &Kind, value: &Value, out: &mut String) {
    // Writing into a String cannot fail.
    let _ = match (kind, value) {
        (Kind::Offset { .. }, Value::Int(n)) if *n > 0 => write!(out, "+{n}"),
        (_, Value::Int(n)) => write!(out, "{n}"),
        (_, Value::Text(s)) => write!(out, "{s}"),
        (_, Value::Ip(ip)) => write!(out, "{ip}"),
        (_, Value::Time(t)) => write!(out, "{}", t.format("%H:%M:%S")),
        (_, Value::Date(d)) => write!(out, "{}", d.format("%Y-%m-%d")),
        (_, Value::Flag(b)) => write!(out, "{}", if *b { "Yes" } else { "No" }),
    };
}

/// Appends one `Name=value` line with CRLF.
pub fn line(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}={value}\r\n");
}

/// Renders every parameter of a section, in table order.
pub fn render<S: Section>(section: &S, out: &mut String) {
    for param in S::PARAMS {
        out.push_str(param.name);
        out.push('=');
        format_value(&param.kind, &(param.get)(section), out);
        out.push_str("\r\n");
    }
}

/// Finds the row of a parameter name; names match ignoring ASCII case.
pub fn find<S: Section>(name: &str) -> Option<&'static Param<S>> {
    S::PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Parses `raw` for the row `param`, naming the parameter in the error.
pub fn parse_param<S: Section>(param: &Param<S>, raw: &str) -> Result<Value, ApiError> {
    parse(&param.kind, raw).map_err(|reason| ApiError::invalid(param.name, reason))
}

/// Applies every `(name, value)` that belongs to section `S` to `section`, returning the
/// names it did not know. The caller works on a copy, so a failure leaves nothing changed.
pub fn apply<'p, S: Section>(
    section: &mut S,
    params: impl IntoIterator<Item = &'p (String, String)>,
) -> Result<Vec<&'p str>, ApiError> {
    let mut unknown = Vec::new();
    for (name, raw) in params {
        let name = name.trim();
        match find::<S>(name) {
            Some(param) => (param.set)(section, parse_param(param, raw)?),
            None => unknown.push(name),
        }
    }
    Ok(unknown)
}

fn parse_int(raw: &str, min: i64, max: i64) -> Result<Value, String> {
    let trimmed = raw.trim();
    // '+' survives only when percent-encoded; a literal '+' arrives as a space (trimmed).
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    match digits.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Value::Int(n)),
        _ => Err(format!("must be an integer from {min} to {max}")),
    }
}

fn parse_one_of(raw: &str, allowed: &[i64]) -> Result<Value, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if allowed.contains(&n) => Ok(Value::Int(n)),
        _ => {
            let list: Vec<String> = allowed.iter().map(i64::to_string).collect();
            Err(format!("must be one of {}", list.join(", ")))
        }
    }
}

fn parse_choice(raw: &str, spellings: &[&str]) -> Result<Value, String> {
    let wanted = squeeze_spaces(raw);
    spellings
        .iter()
        .find(|s| squeeze_spaces(s).eq_ignore_ascii_case(&wanted))
        .map(|s| Value::Text((*s).to_owned()))
        .ok_or_else(|| format!("must be one of {}", spellings.join(", ")))
}

/// Collapses runs of spaces so that `5.5  Mb` and ` Key 1 ` match their spec spelling.
fn squeeze_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks a UTF-8 string: at most `max` characters, no control characters.
pub fn parse_text(raw: &str, max: usize) -> Result<String, String> {
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters (CR, LF, ...)".into());
    }
    if raw.chars().count() > max {
        return Err(format!("longer than {max} characters"));
    }
    Ok(raw.to_owned())
}

fn parse_file_name(raw: &str, max: usize) -> Result<Value, String> {
    let text = parse_text(raw, max)?;
    if text.contains(['/', '\\']) {
        return Err("must be a file name without / or \\".into());
    }
    Ok(Value::Text(text))
}

fn parse_host(raw: &str, max: usize) -> Result<Value, String> {
    let host = parse_text(raw.trim(), max)?;
    if host.is_empty() || host.parse::<Ipv4Addr>().is_ok() || is_host_name(&host) {
        Ok(Value::Text(host))
    } else {
        Err("must be a host name or an IP address".into())
    }
}

/// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens (a final
/// dot allowed). The OS files that carry a host name check it with the same rule.
pub fn is_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn parse_ipv4(raw: &str) -> Result<Value, String> {
    raw.trim()
        .parse::<Ipv4Addr>()
        .map(Value::Ip)
        .map_err(|_| "must be an IP address xxx.xxx.xxx.xxx".into())
}

/// Parses `hh:mm:ss` (one-digit fields accepted, as some clients send them).
pub fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M:%S")
        .ok()
        // chrono reads second 60 as a leap second (`12:00:60` would be stored and shown
        // as such); a schedule or clock time of hh:mm:ss has seconds 00 to 59.
        .filter(|time| chrono::Timelike::nanosecond(time) < 1_000_000_000)
        .ok_or_else(|| "must be a time hh:mm:ss".into())
}

/// Parses `yyyy-mm-dd`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1970..=9999).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| "must be a date yyyy-mm-dd from 1970".into())
}

/// `Yes`/`No` in any case; `1`/`0` as real clients also send (`ConfigReboot=0`).
pub fn parse_yes_no(raw: &str) -> Result<bool, String> {
    let v = raw.trim();
    if v.eq_ignore_ascii_case("yes") || v == "1" {
        Ok(true)
    } else if v.eq_ignore_ascii_case("no") || v == "0" {
        Ok(false)
    } else {
        Err("must be Yes or No".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_respect_both_bounds() {
        let kind = Kind::Range { min: 1, max: 128 };
        assert_eq!(parse(&kind, "1"), Ok(Value::Int(1)));
        assert_eq!(parse(&kind, "128"), Ok(Value::Int(128)));
        assert!(parse(&kind, "0").is_err());
        assert!(parse(&kind, "129").is_err());
        assert!(parse(&kind, "12a").is_err());
        assert!(parse(&kind, "").is_err());
    }

    #[test]
    fn offsets_accept_plus_and_the_space_a_decoded_plus_becomes() {
        let kind = Kind::Offset { min: -12, max: 13 };
        assert_eq!(parse(&kind, "+13"), Ok(Value::Int(13)));
        assert_eq!(parse(&kind, " 1"), Ok(Value::Int(1)));
        assert_eq!(parse(&kind, "-12"), Ok(Value::Int(-12)));
        assert!(parse(&kind, "14").is_err());
        let mut out = String::new();
        format_value(&kind, &Value::Int(5), &mut out);
        format_value(&kind, &Value::Int(0), &mut out);
        format_value(&kind, &Value::Int(-3), &mut out);
        assert_eq!(out, "+50-3");
    }

    #[test]
    fn text_counts_characters_not_bytes() {
        let kind = Kind::Text { max: 4 };
        assert_eq!(parse(&kind, "äöüß"), Ok(Value::Text("äöüß".into())));
        assert!(parse(&kind, "äöüßx").is_err());
    }

    #[test]
    fn text_rejects_line_breaks_and_controls() {
        let kind = Kind::Text { max: 64 };
        for bad in ["a\r\nb", "a\nb", "a\tb", "a\u{7f}b", "a\u{0}"] {
            assert!(parse(&kind, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn choices_ignore_case_and_extra_spaces_but_store_the_spec_spelling() {
        let kind = Kind::Choice(&["Fully Automatic", "5.5 Mb"]);
        assert_eq!(
            parse(&kind, "fully  automatic"),
            Ok(Value::Text("Fully Automatic".into()))
        );
        assert_eq!(parse(&kind, "5.5 MB"), Ok(Value::Text("5.5 Mb".into())));
        assert!(parse(&kind, "5 Mb").is_err());
    }

    #[test]
    fn hosts_are_names_or_addresses() {
        let kind = Kind::Host { max: 64 };
        for good in ["", "pool.ntp.org", "192.168.0.1", "ftp-1.example.com."] {
            assert!(parse(&kind, good).is_ok(), "{good}");
        }
        for bad in ["bad host", "-a.com", "a..b", "ex_ample.com", "a/b"] {
            assert!(parse(&kind, bad).is_err(), "{bad}");
        }
        assert!(parse(&kind, &"a".repeat(65)).is_err());
    }

    #[test]
    fn times_dates_and_addresses() {
        assert!(parse(&Kind::Time, "23:59:59").is_ok());
        assert!(parse(&Kind::Time, "24:00:00").is_err());
        assert!(parse(&Kind::Time, "12:00:60").is_err(), "no leap seconds");
        assert!(parse(&Kind::Time, "23:59:60").is_err(), "no leap seconds");
        assert!(parse(&Kind::Date, "2004-02-29").is_ok());
        assert!(parse(&Kind::Date, "2005-02-29").is_err());
        assert!(parse(&Kind::Ipv4, "255.255.255.255").is_ok());
        assert!(parse(&Kind::Ipv4, "256.1.1.1").is_err());
    }

    #[test]
    fn yes_no_accepts_the_spellings_clients_send() {
        for yes in ["Yes", "yes", "YES", "1"] {
            assert_eq!(parse_yes_no(yes), Ok(true));
        }
        for no in ["No", "no", "0"] {
            assert_eq!(parse_yes_no(no), Ok(false));
        }
        assert!(parse_yes_no("maybe").is_err());
    }

    #[test]
    fn file_names_have_no_path_separators() {
        let kind = Kind::FileName { max: 32 };
        assert!(parse(&kind, "image").is_ok());
        assert!(parse(&kind, "../etc/passwd").is_err());
    }
}
