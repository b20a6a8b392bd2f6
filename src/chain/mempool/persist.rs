//! `mempool.dat` in Core's version-1 layout (no obfuscation key), so the mempool
//! survives a restart: each transaction with its entry time and fee delta, then the
//! prioritisation map and the unbroadcast set.

use std::fs;
use std::io::Write;
use std::path::Path;

use bitcoin::consensus::encode::{deserialize_partial, serialize, VarInt};
use bitcoin::hashes::Hash;
use bitcoin::{Transaction, Txid};

use super::Mempool;

/// Core's `MEMPOOL_DUMP_VERSION_NO_XOR_KEY`.
const DUMP_VERSION: u64 = 1;
/// Fewest bytes one saved transaction can take, to bound a count read from disk.
const MIN_RECORD: usize = 60 + 16;

/// A transaction read back from `mempool.dat`.
#[derive(Debug)]
pub struct SavedTx {
    /// The transaction.
    pub tx: Transaction,
    /// When it entered the mempool, seconds since the epoch.
    pub time: i64,
    /// Its `prioritisetransaction` delta.
    pub fee_delta: i64,
}

/// What `mempool.dat` held.
#[derive(Debug, Default)]
pub struct SavedMempool {
    /// The transactions, in the order saved (parents before children).
    pub txs: Vec<SavedTx>,
    /// Fee deltas, including for transactions not in the mempool.
    pub deltas: Vec<(Txid, i64)>,
}

/// Why `mempool.dat` could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The file system failed.
    #[error("mempool.dat: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a mempool dump we understand.
    #[error("mempool.dat is corrupt: {0}")]
    Corrupt(String),
}

impl Mempool {
    /// Writes the mempool to `path` atomically (a temporary file, synced, then renamed).
    pub fn save(&self, path: &Path) -> Result<usize, PersistError> {
        let mut out = Vec::with_capacity(self.usage / 2 + 64);
        out.extend_from_slice(&DUMP_VERSION.to_le_bytes());
        let order = self.txids_in_order();
        out.extend_from_slice(&(order.len() as u64).to_le_bytes());
        for txid in &order {
            let Some(e) = self.entries.get(txid) else { continue };
            out.extend_from_slice(&serialize(e.tx.as_ref()));
            out.extend_from_slice(&(e.time as i64).to_le_bytes());
            out.extend_from_slice(&e.fee_delta.to_le_bytes());
        }
        // Deltas of transactions not in the mempool; those in it travel with their entry.
        let deltas: Vec<(&Txid, &i64)> = self
            .deltas
            .iter()
            .filter(|(t, _)| !self.entries.contains_key(*t))
            .collect();
        out.extend_from_slice(&serialize(&VarInt(deltas.len() as u64)));
        for (t, d) in deltas {
            out.extend_from_slice(t.as_byte_array());
            out.extend_from_slice(&d.to_le_bytes());
        }
        // The unbroadcast set: weft announces at once, so it is always empty.
        out.extend_from_slice(&serialize(&VarInt(0)));
        let tmp = path.with_extension("dat.new");
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&out)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        Ok(order.len())
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], PersistError> {
        if self.buf.len() < n {
            return Err(PersistError::Corrupt("truncated".into()));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }

    fn u64(&mut self) -> Result<u64, PersistError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn varint(&mut self) -> Result<u64, PersistError> {
        let (v, n): (VarInt, usize) =
            deserialize_partial(self.buf).map_err(|e| PersistError::Corrupt(e.to_string()))?;
        self.take(n)?;
        Ok(v.0)
    }
}

/// Reads `mempool.dat`; a missing file is an empty mempool. Counts are checked against
/// the bytes present before anything is allocated for them.
pub fn load(path: &Path) -> Result<SavedMempool, PersistError> {
    let raw = match fs::read(path) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SavedMempool::default()),
        Err(e) => return Err(e.into()),
    };
    let mut c = Cursor { buf: &raw };
    let version = c.u64()?;
    if version != DUMP_VERSION {
        return Err(PersistError::Corrupt(format!("unknown version {version}")));
    }
    let count = c.u64()?;
    if count > (c.buf.len() / MIN_RECORD) as u64 {
        return Err(PersistError::Corrupt(format!(
            "{count} transactions claimed in {} bytes",
            c.buf.len()
        )));
    }
    let mut saved = SavedMempool::default();
    saved.txs.reserve(count as usize);
    for _ in 0..count {
        let (tx, n): (Transaction, usize) =
            deserialize_partial(c.buf).map_err(|e| PersistError::Corrupt(e.to_string()))?;
        c.take(n)?;
        let time = c.u64()? as i64;
        let fee_delta = c.u64()? as i64;
        saved.txs.push(SavedTx { tx, time, fee_delta });
    }
    let deltas = c.varint()?;
    if deltas > (c.buf.len() / 40) as u64 {
        return Err(PersistError::Corrupt(format!(
            "{deltas} deltas claimed in {} bytes",
            c.buf.len()
        )));
    }
    for _ in 0..deltas {
        let mut t = [0u8; 32];
        t.copy_from_slice(c.take(32)?);
        let d = c.u64()? as i64;
        saved.deltas.push((Txid::from_byte_array(t), d));
    }
    // The unbroadcast set follows; weft has no use for it.
    Ok(saved)
}
