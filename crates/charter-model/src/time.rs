//! Calendar dates and UTC timestamps as Charter stores and prints them.
//!
//! A [`Timestamp`] has microsecond precision, the precision the store keeps,
//! so a value survives a round trip through either backend unchanged. Both
//! types serialize to one fixed text form: `YYYY-MM-DD` and RFC 3339 in UTC
//! with a `Z` suffix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};
use utoipa::openapi::{KnownFormat, ObjectBuilder, RefOr, Schema, SchemaFormat, Type};

/// A calendar date, written `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(time::Date);

/// A point in time in UTC with microsecond precision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A date or timestamp that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} \"{value}\": expected {expected}")]
pub struct TimeError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

pub(crate) fn parse_date(value: &str) -> Result<time::Date, TimeError> {
    let format = format_description!("[year]-[month]-[day]");
    // `time` accepts a sign and more than four year digits; the seed format does not.
    if value.len() != 10 {
        return Err(date_error(value));
    }
    time::Date::parse(value, &format).map_err(|_| date_error(value))
}

fn date_error(value: &str) -> TimeError {
    TimeError {
        what: "date",
        value: value.to_owned(),
        expected: "a calendar date YYYY-MM-DD (e.g. 2024-12-20)",
    }
}

pub(crate) fn format_date(date: time::Date) -> String {
    let mut buf = [0_u8; 10];
    match write_date(&mut buf, date) {
        Some(text) => text.to_owned(),
        None => format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day()),
    }
}

/// Writes `value` as `buf.len()` zero-padded decimal digits.
fn write_digits(buf: &mut [u8], mut value: u32) {
    for byte in buf.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// `YYYY-MM-DD` without the formatting machinery (dates and timestamps are
/// printed once per stored record); `None` for years outside 0-9999.
fn write_date(buf: &mut [u8; 10], date: time::Date) -> Option<&str> {
    let year = u32::try_from(date.year()).ok().filter(|year| *year <= 9999)?;
    write_digits(&mut buf[0..4], year);
    buf[4] = b'-';
    write_digits(&mut buf[5..7], u32::from(u8::from(date.month())));
    buf[7] = b'-';
    write_digits(&mut buf[8..10], u32::from(date.day()));
    std::str::from_utf8(buf).ok()
}

impl Date {
    /// Wraps a `time::Date`.
    pub fn new(date: time::Date) -> Self {
        Self(date)
    }

    /// The date `days` days after this one (before, when negative), if it exists.
    pub fn plus_days(self, days: i64) -> Option<Self> {
        self.0.checked_add(time::Duration::days(days)).map(Self)
    }

    /// The same day `months` calendar months later, or the last day of that
    /// month when it is shorter (January 31 plus one month is February 28
    /// or 29).
    pub fn plus_months(self, months: u32) -> Option<Self> {
        let index =
            i64::from(self.0.year()) * 12 + i64::from(u8::from(self.0.month())) - 1 + i64::from(months);
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = time::Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
        let day = self.0.day().min(month.length(year));
        time::Date::from_calendar_date(year, month, day).ok().map(Self)
    }

    /// Days from `earlier` to `self` (negative when `earlier` is later).
    pub fn days_since(self, earlier: Date) -> i64 {
        (self.0 - earlier.0).whole_days()
    }

    /// The underlying `time::Date`.
    pub fn inner(self) -> time::Date {
        self.0
    }
}

impl FromStr for Date {
    type Err = TimeError;
    fn from_str(value: &str) -> Result<Self, TimeError> {
        parse_date(value).map(Self)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0_u8; 10];
        match write_date(&mut buf, self.0) {
            Some(text) => f.write_str(text),
            None => f.write_str(&format_date(self.0)),
        }
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Date {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .examples(["2024-12-20"])
            .into()
    }
}

impl utoipa::ToSchema for Date {}

impl Timestamp {
    /// The timestamp `micros` microseconds after the Unix epoch.
    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok().map(Self)
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(self) -> i64 {
        // INVARIANT: a Timestamp holds whole microseconds within i64 range
        // (every constructor goes through `truncate`).
        (self.0.unix_timestamp_nanos() / 1_000) as i64
    }

    /// Wraps `value`, converted to UTC and truncated to microseconds.
    pub fn from_offset_date_time(value: OffsetDateTime) -> Self {
        Self::truncate(value.to_offset(UtcOffset::UTC))
    }

    fn truncate(value: OffsetDateTime) -> Self {
        let nanos = value.nanosecond();
        Self(value.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(value))
    }

    /// The calendar date of this timestamp in UTC.
    pub fn date(self) -> Date {
        Date(self.0.date())
    }

    /// The underlying `OffsetDateTime` (always UTC).
    pub fn inner(self) -> OffsetDateTime {
        self.0
    }

    /// This time plus `span`, or `None` past the representable range.
    pub fn plus(self, span: Span) -> Option<Self> {
        self.0.checked_add(time::Duration::seconds(span.0 as i64)).map(Self)
    }

    /// This time minus `span`, or `None` before the representable range.
    pub fn minus(self, span: Span) -> Option<Self> {
        self.0.checked_sub(time::Duration::seconds(span.0 as i64)).map(Self)
    }
}

/// A length of time in whole seconds, written like `90s`, `30m`, `2h`,
/// `7d`, `1w` or combined (`1h30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(u64);

impl Span {
    /// A span of `seconds`.
    pub const fn from_secs(seconds: u64) -> Self {
        Self(seconds)
    }

    /// Its length in seconds.
    pub fn as_secs(self) -> u64 {
        self.0
    }
}

impl FromStr for Span {
    type Err = TimeError;
    fn from_str(value: &str) -> Result<Self, TimeError> {
        let fail = || TimeError {
            what: "duration",
            value: value.to_owned(),
            expected: "a positive duration such as 90s, 30m, 2h, 7d, 1w or 1h30m",
        };
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in value.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit: u64 = match c {
                's' => 1,
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return Err(fail()),
            };
            let amount: u64 = digits.parse().map_err(|_| fail())?;
            digits.clear();
            total = amount.checked_mul(unit).and_then(|part| total.checked_add(part)).ok_or_else(fail)?;
        }
        // Longer than a thousand years is certainly a typo.
        if !digits.is_empty() || total == 0 || total > 1_000 * 366 * 86_400 {
            return Err(fail());
        }
        Ok(Self(total))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, seconds) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if rest >= seconds {
                write!(f, "{}{unit}", rest / seconds)?;
                rest %= seconds;
            }
        }
        Ok(())
    }
}

impl FromStr for Timestamp {
    type Err = TimeError;
    fn from_str(value: &str) -> Result<Self, TimeError> {
        OffsetDateTime::parse(value, &Rfc3339).map(Self::from_offset_date_time).map_err(|_| TimeError {
            what: "timestamp",
            value: value.to_owned(),
            expected: "an RFC 3339 timestamp with a time zone (e.g. 2025-01-10T14:22:00Z)",
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let mut date = [0_u8; 10];
        let Some(date) = write_date(&mut date, t.date()) else {
            return f.write_str(&format!(
                "{}T{:02}:{:02}:{:02}Z",
                format_date(t.date()),
                t.hour(),
                t.minute(),
                t.second()
            ));
        };
        // hh:mm:ss.ffffff
        let mut time = [0_u8; 15];
        write_digits(&mut time[0..2], u32::from(t.hour()));
        time[2] = b':';
        write_digits(&mut time[3..5], u32::from(t.minute()));
        time[5] = b':';
        write_digits(&mut time[6..8], u32::from(t.second()));
        time[8] = b'.';
        write_digits(&mut time[9..15], t.microsecond());
        let time = if t.microsecond() == 0 { &time[..8] } else { &time[..] };
        f.write_str(date)?;
        f.write_str("T")?;
        f.write_str(std::str::from_utf8(time).map_err(|_| fmt::Error)?)?;
        f.write_str("Z")
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .examples(["2025-01-10T14:22:00Z"])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        for (from, months, to) in [
            ("2026-08-22", 3, "2026-11-22"),
            ("2026-11-30", 3, "2027-02-28"),
            ("2027-11-30", 3, "2028-02-29"),
            ("2026-01-31", 1, "2026-02-28"),
            ("2026-12-15", 12, "2027-12-15"),
        ] {
            let date: Date = from.parse().unwrap();
            assert_eq!(date.plus_months(months).unwrap().to_string(), to, "{from} + {months}");
        }
    }

    #[test]
    fn spans_parse_and_print() {
        for (text, seconds, shown) in [
            ("90s", 90, "1m30s"),
            ("2h", 7_200, "2h"),
            ("7d", 604_800, "7d"),
            ("1w", 604_800, "7d"),
            ("1h30m", 5_400, "1h30m"),
        ] {
            let span: Span = text.parse().unwrap();
            assert_eq!((span.as_secs(), span.to_string().as_str()), (seconds, shown), "{text}");
        }
        for bad in ["", "2", "h", "0h", "2x", "-2h", "2 h", "99999999999999999999d"] {
            assert!(bad.parse::<Span>().is_err(), "{bad}");
        }
        let at: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        assert_eq!(at.plus("2h".parse().unwrap()).unwrap().to_string(), "2026-11-22T12:00:00Z");
        assert_eq!(at.minus("1d".parse().unwrap()).unwrap().to_string(), "2026-11-21T10:00:00Z");
    }

    #[test]
    fn dates_round_trip() {
        let date: Date = "2024-02-29".parse().unwrap();
        assert_eq!(date.to_string(), "2024-02-29");
        for bad in ["2023-02-29", "2024-2-29", "+2024-02-29", "20240-02-29", "2024-02-29T00:00:00Z", ""] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert_eq!(
            "2024/01/01".parse::<Date>().unwrap_err().to_string(),
            "invalid date \"2024/01/01\": expected a calendar date YYYY-MM-DD (e.g. 2024-12-20)"
        );
    }

    #[test]
    fn timestamps_normalise_to_utc_micros() {
        let t: Timestamp = "2025-01-10T16:22:00+02:00".parse().unwrap();
        assert_eq!(t.to_string(), "2025-01-10T14:22:00Z");
        let t: Timestamp = "2025-01-10T14:22:00.123456789Z".parse().unwrap();
        assert_eq!(t.to_string(), "2025-01-10T14:22:00.123456Z");
        let back = Timestamp::from_unix_micros(t.unix_micros()).unwrap();
        assert_eq!(back, t);
        assert!("2025-01-10 14:22".parse::<Timestamp>().is_err());
    }
}
