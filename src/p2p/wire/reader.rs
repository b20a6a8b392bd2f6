//! A bounds-checked cursor over a message payload: every read checks the remaining
//! length first, so no length field can make us allocate or read past the payload.

use super::WireError;

/// Reads little-endian fields from a payload. Cloning gives a look-ahead cursor.
#[derive(Clone)]
pub struct PayloadReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> PayloadReader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        PayloadReader { data, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Fails with [`WireError::Truncated`] unless `count` items of at least `min_each`
    /// bytes could still follow, so a claimed count is checked before anything is sized by it.
    pub fn check_count(&self, count: u64, min_each: usize) -> Result<usize, WireError> {
        let fits = (self.remaining() / min_each.max(1)) as u64;
        if count > fits {
            return Err(WireError::Truncated);
        }
        // `count <= fits <= usize::MAX`, so the conversion cannot fail.
        usize::try_from(count).map_err(|_| WireError::Truncated)
    }

    /// Takes the next `n` bytes, `n` as read from a length field.
    pub fn bytes_u64(&mut self, n: u64) -> Result<&'a [u8], WireError> {
        let n = usize::try_from(n).map_err(|_| WireError::Truncated)?;
        self.bytes(n)
    }

    /// Takes the next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::Truncated);
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// Reads a `u8`.
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `i32`.
    pub fn i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `i64`.
    pub fn i64(&mut self) -> Result<i64, WireError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// Reads a CompactSize, rejecting non-canonical encodings as Core does.
    pub fn compact_size(&mut self) -> Result<u64, WireError> {
        let n = match self.u8()? {
            0xfd => {
                let v = u16::from_le_bytes(self.array()?) as u64;
                if v < 0xfd {
                    return Err(WireError::NonCanonical);
                }
                v
            }
            0xfe => {
                let v = self.u32()? as u64;
                if v < 0x1_0000 {
                    return Err(WireError::NonCanonical);
                }
                v
            }
            0xff => {
                let v = self.u64()?;
                if v < 0x1_0000_0000 {
                    return Err(WireError::NonCanonical);
                }
                v
            }
            b => b as u64,
        };
        Ok(n)
    }

    /// Reads a length-prefixed string of at most `max` bytes, checking the length
    /// before touching the bytes. Non-printable bytes become `?`, so the result is
    /// safe to log and keeps its length.
    pub fn var_str(&mut self, max: usize) -> Result<String, WireError> {
        let len = self.compact_size()?;
        if len > max as u64 {
            return Err(WireError::TooLong {
                what: "string",
                len,
                max: max as u64,
            });
        }
        let raw = self.bytes(len as usize)?;
        Ok(raw
            .iter()
            .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '?' })
            .collect())
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), WireError> {
        if self.remaining() != 0 {
            return Err(WireError::TrailingBytes(self.remaining()));
        }
        Ok(())
    }
}

/// Appends a CompactSize.
pub fn put_compact_size(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}
