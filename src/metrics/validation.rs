//! Time the validation thread spends on each kind of job, for the metrics endpoint.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::p2p::chain_view::Job;

/// Counters shared between the validation thread and the metrics endpoint.
#[derive(Debug, Default)]
pub struct ValidationStats {
    jobs: [AtomicU64; 3],
    micros: [AtomicU64; 3],
}

/// The job kinds, as metric labels, in counter order.
pub const JOB_KINDS: [&str; 3] = ["headers", "block", "transaction"];

impl ValidationStats {
    /// The counter index of `job`'s kind (into [`JOB_KINDS`]).
    pub fn kind_of(job: &Job) -> usize {
        match job {
            Job::Headers { .. } => 0,
            Job::Block { .. } => 1,
            Job::Transaction { .. } => 2,
        }
    }

    /// Counts one finished job of `kind` that took `took`.
    pub fn record(&self, kind: usize, took: Duration) {
        let i = kind.min(JOB_KINDS.len() - 1);
        self.jobs[i].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.micros[i].fetch_add(micros, Ordering::Relaxed);
    }

    /// (kind, jobs, seconds) for each kind.
    pub fn snapshot(&self) -> Vec<(&'static str, u64, f64)> {
        JOB_KINDS
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let jobs = self.jobs[i].load(Ordering::Relaxed);
                let secs = self.micros[i].load(Ordering::Relaxed) as f64 / 1e6;
                (*kind, jobs, secs)
            })
            .collect()
    }
}
