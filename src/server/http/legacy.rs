//! Legacy HTTP+SSE (the 2024-11-05 transport): `GET /sse` opens a session
//! whose event stream first names the endpoint to POST to
//! (`/messages?sessionId=…`) and then carries every server message; each
//! POST is answered `202 Accepted`. The session lives as long as the stream.

use super::sessions::Kind;
use super::{accepts, read_body, rpc_error_response, sse, sse_response, Resp, Server};
use crate::auth::Principal;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;

pub async fn open(srv: &Arc<Server>, req: Request<Incoming>, who: Option<Principal>) -> Resp {
    if req.method() != Method::GET {
        return rpc_error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            -32000,
            "GET /sse opens a stream",
        );
    }
    let accept = req.headers().get("accept").and_then(|v| v.to_str().ok());
    if accept.is_some() && !accepts(accept, "text/event-stream") {
        return rpc_error_response(
            StatusCode::NOT_ACCEPTABLE,
            -32000,
            "Not Acceptable: Accept must include text/event-stream",
        );
    }
    let session = match srv.start_session(Kind::Legacy, who.as_ref()) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let endpoint = sse::event(
        None,
        Some("endpoint"),
        format!("/messages?sessionId={}", session.id).as_bytes(),
    );
    let (rx, weak) = match session.attach_standalone(false, Some(endpoint)) {
        Ok(x) => x,
        Err(()) => {
            return rpc_error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                -32603,
                "stream unavailable",
            )
        }
    };
    // The client closing the stream ends the session.
    let srv2 = srv.clone();
    let s = session.clone();
    tokio::spawn(async move {
        let gone = async {
            if let Some(tx) = weak.upgrade() {
                tx.closed().await;
            }
        };
        tokio::select! {
            _ = gone => srv2.end_session(&s.id).await,
            _ = s.ended() => {}
        }
    });
    sse_response(rx)
}

pub async fn post(srv: &Arc<Server>, req: Request<Incoming>, who: Option<Principal>) -> Resp {
    if req.method() != Method::POST {
        return rpc_error_response(StatusCode::METHOD_NOT_ALLOWED, -32000, "POST /messages");
    }
    let id = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("sessionId="))
            .map(str::to_string)
    });
    let Some(id) = id else {
        return rpc_error_response(
            StatusCode::BAD_REQUEST,
            -32000,
            "Bad Request: sessionId is required",
        );
    };
    let session = match srv.find_session(&id, who.as_ref()) {
        Some(s) if s.kind == Kind::Legacy => s,
        _ => return super::mcp::session_not_found(),
    };
    let (_, body) = match read_body(req, srv.cfg.max_body_bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(r) = super::mcp::requests_in(&body) {
        return r;
    }
    session.touch();
    match session.send(&body).await {
        Ok(()) => {
            let mut r = Response::new(super::body::OutBody::full("Accepted"));
            *r.status_mut() = StatusCode::ACCEPTED;
            r
        }
        Err(_) => super::mcp::session_not_found(),
    }
}
