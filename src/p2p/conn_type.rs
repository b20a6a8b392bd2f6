//! Why a connection exists: Core's `ConnectionType`, which decides what is relayed over
//! it and how it counts against the slots.

/// The kind of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectionType {
    /// They dialed us.
    Inbound,
    /// An automatic outbound peer that relays transactions, addresses and blocks.
    OutboundFullRelay,
    /// An automatic outbound peer for blocks only: no transactions, no addresses, so
    /// an observer cannot map it from our relay (Core's eclipse defence).
    BlockRelayOnly,
    /// `-addnode`/`-connect`/`addnode onetry`: chosen by the operator.
    Manual,
    /// A short test of an address from the new table: handshake, then goodbye.
    Feeler,
    /// A `-seednode` visit: ask for addresses, then leave.
    AddrFetch,
}

impl ConnectionType {
    /// The name `getpeerinfo` shows (Core's `ConnectionTypeAsString`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Inbound => "inbound",
            ConnectionType::OutboundFullRelay => "outbound-full-relay",
            ConnectionType::BlockRelayOnly => "block-relay-only",
            ConnectionType::Manual => "manual",
            ConnectionType::Feeler => "feeler",
            ConnectionType::AddrFetch => "addr-fetch",
        }
    }

    /// Whether we dialed.
    pub fn is_outbound(self) -> bool {
        self != ConnectionType::Inbound
    }

    /// Whether transactions are relayed over it.
    pub fn relays_txs(self) -> bool {
        !matches!(
            self,
            ConnectionType::BlockRelayOnly | ConnectionType::Feeler | ConnectionType::AddrFetch
        )
    }

    /// Whether addresses are gossiped over it.
    pub fn relays_addrs(self) -> bool {
        !matches!(self, ConnectionType::BlockRelayOnly | ConnectionType::Feeler)
    }

    /// Whether it fills one of the automatic outbound slots.
    pub fn is_automatic_outbound(self) -> bool {
        matches!(self, ConnectionType::OutboundFullRelay | ConnectionType::BlockRelayOnly)
    }
}
