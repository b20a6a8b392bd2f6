//! Seed derivation and the few random distributions the models draw from.
//!
//! Every stream of randomness (one per node, one per link, one for the workload) is a
//! `ChaCha20Rng` keyed by SHA-256 of the run seed and the stream's name, so adding a
//! node or a link never shifts the draws of another.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Which independent random stream a seed is derived for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The p2p core of a node (its `Node::new` seed).
    Core(u32),
    /// The simulator's own draws on behalf of a node (topology choices).
    Node(u32),
    /// One link, by its id (its latency, then the dialer-to-listener direction).
    Link(u64),
    /// The listener-to-dialer direction of a link, by its id.
    LinkBack(u64),
    /// Transaction and block arrivals.
    Workload,
    /// The topology generator.
    Topology,
    /// Whether a node speaks iroh (apart from `Node`, so QUIC draws stay as they were).
    Iroh(u32),
    /// Whether the iroh path between two nodes needs a relay, by [`pair_key`].
    IrohPath(u64),
}

/// One key for the unordered pair `{a, b}`.
pub fn pair_key(a: u32, b: u32) -> u64 {
    (u64::from(a.min(b)) << 32) | u64::from(a.max(b))
}

/// 32 seed bytes for `stream` under the run seed.
pub fn seed_bytes(run_seed: u64, stream: Stream) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"weft-netsim");
    h.update(run_seed.to_le_bytes());
    let (tag, n): (u8, u64) = match stream {
        Stream::Core(i) => (0, u64::from(i)),
        Stream::Node(i) => (1, u64::from(i)),
        Stream::Link(i) => (2, i),
        Stream::Workload => (3, 0),
        Stream::Topology => (4, 0),
        Stream::Iroh(i) => (5, u64::from(i)),
        Stream::IrohPath(k) => (6, k),
        Stream::LinkBack(i) => (7, i),
    };
    h.update([tag]);
    h.update(n.to_le_bytes());
    h.finalize().into()
}

/// A generator for `stream` under the run seed.
pub fn rng_for(run_seed: u64, stream: Stream) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(seed_bytes(run_seed, stream))
}

/// A `u64` seed for `stream` (what `weft::p2p::Node::new` takes).
pub fn u64_seed(run_seed: u64, stream: Stream) -> u64 {
    let b = seed_bytes(run_seed, stream);
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// A uniform draw on `[0, 1]` fixed by the run seed and `stream`.
pub fn unit_draw(run_seed: u64, stream: Stream) -> f64 {
    u64_seed(run_seed, stream) as f64 / u64::MAX as f64
}

/// An exponential draw with the given mean (Poisson inter-arrival times).
pub fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u: f64 = rng.gen();
    -(1.0 - u).ln() * mean
}

/// A standard normal draw (Box–Muller).
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A value distribution as scenarios write it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Dist {
    /// Always `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// Uniform on `[min, max]`.
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// Lognormal with the given median and log-space standard deviation.
    Lognormal {
        /// The median (`exp(mu)`).
        median: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
    },
}

impl Dist {
    /// One draw.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        match *self {
            Dist::Constant { value } => value,
            Dist::Uniform { min, max } if max > min => rng.gen_range(min..=max),
            Dist::Uniform { min, .. } => min,
            Dist::Lognormal { median, sigma } => median * (sigma * standard_normal(rng)).exp(),
        }
    }

    /// Why the parameters make no sense, if they do not.
    pub fn check(&self, what: &str) -> Result<(), String> {
        let ok = match *self {
            Dist::Constant { value } => value.is_finite() && value >= 0.0,
            Dist::Uniform { min, max } => min.is_finite() && max.is_finite() && min >= 0.0 && max >= min,
            Dist::Lognormal { median, sigma } => {
                median.is_finite() && sigma.is_finite() && median > 0.0 && (0.0..=10.0).contains(&sigma)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{what}: bad distribution parameters {self:?}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_repeatable() {
        assert_eq!(seed_bytes(1, Stream::Link(3)), seed_bytes(1, Stream::Link(3)));
        assert_ne!(seed_bytes(1, Stream::Link(3)), seed_bytes(2, Stream::Link(3)));
        assert_ne!(seed_bytes(1, Stream::Node(3)), seed_bytes(1, Stream::Core(3)));
    }

    #[test]
    fn exponential_mean_is_close() {
        let mut rng = rng_for(7, Stream::Workload);
        let n = 20_000;
        let mean = (0..n).map(|_| exponential(&mut rng, 3.0)).sum::<f64>() / n as f64;
        assert!((mean - 3.0).abs() < 0.15, "{mean}");
    }

    #[test]
    fn lognormal_median_is_close() {
        let mut rng = rng_for(7, Stream::Workload);
        let d = Dist::Lognormal {
            median: 50.0,
            sigma: 0.5,
        };
        let mut v: Vec<f64> = (0..10_001).map(|_| d.sample(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        assert!((v[5_000] - 50.0).abs() < 2.5, "{}", v[5_000]);
        assert!(d.check("x").is_ok());
        assert!(Dist::Uniform { min: 2.0, max: 1.0 }.check("x").is_err());
    }
}
