//! Core's `CFeeRate`: satoshis per 1,000 virtual bytes, with Core's rounding.

use std::fmt;

/// A fee rate in satoshis per kvB, as Core's `CFeeRate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeeRate(pub i64);

impl FeeRate {
    /// No fee.
    pub const ZERO: FeeRate = FeeRate(0);

    /// The rate of paying `fee` satoshis for `vsize` vbytes, truncated as Core's.
    pub fn from_fee(fee: i64, vsize: u64) -> FeeRate {
        if vsize == 0 {
            return FeeRate(0);
        }
        let vsize = i64::try_from(vsize).unwrap_or(i64::MAX);
        FeeRate(fee.saturating_mul(1000) / vsize)
    }

    /// Satoshis per kvB.
    pub fn sat_per_kvb(self) -> i64 {
        self.0
    }

    /// Core's `GetFee`: the fee for `vsize` vbytes, rounded up, never zero for a
    /// non-zero size and rate.
    pub fn fee(self, vsize: u64) -> i64 {
        let size = i64::try_from(vsize).unwrap_or(i64::MAX);
        // Integer ceiling of rate * size / 1000, as Core's `std::ceil` on the double.
        let product = i128::from(self.0) * i128::from(size);
        let fee = if product >= 0 {
            (product + 999) / 1000
        } else {
            product / 1000
        };
        let fee = i64::try_from(fee).unwrap_or(i64::MAX);
        if fee == 0 && size != 0 {
            return self.0.signum();
        }
        fee
    }
}

impl fmt::Display for FeeRate {
    /// Core's default `ToString`: `0.00001000 BTC/kvB`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:08} BTC/kvB", abs / 100_000_000, abs % 100_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_matches_core() {
        // Core's feerate_tests: 1,000 sat/kvB.
        let r = FeeRate(1000);
        assert_eq!(r.fee(0), 0);
        assert_eq!(r.fee(1), 1);
        assert_eq!(r.fee(121), 121);
        assert_eq!(FeeRate(123).fee(8), 1);
        assert_eq!(FeeRate(123).fee(9), 2);
        assert_eq!(FeeRate(-123).fee(8), -1);
        assert_eq!(FeeRate(1).fee(1), 1);
        assert_eq!(FeeRate::from_fee(1000, 250), FeeRate(4000));
        assert_eq!(FeeRate::from_fee(1, 3), FeeRate(333));
        assert_eq!(FeeRate(1000).to_string(), "0.00001000 BTC/kvB");
    }
}
