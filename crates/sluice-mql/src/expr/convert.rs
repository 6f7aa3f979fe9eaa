//! Type operators: `$type $isNumber $toInt $toLong $toDouble $toDecimal $toString $toDate $toBool
//! $toObjectId`, and the conversion table `$convert` shares (see special.rs for its lazy arguments).

use std::borrow::Cow;

use super::registry::{type_name, Arity, FuncDef};
use super::ExprError;
use crate::{format_iso_millis, parse_iso_datetime, BsonType, Decimal128, ObjectId, Str, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$type", arity: Arity::Exact(1), f: type_of },
    FuncDef { name: "$isNumber", arity: Arity::Exact(1), f: is_number },
    FuncDef { name: "$toInt", arity: Arity::Exact(1), f: to_int },
    FuncDef { name: "$toLong", arity: Arity::Exact(1), f: to_long },
    FuncDef { name: "$toDouble", arity: Arity::Exact(1), f: to_double },
    FuncDef { name: "$toDecimal", arity: Arity::Exact(1), f: to_decimal },
    FuncDef { name: "$toString", arity: Arity::Exact(1), f: to_string },
    FuncDef { name: "$toDate", arity: Arity::Exact(1), f: to_date },
    FuncDef { name: "$toBool", arity: Arity::Exact(1), f: to_bool },
    FuncDef { name: "$toObjectId", arity: Arity::Exact(1), f: to_object_id },
];

fn type_of(args: Args) -> Result<Value, ExprError> {
    Ok(Value::str(args[0].bson_type().alias()))
}

fn is_number(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(args[0].is_number()))
}

/// Converts a value to a BSON type as `$convert` does. Null and missing convert to null.
/// The error message is MongoDB's ("Unsupported conversion from X to Y ...").
pub(crate) fn convert_to(v: &Value, target: BsonType) -> Result<Value, String> {
    if v.is_nullish() {
        return Ok(Value::Null);
    }
    let unsupported = || {
        Err(format!(
            "Unsupported conversion from {} to {} in $convert with no onError value",
            type_name(v),
            target.alias()
        ))
    };
    // mongod ends the sentence with the value converted, empty for an integral one.
    let overflow = || {
        let tail = match v {
            Value::Double(_) | Value::Decimal(_) => {
                to_string_value(v).ok().and_then(|s| s.as_str().map(str::to_string)).unwrap_or_default()
            }
            _ => String::new(),
        };
        Err(format!("Conversion would overflow target type in $convert with no onError value: {}", tail))
    };
    match target {
        BsonType::Bool => Ok(Value::Bool(match v {
            Value::Bool(b) => *b,
            n if n.is_number() => n.truthy(),
            _ => true,
        })),
        BsonType::Int32 | BsonType::Int64 => {
            let wide: i64 = match v {
                Value::Bool(b) => i64::from(*b),
                Value::Int32(i) => i64::from(*i),
                Value::Int64(i) => *i,
                Value::Double(d) if d.is_nan() => {
                    return Err(
                        "Attempt to convert NaN value to integer type in $convert with no onError value".into()
                    )
                }
                Value::Double(d) if d.is_infinite() => {
                    return Err(
                        "Attempt to convert infinity value to integer type in $convert with no onError value".into()
                    )
                }
                Value::Double(d) => {
                    if d.trunc() < -9.223_372_036_854_776e18 || d.trunc() >= 9.223_372_036_854_776e18 {
                        return overflow();
                    }
                    d.trunc() as i64
                }
                Value::Decimal(d) => match d.trunc().to_exact_i64() {
                    Some(i) => i,
                    None => return overflow(),
                },
                Value::String(s) => match s.trim().parse::<i64>() {
                    Ok(i) => i,
                    Err(_) => return Err(format!("Failed to parse number '{}' in $convert with no onError value", s)),
                },
                Value::DateTime(ms) if target == BsonType::Int64 => *ms,
                _ => return unsupported(),
            };
            if target == BsonType::Int32 {
                i32::try_from(wide).map(Value::Int32).or_else(|_| overflow())
            } else {
                Ok(Value::Int64(wide))
            }
        }
        BsonType::Double => Ok(Value::Double(match v {
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::String(s) => match s.trim() {
                "Infinity" | "inf" => f64::INFINITY,
                "-Infinity" | "-inf" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                t => parse_double(t).map_err(|reason| format!("Failed to parse number '{}' in $convert with no onError value{}", s, reason))?,
            },
            Value::DateTime(ms) => *ms as f64,
            n => match n.as_f64() {
                Some(f) => f,
                None => return unsupported(),
            },
        })),
        BsonType::Decimal => Ok(Value::Decimal(match v {
            Value::Bool(b) => Decimal128::from_i64(i64::from(*b)),
            Value::Int32(i) => Decimal128::from_i64(i64::from(*i)),
            Value::Int64(i) => Decimal128::from_i64(*i),
            Value::Double(d) => Decimal128::from_f64(*d),
            Value::Decimal(d) => *d,
            Value::String(s) => Decimal128::parse(s.trim())
                .ok_or_else(|| format!("Failed to parse number '{}' in $convert with no onError value", s))?,
            Value::DateTime(ms) => Decimal128::from_i64(*ms),
            _ => return unsupported(),
        })),
        // Atlas Stream Processing: binData prints as base64 unless `$convert` names a format.
        BsonType::String => match v {
            Value::Binary(_, bytes) => Ok(Value::String(Str::from(crate::json::base64::encode(bytes)))),
            _ => to_string_value(v).or_else(|_| unsupported()),
        },
        BsonType::DateTime => match v {
            Value::DateTime(ms) => Ok(Value::DateTime(*ms)),
            Value::Int64(ms) => Ok(Value::DateTime(*ms)),
            Value::Double(d) if d.is_finite() => Ok(Value::DateTime(d.trunc() as i64)),
            Value::Decimal(d) => d.trunc().to_exact_i64().map(Value::DateTime).ok_or_else(|| "Conversion would overflow target type".to_string()),
            Value::String(s) => parse_iso_datetime(s)
                .map(Value::DateTime)
                .ok_or_else(|| format!("Error parsing date string '{}' in $convert with no onError value", s)),
            Value::ObjectId(id) => Ok(Value::DateTime(id.timestamp_millis())),
            Value::Timestamp(t, _) => Ok(Value::DateTime(i64::from(*t) * 1000)),
            _ => unsupported(),
        },
        BsonType::ObjectId => match v {
            Value::ObjectId(id) => Ok(Value::ObjectId(*id)),
            Value::String(s) => ObjectId::parse_hex(s)
                .map(Value::ObjectId)
                .ok_or_else(|| format!("Failed to parse objectId '{}' in $convert with no onError value: Invalid string length for parsing to OID, expected 24 but found {}", s, s.len())),
            _ => unsupported(),
        },
        _ => unsupported(),
    }
}

/// Parses a decimal string to a double as MongoDB does: a value too large for a double
/// (`"5e550"`) or too small to be told from zero (`"5e-550"`) is out of range, not infinity
/// or zero.
fn parse_double(t: &str) -> Result<f64, &'static str> {
    let d = t.parse::<f64>().map_err(|_| "")?;
    if d.is_infinite() {
        // Only a spelled-out infinity is one.
        let word = t.trim_start_matches(['+', '-']);
        let spelled = word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("infinity");
        return if spelled { Ok(d) } else { Err(": Out of range") };
    }
    let mantissa = t.split(['e', 'E']).next().unwrap_or(t);
    if (d == 0.0 || d.is_subnormal()) && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return Err(": Out of range");
    }
    Ok(d)
}

/// Formats a double as MongoDB's `$toString` does: integral values without a fraction.
fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if d.fract() == 0.0 && d.abs() < 1e15 {
        return format!("{}", d as i64);
    }
    let s = ryu::Buffer::new().format_finite(d).to_string();
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{}e+{}", m, e),
        _ => s,
    }
}

/// `$toString` of a scalar.
pub(crate) fn to_string_value(v: &Value) -> Result<Value, ExprError> {
    let s = match v {
        Value::String(s) => return Ok(Value::String(s.clone())),
        Value::Bool(b) => b.to_string(),
        Value::Int32(i) => i.to_string(),
        Value::Int64(i) => i.to_string(),
        Value::Double(d) => double_to_string(*d),
        Value::Decimal(d) => d.to_string(),
        Value::ObjectId(id) => id.to_hex(),
        Value::DateTime(ms) => format_iso_millis(*ms),
        other => {
            return Err(ExprError::new(
                "$toString",
                format!("Unsupported conversion from {} to string", type_name(other)),
            ))
        }
    };
    Ok(Value::String(Str::from(s)))
}

fn conv(op: &'static str, args: Args, t: BsonType) -> Result<Value, ExprError> {
    convert_to(&args[0], t).map_err(|m| ExprError::new(op, m))
}

fn to_int(args: Args) -> Result<Value, ExprError> {
    conv("$toInt", args, BsonType::Int32)
}
fn to_long(args: Args) -> Result<Value, ExprError> {
    conv("$toLong", args, BsonType::Int64)
}
fn to_double(args: Args) -> Result<Value, ExprError> {
    conv("$toDouble", args, BsonType::Double)
}
fn to_decimal(args: Args) -> Result<Value, ExprError> {
    conv("$toDecimal", args, BsonType::Decimal)
}
fn to_string(args: Args) -> Result<Value, ExprError> {
    conv("$toString", args, BsonType::String)
}
fn to_date(args: Args) -> Result<Value, ExprError> {
    conv("$toDate", args, BsonType::DateTime)
}
fn to_bool(args: Args) -> Result<Value, ExprError> {
    conv("$toBool", args, BsonType::Bool)
}
fn to_object_id(args: Args) -> Result<Value, ExprError> {
    conv("$toObjectId", args, BsonType::ObjectId)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok, v};
    use crate::Value;

    #[test]
    fn a_double_out_of_range_is_a_conversion_error() {
        let e = eval(r#"{"$toDouble": "5e550"}"#).expect_err("out of range");
        assert_eq!(e.message, "Failed to parse number '5e550' in $convert with no onError value: Out of range");
        assert!(eval(r#"{"$toDouble": "-5e550"}"#).is_err());
        assert!(eval(r#"{"$toDouble": "5e-550"}"#).is_err());
        assert_eq!(ok(r#"{"$convert": {"input": "5e550", "to": "double", "onError": "bad"}}"#), v(r#""bad""#));
        assert_eq!(ok(r#"{"$toDouble": "5e-5"}"#), v("0.00005"));
        assert_eq!(ok(r#"{"$toDouble": "0e-550"}"#), v("0.0"));
        assert_eq!(ok(r#"{"$toDouble": "-Infinity"}"#), Value::Double(f64::NEG_INFINITY));
        assert_eq!(ok(r#"{"$toDouble": "infinity"}"#), Value::Double(f64::INFINITY));
    }

    #[test]
    fn integer_conversion_failures_in_mongods_words() {
        let msg = |e: &str| eval(e).expect_err("fails").message;
        assert_eq!(
            msg(r#"{"$toInt": {"$numberLong": "1099511627776"}}"#),
            "Conversion would overflow target type in $convert with no onError value: "
        );
        assert_eq!(
            msg(r#"{"$toInt": {"$numberDouble": "NaN"}}"#),
            "Attempt to convert NaN value to integer type in $convert with no onError value"
        );
        assert_eq!(
            msg(r#"{"$toLong": {"$numberDouble": "-Infinity"}}"#),
            "Attempt to convert infinity value to integer type in $convert with no onError value"
        );
        assert!(msg(r#"{"$toInt": 1e20}"#).starts_with("Conversion would overflow target type"));
    }

    #[test]
    fn bin_data_to_string_is_base64() {
        assert_eq!(ok(r#"{"$toString": {"$binary": {"base64": "aGVsbG8=", "subType": "00"}}}"#), v(r#""aGVsbG8=""#));
    }

    #[test]
    fn dates_with_a_space_and_a_numeric_offset_convert() {
        let expected = v(r#"{"$date": "2018-03-20T06:00:06Z"}"#);
        assert_eq!(ok(r#"{"$toDate": "2018-03-20 11:00:06 +0500"}"#), expected);
        assert_eq!(ok(r#"{"$convert": {"input": "2018-03-20 11:00:06 +0500", "to": "date"}}"#), expected);
        assert_eq!(ok(r#"{"$dateFromString": {"dateString": "2018-03-20 11:00:06 +0500"}}"#), expected);
        // With a UTC timezone argument the string's offset applies; with any other, mongod
        // refuses the pair (onError applies).
        assert_eq!(
            ok(r#"{"$dateFromString": {"dateString": "2018-03-20 11:00:06 +0500", "timezone": "UTC"}}"#),
            expected
        );
        let e = eval(r#"{"$dateFromString": {"dateString": "2018-03-20 11:00:06 +0500", "timezone": "Europe/Paris"}}"#)
            .expect_err("an offset and a timezone");
        assert_eq!(
            e.message,
            "you cannot pass in a date/time string with GMT offset together with a timezone argument"
        );
        let e = eval(r#"{"$dateFromString": {"dateString": "2018-03-20T11:00:06Z", "timezone": "+01:00"}}"#)
            .expect_err("Z and a timezone");
        assert_eq!(
            e.message,
            "you cannot pass in a date/time string with time zone information ('Z') together with a timezone argument"
        );
        assert_eq!(
            ok(r#"{"$dateFromString": {"dateString": "2018-03-20T11:00:06Z", "timezone": "+01:00", "onError": 0}}"#),
            v("0")
        );
        // No zone in the string: the timezone argument places it.
        assert_eq!(ok(r#"{"$dateFromString": {"dateString": "2018-03-20 07:00:06", "timezone": "+01:00"}}"#), expected);
    }
}
