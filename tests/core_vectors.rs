//! Bitcoin Core's own test vectors (`../shared/testdata/bitcoin-core/`), run the way Core's
//! unit tests run them, against weft's script engine, CheckTransaction and sighashes.
//! Each test prints `<file>: N cases, N passed`; any failing case fails the test.

#[path = "core_vectors/bip341.rs"]
mod bip341;
#[path = "core_vectors/parse.rs"]
mod parse;
#[path = "core_vectors/regtest_chain.rs"]
mod regtest_chain;
#[path = "core_vectors/script_tests.rs"]
mod script_tests;
#[path = "core_vectors/sighash.rs"]
mod sighash;
#[path = "core_vectors/tx_tests.rs"]
mod tx_tests;

/// Counts a vector file's cases and collects failures.
pub struct Tally {
    file: &'static str,
    cases: usize,
    failures: Vec<String>,
}

impl Tally {
    /// An empty tally for `file`.
    pub fn new(file: &'static str) -> Self {
        Self {
            file,
            cases: 0,
            failures: Vec::new(),
        }
    }

    /// Counts a passing case.
    pub fn pass(&mut self) {
        self.cases += 1;
    }

    /// Counts a failing case and why it failed.
    pub fn fail(&mut self, why: String) {
        self.cases += 1;
        self.failures.push(why);
    }

    /// Prints the counts and fails if any case failed (or there were none).
    pub fn finish(self) {
        let passed = self.cases - self.failures.len();
        println!("{}: {} cases, {} passed", self.file, self.cases, passed);
        for f in self.failures.iter().take(100) {
            println!("  FAILED {f}");
        }
        assert!(self.cases > 0, "{}: no cases", self.file);
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} cases failed",
            self.file,
            self.failures.len(),
            self.cases
        );
    }
}
