//! MuHash3072, the rolling UTXO-set hash behind Core's `gettxoutsetinfo muhash`
//! (`crypto/muhash.{h,cpp}`), and Core's serialization of one UTXO for it.
//!
//! The set's hash is the product of its elements modulo 2^3072 - 1103717, kept as a
//! numerator (inserted) over a denominator (removed), so adding, removing and merging
//! commute. An element is the 384-byte ChaCha20 keystream keyed by SHA256 of the data.

mod num3072;

use bitcoin::consensus::encode::serialize;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::{OutPoint, TxOut};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use self::num3072::{Num3072, BYTE_SIZE};

/// Bytes in Core's serialization of a MuHash3072 (numerator, then denominator).
pub const SERIALIZED_SIZE: usize = 2 * BYTE_SIZE;

/// A multiset hash; the empty set is `MuHash3072::new()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MuHash3072 {
    numerator: Num3072,
    denominator: Num3072,
}

impl Default for MuHash3072 {
    fn default() -> Self {
        Self::new()
    }
}

/// Maps data to a 3072-bit element: ChaCha20 (zero nonce, counter 0) keyed by SHA256(data).
fn to_num3072(data: &[u8]) -> Num3072 {
    let key = sha256::Hash::hash(data).to_byte_array();
    let mut stream = [0u8; BYTE_SIZE];
    ChaCha20Rng::from_seed(key).fill_bytes(&mut stream);
    Num3072::from_le_bytes(&stream)
}

impl MuHash3072 {
    /// The hash of the empty set.
    pub fn new() -> Self {
        MuHash3072 {
            numerator: Num3072::one(),
            denominator: Num3072::one(),
        }
    }

    /// The hash of the one-element set `{data}` (Core's `MuHash3072(span)`).
    pub fn from_element(data: &[u8]) -> Self {
        MuHash3072 {
            numerator: to_num3072(data),
            denominator: Num3072::one(),
        }
    }

    /// Adds `data` to the set.
    pub fn insert(&mut self, data: &[u8]) {
        self.numerator.mul_assign(&to_num3072(data));
    }

    /// Removes `data` from the set (it need not have been inserted first).
    pub fn remove(&mut self, data: &[u8]) {
        self.denominator.mul_assign(&to_num3072(data));
    }

    /// Merges another set into this one (Core's `operator*=`).
    pub fn combine(&mut self, other: &MuHash3072) {
        self.numerator.mul_assign(&other.numerator);
        self.denominator.mul_assign(&other.denominator);
    }

    /// Takes another set out of this one (Core's `operator/=`).
    pub fn divide(&mut self, other: &MuHash3072) {
        self.numerator.mul_assign(&other.denominator);
        self.denominator.mul_assign(&other.numerator);
    }

    /// SHA256 of the 384-byte little-endian value numerator/denominator mod p.
    ///
    /// Like Core's `Finalize`, this folds the denominator into the numerator (one modular
    /// inverse, a few milliseconds), so repeated calls are cheap; the set is unchanged.
    pub fn finalize(&mut self) -> [u8; 32] {
        if !self.denominator.is_one() {
            let inv = self.denominator.inverse();
            self.numerator.mul_assign(&inv);
            self.denominator = Num3072::one();
        }
        self.numerator.reduce();
        sha256::Hash::hash(&self.numerator.to_le_bytes()).to_byte_array()
    }

    /// Core's serialization: numerator then denominator, 48 little-endian u64 limbs each.
    pub fn to_bytes(&self) -> [u8; SERIALIZED_SIZE] {
        let mut out = [0u8; SERIALIZED_SIZE];
        out[..BYTE_SIZE].copy_from_slice(&self.numerator.to_le_bytes());
        out[BYTE_SIZE..].copy_from_slice(&self.denominator.to_le_bytes());
        out
    }

    /// Reads Core's serialization; any limb values are accepted, as in Core.
    pub fn from_bytes(bytes: &[u8; SERIALIZED_SIZE]) -> Self {
        let mut num = [0u8; BYTE_SIZE];
        let mut den = [0u8; BYTE_SIZE];
        num.copy_from_slice(&bytes[..BYTE_SIZE]);
        den.copy_from_slice(&bytes[BYTE_SIZE..]);
        MuHash3072 {
            numerator: Num3072::from_le_bytes(&num),
            denominator: Num3072::from_le_bytes(&den),
        }
    }
}

/// One unspent output as Core's `TxOutSer` feeds it to MuHash: the outpoint, then
/// `height * 2 + coinbase` as a little-endian u32, then the serialized `TxOut`.
pub fn utxo_leaf(outpoint: &OutPoint, height: u32, is_coinbase: bool, txout: &TxOut) -> Vec<u8> {
    let mut out = serialize(outpoint);
    // Core keeps the height in 31 bits, so the shift drops nothing for real heights.
    let code = height.wrapping_shl(1).wrapping_add(u32::from(is_coinbase));
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&serialize(txout));
    out
}

/// A finalized hash as Core prints a uint256 (`gettxoutsetinfo`'s `muhash`): bytes reversed.
pub fn to_core_hex(hash: &[u8; 32]) -> String {
    let mut rev = *hash;
    rev.reverse();
    hex::encode(rev)
}
