//! BIP431 TRUC (version 3) topology rules for a single transaction, as Core's
//! `SingleTRUCChecks` in `policy/truc_policy.cpp`, over plain data about the in-mempool
//! ancestors rather than a mempool type.

use std::collections::HashSet;
use std::hash::BuildHasher;

use bitcoin::hashes::Hash;
use bitcoin::{Transaction, Txid, Wtxid};

/// Core's `TRUC_VERSION`: version 3 opts a transaction into TRUC.
pub const TRUC_VERSION: u32 = 3;
/// Core's `TRUC_ANCESTOR_LIMIT`: a TRUC transaction and its in-mempool ancestors.
pub const TRUC_ANCESTOR_LIMIT: usize = 2;
/// Core's `TRUC_DESCENDANT_LIMIT`: an unconfirmed TRUC transaction and its descendants.
pub const TRUC_DESCENDANT_LIMIT: u64 = 2;
/// Core's `TRUC_MAX_VSIZE`: sigop-adjusted vsize limit of any TRUC transaction.
pub const TRUC_MAX_VSIZE: u64 = 10_000;
/// Core's `TRUC_CHILD_MAX_VSIZE`: sigop-adjusted vsize limit of a TRUC child.
pub const TRUC_CHILD_MAX_VSIZE: u64 = 1_000;
/// The mempool's reject reason for every TRUC rule; the message is the debug text.
pub const TRUC_VIOLATION: &str = "TRUC-violation";

/// A direct in-mempool child of a [`TrucAncestor`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrucChild {
    /// The child's txid.
    pub txid: Txid,
    /// Core's `GetCountWithAncestors`: the child and all its in-mempool ancestors.
    pub count_with_ancestors: u64,
}

/// What `SingleTRUCChecks` reads of one in-mempool ancestor's mempool entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrucAncestor {
    /// The ancestor's txid.
    pub txid: Txid,
    /// The ancestor's wtxid (for messages).
    pub wtxid: Wtxid,
    /// The ancestor's `nVersion`, as Core's unsigned version.
    pub version: u32,
    /// Core's `GetCountWithDescendants`: the ancestor and all its in-mempool descendants.
    pub count_with_descendants: u64,
    /// Its direct in-mempool children (Core's `GetMemPoolChildrenConst`).
    pub children: Vec<TrucChild>,
}

/// The transaction would be a second child of a TRUC parent whose one existing child may
/// be evicted under RBF rules instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiblingEviction {
    /// The existing child to add to the replacement's conflicts.
    pub sibling: Txid,
    /// The violation to report if sibling eviction is not allowed here or fails.
    pub message: String,
}

/// A TRUC rule the transaction breaks; the text is Core's debug message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TrucViolation(pub String);

/// Core's unsigned view of a transaction's version.
fn version(tx: &Transaction) -> u32 {
    tx.version.0 as u32
}

/// Core's `SingleTRUCChecks` for `tx` of sigop-adjusted size `vsize`, given all its
/// in-mempool `ancestors` and the txids it directly conflicts with.
///
/// `Ok(None)`: no TRUC rule is broken. `Ok(Some(_))`: only the descendant limit is, and an
/// existing sibling could be evicted instead. `Err(_)`: a rule is broken outright.
pub fn single_truc_checks<S: BuildHasher>(
    tx: &Transaction,
    ancestors: &[TrucAncestor],
    direct_conflicts: &HashSet<Txid, S>,
    vsize: u64,
) -> Result<Option<SiblingEviction>, TrucViolation> {
    let is_truc = version(tx) == TRUC_VERSION;
    let name = || format!("{} (wtxid={})", tx.compute_txid(), tx.compute_wtxid());

    // Inheritance: Core walks its ancestor set in txid byte order, so the first mismatch
    // it reports is the mismatched ancestor with the lowest txid.
    let mismatched = ancestors
        .iter()
        .filter(|a| (a.version == TRUC_VERSION) != is_truc)
        .min_by_key(|a| a.txid.to_byte_array());
    if let Some(a) = mismatched {
        let (this, other) = if is_truc {
            ("version=3", "non-version=3")
        } else {
            ("non-version=3", "version=3")
        };
        return Err(TrucViolation(format!(
            "{this} tx {} cannot spend from {other} tx {} (wtxid={})",
            name(),
            a.txid,
            a.wtxid
        )));
    }
    if !is_truc {
        return Ok(None);
    }
    if vsize > TRUC_MAX_VSIZE {
        return Err(TrucViolation(format!(
            "version=3 tx {} is too big: {vsize} > {TRUC_MAX_VSIZE} virtual bytes",
            name()
        )));
    }
    if ancestors.len() + 1 > TRUC_ANCESTOR_LIMIT {
        return Err(TrucViolation(format!("tx {} would have too many ancestors", name())));
    }
    // With the ancestor limit at 2, there is at most the one parent.
    let Some(parent) = ancestors.first() else {
        return Ok(None);
    };
    if vsize > TRUC_CHILD_MAX_VSIZE {
        return Err(TrucViolation(format!(
            "version=3 child tx {} is too big: {vsize} > {TRUC_CHILD_MAX_VSIZE} virtual bytes",
            name()
        )));
    }
    // A child this transaction replaces does not count against the parent; any TRUC
    // descendant is a direct child, so the children are all there is to look at.
    let child_will_be_replaced = parent.children.iter().any(|c| direct_conflicts.contains(&c.txid));
    // This transaction would bring the parent's descendant count to one more than now.
    if parent.count_with_descendants < TRUC_DESCENDANT_LIMIT || child_will_be_replaced {
        return Ok(None);
    }
    let message = format!(
        "tx {} (wtxid={}) would exceed descendant count limit",
        parent.txid, parent.wtxid
    );
    // Evict only a lone sibling without descendants of its own (a reorg can leave more).
    let first_child = parent.children.iter().min_by_key(|c| c.txid.to_byte_array());
    match first_child {
        Some(child) if parent.count_with_descendants == 2 && child.count_with_ancestors == 2 => {
            Ok(Some(SiblingEviction {
                sibling: child.txid,
                message,
            }))
        }
        _ => Err(TrucViolation(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::policy::standard::{virtual_size, DEFAULT_BYTES_PER_SIGOP};
    use bitcoin::hashes::Hash;
    use bitcoin::{absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, TxIn, TxOut, Witness};

    /// Core's txvalidation_tests `make_tx`: spends `inputs`, one OP_TRUE output.
    fn make_tx(inputs: &[OutPoint], version: i32) -> Transaction {
        Transaction {
            version: transaction::Version(version),
            lock_time: absolute::LockTime::ZERO,
            input: inputs
                .iter()
                .map(|&previous_output| TxIn {
                    previous_output,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::MAX,
                    witness: Witness::from_slice(&[[0x51u8]]),
                })
                .collect(),
            output: vec![TxOut {
                value: Amount::from_sat(10_000),
                script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
            }],
        }
    }

    fn outpoint(seed: u8, vout: u32) -> OutPoint {
        OutPoint::new(Txid::from_byte_array([seed; 32]), vout)
    }

    fn vsize(tx: &Transaction) -> u64 {
        virtual_size(tx.weight().to_wu(), 0, 0)
    }

    fn ancestor(tx: &Transaction, descendants: u64, children: Vec<TrucChild>) -> TrucAncestor {
        TrucAncestor {
            txid: tx.compute_txid(),
            wtxid: tx.compute_wtxid(),
            version: tx.version.0 as u32,
            count_with_descendants: descendants,
            children,
        }
    }

    fn name(tx: &Transaction) -> String {
        format!("{} (wtxid={})", tx.compute_txid(), tx.compute_wtxid())
    }

    fn check(
        tx: &Transaction,
        ancestors: &[TrucAncestor],
        conflicts: &[Txid],
    ) -> Result<Option<SiblingEviction>, TrucViolation> {
        let conflicts: HashSet<Txid> = conflicts.iter().copied().collect();
        single_truc_checks(tx, ancestors, &conflicts, vsize(tx))
    }

    fn err(msg: String) -> Result<Option<SiblingEviction>, TrucViolation> {
        Err(TrucViolation(msg))
    }

    /// txvalidation_tests.cpp `version3_tests`: inheritance.
    #[test]
    fn core_inheritance() {
        let v3 = make_tx(&[outpoint(1, 0)], 3);
        let v2 = make_tx(&[outpoint(2, 0)], 2);
        let (a3, a2) = (ancestor(&v3, 1, vec![]), ancestor(&v2, 1, vec![]));

        let v2_from_v3 = make_tx(&[OutPoint::new(v3.compute_txid(), 0)], 2);
        let expected = format!(
            "non-version=3 tx {} cannot spend from version=3 tx {}",
            name(&v2_from_v3),
            name(&v3)
        );
        assert_eq!(check(&v2_from_v3, std::slice::from_ref(&a3), &[]), err(expected));
        let both = make_tx(
            &[OutPoint::new(v3.compute_txid(), 0), OutPoint::new(v2.compute_txid(), 0)],
            2,
        );
        let expected = format!(
            "non-version=3 tx {} cannot spend from version=3 tx {}",
            name(&both),
            name(&v3)
        );
        assert_eq!(check(&both, &[a2.clone(), a3.clone()], &[]), err(expected));

        let v3_from_v2 = make_tx(&[OutPoint::new(v2.compute_txid(), 0)], 3);
        let expected = format!(
            "version=3 tx {} cannot spend from non-version=3 tx {}",
            name(&v3_from_v2),
            name(&v2)
        );
        assert_eq!(check(&v3_from_v2, std::slice::from_ref(&a2), &[]), err(expected));
        // Also over the ancestor limit, but inheritance is checked first.
        let both = make_tx(
            &[OutPoint::new(v3.compute_txid(), 0), OutPoint::new(v2.compute_txid(), 0)],
            3,
        );
        let expected = format!(
            "version=3 tx {} cannot spend from non-version=3 tx {}",
            name(&both),
            name(&v2)
        );
        assert_eq!(check(&both, &[a3.clone(), a2.clone()], &[]), err(expected));

        let v3_from_v3 = make_tx(&[OutPoint::new(v3.compute_txid(), 0)], 3);
        assert_eq!(check(&v3_from_v3, &[a3], &[]), Ok(None));
        let v2_from_v2 = make_tx(&[OutPoint::new(v2.compute_txid(), 0)], 2);
        assert_eq!(check(&v2_from_v2, &[a2], &[]), Ok(None));
    }

    /// The reported ancestor is the lowest txid in byte order, as Core's set iterates.
    #[test]
    fn inheritance_reports_lowest_txid() {
        let parents: Vec<Transaction> = (10..14).map(|i| make_tx(&[outpoint(i, 0)], 3)).collect();
        let ancestors: Vec<TrucAncestor> = parents.iter().map(|p| ancestor(p, 2, vec![])).collect();
        let lowest = parents
            .iter()
            .min_by_key(|p| p.compute_txid().to_byte_array())
            .map(name);
        let child = make_tx(
            &parents
                .iter()
                .map(|p| OutPoint::new(p.compute_txid(), 0))
                .collect::<Vec<_>>(),
            2,
        );
        let got = check(&child, &ancestors, &[]).err().map(|e| e.0);
        let want = lowest.map(|l| format!("non-version=3 tx {} cannot spend from version=3 tx {l}", name(&child)));
        assert_eq!(got, want);
        let mut reversed = ancestors.clone();
        reversed.reverse();
        assert_eq!(check(&child, &reversed, &[]).err().map(|e| e.0), want);
    }

    /// `version3_tests`: ancestor limit, both shapes.
    #[test]
    fn core_too_many_ancestors() {
        let parents: Vec<Transaction> = (1..4).map(|i| make_tx(&[outpoint(i, 0)], 3)).collect();
        let ancestors: Vec<TrucAncestor> = parents.iter().map(|p| ancestor(p, 1, vec![])).collect();
        let multi_parent = make_tx(
            &parents
                .iter()
                .map(|p| OutPoint::new(p.compute_txid(), 0))
                .collect::<Vec<_>>(),
            3,
        );
        let expected = format!("tx {} would have too many ancestors", name(&multi_parent));
        assert_eq!(check(&multi_parent, &ancestors, &[]), err(expected));

        let grandparent = make_tx(&[outpoint(5, 0)], 3);
        let parent = make_tx(&[OutPoint::new(grandparent.compute_txid(), 0)], 3);
        let child = make_tx(&[OutPoint::new(parent.compute_txid(), 0)], 3);
        let ancestors = [ancestor(&grandparent, 2, vec![]), ancestor(&parent, 1, vec![])];
        let expected = format!("tx {} would have too many ancestors", name(&child));
        assert_eq!(check(&child, &ancestors, &[]), err(expected));
    }

    /// `version3_tests`: size limits, by weight and by sigops.
    #[test]
    fn core_too_big() {
        let parent = make_tx(&[outpoint(1, 0)], 3);
        let a = ancestor(&parent, 1, vec![]);
        let mut inputs: Vec<OutPoint> = (0..100).map(|i| outpoint(9, i)).collect();
        inputs.push(OutPoint::new(parent.compute_txid(), 0));
        let big = make_tx(&inputs, 3);
        let size = vsize(&big);
        assert!(size > TRUC_CHILD_MAX_VSIZE && size <= TRUC_MAX_VSIZE);
        let expected = format!(
            "version=3 child tx {} is too big: {size} > 1000 virtual bytes",
            name(&big)
        );
        assert_eq!(check(&big, std::slice::from_ref(&a), &[]), err(expected));
        // Without a parent the same transaction is fine; over 10,000 it never is.
        assert_eq!(check(&big, &[], &[]), Ok(None));
        let none: HashSet<Txid> = HashSet::new();
        let expected = format!("version=3 tx {} is too big: 10001 > 10000 virtual bytes", name(&big));
        assert_eq!(single_truc_checks(&big, &[], &none, 10_001), err(expected));

        // 11 inputs of 20 legacy-counted sigops each: small by weight, 1100 vB by sigops.
        let small: Vec<OutPoint> = (0..11).map(|i| outpoint(8, i)).collect();
        let many_sigops = make_tx(&small, 3);
        assert_eq!(
            single_truc_checks(&many_sigops, std::slice::from_ref(&a), &none, vsize(&many_sigops)),
            Ok(None)
        );
        let sigop_vsize = virtual_size(many_sigops.weight().to_wu(), 11 * 20, DEFAULT_BYTES_PER_SIGOP);
        assert_eq!(sigop_vsize, 11 * 20 * 20 / 4);
        let expected = format!(
            "version=3 child tx {} is too big: 1100 > 1000 virtual bytes",
            name(&many_sigops)
        );
        assert_eq!(
            single_truc_checks(&many_sigops, &[a], &none, sigop_vsize),
            err(expected)
        );
    }

    /// `version3_tests`: one child allowed, a second offers sibling eviction.
    #[test]
    fn core_descendant_limit_and_sibling_eviction() {
        let parent = make_tx(&[outpoint(1, 0)], 3);
        let child = make_tx(&[OutPoint::new(parent.compute_txid(), 0)], 3);
        assert_eq!(check(&child, &[ancestor(&parent, 1, vec![])], &[]), Ok(None));

        let sibling = TrucChild {
            txid: child.compute_txid(),
            count_with_ancestors: 2,
        };
        let with_child = ancestor(&parent, 2, vec![sibling.clone()]);
        let child2 = make_tx(&[OutPoint::new(parent.compute_txid(), 1)], 3);
        let message = format!("tx {} would exceed descendant count limit", name(&parent));
        let eviction = SiblingEviction {
            sibling: child.compute_txid(),
            message: message.clone(),
        };
        assert_eq!(
            check(&child2, std::slice::from_ref(&with_child), &[]),
            Ok(Some(eviction))
        );
        // Directly replacing the child is not double-counted.
        assert_eq!(check(&child2, &[with_child], &[child.compute_txid()]), Ok(None));

        // Two children already (after a reorg): no sibling to evict.
        let child2_entry = TrucChild {
            txid: child2.compute_txid(),
            count_with_ancestors: 2,
        };
        let two_children = ancestor(&parent, 3, vec![sibling, child2_entry]);
        let child3 = make_tx(&[OutPoint::new(parent.compute_txid(), 24)], 3);
        assert_eq!(check(&child3, &[two_children], &[]), err(message));

        // The sibling has its own child: no eviction either.
        let grandparent = make_tx(&[outpoint(2, 0)], 3);
        let sibling = make_tx(&[OutPoint::new(grandparent.compute_txid(), 0)], 3);
        let entry = TrucChild {
            txid: sibling.compute_txid(),
            count_with_ancestors: 2,
        };
        let three_gen = ancestor(&grandparent, 3, vec![entry]);
        let submit = make_tx(&[OutPoint::new(grandparent.compute_txid(), 1)], 3);
        let expected = format!("tx {} would exceed descendant count limit", name(&grandparent));
        assert_eq!(check(&submit, &[three_gen], &[]), err(expected.clone()));

        // The sibling has a second unconfirmed parent (after a reorg): no eviction either.
        let entry = TrucChild {
            txid: sibling.compute_txid(),
            count_with_ancestors: 3,
        };
        let two_parents = ancestor(&grandparent, 2, vec![entry]);
        assert_eq!(check(&submit, &[two_parents], &[]), err(expected));
    }

    #[test]
    fn non_truc_ignores_truc_limits() {
        let parent = make_tx(&[outpoint(1, 0)], 2);
        let child = make_tx(&[OutPoint::new(parent.compute_txid(), 0)], 2);
        let none: HashSet<Txid> = HashSet::new();
        let many = vec![ancestor(&parent, 5, vec![]); 3];
        assert_eq!(single_truc_checks(&child, &many, &none, 50_000), Ok(None));
        // A negative i32 version is a huge unsigned one, not TRUC.
        let odd = make_tx(&[outpoint(3, 0)], -3);
        assert_eq!(single_truc_checks(&odd, &[], &none, 50_000), Ok(None));
    }
}
