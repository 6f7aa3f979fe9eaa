//! Arithmetic operators: `$add $subtract $multiply $divide $mod $abs $ceil $floor $round $trunc
//! $sqrt $pow $exp $ln $log $log10`.

use std::borrow::Cow;

use super::numeric::{add_numbers, divide_numbers, map_double, multiply_numbers, subtract_numbers, to_decimal};
use super::registry::{type_name, Arity, FuncDef};
use super::ExprError;
use crate::{Decimal128, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$add", arity: Arity::Any, f: add },
    FuncDef { name: "$subtract", arity: Arity::Exact(2), f: subtract },
    FuncDef { name: "$multiply", arity: Arity::Any, f: multiply },
    FuncDef { name: "$divide", arity: Arity::Exact(2), f: divide },
    FuncDef { name: "$mod", arity: Arity::Exact(2), f: modulo },
    FuncDef { name: "$abs", arity: Arity::Exact(1), f: abs },
    FuncDef { name: "$ceil", arity: Arity::Exact(1), f: ceil },
    FuncDef { name: "$floor", arity: Arity::Exact(1), f: floor },
    FuncDef { name: "$round", arity: Arity::Range(1, 2), f: round },
    FuncDef { name: "$trunc", arity: Arity::Range(1, 2), f: trunc },
    FuncDef { name: "$sqrt", arity: Arity::Exact(1), f: sqrt },
    FuncDef { name: "$pow", arity: Arity::Exact(2), f: pow },
    FuncDef { name: "$exp", arity: Arity::Exact(1), f: exp },
    FuncDef { name: "$ln", arity: Arity::Exact(1), f: ln },
    FuncDef { name: "$log", arity: Arity::Exact(2), f: log },
    FuncDef { name: "$log10", arity: Arity::Exact(1), f: log10 },
];

fn any_nullish(args: Args) -> bool {
    args.iter().any(|a| a.is_nullish())
}

fn not_numeric(op: &'static str, v: &Value) -> ExprError {
    ExprError::new(op, format!("only supports numeric types, not {}", type_name(v)))
}

fn add(args: Args) -> Result<Value, ExprError> {
    let mut acc = Value::Int32(0);
    let mut date: Option<i64> = None;
    let mut saw_null = false;
    for a in args {
        match &**a {
            v if v.is_nullish() => saw_null = true,
            Value::DateTime(ms) => {
                if date.is_some() {
                    return Err(ExprError::new("$add", "only one date allowed in an $add expression"));
                }
                date = Some(*ms);
            }
            v if v.is_number() => acc = add_numbers(&acc, v).ok_or_else(|| not_numeric("$add", v))?,
            v => {
                return Err(ExprError::new(
                    "$add",
                    format!("only supports numeric or date types, not {}", type_name(v)),
                ))
            }
        }
    }
    if saw_null {
        return Ok(Value::Null);
    }
    match date {
        Some(ms) => {
            let delta = match acc {
                Value::Double(d) => d.round() as i64,
                Value::Decimal(d) => d.to_f64().round() as i64,
                other => other.as_exact_i64().unwrap_or(0),
            };
            Ok(Value::DateTime(ms.wrapping_add(delta)))
        }
        None => Ok(acc),
    }
}

fn subtract(args: Args) -> Result<Value, ExprError> {
    if any_nullish(args) {
        return Ok(Value::Null);
    }
    match (&*args[0], &*args[1]) {
        (Value::DateTime(a), Value::DateTime(b)) => Ok(Value::Int64(a.wrapping_sub(*b))),
        (Value::DateTime(a), n) if n.is_number() => {
            let delta = n.as_f64().map(|f| f.round() as i64).unwrap_or(0);
            Ok(Value::DateTime(a.wrapping_sub(delta)))
        }
        (a, b) => subtract_numbers(a, b).ok_or_else(|| {
            ExprError::new("$subtract", format!("cannot $subtract a {} from a {}", type_name(b), type_name(a)))
        }),
    }
}

fn multiply(args: Args) -> Result<Value, ExprError> {
    let mut acc = Value::Int32(1);
    let mut saw_null = false;
    for a in args {
        if a.is_nullish() {
            saw_null = true;
            continue;
        }
        acc = multiply_numbers(&acc, a).ok_or_else(|| not_numeric("$multiply", a))?;
    }
    Ok(if saw_null { Value::Null } else { acc })
}

fn divide(args: Args) -> Result<Value, ExprError> {
    if any_nullish(args) {
        return Ok(Value::Null);
    }
    // Two numbers neither of which is a decimal (nearly always): the double quotient is written
    // straight into the result, not copied on from `divide_numbers`' (a copy that waits for the
    // stores that just wrote it). Same answer as `divide_numbers`.
    if let (Some(x), Some(y)) = (binary_float(&args[0]), binary_float(&args[1])) {
        if y == 0.0 {
            return Err(ExprError::new("$divide", "can't $divide by zero"));
        }
        return Ok(Value::Double(x / y));
    }
    match divide_numbers(&args[0], &args[1]) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(ExprError::new(
            "$divide",
            format!("only supports numeric types, not {} and {}", type_name(&args[0]), type_name(&args[1])),
        )),
        Err(()) => Err(ExprError::new("$divide", "can't $divide by zero")),
    }
}

/// An int, long or double as a double; None for anything else (decimals included).
#[inline(always)]
fn binary_float(v: &Value) -> Option<f64> {
    match v {
        Value::Int32(i) => Some(f64::from(*i)),
        Value::Int64(l) => Some(*l as f64),
        Value::Double(d) => Some(*d),
        _ => None,
    }
}

fn modulo(args: Args) -> Result<Value, ExprError> {
    if any_nullish(args) {
        return Ok(Value::Null);
    }
    let (a, b) = (&*args[0], &*args[1]);
    if !a.is_number() || !b.is_number() {
        return Err(ExprError::new(
            "$mod",
            format!("only supports numeric types, not {} and {}", type_name(a), type_name(b)),
        ));
    }
    let zero = b.as_f64() == Some(0.0);
    if zero {
        return Err(ExprError::new("$mod", "can't $mod by zero"));
    }
    Ok(match (a, b) {
        (Value::Int32(x), Value::Int32(y)) => Value::Int32(x.wrapping_rem(*y)),
        (Value::Int32(_) | Value::Int64(_), Value::Int32(_) | Value::Int64(_)) => {
            Value::Int64(a.as_exact_i64().unwrap_or(0).wrapping_rem(b.as_exact_i64().unwrap_or(1)))
        }
        (Value::Decimal(_), _) | (_, Value::Decimal(_)) => {
            let (x, y) = (to_decimal(a), to_decimal(b));
            // x - trunc(x / y) * y, exact in decimal.
            match x.div(&y) {
                Some(q) => Value::Decimal(x.sub(&q.trunc().mul(&y))),
                None => return Err(ExprError::new("$mod", "can't $mod by zero")),
            }
        }
        _ => Value::Double(a.as_f64().unwrap_or(0.0) % b.as_f64().unwrap_or(1.0)),
    })
}

fn unary(op: &'static str, args: Args, f: impl Fn(&Value) -> Option<Value>) -> Result<Value, ExprError> {
    let v = &*args[0];
    if v.is_nullish() {
        return Ok(Value::Null);
    }
    f(v).ok_or_else(|| not_numeric(op, v))
}

fn abs(args: Args) -> Result<Value, ExprError> {
    unary("$abs", args, |v| match v {
        Value::Int32(i) => Some(i.checked_abs().map(Value::Int32).unwrap_or(Value::Int64(-i64::from(*i)))),
        Value::Int64(i) => Some(i.checked_abs().map(Value::Int64).unwrap_or(Value::Double(-(*i as f64)))),
        Value::Double(d) => Some(Value::Double(d.abs())),
        Value::Decimal(d) => Some(Value::Decimal(if d.is_negative() { d.neg() } else { *d })),
        _ => None,
    })
}

fn integral(v: &Value, f: fn(f64) -> f64) -> Option<Value> {
    match v {
        Value::Int32(_) | Value::Int64(_) => Some(v.clone()),
        _ => map_double(v, f),
    }
}

fn ceil(args: Args) -> Result<Value, ExprError> {
    unary("$ceil", args, |v| integral(v, f64::ceil))
}

fn floor(args: Args) -> Result<Value, ExprError> {
    unary("$floor", args, |v| integral(v, f64::floor))
}

fn place_arg(op: &'static str, args: Args) -> Result<Option<i64>, ExprError> {
    match args.get(1).map(|c| &**c) {
        None | Some(Value::Missing) => Ok(Some(0)),
        Some(v) if v.is_nullish() => Ok(None),
        Some(v) => match v.as_exact_i64() {
            Some(p) if (-20..100).contains(&p) => Ok(Some(p)),
            _ => Err(ExprError::new(op, "place must be an integer between -20 and 100")),
        },
    }
}

/// Rounds (half to even, as MongoDB's `$round`) or truncates to `place` decimal digits.
fn round_to(v: &Value, place: i64, truncate: bool) -> Option<Value> {
    let scale = |d: f64| {
        let m = 10f64.powi(place as i32);
        let x = d * m;
        let r = if truncate {
            x.trunc()
        } else {
            let r = x.round();
            // Half to even: x.round() rounds half away from zero.
            if (x - x.trunc()).abs() == 0.5 {
                2.0 * (x / 2.0).round()
            } else {
                r
            }
        };
        r / m
    };
    match v {
        Value::Int32(i) if place >= 0 => Some(Value::Int32(*i)),
        Value::Int64(i) if place >= 0 => Some(Value::Int64(*i)),
        Value::Int32(i) => {
            let r = scale(f64::from(*i)) as i64;
            Some(i32::try_from(r).map(Value::Int32).unwrap_or(Value::Int64(r)))
        }
        Value::Int64(i) => Some(Value::Int64(scale(*i as f64) as i64)),
        Value::Double(d) => Some(Value::Double(scale(*d))),
        Value::Decimal(d) => Some(Value::Decimal(Decimal128::from_f64(scale(d.to_f64())))),
        _ => None,
    }
}

fn round(args: Args) -> Result<Value, ExprError> {
    let Some(place) = place_arg("$round", args)? else { return Ok(Value::Null) };
    unary("$round", args, |v| round_to(v, place, false))
}

fn trunc(args: Args) -> Result<Value, ExprError> {
    let Some(place) = place_arg("$trunc", args)? else { return Ok(Value::Null) };
    unary("$trunc", args, |v| round_to(v, place, true))
}

fn sqrt(args: Args) -> Result<Value, ExprError> {
    if args[0].as_f64().is_some_and(|x| x < 0.0) {
        return Err(ExprError::new("$sqrt", "$sqrt's argument must be greater than or equal to 0"));
    }
    unary("$sqrt", args, |v| map_double(v, f64::sqrt))
}

fn exp(args: Args) -> Result<Value, ExprError> {
    unary("$exp", args, |v| map_double(v, f64::exp))
}

fn ln(args: Args) -> Result<Value, ExprError> {
    if args[0].as_f64().is_some_and(|x| x <= 0.0) {
        return Err(ExprError::new("$ln", "$ln's argument must be a positive number"));
    }
    unary("$ln", args, |v| map_double(v, f64::ln))
}

fn log10(args: Args) -> Result<Value, ExprError> {
    if args[0].as_f64().is_some_and(|x| x <= 0.0) {
        return Err(ExprError::new("$log10", "$log10's argument must be a positive number"));
    }
    unary("$log10", args, |v| map_double(v, f64::log10))
}

fn log(args: Args) -> Result<Value, ExprError> {
    if any_nullish(args) {
        return Ok(Value::Null);
    }
    let (Some(x), Some(b)) = (args[0].as_f64(), args[1].as_f64()) else {
        return Err(not_numeric("$log", if args[0].is_number() { &args[1] } else { &args[0] }));
    };
    if x <= 0.0 {
        return Err(ExprError::new("$log", "$log's argument must be a positive number"));
    }
    if b <= 0.0 || b == 1.0 {
        return Err(ExprError::new("$log", "$log's base must be a positive number not equal to 1"));
    }
    Ok(Value::Double(x.ln() / b.ln()))
}

fn pow(args: Args) -> Result<Value, ExprError> {
    if any_nullish(args) {
        return Ok(Value::Null);
    }
    let (a, b) = (&*args[0], &*args[1]);
    if !a.is_number() || !b.is_number() {
        return Err(not_numeric("$pow", if a.is_number() { b } else { a }));
    }
    if a.as_f64() == Some(0.0) && b.as_f64().is_some_and(|e| e < 0.0) {
        return Err(ExprError::new("$pow", "$pow cannot take a base of 0 and a negative exponent"));
    }
    // Integer base and non-negative integer exponent stay integral while they fit.
    if let (Value::Int32(_) | Value::Int64(_), Value::Int32(_) | Value::Int64(_)) = (a, b) {
        let (x, e) = (a.as_exact_i64().unwrap_or(0), b.as_exact_i64().unwrap_or(0));
        if e >= 0 {
            if let Some(r) = u32::try_from(e).ok().and_then(|e| x.checked_pow(e)) {
                let both_int = matches!((a, b), (Value::Int32(_), Value::Int32(_)));
                return Ok(match i32::try_from(r) {
                    Ok(i) if both_int => Value::Int32(i),
                    _ => Value::Int64(r),
                });
            }
        }
    }
    match (a, b) {
        (Value::Decimal(_), _) | (_, Value::Decimal(_)) => {
            Ok(Value::Decimal(Decimal128::from_f64(a.as_f64().unwrap_or(0.0).powf(b.as_f64().unwrap_or(0.0)))))
        }
        _ => Ok(Value::Double(a.as_f64().unwrap_or(0.0).powf(b.as_f64().unwrap_or(0.0)))),
    }
}
