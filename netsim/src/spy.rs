//! The adversary: spy nodes that run ordinary real cores and relay like everyone
//! else, but whose received traffic is logged. The first-spy estimator then guesses
//! each transaction's origin as the honest peer a spy first heard it from.

use std::collections::HashMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use weft::p2p::Time;

/// Where spies sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Uniformly random nodes.
    Random,
    /// The nodes with the most edges in the topology.
    HighestDegree,
}

/// The adversary of a scenario.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdversaryConfig {
    /// Share of nodes that are spies (0: none).
    pub spy_fraction: f64,
    /// How spies are chosen.
    pub placement: Placement,
    /// Spies also dial every reachable honest node (within its inbound cap).
    pub connect_to_all: bool,
}

impl Default for AdversaryConfig {
    fn default() -> Self {
        AdversaryConfig {
            spy_fraction: 0.0,
            placement: Placement::Random,
            connect_to_all: false,
        }
    }
}

impl AdversaryConfig {
    /// Why the parameters make no sense, if they do not.
    pub fn check(&self) -> Result<(), String> {
        if !(self.spy_fraction.is_finite() && (0.0..1.0).contains(&self.spy_fraction)) {
            return Err("adversary: spy_fraction must be in [0, 1)".into());
        }
        Ok(())
    }

    /// Which of `nodes` nodes are spies, given the topology's `edges`; drawn from `seed`.
    pub fn choose(&self, nodes: u32, edges: &[(u32, u32)], seed: u64) -> Vec<bool> {
        let count = (f64::from(nodes) * self.spy_fraction).round() as usize;
        let mut spies = vec![false; nodes as usize];
        if count == 0 {
            return spies;
        }
        let mut order: Vec<u32> = (0..nodes).collect();
        let mut h = Sha256::new();
        h.update(b"weft-netsim spies");
        h.update(seed.to_le_bytes());
        order.shuffle(&mut ChaCha20Rng::from_seed(h.finalize().into()));
        if self.placement == Placement::HighestDegree {
            let mut degree = vec![0u32; nodes as usize];
            for &(a, b) in edges {
                degree[a as usize] += 1;
                degree[b as usize] += 1;
            }
            // Stable: equal degrees keep their shuffled order, so ties fall at random.
            order.sort_by_key(|&n| std::cmp::Reverse(degree[n as usize]));
        }
        for &n in order.iter().take(count) {
            spies[n as usize] = true;
        }
        spies
    }
}

/// What the spies saw: per transaction, the first honest peer any spy heard it from.
#[derive(Debug, Default)]
pub struct SpyLog {
    is_spy: Vec<bool>,
    first: HashMap<u32, (u32, Time)>,
}

/// How well the first-spy estimator did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpyReport {
    /// Spy nodes.
    pub spies: usize,
    /// Transactions made and announced by honest nodes.
    pub honest_txs: usize,
    /// Of those, how many a spy heard from an honest peer (a guess was made).
    pub guesses: usize,
    /// Guesses that named the true origin.
    pub correct: usize,
    /// `correct / guesses`.
    pub precision: Option<f64>,
    /// `correct / honest_txs`.
    pub recall: Option<f64>,
}

impl SpyLog {
    /// A log for these spies.
    pub fn new(is_spy: Vec<bool>) -> Self {
        SpyLog {
            is_spy,
            first: HashMap::new(),
        }
    }

    /// Whether node `i` is a spy.
    pub fn is_spy(&self, i: u32) -> bool {
        self.is_spy.get(i as usize).copied().unwrap_or(false)
    }

    /// How many spies there are.
    pub fn spy_count(&self) -> usize {
        self.is_spy.iter().filter(|&&s| s).count()
    }

    /// Node `to` heard of transaction `tx` from `from` at `at`; kept if `to` is a spy,
    /// `from` is honest and no spy heard of `tx` before.
    pub fn heard(&mut self, to: u32, from: u32, tx: u32, at: Time) {
        if self.is_spy(to) && !self.is_spy(from) {
            self.first.entry(tx).or_insert((from, at));
        }
    }

    /// The first honest peer a spy heard `tx` from, and when.
    pub fn first(&self, tx: u32) -> Option<(u32, Time)> {
        self.first.get(&tx).copied()
    }

    /// Scores the first-spy estimator against `origins`: (transaction, true origin) for
    /// every transaction an honest node made and announced.
    pub fn score(&self, origins: impl IntoIterator<Item = (u32, u32)>) -> SpyReport {
        let (mut honest_txs, mut guesses, mut correct) = (0, 0, 0);
        for (tx, origin) in origins {
            if self.is_spy(origin) {
                continue;
            }
            honest_txs += 1;
            if let Some((guess, _)) = self.first(tx) {
                guesses += 1;
                correct += usize::from(guess == origin);
            }
        }
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        SpyReport {
            spies: self.spy_count(),
            honest_txs,
            guesses,
            correct,
            precision: ratio(correct, guesses),
            recall: ratio(correct, honest_txs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_spy_estimator_on_a_hand_built_case() {
        // Nodes 0..4 honest, 4 and 5 spies.
        let mut log = SpyLog::new(vec![false, false, false, false, true, true]);
        // tx 0 from node 0: spy 4 hears it first from 0 (right), later from 1.
        log.heard(4, 0, 0, Time(10));
        log.heard(5, 1, 0, Time(20));
        // tx 1 from node 1: the first spy report names node 2 (wrong).
        log.heard(5, 2, 1, Time(5));
        log.heard(4, 1, 1, Time(6));
        // tx 2 from node 3: spies hear it only from each other, so no guess.
        log.heard(4, 5, 2, Time(1));
        // Honest nodes hearing things are not observations.
        log.heard(3, 0, 3, Time(1));
        // tx 4 was made by a spy: not scored.
        log.heard(4, 2, 4, Time(1));
        assert_eq!(log.first(0), Some((0, Time(10))));
        assert_eq!(log.first(2), None);
        let r = log.score([(0, 0), (1, 1), (2, 3), (3, 2), (4, 5)]);
        assert_eq!((r.spies, r.honest_txs, r.guesses, r.correct), (2, 4, 2, 1));
        assert_eq!(r.precision, Some(0.5));
        assert_eq!(r.recall, Some(0.25));
    }

    #[test]
    fn placement_by_degree_takes_the_hubs() {
        let edges: Vec<(u32, u32)> = (1..10).map(|i| (0, i)).chain([(1, 2), (1, 3)]).collect();
        let cfg = AdversaryConfig {
            spy_fraction: 0.2,
            placement: Placement::HighestDegree,
            connect_to_all: false,
        };
        let spies = cfg.choose(10, &edges, 1);
        assert!(spies[0] && spies[1]);
        assert_eq!(spies.iter().filter(|&&s| s).count(), 2);
        let random = AdversaryConfig {
            placement: Placement::Random,
            ..cfg.clone()
        };
        assert_eq!(random.choose(10, &edges, 1).iter().filter(|&&s| s).count(), 2);
        assert_eq!(random.choose(10, &edges, 1), random.choose(10, &edges, 1));
        assert!(AdversaryConfig {
            spy_fraction: 1.0,
            ..cfg
        }
        .check()
        .is_err());
    }
}
