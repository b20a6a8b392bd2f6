//! The driver's real-validation path (`crate::real`): jobs run through
//! `weft::chain::jobs::run_job` on each node's real chainstate, the workload funds real
//! transactions from its wallet, and miners assemble blocks from their real mempools.
//! The node's modelled state is kept as a mirror of the real one, in world ids, so the
//! metrics and observers read both modes alike.

use std::sync::Arc;

use bitcoin::hashes::Hash;
use bitcoin::{Block, BlockHash};
use weft::chain::jobs::run_job;
use weft::chain::mempool::AcceptArgs;
use weft::chain::mining::{create_block, mine, AssemblerOptions, NextBlock, DEFAULT_MAX_TRIES};
use weft::chain::view::SharedChain;
use weft::p2p::chain_view::{Job, JobResult, TxOutcome};
use weft::p2p::{Event, Time};
use weft_transports::{Command, Message, TrafficClass};

use super::node::Ctx;
use super::part::{locate, Deferred};
use super::Sim;
use crate::metrics::TraceKind;
use crate::real::wallet::wallet_script;
use crate::real::RealLog;
use crate::world::{BlockId, World};

/// A job whose transaction or block the world holds carries the world's copy instead, so
/// every node's mempool and block cache share one body. A block is swapped only when it
/// is the same block, not merely the same header (a mutated body keeps its own copy).
fn intern(job: Job, world: &World) -> Job {
    match job {
        Job::Transaction { peer, tx, wtxid } => match world.tx_by_wtxid(&wtxid) {
            Some(id) => Job::Transaction {
                peer,
                tx: world.tx(id).tx.clone(),
                wtxid,
            },
            None => Job::Transaction { peer, tx, wtxid },
        },
        Job::Block { peer, block, requested } => {
            let shared = world
                .block_id(&block.block_hash())
                .map(|id| &world.block(id).block)
                .filter(|b| ***b == *block);
            Job::Block {
                peer,
                block: shared.cloned().unwrap_or(block),
                requested,
            }
        }
        other => other,
    }
}

impl Sim {
    /// Node `i`'s real chainstate, in a real-validation run.
    pub fn real_chain(&self, i: u32) -> Option<&SharedChain> {
        self.sh.real.as_ref()?.chains.get(i as usize)
    }

    /// What the real validators refused, in a real-validation run.
    pub fn real_log(&self) -> Option<&RealLog> {
        self.sh.real.as_ref().map(|r| &r.log)
    }

    /// The virtual time of the event last run.
    pub fn now(&self) -> Time {
        self.clock
    }

    /// Test hook: node `from` sends `block` to node `to` over an open link between them,
    /// as a misbehaving peer would, now. The link used, if there is one.
    pub fn inject_block(&mut self, from: u32, to: u32, block: &Block) -> Option<u64> {
        let link = (0..self.sh.links.len() as u64).find(|&id| {
            let l = &self.sh.links[id as usize];
            l.open && ((l.a, l.b) == (from, to) || (l.a, l.b) == (to, from))
        })?;
        let command = Command::new("block").ok()?;
        let payload = bitcoin::consensus::serialize(block);
        let now = self.clock;
        let msg = Message::new(command, payload.into(), TrafficClass::Block);
        self.ctx(from).send(from, link, msg, now);
        self.close_window(now);
        Some(link)
    }
}

impl Ctx<'_> {
    fn real_chain(&self, i: u32) -> Option<&SharedChain> {
        self.sh.real.as_ref()?.chains.get(i as usize)
    }

    /// Runs a job on node `node`'s real chainstate, then tells its core.
    pub(super) fn real_job_done(&mut self, now: Time, node: u32, job: Job) -> u32 {
        let Some(chain) = self.real_chain(node).cloned() else {
            return node;
        };
        match &job {
            Job::Headers { headers, .. } => {
                let last = headers
                    .last()
                    .map(|h| h.block_hash().to_byte_array())
                    .unwrap_or_default();
                self.trace(now, node, TraceKind::JobDone, &[b"headers", &last]);
            }
            Job::Block { block, .. } => {
                let hash = block.block_hash().to_byte_array();
                self.trace(now, node, TraceKind::JobDone, &[b"block", &hash]);
            }
            Job::Transaction { wtxid, .. } => {
                let wtxid = wtxid.to_byte_array();
                self.trace(now, node, TraceKind::JobDone, &[b"tx", &wtxid]);
            }
        }
        let job = intern(job, &self.sh.world.read());
        let result = run_job(&mut chain.lock(), job, now.as_secs());
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                // The core keeps waiting for this job; the run goes on without the node's validation.
                self.defer(node, now, Deferred::StoreError(e.to_string()));
                return node;
            }
        };
        match &result {
            JobResult::Block {
                hash, error, invalid, ..
            } => {
                let refused = error
                    .iter()
                    .map(|e| (*hash, e))
                    .chain(invalid.iter().map(|(h, e)| (*h, e)));
                for (h, e) in refused {
                    self.defer(node, now, Deferred::RefusedBlock(h, e.reason.clone()));
                }
                self.mirror(now, node, Some(hash));
            }
            JobResult::Transaction {
                tx,
                outcome: TxOutcome::Accepted { .. },
                ..
            } => {
                let id = self.sh.world.read().tx_by_wtxid(&tx.compute_wtxid());
                if let Some(id) = id {
                    self.defer(node, now, Deferred::TxReached(id));
                    let time = u32::try_from(now.as_secs()).unwrap_or(u32::MAX);
                    self.slot(node).state().mirror_tx(id, time);
                }
            }
            _ => {}
        }
        self.slot(node).core.handle(now, Event::JobDone(result));
        node
    }

    /// Copies node `node`'s real active chain and mempool into its modelled state; if
    /// `block` is newly stored there, it has reached the node.
    pub(super) fn mirror(&mut self, now: Time, node: u32, block: Option<&BlockHash>) {
        let Some(chain) = self.real_chain(node).cloned() else {
            return;
        };
        let sh = self.sh;
        let w = sh.world.read();
        let cs = chain.lock();
        let index = cs.index();
        let root = w.block(World::GENESIS).hash;
        let mut active = Vec::new();
        let mut cur = Some(cs.tip());
        while let Some(id) = cur {
            let e = index.get(id);
            // Blocks the world does not know (below its root) are common to every node.
            let Some(wid) = w.block_id(&e.hash) else { break };
            active.push(wid);
            if e.hash == root {
                break;
            }
            cur = e.prev;
        }
        active.reverse();
        let st = self.part.slots[locate(node, sh.parts).1].state();
        let stored: Option<BlockId> = block.and_then(|h| {
            let wid = w.block_id(h)?;
            let have = index.lookup(h).is_some_and(|id| index.get(id).status.have_data());
            (have && !st.has_block(wid)).then_some(wid)
        });
        let mempool = cs
            .mempool()
            .entries()
            .filter_map(|e| Some((w.tx_by_txid(&e.txid)?, u32::try_from(e.time).unwrap_or(u32::MAX))));
        st.mirror(active, stored.as_slice(), mempool);
        drop(cs);
        drop(w);
        if let Some(id) = stored {
            self.defer(node, now, Deferred::BlockReached(id));
        }
    }
}

impl Sim {
    /// A workload transaction funded from the wallet appears at a random node, as
    /// `sendrawtransaction` would put it there: into the real mempool, then announced.
    pub(super) fn real_new_tx(&mut self, now: Time) -> Option<u32> {
        let draw = self.workload.draw_tx(self.sh.scenario.nodes);
        if !self.sh.dynamics.online(draw.node) {
            return None;
        }
        let chain = self.real_chain(draw.node)?.clone();
        let real = self.shm().real.as_mut()?;
        let Some(funded) = real
            .wallet
            .fund(&mut chain.lock(), draw.inputs, draw.outputs, draw.fee_rate)
        else {
            real.log.unfunded_txs += 1;
            return None;
        };
        let id = self.sh.world.write().add_tx(funded.tx.clone(), funded.fee, now)?;
        let (tx, txid, wtxid) = {
            let w = self.sh.world.read();
            let e = w.tx(id);
            (e.tx.clone(), e.txid, e.wtxid)
        };
        self.metrics.tx_created(id, now);
        self.ctx(draw.node)
            .trace(now, draw.node, TraceKind::NewTx, &[&wtxid.to_byte_array()]);
        let args = AcceptArgs {
            now: now.as_secs(),
            bypass_limits: false,
            test_accept: false,
        };
        let real = self.shm().real.as_mut()?;
        if chain.lock().accept_to_mempool(tx, args).is_err() {
            // Refused by its own node (e.g. under the relay fee): it stays where it was made.
            real.log.refused_at_origin += 1;
            return None;
        }
        real.wallet.commit(&funded, txid);
        self.metrics.tx_reached(id, now);
        let time = u32::try_from(now.as_secs()).unwrap_or(u32::MAX);
        self.shm().observer.originated(id, draw.node);
        let slot = self.slot_mut(draw.node);
        slot.state().mirror_tx(id, time);
        slot.seen.originated(id);
        slot.core.relay_transaction(now, txid, wtxid);
        Some(draw.node)
    }

    /// `miner` assembles a block from its real mempool (Core's `CreateNewBlock`), grinds
    /// it at regtest difficulty, and connects it; the core is told as after `generate`.
    pub(super) fn real_block(&mut self, now: Time, miner: u32) -> Option<u32> {
        let chain = self.real_chain(miner)?.clone();
        let mined = {
            let mut cs = chain.lock();
            let candidates = cs.mempool().block_candidates();
            let next = NextBlock::on_tip(&cs, now.as_secs());
            let script = wallet_script();
            let mut tmpl = create_block(cs.params(), &next, &candidates, &script, &AssemblerOptions::default());
            let mut tries = DEFAULT_MAX_TRIES;
            let ground = mine(&mut tmpl.block, next.height, cs.params().pow_limit, &mut tries);
            let block = Arc::new(tmpl.block);
            let accepted = ground.is_ok() && cs.accept_block(block.clone(), true, now.as_secs()).is_ok();
            let connected = accepted && cs.activate_best_chain().is_ok_and(|bad| bad.is_empty());
            connected.then_some((block, next.prev_hash))
        };
        let Some((block, prev_hash)) = mined else {
            if let Some(r) = self.shm().real.as_mut() {
                r.log
                    .store_errors
                    .push(format!("node {miner}: its own block template failed"));
            }
            return None;
        };
        let hash = block.block_hash();
        let id = {
            let mut w = self.sh.world.write();
            let prev = w.block_id(&prev_hash)?;
            let txs = block
                .txdata
                .iter()
                .skip(1)
                .filter_map(|t| w.tx_by_txid(&t.compute_txid()))
                .collect();
            w.insert_block(Some(prev), block, txs)
        };
        self.metrics.block_created(id, now);
        let mut ctx = self.ctx(miner);
        ctx.trace(now, miner, TraceKind::Mined, &[&hash.to_byte_array()]);
        ctx.mirror(now, miner, Some(&hash));
        self.slot_mut(miner).core.chain_updated(now);
        Some(miner)
    }
}
