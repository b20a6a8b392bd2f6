//! `netsim compare`: one scenario over several seeds, each headline metric as a mean
//! with a 95 % confidence interval (Student's t, since a handful of seeds is usual).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::SimError;
use crate::metrics::write_file;
use crate::report::Summary;
use crate::scenario::Scenario;
use crate::sim::Sim;

/// Two-sided 95 % quantiles of Student's t for 1 to 30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// The t quantile for `df` degrees of freedom; between table rows the smaller `df`'s
/// (wider, so conservative) value.
pub fn t95(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T95[df - 1],
        31..=39 => 2.042,
        40..=59 => 2.021,
        60..=119 => 2.000,
        120..=999 => 1.980,
        _ => 1.960,
    }
}

/// One metric over the seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Stat {
    /// Metric name.
    pub metric: String,
    /// Seeds that produced a value.
    pub n: usize,
    /// Their mean.
    pub mean: Option<f64>,
    /// Half-width of the 95 % interval (none for fewer than two values).
    pub ci95: Option<f64>,
    /// Per seed, in seed order (skipped where a seed had no value).
    pub values: Vec<f64>,
}

/// Mean and 95 % half-width of `values`.
pub fn mean_ci(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (None, None);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (Some(mean), None);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (Some(mean), Some(t95(n - 1) * (var / n as f64).sqrt()))
}

/// The metrics compared, from one run's summary.
pub fn metrics_of(s: &Summary) -> Vec<(&'static str, Option<f64>)> {
    let spy = s.spy.as_ref();
    vec![
        ("tx_t50_median_ms", s.txs.p50.median_ms),
        ("tx_t90_median_ms", s.txs.p90.median_ms),
        ("tx_t100_median_ms", s.txs.p100.median_ms),
        ("block_t50_median_ms", s.blocks.p50.median_ms),
        ("block_t90_median_ms", s.blocks.p90.median_ms),
        ("block_t100_median_ms", s.blocks.p100.median_ms),
        ("txs_created", Some(s.txs.created as f64)),
        ("blocks_created", Some(s.blocks.created as f64)),
        ("total_wire_mb", Some(s.total_wire_bytes as f64 / 1e6)),
        ("duplicate_inv_ratio", s.duplicate_inv_ratio),
        ("stale_block_rate", s.stale_block_rate),
        ("spy_precision", spy.and_then(|r| r.precision)),
        ("spy_recall", spy.and_then(|r| r.recall)),
        ("events", Some(s.events as f64)),
    ]
}

/// A scenario compared over seeds.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// Scenario name.
    pub scenario: String,
    /// The seeds run.
    pub seeds: Vec<u64>,
    /// Per metric.
    pub stats: Vec<Stat>,
}

impl Comparison {
    /// Aggregates per-seed summaries.
    pub fn of(scenario: &str, summaries: &[Summary]) -> Comparison {
        let per_seed: Vec<_> = summaries.iter().map(metrics_of).collect();
        let names: Vec<&str> = per_seed
            .first()
            .map(|m| m.iter().map(|(n, _)| *n).collect())
            .unwrap_or_default();
        let stats = names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let values: Vec<f64> = per_seed.iter().filter_map(|m| m[k].1).collect();
                let (mean, ci95) = mean_ci(&values);
                Stat {
                    metric: name.to_string(),
                    n: values.len(),
                    mean,
                    ci95,
                    values,
                }
            })
            .collect();
        Comparison {
            scenario: scenario.to_string(),
            seeds: summaries.iter().map(|s| s.seed).collect(),
            stats,
        }
    }

    /// The table printed to stdout.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{} over {} seeds (mean ± 95 % CI, Student t)\n",
            self.scenario,
            self.seeds.len()
        );
        for s in &self.stats {
            let value = match (s.mean, s.ci95) {
                (Some(m), Some(c)) => format!("{m:.4} ± {c:.4}"),
                (Some(m), None) => format!("{m:.4}"),
                _ => "-".into(),
            };
            let _ = writeln!(out, "  {:<22} {:>28}   (n={})", s.metric, value, s.n);
        }
        out
    }

    /// `metric,n,mean,ci95,lo,hi`.
    pub fn csv(&self) -> String {
        let mut out = String::from("metric,n,mean,ci95,lo,hi\n");
        let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
        for s in &self.stats {
            let lo = s.mean.zip(s.ci95).map(|(m, c)| m - c);
            let hi = s.mean.zip(s.ci95).map(|(m, c)| m + c);
            let _ = writeln!(
                out,
                "{},{},{},{},{},{}",
                s.metric,
                s.n,
                f(s.mean),
                f(s.ci95),
                f(lo),
                f(hi)
            );
        }
        out
    }

    /// Writes `compare.json` and `compare.csv` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), SimError> {
        std::fs::create_dir_all(dir).map_err(|e| SimError::Io(format!("{}: {e}", dir.display())))?;
        let json = serde_json::to_string_pretty(self).map_err(|e| SimError::Io(e.to_string()))?;
        write_file(dir, "compare.json", &json)?;
        write_file(dir, "compare.csv", &self.csv())
    }
}

/// Runs `scenario` once per seed, one after another, each on `threads` threads; `each`
/// sees every summary.
pub fn run_seeds(
    scenario: &Scenario,
    seeds: &[u64],
    threads: usize,
    mut each: impl FnMut(&Summary),
) -> Result<Comparison, SimError> {
    let mut summaries = Vec::with_capacity(seeds.len());
    for &seed in seeds {
        let mut sim = Sim::with_threads(scenario.clone(), seed, threads)?;
        sim.run();
        let s = Summary::of(&sim);
        each(&s);
        summaries.push(s);
    }
    Ok(Comparison::of(&scenario.name, &summaries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_interval() {
        // 1, 2, 3: mean 2, s = 1, half-width t(2) / sqrt(3).
        let (m, c) = mean_ci(&[1.0, 2.0, 3.0]);
        assert_eq!(m, Some(2.0));
        assert!((c.unwrap() - 4.303 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(mean_ci(&[5.0]), (Some(5.0), None));
        assert_eq!(mean_ci(&[]), (None, None));
        assert_eq!(mean_ci(&[4.0, 4.0]).1, Some(0.0));
        assert_eq!(t95(1), 12.706);
        assert_eq!(t95(45), 2.021);
        assert_eq!(t95(100_000), 1.960);
        assert!((2..200).all(|d| t95(d) <= t95(d - 1)), "t quantiles shrink with df");
    }
}
