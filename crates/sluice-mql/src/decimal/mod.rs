//! IEEE 754-2008 decimal128 (BID encoding, as BSON stores it) with the arithmetic MQL needs.
//!
//! Values keep their cohort (trailing zeros), as MongoDB does: `1.0 + 1.00 = 2.00`.
//! Results are rounded to 34 significant digits, half to even.

mod u256;
mod unpacked;

use std::cmp::Ordering;

use unpacked::Dec;

/// A decimal128 number, stored as its 16 BSON bytes (BID encoding, little-endian) so that it
/// keeps [`crate::Value`] small: values are moved on every evaluation step, decimals are rare.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal128([u8; 16]);

impl std::fmt::Debug for Decimal128 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Decimal128({})", self.unpack())
    }
}

impl From<Dec> for Decimal128 {
    fn from(d: Dec) -> Decimal128 {
        Decimal128(d.to_bytes())
    }
}

impl Decimal128 {
    /// Zero with exponent 0.
    pub const ZERO: Decimal128 = Decimal128([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x30]);
    /// Not a number.
    pub const NAN: Decimal128 = Decimal128([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7c]);

    fn unpack(&self) -> Dec {
        Dec::from_bytes(self.0)
    }

    /// Exact conversion of a 64-bit integer.
    pub fn from_i64(v: i64) -> Decimal128 {
        Dec::from_i64(v).into()
    }

    /// Conversion of a double with 15 significant digits, as MongoDB's `$toDecimal` does.
    pub fn from_f64(v: f64) -> Decimal128 {
        Dec::from_f64(v).into()
    }

    /// Parses a decimal string: `"-12.50"`, `"1E+3"`, `"Infinity"`, `"NaN"`.
    pub fn parse(s: &str) -> Option<Decimal128> {
        Dec::parse(s).map(Decimal128::from)
    }

    /// True for a (positive or negative) zero.
    pub fn is_zero(&self) -> bool {
        self.unpack().is_zero()
    }

    /// True for NaN.
    pub fn is_nan(&self) -> bool {
        self.unpack().is_nan()
    }

    /// True when negative (not NaN).
    pub fn is_negative(&self) -> bool {
        self.unpack().is_negative()
    }

    /// The nearest f64.
    pub fn to_f64(&self) -> f64 {
        self.unpack().to_f64()
    }

    /// The value as i64 if it is integral and in range.
    pub fn to_exact_i64(&self) -> Option<i64> {
        self.unpack().to_exact_i64()
    }

    /// Truncates toward zero to an integer-valued decimal (exponent 0).
    pub fn trunc(&self) -> Decimal128 {
        self.unpack().trunc().into()
    }

    /// Negation.
    pub fn neg(&self) -> Decimal128 {
        self.unpack().neg().into()
    }

    /// Sum, exact then rounded to 34 digits.
    pub fn add(&self, other: &Decimal128) -> Decimal128 {
        self.unpack().add(&other.unpack()).into()
    }

    /// Difference.
    pub fn sub(&self, other: &Decimal128) -> Decimal128 {
        self.unpack().sub(&other.unpack()).into()
    }

    /// Product, exact then rounded.
    pub fn mul(&self, other: &Decimal128) -> Decimal128 {
        self.unpack().mul(&other.unpack()).into()
    }

    /// Quotient rounded to 34 digits; `None` for division by zero (MongoDB raises an error).
    pub fn div(&self, other: &Decimal128) -> Option<Decimal128> {
        self.unpack().div(&other.unpack()).map(Decimal128::from)
    }

    /// Numeric comparison (NaN sorts below everything, as in MongoDB).
    pub fn cmp_value(&self, other: &Decimal128) -> Ordering {
        self.unpack().cmp_value(&other.unpack())
    }

    /// The 16 bytes of the BSON encoding.
    pub fn to_bytes(&self) -> [u8; 16] {
        self.0
    }

    /// Decodes the 16 bytes of the BSON encoding (non-canonical coefficients read as zero).
    pub fn from_bytes(b: [u8; 16]) -> Decimal128 {
        Dec::from_bytes(b).into()
    }
}

impl std::fmt::Display for Decimal128 {
    /// The IEEE "to-scientific-string" form MongoDB prints: `1.50`, `1.5E+10`, `-Infinity`, `NaN`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.unpack().fmt(f)
    }
}

#[cfg(test)]
mod tests;
