//! The operator's view of connecting blocks: Core's `UpdateTip` log line.

use super::index::{BlockIndex, EntryId};

/// UTC `YYYY-MM-DDTHH:MM:SSZ` for a unix time, as Core's `FormatISO8601DateTime`.
pub fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), valid for all i64 day counts we meet.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Fraction of the best known header chain that is connected, by transactions where known.
pub fn verification_progress(index: &BlockIndex, tip: EntryId, best_header: EntryId) -> f64 {
    let t = index.get(tip);
    let b = index.get(best_header);
    if b.height <= t.height {
        return 1.0;
    }
    // Headers carry no tx counts, so estimate the rest of the chain at the tip's average.
    let per_block = t.chain_tx as f64 / f64::from(t.height.max(1));
    let remaining = f64::from(b.height - t.height) * per_block.max(1.0);
    t.chain_tx as f64 / (t.chain_tx as f64 + remaining)
}

/// Logs the new tip the way Core's `UpdateTip` does.
pub fn log_update_tip(index: &BlockIndex, tip: EntryId, best_header: EntryId, cache_bytes: usize, cache_coins: usize) {
    let e = index.get(tip);
    tracing::info!(
        "UpdateTip: new best={} height={} version=0x{:08x} log2_work={:.6} tx={} date='{}' progress={:.6} cache={:.1}MiB({}txo)",
        e.hash,
        e.height,
        e.header.version.to_consensus(),
        e.chain_work.log2(),
        e.chain_tx,
        iso8601(i64::from(e.header.time)),
        verification_progress(index, tip, best_header),
        cache_bytes as f64 / (1024.0 * 1024.0),
        cache_coins,
    );
}

#[cfg(test)]
mod tests {
    use super::iso8601;

    #[test]
    fn formats_known_times() {
        assert_eq!(iso8601(1_231_006_505), "2009-01-03T18:15:05Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }
}
