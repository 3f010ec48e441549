//! The stateless 2026-07-28 revision: no handshake, no `Mcp-Session-Id`;
//! each POST is self-contained and mirrors its method (and tool, prompt or
//! resource name) in `Mcp-Method` / `Mcp-Name` headers.
//!
//! Design: **one upstream per principal**, started on the principal's first
//! request and ended by the idle timeout like any session. A pool shared
//! by all principals would mix their tool filters and audit identities;
//! one upstream per request would pay a sandboxed spawn per call. Requests
//! of one principal share its upstream, so their ids are rewritten to
//! unique ones (`vg-sl-N`) and restored on the reply — the only change to
//! the bytes forwarded. The headers are only checked for agreement with
//! the body (mismatch: HTTP 400, JSON-RPC -32020); policy is decided on
//! the body, as everywhere. Server-initiated messages have no stream to go
//! to in this revision and are not relayed.

use super::mcp::Requests;
use super::sessions::{Kind, McpSession};
use super::{json_response, rpc_error_response, sse, sse_response, Resp, Server};
use crate::auth::Principal;
use crate::protocol::errors::{INVALID_REQUEST, PARSE_ERROR};
use crate::protocol::message::RequestId;
use bytes::Bytes;
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// JSON-RPC error for headers that disagree with the body (2026-07-28).
pub const HEADER_MISMATCH: i64 = -32020;

#[derive(Default)]
pub struct Pool {
    by_principal: Mutex<HashMap<String, Arc<McpSession>>>,
    next_id: AtomicU64,
    /// Serialises upstream start-up so one principal gets one upstream.
    starting: tokio::sync::Mutex<()>,
}

impl Pool {
    /// Drops the pool's reference to an ended session.
    pub fn forget(&self, s: &McpSession) {
        if let Ok(mut m) = self.by_principal.lock() {
            m.retain(|_, v| v.id != s.id);
        }
    }

    fn get(&self, key: &str) -> Option<Arc<McpSession>> {
        let m = self.by_principal.lock().ok()?;
        m.get(key).filter(|s| !s.is_ended()).cloned()
    }
}

/// Checks `Mcp-Method` and `Mcp-Name` against the body.
pub fn check_headers(
    method_hdr: Option<&str>,
    name_hdr: Option<&str>,
    body: &Value,
) -> Result<(), String> {
    let method = body
        .get("method")
        .and_then(Value::as_str)
        .ok_or("the body has no method")?;
    match method_hdr {
        None => return Err("Mcp-Method header is required".into()),
        Some(m) if m != method => {
            return Err(format!(
                "Mcp-Method {m:?} does not match the body's method {method:?}"
            ))
        }
        _ => {}
    }
    let key = match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
        _ => None,
    };
    let named = key.and_then(|k| body.get("params")?.get(k)?.as_str());
    match (name_hdr, named) {
        (None, None) => Ok(()),
        (Some(h), Some(b)) if h == b => Ok(()),
        (None, Some(_)) => Err("Mcp-Name header is required for this method".into()),
        (Some(h), None) => Err(format!("Mcp-Name {h:?} names nothing in the body")),
        (Some(h), Some(b)) => Err(format!("Mcp-Name {h:?} does not match the body's {b:?}")),
    }
}

pub async fn post(
    srv: &Arc<Server>,
    parts: &Parts,
    body: Bytes,
    reqs: Requests,
    who: Option<Principal>,
    wants_sse: bool,
) -> Resp {
    if reqs.batch {
        return rpc_error_response(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "batches are not part of this revision",
        );
    }
    let mut msg: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return rpc_error_response(StatusCode::BAD_REQUEST, PARSE_ERROR, &e.to_string()),
    };
    let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
    if let Err(why) = check_headers(header("mcp-method"), header("mcp-name"), &msg) {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let err = json!({"jsonrpc": "2.0", "id": id, "error": {"code": HEADER_MISMATCH, "message": format!("Header mismatch: {why}")}});
        return json_response(
            StatusCode::BAD_REQUEST,
            serde_json::to_vec(&err).unwrap_or_default(),
        );
    }
    let session = match session_for(srv, who.as_ref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    session.touch();
    let Some(original_id) = msg.get("id").cloned().filter(|_| !reqs.ids.is_empty()) else {
        // A notification (or a client's reply): nothing comes back.
        return match session.send(&body).await {
            Ok(()) => {
                let mut r = Response::new(super::body::OutBody::empty());
                *r.status_mut() = StatusCode::ACCEPTED;
                r
            }
            Err(_) => rpc_error_response(StatusCode::BAD_GATEWAY, -31003, "the server is gone"),
        };
    };
    let unique = json!(format!(
        "vg-sl-{}",
        srv.stateless.next_id.fetch_add(1, Ordering::Relaxed)
    ));
    let Some(rid) = RequestId::from_value(&unique) else {
        return rpc_error_response(StatusCode::INTERNAL_SERVER_ERROR, -32603, "id");
    };
    // `msg` is an object: it has an id (`original_id`).
    if let Some(id) = msg.get_mut("id") {
        *id = unique;
    }
    let line = serde_json::to_vec(&msg).unwrap_or_default();
    let ids = [(rid, false)];
    let mut rx = match session.expect_replies(&ids) {
        Ok(rx) => rx,
        Err(_) => return rpc_error_response(StatusCode::BAD_GATEWAY, -31003, "the server is gone"),
    };
    if session.send(&line).await.is_err() {
        session.forget(&ids);
        return rpc_error_response(StatusCode::BAD_GATEWAY, -31003, "the server is gone");
    }
    let Some(reply) = rx.recv().await else {
        return rpc_error_response(
            StatusCode::BAD_GATEWAY,
            -31002,
            "the server ended before it answered",
        );
    };
    let mut reply: Value = match serde_json::from_slice(&reply) {
        Ok(v) => v,
        Err(_) => return rpc_error_response(StatusCode::BAD_GATEWAY, -32603, "unreadable reply"),
    };
    // Replies are routed by their id, so `reply` is an object.
    let Some(fields) = reply.as_object_mut() else {
        return rpc_error_response(StatusCode::BAD_GATEWAY, -32603, "unreadable reply");
    };
    fields.insert("id".to_owned(), original_id);
    let out = serde_json::to_vec(&reply).unwrap_or_default();
    let json_ok = super::accepts(header("accept"), "application/json");
    if wants_sse && !json_ok {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let _ = tx.try_send(sse::event(None, None, &out));
        return sse_response(rx);
    }
    json_response(StatusCode::OK, out)
}

async fn session_for(srv: &Arc<Server>, who: Option<&Principal>) -> Result<Arc<McpSession>, Resp> {
    let key = who.map(|p| p.subject.clone()).unwrap_or_default();
    if let Some(s) = srv.stateless.get(&key) {
        return Ok(s);
    }
    let _one = srv.stateless.starting.lock().await;
    if let Some(s) = srv.stateless.get(&key) {
        return Ok(s);
    }
    let s = srv.start_session(Kind::Stateless, who)?;
    if let Ok(mut m) = srv.stateless.by_principal.lock() {
        m.insert(key, s.clone());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_must_mirror_the_body() {
        let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}});
        assert!(check_headers(Some("tools/call"), Some("echo"), &call).is_ok());
        assert!(check_headers(Some("tools/list"), Some("echo"), &call).is_err());
        assert!(check_headers(Some("tools/call"), Some("get-env"), &call).is_err());
        assert!(check_headers(Some("tools/call"), None, &call).is_err());
        assert!(check_headers(None, Some("echo"), &call).is_err());
        let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"});
        assert!(check_headers(Some("tools/list"), None, &list).is_ok());
        assert!(check_headers(Some("tools/list"), Some("x"), &list).is_err());
        let read =
            json!({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}});
        assert!(check_headers(Some("resources/read"), Some("file:///a"), &read).is_ok());
    }
}
