//! Running the p2p core's jobs on a chainstate: shared by `weftd`'s validation thread,
//! netsim and tests.

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Block, BlockHash};
use tracing::{info, warn};

use super::{BlockError, ChainError, Chainstate};
use crate::p2p::chain_view::{Job, JobResult, Rejection};
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
        Job::Transaction { peer, tx } => Ok(JobResult::Transaction {
            peer,
            tx,
            // WIP(mempool)
            outcome: crate::p2p::chain_view::TxOutcome::Rejected(Rejection {
                reason: "mempool not built".into(),
                punish: false,
            }),
        }),
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
