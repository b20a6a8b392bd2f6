//! Connection-slot arithmetic: how many peers of each kind we keep, and whether a new
//! inbound connection gets in.
//!
//! Follows Bitcoin Core's `CConnman::Init` and `CreateNodeFromAcceptedSocket`
//! (src/net.h, src/net.cpp). `-maxconnections` counts automatic connections only: the
//! automatic outbound slots come out of it and the rest are inbound; `-addnode` peers
//! have their own limit on top. The per-IP inbound cap is weft's own (Core has none).

/// Core's `DEFAULT_MAX_PEER_CONNECTIONS`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 125;
/// Core's `MAX_OUTBOUND_FULL_RELAY_CONNECTIONS`.
pub const FULL_RELAY_OUTBOUND: usize = 8;
/// Core's `MAX_BLOCK_RELAY_ONLY_CONNECTIONS`.
pub const BLOCK_RELAY_OUTBOUND: usize = 2;
/// Core's `MAX_FEELER_CONNECTIONS`.
pub const FEELERS: usize = 1;
/// Core's `MAX_ADDNODE_CONNECTIONS`.
pub const MANUAL: usize = 8;
/// Default cap on inbound connections from one IP address (weft's own).
pub const DEFAULT_MAX_INBOUND_PER_IP: usize = 4;

/// The connection limits, as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotConfig {
    /// `-maxconnections`: automatic connections, inbound plus automatic outbound.
    pub max_connections: usize,
    /// Wanted full-relay outbound peers.
    pub full_relay_outbound: usize,
    /// Wanted block-relay-only outbound peers.
    pub block_relay_outbound: usize,
    /// Feeler connections at a time.
    pub feelers: usize,
    /// Most inbound connections accepted from one IP address.
    pub max_inbound_per_ip: usize,
    /// `-addnode` connections, counted apart from `max_connections`.
    pub manual: usize,
}

impl Default for SlotConfig {
    fn default() -> Self {
        SlotConfig {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            full_relay_outbound: FULL_RELAY_OUTBOUND,
            block_relay_outbound: BLOCK_RELAY_OUTBOUND,
            feelers: FEELERS,
            max_inbound_per_ip: DEFAULT_MAX_INBOUND_PER_IP,
            manual: MANUAL,
        }
    }
}

/// What the driver knows about a connection that just arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InboundRequest {
    /// Inbound connections open now (not counting this one).
    pub inbound: usize,
    /// Of those, how many come from the same IP address as this one.
    pub same_ip: usize,
    /// The address is banned.
    pub banned: bool,
    /// The address is discouraged.
    pub discouraged: bool,
    /// The address has the `noban` permission (whitelisted or on a whitebind).
    pub noban: bool,
    /// The address is loopback: Tor and I2P inbound arrive from the local proxy, so
    /// the per-IP cap would lump every such peer together.
    pub is_local: bool,
}

/// Why an inbound connection is turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefuseReason {
    /// The address is banned.
    #[error("banned")]
    Banned,
    /// The address is discouraged and inbound slots are (almost) full.
    #[error("discouraged")]
    Discouraged,
    /// Too many connections from this IP address already.
    #[error("too many connections from this address")]
    PerIpLimit,
    /// Inbound slots are full and no peer can be evicted.
    #[error("full")]
    Full,
}

/// What to do with an inbound connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboundDecision {
    /// A slot is free: take it.
    Accept,
    /// Slots are full: run eviction; take the connection only if it picks someone.
    EvictFirst,
    /// Turn it away.
    Refuse(RefuseReason),
}

impl SlotConfig {
    /// Full-relay outbound slots, never more than `max_connections`.
    pub fn full_relay_slots(&self) -> usize {
        self.full_relay_outbound.min(self.max_connections)
    }

    /// Block-relay-only slots, from what full relay leaves of `max_connections`.
    pub fn block_relay_slots(&self) -> usize {
        self.block_relay_outbound
            .min(self.max_connections - self.full_relay_slots())
    }

    /// Automatic outbound slots: full relay, block relay only and feelers.
    pub fn automatic_outbound_slots(&self) -> usize {
        self.full_relay_slots() + self.block_relay_slots() + self.feelers
    }

    /// Inbound slots: what the automatic outbound slots leave of `max_connections`.
    pub fn inbound_slots(&self) -> usize {
        self.max_connections.saturating_sub(self.automatic_outbound_slots())
    }

    /// Inbound slots still free with `inbound` connections open.
    pub fn inbound_free(&self, inbound: usize) -> usize {
        self.inbound_slots().saturating_sub(inbound)
    }

    /// Whether another `-addnode` connection may be opened with `manual` open.
    pub fn manual_free(&self, manual: usize) -> bool {
        manual < self.manual
    }

    /// Decides on a new inbound connection, in Core's order of checks.
    pub fn admit_inbound(&self, req: &InboundRequest) -> InboundDecision {
        let max_inbound = self.inbound_slots();
        if req.banned && !req.noban {
            return InboundDecision::Refuse(RefuseReason::Banned);
        }
        // Discouraged peers only get the slack: never the last free slot, never an eviction.
        if req.discouraged && !req.noban && req.inbound + 1 >= max_inbound {
            return InboundDecision::Refuse(RefuseReason::Discouraged);
        }
        if !req.noban && !req.is_local && req.same_ip >= self.max_inbound_per_ip {
            return InboundDecision::Refuse(RefuseReason::PerIpLimit);
        }
        if req.inbound >= max_inbound {
            if max_inbound == 0 {
                // Nothing to evict into: `-maxconnections` leaves no inbound slot.
                return InboundDecision::Refuse(RefuseReason::Full);
            }
            return InboundDecision::EvictFirst;
        }
        InboundDecision::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_slots_match_core() {
        let cfg = SlotConfig::default();
        assert_eq!(cfg.automatic_outbound_slots(), 11);
        assert_eq!(cfg.inbound_slots(), 114);
        assert_eq!(cfg.inbound_free(100), 14);
        assert_eq!(cfg.inbound_free(200), 0);
        assert!(cfg.manual_free(7));
        assert!(!cfg.manual_free(8));
    }

    #[test]
    fn small_max_connections_shrinks_outbound_first() {
        let cfg = SlotConfig {
            max_connections: 9,
            ..SlotConfig::default()
        };
        assert_eq!(cfg.full_relay_slots(), 8);
        assert_eq!(cfg.block_relay_slots(), 1);
        assert_eq!(cfg.inbound_slots(), 0);
        let cfg = SlotConfig {
            max_connections: 3,
            ..SlotConfig::default()
        };
        assert_eq!(cfg.full_relay_slots(), 3);
        assert_eq!(cfg.block_relay_slots(), 0);
        assert_eq!(cfg.inbound_slots(), 0);
        let cfg = SlotConfig {
            max_connections: 0,
            ..SlotConfig::default()
        };
        assert_eq!(cfg.inbound_slots(), 0);
        assert_eq!(
            cfg.admit_inbound(&InboundRequest::default()),
            InboundDecision::Refuse(RefuseReason::Full)
        );
    }

    #[test]
    fn admission_order() {
        let cfg = SlotConfig::default();
        let req = InboundRequest {
            inbound: 10,
            ..InboundRequest::default()
        };
        assert_eq!(cfg.admit_inbound(&req), InboundDecision::Accept);
        let full = InboundRequest { inbound: 114, ..req };
        assert_eq!(cfg.admit_inbound(&full), InboundDecision::EvictFirst);

        let banned = InboundRequest { banned: true, ..req };
        assert_eq!(
            cfg.admit_inbound(&banned),
            InboundDecision::Refuse(RefuseReason::Banned)
        );
        let banned_noban = InboundRequest { noban: true, ..banned };
        assert_eq!(cfg.admit_inbound(&banned_noban), InboundDecision::Accept);

        // Discouraged peers get in while there is room to spare, but not into the last slot.
        let disc = InboundRequest {
            discouraged: true,
            ..req
        };
        assert_eq!(cfg.admit_inbound(&disc), InboundDecision::Accept);
        let disc_last = InboundRequest { inbound: 113, ..disc };
        assert_eq!(
            cfg.admit_inbound(&disc_last),
            InboundDecision::Refuse(RefuseReason::Discouraged)
        );
        let disc_noban = InboundRequest {
            noban: true,
            ..disc_last
        };
        assert_eq!(cfg.admit_inbound(&disc_noban), InboundDecision::Accept);
    }

    #[test]
    fn per_ip_cap() {
        let cfg = SlotConfig {
            max_inbound_per_ip: 2,
            ..SlotConfig::default()
        };
        let req = InboundRequest {
            inbound: 5,
            same_ip: 1,
            ..InboundRequest::default()
        };
        assert_eq!(cfg.admit_inbound(&req), InboundDecision::Accept);
        let over = InboundRequest { same_ip: 2, ..req };
        assert_eq!(
            cfg.admit_inbound(&over),
            InboundDecision::Refuse(RefuseReason::PerIpLimit)
        );
        // Loopback carries every Tor/I2P inbound, and noban is trusted.
        assert_eq!(
            cfg.admit_inbound(&InboundRequest { is_local: true, ..over }),
            InboundDecision::Accept
        );
        assert_eq!(
            cfg.admit_inbound(&InboundRequest { noban: true, ..over }),
            InboundDecision::Accept
        );
    }
}
