//! Running the p2p core's jobs on a chainstate: shared by `weftd`'s validation thread,
//! netsim and tests.

use bitcoin::consensus::{deserialize, serialize};
use std::sync::Arc;

use bitcoin::{Block, BlockHash, Transaction};
use tracing::{info, warn};

use super::mempool::{AcceptArgs, AcceptError, TxRejectKind};
use super::{BlockError, ChainError, Chainstate};
use crate::p2p::chain_view::{Job, JobResult, Rejection, TxOutcome};
use crate::store::StoreError;

fn rejection(e: &BlockError) -> Rejection {
    Rejection {
        reason: e.reason.clone(),
        punish: e.punish(),
    }
}

/// Runs one job at wall-clock (or virtual) time `now_secs`; only a store failure is an error.
pub fn run_job(cs: &mut Chainstate, job: Job, now_secs: u64) -> Result<JobResult, StoreError> {
    match job {
        Job::Headers { peer, headers } => {
            let (mut last_accepted, mut error) = (None, None);
            for h in &headers {
                match cs.accept_header(h, now_secs) {
                    Ok(_) => last_accepted = Some(h.block_hash()),
                    Err(ChainError::Invalid(e)) => {
                        info!(target: "validation", "header {} from peer={peer} refused: {e}", h.block_hash());
                        error = Some(rejection(&e));
                        break;
                    }
                    Err(ChainError::Store(e)) => return Err(e),
                }
            }
            Ok(JobResult::Headers {
                peer,
                count: headers.len(),
                last_accepted,
                error,
            })
        }
        Job::Block { peer, block, requested } => {
            let hash = block.block_hash();
            let tip_before = cs.tip();
            let error = match cs.accept_block(block, requested, now_secs) {
                Ok(_) => None,
                Err(ChainError::Invalid(e)) => {
                    warn!(target: "validation", "block {hash} from peer={peer} refused: {e}");
                    Some(rejection(&e))
                }
                Err(ChainError::Store(e)) => return Err(e),
            };
            let invalid = cs
                .activate_best_chain()?
                .iter()
                .map(|(h, e)| (*h, rejection(e)))
                .collect();
            Ok(JobResult::Block {
                peer,
                hash,
                error,
                invalid,
                tip_changed: cs.tip() != tip_before,
            })
        }
        Job::Transaction { peer, tx, .. } => {
            let outcome = accept_tx(cs, &tx, now_secs)?;
            Ok(JobResult::Transaction { peer, tx, outcome })
        }
    }
}

/// Mempool acceptance of a transaction from a peer, as the core needs to hear of it.
fn accept_tx(cs: &mut Chainstate, tx: &Arc<Transaction>, now_secs: u64) -> Result<TxOutcome, StoreError> {
    let args = AcceptArgs {
        now: now_secs,
        bypass_limits: false,
        test_accept: false,
    };
    match cs.accept_to_mempool(tx.clone(), args) {
        Ok(acc) => {
            tracing::debug!(target: "mempool", "AcceptToMemoryPool: accepted {} (poolsz {} txn, {} kB)", acc.txid, cs.mempool().len(), cs.mempool().usage() / 1000);
            Ok(TxOutcome::Accepted {
                replaced: acc
                    .replaced
                    .iter()
                    .map(|t| (t.compute_txid(), t.compute_wtxid()))
                    .collect(),
            })
        }
        Err(AcceptError::Store(e)) => Err(e),
        Err(AcceptError::Rejected(r)) if r.kind == TxRejectKind::MissingInputs => {
            let mut parents = Vec::new();
            for i in &tx.input {
                let t = i.previous_output.txid;
                if !parents.contains(&t) && cs.mempool().get(&t).is_none() && cs.coin(&i.previous_output)?.is_none() {
                    parents.push(t);
                }
            }
            Ok(TxOutcome::MissingInputs { parents })
        }
        Err(AcceptError::Rejected(r)) => {
            tracing::debug!(target: "mempool", "{} (wtxid={}) was not accepted: {r}", tx.compute_txid(), tx.compute_wtxid());
            Ok(TxOutcome::Rejected(Rejection {
                punish: r.punish(),
                reason: r.to_string(),
            }))
        }
    }
}

/// A stored block as a `block` payload, with or without witnesses.
pub fn block_payload(cs: &Chainstate, hash: &BlockHash, witness: bool) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(raw) = cs.store().get_block(hash)? else {
        return Ok(None);
    };
    if witness {
        return Ok(Some(raw));
    }
    let mut block: Block = deserialize(&raw).map_err(|e| StoreError::Corrupt(format!("block {hash}: {e}")))?;
    for tx in &mut block.txdata {
        for input in &mut tx.input {
            input.witness.clear();
        }
    }
    Ok(Some(serialize(&block)))
}
