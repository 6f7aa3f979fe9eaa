//! Message framing: the 16-byte header every MongoDB wire message starts with, read with its
//! length checked before anything is allocated.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes of the standard message header.
pub const HEADER_LEN: usize = 16;
/// `OP_REPLY`: the legacy reply to an `OP_QUERY`.
pub const OP_REPLY: i32 = 1;
/// `OP_QUERY`: legacy; drivers still open with `hello`/`isMaster` in it.
pub const OP_QUERY: i32 = 2004;
/// `OP_COMPRESSED`: not supported (the server advertises no compressors).
pub const OP_COMPRESSED: i32 = 2012;
/// `OP_MSG`: every command of a current driver.
pub const OP_MSG: i32 = 2013;

/// The message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total message length, header included.
    pub length: i32,
    /// The sender's id for this message.
    pub request_id: i32,
    /// The id of the request this message answers.
    pub response_to: i32,
    /// What the body is.
    pub op_code: i32,
}

/// Why a frame could not be read: the connection is closed after any of these.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer went away or the socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// `messageLength` below the header size or above the limit.
    #[error("message length {0} is outside 16..={1}")]
    BadLength(i64, usize),
}

/// Reads one message: its header and body. `Ok(None)` when the peer closed the connection
/// between messages. A length outside `16..=max_len` is refused before any allocation.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max_len: usize,
) -> Result<Option<(Header, Vec<u8>)>, FrameError> {
    let mut head = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let n = r.read(&mut head[got..]).await?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        got += n;
    }
    let int = |i: usize| i32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let header = Header { length: int(0), request_id: int(4), response_to: int(8), op_code: int(12) };
    let len = i64::from(header.length);
    if len < HEADER_LEN as i64 || len > max_len as i64 {
        return Err(FrameError::BadLength(len, max_len));
    }
    // Checked above: 16 <= len <= max_len.
    let mut body = vec![0u8; len as usize - HEADER_LEN];
    r.read_exact(&mut body).await?;
    Ok(Some((header, body)))
}

/// Writes one message with a fresh header.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    request_id: i32,
    response_to: i32,
    op_code: i32,
    body: &[u8],
) -> std::io::Result<()> {
    let len = i32::try_from(HEADER_LEN + body.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "reply too large"))?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    for v in [len, request_id, response_to, op_code] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(body);
    w.write_all(&out).await?;
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: i32, op: i32, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [len, 7, 0, op] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    #[tokio::test]
    async fn lengths_outside_the_limits_are_refused_before_reading_a_body() {
        for len in [0, 15, -1, i32::MAX, 48_000_001] {
            let bytes = frame(len, OP_MSG, &[]);
            let err = read_frame(&mut &bytes[..], 48_000_000).await.unwrap_err();
            assert!(matches!(err, FrameError::BadLength(..)), "{len}: {err}");
        }
    }

    #[tokio::test]
    async fn a_frame_is_read_whole_and_a_clean_close_is_none() {
        let bytes = frame(20, OP_MSG, &[1, 2, 3, 4]);
        let (h, body) = read_frame(&mut &bytes[..], 1000).await.unwrap().unwrap();
        assert_eq!((h.request_id, h.op_code, body), (7, OP_MSG, vec![1, 2, 3, 4]));
        assert!(read_frame(&mut &[][..], 1000).await.unwrap().is_none());
        let short = frame(30, OP_MSG, &[1]);
        assert!(matches!(read_frame(&mut &short[..], 1000).await, Err(FrameError::Io(_))));
    }
}
