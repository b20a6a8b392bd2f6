//! Geography: nodes live in regions, and a link's one-way latency comes from a matrix
//! of mean latencies between regions, spread per link by a lognormal factor (per-message
//! jitter still comes from `[links]`). Regions may also set their nodes' bandwidth.
//!
//! The presets are SimBlock's tables (Aoki et al. 2019, "SimBlock: A Blockchain Network
//! Simulator", `simblock.settings.NetworkConfiguration`): six regions, mean latency
//! between them in ms, per-region bandwidth and the share of Bitcoin nodes in each, for
//! 2015 and 2019. SimBlock uses each latency entry as the mean delay of one message, so
//! they are one-way here.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::dist::standard_normal;

/// Regions at most, so a scenario cannot ask for a huge matrix.
pub const MAX_REGIONS: usize = 64;

/// SimBlock's region names, in its order.
const SIMBLOCK_REGIONS: [&str; 6] = [
    "north-america",
    "europe",
    "south-america",
    "asia-pacific",
    "japan",
    "australia",
];

/// SimBlock's `LATENCY_2015`, ms.
const LATENCY_2015: [[f64; 6]; 6] = [
    [36.0, 119.0, 255.0, 310.0, 154.0, 208.0],
    [119.0, 12.0, 221.0, 242.0, 266.0, 350.0],
    [255.0, 221.0, 137.0, 347.0, 256.0, 269.0],
    [310.0, 242.0, 347.0, 99.0, 172.0, 278.0],
    [154.0, 266.0, 256.0, 172.0, 9.0, 163.0],
    [208.0, 350.0, 269.0, 278.0, 163.0, 22.0],
];

/// SimBlock's `LATENCY_2019`, ms.
const LATENCY_2019: [[f64; 6]; 6] = [
    [32.0, 124.0, 184.0, 198.0, 151.0, 189.0],
    [124.0, 11.0, 227.0, 237.0, 252.0, 294.0],
    [184.0, 227.0, 88.0, 325.0, 301.0, 322.0],
    [198.0, 237.0, 325.0, 85.0, 58.0, 198.0],
    [151.0, 252.0, 301.0, 58.0, 12.0, 126.0],
    [189.0, 294.0, 322.0, 198.0, 126.0, 16.0],
];

/// SimBlock's `REGION_DISTRIBUTION_BITCOIN_2015` and `_2019`.
const SHARES_2015: [f64; 6] = [0.3869, 0.5159, 0.0113, 0.0574, 0.0119, 0.0166];
const SHARES_2019: [f64; 6] = [0.3316, 0.4998, 0.0090, 0.1177, 0.0224, 0.0195];

/// SimBlock's `UPLOAD_BANDWIDTH_2015`/`DOWNLOAD_BANDWIDTH_2015` and `_2019`, Mbit/s.
const UPLOAD_2015: [f64; 6] = [4.7, 8.1, 1.8, 5.3, 3.4, 5.2];
const DOWNLOAD_2015: [f64; 6] = [25.0, 24.0, 6.5, 10.0, 17.5, 14.0];
const UPLOAD_2019: [f64; 6] = [19.2, 20.7, 5.8, 15.7, 10.2, 11.3];
const DOWNLOAD_2019: [f64; 6] = [52.0, 40.0, 18.0, 22.8, 22.8, 29.9];

/// A named set of defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Preset {
    /// SimBlock's Bitcoin 2015 tables.
    #[serde(rename = "bitcoin-2015")]
    Bitcoin2015,
    /// SimBlock's Bitcoin 2019 tables.
    #[serde(rename = "bitcoin-2019")]
    Bitcoin2019,
}

/// `[regions]` in a scenario: a preset, and any of its tables replaced.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegionConfig {
    /// Tables to start from; without one, `shares` and `latency_ms` are required.
    pub preset: Option<Preset>,
    /// Region names (for reports); default `r0`, `r1`, ...
    pub names: Option<Vec<String>>,
    /// Share of nodes in each region; need not sum to 1.
    pub shares: Option<Vec<f64>>,
    /// Mean one-way latency between regions, ms (square, one row per region).
    pub latency_ms: Option<Vec<Vec<f64>>>,
    /// Log-space standard deviation of a link's latency around its matrix entry.
    pub link_sigma: Option<f64>,
    /// Per-region upload bandwidth, Mbit/s; default `[links] upload_mbps` everywhere.
    pub upload_mbps: Option<Vec<f64>>,
    /// Per-region download bandwidth, Mbit/s; default `[links] download_mbps` everywhere.
    pub download_mbps: Option<Vec<f64>>,
}

/// Default spread of one link's latency around its regions' mean.
pub const DEFAULT_LINK_SIGMA: f64 = 0.2;

/// The resolved, checked tables.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionMatrix {
    /// Region names.
    pub names: Vec<String>,
    /// Normalized shares of nodes (sum 1).
    pub shares: Vec<f64>,
    /// Mean one-way latency, ms, `[from][to]`.
    pub latency_ms: Vec<Vec<f64>>,
    /// Log-space spread of a link's latency.
    pub link_sigma: f64,
    /// Upload bandwidth per region, Mbit/s (`None`: the scenario-wide value).
    pub upload_mbps: Option<Vec<f64>>,
    /// Download bandwidth per region, Mbit/s.
    pub download_mbps: Option<Vec<f64>>,
}

fn rows<const N: usize>(m: &[[f64; N]; N]) -> Vec<Vec<f64>> {
    m.iter().map(|r| r.to_vec()).collect()
}

impl RegionConfig {
    /// Fills the preset in, applies overrides and checks the result.
    pub fn resolve(&self) -> Result<RegionMatrix, String> {
        let (names, shares, latency, up, down) = match self.preset {
            Some(Preset::Bitcoin2015) => (
                Some(SIMBLOCK_REGIONS.iter().map(|s| s.to_string()).collect()),
                Some(SHARES_2015.to_vec()),
                Some(rows(&LATENCY_2015)),
                Some(UPLOAD_2015.to_vec()),
                Some(DOWNLOAD_2015.to_vec()),
            ),
            Some(Preset::Bitcoin2019) => (
                Some(SIMBLOCK_REGIONS.iter().map(|s| s.to_string()).collect()),
                Some(SHARES_2019.to_vec()),
                Some(rows(&LATENCY_2019)),
                Some(UPLOAD_2019.to_vec()),
                Some(DOWNLOAD_2019.to_vec()),
            ),
            None => (None, None, None, None, None),
        };
        let shares = self
            .shares
            .clone()
            .or(shares)
            .ok_or("regions: shares (or a preset) is required")?;
        let latency_ms = self
            .latency_ms
            .clone()
            .or(latency)
            .ok_or("regions: latency_ms (or a preset) is required")?;
        let n = shares.len();
        if n == 0 || n > MAX_REGIONS {
            return Err(format!("regions: between 1 and {MAX_REGIONS} regions, not {n}"));
        }
        let names: Vec<String> = self
            .names
            .clone()
            .or(names)
            .unwrap_or_else(|| (0..n).map(|i| format!("r{i}")).collect());
        if names.len() != n {
            return Err(format!("regions: {} names for {n} shares", names.len()));
        }
        if latency_ms.len() != n || latency_ms.iter().any(|r| r.len() != n) {
            return Err(format!("regions: latency_ms must be {n} x {n}"));
        }
        if latency_ms
            .iter()
            .flatten()
            .any(|v| !(v.is_finite() && *v >= 0.0 && *v <= 60_000.0))
        {
            return Err("regions: latencies must be in [0, 60000] ms".into());
        }
        let total: f64 = shares.iter().sum();
        if shares.iter().any(|s| !(s.is_finite() && *s >= 0.0)) || !(total > 0.0 && total.is_finite()) {
            return Err("regions: shares must be non-negative with a positive sum".into());
        }
        let link_sigma = self.link_sigma.unwrap_or(DEFAULT_LINK_SIGMA);
        if !(0.0..=3.0).contains(&link_sigma) {
            return Err("regions: link_sigma must be in [0, 3]".into());
        }
        let bandwidth = |v: Option<Vec<f64>>, what: &str| -> Result<Option<Vec<f64>>, String> {
            match v {
                Some(v) if v.len() != n => Err(format!("regions: {what} needs {n} entries")),
                Some(v) if v.iter().any(|b| !(b.is_finite() && *b > 0.0)) => {
                    Err(format!("regions: {what} must be > 0"))
                }
                v => Ok(v),
            }
        };
        // A preset's bandwidth replaces `[links]`' unless `[regions]` names its own.
        let upload_mbps = bandwidth(self.upload_mbps.clone().or(up), "upload_mbps")?;
        let download_mbps = bandwidth(self.download_mbps.clone().or(down), "download_mbps")?;
        Ok(RegionMatrix {
            names,
            shares: shares.iter().map(|s| s / total).collect(),
            latency_ms,
            link_sigma,
            upload_mbps,
            download_mbps,
        })
    }
}

/// A generator seeded from the run seed alone, apart from the streams in `dist`.
fn region_rng(run_seed: u64, what: &[u8], n: u64) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(b"weft-netsim region");
    h.update(what);
    h.update(run_seed.to_le_bytes());
    h.update(n.to_le_bytes());
    ChaCha20Rng::from_seed(h.finalize().into())
}

impl RegionMatrix {
    /// How many regions.
    pub fn len(&self) -> usize {
        self.shares.len()
    }

    /// Whether there are none (never, once resolved).
    pub fn is_empty(&self) -> bool {
        self.shares.is_empty()
    }

    /// Each node's region: counts follow the shares as closely as whole nodes allow
    /// (largest remainders), and which node lands where is a seeded shuffle.
    pub fn assign(&self, nodes: u32, seed: u64) -> Vec<u8> {
        let n = f64::from(nodes);
        let mut counts: Vec<u32> = self.shares.iter().map(|s| (s * n).floor() as u32).collect();
        let mut left = nodes.saturating_sub(counts.iter().sum());
        let mut by_remainder: Vec<usize> = (0..self.len()).collect();
        by_remainder.sort_by(|&a, &b| {
            let ra = self.shares[a] * n - f64::from(counts[a]);
            let rb = self.shares[b] * n - f64::from(counts[b]);
            rb.total_cmp(&ra).then(a.cmp(&b))
        });
        for &r in by_remainder.iter().cycle().take(self.len() * 2) {
            if left == 0 {
                break;
            }
            counts[r] += 1;
            left -= 1;
        }
        let mut out: Vec<u8> = counts
            .iter()
            .enumerate()
            .flat_map(|(r, &c)| std::iter::repeat_n(r as u8, c as usize))
            .collect();
        out.truncate(nodes as usize);
        out.shuffle(&mut region_rng(seed, b"assign", 0));
        out
    }

    /// Base one-way latency of link `id` between regions `a` and `b`, µs: the matrix
    /// entry times a lognormal factor of median 1, drawn once per link.
    pub fn link_latency_us(&self, a: u8, b: u8, id: u64, seed: u64) -> u64 {
        let mean = self.latency_ms[a as usize][b as usize];
        let mut rng = region_rng(seed, b"link", id);
        let factor = if self.link_sigma > 0.0 {
            (self.link_sigma * standard_normal(&mut rng)).exp()
        } else {
            1.0
        };
        (mean * factor * 1_000.0).round().max(1.0) as u64
    }

    /// Upload and download bandwidth of a node in `region`, Mbit/s, given the defaults.
    pub fn bandwidth(&self, region: u8, up: f64, down: f64) -> (f64, f64) {
        let pick = |v: &Option<Vec<f64>>, d: f64| v.as_ref().map_or(d, |v| v[region as usize]);
        (pick(&self.upload_mbps, up), pick(&self.download_mbps, down))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom() -> RegionConfig {
        RegionConfig {
            shares: Some(vec![3.0, 1.0]),
            latency_ms: Some(vec![vec![10.0, 100.0], vec![100.0, 20.0]]),
            link_sigma: Some(0.0),
            ..RegionConfig::default()
        }
    }

    #[test]
    fn presets_resolve_to_simblock_tables() {
        let cfg = RegionConfig {
            preset: Some(Preset::Bitcoin2015),
            ..RegionConfig::default()
        };
        let m = cfg.resolve().unwrap();
        assert_eq!(m.len(), 6);
        assert_eq!(m.names[1], "europe");
        assert_eq!(m.latency_ms[0][3], 310.0);
        assert!((m.shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(m.bandwidth(2, 50.0, 100.0), (1.8, 6.5));
        // The matrix is symmetric, as SimBlock's is.
        for i in 0..6 {
            for j in 0..6 {
                assert_eq!(m.latency_ms[i][j], m.latency_ms[j][i]);
            }
        }
    }

    #[test]
    fn overrides_and_bad_tables() {
        let m = custom().resolve().unwrap();
        assert_eq!(m.shares, vec![0.75, 0.25]);
        assert_eq!(m.names, vec!["r0", "r1"]);
        assert_eq!(m.bandwidth(1, 50.0, 100.0), (50.0, 100.0));
        assert!(RegionConfig::default().resolve().is_err(), "nothing to resolve");
        let ragged = RegionConfig {
            latency_ms: Some(vec![vec![10.0, 100.0], vec![100.0]]),
            ..custom()
        };
        assert!(ragged.resolve().is_err());
        let negative = RegionConfig {
            shares: Some(vec![1.0, -1.0]),
            ..custom()
        };
        assert!(negative.resolve().is_err());
        let short_bw = RegionConfig {
            upload_mbps: Some(vec![1.0]),
            ..custom()
        };
        assert!(short_bw.resolve().is_err());
    }

    #[test]
    fn assignment_follows_shares_and_the_seed() {
        let m = custom().resolve().unwrap();
        let a = m.assign(101, 7);
        assert_eq!(a.len(), 101);
        let first = a.iter().filter(|&&r| r == 0).count();
        assert_eq!(first, 76, "75.75 rounds up by the largest remainder");
        assert_eq!(a, m.assign(101, 7));
        assert_ne!(a, m.assign(101, 8));
    }

    #[test]
    fn link_latency_comes_from_the_matrix() {
        let m = custom().resolve().unwrap();
        assert_eq!(m.link_latency_us(0, 1, 5, 1), 100_000);
        assert_eq!(m.link_latency_us(1, 1, 5, 1), 20_000);
        let spread = RegionMatrix { link_sigma: 0.5, ..m };
        let draws: Vec<u64> = (0..200).map(|id| spread.link_latency_us(0, 0, id, 1)).collect();
        assert!(draws.iter().any(|&d| d > 10_000) && draws.iter().any(|&d| d < 10_000));
        assert_eq!(draws[3], spread.link_latency_us(0, 0, 3, 1), "same link, same draw");
        let mut sorted = draws.clone();
        sorted.sort_unstable();
        let median = sorted[100] as f64;
        assert!((median / 10_000.0 - 1.0).abs() < 0.2, "{median}");
    }
}
