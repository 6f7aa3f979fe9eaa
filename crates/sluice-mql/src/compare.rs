//! BSON comparison order across types, as MongoDB sorts and compares values.

use std::cmp::Ordering;

use crate::{Decimal128, Value};

/// Rank of a type in the BSON comparison order. Numbers share a rank and compare by value.
fn type_rank(v: &Value) -> u8 {
    match v {
        Value::MinKey => 0,
        Value::Missing | Value::Undefined | Value::Null => 1,
        Value::Int32(_) | Value::Int64(_) | Value::Double(_) | Value::Decimal(_) => 2,
        Value::String(_) => 3,
        Value::Document(_) => 4,
        Value::Array(_) => 5,
        Value::Binary(..) => 6,
        Value::ObjectId(_) => 7,
        Value::Bool(_) => 8,
        Value::DateTime(_) => 9,
        Value::Timestamp(..) => 10,
        Value::Regex(_) => 11,
        Value::MaxKey => 12,
    }
}

/// Compares an i64 with an f64 exactly (no rounding of large integers). NaN sorts below all numbers.
fn cmp_i64_f64(i: i64, d: f64) -> Ordering {
    if d.is_nan() {
        return Ordering::Greater;
    }
    if d >= 9.223_372_036_854_776e18 {
        return Ordering::Less;
    }
    if d < -9.223_372_036_854_776e18 {
        return Ordering::Greater;
    }
    let t = d.trunc() as i64;
    match i.cmp(&t) {
        Ordering::Equal => {
            let frac = d - d.trunc();
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

fn cmp_f64(a: f64, b: f64) -> Ordering {
    // MongoDB: NaN equals NaN and sorts below every other number.
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

fn as_decimal(v: &Value) -> Decimal128 {
    match v {
        Value::Int32(i) => Decimal128::from_i64(i64::from(*i)),
        Value::Int64(i) => Decimal128::from_i64(*i),
        Value::Double(d) => Decimal128::from_f64(*d),
        Value::Decimal(d) => *d,
        _ => Decimal128::NAN,
    }
}

/// Compares two numeric values by value, whatever their types.
pub(crate) fn compare_numbers(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int32(x), Value::Int32(y)) => x.cmp(y),
        (Value::Int32(x), Value::Int64(y)) => i64::from(*x).cmp(y),
        (Value::Int64(x), Value::Int32(y)) => x.cmp(&i64::from(*y)),
        (Value::Int64(x), Value::Int64(y)) => x.cmp(y),
        (Value::Double(x), Value::Double(y)) => cmp_f64(*x, *y),
        (Value::Int32(x), Value::Double(y)) => cmp_i64_f64(i64::from(*x), *y),
        (Value::Int64(x), Value::Double(y)) => cmp_i64_f64(*x, *y),
        (Value::Double(x), Value::Int32(y)) => cmp_i64_f64(i64::from(*y), *x).reverse(),
        (Value::Double(x), Value::Int64(y)) => cmp_i64_f64(*y, *x).reverse(),
        (Value::Double(x), Value::Decimal(y)) => cmp_f64(*x, y.to_f64()),
        (Value::Decimal(x), Value::Double(y)) => cmp_f64(x.to_f64(), *y),
        _ => as_decimal(a).cmp_value(&as_decimal(b)),
    }
}

/// Total order of BSON values (the order `$sort`, `$min`, `$max` and comparisons use).
/// Strings compare by bytes (the simple collation).
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    // The common cases first: two numbers of one type (NaN aside, which MongoDB orders below
    // every number) compare as Rust compares them.
    match (a, b) {
        (Value::Int32(x), Value::Int32(y)) => return x.cmp(y),
        (Value::Int64(x), Value::Int64(y)) => return x.cmp(y),
        (Value::Double(x), Value::Double(y)) => {
            if let Some(o) = x.partial_cmp(y) {
                return o;
            }
        }
        _ => {}
    }
    compare_general(a, b)
}

/// [`compare_values`] for every pair of values.
fn compare_general(a: &Value, b: &Value) -> Ordering {
    let (ra, rb) = (type_rank(a), type_rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Document(x), Value::Document(y)) => {
            let mut xi = x.iter();
            let mut yi = y.iter();
            loop {
                match (xi.next(), yi.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some((kx, vx)), Some((ky, vy))) => {
                        // Field by field: the value's type first, then the key, then the value.
                        let o = type_rank(vx)
                            .cmp(&type_rank(vy))
                            .then_with(|| kx.as_bytes().cmp(ky.as_bytes()))
                            .then_with(|| compare_values(vx, vy));
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for (vx, vy) in x.iter().zip(y.iter()) {
                let o = compare_values(vx, vy);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Binary(sx, bx), Value::Binary(sy, by)) => {
            bx.len().cmp(&by.len()).then(sx.cmp(sy)).then_with(|| bx.cmp(by))
        }
        (Value::ObjectId(x), Value::ObjectId(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        (Value::Timestamp(tx, ix), Value::Timestamp(ty, iy)) => tx.cmp(ty).then(ix.cmp(iy)),
        (Value::Regex(x), Value::Regex(y)) => x.cmp(y),
        _ if ra == 2 => compare_numbers(a, b),
        _ => Ordering::Equal,
    }
}

/// Equality under the comparison order: `1 == 1.0 == NumberLong(1)`, null equals missing.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    compare_values(a, b) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Document;
    use proptest::prelude::*;

    #[test]
    fn type_order_matches_mongodb() {
        let ordered = [
            Value::MinKey,
            Value::Null,
            Value::Int32(-5),
            Value::Double(2.5),
            Value::Int64(3),
            Value::str("a"),
            Value::Document(Document::new()),
            Value::Array(vec![]),
            Value::Bool(false),
            Value::DateTime(0),
            Value::MaxKey,
        ];
        for w in ordered.windows(2) {
            assert_eq!(compare_values(&w[0], &w[1]), Ordering::Less, "{:?} < {:?}", w[0], w[1]);
        }
    }

    #[test]
    fn numbers_compare_across_types() {
        assert!(values_equal(&Value::Int32(1), &Value::Double(1.0)));
        assert!(values_equal(&Value::Int64(1), &Value::Decimal(Decimal128::parse("1.00").expect("valid"))));
        assert_eq!(compare_values(&Value::Int64(i64::MAX), &Value::Double(9.3e18)), Ordering::Less);
        assert_eq!(compare_values(&Value::Double(f64::NAN), &Value::Int32(i32::MIN)), Ordering::Less);
    }

    proptest! {
        #[test]
        fn int_double_comparison_agrees_with_exact(i in -1_000_000i64..1_000_000, d in -1.0e6f64..1.0e6) {
            let expected = (i as f64).partial_cmp(&d).unwrap_or(Ordering::Equal);
            prop_assert_eq!(compare_values(&Value::Int64(i), &Value::Double(d)), expected);
        }

        /// The shortcuts for two numbers of one type answer as the general comparison does,
        /// NaN, infinities and negative zero included.
        #[test]
        fn same_type_shortcuts_agree_with_the_general_comparison(
            (a, b) in prop_oneof![
                (any::<i32>(), any::<i32>()).prop_map(|(x, y)| (Value::Int32(x), Value::Int32(y))),
                (any::<i64>(), any::<i64>()).prop_map(|(x, y)| (Value::Int64(x), Value::Int64(y))),
                (special_or_any_f64(), special_or_any_f64()).prop_map(|(x, y)| (Value::Double(x), Value::Double(y))),
            ]
        ) {
            prop_assert_eq!(compare_values(&a, &b), compare_general(&a, &b));
        }
    }

    fn special_or_any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![Just(f64::NAN), Just(-0.0), Just(0.0), Just(f64::INFINITY), Just(f64::NEG_INFINITY), any::<f64>()]
    }
}
