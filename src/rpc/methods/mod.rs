//! The method table: Core's names, parameter names, categories and help, and the calls.

mod bans;
mod blockchain;
mod blocks;
mod control;
mod gbt;
mod generate;
mod mempool;
mod mining;
mod net;
mod rawtx;

use serde_json::Value;

use super::context::RpcContext;
use super::error::{code, RpcError, RpcResult};
use super::params::Params;

pub use blocks::{block_json, header_json};
pub use mempool::{mempool_contents, mempool_info};
pub use mining::MiningState;
pub(crate) use rawtx::indexed_tx;

/// One RPC method.
pub struct Method {
    /// Its name.
    pub name: &'static str,
    /// The `help` section it is listed under.
    pub category: &'static str,
    /// Parameter names, for named arguments.
    pub params: &'static [&'static str],
    /// How many leading parameters are required.
    pub required: usize,
    /// The help text: a usage line, a description, then arguments and result.
    pub help: &'static str,
    /// The call.
    pub run: fn(&RpcContext, &Params) -> RpcResult,
}

/// Every method, in `help` order within each category.
pub fn table() -> &'static [Method] {
    static TABLE: std::sync::OnceLock<Vec<Method>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Vec::new();
        t.extend(blockchain::methods());
        t.extend(blocks::methods());
        t.extend(control::methods());
        t.extend(generate::methods());
        t.extend(mempool::methods());
        t.extend(mining::methods());
        t.extend(net::methods());
        t.extend(bans::methods());
        t.extend(rawtx::methods());
        t
    })
}

/// Runs `name` with `params` (array, object or null).
pub fn call(ctx: &RpcContext, name: &str, params: &Value) -> RpcResult {
    let Some(m) = table().iter().find(|m| m.name == name) else {
        return Err(RpcError::new(code::METHOD_NOT_FOUND, "Method not found"));
    };
    let p = match Params::bind(m.params, m.required, params) {
        Ok(p) => p,
        Err(Some(e)) => return Err(e),
        // Core answers a wrong argument count with the method's help.
        Err(None) => return Err(RpcError::misc(m.help)),
    };
    (m.run)(ctx, &p)
}
