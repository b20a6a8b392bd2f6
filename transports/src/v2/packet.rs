//! Sans-I/O BIP324 packets once the handshake is done: a 3-byte encrypted length,
//! then the encrypted header byte, contents and a 16-byte tag.

use bip324::{InboundCipher, OutboundCipher, PacketType, NUM_LENGTH_BYTES};
use bytes::{Bytes, BytesMut};

use crate::shortid::{decode_type, encode_type, encoded_type_len};
use crate::{FrameError, Message, TrafficClass, MAX_MESSAGE_SIZE};

/// Largest packet contents accepted: a long-form type (13 bytes) plus the largest payload.
pub const MAX_CONTENTS_LEN: usize = MAX_MESSAGE_SIZE + 13;

/// The header byte's decoy flag (BIP324 `ignore` bit).
const IGNORE_BIT: u8 = 0x80;
/// Header byte plus authentication tag.
const HEADER_AND_TAG: usize = 1 + 16;

/// One decrypted packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The sender marked it as a decoy to be ignored.
    pub decoy: bool,
    /// The contents after the header byte.
    pub contents: Bytes,
    /// Bytes the packet took on the wire.
    pub wire_len: usize,
}

/// Encrypts outbound packets.
#[derive(Clone)]
pub struct PacketEncoder {
    cipher: OutboundCipher,
}

impl PacketEncoder {
    /// Wraps the outbound half of a BIP324 cipher session.
    pub fn new(cipher: OutboundCipher) -> Self {
        PacketEncoder { cipher }
    }

    /// Appends one encrypted packet holding `contents` to `out`; returns its wire length.
    pub fn encode_contents(
        &mut self,
        contents: &[u8],
        decoy: bool,
        aad: Option<&[u8]>,
        out: &mut BytesMut,
    ) -> Result<usize, FrameError> {
        if contents.len() > MAX_CONTENTS_LEN {
            return Err(FrameError::Oversized(contents.len() as u64));
        }
        let n = OutboundCipher::encryption_buffer_len(contents.len());
        let start = out.len();
        out.resize(start + n, 0);
        let kind = if decoy { PacketType::Decoy } else { PacketType::Genuine };
        self.cipher
            .encrypt(contents, &mut out[start..], kind, aad)
            .map_err(|e| FrameError::Cipher(e.to_string()))?;
        Ok(n)
    }

    /// Appends `msg` as one genuine packet (BIP324 type encoding, then payload).
    pub fn encode_message(&mut self, msg: &Message, out: &mut BytesMut) -> Result<usize, FrameError> {
        if msg.payload.len() > MAX_MESSAGE_SIZE {
            return Err(FrameError::Oversized(msg.payload.len() as u64));
        }
        // The cipher needs contiguous plaintext, so type and payload are joined here.
        let mut contents = Vec::with_capacity(encoded_type_len(&msg.command) + msg.payload.len());
        encode_type(&msg.command, &mut contents);
        contents.extend_from_slice(&msg.payload);
        self.encode_contents(&contents, false, None, out)
    }
}

/// Decrypts inbound packets from a byte buffer.
#[derive(Clone)]
pub struct PacketDecoder {
    cipher: InboundCipher,
    /// Length of the packet under way (header + contents + tag), once its prefix is decrypted.
    pending: Option<usize>,
}

impl PacketDecoder {
    /// Wraps the inbound half of a BIP324 cipher session.
    pub fn new(cipher: InboundCipher) -> Self {
        PacketDecoder { cipher, pending: None }
    }

    /// Takes one packet off the front of `buf`, or `Ok(None)` until it has all arrived.
    /// The length is checked before anything is reserved for the body.
    pub fn decode(&mut self, buf: &mut BytesMut, aad: Option<&[u8]>) -> Result<Option<Packet>, FrameError> {
        let rest = match self.pending {
            Some(n) => n,
            None => {
                let Some(prefix) = buf.get(..NUM_LENGTH_BYTES) else {
                    return Ok(None);
                };
                let mut len_bytes = [0u8; NUM_LENGTH_BYTES];
                len_bytes.copy_from_slice(prefix);
                let n = self.cipher.decrypt_packet_len(len_bytes);
                let contents_len = n - HEADER_AND_TAG;
                if contents_len > MAX_CONTENTS_LEN {
                    return Err(FrameError::Oversized(contents_len as u64));
                }
                let _ = buf.split_to(NUM_LENGTH_BYTES);
                self.pending = Some(n);
                n
            }
        };
        if buf.len() < rest {
            return Ok(None);
        }
        self.pending = None;
        let mut packet = buf.split_to(rest);
        let (_, plain) = self
            .cipher
            .decrypt_in_place(&mut packet, aad)
            .map_err(|e| FrameError::Cipher(e.to_string()))?;
        // BIP324: only the ignore bit matters; other header bits are reserved.
        let decoy = plain.first().is_some_and(|h| h & IGNORE_BIT != 0);
        let contents = packet.freeze().slice(1..rest - 16);
        Ok(Some(Packet {
            decoy,
            contents,
            wire_len: NUM_LENGTH_BYTES + rest,
        }))
    }
}

/// Turns genuine packet contents into a message; `Ok(None)` for an unassigned short id,
/// which Core skips rather than treating as a violation.
pub fn contents_to_message(contents: Bytes) -> Result<Option<Message>, FrameError> {
    let Some((command, n)) = decode_type(&contents)? else {
        return Ok(None);
    };
    let payload = contents.slice(n..);
    if payload.len() > MAX_MESSAGE_SIZE {
        return Err(FrameError::Oversized(payload.len() as u64));
    }
    Ok(Some(Message::new(command, payload, TrafficClass::Control)))
}
