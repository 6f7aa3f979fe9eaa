//! A 256-bit unsigned integer: just enough for exact decimal products, alignments and quotients.

use std::cmp::Ordering;

/// A 256-bit unsigned integer, little-endian limbs; just enough for exact products and quotients.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) struct U256(pub(super) [u64; 4]);

// Limb loops index several arrays in step (carries, borrows): ranges read clearer than zips here.
#[allow(clippy::needless_range_loop)]
impl U256 {
    pub(super) fn from_u128(v: u128) -> U256 {
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }
    pub(super) fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }
    pub(super) fn to_u128(self) -> Option<u128> {
        if self.0[2] == 0 && self.0[3] == 0 {
            Some(u128::from(self.0[0]) | (u128::from(self.0[1]) << 64))
        } else {
            None
        }
    }
    pub(super) fn cmp_u256(&self, o: &U256) -> Ordering {
        self.0.iter().rev().cmp(o.0.iter().rev())
    }
    pub(super) fn mul_small(self, m: u64) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for i in 0..4 {
            let p = u128::from(self.0[i]) * u128::from(m) + carry;
            out[i] = p as u64;
            carry = p >> 64;
        }
        (carry == 0).then_some(U256(out))
    }
    pub(super) fn mul_pow10(mut self, n: u32) -> Option<U256> {
        for _ in 0..n {
            self = self.mul_small(10)?;
        }
        Some(self)
    }
    pub(super) fn mul(a: u128, b: u128) -> U256 {
        let a = [a as u64, (a >> 64) as u64];
        let b = [b as u64, (b >> 64) as u64];
        let mut out = [0u64; 4];
        for i in 0..2 {
            let mut carry = 0u128;
            for j in 0..2 {
                let cur = u128::from(out[i + j]) + u128::from(a[i]) * u128::from(b[j]) + carry;
                out[i + j] = cur as u64;
                carry = cur >> 64;
            }
            out[i + 2] = carry as u64;
        }
        U256(out)
    }
    pub(super) fn add(self, o: U256) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for i in 0..4 {
            let s = u128::from(self.0[i]) + u128::from(o.0[i]) + carry;
            out[i] = s as u64;
            carry = s >> 64;
        }
        (carry == 0).then_some(U256(out))
    }
    /// self - o, requires self >= o.
    pub(super) fn sub(self, o: U256) -> U256 {
        let mut out = [0u64; 4];
        let mut borrow = 0i128;
        for i in 0..4 {
            let d = i128::from(self.0[i]) - i128::from(o.0[i]) - borrow;
            if d < 0 {
                out[i] = (d + (1i128 << 64)) as u64;
                borrow = 1;
            } else {
                out[i] = d as u64;
                borrow = 0;
            }
        }
        U256(out)
    }
    pub(super) fn div_small(self, d: u64) -> (U256, u64) {
        let mut out = [0u64; 4];
        let mut rem = 0u128;
        for i in (0..4).rev() {
            let cur = (rem << 64) | u128::from(self.0[i]);
            out[i] = (cur / u128::from(d)) as u64;
            rem = cur % u128::from(d);
        }
        (U256(out), rem as u64)
    }
    pub(super) fn bit(&self, i: usize) -> bool {
        (self.0[i / 64] >> (i % 64)) & 1 == 1
    }
    pub(super) fn shl1(self) -> U256 {
        let mut out = [0u64; 4];
        for i in 0..4 {
            out[i] = (self.0[i] << 1) | if i > 0 { self.0[i - 1] >> 63 } else { 0 };
        }
        U256(out)
    }
    /// Long division by a u128 divisor, bit by bit: (quotient, remainder is non-zero).
    pub(super) fn div_u128(self, d: u128) -> (U256, bool) {
        let d = U256::from_u128(d);
        let mut q = U256([0; 4]);
        let mut r = U256([0; 4]);
        for i in (0..256).rev() {
            r = r.shl1();
            if self.bit(i) {
                r.0[0] |= 1;
            }
            if r.cmp_u256(&d) != Ordering::Less {
                r = r.sub(d);
                q.0[i / 64] |= 1 << (i % 64);
            }
        }
        (q, !r.is_zero())
    }
}
