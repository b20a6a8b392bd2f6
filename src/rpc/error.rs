//! RPC errors with Core's codes and messages.

use serde_json::{json, Value};

/// Core's `RPCErrorCode` values that weft returns.
pub mod code {
    /// `RPC_MISC_ERROR`: also wrong argument counts (the help text is the message).
    pub const MISC_ERROR: i64 = -1;
    /// `RPC_TYPE_ERROR`.
    pub const TYPE_ERROR: i64 = -3;
    /// `RPC_INVALID_ADDRESS_OR_KEY`: also "not found" for blocks and transactions.
    pub const INVALID_ADDRESS_OR_KEY: i64 = -5;
    /// `RPC_OUT_OF_MEMORY`.
    pub const OUT_OF_MEMORY: i64 = -7;
    /// `RPC_INVALID_PARAMETER`.
    pub const INVALID_PARAMETER: i64 = -8;
    /// `RPC_DATABASE_ERROR`.
    pub const DATABASE_ERROR: i64 = -20;
    /// `RPC_DESERIALIZATION_ERROR`.
    pub const DESERIALIZATION_ERROR: i64 = -22;
    /// `RPC_CLIENT_NODE_ALREADY_ADDED`.
    pub const CLIENT_NODE_ALREADY_ADDED: i64 = -23;
    /// `RPC_CLIENT_NODE_NOT_ADDED`.
    pub const CLIENT_NODE_NOT_ADDED: i64 = -24;
    /// `RPC_IN_WARMUP`.
    pub const IN_WARMUP: i64 = -28;
    /// `RPC_CLIENT_NODE_NOT_CONNECTED`.
    pub const CLIENT_NODE_NOT_CONNECTED: i64 = -29;
    /// `RPC_INVALID_REQUEST`.
    pub const INVALID_REQUEST: i64 = -32600;
    /// `RPC_METHOD_NOT_FOUND`.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// `RPC_INVALID_PARAMS`.
    pub const INVALID_PARAMS: i64 = -32602;
    /// `RPC_INTERNAL_ERROR`.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// `RPC_PARSE_ERROR`.
    pub const PARSE_ERROR: i64 = -32700;
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code})")]
pub struct RpcError {
    /// Core's code.
    pub code: i64,
    /// Core's message.
    pub message: String,
}

impl RpcError {
    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// `RPC_INVALID_PARAMETER`.
    pub fn invalid_param(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMETER, message)
    }

    /// `RPC_INVALID_ADDRESS_OR_KEY`, Core's "not found".
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_ADDRESS_OR_KEY, message)
    }

    /// `RPC_MISC_ERROR`.
    pub fn misc(message: impl Into<String>) -> Self {
        Self::new(code::MISC_ERROR, message)
    }

    /// `RPC_DATABASE_ERROR` for a store failure.
    pub fn database(e: impl std::fmt::Display) -> Self {
        Self::new(code::DATABASE_ERROR, e.to_string())
    }

    /// The JSON `error` object.
    pub fn to_json(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
    }
}

/// The result of one method call.
pub type RpcResult = Result<Value, RpcError>;
