//! Service bits weft reads to decide how to reach a peer.

/// "Reachable over QUIC on UDP at the same port" (experimental range, bits 24..31).
pub const NODE_QUIC: u64 = 1 << 24;

/// A transport a peer can be reached over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// Bitcoin's TCP transport (v1 or BIP324 v2).
    Tcp,
    /// QUIC on UDP, at the same port number as TCP.
    Quic,
}

/// The transports a peer offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Transports {
    quic: bool,
}

impl Transports {
    /// Whether the set contains `t` (TCP is always there).
    pub fn contains(&self, t: Transport) -> bool {
        match t {
            Transport::Tcp => true,
            Transport::Quic => self.quic,
        }
    }

    /// The transports, preferred first (QUIC when offered, then TCP).
    pub fn iter(&self) -> impl Iterator<Item = Transport> {
        let quic = self.quic.then_some(Transport::Quic);
        quic.into_iter().chain(std::iter::once(Transport::Tcp))
    }
}

/// The transports a peer advertising `services` offers: TCP always, QUIC if `NODE_QUIC`.
pub fn transports(services: u64) -> Transports {
    Transports {
        quic: services & NODE_QUIC != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_always_quic_by_bit() {
        let plain = transports(1 | 8 | 1024);
        assert!(plain.contains(Transport::Tcp));
        assert!(!plain.contains(Transport::Quic));
        assert_eq!(plain.iter().collect::<Vec<_>>(), vec![Transport::Tcp]);

        let quic = transports(1 | NODE_QUIC);
        assert!(quic.contains(Transport::Quic));
        assert_eq!(quic.iter().collect::<Vec<_>>(), vec![Transport::Quic, Transport::Tcp]);
        // A neighbouring experimental bit does not imply QUIC.
        assert!(!transports(1 << 25).contains(Transport::Quic));
    }
}
