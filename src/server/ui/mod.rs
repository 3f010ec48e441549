//! `vanguard ui`: a local dashboard over the audit log and the pin file.
//!
//! ```text
//! audit log(s) ─▶ Follower thread ─▶ ring (last N events) ─┬▶ GET /api/events
//!                                                          └▶ broadcast ─▶ GET /api/stream (SSE)
//! pin file ◀─▶ GET /api/pins, POST /api/pins/{approve,reject}
//! ```
//! Every running gateway writes its decisions to an audit log; following
//! those logs (rotation-safe, see [`crate::audit::follow`]) shows what every
//! gateway decides, live, without a second channel that could disagree
//! with the trail.
//!
//! Security: the server binds loopback unless told otherwise; every request
//! must name us in `Host` (DNS rebinding); everything but `/health`,
//! `/login` and the static assets needs the token (a cookie set by
//! `/login?token=…`, `HttpOnly`, `SameSite=Strict`, or `Authorization:
//! Bearer`); a state-changing request must be a JSON POST carrying the
//! page's CSRF token in `X-Vanguard-CSRF`, from our own origin. Pages are
//! served with a strict Content-Security-Policy (no inline script, nothing
//! from elsewhere); the page writes log data only as text, never as HTML.

// A handler's error is the finished response to send (as in `http`).
#![allow(clippy::result_large_err)]

mod assets;

use super::http::body::OutBody;
use super::http::guard::HostPolicy;
use super::http::Resp;
use crate::audit::follow::Follower;
use crate::auth::api_key::ApiKey;
use crate::pins::{PinStore, Resolved};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};

/// The cookie that carries the token.
const COOKIE: &str = "vanguard_ui";
/// Largest request body (a pin approval is a few hundred bytes).
const MAX_BODY: usize = 16 * 1024;
/// Points of a session's risk curve kept for the page.
const RISK_POINTS: usize = 200;

pub struct UiConfig {
    /// Audit logs to follow (each gateway's `--audit-log`).
    pub logs: Vec<PathBuf>,
    pub pins: PathBuf,
    /// The access token (at least 16 bytes).
    pub token: String,
    /// Events kept in memory for the page (older ones are in the log).
    pub backlog: usize,
    pub hosts: HostPolicy,
    /// How often the logs are read for new lines.
    pub poll: Duration,
}

/// The fields of an event the dashboard filters and summarises on; the
/// page gets the whole line.
#[derive(Debug, Default, Deserialize)]
struct Meta {
    #[serde(default)]
    ts: String,
    #[serde(default)]
    session_id: String,
    #[serde(default)]
    server_id: String,
    #[serde(default)]
    profile: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    risk: Option<f64>,
    #[serde(default)]
    detail: Option<Value>,
}

struct Entry {
    seq: u64,
    line: Box<str>,
    meta: Meta,
}

struct Ring {
    entries: VecDeque<Arc<Entry>>,
    next_seq: u64,
    /// Lines that were not JSON events (counted, shown as a notice).
    unreadable: u64,
}

struct State {
    cfg: UiConfig,
    key: ApiKey,
    /// The page's CSRF token, and its digest for comparing.
    csrf: String,
    csrf_key: ApiKey,
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Arc<Entry>>,
}

impl State {
    fn push(&self, line: String) {
        let Ok(meta) = serde_json::from_str::<Meta>(&line) else {
            self.lock().unreadable += 1;
            return;
        };
        let entry = {
            let mut r = self.lock();
            let e = Arc::new(Entry {
                seq: r.next_seq,
                line: line.into_boxed_str(),
                meta,
            });
            r.next_seq += 1;
            if r.entries.len() >= self.cfg.backlog.max(1) {
                r.entries.pop_front();
            }
            r.entries.push_back(e.clone());
            e
        };
        // No receiver is fine: nobody is watching.
        let _ = self.tx.send(entry);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves the dashboard on `listener` until the process ends. The logs are
/// read from their start (the newest `backlog` events are kept), then
/// followed.
pub async fn serve(listener: TcpListener, cfg: UiConfig) -> Result<(), String> {
    let key = ApiKey::new(&cfg.token).map_err(|e| e.replace("VANGUARD_API_KEY", "the token"))?;
    let (tx, _) = broadcast::channel(4096);
    let csrf = crate::audit::random_id();
    let csrf_key = ApiKey::new(&csrf)?;
    let state = Arc::new(State {
        key,
        csrf,
        csrf_key,
        ring: Mutex::new(Ring {
            entries: VecDeque::new(),
            next_seq: 1,
            unreadable: 0,
        }),
        tx,
        cfg,
    });
    let mut followers: Vec<Follower> = state
        .cfg
        .logs
        .iter()
        .map(|p| Follower::new(p, true))
        .collect();
    for f in &mut followers {
        for line in f.poll() {
            state.push(line);
        }
    }
    let st = state.clone();
    std::thread::Builder::new()
        .name("ui-follow".into())
        .spawn(move || loop {
            std::thread::sleep(st.cfg.poll);
            for f in &mut followers {
                for line in f.poll() {
                    st.push(line);
                }
            }
        })
        .map_err(|e| format!("cannot start the log follower: {e}"))?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("ui: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let st = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let st = st.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&st, req).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

async fn handle(st: &Arc<State>, req: Request<Incoming>) -> Resp {
    let host = header(&req, "host");
    if !st.cfg.hosts.host_ok(host.as_deref()) {
        return text(
            StatusCode::FORBIDDEN,
            "refused: the Host header does not name this dashboard",
        );
    }
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query().unwrap_or(""));
    match (req.method(), path.as_str()) {
        (&Method::GET, "/health") => return text(StatusCode::OK, "ok"),
        (&Method::GET, "/app.js") => {
            return asset(assets::APP_JS, "text/javascript; charset=utf-8")
        }
        (&Method::GET, "/app.css") => return asset(assets::APP_CSS, "text/css; charset=utf-8"),
        (&Method::GET, "/login") => return login(st, &query),
        _ => {}
    }
    if !authorised(st, &req) {
        return if path.starts_with("/api/") {
            json_resp(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "not signed in: open the URL with the token that `vanguard ui` printed"}),
            )
        } else {
            page(
                StatusCode::UNAUTHORIZED,
                assets::LOGIN_HTML.replace(
                    "{{message}}",
                    "Open the URL with the token that <code>vanguard ui</code> printed at start.",
                ),
            )
        };
    }
    match (req.method().clone(), path.as_str()) {
        (Method::GET, "/") => page(
            StatusCode::OK,
            assets::INDEX_HTML.replace("{{csrf}}", &st.csrf),
        ),
        (Method::GET, "/api/info") => info(st),
        (Method::GET, "/api/events") => events(st, &query),
        (Method::GET, "/api/stream") => {
            let last = header(&req, "last-event-id").and_then(|v| v.parse::<u64>().ok());
            stream(st, &query, last)
        }
        (Method::GET, "/api/sessions") => sessions(st),
        (Method::GET, "/api/pins") => pins(st),
        (Method::POST, "/api/pins/approve") | (Method::POST, "/api/pins/reject") => {
            if let Err(r) = csrf_ok(st, &req) {
                return r;
            }
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            pin_action(st, path.ends_with("approve"), &body)
        }
        (Method::GET, _) | (Method::POST, _) => {
            json_resp(StatusCode::NOT_FOUND, &json!({"error": "no such page"}))
        }
        _ => json_resp(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "method not allowed"}),
        ),
    }
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn authorised(st: &State, req: &Request<Incoming>) -> bool {
    if let Some(b) = header(req, "authorization") {
        if let Some(t) = b.strip_prefix("Bearer ") {
            return st.key.matches(t.trim());
        }
    }
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .any(|(k, v)| k == COOKIE && st.key.matches(v))
}

/// A state-changing request: JSON, from our own origin, with the CSRF token.
fn csrf_ok(st: &State, req: &Request<Incoming>) -> Result<(), Resp> {
    let refuse = |why: &str| {
        Err(json_resp(
            StatusCode::FORBIDDEN,
            &json!({ "error": format!("refused: {why}") }),
        ))
    };
    let token_ok = header(req, "x-vanguard-csrf").is_some_and(|t| st.csrf_key.matches(&t));
    if !token_ok {
        return refuse("missing or wrong X-Vanguard-CSRF token");
    }
    let origin = header(req, "origin");
    if !st.cfg.hosts.origin_ok(origin.as_deref()) {
        return refuse("the request comes from another origin");
    }
    if header(req, "sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none") {
        return refuse("the request comes from another site");
    }
    if !header(req, "content-type").is_some_and(|c| c.starts_with("application/json")) {
        return refuse("the body must be application/json");
    }
    Ok(())
}

async fn read_body(req: Request<Incoming>) -> Result<Vec<u8>, Resp> {
    let limited = http_body_util::Limited::new(req.into_body(), MAX_BODY);
    match limited.collect().await {
        Ok(b) => Ok(b.to_bytes().to_vec()),
        Err(_) => Err(json_resp(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"error": format!("the body is larger than {MAX_BODY} bytes")}),
        )),
    }
}

fn login(st: &State, query: &BTreeMap<String, String>) -> Resp {
    let token = query.get("token").map(String::as_str).unwrap_or("");
    if !st.key.matches(token) {
        return page(
            StatusCode::UNAUTHORIZED,
            assets::LOGIN_HTML.replace("{{message}}", "That token is not this dashboard's."),
        );
    }
    let mut r = Response::new(OutBody::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut()
        .insert(LOCATION, HeaderValue::from_static("/"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    secure(&mut r);
    r
}

/// Headers every response carries.
fn secure(r: &mut Resp) {
    let h = r.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn with_type(mut r: Resp, ty: &'static str) -> Resp {
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ty));
    secure(&mut r);
    r
}

fn text(status: StatusCode, s: &str) -> Resp {
    let mut r = Response::new(OutBody::full(format!("{s}\n")));
    *r.status_mut() = status;
    with_type(r, "text/plain; charset=utf-8")
}

fn page(status: StatusCode, html: String) -> Resp {
    let mut r = Response::new(OutBody::full(html));
    *r.status_mut() = status;
    with_type(r, "text/html; charset=utf-8")
}

fn asset(body: &'static str, ty: &'static str) -> Resp {
    with_type(Response::new(OutBody::full(body)), ty)
}

fn json_resp(status: StatusCode, v: &Value) -> Resp {
    let mut r = Response::new(OutBody::full(v.to_string()));
    *r.status_mut() = status;
    with_type(r, "application/json")
}

/// `a=b&c=d`, percent-decoded (`+` is a space).
fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let mut ahead = bytes.clone();
                let hi = ahead.next().and_then(|c| (c as char).to_digit(16));
                let lo = ahead.next().and_then(|c| (c as char).to_digit(16));
                match (hi, lo) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        bytes = ahead;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The filters of `/api/events` and `/api/stream`.
struct Filter {
    server: Option<String>,
    session: Option<String>,
    verdicts: Vec<String>,
    kinds: Vec<String>,
    rule: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

impl Filter {
    fn from(q: &BTreeMap<String, String>) -> Filter {
        let one = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
        let many = |k: &str| {
            q.get(k)
                .map(|v| {
                    v.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        Filter {
            server: one("server"),
            session: one("session"),
            verdicts: many("verdict"),
            kinds: many("kind"),
            rule: one("rule"),
            since: one("since"),
            until: one("until"),
        }
    }

    fn wants(&self, m: &Meta) -> bool {
        self.server
            .as_deref()
            .is_none_or(|s| m.server_id.contains(s))
            && self.session.as_deref().is_none_or(|s| m.session_id.starts_with(s))
            && (self.verdicts.is_empty() || self.verdicts.contains(&m.verdict))
            && (self.kinds.is_empty() || self.kinds.contains(&m.kind))
            && self
                .rule
                .as_deref()
                .is_none_or(|r| m.rules.iter().any(|x| x.starts_with(r)))
            // RFC 3339 UTC times of one format compare as text.
            && self.since.as_deref().is_none_or(|t| m.ts.as_str() >= t)
            && self.until.as_deref().is_none_or(|t| m.ts.as_str() <= t)
    }
}

fn info(st: &State) -> Resp {
    let r = st.lock();
    json_resp(
        StatusCode::OK,
        &json!({
            "version": env!("CARGO_PKG_VERSION"),
            "logs": st.cfg.logs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "pins": st.cfg.pins.display().to_string(),
            "backlog": st.cfg.backlog,
            "held": r.entries.len(),
            "unreadable_lines": r.unreadable,
        }),
    )
}

/// The newest events that pass the filter (at most `limit`, oldest first),
/// as a JSON array of the log's own lines.
fn events(st: &State, q: &BTreeMap<String, String>) -> Resp {
    let f = Filter::from(q);
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(500)
        .min(10_000);
    let r = st.lock();
    let picked: Vec<&Arc<Entry>> = r
        .entries
        .iter()
        .rev()
        .filter(|e| f.wants(&e.meta))
        .take(limit)
        .collect();
    let mut body = String::from("{\"events\":[");
    for (i, e) in picked.iter().rev().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!("{{\"seq\":{},\"event\":{}}}", e.seq, e.line));
    }
    body.push_str(&format!("],\"next_seq\":{}}}", r.next_seq));
    let mut resp = Response::new(OutBody::full(body));
    *resp.status_mut() = StatusCode::OK;
    with_type(resp, "application/json")
}

/// Live events as server-sent events (`id` = the event's sequence number;
/// a reconnect with `Last-Event-ID` or `?after=N` gets what it missed while
/// it is still held).
fn stream(st: &Arc<State>, q: &BTreeMap<String, String>, last: Option<u64>) -> Resp {
    let f = Filter::from(q);
    let after = last.or_else(|| q.get("after").and_then(|a| a.parse().ok()));
    let mut rx = st.tx.subscribe();
    let backlog: Vec<Arc<Entry>> = match after {
        Some(a) => st
            .lock()
            .entries
            .iter()
            .filter(|e| e.seq > a)
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let (out, body) = mpsc::channel::<Bytes>(256);
    tokio::spawn(async move {
        let frame =
            |e: &Entry| super::http::sse::event(Some(&e.seq.to_string()), None, e.line.as_bytes());
        let mut sent = after.unwrap_or(0);
        if out
            .send(Bytes::from_static(b": vanguard ui stream\n\n"))
            .await
            .is_err()
        {
            return;
        }
        for e in backlog.iter().filter(|e| f.wants(&e.meta)) {
            if out.send(frame(e)).await.is_err() {
                return;
            }
            sent = e.seq;
        }
        let mut ping = tokio::time::interval(Duration::from_secs(15));
        ping.tick().await;
        loop {
            tokio::select! {
                got = rx.recv() => match got {
                    Ok(e) => {
                        if e.seq <= sent || !f.wants(&e.meta) {
                            continue;
                        }
                        sent = e.seq;
                        if out.send(frame(&e)).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let note = json!({"missed": n}).to_string();
                        if out.send(super::http::sse::event(None, Some("lagged"), note.as_bytes())).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = ping.tick() => {
                    if out.send(Bytes::from_static(b": ping\n\n")).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut r = Response::new(OutBody::channel(body));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    secure(&mut r);
    r
}

/// Sessions seen in the held events: counts per verdict and the L3 risk
/// over time.
fn sessions(st: &State) -> Resp {
    #[derive(Default)]
    struct S {
        server: String,
        profile: String,
        first: String,
        last: String,
        ended: Option<String>,
        sandbox: Option<String>,
        counts: BTreeMap<String, u64>,
        risk: Vec<(String, f64)>,
    }
    let mut by: BTreeMap<String, S> = BTreeMap::new();
    {
        let r = st.lock();
        for e in &r.entries {
            let m = &e.meta;
            if m.session_id.is_empty() {
                continue;
            }
            let s = by.entry(m.session_id.clone()).or_default();
            if s.first.is_empty() {
                s.first = m.ts.clone();
                s.server = m.server_id.clone();
                s.profile = m.profile.clone();
            }
            s.last = m.ts.clone();
            match m.kind.as_str() {
                "session_start" => {
                    s.sandbox = m
                        .detail
                        .as_ref()
                        .and_then(|d| d.get("sandbox"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }
                "decision" => *s.counts.entry(m.verdict.clone()).or_default() += 1,
                "session_end" => {
                    s.ended = Some(
                        m.detail
                            .as_ref()
                            .and_then(|d| d.get("outcome"))
                            .and_then(Value::as_str)
                            .unwrap_or("ended")
                            .to_string(),
                    )
                }
                _ => {}
            }
            if let Some(r) = m.risk {
                if s.risk.last().is_none_or(|(_, x)| (*x - r).abs() > 1e-9) {
                    s.risk.push((m.ts.clone(), r));
                }
            }
        }
    }
    let mut list: Vec<Value> = by
        .into_iter()
        .map(|(id, s)| {
            let skip = s.risk.len().saturating_sub(RISK_POINTS);
            json!({
                "session_id": id,
                "server_id": s.server,
                "profile": s.profile,
                "first": s.first,
                "last": s.last,
                "ended": s.ended,
                "sandbox": s.sandbox,
                "counts": s.counts,
                "risk": s.risk.iter().skip(skip).map(|(t, r)| json!([t, r])).collect::<Vec<_>>(),
            })
        })
        .collect();
    list.sort_by(|a, b| b["last"].as_str().cmp(&a["last"].as_str()));
    json_resp(StatusCode::OK, &json!({ "sessions": list }))
}

fn pins(st: &State) -> Resp {
    let store = PinStore::new(&st.cfg.pins);
    let file = match store.load() {
        Ok(f) => f,
        Err(e) => {
            return json_resp(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": e.to_string()}),
            )
        }
    };
    let servers: Vec<Value> = file
        .servers
        .iter()
        .map(|(k, e)| {
            let pending = e.pending.as_ref().map(|p| {
                let d = crate::inspect::pinning::diff(&e.pinned.tools, &p.tools);
                json!({
                    "at": e.pending_at,
                    "digest": file.pending_digest(k),
                    "changed": d.changed,
                    "added": d.added,
                    "removed": d.removed,
                    "server_info_changed": e.pinned.server_info.is_some() && e.pinned.server_info != p.server_info,
                    "capabilities_changed": e.pinned.capabilities.is_some() && e.pinned.capabilities != p.capabilities,
                })
            });
            json!({
                "key": k,
                "pinned_at": e.pinned_at,
                "tools": e.pinned.tools.len(),
                "pending": pending,
            })
        })
        .collect();
    let packages: Vec<Value> = file
        .packages
        .iter()
        .map(|(k, p)| {
            json!({
                "key": k,
                "requested": p.requested,
                "version": p.pinned.version,
                "tree_sha256": p.pinned.tree_sha256,
                "pending": p.pending.as_ref().map(|v| json!({
                    "version": v.version,
                    "tree_sha256": v.tree_sha256,
                    "at": v.at,
                    "digest": file.pending_digest(k),
                })),
            })
        })
        .collect();
    json_resp(
        StatusCode::OK,
        &json!({"file": st.cfg.pins.display().to_string(), "servers": servers, "packages": packages}),
    )
}

#[derive(Deserialize)]
struct PinAction {
    key: String,
    /// The digest of the pending definitions the operator looked at.
    digest: String,
}

fn pin_action(st: &State, approve: bool, body: &[u8]) -> Resp {
    let a: PinAction = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(e) => {
            return json_resp(
                StatusCode::BAD_REQUEST,
                &json!({"error": format!("the body must be {{\"key\": …, \"digest\": …}}: {e}")}),
            )
        }
    };
    let store = PinStore::new(&st.cfg.pins);
    let r = if approve {
        store.approve(&a.key, Some(&a.digest), &crate::audit::rfc3339_now())
    } else {
        store.reject(&a.key, Some(&a.digest))
    };
    let verb = if approve { "approved" } else { "rejected" };
    match r {
        Ok(Some(what)) => {
            let version = match &what {
                Resolved::Package(v) => Some(v.version.clone()),
                Resolved::Server => None,
            };
            tracing::warn!(key = a.key, version, "ui: pin {verb}");
            json_resp(
                StatusCode::OK,
                &json!({"ok": true, "key": a.key, "done": verb, "version": version}),
            )
        }
        Ok(None) => json_resp(
            StatusCode::CONFLICT,
            &json!({"error": format!("nothing pending for {:?} matches what the page showed (approved or changed meanwhile): reload", a.key)}),
        ),
        Err(e) => json_resp(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": e.to_string()}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query("a=b%20c&rule=FS-&x=%zz&y=1+2&empty");
        assert_eq!(q["a"], "b c");
        assert_eq!(q["rule"], "FS-");
        assert_eq!(q["x"], "%zz");
        assert_eq!(q["y"], "1 2");
        assert_eq!(q["empty"], "");
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%41"), "A");
    }

    #[test]
    fn filters() {
        let m: Meta = serde_json::from_str(
            r#"{"ts":"2026-12-04T10:00:00.000000Z","session_id":"abc123","server_id":"npx server-filesystem",
                "kind":"decision","verdict":"block","rules":["FS-SENSITIVE-001"]}"#,
        )
        .unwrap();
        let f = |q: &str| Filter::from(&parse_query(q)).wants(&m);
        assert!(f(""));
        assert!(f(
            "verdict=warn,block&server=filesystem&rule=FS-&session=abc"
        ));
        assert!(!f("verdict=allow"));
        assert!(!f("rule=CMD-"));
        assert!(!f("since=2026-12-04T11:00:00Z"));
        assert!(f("until=2026-12-04T11:00:00Z"));
        assert!(!f("kind=egress"));
    }
}
