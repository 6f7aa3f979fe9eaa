//! Time zones for date operators: UTC and fixed offsets (`"+05:30"`, `"-0800"`, `"UTC"`, `"GMT"`).
//!
//! Olson names (`"Europe/Paris"`) are refused with a clear error for now: they need a time-zone
//! database, which Sluice does not embed yet.

use crate::Value;

/// A fixed offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timezone {
    /// Offset in milliseconds east of UTC.
    pub offset_ms: i64,
}

impl Timezone {
    /// UTC.
    pub const UTC: Timezone = Timezone { offset_ms: 0 };

    /// Parses a timezone argument; missing/null means UTC.
    pub fn from_value(v: &Value) -> Result<Option<Timezone>, String> {
        match v {
            Value::Missing => Ok(Some(Timezone::UTC)),
            Value::Null | Value::Undefined => Ok(None),
            Value::String(s) => Timezone::parse(s).map(Some),
            other => Err(format!("timezone must evaluate to a string, found {}", other.bson_type().alias())),
        }
    }

    /// Parses `"UTC"`, `"GMT"`, `"Z"`, `"+hh"`, `"+hh:mm"`, `"+hhmm"` (and `-`).
    pub fn parse(s: &str) -> Result<Timezone, String> {
        if matches!(s, "UTC" | "GMT" | "Z" | "Etc/UTC" | "Etc/GMT") {
            return Ok(Timezone::UTC);
        }
        let bad = || Err(format!("unrecognized time zone identifier: \"{}\"", s));
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return bad(),
        };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
            return bad();
        }
        let h: i64 = digits[..2].parse().map_err(|_| format!("unrecognized time zone identifier: \"{}\"", s))?;
        let m: i64 = if digits.len() == 4 { digits[2..].parse().unwrap_or(0) } else { 0 };
        if h > 23 || m > 59 {
            return bad();
        }
        Ok(Timezone { offset_ms: sign * (h * 3_600_000 + m * 60_000) })
    }

    /// Wall-clock milliseconds of a UTC instant in this zone.
    pub fn to_local(&self, utc_ms: i64) -> i64 {
        utc_ms + self.offset_ms
    }

    /// UTC milliseconds of a wall-clock time in this zone.
    pub fn to_utc(&self, local_ms: i64) -> i64 {
        local_ms - self.offset_ms
    }

    /// `+hhmm` as `%z` prints it.
    pub fn offset_string(&self) -> String {
        let sign = if self.offset_ms < 0 { '-' } else { '+' };
        let m = self.offset_ms.abs() / 60_000;
        format!("{}{:02}{:02}", sign, m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets() {
        assert_eq!(Timezone::parse("+05:30").map(|t| t.offset_ms), Ok(19_800_000));
        assert_eq!(Timezone::parse("-0800").map(|t| t.offset_ms), Ok(-28_800_000));
        assert_eq!(Timezone::parse("UTC"), Ok(Timezone::UTC));
        assert!(Timezone::parse("Mars/Olympus").is_err());
        assert_eq!(Timezone { offset_ms: -28_800_000 }.offset_string(), "-0800");
    }
}
