//! Date operators: `$dateFromString $dateToString $dateTrunc $dateAdd $dateSubtract $dateDiff
//! $year $month $dayOfMonth $hour $minute $second $millisecond $dayOfWeek $dayOfYear`.

use std::borrow::Cow;

use super::registry::{type_name, Arity, FuncDef};
use super::{ExprError, Timezone};
use crate::{days_in_month, parse_iso_local, CivilDateTime, Str, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

const MS_DAY: i64 = 86_400_000;
/// 2000-01-01T00:00:00Z: the reference point of `$dateTrunc` bins, as MongoDB defines it.
const BIN_REFERENCE: i64 = 946_684_800_000;

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef {
        name: "$dateFromString",
        arity: Arity::Named(&["dateString", "format", "timezone", "onError", "onNull"], 1),
        f: date_from_string,
    },
    FuncDef {
        name: "$dateToString",
        arity: Arity::Named(&["date", "format", "timezone", "onNull"], 1),
        f: date_to_string,
    },
    FuncDef {
        name: "$dateTrunc",
        arity: Arity::Named(&["date", "unit", "binSize", "timezone", "startOfWeek"], 2),
        f: date_trunc,
    },
    FuncDef { name: "$dateAdd", arity: Arity::Named(&["startDate", "unit", "amount", "timezone"], 3), f: date_add },
    FuncDef {
        name: "$dateSubtract",
        arity: Arity::Named(&["startDate", "unit", "amount", "timezone"], 3),
        f: date_subtract,
    },
    FuncDef {
        name: "$dateDiff",
        arity: Arity::Named(&["startDate", "endDate", "unit", "timezone", "startOfWeek"], 3),
        f: date_diff,
    },
    FuncDef { name: "$year", arity: Arity::DatePart, f: year },
    FuncDef { name: "$month", arity: Arity::DatePart, f: month },
    FuncDef { name: "$dayOfMonth", arity: Arity::DatePart, f: day_of_month },
    FuncDef { name: "$hour", arity: Arity::DatePart, f: hour },
    FuncDef { name: "$minute", arity: Arity::DatePart, f: minute },
    FuncDef { name: "$second", arity: Arity::DatePart, f: second },
    FuncDef { name: "$millisecond", arity: Arity::DatePart, f: millisecond },
    FuncDef { name: "$dayOfWeek", arity: Arity::DatePart, f: day_of_week },
    FuncDef { name: "$dayOfYear", arity: Arity::DatePart, f: day_of_year },
];

/// The `timezone` argument of a date operator: UTC when missing, `None` when null (the operator
/// answers null), an error naming `op` when it is not a time zone.
pub(super) fn tz(op: &'static str, v: &Value) -> Result<Option<Timezone>, ExprError> {
    Timezone::from_value(v).map_err(|m| ExprError::new(op, m))
}

/// The instant of a date-like value: dates, timestamps and ObjectIds, as MongoDB accepts them.
pub(super) fn date_arg(op: &'static str, v: &Value) -> Result<Option<i64>, ExprError> {
    match v {
        v if v.is_nullish() => Ok(None),
        Value::DateTime(ms) => Ok(Some(*ms)),
        Value::Timestamp(t, _) => Ok(Some(i64::from(*t) * 1000)),
        Value::ObjectId(id) => Ok(Some(id.timestamp_millis())),
        other => Err(ExprError::new(op, format!("can't convert from BSON type {} to Date", type_name(other)))),
    }
}

fn part(op: &'static str, args: Args, f: fn(&CivilDateTime) -> i64) -> Result<Value, ExprError> {
    let Some(ms) = date_arg(op, &args[0])? else { return Ok(Value::Null) };
    let Some(zone) = tz(op, &args[1])? else { return Ok(Value::Null) };
    Ok(Value::Int32(f(&CivilDateTime::from_millis(zone.to_local(ms))) as i32))
}

fn year(args: Args) -> Result<Value, ExprError> {
    part("$year", args, |c| c.year)
}
fn month(args: Args) -> Result<Value, ExprError> {
    part("$month", args, |c| i64::from(c.month))
}
fn day_of_month(args: Args) -> Result<Value, ExprError> {
    part("$dayOfMonth", args, |c| i64::from(c.day))
}
fn hour(args: Args) -> Result<Value, ExprError> {
    part("$hour", args, |c| i64::from(c.hour))
}
fn minute(args: Args) -> Result<Value, ExprError> {
    part("$minute", args, |c| i64::from(c.minute))
}
fn second(args: Args) -> Result<Value, ExprError> {
    part("$second", args, |c| i64::from(c.second))
}
fn millisecond(args: Args) -> Result<Value, ExprError> {
    part("$millisecond", args, |c| i64::from(c.millis))
}
fn day_of_week(args: Args) -> Result<Value, ExprError> {
    part("$dayOfWeek", args, |c| i64::from(c.day_of_week()))
}
fn day_of_year(args: Args) -> Result<Value, ExprError> {
    part("$dayOfYear", args, |c| i64::from(c.day_of_year()))
}

/// ISO 8601 week number and week-year of a civil date.
pub(super) fn iso_week(c: &CivilDateTime) -> (i64, u32) {
    let wday = (c.day_of_week() + 5) % 7 + 1; // Monday = 1 .. Sunday = 7
    let ordinal = i64::from(c.day_of_year());
    let week = (ordinal - i64::from(wday) + 10) / 7;
    if week < 1 {
        let prev = CivilDateTime { year: c.year - 1, month: 12, day: 31, ..*c };
        return iso_week(&prev);
    }
    let days_in_year = if crate::datetime::is_leap(c.year) { 366 } else { 365 };
    if week == 53 && ordinal - i64::from(wday) + 4 > days_in_year {
        return (c.year + 1, 1);
    }
    (c.year, week as u32)
}

/// Formats a date with `$dateToString` specifiers.
fn format_date(ms: i64, format: &str, zone: Timezone) -> Result<String, String> {
    let c = CivilDateTime::from_millis(zone.to_local(ms));
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let spec = chars.next().ok_or("Unmatched '%' at end of format string")?;
        match spec {
            'Y' => out.push_str(&format!("{:04}", c.year)),
            'm' => out.push_str(&format!("{:02}", c.month)),
            'd' => out.push_str(&format!("{:02}", c.day)),
            'H' => out.push_str(&format!("{:02}", c.hour)),
            'M' => out.push_str(&format!("{:02}", c.minute)),
            'S' => out.push_str(&format!("{:02}", c.second)),
            'L' => out.push_str(&format!("{:03}", c.millis)),
            'j' => out.push_str(&format!("{:03}", c.day_of_year())),
            'w' => out.push_str(&c.day_of_week().to_string()),
            'u' => out.push_str(&((c.day_of_week() + 5) % 7 + 1).to_string()),
            'U' => {
                // Week of year, Sunday first; days before the first Sunday are week 0.
                let first_sunday_offset = (8 - CivilDateTime { month: 1, day: 1, ..c }.day_of_week()) % 7;
                let w = (c.day_of_year() as i64 - 1 - i64::from(first_sunday_offset) + 7) / 7;
                out.push_str(&format!("{:02}", w));
            }
            'V' => out.push_str(&format!("{:02}", iso_week(&c).1)),
            'G' => out.push_str(&format!("{:04}", iso_week(&c).0)),
            'z' => out.push_str(&zone.offset_string(ms)),
            'Z' => out.push_str(&zone.offset_minutes(ms).to_string()),
            '%' => out.push('%'),
            other => return Err(format!("Invalid format character '%{}' in format string", other)),
        }
    }
    Ok(out)
}

fn date_to_string(args: Args) -> Result<Value, ExprError> {
    let op = "$dateToString";
    let Some(ms) = date_arg(op, &args[0])? else {
        return Ok(if args[3].is_missing() { Value::Null } else { args[3].clone().into_owned() });
    };
    let Some(zone) = tz(op, &args[2])? else { return Ok(Value::Null) };
    let format = match &*args[1] {
        Value::Missing => {
            if zone == Timezone::UTC {
                "%Y-%m-%dT%H:%M:%S.%LZ"
            } else {
                "%Y-%m-%dT%H:%M:%S.%L"
            }
        }
        Value::String(s) => s.as_str(),
        v if v.is_nullish() => return Ok(Value::Null),
        v => return Err(ExprError::new(op, format!("format must be a string, found {}", type_name(v)))),
    };
    format_date(ms, format, zone).map(|s| Value::String(Str::from(s))).map_err(|m| ExprError::new(op, m))
}

/// Parses a date string with `$dateFromString` format specifiers into (wall-clock ms, offset).
fn parse_with_format(s: &str, format: &str) -> Option<(i64, Option<i64>)> {
    let b = s.as_bytes();
    let mut i = 0;
    let (mut y, mut mo, mut d, mut h, mut mi, mut se, mut ms) = (1970i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut offset = None;
    let num = |i: &mut usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
            *i += 1;
        }
        s.get(start..*i)?.parse().ok()
    };
    let mut f = format.chars();
    while let Some(ch) = f.next() {
        if ch != '%' {
            if b.get(i) != Some(&(ch as u8)) {
                return None;
            }
            i += 1;
            continue;
        }
        match f.next()? {
            'Y' => y = num(&mut i, 4)?,
            'm' => mo = num(&mut i, 2)? as u32,
            'd' => d = num(&mut i, 2)? as u32,
            'H' => h = num(&mut i, 2)? as u32,
            'M' => mi = num(&mut i, 2)? as u32,
            'S' => se = num(&mut i, 2)? as u32,
            'L' => ms = num(&mut i, 3)? as u32,
            'z' | 'Z' => {
                let rest = s.get(i..)?;
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '+' || c == '-' || c == ':'))
                    .unwrap_or(rest.len());
                let tz = if rest.starts_with('Z') { Timezone::UTC } else { Timezone::parse(&rest[..end]).ok()? };
                i += if rest.starts_with('Z') { 1 } else { end };
                // Only offsets are accepted here, so the offset does not depend on the instant.
                offset = Some(tz.offset_at(0));
            }
            '%' => {
                if b.get(i) != Some(&b'%') {
                    return None;
                }
                i += 1;
            }
            _ => return None,
        }
    }
    if i != b.len() || !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let c = CivilDateTime { year: y, month: mo, day: d, hour: h, minute: mi, second: se, millis: ms };
    Some((c.to_millis(), offset))
}

/// The implementation for an operator called with its required arguments only, when one is
/// worth having: `{$dateFromString: {dateString: ...}}` is the usual `timeField` of a stream,
/// evaluated for every event, and needs neither the other four slots nor the timezone lookup.
pub(super) fn required_only(name: &str) -> Option<super::FuncImpl> {
    match name {
        "$dateFromString" => Some(date_from_iso_string),
        _ => None,
    }
}

/// `$dateFromString` with `dateString` alone: as [`date_from_string`] with no format (ISO 8601),
/// UTC for a string without an offset, and no `onError`/`onNull`.
fn date_from_iso_string(args: Args) -> Result<Value, ExprError> {
    iso_date_of(&args[0])
}

/// The date a `dateString` gives, as [`date_from_iso_string`] reads it.
pub(super) fn iso_date_of(date_string: &Value) -> Result<Value, ExprError> {
    match date_string {
        v if v.is_nullish() => Ok(Value::Null),
        Value::String(s) => match parse_iso_local(s) {
            Some((local, offset)) => Ok(Value::DateTime(local - offset.unwrap_or(0))),
            None => Err(ExprError::new("$dateFromString", format!("Error parsing date string '{}'", s))),
        },
        v => Err(ExprError::new(
            "$dateFromString",
            format!("$dateFromString requires that 'dateString' be a string, found: {}", type_name(v)),
        )),
    }
}

fn date_from_string(args: Args) -> Result<Value, ExprError> {
    let op = "$dateFromString";
    let on_error = |msg: String| -> Result<Value, ExprError> {
        if args[3].is_missing() {
            Err(ExprError::new(op, msg))
        } else {
            Ok(args[3].clone().into_owned())
        }
    };
    let s = match &*args[0] {
        v if v.is_nullish() => {
            return Ok(if args[4].is_missing() { Value::Null } else { args[4].clone().into_owned() });
        }
        Value::String(s) => s,
        v => {
            return on_error(format!("$dateFromString requires that 'dateString' be a string, found: {}", type_name(v)))
        }
    };
    let Some(zone) = tz(op, &args[2])? else { return Ok(Value::Null) };
    let parsed = match &*args[1] {
        Value::Missing => parse_iso_local(s),
        Value::String(f) => parse_with_format(s, f),
        v if v.is_nullish() => return Ok(Value::Null),
        v => return Err(ExprError::new(op, format!("format must be a string, found {}", type_name(v)))),
    };
    match parsed {
        // mongod refuses a string carrying its own zone together with a timezone argument other
        // than UTC (a conversion failure, so onError applies).
        Some((_, Some(_))) if zone != Timezone::UTC => {
            let trimmed = s.trim_end();
            on_error(if trimmed.ends_with(['Z', 'z']) {
                format!(
                    "you cannot pass in a date/time string with time zone information ('{}') together with a timezone argument",
                    &trimmed[trimmed.len() - 1..]
                )
            } else {
                "you cannot pass in a date/time string with GMT offset together with a timezone argument".to_string()
            })
        }
        Some((local, Some(off))) => Ok(Value::DateTime(local - off)),
        Some((local, None)) => Ok(Value::DateTime(zone.to_utc(local))),
        None => on_error(format!("Error parsing date string '{}'", s)),
    }
}

/// A `$dateTrunc`/`$dateAdd`/`$dateDiff` unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

fn unit_arg(op: &'static str, v: &Value) -> Result<Option<Unit>, ExprError> {
    Ok(Some(match v {
        v if v.is_nullish() => return Ok(None),
        Value::String(s) => match s.as_str() {
            "year" => Unit::Year,
            "quarter" => Unit::Quarter,
            "month" => Unit::Month,
            "week" => Unit::Week,
            "day" => Unit::Day,
            "hour" => Unit::Hour,
            "minute" => Unit::Minute,
            "second" => Unit::Second,
            "millisecond" => Unit::Millisecond,
            other => return Err(ExprError::new(op, format!("unit '{}' is not a valid time unit", other))),
        },
        other => return Err(ExprError::new(op, format!("unit must be a string, found {}", type_name(other)))),
    }))
}

fn fixed_ms(u: Unit) -> Option<i64> {
    match u {
        Unit::Week => Some(7 * MS_DAY),
        Unit::Day => Some(MS_DAY),
        Unit::Hour => Some(3_600_000),
        Unit::Minute => Some(60_000),
        Unit::Second => Some(1000),
        Unit::Millisecond => Some(1),
        _ => None,
    }
}

/// 0 = Sunday .. 6 = Saturday.
fn start_of_week(op: &'static str, v: &Value) -> Result<i64, ExprError> {
    match v {
        Value::Missing => Ok(0),
        Value::String(s) => {
            let l = s.to_lowercase();
            ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
                .iter()
                .position(|d| l.starts_with(d))
                .map(|p| p as i64)
                .ok_or_else(|| ExprError::new(op, format!("unknown startOfWeek '{}'", s)))
        }
        other => Err(ExprError::new(op, format!("startOfWeek must be a string, found {}", type_name(other)))),
    }
}

fn months_of(local: i64) -> i64 {
    let c = CivilDateTime::from_millis(local);
    c.year * 12 + i64::from(c.month) - 1
}

fn from_months(m: i64) -> i64 {
    CivilDateTime {
        year: m.div_euclid(12),
        month: (m.rem_euclid(12) + 1) as u32,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        millis: 0,
    }
    .to_millis()
}

/// First instant (local) of the week containing `local`, weeks starting on `sow` (0 = Sunday).
fn week_start(local: i64, sow: i64) -> i64 {
    let day = local.div_euclid(MS_DAY);
    let weekday = (day + 4).rem_euclid(7); // 0 = Sunday
    (day - (weekday - sow).rem_euclid(7)) * MS_DAY
}

fn date_trunc(args: Args) -> Result<Value, ExprError> {
    let op = "$dateTrunc";
    let Some(ms) = date_arg(op, &args[0])? else { return Ok(Value::Null) };
    let Some(unit) = unit_arg(op, &args[1])? else { return Ok(Value::Null) };
    let bin = match &*args[2] {
        Value::Missing => 1,
        v if v.is_nullish() => return Ok(Value::Null),
        v => match v.as_exact_i64() {
            Some(b) if b > 0 => b,
            _ => return Err(ExprError::new(op, "binSize must be a positive integer")),
        },
    };
    let Some(zone) = tz(op, &args[3])? else { return Ok(Value::Null) };
    let sow = start_of_week(op, &args[4])?;
    let local = zone.to_local(ms);
    let truncated = match unit {
        Unit::Year | Unit::Quarter | Unit::Month => {
            let per = match unit {
                Unit::Year => 12,
                Unit::Quarter => 3,
                _ => 1,
            } * bin;
            let m = months_of(local) - 2000 * 12;
            from_months(2000 * 12 + m.div_euclid(per) * per)
        }
        Unit::Week => {
            let reference = week_start(BIN_REFERENCE + 6 * MS_DAY, sow);
            let size = 7 * MS_DAY * bin;
            reference + (local - reference).div_euclid(size) * size
        }
        other => {
            let size = fixed_ms(other).unwrap_or(1) * bin;
            BIN_REFERENCE + (local - BIN_REFERENCE).div_euclid(size) * size
        }
    };
    Ok(Value::DateTime(zone.to_utc(truncated)))
}

fn add_units(ms: i64, unit: Unit, amount: i64, zone: Timezone) -> Option<i64> {
    match fixed_ms(unit) {
        Some(u) => ms.checked_add(amount.checked_mul(u)?),
        None => {
            let months = amount.checked_mul(match unit {
                Unit::Year => 12,
                Unit::Quarter => 3,
                _ => 1,
            })?;
            let local = zone.to_local(ms);
            let c = CivilDateTime::from_millis(local);
            let total = c.year * 12 + i64::from(c.month) - 1 + months;
            let (y, m) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
            // Past the end of the target month the day is clamped, as MongoDB does (Jan 31 + 1 month = Feb 28/29).
            let day = c.day.min(days_in_month(y, m));
            Some(zone.to_utc(CivilDateTime { year: y, month: m, day, ..c }.to_millis()))
        }
    }
}

fn date_add_sign(op: &'static str, args: Args, sign: i64) -> Result<Value, ExprError> {
    if args.iter().take(3).any(|a| a.is_nullish()) {
        return Ok(Value::Null);
    }
    let Some(ms) = date_arg(op, &args[0])? else { return Ok(Value::Null) };
    let Some(unit) = unit_arg(op, &args[1])? else { return Ok(Value::Null) };
    let amount = args[2]
        .as_exact_i64()
        .ok_or_else(|| ExprError::new(op, format!("amount must be an integer, found {}", type_name(&args[2]))))?;
    let Some(zone) = tz(op, &args[3])? else { return Ok(Value::Null) };
    add_units(ms, unit, sign * amount, zone)
        .map(Value::DateTime)
        .ok_or_else(|| ExprError::new(op, "the result overflows the date range"))
}

fn date_add(args: Args) -> Result<Value, ExprError> {
    date_add_sign("$dateAdd", args, 1)
}

fn date_subtract(args: Args) -> Result<Value, ExprError> {
    date_add_sign("$dateSubtract", args, -1)
}

fn date_diff(args: Args) -> Result<Value, ExprError> {
    let op = "$dateDiff";
    let Some(a) = date_arg(op, &args[0])? else { return Ok(Value::Null) };
    let Some(b) = date_arg(op, &args[1])? else { return Ok(Value::Null) };
    let Some(unit) = unit_arg(op, &args[2])? else { return Ok(Value::Null) };
    let Some(zone) = tz(op, &args[3])? else { return Ok(Value::Null) };
    let sow = start_of_week(op, &args[4])?;
    let (la, lb) = (zone.to_local(a), zone.to_local(b));
    // $dateDiff counts unit boundaries crossed, not elapsed whole units.
    let n = match unit {
        Unit::Year => CivilDateTime::from_millis(lb).year - CivilDateTime::from_millis(la).year,
        Unit::Quarter => months_of(lb).div_euclid(3) - months_of(la).div_euclid(3),
        Unit::Month => months_of(lb) - months_of(la),
        Unit::Week => (week_start(lb, sow) - week_start(la, sow)) / (7 * MS_DAY),
        Unit::Millisecond => lb - la,
        other => {
            let u = fixed_ms(other).unwrap_or(1);
            lb.div_euclid(u) - la.div_euclid(u)
        }
    };
    Ok(Value::Int64(n))
}
