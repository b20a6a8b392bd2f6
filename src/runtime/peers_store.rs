//! `peers.redb` in the data dir: the address manager and the ban list, so a restart
//! keeps what the node learnt about the network and whom it banned (Core's
//! `peers.dat` and `banlist.json`).

use std::path::Path;

use redb::{Database, ReadableDatabase, TableDefinition};
use tracing::{info, warn};

use crate::p2p::addrman::AddrMan;
use crate::p2p::bans::BanMan;
use crate::p2p::{Node, Time};

const PEERS: TableDefinition<&str, &[u8]> = TableDefinition::new("peers");
const ADDRMAN_KEY: &str = "addrman";
const BANLIST_KEY: &str = "banlist";

/// A failure of the peers database.
#[derive(Debug, thiserror::Error)]
#[error("peers database: {0}")]
pub struct PeersStoreError(String);

fn err(e: impl std::fmt::Display) -> PeersStoreError {
    PeersStoreError(e.to_string())
}

/// The open peers database.
pub struct PeersStore {
    db: Database,
}

impl PeersStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, PeersStoreError> {
        Ok(PeersStore {
            db: Database::create(path).map_err(err)?,
        })
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PeersStoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = match txn.open_table(PEERS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        Ok(table.get(key).map_err(err)?.map(|v| v.value().to_vec()))
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), PeersStoreError> {
        let txn = self.db.begin_write().map_err(err)?;
        {
            let mut table = txn.open_table(PEERS).map_err(err)?;
            table.insert(key, value).map_err(err)?;
        }
        txn.commit().map_err(err)
    }

    /// Loads what was stored into a fresh node. A corrupt or mismatched record is
    /// logged and skipped (the node starts without it), never fatal: both are caches
    /// of what the network tells us again.
    pub fn load_into(&self, node: &mut Node, now: Time) {
        match self.get(ADDRMAN_KEY) {
            Ok(Some(bytes)) => match AddrMan::decode(&bytes, now, node.config().allow_local_addrs) {
                Ok(am) => {
                    let n = am.size(None, None);
                    if node.restore_addrman(am) {
                        info!(target: "net", "Loaded {n} addresses from peers.redb");
                    }
                }
                Err(e) => {
                    warn!(target: "net", "Invalid or corrupt peers.redb addrman ({e}); starting with an empty one")
                }
            },
            Ok(None) => info!(target: "net", "peers.redb has no addresses yet; starting with an empty addrman"),
            Err(e) => warn!(target: "net", "{e}"),
        }
        match self.get(BANLIST_KEY) {
            Ok(Some(bytes)) => match BanMan::decode_bans(&bytes, now) {
                Ok(bans) => {
                    node.restore_bans(bans);
                    let n = node.list_banned(now).len();
                    info!(target: "net", "Loaded {n} banned node addresses/subnets");
                }
                Err(e) => warn!(target: "net", "Invalid or corrupt ban list ({e}); starting with none"),
            },
            Ok(None) => {}
            Err(e) => warn!(target: "net", "{e}"),
        }
    }

    /// Stores the address manager.
    pub fn save_addrman(&self, node: &Node) -> Result<(), PeersStoreError> {
        self.put(ADDRMAN_KEY, &node.addrman().encode())
    }

    /// Stores the ban list if it changed.
    pub fn save_bans_if_dirty(&self, node: &mut Node) -> Result<(), PeersStoreError> {
        match node.take_dirty_bans() {
            Some(bytes) => self.put(BANLIST_KEY, &bytes),
            None => Ok(()),
        }
    }
}
