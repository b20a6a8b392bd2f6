//! Scripted network events and churn: partitions and heals, nodes leaving and
//! joining. The driver applies them to links and nodes; the real cores only ever see
//! what a transport would tell them (`Disconnected`, `ConnectFailed`) and react with
//! their own logic (redials with backoff, new peers).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use weft::p2p::Time;

use crate::bitset::BitSet;
use crate::dist::exponential;

/// Nodes named by one event at most, so a typo cannot ask for a huge allocation.
const MAX_LISTED: usize = 1_000_000;

/// One scripted event, at a virtual time from the start.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ScriptedEvent {
    /// Splits the network: links between different groups break and cannot be made.
    /// Nodes in no group form one more group together.
    Partition {
        /// Seconds from the start.
        at_secs: f64,
        /// Two or more disjoint groups of nodes.
        groups: Vec<Vec<u32>>,
    },
    /// Ends a partition.
    Heal {
        /// Seconds from the start.
        at_secs: f64,
    },
    /// Nodes go offline: their connections close. At 0 s: they start offline.
    Leave {
        /// Seconds from the start.
        at_secs: f64,
        /// Which nodes.
        nodes: Vec<u32>,
    },
    /// Nodes come (back) online with a fresh core that dials its targets.
    Join {
        /// Seconds from the start.
        at_secs: f64,
        /// Which nodes.
        nodes: Vec<u32>,
    },
}

impl ScriptedEvent {
    /// Seconds from the start.
    pub fn at_secs(&self) -> f64 {
        match self {
            ScriptedEvent::Partition { at_secs, .. }
            | ScriptedEvent::Heal { at_secs }
            | ScriptedEvent::Leave { at_secs, .. }
            | ScriptedEvent::Join { at_secs, .. } => *at_secs,
        }
    }
}

/// Poisson churn: some nodes alternate between online sessions and offline spells,
/// both exponentially distributed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnConfig {
    /// Share of (non-spy) nodes that churn; 0 turns churn off.
    pub fraction: f64,
    /// Mean online session, seconds.
    pub mean_session_secs: f64,
    /// Mean offline spell, seconds.
    pub mean_offline_secs: f64,
}

impl Default for ChurnConfig {
    fn default() -> Self {
        ChurnConfig {
            fraction: 0.0,
            mean_session_secs: 600.0,
            mean_offline_secs: 300.0,
        }
    }
}

/// Checks scripted events and churn against a scenario of `nodes` nodes.
pub fn check(events: &[ScriptedEvent], churn: &ChurnConfig, nodes: u32, duration_secs: u64) -> Result<(), String> {
    for (i, e) in events.iter().enumerate() {
        let at = e.at_secs();
        if !(at.is_finite() && at >= 0.0 && at <= duration_secs as f64) {
            return Err(format!("events[{i}]: at_secs must be in [0, duration_secs]"));
        }
        let lists: Vec<&Vec<u32>> = match e {
            ScriptedEvent::Partition { groups, .. } => {
                if groups.len() < 2 || groups.len() > MAX_LISTED {
                    return Err(format!("events[{i}]: a partition needs two or more groups"));
                }
                groups.iter().collect()
            }
            ScriptedEvent::Heal { .. } => Vec::new(),
            ScriptedEvent::Leave { nodes: l, .. } | ScriptedEvent::Join { nodes: l, .. } => vec![l],
        };
        let mut seen = BitSet::default();
        for l in lists {
            if l.is_empty() || l.len() > MAX_LISTED {
                return Err(format!("events[{i}]: empty or oversized node list"));
            }
            for &n in l {
                if n >= nodes {
                    return Err(format!("events[{i}]: node {n} is not in the scenario's {nodes} nodes"));
                }
                if !seen.insert(n) {
                    return Err(format!("events[{i}]: node {n} is listed twice"));
                }
            }
        }
    }
    let c = churn;
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !((0.0..=1.0).contains(&c.fraction) && positive(c.mean_session_secs) && positive(c.mean_offline_secs)) {
        return Err("churn: fraction must be in [0, 1] and the means > 0".into());
    }
    Ok(())
}

/// A change the driver applies at its time.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Scripted event number `i` of the scenario.
    Script(usize),
    /// A churning node ends its session.
    ChurnLeave(u32),
    /// A churning node comes back.
    ChurnJoin(u32),
}

/// Which nodes are online, which partition group each is in, and which links the
/// driver cut (whose in-flight messages are lost).
#[derive(Debug)]
pub struct Dynamics {
    online: Vec<bool>,
    epoch: Vec<u32>,
    group: Option<Vec<u32>>,
    cut: BitSet,
    churning: Vec<bool>,
    churn: ChurnConfig,
    rng: ChaCha20Rng,
}

impl Dynamics {
    /// Everyone online, no partition; a `churn.fraction` share of the nodes not
    /// `excluded` churn, chosen and timed by draws from `seed`.
    pub fn new(nodes: u32, churn: &ChurnConfig, excluded: &[bool], seed: u64) -> Self {
        let mut h = Sha256::new();
        h.update(b"weft-netsim dynamics");
        h.update(seed.to_le_bytes());
        let mut rng = ChaCha20Rng::from_seed(h.finalize().into());
        let mut candidates: Vec<u32> = (0..nodes)
            .filter(|&i| !excluded.get(i as usize).copied().unwrap_or(false))
            .collect();
        candidates.shuffle(&mut rng);
        let count = (candidates.len() as f64 * churn.fraction).round() as usize;
        let mut churning = vec![false; nodes as usize];
        for &i in candidates.iter().take(count) {
            churning[i as usize] = true;
        }
        Dynamics {
            online: vec![true; nodes as usize],
            epoch: vec![0; nodes as usize],
            group: None,
            cut: BitSet::default(),
            churning,
            churn: churn.clone(),
            rng,
        }
    }

    /// The first change of every churning node: the end of its first session.
    pub fn initial_churn(&mut self, start: Time) -> Vec<(Time, Change)> {
        let mut out = Vec::new();
        for i in 0..self.churning.len() {
            if self.churning[i] {
                let at = start + secs(exponential(&mut self.rng, self.churn.mean_session_secs));
                out.push((at, Change::ChurnLeave(i as u32)));
            }
        }
        out
    }

    /// When a churning node that just left or joined changes next.
    pub fn next_churn(&mut self, now: Time, node: u32, joined: bool) -> (Time, Change) {
        if joined {
            let at = now + secs(exponential(&mut self.rng, self.churn.mean_session_secs));
            (at, Change::ChurnLeave(node))
        } else {
            let at = now + secs(exponential(&mut self.rng, self.churn.mean_offline_secs));
            (at, Change::ChurnJoin(node))
        }
    }

    /// Whether node `i` churns.
    pub fn churns(&self, i: u32) -> bool {
        self.churning.get(i as usize).copied().unwrap_or(false)
    }

    /// Whether node `i` is online.
    pub fn online(&self, i: u32) -> bool {
        self.online.get(i as usize).copied().unwrap_or(false)
    }

    /// How many times node `i` has gone offline: a job started before then is void.
    pub fn epoch(&self, i: u32) -> u32 {
        self.epoch.get(i as usize).copied().unwrap_or(0)
    }

    /// Marks node `i` offline (a new epoch); false if it already was.
    pub fn go_offline(&mut self, i: u32) -> bool {
        let Some(o) = self.online.get_mut(i as usize) else {
            return false;
        };
        let was = *o;
        *o = false;
        if was {
            self.epoch[i as usize] += 1;
        }
        was
    }

    /// Marks node `i` online; false if it already was.
    pub fn go_online(&mut self, i: u32) -> bool {
        let Some(o) = self.online.get_mut(i as usize) else {
            return false;
        };
        let was = *o;
        *o = true;
        !was
    }

    /// Splits the nodes into `groups`; nodes listed nowhere share one more group.
    pub fn partition(&mut self, groups: &[Vec<u32>]) {
        let mut g = vec![groups.len() as u32; self.online.len()];
        for (k, members) in groups.iter().enumerate() {
            for &n in members {
                if let Some(slot) = g.get_mut(n as usize) {
                    *slot = k as u32;
                }
            }
        }
        self.group = Some(g);
    }

    /// Ends the partition.
    pub fn heal(&mut self) {
        self.group = None;
    }

    /// Whether a partition separates `a` from `b`.
    pub fn separated(&self, a: u32, b: u32) -> bool {
        self.group
            .as_ref()
            .is_some_and(|g| g.get(a as usize) != g.get(b as usize))
    }

    /// Whether `a` can open a connection to `b` now.
    pub fn can_connect(&self, a: u32, b: u32) -> bool {
        self.online(a) && self.online(b) && !self.separated(a, b)
    }

    /// Records that link `link` was cut by the network: what is in flight on it is lost.
    pub fn cut(&mut self, link: u64) {
        if let Ok(l) = u32::try_from(link) {
            self.cut.insert(l);
        }
    }

    /// Whether link `link` was cut.
    pub fn is_cut(&self, link: u64) -> bool {
        u32::try_from(link).is_ok_and(|l| self.cut.contains(l))
    }
}

fn secs(s: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(s).unwrap_or(std::time::Duration::MAX / 4)
}

/// A seed for node `i`'s core after it has rejoined `epoch` times: fresh state, as a
/// restarted process would have, still determined by the run seed.
pub fn rejoin_seed(core_seed: u64, epoch: u32) -> u64 {
    core_seed ^ u64::from(epoch).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_and_check() {
        #[derive(Deserialize)]
        struct W {
            events: Vec<ScriptedEvent>,
        }
        let w: W = toml::from_str(
            "[[events]]\nkind = \"partition\"\nat_secs = 10\ngroups = [[0, 1], [2]]\n\
             [[events]]\nkind = \"heal\"\nat_secs = 20\n\
             [[events]]\nkind = \"leave\"\nat_secs = 0\nnodes = [3]\n",
        )
        .unwrap();
        assert_eq!(w.events.len(), 3);
        assert_eq!(w.events[1], ScriptedEvent::Heal { at_secs: 20.0 });
        let c = ChurnConfig::default();
        assert!(check(&w.events, &c, 4, 60).is_ok());
        assert!(check(&w.events, &c, 3, 60).unwrap_err().contains("node 3"));
        assert!(check(&w.events, &c, 4, 15).unwrap_err().contains("at_secs"));
        let one = [ScriptedEvent::Partition {
            at_secs: 1.0,
            groups: vec![vec![0, 1]],
        }];
        assert!(check(&one, &c, 4, 60).unwrap_err().contains("two or more"));
        let twice = [ScriptedEvent::Partition {
            at_secs: 1.0,
            groups: vec![vec![0, 1], vec![1]],
        }];
        assert!(check(&twice, &c, 4, 60).unwrap_err().contains("twice"));
        let bad_churn = ChurnConfig { fraction: 1.5, ..c };
        assert!(check(&[], &bad_churn, 4, 60).is_err());
        assert!(toml::from_str::<W>("[[events]]\nkind = \"explode\"\nat_secs = 1\n").is_err());
    }

    #[test]
    fn partition_separates_groups_and_heal_ends_it() {
        let mut d = Dynamics::new(5, &ChurnConfig::default(), &[], 1);
        assert!(d.can_connect(0, 4));
        d.partition(&[vec![0, 1], vec![2]]);
        assert!(!d.separated(0, 1));
        assert!(d.separated(1, 2));
        assert!(d.separated(0, 3), "unlisted nodes form their own group");
        assert!(!d.separated(3, 4));
        d.heal();
        assert!(!d.separated(1, 2));
        assert!(d.go_offline(2));
        assert!(!d.go_offline(2));
        assert_eq!(d.epoch(2), 1);
        assert!(!d.can_connect(1, 2));
        assert!(d.go_online(2));
        assert!(d.can_connect(1, 2));
    }

    #[test]
    fn churn_alternates_with_the_configured_means() {
        let churn = ChurnConfig {
            fraction: 1.0,
            mean_session_secs: 100.0,
            mean_offline_secs: 10.0,
        };
        let mut d = Dynamics::new(2, &churn, &[false, true], 3);
        let first = d.initial_churn(Time(0));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].1, Change::ChurnLeave(0));
        let (mut on, mut off) = (0u64, 0u64);
        for _ in 0..2_000 {
            let (t, c) = d.next_churn(Time(0), 0, false);
            assert_eq!(c, Change::ChurnJoin(0));
            off += t.0;
            let (t, c) = d.next_churn(Time(0), 0, true);
            assert_eq!(c, Change::ChurnLeave(0));
            on += t.0;
        }
        let (on, off) = (on as f64 / 2e9, off as f64 / 2e9);
        assert!((on - 100.0).abs() < 10.0 && (off - 10.0).abs() < 1.0, "{on} {off}");
    }
}
