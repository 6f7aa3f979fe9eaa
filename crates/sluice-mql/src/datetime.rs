//! Calendar arithmetic on UTC milliseconds (proleptic Gregorian), and ISO 8601 parse/format.
//!
//! Hand-written so that the per-event path (`$dateFromString` on a time field) does no allocation.

/// A broken-down UTC date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilDateTime {
    /// Year (may be negative or above 9999).
    pub year: i64,
    /// Month 1..=12.
    pub month: u32,
    /// Day of month 1..=31.
    pub day: u32,
    /// Hour 0..=23.
    pub hour: u32,
    /// Minute 0..=59.
    pub minute: u32,
    /// Second 0..=59.
    pub second: u32,
    /// Millisecond 0..=999.
    pub millis: u32,
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether a year is a leap year.
pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in a month of a year.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

impl CivilDateTime {
    /// Breaks UTC milliseconds down.
    pub fn from_millis(ms: i64) -> CivilDateTime {
        let days = ms.div_euclid(MS_PER_DAY);
        let rem = ms.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        CivilDateTime {
            year,
            month,
            day,
            hour: (rem / 3_600_000) as u32,
            minute: (rem / 60_000 % 60) as u32,
            second: (rem / 1000 % 60) as u32,
            millis: (rem % 1000) as u32,
        }
    }

    /// UTC milliseconds of this date and time.
    pub fn to_millis(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * MS_PER_DAY
            + i64::from(self.hour) * 3_600_000
            + i64::from(self.minute) * 60_000
            + i64::from(self.second) * 1000
            + i64::from(self.millis)
    }

    /// Day of week, 1 = Sunday .. 7 = Saturday (as `$dayOfWeek`).
    pub fn day_of_week(&self) -> u32 {
        let days = days_from_civil(self.year, self.month, self.day);
        // 1970-01-01 was a Thursday (5 in 1..7 Sunday-based).
        ((days + 4).rem_euclid(7) + 1) as u32
    }

    /// Day of year, 1..=366.
    pub fn day_of_year(&self) -> u32 {
        (days_from_civil(self.year, self.month, self.day) - days_from_civil(self.year, 1, 1) + 1) as u32
    }
}

/// Formats UTC milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (the form Extended JSON uses).
pub fn format_iso_millis(ms: i64) -> String {
    let c = CivilDateTime::from_millis(ms);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let end = self.i.checked_add(n)?;
        let part = self.s.get(self.i..end)?;
        let mut v = 0u32;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(b - b'0');
        }
        self.i = end;
        Some(v)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
}

/// Parses an ISO 8601 date-time: `2024-08-12`, `2024-08-12T21:41:01Z`, `2024-08-12T21:41:01.788+00:00`,
/// `2024-08-12 21:41:01.788`, `...+0530`; without an offset the time is UTC. Returns UTC milliseconds.
pub fn parse_iso_datetime(s: &str) -> Option<i64> {
    let (local, offset) = parse_iso_local(s)?;
    Some(local - offset.unwrap_or(0))
}

/// Parses an ISO 8601 date-time into (wall-clock milliseconds as if UTC, the offset it named if any).
pub fn parse_iso_local(s: &str) -> Option<(i64, Option<i64>)> {
    parse_iso_fixed(s.as_bytes()).or_else(|| parse_iso_general(s))
}

/// The layout nearly every event carries, `YYYY-MM-DDTHH:MM:SS[.mmm][Z|±HH:MM]`, read at fixed
/// positions. None for anything else, and then the general parser decides, so this never
/// answers differently from it.
fn parse_iso_fixed(b: &[u8]) -> Option<(i64, Option<i64>)> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |at: usize, n: usize| -> Option<u32> {
        b.get(at..at + n)?.iter().try_fold(0u32, |v, &c| c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0')))
    };
    let year = i64::from(num(0, 4)?);
    let (month, day) = (num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let (millis, rest) = match b.get(19) {
        // Exactly three digits; more are truncated by the general parser.
        Some(b'.') if !b.get(23).is_some_and(u8::is_ascii_digit) => (num(20, 3)?, &b[23..]),
        Some(b'.') => return None,
        _ => (0, &b[19..]),
    };
    let offset_ms = match rest {
        [] => None,
        [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(b.len() - 5, 2)?, num(b.len() - 2, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = i64::from(h) * 3_600_000 + i64::from(m) * 60_000;
            Some(if *sign == b'+' { off } else { -off })
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let dt = CivilDateTime { year, month, day, hour, minute, second, millis };
    Some((dt.to_millis(), offset_ms))
}

/// Every ISO 8601 form `parse_iso_local` accepts: date only, `T`/`t`/space, optional seconds and
/// fraction (`.` or `,`), `Z`, `±HH`, `±HHMM` or `±HH:MM` (right after the time or after one
/// space), surrounding spaces.
fn parse_iso_general(s: &str) -> Option<(i64, Option<i64>)> {
    let mut c = Cursor { s: s.trim().as_bytes(), i: 0 };
    let year = i64::from(c.digits(4)?);
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut dt = CivilDateTime { year, month, day, hour: 0, minute: 0, second: 0, millis: 0 };
    // A space before a digit starts the time; before an offset ("2018-03-05 +10:00") it does not.
    let time_follows = match c.peek() {
        Some(b'T' | b't') => true,
        Some(b' ') => c.s.get(c.i + 1).is_some_and(u8::is_ascii_digit),
        _ => false,
    };
    if time_follows {
        c.i += 1;
        dt.hour = c.digits(2)?;
        if !c.eat(b':') {
            return None;
        }
        dt.minute = c.digits(2)?;
        if c.eat(b':') {
            dt.second = c.digits(2)?;
            if c.eat(b'.') || c.eat(b',') {
                // Fraction: milliseconds from the first three digits, further digits truncated.
                let mut scale = 100;
                let mut any = false;
                while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
                    dt.millis += u32::from(b - b'0') * scale;
                    scale /= 10;
                    c.i += 1;
                    any = true;
                }
                if !any {
                    return None;
                }
            }
        }
        if dt.hour > 23 || dt.minute > 59 || dt.second > 59 {
            return None;
        }
    }
    let mut offset_ms = None;
    // MongoDB also reads an offset or `Z` set off by a space: "2018-03-20 11:00:06 +0500".
    if c.peek() == Some(b' ') && matches!(c.s.get(c.i + 1), Some(b'+' | b'-' | b'Z' | b'z')) {
        c.i += 1;
    }
    match c.peek() {
        None => {}
        Some(b'Z') | Some(b'z') => {
            c.i += 1;
            offset_ms = Some(0);
        }
        Some(sign @ (b'+' | b'-')) => {
            c.i += 1;
            let h = c.digits(2)?;
            c.eat(b':');
            let m = if c.peek().is_some() { c.digits(2)? } else { 0 };
            if h > 23 || m > 59 {
                return None;
            }
            let off = i64::from(h) * 3_600_000 + i64::from(m) * 60_000;
            offset_ms = Some(if sign == b'+' { off } else { -off });
        }
        Some(_) => return None,
    }
    if c.i != c.s.len() {
        return None;
    }
    Some((dt.to_millis(), offset_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_solar_timestamp_format() {
        let ms = parse_iso_datetime("2024-08-12T21:41:01.788+00:00").expect("valid");
        assert_eq!(format_iso_millis(ms), "2024-08-12T21:41:01.788Z");
        assert_eq!(parse_iso_datetime("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso_datetime("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_iso_datetime("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_iso_datetime("2024-02-30"), None);
        assert_eq!(parse_iso_datetime("2024-01-01T25:00:00Z"), None);
        assert_eq!(parse_iso_datetime("garbage"), None);
    }

    proptest! {
        #[test]
        fn the_fixed_layout_reads_as_the_general_parser_does(
            s in "[0-9]{4}-[0-1][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,4})?(Z|z|[+-][0-2][0-9]:?[0-6][0-9])?"
        ) {
            if let Some(fixed) = parse_iso_fixed(s.as_bytes()) {
                prop_assert_eq!(Some(fixed), parse_iso_general(&s), "{}", s);
            }
        }
    }

    #[test]
    fn the_fixed_layout_takes_the_common_forms() {
        for s in [
            "2024-08-12T21:41:01.788+00:00",
            "2024-08-12T21:41:01Z",
            "2024-08-12T21:41:01",
            "2024-02-29T00:00:00.000-05:30",
        ] {
            assert!(parse_iso_fixed(s.as_bytes()).is_some(), "{}", s);
            assert_eq!(parse_iso_fixed(s.as_bytes()), parse_iso_general(s), "{}", s);
        }
        for s in ["2023-02-29T00:00:00Z", "2024-08-12T24:00:00Z", "2024-08-12T21:41:01.7881Z", "2024-08-12 21:41:01Z"] {
            assert!(parse_iso_fixed(s.as_bytes()).is_none(), "{}", s);
        }
    }

    proptest! {
        /// A space before the time or before the offset reads as the ISO form does.
        #[test]
        fn spaces_before_time_and_offset_read_as_iso(
            ms in 0i64..253_402_300_799_999i64,
            off_min in -1439i64..1439,
            colon in any::<bool>(),
        ) {
            let c = CivilDateTime::from_millis(ms);
            let (date, time) = (
                format!("{:04}-{:02}-{:02}", c.year, c.month, c.day),
                format!("{:02}:{:02}:{:02}.{:03}", c.hour, c.minute, c.second, c.millis),
            );
            let sign = if off_min < 0 { '-' } else { '+' };
            let (h, m) = (off_min.abs() / 60, off_min.abs() % 60);
            let off = if colon { format!("{}{:02}:{:02}", sign, h, m) } else { format!("{}{:02}{:02}", sign, h, m) };
            let iso = parse_iso_local(&format!("{}T{}{}", date, time, off));
            prop_assert_eq!(parse_iso_local(&format!("{} {} {}", date, time, off)), iso);
            prop_assert_eq!(parse_iso_local(&format!("{} {}{}", date, time, off)), iso);
            prop_assert_eq!(iso.map(|(_, o)| o), Some(Some(off_min * 60_000)));
        }
    }

    #[test]
    fn the_general_parser_takes_the_forms_mongodb_documents() {
        let at = |s: &str| parse_iso_datetime(s).map(format_iso_millis);
        let expected = Some("2018-03-20T06:00:06.000Z".to_string());
        for s in [
            "2018-03-20 11:00:06 +0500",
            "2018-03-20T11:00:06+0500",
            "2018-03-20T11:00:06+05:00",
            "2018-03-20T11:00:06 +05:00",
            "2018-03-20 11:00:06+05",
            "2018-03-20 06:00:06Z",
            "2018-03-20T06:00:06 Z",
            "2018-03-20T01:00:06-05",
        ] {
            assert_eq!(at(s), expected, "{}", s);
        }
        assert_eq!(at("2018-03-05 +10:00"), Some("2018-03-04T14:00:00.000Z".to_string()));
        assert_eq!(at("2018-03-20 11:00:06  +0500"), None);
        assert_eq!(at("2018-03-20 11:00:06 +05000"), None);
        assert_eq!(at("2018-03-20 11:00:06 x"), None);
    }

    #[test]
    fn weekday_and_day_of_year() {
        // 2024-08-12 was a Monday.
        let c = CivilDateTime::from_millis(parse_iso_datetime("2024-08-12").expect("valid"));
        assert_eq!(c.day_of_week(), 2);
        assert_eq!(c.day_of_year(), 225);
    }

    proptest! {
        #[test]
        fn civil_round_trips(ms in -62_135_596_800_000i64..253_402_300_799_999i64) {
            prop_assert_eq!(CivilDateTime::from_millis(ms).to_millis(), ms);
            prop_assert_eq!(parse_iso_datetime(&format_iso_millis(ms)), Some(ms));
        }
    }
}
