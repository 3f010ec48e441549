//! `/mcp`: Streamable HTTP. POST carries one message (or a 2025-03-26
//! batch) and gets JSON or an SSE stream, as the client's `Accept` allows;
//! GET opens the stream for server-initiated messages (or resumes one with
//! `Last-Event-ID`); DELETE ends the session. Requests without a session
//! that declare the 2026-07-28 revision go to [`super::stateless`].

use super::sessions::{self, Kind, SendError};
use super::{accepts, json_response, read_body, rpc_error_response, sse_response, Resp, Server};
use crate::auth::Principal;
use crate::protocol::errors::{INVALID_REQUEST, PARSE_ERROR};
use crate::protocol::message::{classify, classify_raw, Message, RequestId};
use crate::protocol::KNOWN_PROTOCOL_VERSIONS;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;

/// The first revision with priming events and polling streams.
const PRIMING_SINCE: &str = "2025-11-25";
pub const STATELESS_REVISION: &str = "2026-07-28";

pub async fn handle(srv: &Arc<Server>, req: Request<Incoming>, who: Option<Principal>) -> Resp {
    match *req.method() {
        Method::POST => post(srv, req, who).await,
        Method::GET => get(srv, req, who),
        Method::DELETE => delete(srv, req, who).await,
        _ => {
            let mut r =
                rpc_error_response(StatusCode::METHOD_NOT_ALLOWED, -32000, "method not allowed");
            r.headers_mut().insert(
                hyper::header::ALLOW,
                HeaderValue::from_static("GET, POST, DELETE"),
            );
            r
        }
    }
}

fn header<'a>(h: &'a hyper::HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The requests in a body: (id, is `initialize`), and their progress tokens.
pub(super) struct Requests {
    pub ids: Vec<(RequestId, bool)>,
    pub tokens: Vec<String>,
    pub batch: bool,
}

pub(super) fn requests_in(body: &[u8]) -> Result<Requests, Resp> {
    let msg = classify(body)
        .map_err(|e| rpc_error_response(StatusCode::BAD_REQUEST, e.code(), &e.to_string()))?;
    let mut out = Requests {
        ids: Vec::new(),
        tokens: Vec::new(),
        batch: false,
    };
    let mut add = |m: Message<'_>| {
        if let Message::Request { id, method, params } = m {
            let params: Option<serde_json::Value> =
                params.and_then(|p| serde_json::from_str(p.get()).ok());
            if let Some(t) = sessions::request_progress_token(params.as_ref()) {
                out.tokens.push(t);
            }
            out.ids.push((id, method == "initialize"));
        }
    };
    match msg {
        Message::Batch(items) => {
            if items.is_empty() {
                return Err(rpc_error_response(
                    StatusCode::BAD_REQUEST,
                    INVALID_REQUEST,
                    "empty batch",
                ));
            }
            for item in items {
                match classify_raw(item) {
                    Ok(m) => add(m),
                    Err(e) => {
                        return Err(rpc_error_response(
                            StatusCode::BAD_REQUEST,
                            e.code(),
                            &e.to_string(),
                        ))
                    }
                }
            }
            out.batch = true;
        }
        m => add(m),
    }
    Ok(out)
}

async fn post(srv: &Arc<Server>, req: Request<Incoming>, who: Option<Principal>) -> Resp {
    let h = req.headers();
    let accept = header(h, "accept");
    let (wants_json, wants_sse) = (
        accepts(accept, "application/json"),
        accepts(accept, "text/event-stream"),
    );
    if !wants_json && !wants_sse {
        return rpc_error_response(
            StatusCode::NOT_ACCEPTABLE,
            -32000,
            "Not Acceptable: Accept must include application/json or text/event-stream",
        );
    }
    let ctype = header(h, "content-type").unwrap_or("");
    if !ctype.to_ascii_lowercase().starts_with("application/json") {
        return rpc_error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            -32000,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    let (parts, body) = match read_body(req, srv.cfg.max_body_bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return rpc_error_response(StatusCode::BAD_REQUEST, PARSE_ERROR, "empty body");
    }
    let reqs = match requests_in(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let version = header(&parts.headers, "mcp-protocol-version");
    if let Some(v) = version {
        if !KNOWN_PROTOCOL_VERSIONS.contains(&v) {
            return rpc_error_response(
                StatusCode::BAD_REQUEST,
                -32000,
                &format!("Bad Request: unsupported MCP-Protocol-Version {v:?}"),
            );
        }
    }
    let session_id = header(&parts.headers, "mcp-session-id");
    let is_init = reqs.ids.iter().any(|(_, init)| *init);
    if session_id.is_none() && !is_init && version == Some(STATELESS_REVISION) {
        return super::stateless::post(srv, &parts, body, reqs, who, wants_sse).await;
    }
    let session = if is_init {
        if session_id.is_some() {
            return rpc_error_response(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "Bad Request: initialize starts a session; send it without Mcp-Session-Id",
            );
        }
        if reqs.batch {
            return rpc_error_response(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "Bad Request: initialize must not be part of a batch",
            );
        }
        match srv.start_session(Kind::Streamable, who.as_ref()) {
            Ok(s) => s,
            Err(r) => return r,
        }
    } else {
        let Some(id) = session_id else {
            return rpc_error_response(
                StatusCode::BAD_REQUEST,
                -32000,
                "Bad Request: Mcp-Session-Id header is required",
            );
        };
        match srv.find_session(id, who.as_ref()) {
            Some(s) if s.kind == Kind::Streamable => s,
            _ => return session_not_found(),
        }
    };
    session.touch();
    let mut resp = relay(&session, body, &reqs, wants_sse, version).await;
    if is_init && resp.status().is_success() {
        if let Ok(v) = HeaderValue::from_str(&session.id) {
            resp.headers_mut().insert("mcp-session-id", v);
        }
    }
    resp
}

/// Hands a body to the session and answers the POST.
async fn relay(
    session: &Arc<sessions::McpSession>,
    body: bytes::Bytes,
    reqs: &Requests,
    wants_sse: bool,
    header_version: Option<&str>,
) -> Resp {
    if reqs.ids.is_empty() {
        return match session.send(&body).await {
            Ok(()) => {
                let mut r = Response::new(super::body::OutBody::empty());
                *r.status_mut() = StatusCode::ACCEPTED;
                r
            }
            Err(_) => session_not_found(),
        };
    }
    if wants_sse {
        let version = header_version
            .map(str::to_string)
            .or_else(|| session.version());
        let init_version = reqs
            .ids
            .iter()
            .any(|(_, i)| *i)
            .then(|| requested_version(&body))
            .flatten();
        let prime = version
            .or(init_version)
            .is_some_and(|v| v.as_str() >= PRIMING_SINCE);
        let rx = match session.open_post_stream(&reqs.ids, reqs.tokens.clone(), prime) {
            Ok(rx) => rx,
            Err(e) => return send_error(e),
        };
        if session.send(&body).await.is_err() {
            session.forget(&reqs.ids);
            return session_not_found();
        }
        return sse_response(rx);
    }
    let mut rx = match session.expect_replies(&reqs.ids) {
        Ok(rx) => rx,
        Err(e) => return send_error(e),
    };
    if session.send(&body).await.is_err() {
        session.forget(&reqs.ids);
        return session_not_found();
    }
    let mut replies = Vec::with_capacity(reqs.ids.len());
    while replies.len() < reqs.ids.len() {
        match rx.recv().await {
            Some(r) => replies.push(r),
            None => break,
        }
    }
    if replies.is_empty() {
        return rpc_error_response(
            StatusCode::BAD_GATEWAY,
            crate::protocol::errors::UPSTREAM_EXITED,
            "the session ended before the server answered",
        );
    }
    if !reqs.batch {
        return json_response(StatusCode::OK, replies.swap_remove(0).to_vec());
    }
    let mut out = Vec::from(&b"["[..]);
    for (i, r) in replies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r);
    }
    out.push(b']');
    json_response(StatusCode::OK, out)
}

/// The `protocolVersion` an `initialize` asks for.
fn requested_version(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("params")?
        .get("protocolVersion")?
        .as_str()
        .map(str::to_string)
}

fn send_error(e: SendError) -> Resp {
    match e {
        SendError::Gone => session_not_found(),
        SendError::DuplicateId(id) => rpc_error_response(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            &format!("a request with id {id} is already in flight in this session"),
        ),
    }
}

pub(super) fn session_not_found() -> Resp {
    rpc_error_response(StatusCode::NOT_FOUND, -32001, "Session not found")
}

fn session_of(
    srv: &Arc<Server>,
    h: &hyper::HeaderMap,
    who: Option<&Principal>,
) -> Result<Arc<sessions::McpSession>, Resp> {
    let Some(id) = header(h, "mcp-session-id") else {
        return Err(rpc_error_response(
            StatusCode::BAD_REQUEST,
            -32000,
            "Bad Request: Mcp-Session-Id header is required",
        ));
    };
    match srv.find_session(id, who) {
        Some(s) if s.kind == Kind::Streamable => Ok(s),
        _ => Err(session_not_found()),
    }
}

fn get(srv: &Arc<Server>, req: Request<Incoming>, who: Option<Principal>) -> Resp {
    let h = req.headers();
    if !accepts(header(h, "accept"), "text/event-stream") {
        return rpc_error_response(
            StatusCode::NOT_ACCEPTABLE,
            -32000,
            "Not Acceptable: Accept must include text/event-stream",
        );
    }
    let session = match session_of(srv, h, who.as_ref()) {
        Ok(s) => s,
        Err(r) => return r,
    };
    session.touch();
    if let Some(last) = header(h, "last-event-id") {
        return match session.resume(last) {
            Some(rx) => sse_response(rx),
            None => rpc_error_response(StatusCode::BAD_REQUEST, -32000, "unknown Last-Event-ID"),
        };
    }
    let prime = header(h, "mcp-protocol-version")
        .map(str::to_string)
        .or_else(|| session.version())
        .is_some_and(|v| v.as_str() >= PRIMING_SINCE);
    match session.attach_standalone(prime, None) {
        Ok((rx, _)) => sse_response(rx),
        Err(()) => rpc_error_response(
            StatusCode::CONFLICT,
            -32000,
            "Conflict: only one GET stream per session",
        ),
    }
}

async fn delete(srv: &Arc<Server>, req: Request<Incoming>, who: Option<Principal>) -> Resp {
    let session = match session_of(srv, req.headers(), who.as_ref()) {
        Ok(s) => s,
        Err(r) => return r,
    };
    srv.end_session(&session.id).await;
    let mut r = Response::new(super::body::OutBody::empty());
    *r.status_mut() = StatusCode::OK;
    r
}
