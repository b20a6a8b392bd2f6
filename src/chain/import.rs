//! Reading blocks from files in Core's `blk*.dat` layout (`-loadblock`).

use std::io::Read;

use bitcoin::consensus::deserialize;
use bitcoin::Block;

/// Largest serialized block Core accepts (`MAX_BLOCK_SERIALIZED_SIZE`).
pub const MAX_BLOCK_SERIALIZED_SIZE: usize = 4_000_000;

/// Why a block file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("reading block file: {0}")]
    Io(#[from] std::io::Error),
}

/// Splits `data` into blocks: each record is magic, a little-endian u32 length, then the block.
///
/// As Core does, it scans forward to the next magic after garbage, and skips records
/// whose length is out of bounds or whose bytes do not decode.
pub fn blocks_in(data: &[u8], magic: [u8; 4]) -> (Vec<Block>, usize) {
    let mut blocks = Vec::new();
    let mut skipped = 0;
    let mut pos = 0;
    while pos + 8 <= data.len() {
        if data[pos..pos + 4] != magic {
            pos += 1;
            continue;
        }
        let len = u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]]) as usize;
        let start = pos + 8;
        if !(80..=MAX_BLOCK_SERIALIZED_SIZE).contains(&len) || start + len > data.len() {
            skipped += 1;
            pos += 4;
            continue;
        }
        match deserialize::<Block>(&data[start..start + len]) {
            Ok(b) => {
                blocks.push(b);
                pos = start + len;
            }
            Err(_) => {
                skipped += 1;
                pos += 4;
            }
        }
    }
    (blocks, skipped)
}

/// Reads a whole block file.
pub fn read_block_file(path: &std::path::Path, magic: [u8; 4]) -> Result<(Vec<Block>, usize), ImportError> {
    let mut data = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut data)?;
    Ok(blocks_in(&data, magic))
}

/// Appends one block record in Core's layout.
pub fn write_block_record(out: &mut Vec<u8>, magic: [u8; 4], block: &Block) {
    let raw = bitcoin::consensus::serialize(block);
    out.extend_from_slice(&magic);
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&raw);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::params::params;
    use crate::chain::Chain;

    #[test]
    fn garbage_and_bad_lengths_are_skipped() {
        let magic = Chain::Regtest.magic();
        let genesis = params(Chain::Regtest).genesis_block();
        let mut data = vec![1, 2, 3];
        write_block_record(&mut data, magic, &genesis);
        data.extend_from_slice(&magic);
        data.extend_from_slice(&u32::MAX.to_le_bytes());
        write_block_record(&mut data, magic, &genesis);
        data.extend_from_slice(&magic[..3]);
        let (blocks, skipped) = blocks_in(&data, magic);
        assert_eq!(blocks.len(), 2);
        assert_eq!(skipped, 1);
        assert_eq!(blocks[0].block_hash(), genesis.block_hash());
    }
}
