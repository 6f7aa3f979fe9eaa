//! Trigonometry operators: `$sin $cos $tan $asin $acos $atan $atan2 $sinh $cosh $tanh $asinh $acosh
//! $atanh $degreesToRadians $radiansToDegrees`.
//!
//! As MongoDB: null or missing gives null, NaN gives NaN, a decimal gives a decimal and any other
//! number a double; an input outside the function's domain is an error naming the bounds.

use std::borrow::Cow;

use super::registry::{type_name, Arity, FuncDef};
use super::ExprError;
use crate::{Decimal128, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$sin", arity: Arity::Exact(1), f: sin },
    FuncDef { name: "$cos", arity: Arity::Exact(1), f: cos },
    FuncDef { name: "$tan", arity: Arity::Exact(1), f: tan },
    FuncDef { name: "$asin", arity: Arity::Exact(1), f: asin },
    FuncDef { name: "$acos", arity: Arity::Exact(1), f: acos },
    FuncDef { name: "$atan", arity: Arity::Exact(1), f: atan },
    FuncDef { name: "$atan2", arity: Arity::Exact(2), f: atan2 },
    FuncDef { name: "$sinh", arity: Arity::Exact(1), f: sinh },
    FuncDef { name: "$cosh", arity: Arity::Exact(1), f: cosh },
    FuncDef { name: "$tanh", arity: Arity::Exact(1), f: tanh },
    FuncDef { name: "$asinh", arity: Arity::Exact(1), f: asinh },
    FuncDef { name: "$acosh", arity: Arity::Exact(1), f: acosh },
    FuncDef { name: "$atanh", arity: Arity::Exact(1), f: atanh },
    FuncDef { name: "$degreesToRadians", arity: Arity::Exact(1), f: degrees_to_radians },
    FuncDef { name: "$radiansToDegrees", arity: Arity::Exact(1), f: radians_to_degrees },
];

/// The domain of a function, as MongoDB's error message prints it.
#[derive(Clone, Copy)]
enum Domain {
    /// Every number, infinities included.
    All,
    /// `(-inf,inf)`: finite numbers (and NaN).
    Finite,
    /// `[lo,hi]`, bounds included.
    Closed(f64, f64),
}

impl Domain {
    fn contains(self, x: f64) -> bool {
        match self {
            Domain::All => true,
            Domain::Finite => !x.is_infinite(),
            // NaN is let through: the function answers NaN.
            Domain::Closed(lo, hi) => x.is_nan() || (lo..=hi).contains(&x),
        }
    }

    fn describe(self) -> String {
        match self {
            Domain::All | Domain::Finite => "(-inf,inf)".into(),
            Domain::Closed(lo, hi) => format!("[{},{}]", lo, hi),
        }
    }
}

/// Applies `f` to one numeric argument with MongoDB's null, type and domain rules.
fn unary(op: &'static str, args: Args, domain: Domain, f: fn(f64) -> f64) -> Result<Value, ExprError> {
    let v = &*args[0];
    let x = match v {
        v if v.is_nullish() => return Ok(Value::Null),
        Value::Int32(_) | Value::Int64(_) | Value::Double(_) | Value::Decimal(_) => v.as_f64().unwrap_or(f64::NAN),
        other => {
            return Err(ExprError::new(op, format!("{} only supports numeric types, not {}", op, type_name(other))))
        }
    };
    if !domain.contains(x) {
        return Err(ExprError::new(
            op,
            // mongod's wording, "must in" included.
            format!("cannot apply {} to {}, value must in {}", op, number_text(v), domain.describe()),
        ));
    }
    Ok(match v {
        Value::Decimal(_) => Value::Decimal(Decimal128::from_f64(f(x))),
        _ => Value::Double(f(x)),
    })
}

/// A number as mongod's messages print it: a decimal in full, anything else as the double
/// C++'s `ostream` prints (six significant digits, as `%g`).
fn number_text(v: &Value) -> String {
    match v {
        Value::Decimal(d) => d.to_string(),
        other => other.as_f64().map(g_format).unwrap_or_default(),
    }
}

/// `%g` with six significant digits: `1.1`, `2`, `1e+06`, `1.5e-05`, `inf`.
fn g_format(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Rounded to six significant digits first: the exponent is the rounded number's.
    let sci = format!("{:.5e}", x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", trim(mantissa.to_string()), sign, exp.abs())
    } else {
        trim(format!("{:.*}", (5 - exp) as usize, x))
    }
}

fn sin(args: Args) -> Result<Value, ExprError> {
    unary("$sin", args, Domain::Finite, f64::sin)
}
fn cos(args: Args) -> Result<Value, ExprError> {
    unary("$cos", args, Domain::Finite, f64::cos)
}
fn tan(args: Args) -> Result<Value, ExprError> {
    unary("$tan", args, Domain::Finite, f64::tan)
}
fn asin(args: Args) -> Result<Value, ExprError> {
    unary("$asin", args, Domain::Closed(-1.0, 1.0), f64::asin)
}
fn acos(args: Args) -> Result<Value, ExprError> {
    unary("$acos", args, Domain::Closed(-1.0, 1.0), f64::acos)
}
fn atan(args: Args) -> Result<Value, ExprError> {
    unary("$atan", args, Domain::All, f64::atan)
}
fn sinh(args: Args) -> Result<Value, ExprError> {
    unary("$sinh", args, Domain::All, f64::sinh)
}
fn cosh(args: Args) -> Result<Value, ExprError> {
    unary("$cosh", args, Domain::All, f64::cosh)
}
fn tanh(args: Args) -> Result<Value, ExprError> {
    unary("$tanh", args, Domain::All, f64::tanh)
}
fn asinh(args: Args) -> Result<Value, ExprError> {
    unary("$asinh", args, Domain::All, f64::asinh)
}
fn acosh(args: Args) -> Result<Value, ExprError> {
    unary("$acosh", args, Domain::Closed(1.0, f64::INFINITY), f64::acosh)
}
fn atanh(args: Args) -> Result<Value, ExprError> {
    unary("$atanh", args, Domain::Closed(-1.0, 1.0), f64::atanh)
}

fn atan2(args: Args) -> Result<Value, ExprError> {
    let (y, x) = (&*args[0], &*args[1]);
    // Each argument in turn: null gives null, anything else not a number is an error.
    for v in [y, x] {
        if v.is_nullish() {
            return Ok(Value::Null);
        }
        if !v.is_number() {
            return Err(ExprError::new("$atan2", format!("$atan2 only supports numeric types, not {}", type_name(v))));
        }
    }
    let r = y.as_f64().unwrap_or(f64::NAN).atan2(x.as_f64().unwrap_or(f64::NAN));
    Ok(match (y, x) {
        (Value::Decimal(_), _) | (_, Value::Decimal(_)) => Value::Decimal(Decimal128::from_f64(r)),
        _ => Value::Double(r),
    })
}

/// Converts by a constant factor: a double times the double factor, a decimal times the
/// 34-digit decimal factor (MongoDB's `Decimal128::kPiOver180` and `k180OverPi`).
fn scale(op: &'static str, args: Args, f: fn(f64) -> f64, decimal_factor: &str) -> Result<Value, ExprError> {
    match &*args[0] {
        Value::Decimal(d) => match Decimal128::parse(decimal_factor) {
            Some(k) => Ok(Value::Decimal(d.mul(&k))),
            None => Err(ExprError::new(op, "invalid conversion constant")),
        },
        _ => unary(op, args, Domain::All, f),
    }
}

fn degrees_to_radians(args: Args) -> Result<Value, ExprError> {
    scale("$degreesToRadians", args, f64::to_radians, "0.01745329251994329576923690768488613")
}

fn radians_to_degrees(args: Args) -> Result<Value, ExprError> {
    scale("$radiansToDegrees", args, f64::to_degrees, "57.29577951308232087679815481410517")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok, v};
    use crate::Value;
    use proptest::prelude::*;

    #[test]
    fn results_keep_mongodb_types() {
        assert_eq!(ok(r#"{"$sin": 0}"#), v("0.0"));
        assert_eq!(ok(r#"{"$cos": {"$numberLong": "0"}}"#), v("1.0"));
        assert_eq!(ok(r#"{"$atan2": [1, 1]}"#), Value::Double(std::f64::consts::FRAC_PI_4));
        assert_eq!(ok(r#"{"$acos": -1}"#), Value::Double(std::f64::consts::PI));
        assert_eq!(ok(r#"{"$degreesToRadians": 180}"#), Value::Double(std::f64::consts::PI));
        assert_eq!(ok(r#"{"$radiansToDegrees": 3.141592653589793}"#), v("180.0"));
        assert_eq!(ok(r#"{"$tanh": 0}"#), v("0.0"));
        assert_eq!(ok(r#"{"$atanh": 1}"#), Value::Double(f64::INFINITY));
        assert_eq!(ok(r#"{"$acosh": 1}"#), v("0.0"));
        // 90 x 0.01745329251994329576923690768488613, rounded to 34 digits.
        assert_eq!(
            ok(r#"{"$degreesToRadians": {"$numberDecimal": "90"}}"#),
            v(r#"{"$numberDecimal": "1.570796326794896619231321691639752"}"#)
        );
        assert_eq!(ok(r#"{"$sin": {"$numberDecimal": "0"}}"#), v(r#"{"$numberDecimal": "0"}"#));
        assert!(matches!(ok(r#"{"$atan2": [{"$numberDecimal": "1"}, 0]}"#), Value::Decimal(_)));
    }

    #[test]
    fn null_missing_and_nan() {
        assert_eq!(ok(r#"{"$sin": null}"#), Value::Null);
        assert_eq!(ok(r#"{"$asin": "$nope"}"#), Value::Null);
        assert_eq!(ok(r#"{"$atan2": [1, "$nope"]}"#), Value::Null);
        assert!(matches!(ok(r#"{"$acos": {"$numberDouble": "NaN"}}"#), Value::Double(d) if d.is_nan()));
    }

    #[test]
    fn out_of_domain_and_wrong_types_are_errors() {
        let e = eval(r#"{"$acos": 1.1}"#).expect_err("outside [-1,1]");
        assert_eq!(e.message, "cannot apply $acos to 1.1, value must in [-1,1]");
        assert!(eval(r#"{"$asin": -2}"#).is_err());
        assert!(eval(r#"{"$atanh": 2}"#).is_err());
        assert!(eval(r#"{"$acosh": 0.5}"#).is_err());
        let e = eval(r#"{"$sin": {"$numberDouble": "Infinity"}}"#).expect_err("infinite");
        assert_eq!(e.message, "cannot apply $sin to inf, value must in (-inf,inf)");
        let e = eval(r#"{"$acosh": -1000000}"#).expect_err("below 1");
        assert_eq!(e.message, "cannot apply $acosh to -1e+06, value must in [1,inf]");
        let e = eval(r#"{"$atanh": {"$numberDecimal": "1.5"}}"#).expect_err("above 1");
        assert_eq!(e.message, "cannot apply $atanh to 1.5, value must in [-1,1]");
        let e = eval(r#"{"$cos": "x"}"#).expect_err("a string");
        assert_eq!(e.message, "$cos only supports numeric types, not string");
        assert!(eval(r#"{"$atan2": [1, "x"]}"#).is_err());
        // Left to right: a string before a null is an error, a null before a string is null.
        assert!(eval(r#"{"$atan2": ["x", null]}"#).is_err());
        assert_eq!(ok(r#"{"$atan2": [null, "x"]}"#), Value::Null);
    }

    #[test]
    fn numbers_print_as_cpp_streams_print_them() {
        for (x, text) in [
            (1.1, "1.1"),
            (2.0, "2"),
            (-1_000_000.0, "-1e+06"),
            (123_456.0, "123456"),
            (1_234_567.0, "1.23457e+06"),
            (0.000_15, "0.00015"),
            (0.000_015, "1.5e-05"),
            (999_999.5, "1e+06"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(super::g_format(x), text);
        }
    }

    proptest! {
        /// Degrees to radians and back is the identity, within rounding.
        #[test]
        fn degrees_radians_round_trip(x in -1.0e6f64..1.0e6) {
            let e = format!(r#"{{"$radiansToDegrees": {{"$degreesToRadians": {}}}}}"#, x);
            let back = ok(&e).as_f64().expect("a double");
            prop_assert!((back - x).abs() <= 1e-9 * x.abs().max(1.0), "{} -> {}", x, back);
        }

        /// sin^2 + cos^2 = 1.
        #[test]
        fn pythagorean_identity(x in -1.0e3f64..1.0e3) {
            let s = ok(&format!(r#"{{"$sin": {}}}"#, x)).as_f64().expect("a double");
            let c = ok(&format!(r#"{{"$cos": {}}}"#, x)).as_f64().expect("a double");
            prop_assert!((s * s + c * c - 1.0).abs() < 1e-12);
        }
    }
}
