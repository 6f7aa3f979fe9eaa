//! Equality of field names, the comparison every field lookup makes.
//!
//! Field names are short (a few bytes to a couple of dozen). For those the general slice
//! comparison calls `memcmp`; comparing them in machine words here is a few instructions.

/// True when the two names are the same bytes.
#[inline(always)]
pub(crate) fn same_key(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        // Two words that overlap in the middle cover every byte.
        8..=16 => word64(a, 0) == word64(b, 0) && word64(a, n - 8) == word64(b, n - 8),
        4..=7 => word32(a, 0) == word32(b, 0) && word32(a, n - 4) == word32(b, n - 4),
        // First, middle and last byte: all of them when there are at most three.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        _ => a == b,
    }
}

/// A name prepared for comparing with many others (a field path's component): its length and,
/// for 4 to 16 bytes, the words [`same_key`] would read from it, read once.
#[derive(Debug, Clone)]
pub(crate) struct KeyProbe {
    bytes: Box<[u8]>,
    head: u64,
    tail: u64,
}

impl KeyProbe {
    pub(crate) fn new(key: &[u8]) -> KeyProbe {
        let n = key.len();
        let (head, tail) = match n {
            8..=16 => (word64(key, 0), word64(key, n - 8)),
            4..=7 => (u64::from(word32(key, 0)), u64::from(word32(key, n - 4))),
            _ => (0, 0),
        };
        KeyProbe { bytes: key.into(), head, tail }
    }

    /// The name's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when `k` is the same bytes as the name.
    #[inline(always)]
    pub(crate) fn matches(&self, k: &[u8]) -> bool {
        let n = self.bytes.len();
        if k.len() != n {
            return false;
        }
        match n {
            8..=16 => word64(k, 0) == self.head && word64(k, n - 8) == self.tail,
            4..=7 => u64::from(word32(k, 0)) == self.head && u64::from(word32(k, n - 4)) == self.tail,
            _ => same_key(k, &self.bytes),
        }
    }
}

#[inline(always)]
fn word64(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_ne_bytes(w)
}

#[inline(always)]
fn word32(s: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_ne_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_slice_equality(
            a in prop::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..24),
            flip in any::<prop::sample::Index>(),
            same in any::<bool>(),
        ) {
            // Half the time the second name is the first with at most one byte changed, so that
            // equal and nearly equal names both come up at every length.
            let mut b = a.clone();
            if !same && !b.is_empty() {
                let i = flip.index(b.len());
                b[i] = b[i].wrapping_add(1);
            }
            prop_assert_eq!(same_key(&a, &b), a == b);
            prop_assert_eq!(KeyProbe::new(&a).matches(&b), a == b);
            let shorter = &b[..b.len().saturating_sub(1)];
            prop_assert_eq!(same_key(&a, shorter), a.as_slice() == shorter);
            prop_assert_eq!(KeyProbe::new(&a).matches(shorter), a.as_slice() == shorter);
        }
    }
}
