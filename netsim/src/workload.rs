//! The workload: synthetic but real transactions arriving as a Poisson process at
//! random nodes, and blocks found as a Poisson process by miners weighted by hash share.

use bitcoin::absolute::LockTime;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use crate::dist::{exponential, rng_for, Stream};
use crate::scenario::WorkloadConfig;

/// Inputs or outputs per synthetic transaction at most.
const MAX_IO: u32 = 1_000;

/// A coinbase for a block at `height` found by the miner tagged `tag` (height first,
/// as BIP34 has it, so no two blocks share a coinbase).
pub fn coinbase(height: u32, tag: &[u8]) -> Transaction {
    let mut script = bitcoin::script::Builder::new()
        .push_int(i64::from(height))
        .into_script()
        .into_bytes();
    script.extend_from_slice(&tag[..tag.len().min(80)]);
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::from_bytes(script),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(50 * 100_000_000),
            script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
        }],
    }
}

/// A P2WPKH-shaped transaction spending `inputs` outpoints that exist nowhere but are
/// unique to `serial`, paying `outputs` outputs. Its size is that of a real one.
pub fn synthetic_tx(serial: u64, inputs: u32, outputs: u32) -> Transaction {
    let (inputs, outputs) = (inputs.clamp(1, MAX_IO), outputs.clamp(1, MAX_IO));
    let input = (0..inputs)
        .map(|i| {
            let mut seed = [0u8; 12];
            seed[..8].copy_from_slice(&serial.to_le_bytes());
            seed[8..].copy_from_slice(&i.to_le_bytes());
            let txid = Txid::from_raw_hash(sha256d::Hash::hash(&seed));
            // A DER signature and a compressed key: 72 + 33 bytes of witness.
            let witness = Witness::from_slice(&[vec![0x30; 72], vec![0x02; 33]]);
            TxIn {
                previous_output: OutPoint { txid, vout: 0 },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness,
            }
        })
        .collect();
    let output = (0..outputs)
        .map(|o| {
            let mut spk = vec![0x00, 0x14];
            spk.extend_from_slice(&[(o % 256) as u8; 20]);
            TxOut {
                value: Amount::from_sat(10_000),
                script_pubkey: ScriptBuf::from_bytes(spk),
            }
        })
        .collect();
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input,
        output,
    }
}

/// The workload's own random stream and its choices.
pub struct Workload {
    cfg: WorkloadConfig,
    rng: ChaCha20Rng,
    /// Cumulative hash shares, by miner node index.
    miners: Vec<(u32, f64)>,
    serial: u64,
}

/// A transaction's draws: where it appears and its shape.
pub struct TxDraw {
    /// The node it appears at.
    pub node: u32,
    /// Inputs wanted.
    pub inputs: u32,
    /// Outputs wanted.
    pub outputs: u32,
    /// Fee rate, sat/vB (never negative).
    pub fee_rate: f64,
}

/// A new transaction for a node.
pub struct NewTx {
    /// The node it appears at.
    pub node: u32,
    /// The transaction.
    pub tx: Transaction,
    /// Its fee.
    pub fee: i64,
}

impl Workload {
    /// The workload of `cfg` for `nodes` nodes under `seed`.
    pub fn new(cfg: &WorkloadConfig, nodes: u32, seed: u64) -> Self {
        let shares: Vec<f64> = if cfg.hash_shares.is_empty() {
            vec![1.0; cfg.miners as usize]
        } else {
            cfg.hash_shares.clone()
        };
        let mut total = 0.0;
        let miners = shares
            .iter()
            .enumerate()
            .filter(|(i, s)| **s > 0.0 && (*i as u32) < nodes)
            .map(|(i, s)| {
                total += s;
                (i as u32, total)
            })
            .collect();
        Workload {
            cfg: cfg.clone(),
            rng: rng_for(seed, Stream::Workload),
            miners,
            serial: 0,
        }
    }

    /// Seconds until the next transaction, if transactions are on.
    pub fn next_tx_gap(&mut self) -> Option<f64> {
        (self.cfg.tx_per_sec > 0.0).then(|| exponential(&mut self.rng, 1.0 / self.cfg.tx_per_sec))
    }

    /// Seconds until the next block, if blocks are on.
    pub fn next_block_gap(&mut self) -> Option<f64> {
        (self.cfg.block_interval_secs > 0.0 && !self.miners.is_empty())
            .then(|| exponential(&mut self.rng, self.cfg.block_interval_secs))
    }

    /// Seconds before the end after which no transactions are created.
    pub fn quiet_tail_secs(&self) -> u64 {
        self.cfg.quiet_tail_secs
    }

    /// Where the next transaction appears and its shape, drawn from the distributions.
    pub fn draw_tx(&mut self, nodes: u32) -> TxDraw {
        let node = self.rng.gen_range(0..nodes);
        let inputs = self.cfg.tx_inputs.sample(&mut self.rng).round() as u32;
        let outputs = self.cfg.tx_outputs.sample(&mut self.rng).round() as u32;
        let fee_rate = self.cfg.fee_rate.sample(&mut self.rng).max(0.0);
        TxDraw {
            node,
            inputs,
            outputs,
            fee_rate,
        }
    }

    /// A fresh transaction at a random one of `nodes` nodes.
    pub fn new_tx(&mut self, nodes: u32) -> NewTx {
        let d = self.draw_tx(nodes);
        let tx = synthetic_tx(self.serial, d.inputs, d.outputs);
        self.serial += 1;
        let fee = (d.fee_rate * tx.vsize() as f64).ceil() as i64;
        NewTx { node: d.node, tx, fee }
    }

    /// The node that finds the next block, by hash share.
    pub fn pick_miner(&mut self) -> Option<u32> {
        let total = self.miners.last()?.1;
        let x = self.rng.gen::<f64>() * total;
        self.miners
            .iter()
            .find(|(_, c)| x < *c)
            .or(self.miners.last())
            .map(|(n, _)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_transactions_are_unique_and_sized() {
        let a = synthetic_tx(1, 2, 2);
        let b = synthetic_tx(2, 2, 2);
        assert_ne!(a.compute_txid(), b.compute_txid());
        assert_ne!(a.compute_txid().to_byte_array(), a.compute_wtxid().to_byte_array());
        // Two P2WPKH inputs and two outputs: about 208 vbytes.
        assert!((190..=230).contains(&a.vsize()), "{}", a.vsize());
        assert_eq!(synthetic_tx(3, 0, 0).input.len(), 1);
    }

    #[test]
    fn miners_are_picked_by_share() {
        let cfg = WorkloadConfig {
            hash_shares: vec![3.0, 0.0, 1.0],
            ..WorkloadConfig::default()
        };
        let mut w = Workload::new(&cfg, 10, 1);
        let mut counts = [0u32; 3];
        for _ in 0..4_000 {
            counts[w.pick_miner().unwrap() as usize] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((2_800..3_200).contains(&counts[0]), "{counts:?}");
    }
}
