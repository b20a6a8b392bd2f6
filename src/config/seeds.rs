//! Fixed seeds: addresses to try when addrman is empty and DNS seeds gave nothing
//! within a minute, as Core's `chainparamsseeds.h`. The lists are the IPv4 and IPv6
//! entries of Core's `contrib/seeds/nodes_*.txt`, kept as text beside this file.

use std::net::SocketAddr;

use crate::chain::Chain;
use crate::p2p::addr::Service;

const MAIN: &str = include_str!("seeds/main.txt");
const TEST: &str = include_str!("seeds/test.txt");
const TESTNET4: &str = include_str!("seeds/testnet4.txt");
const SIGNET: &str = include_str!("seeds/signet.txt");

/// The fixed seeds of `chain` (none on regtest).
pub fn fixed_seeds(chain: Chain) -> Vec<Service> {
    let list = match chain {
        Chain::Main => MAIN,
        Chain::Testnet => TEST,
        Chain::Testnet4 => TESTNET4,
        Chain::Signet => SIGNET,
        Chain::Regtest => "",
    };
    parse(list)
}

/// One `ip:port` or `[ipv6]:port` per line; `#` comments and anything else skipped.
fn parse(list: &str) -> Vec<Service> {
    list.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter_map(|l| l.parse::<SocketAddr>().ok())
        .map(|a| Service::new(a.ip().into(), a.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_every_list_parses_and_regtest_has_none() {
        for (chain, text) in [
            (Chain::Main, MAIN),
            (Chain::Testnet, TEST),
            (Chain::Testnet4, TESTNET4),
            (Chain::Signet, SIGNET),
        ] {
            let entries = text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .count();
            let seeds = fixed_seeds(chain);
            assert!(seeds.len() > 50, "{chain:?}: {}", seeds.len());
            assert_eq!(seeds.len(), entries, "{chain:?}: a line did not parse");
            assert!(seeds.iter().all(|s| s.addr.is_routable()), "{chain:?}");
        }
        assert!(fixed_seeds(Chain::Regtest).is_empty());
        assert!(fixed_seeds(Chain::Main).iter().all(|s| s.port == 8333));
    }

    #[test]
    fn comments_and_junk_are_skipped() {
        let got = parse("# header\n1.2.3.4:8333 # AS1\n[2001:db8::1]:18333\nnot an address\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].port, 18333);
    }
}
