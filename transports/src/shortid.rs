//! BIP324 message-type encoding: one byte for the common types, or a zero byte
//! followed by the 12-byte v1 command. QUIC and Iroh framing reuse it.

use crate::error::FrameError;
use crate::message::{Command, COMMAND_LEN};

/// Short ids 1..=28 as BIP324 assigns them; index 0 is "long form follows".
const SHORT_IDS: [&str; 29] = [
    "",
    "addr",
    "block",
    "blocktxn",
    "cmpctblock",
    "feefilter",
    "filteradd",
    "filterclear",
    "filterload",
    "getblocks",
    "getblocktxn",
    "getdata",
    "getheaders",
    "headers",
    "inv",
    "mempool",
    "merkleblock",
    "notfound",
    "ping",
    "pong",
    "sendcmpct",
    "tx",
    "getcfilters",
    "cfilter",
    "getcfheaders",
    "cfheaders",
    "getcfcheckpt",
    "cfcheckpt",
    "addrv2",
];

/// The short id BIP324 assigns to `cmd`, if any.
pub fn short_id(cmd: &Command) -> Option<u8> {
    SHORT_IDS
        .iter()
        .skip(1)
        .position(|s| *s == cmd.as_str())
        .map(|i| (i + 1) as u8)
}

/// Appends the encoded message type of `cmd` to `out`.
pub fn encode_type(cmd: &Command, out: &mut Vec<u8>) {
    match short_id(cmd) {
        Some(id) => out.push(id),
        None => {
            out.push(0);
            out.extend_from_slice(&cmd.to_wire());
        }
    }
}

/// Length of the encoded message type of `cmd`.
pub fn encoded_type_len(cmd: &Command) -> usize {
    if short_id(cmd).is_some() {
        1
    } else {
        1 + COMMAND_LEN
    }
}

/// Decodes the message type at the start of `contents`, returning the command and how
/// many bytes it took. `Ok(None)` is an unassigned short id, which Core ignores
/// rather than treating as a violation.
pub fn decode_type(contents: &[u8]) -> Result<Option<(Command, usize)>, FrameError> {
    let first = *contents.first().ok_or(FrameError::Truncated)?;
    if first == 0 {
        let raw: &[u8; COMMAND_LEN] = contents
            .get(1..1 + COMMAND_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(FrameError::Truncated)?;
        return Ok(Some((Command::from_wire(raw)?, 1 + COMMAND_LEN)));
    }
    match SHORT_IDS.get(first as usize) {
        Some(name) => Ok(Some((Command::new(name)?, 1))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips() {
        for (i, name) in SHORT_IDS.iter().enumerate().skip(1) {
            let c = Command::new(name).unwrap();
            assert_eq!(short_id(&c), Some(i as u8));
            let mut v = Vec::new();
            encode_type(&c, &mut v);
            assert_eq!(decode_type(&v).unwrap(), Some((c, 1)));
        }
        let v = Command::new("version").unwrap();
        let mut buf = Vec::new();
        encode_type(&v, &mut buf);
        assert_eq!(buf.len(), 13);
        assert_eq!(decode_type(&buf).unwrap(), Some((v, 13)));
        assert_eq!(decode_type(&[29]).unwrap(), None);
        assert_eq!(decode_type(&[0, b'a']), Err(FrameError::Truncated));
        assert_eq!(decode_type(&[]), Err(FrameError::Truncated));
    }
}
