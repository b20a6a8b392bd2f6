//! Core-format JSON for amounts, scripts and transactions: pure functions whose output is
//! byte-for-byte what Bitcoin Core prints, so Core's clients parse it and outputs diff clean.
//!
//! Relies on serde_json's `arbitrary_precision` (numbers keep Core's text, e.g. `0.00010000`)
//! and `preserve_order` (objects keep Core's key order).

mod amount;
mod asm;
mod decode;
mod descriptor;
mod output_desc;
mod solver;
mod tx;

pub use amount::{amount, difficulty, double, parse_btc};
pub use asm::script_asm;
pub use decode::decode_tx_hex;
pub use descriptor::{descriptor_checksum, infer_descriptor, script_pubkey_json};
pub use output_desc::{decode_address, descriptor_script};
pub use solver::script_type;
pub use tx::{tx_to_json, PrevoutInfo, TxJsonOptions};
