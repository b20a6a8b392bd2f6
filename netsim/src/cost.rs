//! The validation cost model: how much virtual time a job takes. Nothing is really
//! checked except what the core itself checks (headers' proof of work).

use weft::p2p::chain_view::Job;

use crate::scenario::CostConfig;
use crate::world::World;

/// Virtual microseconds that `job` keeps a node's validation busy.
pub fn job_cost(cfg: &CostConfig, world: &World, job: &Job) -> u64 {
    let us = match job {
        Job::Headers { headers, .. } => cfg.us_per_header * headers.len() as f64,
        Job::Transaction { tx, .. } => cfg.us_per_tx + cfg.us_per_input * tx.input.len() as f64,
        Job::Block { block, .. } => match world.block_id(&block.block_hash()) {
            Some(id) => {
                let b = world.block(id);
                cfg.us_per_tx * b.block.txdata.len() as f64
                    + cfg.us_per_block_input.unwrap_or(cfg.us_per_input) * f64::from(b.inputs)
                    + cfg.us_per_block_byte * b.wire.len() as f64
            }
            // A block nobody mined is refused at once.
            None => 0.0,
        },
    };
    // Costs are checked finite and non-negative; `as` saturates anything else.
    us.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use weft::p2p::PeerId;

    #[test]
    fn charges_per_unit() {
        let cfg = CostConfig {
            us_per_input: 50.0,
            us_per_tx: 10.0,
            us_per_block_byte: 0.0,
            us_per_header: 5.0,
            us_per_block_input: None,
        };
        let world = crate::world::SharedWorld::new(1_700_000_000);
        let w = world.read();
        let tx = crate::workload::synthetic_tx(1, 3, 2);
        let job = Job::Transaction {
            peer: PeerId(0),
            wtxid: tx.compute_wtxid(),
            tx: Arc::new(tx),
        };
        assert_eq!(job_cost(&cfg, &w, &job), 160);
        let headers = vec![w.block(World::GENESIS).header; 4];
        assert_eq!(
            job_cost(
                &cfg,
                &w,
                &Job::Headers {
                    peer: PeerId(0),
                    headers
                }
            ),
            20
        );
    }
}
