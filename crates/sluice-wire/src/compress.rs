//! `OP_COMPRESSED` with zlib (and the no-op compressor): the only compressor Sluice offers, and
//! only to a client whose `hello` lists it. The declared size is checked against the message
//! limit before anything is allocated, and the inflated body must be exactly that size.

use std::io::Read;

/// The no-op compressor's id.
pub const NOOP: u8 = 0;
/// zlib's id.
pub const ZLIB: u8 = 2;
/// The compressor names Sluice offers in `hello`, by preference.
pub const OFFERED: &[&str] = &["zlib"];

/// Why an `OP_COMPRESSED` body cannot be used; the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OP_COMPRESSED: {0}")]
pub struct CompressError(pub String);

/// A decompressed message: the original opcode, its body, and the compressor the reply uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decompressed {
    /// The opcode of the wrapped message.
    pub op_code: i32,
    /// Its body.
    pub body: Vec<u8>,
    /// The compressor it came with.
    pub compressor: u8,
}

/// Unwraps an `OP_COMPRESSED` body (after the header); `max_body` caps the inflated size.
pub fn decompress(body: &[u8], max_body: usize) -> Result<Decompressed, CompressError> {
    if body.len() < 9 {
        return Err(CompressError("truncated".into()));
    }
    let op_code = i32::from_le_bytes([body[0], body[1], body[2], body[3]]);
    let size = i32::from_le_bytes([body[4], body[5], body[6], body[7]]);
    let compressor = body[8];
    if size < 0 || size as usize > max_body {
        return Err(CompressError(format!("uncompressed size {} is outside 0..={}", size, max_body)));
    }
    let size = size as usize;
    let data = &body[9..];
    let out = match compressor {
        NOOP => data.to_vec(),
        ZLIB => {
            // Checked above: size <= max_body. One byte more than declared reveals a lie.
            let mut out = Vec::with_capacity(size);
            flate2::read::ZlibDecoder::new(data)
                .take(size as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| CompressError(format!("zlib: {}", e)))?;
            out
        }
        other => return Err(CompressError(format!("compressor {} is not supported (only zlib)", other))),
    };
    if out.len() != size {
        return Err(CompressError(format!("inflated to {} bytes, not the declared {}", out.len(), size)));
    }
    Ok(Decompressed { op_code, body: out, compressor })
}

/// Wraps a reply body of `op_code` with `compressor`.
pub fn compress(op_code: i32, body: &[u8], compressor: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 2 + 16);
    out.extend_from_slice(&op_code.to_le_bytes());
    out.extend_from_slice(&(body.len() as i32).to_le_bytes());
    if compressor == ZLIB {
        out.push(ZLIB);
        let mut enc = flate2::write::ZlibEncoder::new(out, flate2::Compression::fast());
        // Writing into a Vec cannot fail.
        if std::io::Write::write_all(&mut enc, body).is_ok() {
            if let Ok(done) = enc.finish() {
                return done;
            }
        }
        let mut out = Vec::with_capacity(body.len() + 9);
        out.extend_from_slice(&op_code.to_le_bytes());
        out.extend_from_slice(&(body.len() as i32).to_le_bytes());
        out.push(NOOP);
        out.extend_from_slice(body);
        return out;
    }
    out.push(NOOP);
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_round_trips_and_lies_about_sizes_are_refused() {
        let body = b"hello hello hello hello".to_vec();
        let c = compress(2013, &body, ZLIB);
        assert_eq!(decompress(&c, 1000).unwrap(), Decompressed { op_code: 2013, body: body.clone(), compressor: ZLIB });
        let mut lie = c.clone();
        lie[4..8].copy_from_slice(&5i32.to_le_bytes());
        assert!(decompress(&lie, 1000).is_err());
        let mut huge = c.clone();
        huge[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(decompress(&huge, 1000).is_err());
        let mut snappy = c;
        snappy[8] = 1;
        assert!(decompress(&snappy, 1000).is_err());
        assert_eq!(decompress(&compress(2013, &body, NOOP), 1000).unwrap().body, body);
    }
}
