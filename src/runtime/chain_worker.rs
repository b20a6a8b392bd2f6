//! The validation thread: runs the core's jobs on the chainstate in order, serves
//! stored blocks, imports block files, and flushes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::{Block, BlockHash};
use bytes::Bytes;
use tokio::sync::mpsc as tokio_mpsc;
use tracing::{error, info, warn};
use weft_transports::{Command, Message, TrafficClass};

use super::driver::RtEvent;
use crate::chain::import::read_block_file;
use crate::chain::jobs::{block_payload, run_job};
use crate::chain::view::SharedChain;
use crate::chain::ChainError;
use crate::metrics::ValidationStats;
use crate::p2p::chain_view::{Job, JobResult};
use crate::p2p::{Event, PeerId};
use crate::runtime::upload_target::HISTORICAL_BLOCK_AGE;
use crate::store::StoreError;

/// Flush the coins cache after this long without new work, so a crash loses little.
const IDLE_FLUSH: Duration = Duration::from_secs(10);
/// Core's `DATABASE_WRITE_INTERVAL`: flush at least this often while busy.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(3600);

/// What the validation thread starts with.
pub struct ChainSetup {
    /// The chainstate.
    pub chain: SharedChain,
    /// Block files to import first (`-loadblock`).
    pub loadblock: Vec<PathBuf>,
    /// Longest time between flushes while blocks keep coming (`-flushinterval`).
    pub flush_interval: Duration,
    /// Where the mempool is saved at shutdown, `None` with `-persistmempool=0`.
    pub mempool_file: Option<PathBuf>,
}

/// Work for the validation thread.
pub enum ChainTask {
    /// A core job.
    Job(Job),
    /// Send a stored block to a peer.
    SendBlock {
        /// To whom.
        peer: PeerId,
        /// Which block.
        hash: BlockHash,
        /// Keep witnesses.
        witness: bool,
        /// `-maxuploadtarget` is near: refuse the block if it is historical.
        limit_historical: bool,
    },
    /// Import block files (`-loadblock`).
    Import(Vec<PathBuf>),
}

/// Handle to the validation thread.
pub struct ChainWorker {
    tx: Option<mpsc::Sender<ChainTask>>,
    thread: Option<JoinHandle<()>>,
}

impl ChainWorker {
    /// Starts the thread; results go to the driver through `events`.
    pub fn spawn(setup: ChainSetup, events: tokio_mpsc::Sender<RtEvent>, stats: Arc<ValidationStats>) -> Self {
        let (tx, rx) = mpsc::channel();
        let ChainSetup {
            chain,
            loadblock,
            flush_interval,
            mempool_file,
        } = setup;
        if !loadblock.is_empty() {
            let _ = tx.send(ChainTask::Import(loadblock));
        }
        let thread = std::thread::Builder::new()
            .name("weft-validation".into())
            .spawn(move || {
                run(&chain, rx, events, flush_interval, &stats);
                if let Some(path) = mempool_file {
                    save_mempool(&chain, &path);
                }
            })
            .ok();
        if thread.is_none() {
            error!("could not start the validation thread");
        }
        ChainWorker { tx: Some(tx), thread }
    }

    /// Queues a task; tasks run in the order submitted.
    pub fn submit(&self, task: ChainTask) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(task);
        }
    }

    /// Finishes queued tasks, flushes, and joins the thread.
    pub fn stop(mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Core's `DumpMempool` at shutdown.
fn save_mempool(chain: &SharedChain, path: &std::path::Path) {
    let cs = chain.lock();
    if !cs.mempool().loaded() {
        // A mempool that was never loaded would overwrite the saved one with less.
        return;
    }
    match cs.save_mempool(path) {
        Ok(n) => info!(target: "mempool", "Dumped mempool: {n} transactions to {}", path.display()),
        Err(e) => error!("Failed to dump mempool: {e}"),
    }
}

fn run(
    chain: &SharedChain,
    rx: mpsc::Receiver<ChainTask>,
    events: tokio_mpsc::Sender<RtEvent>,
    interval: Duration,
    stats: &ValidationStats,
) {
    let mut dirty = false;
    let mut last_flush = Instant::now();
    loop {
        if dirty && last_flush.elapsed() >= interval {
            flush(chain);
            dirty = false;
            last_flush = Instant::now();
        }
        let task = match rx.recv_timeout(IDLE_FLUSH) {
            Ok(t) => t,
            Err(RecvTimeoutError::Timeout) => {
                if dirty {
                    flush(chain);
                    dirty = false;
                    last_flush = Instant::now();
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let outcome = match task {
            ChainTask::Job(job) => {
                let started = Instant::now();
                let kind = ValidationStats::kind_of(&job);
                let result = execute(chain, job);
                stats.record(kind, started.elapsed());
                result.map(|r| Some(RtEvent::Core(Event::JobDone(r))))
            }
            ChainTask::SendBlock {
                peer,
                hash,
                witness,
                limit_historical,
            } => {
                if limit_historical && is_historical(chain, &hash) {
                    Ok(Some(RtEvent::UploadLimited { peer }))
                } else {
                    block_message(chain, &hash, witness).map(|m| m.map(|msg| RtEvent::Send { peer, msg }))
                }
            }
            ChainTask::Import(paths) => import(chain, &paths, interval).map(|()| None),
        };
        dirty = true;
        match outcome {
            Ok(Some(ev)) => {
                if events.blocking_send(ev).is_err() {
                    break;
                }
            }
            Ok(None) => {}
            Err(e) => {
                error!("Fatal: chain state store failed: {e}");
                let _ = events.blocking_send(RtEvent::Fatal(e.to_string()));
                return;
            }
        }
    }
    flush(chain);
}

fn flush(chain: &SharedChain) {
    if let Err(e) = chain.lock().flush() {
        error!("Fatal: flushing the chain state failed: {e}");
    }
}

fn execute(chain: &SharedChain, job: Job) -> Result<JobResult, StoreError> {
    run_job(&mut chain.lock(), job, now_secs())
}

/// Core's test: the block is more than a week older than the best header.
fn is_historical(chain: &SharedChain, hash: &BlockHash) -> bool {
    use crate::p2p::chain_view::ChainView;
    let Some(info) = chain.block_info(hash) else {
        return false;
    };
    let best = chain.best_header();
    u64::from(best.time).saturating_sub(u64::from(info.at.time)) > HISTORICAL_BLOCK_AGE.as_secs()
}

fn block_message(chain: &SharedChain, hash: &BlockHash, witness: bool) -> Result<Option<Message>, StoreError> {
    let Some(payload) = block_payload(&chain.lock(), hash, witness)? else {
        return Ok(None);
    };
    let command = Command::new("block").map_err(|e| StoreError::Db(e.to_string()))?;
    Ok(Some(Message::new(command, Bytes::from(payload), TrafficClass::Block)))
}

/// Core's `LoadExternalBlockFile`: blocks whose parent is not known yet wait for it.
fn import(chain: &SharedChain, paths: &[PathBuf], interval: Duration) -> Result<(), StoreError> {
    let mut last_flush = Instant::now();
    for path in paths {
        let start = Instant::now();
        let magic = chain.lock().params().chain.magic();
        let (blocks, skipped) = match read_block_file(path, magic) {
            Ok(r) => r,
            Err(e) => {
                warn!("Failed to open {} for import: {e}", path.display());
                continue;
            }
        };
        let mut waiting: HashMap<BlockHash, Vec<Arc<Block>>> = HashMap::new();
        let mut loaded = 0usize;
        for block in blocks {
            let mut queue = vec![Arc::new(block)];
            while let Some(b) = queue.pop() {
                let mut cs = chain.lock();
                if cs.index().lookup(&b.header.prev_blockhash).is_none() {
                    waiting.entry(b.header.prev_blockhash).or_default().push(b);
                    continue;
                }
                let hash = b.block_hash();
                match cs.accept_block(b, true, now_secs()) {
                    Ok(_) => loaded += 1,
                    Err(ChainError::Invalid(e)) => warn!(target: "validation", "imported block {hash} refused: {e}"),
                    Err(ChainError::Store(e)) => return Err(e),
                }
                cs.activate_best_chain()?;
                if last_flush.elapsed() >= interval {
                    cs.flush()?;
                    last_flush = Instant::now();
                }
                queue.extend(waiting.remove(&hash).unwrap_or_default());
            }
        }
        info!(
            "Loaded {loaded} blocks from external file in {}ms",
            start.elapsed().as_millis()
        );
        if skipped > 0 {
            warn!("{skipped} records in {} could not be read", path.display());
        }
    }
    Ok(())
}
