//! The unpacked form of a decimal128 (sign, coefficient, exponent) and its exact arithmetic.

use std::cmp::Ordering;

use super::u256::U256;

pub(super) const MAX_DIGITS: u32 = 34;
const EXP_MIN: i32 = -6176;
const EXP_MAX: i32 = 6111;
const BIAS: i32 = 6176;

/// A decimal128 number, unpacked for arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Dec {
    /// sign (true = negative), coefficient (< 10^34), exponent.
    Finite(bool, u128, i32),
    /// Infinity with its sign.
    Infinity(bool),
    /// Not a number.
    NaN,
}

fn pow10(n: u32) -> u128 {
    10u128.pow(n)
}

fn digits(mut c: u128) -> u32 {
    let mut n = 1;
    while c >= 10 {
        c /= 10;
        n += 1;
    }
    n
}

/// A written exponent, held to ±999,999,999: any exponent that large overflows or underflows
/// all the same (`1E+9999999999` is Infinity, not a syntax error), and adding the digits of a
/// request-sized coefficient to it stays within `i32`.
fn exponent(e: &str) -> Option<i32> {
    let (neg, digits) = match e.as_bytes().first()? {
        b'-' => (true, &e[1..]),
        b'+' => (false, &e[1..]),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v =
        digits.bytes().fold(0i32, |acc, b| acc.saturating_mul(10).saturating_add(i32::from(b - b'0')).min(999_999_999));
    Some(if neg { -v } else { v })
}

impl Dec {
    /// Rounds an exact (sign, coefficient, exponent) to 34 digits, half to even; `sticky` says a
    /// non-zero remainder was already dropped below the coefficient.
    pub(super) fn round(neg: bool, mut c: U256, mut exp: i32, mut sticky: bool) -> Dec {
        // A coefficient (at most 78 digits) more than 80 places below the smallest exponent is
        // less than half its unit, so it rounds to zero, as a zero there is clamped: answered
        // at once, since a parsed exponent (`0.9e-999999999`) would otherwise cost a billion
        // rounds of the loop below.
        if exp < EXP_MIN - 80 || (c.is_zero() && exp < EXP_MIN) {
            return Dec::Finite(neg, 0, EXP_MIN);
        }
        let limit = U256::from_u128(pow10(MAX_DIGITS));
        let mut last_dropped = 0u64;
        let mut dropped_any = false;
        while c.cmp_u256(&limit) != Ordering::Less || exp < EXP_MIN {
            if dropped_any {
                sticky |= last_dropped != 0;
            }
            let (q, r) = c.div_small(10);
            c = q;
            last_dropped = r;
            dropped_any = true;
            exp += 1;
            if c.is_zero() && exp >= EXP_MIN {
                break;
            }
        }
        let mut coef = c.to_u128().unwrap_or(0);
        if dropped_any && (last_dropped > 5 || (last_dropped == 5 && (sticky || coef % 2 == 1))) {
            coef += 1;
            if coef == pow10(MAX_DIGITS) {
                coef /= 10;
                exp += 1;
            }
        }
        if exp > EXP_MAX {
            // Clamp by padding the coefficient with zeros when possible, else overflow.
            while exp > EXP_MAX && coef != 0 && coef * 10 < pow10(MAX_DIGITS) {
                coef *= 10;
                exp -= 1;
            }
            if exp > EXP_MAX {
                return if coef == 0 { Dec::Finite(neg, 0, EXP_MAX) } else { Dec::Infinity(neg) };
            }
        }
        Dec::Finite(neg, coef, exp)
    }

    /// Exact conversion of a 64-bit integer.
    pub(super) fn from_i64(v: i64) -> Dec {
        Dec::Finite(v < 0, u128::from(v.unsigned_abs()), 0)
    }

    /// Conversion of a double with 15 significant digits, as MongoDB's `$toDecimal` does.
    pub(super) fn from_f64(v: f64) -> Dec {
        if v.is_nan() {
            return Dec::NaN;
        }
        if v.is_infinite() {
            return Dec::Infinity(v < 0.0);
        }
        if v == 0.0 {
            return Dec::Finite(v.is_sign_negative(), 0, 0);
        }
        let s = format!("{:.14e}", v);
        let mut d = Dec::parse(&s).unwrap_or(Dec::NaN);
        // Drop the trailing zeros that the fixed 15-digit format added.
        if let Dec::Finite(neg, mut c, mut e) = d {
            while c != 0 && c % 10 == 0 && e < 0 {
                c /= 10;
                e += 1;
            }
            while c != 0 && c % 10 == 0 && e >= 0 && c >= pow10(15) {
                c /= 10;
                e += 1;
            }
            d = Dec::Finite(neg, c, e);
        }
        d
    }

    /// Parses a decimal string: `"-12.50"`, `"1E+3"`, `"Infinity"`, `"NaN"`.
    pub(super) fn parse(s: &str) -> Option<Dec> {
        let (neg, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        match body.to_ascii_lowercase().as_str() {
            "inf" | "infinity" => return Some(Dec::Infinity(neg)),
            "nan" => return Some(Dec::NaN),
            _ => {}
        }
        let (mantissa, exp_part) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let mut exp: i32 = match exp_part {
            Some(e) => exponent(e)?,
            None => 0,
        };
        let mut c = U256([0; 4]);
        let mut seen_digit = false;
        let mut seen_point = false;
        let mut sticky = false;
        let mut extra = 0i32;
        for b in mantissa.bytes() {
            match b {
                b'0'..=b'9' => {
                    seen_digit = true;
                    let next = c.mul_small(10).and_then(|m| m.add(U256::from_u128(u128::from(b - b'0'))));
                    match next {
                        Some(n) if n.cmp_u256(&U256::from_u128(pow10(38))) == Ordering::Less => {
                            c = n;
                            if seen_point {
                                exp -= 1;
                            }
                        }
                        _ => {
                            // Too many digits: keep the magnitude, remember the tail for rounding.
                            sticky |= b != b'0';
                            if !seen_point {
                                extra += 1;
                            }
                        }
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => return None,
            }
        }
        if !seen_digit {
            return None;
        }
        Some(Dec::round(neg, c, exp + extra, sticky))
    }

    /// True for a (positive or negative) zero.
    pub(super) fn is_zero(&self) -> bool {
        matches!(self, Dec::Finite(_, 0, _))
    }

    /// True for NaN.
    pub(super) fn is_nan(&self) -> bool {
        matches!(self, Dec::NaN)
    }

    /// True when negative (not NaN).
    pub(super) fn is_negative(&self) -> bool {
        matches!(self, Dec::Finite(true, _, _) | Dec::Infinity(true))
    }

    /// The nearest f64.
    pub(super) fn to_f64(self) -> f64 {
        match self {
            Dec::NaN => f64::NAN,
            Dec::Infinity(n) => {
                if n {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }
            }
            Dec::Finite(..) => self.to_string().parse().unwrap_or(f64::NAN),
        }
    }

    /// The value as i64 if it is integral and in range.
    pub(super) fn to_exact_i64(self) -> Option<i64> {
        let Dec::Finite(neg, mut c, mut e) = self else { return None };
        while e < 0 {
            if c % 10 != 0 {
                return None;
            }
            c /= 10;
            e += 1;
        }
        while e > 0 {
            c = c.checked_mul(10)?;
            e -= 1;
        }
        let v = i128::try_from(c).ok()?;
        i64::try_from(if neg { -v } else { v }).ok()
    }

    /// Truncates toward zero to an integer-valued decimal (exponent 0).
    pub(super) fn trunc(&self) -> Dec {
        match *self {
            Dec::Finite(neg, mut c, mut e) if e < 0 => {
                while e < 0 {
                    c /= 10;
                    e += 1;
                }
                Dec::Finite(neg, c, 0)
            }
            other => other,
        }
    }

    /// Negation.
    pub(super) fn neg(&self) -> Dec {
        match *self {
            Dec::Finite(n, c, e) => Dec::Finite(!n, c, e),
            Dec::Infinity(n) => Dec::Infinity(!n),
            Dec::NaN => Dec::NaN,
        }
    }

    /// Sum, exact then rounded to 34 digits.
    pub(super) fn add(&self, other: &Dec) -> Dec {
        use Dec::*;
        match (*self, *other) {
            (NaN, _) | (_, NaN) => NaN,
            (Infinity(a), Infinity(b)) => {
                if a == b {
                    Infinity(a)
                } else {
                    NaN
                }
            }
            (Infinity(a), _) | (_, Infinity(a)) => Infinity(a),
            (Finite(sa, ca, ea), Finite(sb, cb, eb)) => {
                // Align on the smaller exponent; an operand too small to matter becomes sticky.
                let (hi, lo) = if ea >= eb { ((sa, ca, ea), (sb, cb, eb)) } else { ((sb, cb, eb), (sa, ca, ea)) };
                let shift = (hi.2 - lo.2) as u32;
                let scaled = if shift <= 40 { U256::from_u128(hi.1).mul_pow10(shift) } else { None };
                let (a, b, exp, sticky) = match scaled {
                    Some(h) => (h, U256::from_u128(lo.1), lo.2, false),
                    // A zero, however large its exponent, leaves the other operand as it is.
                    None if hi.1 == 0 => (U256([0; 4]), U256::from_u128(lo.1), lo.2, false),
                    None => {
                        // hi scaled to 37 digits (three below the 34 kept), at exponent `at`; the
                        // low operand is cut to that exponent, what is cut off being sticky. It
                        // may still matter (1E34 - 0.5000001 rounds down to 34 nines).
                        let room = MAX_DIGITS + 3 - digits(hi.1).min(MAX_DIGITS);
                        let h = U256::from_u128(hi.1).mul_pow10(room).unwrap_or(U256::from_u128(hi.1));
                        let at = hi.2 - room as i32;
                        let cut = u32::try_from(at - lo.2).unwrap_or(u32::MAX);
                        let (kept, rest) = if cut > 38 { (0, lo.1) } else { (lo.1 / pow10(cut), lo.1 % pow10(cut)) };
                        // Subtracting a cut operand: take one unit more off and let the sticky
                        // bit stand for the part of it that was not there, so the remainder
                        // stays above the exact difference's digits, as rounding expects.
                        let kept = if rest != 0 && hi.0 != lo.0 { kept + 1 } else { kept };
                        (h, U256::from_u128(kept), at, rest != 0)
                    }
                };
                let (neg, mag) = if hi.0 == lo.0 {
                    (hi.0, a.add(b).unwrap_or(a))
                } else if a.cmp_u256(&b) != Ordering::Less {
                    (hi.0, a.sub(b))
                } else {
                    (lo.0, b.sub(a))
                };
                let neg = if mag.is_zero() && !sticky { sa && sb } else { neg };
                Dec::round(neg, mag, exp, sticky)
            }
        }
    }

    /// Difference.
    pub(super) fn sub(&self, other: &Dec) -> Dec {
        self.add(&other.neg())
    }

    /// Product, exact then rounded.
    pub(super) fn mul(&self, other: &Dec) -> Dec {
        use Dec::*;
        match (*self, *other) {
            (NaN, _) | (_, NaN) => NaN,
            (Infinity(_), f) | (f, Infinity(_)) if f.is_zero() => NaN,
            (Infinity(a), o) | (o, Infinity(a)) => Infinity(a != o.is_negative()),
            (Finite(sa, ca, ea), Finite(sb, cb, eb)) => Dec::round(sa != sb, U256::mul(ca, cb), ea + eb, false),
        }
    }

    /// Quotient rounded to 34 digits, with trailing zeros reduced toward the ideal exponent.
    /// Returns `None` for division by zero (MongoDB raises an error).
    pub(super) fn div(&self, other: &Dec) -> Option<Dec> {
        use Dec::*;
        Some(match (*self, *other) {
            (NaN, _) | (_, NaN) => NaN,
            (Infinity(_), Infinity(_)) => NaN,
            (Infinity(a), o) => Infinity(a != o.is_negative()),
            (Finite(sa, _, _), Infinity(b)) => Finite(sa != b, 0, 0),
            (Finite(_, _, _), Finite(_, 0, _)) => return None,
            (Finite(sa, ca, ea), Finite(sb, cb, eb)) => {
                let ideal = ea - eb;
                if ca == 0 {
                    return Some(Finite(sa != sb, 0, ideal.clamp(EXP_MIN, EXP_MAX)));
                }
                let k = MAX_DIGITS + 2 + digits(cb) - digits(ca).min(digits(cb));
                let num = U256::from_u128(ca).mul_pow10(k).unwrap_or(U256::from_u128(ca));
                let (q, inexact) = num.div_u128(cb);
                let mut r = Dec::round(sa != sb, q, ideal - k as i32, inexact);
                if !inexact {
                    if let Finite(n, mut c, mut e) = r {
                        // Not past the largest exponent: 1E+40 / 1E-6101 keeps zeros in its
                        // coefficient (clamped), it does not leave the format.
                        while e < ideal && e < EXP_MAX && c != 0 && c % 10 == 0 {
                            c /= 10;
                            e += 1;
                        }
                        r = Finite(n, c, e);
                    }
                }
                r
            }
        })
    }

    /// Numeric comparison (NaN sorts below everything, as in MongoDB).
    pub(super) fn cmp_value(&self, other: &Dec) -> Ordering {
        use Dec::*;
        match (*self, *other) {
            (NaN, NaN) => Ordering::Equal,
            (NaN, _) => Ordering::Less,
            (_, NaN) => Ordering::Greater,
            (Infinity(a), Infinity(b)) => b.cmp(&a),
            (Infinity(a), _) => {
                if a {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (_, Infinity(b)) => {
                if b {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (Finite(sa, ca, ea), Finite(sb, cb, eb)) => {
                let za = ca == 0;
                let zb = cb == 0;
                if za && zb {
                    return Ordering::Equal;
                }
                let na = sa && !za;
                let nb = sb && !zb;
                if na != nb {
                    return if na { Ordering::Less } else { Ordering::Greater };
                }
                let mag = Self::cmp_magnitude(ca, ea, cb, eb);
                if na {
                    mag.reverse()
                } else {
                    mag
                }
            }
        }
    }

    pub(super) fn cmp_magnitude(ca: u128, ea: i32, cb: u128, eb: i32) -> Ordering {
        if ca == 0 || cb == 0 {
            return ca.cmp(&cb);
        }
        let adj_a = ea + digits(ca) as i32;
        let adj_b = eb + digits(cb) as i32;
        if adj_a != adj_b {
            return adj_a.cmp(&adj_b);
        }
        // Same magnitude order: at most 33 digits apart, aligning fits in 256 bits.
        let (a, b) = if ea >= eb {
            (U256::from_u128(ca).mul_pow10((ea - eb) as u32), Some(U256::from_u128(cb)))
        } else {
            (Some(U256::from_u128(ca)), U256::from_u128(cb).mul_pow10((eb - ea) as u32))
        };
        match (a, b) {
            (Some(a), Some(b)) => a.cmp_u256(&b),
            _ => Ordering::Equal,
        }
    }

    /// The 16 bytes of the BSON (BID, little-endian) encoding.
    pub(super) fn to_bytes(self) -> [u8; 16] {
        let (hi, lo): (u64, u64) = match self {
            Dec::NaN => (0x7c00_0000_0000_0000, 0),
            Dec::Infinity(n) => (0x7800_0000_0000_0000 | (u64::from(n) << 63), 0),
            Dec::Finite(n, c, e) => {
                let biased = (e + BIAS) as u64;
                ((u64::from(n) << 63) | (biased << 49) | ((c >> 64) as u64 & ((1 << 49) - 1)), c as u64)
            }
        };
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&lo.to_le_bytes());
        b[8..].copy_from_slice(&hi.to_le_bytes());
        b
    }

    /// Decodes the 16 bytes of the BSON encoding.
    pub(super) fn from_bytes(b: [u8; 16]) -> Dec {
        let mut lo_b = [0u8; 8];
        let mut hi_b = [0u8; 8];
        lo_b.copy_from_slice(&b[..8]);
        hi_b.copy_from_slice(&b[8..]);
        let lo = u64::from_le_bytes(lo_b);
        let hi = u64::from_le_bytes(hi_b);
        let neg = hi >> 63 == 1;
        let comb = (hi >> 58) & 0x1f;
        if comb == 0x1f {
            return Dec::NaN;
        }
        if comb == 0x1e {
            return Dec::Infinity(neg);
        }
        if (hi >> 61) & 3 == 3 {
            // Non-canonical large-coefficient form: the coefficient exceeds 10^34, so it is zero.
            let e = ((hi >> 47) & 0x3fff) as i32 - BIAS;
            return Dec::Finite(neg, 0, e);
        }
        let e = ((hi >> 49) & 0x3fff) as i32 - BIAS;
        let c = (u128::from(hi & ((1 << 49) - 1)) << 64) | u128::from(lo);
        if c >= pow10(MAX_DIGITS) {
            return Dec::Finite(neg, 0, e);
        }
        Dec::Finite(neg, c, e)
    }
}

impl std::fmt::Display for Dec {
    /// The IEEE "to-scientific-string" form MongoDB prints: `1.50`, `1.5E+10`, `-Infinity`, `NaN`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (neg, c, e) = match *self {
            Dec::NaN => return f.write_str("NaN"),
            Dec::Infinity(n) => return f.write_str(if n { "-Infinity" } else { "Infinity" }),
            Dec::Finite(n, c, e) => (n, c, e),
        };
        if neg {
            f.write_str("-")?;
        }
        let ds = c.to_string();
        let n = ds.len() as i32;
        let adjusted = e + n - 1;
        if e <= 0 && adjusted >= -6 {
            if e == 0 {
                return f.write_str(&ds);
            }
            let point = n + e;
            if point > 0 {
                write!(f, "{}.{}", &ds[..point as usize], &ds[point as usize..])
            } else {
                write!(f, "0.{}{}", "0".repeat((-point) as usize), ds)
            }
        } else {
            let (head, tail) = ds.split_at(1);
            if tail.is_empty() {
                write!(f, "{}E{}{}", head, if adjusted >= 0 { "+" } else { "" }, adjusted)
            } else {
                write!(f, "{}.{}E{}{}", head, tail, if adjusted >= 0 { "+" } else { "" }, adjusted)
            }
        }
    }
}
