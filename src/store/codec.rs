//! Byte encodings of stored values. Local to weft's store, never sent on the wire.

use bitcoin::block::Header;
use bitcoin::consensus::{deserialize, serialize, Decodable, Encodable};
use bitcoin::hashes::Hash as _;
use bitcoin::pow::Work;
use bitcoin::{Amount, OutPoint, ScriptBuf, TxOut, VarInt};

use super::types::{Coin, IndexRecord};
use super::StoreError;

/// Length of an encoded outpoint key: txid then vout, little-endian.
pub const OUTPOINT_KEY_LEN: usize = 36;

/// Outpoint as a fixed-size key.
pub fn outpoint_key(op: &OutPoint) -> [u8; OUTPOINT_KEY_LEN] {
    let mut key = [0u8; OUTPOINT_KEY_LEN];
    key[..32].copy_from_slice(op.txid.as_ref());
    key[32..].copy_from_slice(&op.vout.to_le_bytes());
    key
}

/// The outpoint a key encodes.
pub fn outpoint_from_key(key: &[u8]) -> Result<OutPoint, StoreError> {
    if key.len() != OUTPOINT_KEY_LEN {
        return Err(StoreError::Corrupt(format!("outpoint key of {} bytes", key.len())));
    }
    let mut txid = [0u8; 32];
    txid.copy_from_slice(&key[..32]);
    let mut vout = [0u8; 4];
    vout.copy_from_slice(&key[32..]);
    Ok(OutPoint {
        txid: bitcoin::Txid::from_byte_array(txid),
        vout: u32::from_le_bytes(vout),
    })
}

/// A coin as `varint(height*2 + coinbase) || varint(value) || script with its length`.
pub fn encode_coin(coin: &Coin, out: &mut Vec<u8>) {
    let code = (u64::from(coin.height) << 1) | u64::from(coin.coinbase);
    // Writing to a Vec cannot fail.
    let _ = VarInt(code).consensus_encode(out);
    let _ = VarInt(coin.txout.value.to_sat()).consensus_encode(out);
    let _ = coin.txout.script_pubkey.consensus_encode(out);
}

/// Decodes one coin from the front of `bytes`, advancing it.
pub fn decode_coin(bytes: &mut &[u8]) -> Result<Coin, StoreError> {
    let code = VarInt::consensus_decode(bytes).map_err(corrupt)?.0;
    let value = VarInt::consensus_decode(bytes).map_err(corrupt)?.0;
    // ScriptBuf's decoder caps the length it trusts before allocating.
    let script = ScriptBuf::consensus_decode(bytes).map_err(corrupt)?;
    let height = u32::try_from(code >> 1).map_err(|_| StoreError::Corrupt("coin height out of range".into()))?;
    Ok(Coin {
        txout: TxOut {
            value: Amount::from_sat(value),
            script_pubkey: script,
        },
        height,
        coinbase: code & 1 == 1,
    })
}

/// A whole value holding exactly one coin.
pub fn coin_from_value(mut bytes: &[u8]) -> Result<Coin, StoreError> {
    let coin = decode_coin(&mut bytes)?;
    if !bytes.is_empty() {
        return Err(StoreError::Corrupt("trailing bytes after coin".into()));
    }
    Ok(coin)
}

/// Undo data of a block: the coins its transactions spent, in input order.
pub fn encode_undo(spent: &[Coin]) -> Vec<u8> {
    let mut out = Vec::with_capacity(spent.len() * 40);
    let _ = VarInt(spent.len() as u64).consensus_encode(&mut out);
    for coin in spent {
        encode_coin(coin, &mut out);
    }
    out
}

/// Decodes undo data; the count is bounded by the bytes actually present.
pub fn decode_undo(mut bytes: &[u8]) -> Result<Vec<Coin>, StoreError> {
    let n = VarInt::consensus_decode(&mut bytes).map_err(corrupt)?.0;
    // Each coin takes at least 3 bytes, so a count larger than that is corrupt.
    if n > (bytes.len() / 3) as u64 {
        return Err(StoreError::Corrupt("undo count exceeds data".into()));
    }
    let mut coins = Vec::with_capacity(n as usize);
    for _ in 0..n {
        coins.push(decode_coin(&mut bytes)?);
    }
    if !bytes.is_empty() {
        return Err(StoreError::Corrupt("trailing bytes after undo data".into()));
    }
    Ok(coins)
}

/// Index record: header (80) || height (4) || status (4) || n_tx (4) || data size (4) || chain work (32, big-endian).
pub fn encode_index(rec: &IndexRecord) -> Vec<u8> {
    let mut out = serialize(&rec.header);
    out.extend_from_slice(&rec.height.to_le_bytes());
    out.extend_from_slice(&rec.status.to_le_bytes());
    out.extend_from_slice(&rec.n_tx.to_le_bytes());
    out.extend_from_slice(&rec.data_size.to_le_bytes());
    out.extend_from_slice(&rec.chain_work.to_be_bytes());
    out
}

/// Decodes an index record written by [`encode_index`].
pub fn decode_index(bytes: &[u8]) -> Result<IndexRecord, StoreError> {
    if bytes.len() != 80 + 16 + 32 {
        return Err(StoreError::Corrupt(format!("index record of {} bytes", bytes.len())));
    }
    let header: Header = deserialize(&bytes[..80]).map_err(corrupt)?;
    let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let mut work = [0u8; 32];
    work.copy_from_slice(&bytes[96..]);
    Ok(IndexRecord {
        header,
        height: word(80),
        status: word(84),
        n_tx: word(88),
        data_size: word(92),
        chain_work: Work::from_be_bytes(work),
    })
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coin(h: u32, cb: bool, v: u64, script: &[u8]) -> Coin {
        Coin {
            txout: TxOut {
                value: Amount::from_sat(v),
                script_pubkey: ScriptBuf::from_bytes(script.to_vec()),
            },
            height: h,
            coinbase: cb,
        }
    }

    #[test]
    fn coin_and_undo_round_trip() {
        let coins = vec![
            coin(0, true, 50_0000_0000, &[0x51]),
            coin(840_000, false, 1, &[]),
            coin(7, false, 0, &[0; 300]),
        ];
        for c in &coins {
            let mut buf = Vec::new();
            encode_coin(c, &mut buf);
            assert_eq!(&coin_from_value(&buf).unwrap(), c);
        }
        assert_eq!(decode_undo(&encode_undo(&coins)).unwrap(), coins);
    }

    #[test]
    fn corrupt_values_are_errors() {
        assert!(decode_undo(&[0xfe, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(coin_from_value(&[0x02, 0x01]).is_err());
        assert!(decode_index(&[0u8; 10]).is_err());
        assert!(outpoint_from_key(&[0u8; 35]).is_err());
    }
}
