//! Identifiers and clocks shared by the server's layers.

/// A fresh 24-hex-digit id, ObjectId style: 4 bytes of seconds, then 8 random bytes.
pub fn new_id() -> String {
    let secs = (now_ms() / 1000) as u32;
    let mut rnd = [0u8; 8];
    fill_random(&mut rnd);
    let mut bytes = secs.to_be_bytes().to_vec();
    bytes.extend_from_slice(&rnd);
    hex::encode(bytes)
}

/// `n` random bytes as lowercase hex (secrets, nonces, keys).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    fill_random(&mut buf);
    hex::encode(buf)
}

fn fill_random(buf: &mut [u8]) {
    // The OS generator only fails on a broken system, where no safe id can be made at all.
    if let Err(e) = getrandom::fill(buf) {
        panic!("the operating system's random generator failed: {}", e);
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_24_hex_and_distinct() {
        let a = super::new_id();
        let b = super::new_id();
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert_eq!(super::random_hex(16).len(), 32);
    }
}
