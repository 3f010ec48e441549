//! The JSON-RPC errors vanguard itself sends, and their codes.
//!
//! Codes -32768..=-32000 are reserved by JSON-RPC (and MCP assigns some of
//! the -32000..=-32099 server range), so vanguard's own errors live at
//! -31xxx where no spec or SDK will collide with them.

use serde_json::{json, Value};

use super::message::RequestId;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
/// A request was blocked by policy; `data` names the rule.
pub const POLICY_BLOCKED: i64 = -31001;
/// The upstream server exited before it answered.
pub const UPSTREAM_EXITED: i64 = -31002;
/// The upstream server could not be written to (its stdin is gone).
pub const UPSTREAM_UNAVAILABLE: i64 = -31003;
/// The server's reply could not be read within vanguard's limits (too long,
/// not UTF-8, not JSON, nested too deep), so it was not relayed.
pub const UPSTREAM_UNREADABLE: i64 = -31004;
/// The agent already has `[limits] max_in_flight` requests waiting for the
/// server; this one was not forwarded.
pub const TOO_MANY_IN_FLIGHT: i64 = -31005;

/// Serialises an error response as one line (with the newline).
pub fn error_line(
    id: Option<&RequestId>,
    code: i64,
    message: &str,
    data: Option<Value>,
) -> Vec<u8> {
    let id = id.map(RequestId::to_value).unwrap_or(Value::Null);
    let error = match data {
        Some(d) => json!({ "code": code, "message": message, "data": d }),
        None => json!({ "code": code, "message": message }),
    };
    let mut out = serde_json::to_vec(&json!({ "jsonrpc": "2.0", "id": id, "error": error }))
        .unwrap_or_default();
    out.push(b'\n');
    out
}
