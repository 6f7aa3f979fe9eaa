//! Date parts: `$dateToParts $dateFromParts $week $isoWeek $isoWeekYear $isoDayOfWeek`.
//!
//! `$dateFromParts` follows MongoDB: a part outside its usual range carries into the larger ones
//! (month 14 is February of the next year, day 0 the last day of the month before), the year must
//! be 1..=9999 and every other part within [-32768, 32767].

use std::borrow::Cow;

use super::date::{date_arg, iso_week, tz};
use super::registry::{type_name, value_text, Arity, FuncDef};
use super::{CompileError, ExprError};
use crate::datetime::days_from_civil;
use crate::{CivilDateTime, Document, Str, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

const MS_DAY: i64 = 86_400_000;

/// `$dateFromParts`' arguments, in slot order.
const FROM_PARTS: &[&str] = &[
    "year",
    "month",
    "day",
    "isoWeekYear",
    "isoWeek",
    "isoDayOfWeek",
    "hour",
    "minute",
    "second",
    "millisecond",
    "timezone",
];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$dateToParts", arity: Arity::Named(&["date", "timezone", "iso8601"], 1), f: date_to_parts },
    FuncDef { name: "$dateFromParts", arity: Arity::Named(FROM_PARTS, 0), f: date_from_parts },
    FuncDef { name: "$week", arity: Arity::DatePart, f: week },
    FuncDef { name: "$isoWeek", arity: Arity::DatePart, f: iso_week_number },
    FuncDef { name: "$isoWeekYear", arity: Arity::DatePart, f: iso_week_year },
    FuncDef { name: "$isoDayOfWeek", arity: Arity::DatePart, f: iso_day_of_week },
];

/// Compile-time checks of `$dateFromParts`, in `ExpressionDateFromParts::parse`'s order and
/// words: known arguments only, a calendar year or an ISO week year, and not both forms.
pub(super) fn check_from_parts(arg: &Value) -> Result<(), CompileError> {
    let Some(d) = arg.as_document() else { return Ok(()) };
    if let Some(k) = d.keys().find(|k| !FROM_PARTS.contains(&k.as_str())) {
        return Err(CompileError(format!("Unrecognized argument to $dateFromParts: {}", k)));
    }
    let has = |k: &str| d.contains_key(k);
    if !has("year") && !has("isoWeekYear") {
        return Err(CompileError("$dateFromParts requires either 'year' or 'isoWeekYear' to be present".into()));
    }
    if has("year") && (has("isoWeekYear") || has("isoWeek") || has("isoDayOfWeek")) {
        return Err(CompileError("$dateFromParts does not allow mixing natural dates with ISO dates".into()));
    }
    if has("isoWeekYear") && (has("month") || has("day")) {
        return Err(CompileError("$dateFromParts does not allow mixing ISO dates with natural dates".into()));
    }
    Ok(())
}

/// Compile-time check of `$dateToParts`' argument names, in mongod's words.
pub(super) fn check_to_parts(arg: &Value) -> Result<(), CompileError> {
    let Some(d) = arg.as_document() else { return Ok(()) };
    match d.keys().find(|k| !matches!(k.as_str(), "date" | "timezone" | "iso8601")) {
        Some(k) => Err(CompileError(format!("Unrecognized argument to $dateToParts: {}", k))),
        None => Ok(()),
    }
}

/// The local civil time of a date argument; `Ok(None)` when the date or timezone is null.
fn local(op: &'static str, date: &Value, zone: &Value) -> Result<Option<CivilDateTime>, ExprError> {
    let Some(ms) = date_arg(op, date)? else { return Ok(None) };
    let Some(zone) = tz(op, zone)? else { return Ok(None) };
    Ok(Some(CivilDateTime::from_millis(zone.to_local(ms))))
}

fn int_field(d: &mut Document, k: &str, v: i64) {
    d.push_unique(Str::from(k), Value::Int32(v as i32));
}

/// In mongod's order: the timezone, then `iso8601`, then a null date, then the date's type.
fn date_to_parts(args: Args) -> Result<Value, ExprError> {
    let op = "$dateToParts";
    let Some(zone) = tz(op, &args[1])? else { return Ok(Value::Null) };
    let iso = match &*args[2] {
        Value::Missing => false,
        Value::Bool(b) => *b,
        v if v.is_nullish() => return Ok(Value::Null),
        v => return Err(ExprError::new(op, format!("iso8601 must evaluate to a bool, found {}", type_name(v)))),
    };
    let Some(ms) = date_arg(op, &args[0])? else { return Ok(Value::Null) };
    let c = CivilDateTime::from_millis(zone.to_local(ms));
    let mut d = Document::with_capacity(7);
    if iso {
        let (year, week) = iso_week(&c);
        int_field(&mut d, "isoWeekYear", year);
        int_field(&mut d, "isoWeek", i64::from(week));
        int_field(&mut d, "isoDayOfWeek", iso_weekday(&c));
    } else {
        int_field(&mut d, "year", c.year);
        int_field(&mut d, "month", i64::from(c.month));
        int_field(&mut d, "day", i64::from(c.day));
    }
    int_field(&mut d, "hour", i64::from(c.hour));
    int_field(&mut d, "minute", i64::from(c.minute));
    int_field(&mut d, "second", i64::from(c.second));
    int_field(&mut d, "millisecond", i64::from(c.millis));
    Ok(Value::Document(d))
}

/// 1 = Monday .. 7 = Sunday.
fn iso_weekday(c: &CivilDateTime) -> i64 {
    i64::from((c.day_of_week() + 5) % 7 + 1)
}

/// One part of `$dateFromParts`, as mongod's `evaluateNumberWithDefault` reads it: `default` when
/// absent, `None` when null, an error when not an integral number.
fn part(name: &str, v: &Value, default: i64) -> Result<Option<i64>, ExprError> {
    match v {
        Value::Missing => Ok(Some(default)),
        v if v.is_nullish() => Ok(None),
        v => v.as_exact_i64().filter(|_| v.is_number()).map(Some).ok_or_else(|| {
            ExprError::new(
                "$dateFromParts",
                format!("'{}' must evaluate to an integer, found {} with value {}", name, type_name(v), value_text(v)),
            )
        }),
    }
}

/// A part that must also fit 16 bits (`evaluateNumberWithDefaultAndBounds`).
fn bounded_part(name: &str, v: &Value, default: i64) -> Result<Option<i64>, ExprError> {
    let n = part(name, v, default)?;
    match n {
        Some(x) if !(-32_768..=32_767).contains(&x) => Err(ExprError::new(
            "$dateFromParts",
            format!("'{}' must evaluate to a value in the range [-32768, 32767]; value {} is not in range", name, x),
        )),
        _ => Ok(n),
    }
}

fn year_in_range(name: &str, year: i64) -> Result<i64, ExprError> {
    if (1..=9999).contains(&year) {
        Ok(year)
    } else {
        Err(ExprError::new(
            "$dateFromParts",
            format!("'{}' must evaluate to an integer in the range 1 to 9999, found {}", name, year),
        ))
    }
}

/// Parts are read in mongod's order (time parts, timezone, then the date parts, the year's range
/// checked last), so the same input fails with the same message.
fn date_from_parts(args: Args) -> Result<Value, ExprError> {
    let arg = |name: &str| FROM_PARTS.iter().position(|n| *n == name).map_or(&Value::Missing, |i| &*args[i]);
    macro_rules! get {
        ($read:ident, $name:expr, $default:expr) => {
            match $read($name, arg($name), $default)? {
                Some(x) => x,
                None => return Ok(Value::Null),
            }
        };
    }
    let hour = get!(bounded_part, "hour", 0);
    let minute = get!(bounded_part, "minute", 0);
    let second = get!(part, "second", 0);
    let millis = get!(part, "millisecond", 0);
    let Some(zone) = tz("$dateFromParts", arg("timezone"))? else { return Ok(Value::Null) };
    // The day count of the date part (local midnight), from either form.
    let days = if arg("isoWeekYear").is_missing() {
        let year = get!(part, "year", 1970);
        let month = get!(bounded_part, "month", 1);
        let day = get!(bounded_part, "day", 1);
        let year = year_in_range("year", year)?;
        // Months carry into years first; days then count from the first of the resulting month.
        let months = year * 12 + (month - 1);
        days_from_civil(months.div_euclid(12), (months.rem_euclid(12) + 1) as u32, 1) + (day - 1)
    } else {
        let year = get!(part, "isoWeekYear", 1970);
        let week = get!(bounded_part, "isoWeek", 1);
        let weekday = get!(bounded_part, "isoDayOfWeek", 1);
        let year = year_in_range("isoWeekYear", year)?;
        // Monday of ISO week 1 is the Monday on or before January 4th.
        let jan4 = days_from_civil(year, 1, 4);
        let monday = jan4 - (jan4 + 3).rem_euclid(7);
        monday + (week - 1) * 7 + (weekday - 1)
    };
    // Seconds and milliseconds are unbounded: the sum is checked.
    let local = i128::from(days) * i128::from(MS_DAY)
        + i128::from(hour) * 3_600_000
        + i128::from(minute) * 60_000
        + i128::from(second) * 1000
        + i128::from(millis);
    let local = i64::try_from(local)
        .map_err(|_| ExprError::new("$dateFromParts", "the date is out of the range of a BSON date"))?;
    Ok(Value::DateTime(zone.to_utc(local)))
}

fn date_part(op: &'static str, args: Args, f: fn(&CivilDateTime) -> i64) -> Result<Value, ExprError> {
    Ok(match local(op, &args[0], &args[1])? {
        Some(c) => Value::Int32(f(&c) as i32),
        None => Value::Null,
    })
}

/// Week of the year, 0..=53: weeks start on Sunday and days before the year's first Sunday are
/// week 0 (as `%U`).
fn week(args: Args) -> Result<Value, ExprError> {
    date_part("$week", args, |c| {
        let jan1 = CivilDateTime { month: 1, day: 1, ..*c };
        let first_sunday_offset = i64::from((8 - jan1.day_of_week()) % 7);
        (i64::from(c.day_of_year()) - 1 - first_sunday_offset + 7) / 7
    })
}

fn iso_week_number(args: Args) -> Result<Value, ExprError> {
    date_part("$isoWeek", args, |c| i64::from(iso_week(c).1))
}

fn iso_week_year(args: Args) -> Result<Value, ExprError> {
    date_part("$isoWeekYear", args, |c| iso_week(c).0)
}

fn iso_day_of_week(args: Args) -> Result<Value, ExprError> {
    date_part("$isoDayOfWeek", args, iso_weekday)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok, v};
    use crate::json::parse_value;
    use crate::Value;
    use proptest::prelude::*;

    fn date(s: &str) -> Value {
        v(&format!(r#"{{"$date": "{}"}}"#, s))
    }

    #[test]
    fn date_to_parts_calendar_iso_and_timezone() {
        let at = r#"{"$date": "2017-01-01T01:29:09.123Z"}"#;
        assert_eq!(
            ok(&format!(r#"{{"$dateToParts": {{"date": {}}}}}"#, at)),
            v(r#"{"year": 2017, "month": 1, "day": 1, "hour": 1, "minute": 29, "second": 9, "millisecond": 123}"#)
        );
        assert_eq!(
            ok(&format!(r#"{{"$dateToParts": {{"date": {}, "iso8601": true}}}}"#, at)),
            v(
                r#"{"isoWeekYear": 2016, "isoWeek": 52, "isoDayOfWeek": 7, "hour": 1, "minute": 29, "second": 9, "millisecond": 123}"#
            )
        );
        assert_eq!(
            ok(&format!(r#"{{"$dateToParts": {{"date": {}, "timezone": "America/New_York"}}}}"#, at)),
            v(r#"{"year": 2016, "month": 12, "day": 31, "hour": 20, "minute": 29, "second": 9, "millisecond": 123}"#)
        );
        assert_eq!(ok(r#"{"$dateToParts": {"date": null}}"#), Value::Null);
        assert_eq!(ok(r#"{"$dateToParts": {"date": "$t", "timezone": null}}"#), Value::Null);
        assert!(eval(r#"{"$dateToParts": {"date": "$t", "iso8601": 1}}"#).is_err());
        // mongod reads the timezone and iso8601 before it looks at the date.
        assert_eq!(ok(r#"{"$dateToParts": {"date": "x", "timezone": null}}"#), Value::Null);
        assert!(eval(r#"{"$dateToParts": {"date": null, "iso8601": "yes"}}"#).is_err());
        assert!(eval(r#"{"$dateToParts": {"date": "x"}}"#).is_err());
    }

    #[test]
    fn date_from_parts_both_forms() {
        assert_eq!(
            ok(r#"{"$dateFromParts": {"year": 2017, "month": 2, "day": 8, "hour": 12}}"#),
            date("2017-02-08T12:00:00Z")
        );
        assert_eq!(
            ok(r#"{"$dateFromParts": {"isoWeekYear": 2017, "isoWeek": 6, "isoDayOfWeek": 3, "hour": 12}}"#),
            date("2017-02-08T12:00:00Z")
        );
        assert_eq!(
            ok(
                r#"{"$dateFromParts": {"year": 2016, "month": 12, "day": 31, "hour": 23, "minute": 46, "second": 12, "timezone": "America/New_York"}}"#
            ),
            date("2017-01-01T04:46:12Z")
        );
        assert_eq!(ok(r#"{"$dateFromParts": {"year": 2024}}"#), date("2024-01-01T00:00:00Z"));
        assert_eq!(ok(r#"{"$dateFromParts": {"year": 2017.0, "month": 2.0}}"#), date("2017-02-01T00:00:00Z"));
        assert_eq!(ok(r#"{"$dateFromParts": {"year": 2017, "month": null}}"#), Value::Null);
        assert_eq!(ok(r#"{"$dateFromParts": {"year": "$nope"}}"#), date("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn date_from_parts_carries_out_of_range_parts() {
        let from = |parts: &str| ok(&format!(r#"{{"$dateFromParts": {}}}"#, parts));
        assert_eq!(from(r#"{"year": 2017, "month": 14, "day": 1, "hour": 12}"#), date("2018-02-01T12:00:00Z"));
        assert_eq!(from(r#"{"year": 2017, "month": 0, "day": 1, "hour": 12}"#), date("2016-12-01T12:00:00Z"));
        assert_eq!(from(r#"{"year": 2017, "month": 2, "day": 30}"#), date("2017-03-02T00:00:00Z"));
        assert_eq!(from(r#"{"year": 2019, "month": 3, "day": 0}"#), date("2019-02-28T00:00:00Z"));
        assert_eq!(from(r#"{"year": 2017, "month": 1, "day": 1, "hour": -1}"#), date("2016-12-31T23:00:00Z"));
        assert_eq!(from(r#"{"year": 2017, "minute": 90, "second": 3600}"#), date("2017-01-01T02:30:00Z"));
        assert_eq!(from(r#"{"isoWeekYear": 2017, "isoWeek": 53}"#), date("2018-01-01T00:00:00Z"));
    }

    #[test]
    fn date_from_parts_errors() {
        let e = eval(r#"{"$dateFromParts": {"year": 10000}}"#).expect_err("year out of range");
        assert_eq!(e.message, "'year' must evaluate to an integer in the range 1 to 9999, found 10000");
        let e = eval(r#"{"$dateFromParts": {"year": 2017, "month": 32768}}"#).expect_err("month out of range");
        assert_eq!(
            e.message,
            "'month' must evaluate to a value in the range [-32768, 32767]; value 32768 is not in range"
        );
        let e = eval(r#"{"$dateFromParts": {"year": 2017, "day": 1.5}}"#).expect_err("day 1.5");
        assert_eq!(e.message, "'day' must evaluate to an integer, found double with value 1.5");
        let e = eval(r#"{"$dateFromParts": {"year": "2017"}}"#).expect_err("a string year");
        assert_eq!(e.message, r#"'year' must evaluate to an integer, found string with value "2017""#);
        // mongod reads month before it checks the year's range.
        let e = eval(r#"{"$dateFromParts": {"year": 0, "month": 40000}}"#).expect_err("both wrong");
        assert!(e.message.starts_with("'month'"), "{}", e.message);
        // Seconds and milliseconds are not bounded to 16 bits.
        assert_eq!(
            ok(r#"{"$dateFromParts": {"year": 1970, "second": 86400, "millisecond": 100000}}"#),
            date("1970-01-02T00:01:40Z")
        );
        let e = eval(r#"{"$dateFromParts": {"year": 2017, "hour": 40000}}"#).expect_err("hour out of range");
        assert_eq!(
            e.message,
            "'hour' must evaluate to a value in the range [-32768, 32767]; value 40000 is not in range"
        );
        let compile =
            |s: &str| super::super::compile(&parse_value(s).expect("valid json")).map(|_| ()).map_err(|e| e.0);
        assert_eq!(
            compile(r#"{"$dateFromParts": {"month": 1}}"#),
            Err("$dateFromParts requires either 'year' or 'isoWeekYear' to be present".into())
        );
        assert_eq!(
            compile(r#"{"$dateFromParts": {"year": 2017, "isoWeek": 1}}"#),
            Err("$dateFromParts does not allow mixing natural dates with ISO dates".into())
        );
        assert_eq!(
            compile(r#"{"$dateFromParts": {"isoWeekYear": 2017, "day": 1}}"#),
            Err("$dateFromParts does not allow mixing ISO dates with natural dates".into())
        );
        assert_eq!(
            compile(r#"{"$dateFromParts": {"year": 2017, "days": 1}}"#),
            Err("Unrecognized argument to $dateFromParts: days".into())
        );
        assert_eq!(
            compile(r#"{"$dateToParts": {"date": 1, "k": 1}}"#),
            Err("Unrecognized argument to $dateToParts: k".into())
        );
    }

    #[test]
    fn week_numbers() {
        let at = |op: &str, d: &str| ok(&format!(r#"{{"{}": {{"$date": "{}"}}}}"#, op, d));
        // 2014-01-01 was a Wednesday: week 0 until the first Sunday.
        assert_eq!(at("$week", "2014-01-01T08:15:39.736Z"), Value::Int32(0));
        assert_eq!(at("$week", "2014-01-05T00:00:00Z"), Value::Int32(1));
        assert_eq!(at("$isoWeek", "2006-10-24T00:00:00Z"), Value::Int32(43));
        assert_eq!(at("$isoWeek", "2011-08-18T00:00:00Z"), Value::Int32(33));
        assert_eq!(at("$isoWeekYear", "2017-01-01T00:00:00Z"), Value::Int32(2016));
        assert_eq!(at("$isoWeekYear", "2018-12-31T00:00:00Z"), Value::Int32(2019));
        assert_eq!(at("$isoDayOfWeek", "1993-09-21T00:00:00Z"), Value::Int32(2));
        assert_eq!(at("$isoDayOfWeek", "1981-11-07T00:00:00Z"), Value::Int32(6));
        assert_eq!(at("$isoDayOfWeek", "2024-08-11T00:00:00Z"), Value::Int32(7));
        assert_eq!(ok(r#"{"$isoWeek": {"date": "$t", "timezone": "+14:00"}}"#), Value::Int32(33));
        assert_eq!(ok(r#"{"$week": null}"#), Value::Null);
        assert!(eval(r#"{"$isoWeek": "2024-01-01"}"#).is_err());
    }

    proptest! {
        /// `$dateFromParts` of `$dateToParts` is the date, in either form.
        #[test]
        fn parts_round_trip(ms in -62_135_596_800_000i64..253_402_300_799_999i64, iso in any::<bool>()) {
            let d = crate::format_iso_millis(ms);
            // $dateFromParts takes its parts as a literal document, so the parts are spliced in.
            let parts = ok(&format!(r#"{{"$dateToParts": {{"date": {{"$date": "{}"}}, "iso8601": {}}}}}"#, d, iso));
            let Value::Document(parts) = parts else { panic!("parts are a document") };
            let json = crate::json::to_json_string(&parts, crate::json::JsonMode::Canonical);
            prop_assert_eq!(ok(&format!(r#"{{"$dateFromParts": {}}}"#, json)), Value::DateTime(ms));
        }
    }
}
