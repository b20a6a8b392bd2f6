//! Transaction selection as Core's `BlockAssembler::addPackageTxs`: packages (a transaction
//! with its not-yet-selected ancestors) are taken best ancestor fee rate first, and once a
//! package is in, the packages of its descendants are re-scored without it.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use bitcoin::hashes::Hash;
use bitcoin::{Transaction, Txid, Wtxid};

use crate::chain::block_check::{is_final_tx, MAX_BLOCK_SIGOPS_COST, MAX_BLOCK_WEIGHT, WITNESS_SCALE_FACTOR};
use crate::chain::policy::FeeRate;

/// One mempool transaction as block assembly sees it: a snapshot, so selection never
/// touches the mempool's own structures.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Its modified fee (fee plus any `prioritisetransaction` delta), in satoshis.
    pub fee: i64,
    /// Its virtual size, sigop-adjusted as the mempool counts it.
    pub vsize: u64,
    /// Its weight.
    pub weight: u64,
    /// Its sigop cost.
    pub sigop_cost: u64,
    /// Txids of its parents that are in the same snapshot (confirmed parents left out).
    pub parents: Vec<Txid>,
}

/// Core's `DEFAULT_BLOCK_RESERVED_WEIGHT`: room kept for the header, tx count and coinbase.
pub const DEFAULT_BLOCK_RESERVED_WEIGHT: u64 = 8_000;
/// Core's `MINIMUM_BLOCK_RESERVED_WEIGHT`.
pub const MINIMUM_BLOCK_RESERVED_WEIGHT: u64 = 2_000;
/// Core's default `coinbase_output_max_additional_sigops`.
pub const DEFAULT_COINBASE_SIGOPS: u64 = 400;
/// Core's `DEFAULT_BLOCK_MIN_TX_FEE`, in sat/kvB.
pub const DEFAULT_BLOCK_MIN_TX_FEE: FeeRate = FeeRate(1_000);
/// Core's `MAX_CONSECUTIVE_FAILURES`: give up after this many misses once nearly full.
const MAX_CONSECUTIVE_FAILURES: u64 = 1_000;
/// Core's `BLOCK_FULL_ENOUGH_WEIGHT_DELTA`: "nearly full" is this close to the limit.
const BLOCK_FULL_ENOUGH_WEIGHT_DELTA: u64 = 4_000;

/// Limits of an assembled block (`-blockmaxweight`, `-blockreservedweight`, `-blockmintxfee`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssemblerOptions {
    /// Largest block weight to build (`-blockmaxweight`).
    pub max_weight: u64,
    /// Weight kept for the header, tx count and coinbase (`-blockreservedweight`).
    pub reserved_weight: u64,
    /// Sigop cost kept for the coinbase's outputs.
    pub coinbase_sigops: u64,
    /// Packages paying less than this are left out (`-blockmintxfee`).
    pub min_fee_rate: FeeRate,
}

impl Default for AssemblerOptions {
    fn default() -> Self {
        AssemblerOptions {
            max_weight: MAX_BLOCK_WEIGHT,
            reserved_weight: DEFAULT_BLOCK_RESERVED_WEIGHT,
            coinbase_sigops: DEFAULT_COINBASE_SIGOPS,
            min_fee_rate: DEFAULT_BLOCK_MIN_TX_FEE,
        }
    }
}

impl AssemblerOptions {
    /// Core's `ClampOptions`: the maximum weight kept between the reserved weight and the
    /// consensus limit, the reservations within the consensus limits.
    pub fn clamped(self) -> Self {
        let reserved = self
            .reserved_weight
            .clamp(MINIMUM_BLOCK_RESERVED_WEIGHT, MAX_BLOCK_WEIGHT);
        AssemblerOptions {
            max_weight: self.max_weight.clamp(reserved, MAX_BLOCK_WEIGHT),
            reserved_weight: reserved,
            coinbase_sigops: self.coinbase_sigops.min(MAX_BLOCK_SIGOPS_COST),
            min_fee_rate: self.min_fee_rate,
        }
    }
}

/// What selection chose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Indices into the candidate slice, in block order (parents before children).
    pub order: Vec<usize>,
    /// Sum of the chosen candidates' fees.
    pub fees: i64,
    /// Block weight including the reserved weight (Core's `nBlockWeight`).
    pub weight: u64,
    /// Sigop cost including the coinbase reservation (Core's `nBlockSigOpsCost`).
    pub sigop_cost: u64,
    /// Packages taken.
    pub packages: usize,
}

/// A package's score: the lower of its own and its ancestor fee rate, as
/// `CompareTxMemPoolEntryByAncestorFee` ranks it; ties go to the smaller txid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Score {
    fee: i64,
    size: u64,
    txid: [u8; 32],
}

impl Score {
    fn new(own_fee: i64, own_size: u64, anc_fee: i64, anc_size: u64, txid: [u8; 32]) -> Score {
        // Cross-multiplied in i128: exact where Core's doubles round.
        let own_fee_anc_size = i128::from(own_fee) * i128::from(anc_size);
        let anc_fee_own_size = i128::from(anc_fee) * i128::from(own_size);
        let (fee, size) = if own_fee_anc_size > anc_fee_own_size {
            (anc_fee, anc_size)
        } else {
            (own_fee, own_size)
        };
        Score {
            fee,
            size: size.max(1),
            txid,
        }
    }
}

impl Ord for Score {
    /// `Less` means better: higher fee rate first.
    fn cmp(&self, other: &Self) -> Ordering {
        let a = i128::from(self.fee) * i128::from(other.size);
        let b = i128::from(other.fee) * i128::from(self.size);
        b.cmp(&a).then_with(|| self.txid.cmp(&other.txid))
    }
}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A package total: its size (vbytes), fee and sigop cost.
#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    size: u64,
    fee: i64,
    sigops: u64,
}

/// The candidate graph, resolved to indices.
struct Graph<'a> {
    cands: &'a [Candidate],
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    /// Totals with all in-snapshot ancestors, as the mempool caches them.
    with_ancestors: Vec<Totals>,
    /// Ancestor count including the transaction itself.
    ancestor_count: Vec<usize>,
    /// Walk marks: an entry equal to `stamp` was seen in the current walk.
    seen: Vec<u32>,
    stamp: u32,
}

impl<'a> Graph<'a> {
    fn new(cands: &'a [Candidate]) -> Self {
        let n = cands.len();
        let mut by_txid: HashMap<Txid, usize> = HashMap::with_capacity(n);
        for (i, c) in cands.iter().enumerate() {
            by_txid.entry(c.txid).or_insert(i);
        }
        let mut parents = vec![Vec::new(); n];
        let mut children = vec![Vec::new(); n];
        for (i, c) in cands.iter().enumerate() {
            for p in &c.parents {
                if let Some(&pi) = by_txid.get(p) {
                    if pi != i && !parents[i].contains(&pi) {
                        parents[i].push(pi);
                        children[pi].push(i);
                    }
                }
            }
        }
        let mut g = Graph {
            cands,
            parents,
            children,
            with_ancestors: Vec::with_capacity(n),
            ancestor_count: Vec::with_capacity(n),
            seen: vec![0; n],
            stamp: 0,
        };
        let mut anc = Vec::new();
        for i in 0..n {
            g.ancestors(i, &mut anc);
            let c = &cands[i];
            let mut t = Totals {
                size: c.vsize,
                fee: c.fee,
                sigops: c.sigop_cost,
            };
            for &a in &anc {
                let ca = &cands[a];
                t.size = t.size.saturating_add(ca.vsize);
                t.fee = t.fee.saturating_add(ca.fee);
                t.sigops = t.sigops.saturating_add(ca.sigop_cost);
            }
            g.with_ancestors.push(t);
            g.ancestor_count.push(anc.len() + 1);
        }
        g
    }

    fn next_stamp(&mut self) -> u32 {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.stamp = 1;
        }
        self.stamp
    }

    /// Every in-snapshot ancestor of `i` (not `i` itself) into `out`.
    fn ancestors(&mut self, i: usize, out: &mut Vec<usize>) {
        self.walk(i, out, true);
    }

    /// Every in-snapshot descendant of `i` (not `i` itself) into `out`.
    fn descendants(&mut self, i: usize, out: &mut Vec<usize>) {
        self.walk(i, out, false);
    }

    fn walk(&mut self, i: usize, out: &mut Vec<usize>, up: bool) {
        out.clear();
        let stamp = self.next_stamp();
        self.seen[i] = stamp;
        let mut stack = vec![i];
        while let Some(cur) = stack.pop() {
            let next = if up { &self.parents[cur] } else { &self.children[cur] };
            for &n in next {
                if self.seen[n] != stamp {
                    self.seen[n] = stamp;
                    out.push(n);
                    stack.push(n);
                }
            }
        }
    }

    fn score(&self, i: usize, with_ancestors: Totals) -> Score {
        let c = &self.cands[i];
        Score::new(
            c.fee,
            c.vsize,
            with_ancestors.fee,
            with_ancestors.size,
            c.txid.to_byte_array(),
        )
    }
}

/// Packages whose ancestors are partly in the block, re-scored (Core's `mapModifiedTx`).
struct Modified {
    totals: Vec<Option<Totals>>,
    by_score: BTreeSet<(Score, usize)>,
}

impl Modified {
    fn remove(&mut self, g: &Graph<'_>, i: usize) {
        if let Some(t) = self.totals[i].take() {
            self.by_score.remove(&(g.score(i, t), i));
        }
    }

    /// Takes `added` out of the package totals of `i`.
    fn subtract(&mut self, g: &Graph<'_>, i: usize, added: &Candidate) {
        let t = match self.totals[i].take() {
            Some(t) => {
                self.by_score.remove(&(g.score(i, t), i));
                t
            }
            None => g.with_ancestors[i],
        };
        let t = Totals {
            size: t.size.saturating_sub(added.vsize),
            fee: t.fee.saturating_sub(added.fee),
            sigops: t.sigops.saturating_sub(added.sigop_cost),
        };
        self.totals[i] = Some(t);
        self.by_score.insert((g.score(i, t), i));
    }

    fn best(&self) -> Option<(Score, usize)> {
        self.by_score.first().copied()
    }
}

/// Chooses transactions for a block at `height` whose parent's median time past is
/// `lock_time_cutoff`, as Core's `addPackageTxs`.
pub fn select(cands: &[Candidate], height: u32, lock_time_cutoff: u32, opts: &AssemblerOptions) -> Selection {
    let opts = opts.clamped();
    let mut g = Graph::new(cands);
    let n = cands.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_cached_key(|&i| g.score(i, g.with_ancestors[i]));

    let mut sel = Selection {
        weight: opts.reserved_weight,
        sigop_cost: opts.coinbase_sigops,
        ..Selection::default()
    };
    let mut in_block = vec![false; n];
    let mut failed = vec![false; n];
    let mut modified = Modified {
        totals: vec![None; n],
        by_score: BTreeSet::new(),
    };
    let mut consecutive_failed = 0u64;
    let mut mi = 0usize;
    let mut package = Vec::new();
    let mut descendants = Vec::new();

    while mi < n || !modified.by_score.is_empty() {
        if let Some(&i) = order.get(mi) {
            // Stale: its package is re-scored in `modified`, or it was handled already.
            if modified.totals[i].is_some() || in_block[i] || failed[i] {
                mi += 1;
                continue;
            }
        }
        let best_modified = modified.best();
        let (iter, using_modified) = match (order.get(mi), best_modified) {
            (None, Some((_, m))) => (m, true),
            (Some(&i), Some((mscore, m))) if mscore < g.score(i, g.with_ancestors[i]) => (m, true),
            (Some(&i), _) => {
                mi += 1;
                (i, false)
            }
            (None, None) => break,
        };
        let pkg = if using_modified {
            modified.totals[iter].unwrap_or(g.with_ancestors[iter])
        } else {
            g.with_ancestors[iter]
        };

        if pkg.fee < opts.min_fee_rate.fee(pkg.size) {
            // Everything after this pays a lower rate.
            break;
        }

        let fits = sel.weight.saturating_add(WITNESS_SCALE_FACTOR.saturating_mul(pkg.size)) < opts.max_weight
            && sel.sigop_cost.saturating_add(pkg.sigops) < MAX_BLOCK_SIGOPS_COST;
        if !fits {
            if using_modified {
                modified.remove(&g, iter);
                failed[iter] = true;
            }
            consecutive_failed += 1;
            if consecutive_failed > MAX_CONSECUTIVE_FAILURES
                && sel.weight > opts.max_weight.saturating_sub(BLOCK_FULL_ENOUGH_WEIGHT_DELTA)
            {
                break;
            }
            continue;
        }

        g.ancestors(iter, &mut package);
        package.retain(|&a| !in_block[a]);
        package.push(iter);
        let all_final = package
            .iter()
            .all(|&a| is_final_tx(&cands[a].tx, height, lock_time_cutoff));
        if !all_final {
            if using_modified {
                modified.remove(&g, iter);
                failed[iter] = true;
            }
            continue;
        }
        consecutive_failed = 0;

        // Fewer ancestors first is a valid order for a block (Core's `SortForBlock`).
        package.sort_by(|&a, &b| {
            g.ancestor_count[a]
                .cmp(&g.ancestor_count[b])
                .then_with(|| cands[a].txid.to_byte_array().cmp(&cands[b].txid.to_byte_array()))
        });
        for &a in &package {
            let c = &cands[a];
            sel.order.push(a);
            sel.weight = sel.weight.saturating_add(c.weight);
            sel.sigop_cost = sel.sigop_cost.saturating_add(c.sigop_cost);
            sel.fees = sel.fees.saturating_add(c.fee);
            in_block[a] = true;
            modified.remove(&g, a);
        }
        sel.packages += 1;

        // Re-score every descendant of the package without the package (Core's
        // `UpdatePackagesForAdded`).
        for &a in &package {
            g.descendants(a, &mut descendants);
            for &d in &descendants {
                if !in_block[d] {
                    modified.subtract(&g, d, &cands[a]);
                }
            }
        }
    }
    sel
}

#[cfg(test)]
#[path = "assembler_tests.rs"]
mod tests;
