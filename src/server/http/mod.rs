//! The HTTP faces of the gateway (`vanguard sse`): Streamable HTTP on `/mcp`
//! (the 2025 revisions with `Mcp-Session-Id`, and the stateless 2026-07-28
//! revision), legacy HTTP+SSE on `/sse` + `/messages`, `/health`, `/ready`
//! and the RFC 9728 protected-resource metadata.
//!
//! ```text
//! request ─▶ Host/Origin ─▶ rate · concurrency ─▶ auth ─▶ route
//!   /mcp, /sse, /messages ─▶ sessions::McpSession ─▶ gateway::session ─▶ sandboxed upstream
//! ```
//! Every MCP session is a complete stdio gateway session over in-memory
//! pipes ([`sessions`]), so an HTTP client gets exactly the inspection a
//! stdio client gets. Nothing in this module decides on a message; what
//! to start for a session is the [`Launcher`]'s business.

// A handler's error is the finished response to send; it is built once per
// request, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod body;
pub mod guard;
mod legacy;
mod mcp;
pub mod sessions;
pub(crate) mod sse;
mod stateless;

use crate::auth::{AuthError, Authenticator, Principal};
use crate::gateway::SessionConfig;
use body::OutBody;
use bytes::Bytes;
use guard::{HostPolicy, LimitConfig, Limits, Refusal};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use sessions::SessionTable;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub type Resp = Response<OutBody>;

/// What the HTTP face needs to know, besides the policy.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub max_body_bytes: usize,
    pub max_sessions: usize,
    pub idle_timeout: Duration,
    pub limits: LimitConfig,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub max_line_bytes: usize,
    /// `GET /metrics` (behind the same authentication as `/mcp`).
    pub metrics: Option<Arc<crate::audit::metrics::Metrics>>,
}

/// A guarded upstream, ready to be run as one MCP session.
pub struct Launched {
    pub upstream: crate::transport::child::ServerProcess,
    pub config: SessionConfig,
    /// Whatever must live as long as the session (the sandbox plan owns a temp dir).
    pub keep_alive: Box<dyn Send>,
}

/// Starts the upstream of a new session. Called on a runtime worker thread
/// (never a blocking-pool thread: the child's parent-death signal follows
/// the thread that forked it).
pub trait Launcher: Send + Sync + 'static {
    fn launch(&self, session_id: &str, principal: Option<&Principal>) -> Result<Launched, String>;
}

pub struct Server {
    cfg: HttpConfig,
    auth: Authenticator,
    launcher: Arc<dyn Launcher>,
    sessions: Arc<SessionTable>,
    limits: Arc<Limits>,
    hosts: HostPolicy,
    stopping: AtomicBool,
    stateless: stateless::Pool,
}

impl Server {
    pub fn new(
        cfg: HttpConfig,
        bind: SocketAddr,
        auth: Authenticator,
        launcher: Arc<dyn Launcher>,
    ) -> Arc<Server> {
        Arc::new(Server {
            hosts: HostPolicy::new(bind, &cfg.allowed_hosts, &cfg.allowed_origins),
            limits: Limits::new(cfg.limits.clone()),
            sessions: Arc::new(SessionTable::new(cfg.max_sessions)),
            cfg,
            auth,
            launcher,
            stopping: AtomicBool::new(false),
            stateless: stateless::Pool::default(),
        })
    }

    /// Accepts connections until `stop` resolves, then drains: `/ready`
    /// answers 503 and new sessions are refused at once, while the open
    /// sessions are still served for `drain_delay` (time for a load balancer
    /// to notice); then every session is ended (each shuts its upstream down
    /// and writes its `session_end`) and waited for, at most `grace`.
    /// Returns whether every session had ended by then.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        stop: impl std::future::Future<Output = ()>,
        drain_delay: Duration,
        grace: Duration,
    ) -> bool {
        let reaper = tokio::spawn(self.clone().reap_idle());
        tokio::pin!(stop);
        let accept = |r: std::io::Result<(tokio::net::TcpStream, SocketAddr)>| match r {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(self.clone().connection(stream, peer));
                None
            }
            Err(e) => {
                tracing::warn!("accept: {e}");
                Some(Duration::from_millis(50))
            }
        };
        loop {
            tokio::select! {
                r = listener.accept() => if let Some(pause) = accept(r) {
                    tokio::time::sleep(pause).await;
                },
                _ = &mut stop => break,
            }
        }
        // Not ready from here on: the readiness probe fails first.
        self.stopping.store(true, Ordering::Release);
        tracing::info!(
            sessions = self.sessions.len(),
            "stopping: not ready, draining for {} ms",
            drain_delay.as_millis()
        );
        let until = tokio::time::sleep(drain_delay);
        tokio::pin!(until);
        loop {
            tokio::select! {
                r = listener.accept() => if let Some(pause) = accept(r) {
                    tokio::time::sleep(pause).await;
                },
                _ = &mut until => break,
            }
        }
        reaper.abort();
        drop(listener);
        for s in self.sessions.all() {
            s.close().await;
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !self.sessions.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.sessions.len();
        if left > 0 {
            tracing::warn!(
                sessions = left,
                "grace period over with sessions still ending"
            );
        }
        left == 0
    }

    async fn connection(self: Arc<Self>, stream: tokio::net::TcpStream, peer: SocketAddr) {
        let io = hyper_util::rt::TokioIo::new(stream);
        let svc = hyper::service::service_fn(move |req| {
            let me = self.clone();
            async move { Ok::<_, std::convert::Infallible>(me.handle(req, peer).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10))
            .max_buf_size(64 * 1024)
            .serve_connection(io, svc);
        if let Err(e) = conn.await {
            tracing::debug!(%peer, "connection: {e}");
        }
    }

    async fn reap_idle(self: Arc<Self>) {
        let every =
            (self.cfg.idle_timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(30));
        loop {
            tokio::time::sleep(every).await;
            for s in self.sessions.all() {
                if s.is_idle(self.cfg.idle_timeout) {
                    tracing::info!(session = s.id, "idle timeout: ending the session");
                    self.end_session(&s.id).await;
                }
            }
        }
    }

    /// Removes a session and closes its input; the gateway then shuts the upstream down.
    async fn end_session(&self, id: &str) {
        if let Some(s) = self.sessions.remove(id) {
            self.stateless.forget(&s);
            s.close().await;
        }
    }

    /// Starts a session for `principal` (caller checked the cap).
    fn start_session(
        &self,
        kind: sessions::Kind,
        principal: Option<&Principal>,
    ) -> Result<Arc<sessions::McpSession>, Resp> {
        if self.stopping.load(Ordering::Acquire) || !self.sessions.has_room() {
            return Err(rpc_error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                -32000,
                "too many sessions; try again later",
            ));
        }
        let Some(id) = sessions::new_session_id() else {
            return Err(rpc_error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                -32603,
                "no randomness for a session id",
            ));
        };
        let launched = self.launcher.launch(&id, principal).map_err(|e| {
            tracing::error!("cannot start the server for a new session: {e}");
            rpc_error_response(
                StatusCode::BAD_GATEWAY,
                crate::protocol::errors::UPSTREAM_UNAVAILABLE,
                "the server could not be started",
            )
        })?;
        let table = self.sessions.clone();
        let session = sessions::McpSession::start(
            id,
            principal.map(|p| p.subject.clone()),
            kind,
            launched,
            self.cfg.max_line_bytes,
            move |id| {
                table.remove(id);
            },
        );
        self.sessions.insert(session.clone());
        tracing::info!(
            session = session.id,
            pid = session.upstream_pid,
            ?kind,
            "HTTP session started"
        );
        Ok(session)
    }

    /// The session named by a request, if it exists and belongs to `principal`.
    fn find_session(
        &self,
        id: &str,
        principal: Option<&Principal>,
    ) -> Option<Arc<sessions::McpSession>> {
        let s = self.sessions.get(id)?;
        let who = principal.map(|p| p.subject.as_str());
        (s.subject.as_deref() == who && !s.is_ended()).then_some(s)
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, peer: SocketAddr) -> Resp {
        let path = req.uri().path().to_string();
        if req.method() == Method::GET {
            match path.as_str() {
                "/health" => return json_response(StatusCode::OK, br#"{"status":"ok"}"#.to_vec()),
                "/ready" => return self.ready(),
                _ => {}
            }
        }
        let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
        let host = header("host");
        if !self.hosts.host_ok(host) || !self.hosts.origin_ok(header("origin")) {
            tracing::warn!(%peer, host = host.unwrap_or(""), "refused: Host or Origin not allowed");
            return rpc_error_response(
                StatusCode::FORBIDDEN,
                -32000,
                "Forbidden: Host or Origin header not allowed",
            );
        }
        let _permit = match self.limits.admit(peer.ip()) {
            Ok(p) => p,
            Err(r) => return refusal_response(r),
        };
        let base = format!("http://{}", host.unwrap_or("localhost"));
        if req.method() == Method::GET && path.starts_with("/.well-known/oauth-protected-resource")
        {
            let v = self.auth.metadata(&format!("{base}/mcp"));
            return json_response(StatusCode::OK, serde_json::to_vec(&v).unwrap_or_default());
        }
        let principal = match self
            .auth
            .authenticate(header("x-api-key"), header("authorization"))
            .await
        {
            Ok(p) => p,
            Err(e) => {
                return auth_error_response(
                    &e,
                    &format!("{base}/.well-known/oauth-protected-resource/mcp"),
                )
            }
        };
        match path.as_str() {
            "/metrics" if req.method() == Method::GET => match &self.cfg.metrics {
                Some(m) => metrics_response(m),
                None => plain_response(StatusCode::NOT_FOUND, "metrics are off"),
            },
            "/mcp" => mcp::handle(&self, req, principal).await,
            "/sse" => legacy::open(&self, req, principal).await,
            "/messages" => legacy::post(&self, req, principal).await,
            _ => plain_response(StatusCode::NOT_FOUND, "not found"),
        }
    }

    fn ready(&self) -> Resp {
        let ok = !self.stopping.load(Ordering::Acquire) && self.sessions.has_room();
        let status = if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let body = serde_json::json!({
            "ready": ok,
            "sessions": self.sessions.len(),
            "max_sessions": self.sessions.max,
        });
        json_response(status, serde_json::to_vec(&body).unwrap_or_default())
    }
}

/// Reads a request body of at most `max` bytes (`Err`: the response to send).
async fn read_body(
    req: Request<Incoming>,
    max: usize,
) -> Result<(hyper::http::request::Parts, Bytes), Resp> {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        rpc_error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            crate::protocol::errors::INVALID_REQUEST,
            &format!("request body larger than {max} bytes"),
        )
    };
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    // A client that sends headers and then trickles (or stalls) its body
    // would hold its admission slot for as long as it likes: the whole body
    // must arrive within BODY_TIMEOUT.
    let collected = tokio::time::timeout(
        BODY_TIMEOUT,
        http_body_util::Limited::new(body, max).collect(),
    )
    .await;
    match collected {
        Ok(Ok(c)) => Ok((parts, c.to_bytes())),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(plain_response(
            StatusCode::BAD_REQUEST,
            "unreadable request body",
        )),
        Err(_) => Err(rpc_error_response(
            StatusCode::REQUEST_TIMEOUT,
            crate::protocol::errors::INVALID_REQUEST,
            &format!(
                "the request body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// How long a request body may take to arrive, headers already read.
const BODY_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) fn metrics_response(m: &crate::audit::metrics::Metrics) -> Resp {
    let mut r = Response::new(OutBody::full(m.encode()));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(crate::audit::metrics::CONTENT_TYPE),
    );
    r
}

/// Serves `GET /metrics` on `listener` until the task is dropped
/// (`vanguard start --metrics-addr`). Anything else is 404.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Arc<crate::audit::metrics::Metrics>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let m = metrics.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let m = m.clone();
                async move {
                    let r = if req.method() == Method::GET && req.uri().path() == "/metrics" {
                        metrics_response(&m)
                    } else {
                        plain_response(StatusCode::NOT_FOUND, "not found")
                    };
                    Ok::<_, std::convert::Infallible>(r)
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Resp {
    let mut r = Response::new(OutBody::full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub(crate) fn plain_response(status: StatusCode, text: &str) -> Resp {
    let mut r = Response::new(OutBody::full(format!("{text}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// An HTTP error carrying a JSON-RPC error body (id null), as the MCP SDKs send them.
pub(crate) fn rpc_error_response(status: StatusCode, code: i64, message: &str) -> Resp {
    let mut line = crate::protocol::errors::error_line(None, code, message, None);
    line.pop();
    json_response(status, line)
}

fn refusal_response(r: Refusal) -> Resp {
    let (status, msg) = match r {
        Refusal::Rate => (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded"),
        Refusal::Busy { global: false } => {
            (StatusCode::TOO_MANY_REQUESTS, "too many requests in flight")
        }
        Refusal::Busy { global: true } => (StatusCode::SERVICE_UNAVAILABLE, "server busy"),
    };
    let mut resp = rpc_error_response(status, -32000, msg);
    resp.headers_mut()
        .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

fn auth_error_response(e: &AuthError, metadata_url: &str) -> Resp {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let (code, desc) = match e {
        AuthError::InsufficientScope(_) => ("insufficient_scope", e.to_string()),
        AuthError::Missing => ("invalid_request", e.to_string()),
        _ => ("invalid_token", e.to_string()),
    };
    tracing::info!("refused: {e}");
    let body = serde_json::json!({ "error": code, "error_description": desc });
    let mut r = json_response(status, serde_json::to_vec(&body).unwrap_or_default());
    if let Ok(v) = HeaderValue::from_str(&e.challenge(metadata_url)) {
        r.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, v);
    }
    r
}

/// Whether an `Accept` header admits `mime` (`*/*` and `type/*` count).
pub(crate) fn accepts(accept: Option<&str>, mime: &str) -> bool {
    let Some(a) = accept else { return false };
    let major = mime.split('/').next().unwrap_or("");
    a.split(',').any(|part| {
        let m = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        m == mime || m == "*/*" || m == format!("{major}/*")
    })
}

pub(crate) fn sse_response(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Resp {
    let mut r = Response::new(OutBody::channel(rx));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(
        hyper::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_matching() {
        assert!(accepts(
            Some("application/json, text/event-stream"),
            "text/event-stream"
        ));
        assert!(accepts(Some("text/*;q=0.5"), "text/event-stream"));
        assert!(accepts(Some("*/*"), "application/json"));
        assert!(!accepts(Some("text/html"), "application/json"));
        assert!(!accepts(None, "application/json"));
    }
}
