//! Where the first addresses come from: `-seednode` visits, DNS seeds, fixed seeds.

use core::net::SocketAddr;

use rand::Rng;
use tracing::info;

use super::{ADDR_FETCH_TIMEOUT, DNS_SEED_DELAY, FIXED_SEED_DELAY};
use crate::p2p::addr::{NetAddr, Service};
use crate::p2p::addrman::AddrRecord;
use crate::p2p::config::{NODE_NETWORK, NODE_WITNESS};
use crate::p2p::conn_type::ConnectionType;
use crate::p2p::disconnect::DisconnectReason;
use crate::p2p::node::{Action, Node};
use crate::p2p::time::Time;

/// Core backdates seed addresses by three to seven days, so gossip beats them.
const SEED_AGE_MIN: i64 = 3 * 24 * 3600;
/// See [`SEED_AGE_MIN`].
const SEED_AGE_MAX: i64 = 7 * 24 * 3600;

impl Node {
    /// Starts `-seednode` visits, asks the DNS seeds when addrman is (nearly) empty,
    /// falls back to the fixed seeds, and ends visits that outstayed their timeout.
    pub(crate) fn visit_seeds(&mut self, now: Time) {
        for addr in std::mem::take(&mut self.connman.seeds_to_visit) {
            info!(target: "net", "visiting seed node {addr} for addresses");
            self.actions.push_back(Action::Connect { addr });
        }
        let late: Vec<_> = self
            .peers
            .values()
            .filter(|p| p.conn_type == ConnectionType::AddrFetch && now.since(p.connected_at) >= ADDR_FETCH_TIMEOUT)
            .map(|p| p.id)
            .collect();
        for id in late {
            self.disconnect(now, id, DisconnectReason::AddrFetchDone);
        }
        let since_start = now.since(self.connman.started);
        let empty = self.addrman.size(None, None) == 0;
        if !self.connman.dns_queried && !self.config.dns_seeds.is_empty() {
            let outbound = self
                .peers
                .values()
                .filter(|p| p.conn_type.is_automatic_outbound())
                .count();
            if empty || (since_start >= DNS_SEED_DELAY && outbound < 2) {
                self.connman.dns_queried = true;
                for host in self.config.dns_seeds.clone() {
                    info!(target: "net", "Loading addresses from DNS seed {host}");
                    let port = self.config.default_port;
                    self.actions.push_back(Action::Resolve { host, port });
                }
            }
        }
        if !self.connman.fixed_added && empty && since_start >= FIXED_SEED_DELAY && !self.config.fixed_seeds.is_empty()
        {
            self.connman.fixed_added = true;
            info!(target: "net", "Adding fixed seeds as 60 seconds have passed and addrman is empty");
            let recs = self.seed_records(now, self.config.fixed_seeds.clone());
            let Node { addrman, rng, .. } = self;
            addrman.add(&recs, &NetAddr::Ipv4([0; 4]), 0, rng, now);
        }
    }

    /// A DNS seed answered (or failed): its addresses go into addrman.
    pub(crate) fn on_resolved(&mut self, now: Time, host: &str, result: Result<Vec<SocketAddr>, String>) {
        let addrs = match result {
            Ok(a) => a,
            Err(e) => {
                info!(target: "net", "DNS seed {host} failed: {e}");
                return;
            }
        };
        info!(target: "net", "{} addresses found from DNS seed {host}", addrs.len());
        let Some(first) = addrs.first() else { return };
        let source = NetAddr::from(first.ip());
        let recs = self.seed_records(now, addrs.iter().map(|a| Service::from(*a)).collect());
        let Node { addrman, rng, .. } = self;
        addrman.add(&recs, &source, 0, rng, now);
    }

    fn seed_records(&mut self, now: Time, services: Vec<Service>) -> Vec<AddrRecord> {
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        services
            .into_iter()
            .map(|s| {
                let age = self.rng.gen_range(SEED_AGE_MIN..=SEED_AGE_MAX);
                (s, NODE_NETWORK | NODE_WITNESS, now - age)
            })
            .collect()
    }
}
