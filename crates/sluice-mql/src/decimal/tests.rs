use super::*;
use std::cmp::Ordering;

fn d(s: &str) -> Decimal128 {
    Decimal128::parse(s).expect("valid decimal")
}

#[test]
fn parse_and_print_keep_the_cohort() {
    for s in ["0", "1.0", "-12.50", "0.001", "1E+3", "1.5E+10", "1E-7", "Infinity", "-Infinity", "NaN"] {
        assert_eq!(d(s).to_string(), s);
    }
    assert_eq!(d("1000").to_string(), "1000");
    assert_eq!(d(".5").to_string(), "0.5");
    assert!(Decimal128::parse("1.2.3").is_none());
}

#[test]
fn arithmetic_is_exact_and_rounds_half_even() {
    assert_eq!(d("1.0").add(&d("1.00")).to_string(), "2.00");
    assert_eq!(d("0.1").add(&d("0.2")).to_string(), "0.3");
    assert_eq!(d("1.5").mul(&d("2")).to_string(), "3.0");
    assert_eq!(d("10").div(&d("4")).map(|x| x.to_string()), Some("2.5".into()));
    assert_eq!(d("1").div(&d("3")).map(|x| x.to_string()), Some("0.3333333333333333333333333333333333".into()));
    assert_eq!(d("1").div(&d("0")), None);
    assert_eq!(d("5").sub(&d("7.5")).to_string(), "-2.5");
    // 35 nines round up to 1E+35.
    assert_eq!(d("99999999999999999999999999999999999").to_string(), "1.000000000000000000000000000000000E+35");
}

#[test]
fn constants_match_their_encodings() {
    assert_eq!(Decimal128::ZERO, Decimal128::from_i64(0));
    assert_eq!(Decimal128::NAN, d("NaN"));
    // Value stays small because the decimal is stored as bytes.
    assert!(std::mem::size_of::<crate::Value>() <= 32, "{}", std::mem::size_of::<crate::Value>());
}

#[test]
fn bytes_round_trip() {
    for s in ["0", "1.0", "-12.50", "1E+3", "Infinity", "NaN", "9999999999999999999999999999999999"] {
        assert_eq!(Decimal128::from_bytes(d(s).to_bytes()).to_string(), s);
    }
    // BSON spec: 1 is 0x3040000000000000 0000000000000001.
    let one = d("1").to_bytes();
    assert_eq!(one[0], 1);
    assert_eq!(one[15], 0x30);
    assert_eq!(one[14], 0x40);
}

#[test]
fn comparison_ignores_cohort() {
    assert_eq!(d("1.0").cmp_value(&d("1")), Ordering::Equal);
    assert_eq!(d("-1").cmp_value(&d("0.5")), Ordering::Less);
    assert_eq!(d("1E+3").cmp_value(&d("999.9")), Ordering::Greater);
    assert_eq!(Decimal128::from_f64(0.1).to_string(), "0.1");
    assert_eq!(d("42").to_exact_i64(), Some(42));
    assert_eq!(d("4.2").to_exact_i64(), None);
}

/// Found by the decQuad test cases (`tests/dectest.rs`).
#[test]
fn far_apart_operands_huge_exponents_and_clamped_quotients() {
    // A low operand far below a short one still rounds it.
    assert_eq!(d("1E34").add(&d("-0.5000001")).to_string(), "9999999999999999999999999999999999");
    assert_eq!(d("1E34").add(&d("-5000000.000000001")).to_string(), "9999999999999999999999999995000000");
    // Zero, whatever its exponent, leaves the other operand as it is.
    let tiny = "1.123456789987654321123456789012345E-36";
    assert_eq!(d("0").add(&d(tiny)).to_string(), tiny);
    assert_eq!(d(tiny).add(&d("0")).to_string(), tiny);
    // A quotient past the largest exponent keeps zeros in its coefficient.
    assert_eq!(
        d("1e+40").div(&d("1e-6104")).map(|q| q.to_string()).as_deref(),
        Some("1.000000000000000000000000000000000E+6144")
    );
    // Exponents far out of range overflow or underflow at once, not after a billion steps.
    assert_eq!(d("0.9e-999999999").to_string(), "0E-6176");
    assert_eq!(d("-1111e-99999999999").to_string(), "-0E-6176");
    assert_eq!(d("111e9999999999").to_string(), "Infinity");
}
