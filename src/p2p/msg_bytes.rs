//! Bytes per message type, as Core's `mapSendBytesPerMsgType`: a fixed slot for each
//! known type and one `*other*` slot for the rest, so counting every message costs no
//! allocation and an unknown-command flood cannot grow the table.

use std::collections::BTreeMap;

/// The message types with their own slot: Core's `ALL_NET_MESSAGE_TYPES`, then BIP331's.
pub const MESSAGE_TYPES: [&str; 39] = [
    "version",
    "verack",
    "addr",
    "addrv2",
    "sendaddrv2",
    "inv",
    "getdata",
    "merkleblock",
    "getblocks",
    "getheaders",
    "tx",
    "headers",
    "block",
    "getaddr",
    "mempool",
    "ping",
    "pong",
    "notfound",
    "filterload",
    "filteradd",
    "filterclear",
    "sendheaders",
    "feefilter",
    "sendcmpct",
    "cmpctblock",
    "getblocktxn",
    "blocktxn",
    "getcfilters",
    "cfilter",
    "getcfheaders",
    "cfheaders",
    "getcfcheckpt",
    "cfcheckpt",
    "wtxidrelay",
    "sendtxrcncl",
    "sendpackages",
    "ancpkginfo",
    "getpkgtxns",
    "pkgtxns",
];

/// The name Core gives the slot of every type not in [`MESSAGE_TYPES`].
pub const OTHER: &str = "*other*";

const SLOTS: usize = MESSAGE_TYPES.len() + 1;
const BLOCK_SLOT: usize = 12;

/// The slot of `command`.
fn slot(command: &str) -> usize {
    MESSAGE_TYPES
        .iter()
        .position(|t| *t == command)
        .unwrap_or(MESSAGE_TYPES.len())
}

/// Bytes per message type for one direction of one peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgBytes([u64; SLOTS]);

impl Default for MsgBytes {
    fn default() -> Self {
        MsgBytes([0; SLOTS])
    }
}

impl MsgBytes {
    /// Adds `bytes` to `command`'s slot.
    pub fn add(&mut self, command: &str, bytes: u64) {
        let s = &mut self.0[slot(command)];
        *s = s.saturating_add(bytes);
    }

    /// The bytes counted for `command` (unknown types share `*other*`).
    pub fn get(&self, command: &str) -> u64 {
        self.0[slot(command)]
    }

    /// The bytes of `block` messages, for the quality score's hot path.
    pub fn block(&self) -> u64 {
        self.0[BLOCK_SLOT]
    }

    /// Every type with a non-zero count, as Core's `getpeerinfo` lists them.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        MESSAGE_TYPES
            .iter()
            .copied()
            .chain([OTHER])
            .zip(self.0.iter().copied())
            .filter(|(_, n)| *n > 0)
    }

    /// The non-zero counts by name.
    pub fn to_map(&self) -> BTreeMap<String, u64> {
        self.iter().map(|(k, n)| (k.to_string(), n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_have_slots_and_unknown_ones_share_other() {
        assert_eq!(MESSAGE_TYPES[BLOCK_SLOT], "block");
        let mut m = MsgBytes::default();
        m.add("block", 100);
        m.add("block", 24);
        m.add("ping", 32);
        m.add("bogus", 30);
        m.add("alsobogus", 1);
        assert_eq!((m.block(), m.get("block"), m.get("ping")), (124, 124, 32));
        assert_eq!(m.get("nothing-known"), 31);
        let map = m.to_map();
        assert_eq!(map.len(), 3, "zero counts are not listed: {map:?}");
        assert_eq!(map[OTHER], 31);
        assert!(!map.contains_key("bogus"));
    }

    #[test]
    fn the_type_list_has_no_duplicates() {
        let mut seen = std::collections::BTreeSet::new();
        assert!(MESSAGE_TYPES.iter().all(|t| seen.insert(*t)));
    }
}
