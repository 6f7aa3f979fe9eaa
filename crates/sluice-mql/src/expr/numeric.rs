//! Numeric type promotion shared by arithmetic operators and accumulators:
//! int + int stays int unless it overflows (then long), long overflows to double,
//! anything with a double is a double, anything with a decimal is a decimal.

use crate::{Decimal128, Value};

/// The widest numeric type of two operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Width {
    Int,
    Long,
    Double,
    Decimal,
}

fn width(v: &Value) -> Option<Width> {
    match v {
        Value::Int32(_) => Some(Width::Int),
        Value::Int64(_) => Some(Width::Long),
        Value::Double(_) => Some(Width::Double),
        Value::Decimal(_) => Some(Width::Decimal),
        _ => None,
    }
}

pub(crate) fn to_decimal(v: &Value) -> Decimal128 {
    match v {
        Value::Int32(i) => Decimal128::from_i64(i64::from(*i)),
        Value::Int64(i) => Decimal128::from_i64(*i),
        Value::Double(d) => Decimal128::from_f64(*d),
        Value::Decimal(d) => *d,
        _ => Decimal128::NAN,
    }
}

fn as_i64(v: &Value) -> i64 {
    match v {
        Value::Int32(i) => i64::from(*i),
        Value::Int64(i) => *i,
        _ => 0,
    }
}

fn narrow(i: i64, w: Width) -> Value {
    if w == Width::Int {
        if let Ok(x) = i32::try_from(i) {
            return Value::Int32(x);
        }
    }
    Value::Int64(i)
}

/// `a + b` for two numbers; `None` when either is not a number.
pub(crate) fn add_numbers(a: &Value, b: &Value) -> Option<Value> {
    let w = width(a)?.max(width(b)?);
    Some(match w {
        Width::Int | Width::Long => match as_i64(a).checked_add(as_i64(b)) {
            Some(s) => narrow(s, w),
            None => Value::Double(as_i64(a) as f64 + as_i64(b) as f64),
        },
        Width::Double => Value::Double(a.as_f64()? + b.as_f64()?),
        Width::Decimal => Value::Decimal(to_decimal(a).add(&to_decimal(b))),
    })
}

/// `a - b` for two numbers.
pub(crate) fn subtract_numbers(a: &Value, b: &Value) -> Option<Value> {
    let w = width(a)?.max(width(b)?);
    Some(match w {
        Width::Int | Width::Long => match as_i64(a).checked_sub(as_i64(b)) {
            Some(s) => narrow(s, w),
            None => Value::Double(as_i64(a) as f64 - as_i64(b) as f64),
        },
        Width::Double => Value::Double(a.as_f64()? - b.as_f64()?),
        Width::Decimal => Value::Decimal(to_decimal(a).sub(&to_decimal(b))),
    })
}

/// `a * b` for two numbers.
pub(crate) fn multiply_numbers(a: &Value, b: &Value) -> Option<Value> {
    let w = width(a)?.max(width(b)?);
    Some(match w {
        Width::Int | Width::Long => match as_i64(a).checked_mul(as_i64(b)) {
            Some(s) => narrow(s, w),
            None => Value::Double(as_i64(a) as f64 * as_i64(b) as f64),
        },
        Width::Double => Value::Double(a.as_f64()? * b.as_f64()?),
        Width::Decimal => Value::Decimal(to_decimal(a).mul(&to_decimal(b))),
    })
}

/// `a / b`: a double unless a decimal is involved. `Err(())` on division by zero,
/// `Ok(None)` when an operand is not a number.
pub(crate) fn divide_numbers(a: &Value, b: &Value) -> Result<Option<Value>, ()> {
    let (Some(wa), Some(wb)) = (width(a), width(b)) else { return Ok(None) };
    if wa.max(wb) == Width::Decimal {
        return to_decimal(a).div(&to_decimal(b)).map(|d| Some(Value::Decimal(d))).ok_or(());
    }
    let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
    if y == 0.0 {
        return Err(());
    }
    Ok(Some(Value::Double(x / y)))
}

/// Applies a double function, keeping decimals as decimals through f64 (documented precision loss
/// only for the transcendental functions) and returning a double for other numeric types.
pub(crate) fn map_double(v: &Value, f: impl Fn(f64) -> f64) -> Option<Value> {
    match v {
        Value::Decimal(d) => Some(Value::Decimal(Decimal128::from_f64(f(d.to_f64())))),
        other => Some(Value::Double(f(other.as_f64()?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_rules() {
        assert_eq!(add_numbers(&Value::Int32(1), &Value::Int32(2)), Some(Value::Int32(3)));
        assert_eq!(add_numbers(&Value::Int32(i32::MAX), &Value::Int32(1)), Some(Value::Int64(i64::from(i32::MAX) + 1)));
        assert_eq!(add_numbers(&Value::Int64(i64::MAX), &Value::Int32(1)), Some(Value::Double(i64::MAX as f64 + 1.0)));
        assert_eq!(add_numbers(&Value::Int32(1), &Value::Double(0.5)), Some(Value::Double(1.5)));
        assert_eq!(multiply_numbers(&Value::Int64(2), &Value::Int32(3)), Some(Value::Int64(6)));
        assert_eq!(divide_numbers(&Value::Int32(1), &Value::Int32(2)), Ok(Some(Value::Double(0.5))));
        assert_eq!(divide_numbers(&Value::Int32(1), &Value::Int32(0)), Err(()));
        assert_eq!(add_numbers(&Value::str("a"), &Value::Int32(1)), None);
        let dec = add_numbers(&Value::Int32(1), &Value::Decimal(Decimal128::parse("0.5").expect("valid")));
        assert_eq!(dec, Some(Value::Decimal(Decimal128::parse("1.5").expect("valid"))));
    }
}
