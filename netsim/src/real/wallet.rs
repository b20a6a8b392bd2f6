//! The workload's wallet in real-validation mode: every coin pays to P2WSH(`OP_TRUE`),
//! spent with the witness script alone. That spend is standard (Core's
//! `IsWitnessStandard`: a small witness script, no other stack items), so mempool policy
//! takes it, and Core's script interpreter still checks the witness program; it needs no
//! keys or signatures, which would cost the workload time and change no outcome (a
//! job's virtual time comes from the cost model either way).

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};
use weft::chain::Chainstate;

/// `OP_TRUE`: the witness script of every wallet coin.
const OP_TRUE: u8 = 0x51;
/// Inputs or outputs per transaction at most.
const MAX_IO: u32 = 100;
/// Outputs are kept at least this large, far above any dust threshold.
const MIN_OUTPUT_SATS: u64 = 10_000;
/// Coins looked at per transaction at most, so funding stays cheap with a big wallet.
const SCAN_LIMIT: usize = 2_000;

/// The output script of every wallet coin: P2WSH of `OP_TRUE`.
pub fn wallet_script() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&ScriptBuf::from_bytes(vec![OP_TRUE]).wscript_hash())
}

/// An output the wallet can spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coin {
    /// Where it is.
    pub outpoint: OutPoint,
    /// Its value in satoshis.
    pub value: u64,
}

/// A transaction the wallet built for one node, not yet spent from the wallet.
#[derive(Clone, Debug)]
pub struct Funded {
    /// The transaction.
    pub tx: Transaction,
    /// Its fee in satoshis.
    pub fee: i64,
}

/// The workload's coins, oldest first: spending the oldest keeps unconfirmed chains short.
#[derive(Debug, Default)]
pub struct Wallet {
    coins: Vec<Coin>,
}

/// Whether `op` is spendable on `cs`'s chain and mempool: unspent in the mempool, and
/// either made by a mempool transaction or an unspent (and mature) confirmed output.
fn usable(cs: &mut Chainstate, op: &OutPoint, next_height: u32, maturity: u32) -> bool {
    if cs.mempool().spender(op).is_some() {
        return false;
    }
    if cs.mempool().get(&op.txid).is_some() {
        return true;
    }
    match cs.coin(op) {
        Ok(Some(c)) => !c.coinbase || next_height.saturating_sub(c.height) >= maturity,
        _ => false,
    }
}

fn build(coins: &[Coin], outputs: u32, values: impl Fn(u32) -> u64) -> Transaction {
    let input = coins
        .iter()
        .map(|c| TxIn {
            previous_output: c.outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::from_slice(&[[OP_TRUE]]),
        })
        .collect();
    let script = wallet_script();
    let output = (0..outputs)
        .map(|o| TxOut {
            value: Amount::from_sat(values(o)),
            script_pubkey: script.clone(),
        })
        .collect();
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input,
        output,
    }
}

impl Wallet {
    /// A wallet holding `coins`.
    pub fn new(coins: Vec<Coin>) -> Self {
        Wallet { coins }
    }

    /// Coins held.
    pub fn len(&self) -> usize {
        self.coins.len()
    }

    /// Whether the wallet holds nothing.
    pub fn is_empty(&self) -> bool {
        self.coins.is_empty()
    }

    /// A transaction spending up to `inputs` coins that the node with chainstate `cs`
    /// can see, paying `outputs` outputs (fewer if the value would make them small) at
    /// `fee_rate` sat/vB; `None` if the node sees no coin or the coins cannot pay.
    pub fn fund(&self, cs: &mut Chainstate, inputs: u32, outputs: u32, fee_rate: f64) -> Option<Funded> {
        let want = inputs.clamp(1, MAX_IO) as usize;
        let next_height = cs.index().get(cs.tip()).height + 1;
        let maturity = cs.params().coinbase_maturity;
        let mut picked = Vec::with_capacity(want);
        for c in self.coins.iter().take(SCAN_LIMIT) {
            if usable(cs, &c.outpoint, next_height, maturity) {
                picked.push(*c);
                if picked.len() == want {
                    break;
                }
            }
        }
        if picked.is_empty() {
            return None;
        }
        let total: u64 = picked.iter().map(|c| c.value).sum();
        let rate = if fee_rate.is_finite() { fee_rate.max(0.0) } else { 0.0 };
        let fee_of = |tx: &Transaction| (rate * tx.vsize() as f64).ceil() as u64;
        let mut n = outputs.clamp(1, MAX_IO);
        let mut fee = fee_of(&build(&picked, n, |_| 0));
        let avail = total.checked_sub(fee).filter(|&a| a >= MIN_OUTPUT_SATS)?;
        let fits = u32::try_from(avail / MIN_OUTPUT_SATS).unwrap_or(u32::MAX);
        if fits < n {
            n = fits.max(1);
            fee = fee_of(&build(&picked, n, |_| 0));
        }
        let spend = total - fee;
        let each = spend / u64::from(n);
        let first = spend - each * u64::from(n - 1);
        let tx = build(&picked, n, |o| if o == 0 { first } else { each });
        Some(Funded {
            tx,
            fee: i64::try_from(fee).ok()?,
        })
    }

    /// `funded` (with txid `txid`) entered its node's mempool: its inputs are spent and
    /// its outputs are the wallet's newest coins.
    pub fn commit(&mut self, funded: &Funded, txid: Txid) {
        let spent: Vec<OutPoint> = funded.tx.input.iter().map(|i| i.previous_output).collect();
        self.coins.retain(|c| !spent.contains(&c.outpoint));
        self.coins
            .extend(funded.tx.output.iter().enumerate().map(|(vout, o)| Coin {
                outpoint: OutPoint {
                    txid,
                    vout: vout as u32,
                },
                value: o.value.to_sat(),
            }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::premine::StartChain;
    use std::sync::Arc;
    use weft::chain::mempool::AcceptArgs;

    const START: u64 = 1_700_000_000;

    #[test]
    fn funds_standard_transactions_from_mature_coins() {
        let start = StartChain::build(3, START).unwrap();
        let mut cs = start.node_chain(START).unwrap();
        assert_eq!(cs.index().get(cs.tip()).height, 102);
        let mut wallet = Wallet::new(start.coins());
        assert_eq!(wallet.len(), 3);
        let f = wallet.fund(&mut cs, 2, 3, 2.0).unwrap();
        assert_eq!((f.tx.input.len(), f.tx.output.len()), (2, 3));
        assert_eq!(f.fee, (2.0 * f.tx.vsize() as f64).ceil() as i64);
        let out: u64 = f.tx.output.iter().map(|o| o.value.to_sat()).sum();
        assert_eq!(out + f.fee as u64, 2 * 50 * 100_000_000);
        let args = AcceptArgs {
            now: START,
            bypass_limits: false,
            test_accept: false,
        };
        let acc = cs.accept_to_mempool(Arc::new(f.tx.clone()), args).unwrap();
        assert_eq!(acc.fee, f.fee);
        wallet.commit(&f, acc.txid);
        // One mature coin is left and three unconfirmed ones are new.
        assert_eq!(wallet.len(), 4);
        let g = wallet.fund(&mut cs, 4, 1, 1.0).unwrap();
        assert_eq!(g.tx.input.len(), 4);
        let acc = cs.accept_to_mempool(Arc::new(g.tx.clone()), args).unwrap();
        wallet.commit(&g, acc.txid);
        // Every coin left is the new output; the spent ones are gone from the wallet.
        assert_eq!(wallet.len(), 1);
        let h = wallet.fund(&mut cs, 3, 1, 1.0).unwrap();
        assert_eq!(
            h.tx.input[0].previous_output,
            OutPoint {
                txid: acc.txid,
                vout: 0
            }
        );
    }

    #[test]
    fn immature_and_unknown_coins_are_not_spent() {
        let start = StartChain::build(1, START).unwrap();
        let mut cs = start.node_chain(START).unwrap();
        let mut coins = start.coins();
        let young = {
            let tip = start.tip().unwrap();
            Coin {
                outpoint: OutPoint {
                    txid: tip.txdata[0].compute_txid(),
                    vout: 0,
                },
                value: 50 * 100_000_000,
            }
        };
        let unknown = Coin {
            outpoint: OutPoint {
                txid: Txid::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
                vout: 1,
            },
            value: 1_000_000,
        };
        coins.insert(0, young);
        coins.insert(0, unknown);
        let wallet = Wallet::new(coins);
        let f = wallet.fund(&mut cs, 3, 1, 1.0).unwrap();
        assert_eq!(f.tx.input.len(), 1);
        assert_eq!(f.tx.input[0].previous_output, start.coins()[0].outpoint);
        // Coins too small for their fee and an output are left alone.
        let dust = Wallet::new(vec![Coin {
            value: 5_000,
            ..start.coins()[0]
        }]);
        assert!(dust.fund(&mut cs, 1, 1, 1.0).is_none());
    }
}
