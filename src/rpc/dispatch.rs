//! The JSON-RPC envelope as Core handles it: single calls and batches, JSON-RPC 1.0
//! (Core's legacy replies and HTTP statuses) and 2.0 (always 200, notifications).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::context::RpcContext;
use super::error::{code, RpcError};
use super::methods;
use super::{rest, BoxFuture, HttpReply, Service};

/// The one JSON-RPC handler behind both doors.
#[derive(Clone)]
pub struct RpcHandler {
    ctx: Arc<RpcContext>,
}

impl RpcHandler {
    /// A handler over `ctx`.
    pub fn new(ctx: Arc<RpcContext>) -> Self {
        RpcHandler { ctx }
    }

    /// The context, for callers that need it after start.
    pub fn context(&self) -> &Arc<RpcContext> {
        &self.ctx
    }
}

impl Service for RpcHandler {
    fn json_rpc(&self, body: Bytes) -> BoxFuture<HttpReply> {
        let ctx = self.ctx.clone();
        // Methods lock the chain and may wait on the network: keep them off the I/O threads.
        Box::pin(async move {
            tokio::task::spawn_blocking(move || handle_body(&ctx, &body))
                .await
                .unwrap_or_else(|e| {
                    let err = RpcError::new(code::INTERNAL_ERROR, format!("internal error: {e}"));
                    HttpReply::json(500, legacy_reply(Err(err), &Value::Null).to_string())
                })
        })
    }

    fn rest(&self, path_and_query: String) -> BoxFuture<HttpReply> {
        let ctx = self.ctx.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || rest::handle(&ctx, &path_and_query))
                .await
                .unwrap_or_else(|e| HttpReply::text(500, format!("internal error: {e}\r\n")))
        })
    }
}

/// Whether a request asked for JSON-RPC 2.0.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    Legacy,
    V2,
}

/// Answers a whole HTTP body.
pub fn handle_body(ctx: &RpcContext, body: &[u8]) -> HttpReply {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return error_reply(RpcError::new(code::PARSE_ERROR, "Parse error")),
    };
    match parsed {
        Value::Object(req) => match handle_one(ctx, &req) {
            (Some(reply), status) => HttpReply::json(status, reply.to_string()),
            // A JSON-RPC 2.0 notification gets no body.
            (None, _) => HttpReply::json(204, Bytes::new()),
        },
        Value::Array(batch) => {
            let replies: Vec<Value> = batch
                .iter()
                .filter_map(|r| match r {
                    Value::Object(req) => handle_one(ctx, req).0,
                    _ => Some(legacy_reply(
                        Err(RpcError::new(code::INVALID_REQUEST, "Invalid Request object")),
                        &Value::Null,
                    )),
                })
                .collect();
            HttpReply::json(200, Value::Array(replies).to_string())
        }
        _ => error_reply(RpcError::new(code::PARSE_ERROR, "Top-level object parse error")),
    }
}

/// A request that failed before a method ran, answered the legacy way.
fn error_reply(err: RpcError) -> HttpReply {
    let status = legacy_status(&err);
    HttpReply::json(status, legacy_reply(Err(err), &Value::Null).to_string())
}

/// Core's HTTP status for a legacy error reply.
fn legacy_status(err: &RpcError) -> u16 {
    match err.code {
        code::INVALID_REQUEST => 400,
        code::METHOD_NOT_FOUND => 404,
        _ => 500,
    }
}

fn legacy_reply(outcome: Result<Value, RpcError>, id: &Value) -> Value {
    match outcome {
        Ok(result) => json!({ "result": result, "error": null, "id": id }),
        Err(e) => json!({ "result": null, "error": e.to_json(), "id": id }),
    }
}

/// One call: the reply (none for a 2.0 notification) and the HTTP status it alone would get.
fn handle_one(ctx: &RpcContext, req: &Map<String, Value>) -> (Option<Value>, u16) {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let version = match req.get("jsonrpc") {
        None => Version::Legacy,
        Some(Value::String(v)) if v == "2.0" => Version::V2,
        Some(Value::String(v)) if v == "1.0" => Version::Legacy,
        Some(_) => {
            let err = RpcError::new(code::INVALID_REQUEST, "JSON-RPC version not supported");
            let status = legacy_status(&err);
            return (Some(legacy_reply(Err(err), &id)), status);
        }
    };
    let outcome = match req.get("method") {
        Some(Value::String(m)) => {
            tracing::debug!(target: "rpc", "ThreadRPCServer method={m}");
            methods::call(ctx, m, req.get("params").unwrap_or(&Value::Null))
        }
        None => Err(RpcError::new(code::INVALID_REQUEST, "Missing method")),
        Some(_) => Err(RpcError::new(code::INVALID_REQUEST, "Method must be a string")),
    };
    match version {
        Version::Legacy => {
            let status = outcome.as_ref().err().map_or(200, legacy_status);
            (Some(legacy_reply(outcome, &id)), status)
        }
        Version::V2 => {
            if !req.contains_key("id") {
                return (None, 204);
            }
            let reply = match outcome {
                Ok(result) => json!({ "jsonrpc": "2.0", "result": result, "id": id }),
                Err(e) => json!({ "jsonrpc": "2.0", "error": e.to_json(), "id": id }),
            };
            (Some(reply), 200)
        }
    }
}
