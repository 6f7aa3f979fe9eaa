//! BSON ObjectId: 12 bytes, printed as 24 lowercase hex digits.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A 12-byte BSON ObjectId.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(pub [u8; 12]);

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl ObjectId {
    /// A new ObjectId: 4 bytes of seconds since the epoch, 5 bytes unique to this process, a 3-byte counter.
    pub fn generate() -> ObjectId {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let pid = u64::from(std::process::id());
        // Process-unique bytes: the pid mixed with the start nanos, enough to tell processes apart.
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let unique = (pid << 20) ^ u64::from(nanos);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&(now as u32).to_be_bytes());
        b[4..9].copy_from_slice(&unique.to_be_bytes()[3..8]);
        b[9..12].copy_from_slice(&count.to_be_bytes()[1..4]);
        ObjectId(b)
    }

    /// Parses 24 hex digits (either case).
    pub fn parse_hex(s: &str) -> Option<ObjectId> {
        let s = s.as_bytes();
        if s.len() != 24 {
            return None;
        }
        let mut b = [0u8; 12];
        for (i, pair) in s.chunks(2).enumerate() {
            b[i] = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
        }
        Some(ObjectId(b))
    }

    /// The 24 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(24);
        for byte in self.0 {
            s.push(HEX[usize::from(byte >> 4)] as char);
            s.push(HEX[usize::from(byte & 15)] as char);
        }
        s
    }

    /// The creation time encoded in the first four bytes, in milliseconds since the epoch.
    pub fn timestamp_millis(&self) -> i64 {
        i64::from(u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])) * 1000
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_timestamp() {
        let id = ObjectId::parse_hex("5f1d7a5e0000000000000000").expect("valid hex");
        assert_eq!(id.to_hex(), "5f1d7a5e0000000000000000");
        assert_eq!(id.timestamp_millis(), 0x5f1d_7a5e_i64 * 1000);
        assert!(ObjectId::parse_hex("xyz").is_none());
        assert_ne!(ObjectId::generate(), ObjectId::generate());
    }
}
