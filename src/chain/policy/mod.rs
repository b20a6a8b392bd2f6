//! Relay policy as Core's `policy/`: fee rates, script templates, standardness of outputs,
//! inputs and witnesses, dust and ephemeral dust, and BIP431 TRUC topology rules.

pub mod dust;
pub mod feerate;
pub mod inputs;
pub mod solver;
pub mod standard;
pub mod truc;

pub use dust::{get_dust, get_dust_threshold, is_dust, pre_check_ephemeral_tx, DustWithFee};
pub use feerate::FeeRate;
pub use inputs::{are_inputs_standard, is_witness_standard, NONSTANDARD_INPUTS, NONSTANDARD_WITNESS};
pub use solver::{solver, TxoutType};
pub use standard::{is_standard, is_standard_tx, virtual_size, PolicyOptions};
pub use truc::{single_truc_checks, SiblingEviction, TrucAncestor, TrucChild, TrucViolation};
