//! Time zones for date operators: UTC, fixed offsets (`"+05:30"`, `"-0800"`) and IANA names
//! (`"Europe/Paris"`, `"America/New_York"`), whose offset depends on the instant (daylight saving).

use chrono::{Offset, TimeZone};

use crate::Value;

/// A time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timezone {
    /// A fixed offset east of UTC, in milliseconds.
    Fixed(i64),
    /// An IANA time zone.
    Named(chrono_tz::Tz),
}

impl Default for Timezone {
    fn default() -> Timezone {
        Timezone::UTC
    }
}

impl Timezone {
    /// UTC.
    pub const UTC: Timezone = Timezone::Fixed(0);

    /// Parses a timezone argument; missing means UTC, null means "no value" (the operator returns null).
    pub fn from_value(v: &Value) -> Result<Option<Timezone>, String> {
        match v {
            Value::Missing => Ok(Some(Timezone::UTC)),
            Value::Null | Value::Undefined => Ok(None),
            Value::String(s) => Timezone::parse(s).map(Some),
            other => Err(format!("timezone must evaluate to a string, found {}", other.bson_type().alias())),
        }
    }

    /// Parses `"UTC"`, `"GMT"`, `"Z"`, `"+hh"`, `"+hh:mm"`, `"+hhmm"` (and `-`), or an IANA name.
    pub fn parse(s: &str) -> Result<Timezone, String> {
        if matches!(s, "UTC" | "GMT" | "Z") {
            return Ok(Timezone::UTC);
        }
        let bad = || Err(format!("unrecognized time zone identifier: \"{}\"", s));
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return s.parse::<chrono_tz::Tz>().map(Timezone::Named).or_else(|_| bad()),
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
        Ok(Timezone::Fixed(sign * (h * 3_600_000 + m * 60_000)))
    }

    /// The offset east of UTC at a UTC instant, in milliseconds.
    pub fn offset_at(&self, utc_ms: i64) -> i64 {
        match self {
            Timezone::Fixed(off) => *off,
            Timezone::Named(tz) => match chrono::DateTime::from_timestamp_millis(utc_ms) {
                Some(dt) => i64::from(tz.offset_from_utc_datetime(&dt.naive_utc()).fix().local_minus_utc()) * 1000,
                None => 0,
            },
        }
    }

    /// Wall-clock milliseconds of a UTC instant in this zone.
    pub fn to_local(&self, utc_ms: i64) -> i64 {
        utc_ms + self.offset_at(utc_ms)
    }

    /// UTC milliseconds of a wall-clock time in this zone. A wall-clock time that occurs twice
    /// (clocks going back) maps to its first occurrence; one skipped by clocks going forward maps
    /// with the offset from before the change.
    pub fn to_utc(&self, local_ms: i64) -> i64 {
        if let Timezone::Fixed(off) = self {
            return local_ms - off;
        }
        // Zones change offset at most once within a day: the offsets a day either side are the
        // only candidates. A candidate is valid when the offset at its instant is the one used.
        const DAY: i64 = 86_400_000;
        let before = self.offset_at(local_ms.saturating_sub(DAY));
        let after = self.offset_at(local_ms.saturating_add(DAY));
        let valid = |off: i64| {
            let utc = local_ms - off;
            (self.offset_at(utc) == off).then_some(utc)
        };
        match (valid(before), valid(after)) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            // In a gap (clocks going forward) the offset from before the change applies.
            (None, None) => local_ms - before,
        }
    }

    /// `+hhmm` as `%z` prints it, at a UTC instant.
    pub fn offset_string(&self, utc_ms: i64) -> String {
        let off = self.offset_at(utc_ms);
        let sign = if off < 0 { '-' } else { '+' };
        let m = off.abs() / 60_000;
        format!("{}{:02}{:02}", sign, m / 60, m % 60)
    }

    /// The offset in minutes, as `%Z` prints it, at a UTC instant.
    pub fn offset_minutes(&self, utc_ms: i64) -> i64 {
        self.offset_at(utc_ms) / 60_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_iso_datetime;

    fn at(s: &str) -> i64 {
        parse_iso_datetime(s).expect("valid date")
    }

    #[test]
    fn parses_offsets_and_names() {
        assert_eq!(Timezone::parse("+05:30"), Ok(Timezone::Fixed(19_800_000)));
        assert_eq!(Timezone::parse("-0800"), Ok(Timezone::Fixed(-28_800_000)));
        assert_eq!(Timezone::parse("UTC"), Ok(Timezone::UTC));
        assert!(Timezone::parse("Mars/Olympus").is_err());
        assert_eq!(Timezone::Fixed(-28_800_000).offset_string(0), "-0800");
    }

    #[test]
    fn named_zones_follow_daylight_saving() {
        let paris = Timezone::parse("Europe/Paris").expect("known zone");
        // CET (+1) in January, CEST (+2) in July.
        assert_eq!(paris.offset_at(at("2024-01-15T12:00:00Z")), 3_600_000);
        assert_eq!(paris.offset_at(at("2024-07-15T12:00:00Z")), 7_200_000);
        assert_eq!(paris.offset_string(at("2024-07-15T12:00:00Z")), "+0200");
        // Local midnight of 2024-07-15 in Paris is 22:00 UTC the day before.
        let local = at("2024-07-15T00:00:00Z");
        assert_eq!(paris.to_utc(local), at("2024-07-14T22:00:00Z"));
        assert_eq!(paris.to_local(paris.to_utc(local)), local);
        // 2024-03-31 02:30 does not exist in Paris (clocks jump 02:00 -> 03:00): the offset before applies.
        assert_eq!(paris.to_utc(at("2024-03-31T02:30:00Z")), at("2024-03-31T01:30:00Z"));
        // 2024-10-27 02:30 happens twice: the first occurrence (CEST) is chosen.
        assert_eq!(paris.to_utc(at("2024-10-27T02:30:00Z")), at("2024-10-27T00:30:00Z"));
    }
}
