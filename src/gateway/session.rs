//! One stdio session. See the module header in `gateway/mod.rs`.

use super::server_side::{CallCheck, Hidden, ServerView};
use crate::audit::{self, AuditSink, Direction, Event, EventIds};
use crate::behavior::{CallObs, Caps, Sensitivity};
use crate::inspect::{Decision, Inspector, Layer, ToolHints, Verdict};
use crate::policy::Mode;
use crate::protocol::errors::{self, error_line};
use crate::protocol::framing::{Frame, LineReader};
use crate::protocol::message::{classify, classify_raw, Invalid, Message, RequestId};
use crate::transport::child::Upstream;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Everything a session needs besides its byte streams.
pub struct SessionConfig {
    pub inspector: Arc<Inspector>,
    pub audit: AuditSink,
    pub mode: Mode,
    pub profile: String,
    pub server_id: String,
    pub session_id: String,
    pub max_line_bytes: usize,
    pub close_grace: Duration,
    pub term_grace: Duration,
    pub stderr_lines_per_sec: u32,
    /// Metadata, pinning and result policy (the server-side view).
    pub server_side: super::server_side::ServerSideConfig,
    /// Who is on the agent side (set by an authenticating transport);
    /// recorded in every audit event.
    pub principal: Option<String>,
    /// Requests in flight that may cause egress, shared with the egress
    /// proxy so each connection's audit event names the calls behind it.
    pub egress_in_flight: crate::sandbox::egress::InFlight,
    /// L3: session behaviour, shared by the sessions of this process.
    pub behavior: Option<Arc<crate::behavior::Engine>>,
    /// Whose behaviour this is: sessions (and gateway instances sharing a
    /// Redis) with the same key share their L3 state. Default: the
    /// principal when there is one, else this session.
    pub behavior_key: Option<String>,
    /// L2: the semantic scorer, when a backend is configured.
    pub semantic: Option<Arc<crate::semantic::Scorer>>,
    pub semantic_policy: crate::policy::SemanticPolicy,
}

impl SessionConfig {
    /// The configuration a loaded policy gives a session for `argv`; an
    /// authenticating transport then sets `principal` and the tool filter.
    pub fn from_policy(
        policy: &crate::policy::Policy,
        argv: &[String],
        inspector: Arc<Inspector>,
        audit: AuditSink,
        server_id: String,
        session_id: String,
    ) -> SessionConfig {
        SessionConfig {
            inspector,
            audit,
            mode: policy.mode,
            profile: policy.name.clone(),
            server_id,
            session_id,
            max_line_bytes: policy.max_line_bytes,
            close_grace: policy.close_grace,
            term_grace: policy.term_grace,
            stderr_lines_per_sec: policy.stderr_lines_per_sec,
            server_side: super::server_side::ServerSideConfig {
                metadata: policy.metadata.clone(),
                pinning: policy.pinning.clone(),
                results: policy.results.clone(),
                shadow: policy.mode == Mode::Shadow,
                server_key: argv.join(" "),
                tool_filter: None,
            },
            principal: None,
            egress_in_flight: Default::default(),
            behavior: None,
            behavior_key: None,
            semantic: None,
            semantic_policy: policy.semantic.clone(),
        }
    }
}

/// How a session ended.
#[derive(Debug)]
pub enum Outcome {
    /// The agent closed its side; the server was shut down (`forced`: it
    /// needed SIGTERM or SIGKILL).
    AgentClosed { forced: bool },
    /// The server exited while the agent was still connected.
    UpstreamExited(ExitStatus),
    /// We were asked to stop by a signal.
    Signalled(i32),
    /// The session failed inside vanguard (a panic caught at the session
    /// boundary); the server was killed.
    Failed(String),
}

struct Pending {
    method: String,
    tool: Option<String>,
    since: Instant,
    /// Sent by vanguard itself (a `tools/list` to learn the tools): the
    /// answer is consumed, not relayed.
    internal: bool,
    /// Path-like arguments of a `tools/call` (at most a few), so a kernel
    /// denial in the result can name what the call was about.
    paths: Vec<String>,
    /// The call read a sensitive path: its result taints the session.
    sensitive: Option<(Sensitivity, String)>,
}

/// State both pumps share.
struct Shared {
    cfg: SessionConfig,
    ids: EventIds,
    pending: Mutex<HashMap<RequestId, Pending>>,
    tools: Mutex<HashMap<String, ToolHints>>,
    upstream_noise: std::sync::atomic::AtomicU64,
    server: Mutex<ServerView>,
    /// Agent lines waiting for the server's tool list.
    held: Mutex<Vec<Vec<u8>>>,
    listing_in_flight: std::sync::atomic::AtomicBool,
    /// The agent finished the handshake (or, stateless, sent a real request):
    /// only then may vanguard send requests of its own.
    agent_ready: std::sync::atomic::AtomicBool,
    internal_ids: std::sync::atomic::AtomicU64,
    /// What each listed tool can do (L3), from its name, description and
    /// annotations.
    tool_caps: Mutex<HashMap<String, Caps>>,
    /// The L3 state key of this session.
    l3_key: String,
    /// The last risk score L3 returned and when (ms), for audit events.
    risk: Mutex<(f64, u64)>,
    /// "L2 required but no backend" was logged for this session.
    l2_missing_said: std::sync::atomic::AtomicBool,
    /// What raised this session's risk, newest last (for the BEH-RISK message).
    risk_ledger: Mutex<std::collections::VecDeque<RiskEntry>>,
    /// When the session started (RFC 3339).
    started: String,
}

/// The live sessions of this process (for the control socket): weak, so a
/// session's end needs no bookkeeping beyond pruning.
static LIVE: Mutex<Vec<std::sync::Weak<Shared>>> = Mutex::new(Vec::new());

/// A live session, as the control socket reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionInfo {
    pub session_id: String,
    pub server_id: String,
    pub profile: String,
    pub principal: Option<String>,
    /// Whose L3 state the session uses (sessions with one key share it).
    pub behavior_key: String,
    pub risk: Option<f64>,
    pub started: String,
}

fn live() -> Vec<Arc<Shared>> {
    let mut l = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    l.retain(|w| w.strong_count() > 0);
    l.iter().filter_map(std::sync::Weak::upgrade).collect()
}

/// The sessions running in this process.
pub fn live_sessions() -> Vec<SessionInfo> {
    live()
        .iter()
        .map(|s| SessionInfo {
            session_id: s.cfg.session_id.clone(),
            server_id: s.cfg.server_id.clone(),
            profile: s.cfg.profile.clone(),
            principal: s.cfg.principal.clone(),
            behavior_key: s.l3_key.clone(),
            risk: s.risk_now(),
            started: s.started.clone(),
        })
        .collect()
}

/// Resets the L3 risk score of session `id` (or of every session for
/// `*`) in its state store; returns the sessions reset.
pub async fn reset_risk(id: &str) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    for s in live() {
        if id != "*" && s.cfg.session_id != id {
            continue;
        }
        let Some(engine) = s.cfg.behavior.clone().filter(|e| e.cfg.enabled) else {
            continue;
        };
        let now = crate::behavior::now_ms();
        engine
            .store
            .reset_risk(&s.l3_key, now)
            .await
            .map_err(|e| format!("session {}: {e}", s.cfg.session_id))?;
        s.set_risk(0.0, now);
        s.risk_ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        tracing::warn!(
            session = s.cfg.session_id,
            "risk score reset by an operator"
        );
        s.lifecycle("risk_reset", json!({ "by": "operator (control socket)" }));
        done.push(s.cfg.session_id.clone());
    }
    Ok(done)
}

/// One contribution to a session's risk score.
struct RiskEntry {
    at_ms: u64,
    points: f64,
    what: String,
}

/// Contributions kept for the BEH-RISK explanation.
const RISK_LEDGER: usize = 8;

/// A `tools/call` whose decision needs I/O (the Redis store, the L2
/// scorer): finished off the agent pump so other requests go on.
struct Deferred {
    id: Option<RequestId>,
    method: String,
    params: Option<Value>,
    decision: Decision,
    started: Instant,
    obs: Option<CallObs>,
    sensitive: Option<(Sensitivity, String)>,
    /// Path-like arguments of a `tools/call` (for L3, and for naming what a
    /// kernel denial in the result was about).
    paths: Vec<String>,
    /// L3 (already applied) found that the session's risk requires L2.
    require_l2: bool,
    /// L3 cut the egress for this reason: record it in the store.
    cut: Option<String>,
    /// L2/L3 details for the audit event.
    detail: serde_json::Map<String, Value>,
}

type Tx = mpsc::Sender<Vec<u8>>;

const CHANNEL: usize = 1024;

/// Runs a session until the agent or the server ends it.
pub async fn run<R, W>(agent_in: R, agent_out: W, upstream: Upstream, cfg: SessionConfig) -> Outcome
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut cfg = cfg;
    let server_side = std::mem::take(&mut cfg.server_side);
    let l3_key = cfg
        .behavior_key
        .clone()
        .or_else(|| cfg.principal.clone())
        .unwrap_or_else(|| cfg.session_id.clone());
    let shared = Arc::new(Shared {
        tool_caps: Mutex::new(HashMap::new()),
        l3_key,
        risk: Mutex::new((0.0, 0)),
        l2_missing_said: Default::default(),
        risk_ledger: Default::default(),
        started: audit::rfc3339_now(),
        ids: EventIds::new(&cfg.session_id),
        server: Mutex::new(ServerView::new(server_side)),
        held: Mutex::new(Vec::new()),
        listing_in_flight: Default::default(),
        agent_ready: Default::default(),
        internal_ids: Default::default(),
        cfg,
        pending: Mutex::new(HashMap::new()),
        tools: Mutex::new(HashMap::new()),
        upstream_noise: Default::default(),
    });
    if shared.cfg.behavior.as_ref().is_some_and(|e| e.cfg.enabled) {
        shared.set_risk(0.0, crate::behavior::now_ms());
    }
    LIVE.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Arc::downgrade(&shared));
    shared.lifecycle(
        "session_start",
        json!({ "pid": upstream.pid, "sandbox": upstream.enforcement.as_ref().map(|e| e.summary()),
            "behavior": shared.cfg.behavior.as_ref().map(|b| json!({
                "store": b.store.name(), "key": shared.l3_key, "degraded": b.degraded })),
            "semantic": shared.cfg.semantic.as_ref().map(|s| json!({
                "backend": s.backend().name(), "model": s.backend().model(),
                "enabled": shared.cfg.semantic_policy.enabled })) }),
    );

    // The session boundary: a panic anywhere in the session's own task is
    // caught here, the server's process group is killed and the session's
    // end is still recorded, so nothing is orphaned and nothing is lost.
    let pid = upstream.pid;
    let task = tokio::spawn(drive(shared.clone(), agent_in, agent_out, upstream));
    match task.await {
        Ok(outcome) => outcome,
        Err(e) => {
            Upstream::signal_group(pid, libc::SIGKILL);
            let why = if e.is_panic() {
                "a panic in the session"
            } else {
                "the session task was cancelled"
            };
            tracing::error!(pid, "session ended by {why}; the server was killed");
            shared.lifecycle("session_end", json!({ "outcome": "Failed", "error": why }));
            shared.cfg.audit.flush();
            Outcome::Failed(why.to_string())
        }
    }
}

/// The session proper: both pumps, then the shutdown order.
async fn drive<R, W>(
    shared: Arc<Shared>,
    agent_in: R,
    agent_out: W,
    mut upstream: Upstream,
) -> Outcome
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (agent_tx, agent_rx) = mpsc::channel::<Vec<u8>>(CHANNEL);
    let (up_tx, up_rx) = mpsc::channel::<Vec<u8>>(CHANNEL);
    let agent_writer = tokio::spawn(write_loop(agent_out, agent_rx));
    let stdin = upstream.stdin.take();
    let upstream_writer = tokio::spawn(async move {
        if let Some(s) = stdin {
            write_loop(s, up_rx).await;
        }
    });
    if let Some(err) = upstream.stderr.take() {
        let prefix = format!("[{}]", shared.cfg.server_id);
        tokio::spawn(crate::transport::stderr::pump(
            err,
            prefix,
            shared.cfg.stderr_lines_per_sec,
        ));
    }
    let mut upstream_pump = {
        let shared = shared.clone();
        let agent_tx = agent_tx.clone();
        // Weak: when the agent is gone, the server's stdin must close even
        // though this pump could still want to send a request of its own.
        let up_weak = up_tx.downgrade();
        let stdout = upstream.stdout.take();
        tokio::spawn(async move {
            if let Some(out) = stdout {
                upstream_loop(shared, out, agent_tx, up_weak).await;
            }
        })
    };
    let mut agent_pump = {
        let shared = shared.clone();
        let agent_tx = agent_tx.clone();
        tokio::spawn(agent_loop(shared, agent_in, agent_tx, up_tx))
    };

    let pid = upstream.pid;
    let mut exit = upstream.exit;
    let outcome = tokio::select! {
        pumped = &mut agent_pump => {
            if pumped.as_ref().is_err_and(|e| e.is_panic()) {
                // The pump died inside vanguard, not because the agent left:
                // no orderly shutdown, the server goes at once.
                tracing::error!(pid, "the agent pump panicked; killing the server");
                Upstream::signal_group(pid, libc::SIGKILL);
                let _ = tokio::time::timeout(Duration::from_secs(2), &mut exit).await;
                Outcome::Failed("a panic in the agent pump".into())
            } else {
                // The agent is gone: its pump dropped the upstream sender, so the
                // writer closes the server's stdin. Then wait, SIGTERM, SIGKILL.
                let _ = upstream_writer.await;
                let forced = shutdown(&mut exit, pid, shared.cfg.close_grace, shared.cfg.term_grace).await;
                Outcome::AgentClosed { forced }
            }
        }
        status = &mut exit => {
            agent_pump.abort();
            match status {
                Ok(Ok(s)) => Outcome::UpstreamExited(s),
                _ => Outcome::UpstreamExited(std::os::unix::process::ExitStatusExt::from_raw(0)),
            }
        }
        sig = stop_signal() => {
            agent_pump.abort();
            drop(upstream_writer);
            shutdown(&mut exit, pid, shared.cfg.close_grace, shared.cfg.term_grace).await;
            Outcome::Signalled(sig)
        }
    };
    // Relay whatever the server said before it went away, then answer every
    // request it never answered.
    if tokio::time::timeout(Duration::from_millis(500), &mut upstream_pump)
        .await
        .is_err()
    {
        upstream_pump.abort();
    }
    shared.fail_pending(&agent_tx, &outcome).await;
    shared.lifecycle(
        "session_end",
        json!({ "outcome": format!("{outcome:?}"),
        "upstream_noise_lines": shared.upstream_noise.load(std::sync::atomic::Ordering::Relaxed) }),
    );
    drop(agent_tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), agent_writer).await;
    shared.cfg.audit.flush();
    outcome
}

/// Resolves when SIGINT, SIGTERM or SIGHUP arrives.
async fn stop_signal() -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let kinds = [
        (SignalKind::interrupt(), 2),
        (SignalKind::terminate(), 15),
        (SignalKind::hangup(), 1),
    ];
    let mut streams = Vec::new();
    for (k, n) in kinds {
        if let Ok(s) = signal(k) {
            streams.push((s, n));
        }
    }
    if streams.is_empty() {
        return std::future::pending().await;
    }
    let futs = streams.iter_mut().map(|(s, n)| {
        let n = *n;
        Box::pin(async move {
            s.recv().await;
            n
        })
    });
    futures_select_all(futs).await
}

async fn futures_select_all<F: std::future::Future<Output = i32> + Unpin>(
    futs: impl Iterator<Item = F>,
) -> i32 {
    let mut futs: Vec<F> = futs.collect();
    std::future::poll_fn(move |cx| {
        for f in futs.iter_mut() {
            if let std::task::Poll::Ready(n) = std::pin::Pin::new(f).poll(cx) {
                return std::task::Poll::Ready(n);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// The MCP stdio shutdown: stdin is already closed; wait, SIGTERM, wait, SIGKILL.
/// Returns whether a signal was needed.
async fn shutdown(
    exit: &mut tokio::sync::oneshot::Receiver<std::io::Result<ExitStatus>>,
    pid: u32,
    close_grace: Duration,
    term_grace: Duration,
) -> bool {
    if tokio::time::timeout(close_grace, &mut *exit).await.is_ok() {
        // The leader exited; anything left in its group goes too.
        Upstream::signal_group(pid, libc::SIGKILL);
        return false;
    }
    tracing::info!(
        pid,
        "server did not exit after stdin closed; sending SIGTERM"
    );
    Upstream::signal_group(pid, libc::SIGTERM);
    // A oneshot receiver must not be polled again once it has completed.
    let exited = tokio::time::timeout(term_grace, &mut *exit).await.is_ok();
    if !exited {
        tracing::warn!(pid, "server ignored SIGTERM; sending SIGKILL");
    }
    // Whatever is left of the group (the leader's children) goes too.
    Upstream::signal_group(pid, libc::SIGKILL);
    if !exited {
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut *exit).await;
    }
    true
}

async fn write_loop<W: AsyncWrite + Unpin>(out: W, mut rx: mpsc::Receiver<Vec<u8>>) {
    // Queued lines are coalesced in the buffer and written with one flush.
    let mut out = tokio::io::BufWriter::with_capacity(8 * 1024, out);
    while let Some(buf) = rx.recv().await {
        if out.write_all(&buf).await.is_err() {
            return;
        }
        // Coalesce whatever else is already queued before one flush.
        while let Ok(more) = rx.try_recv() {
            if out.write_all(&more).await.is_err() {
                return;
            }
        }
        if out.flush().await.is_err() {
            return;
        }
    }
    let _ = out.shutdown().await;
}

async fn agent_loop<R: AsyncRead + Unpin>(shared: Arc<Shared>, input: R, agent_tx: Tx, up_tx: Tx) {
    let mut reader = LineReader::new(input, shared.cfg.max_line_bytes);
    loop {
        let frame = match reader.next_frame().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "reading from the agent failed");
                break;
            }
        };
        match frame {
            Frame::TooLong { len } => {
                let limit = shared.cfg.max_line_bytes;
                let msg = format!(
                    "message of {len} bytes exceeds the maximum line length of {limit} bytes"
                );
                shared.input_error(Direction::AgentToServer, &msg);
                let data = json!({ "reason": "line_too_long", "limit": limit, "length": len });
                let _ = agent_tx
                    .send(error_line(None, errors::INVALID_REQUEST, &msg, Some(data)))
                    .await;
            }
            Frame::Line(line) => shared.decide_and_send(line, &agent_tx, &up_tx).await,
        }
    }
    // The agent is done sending. Calls still held for the tool list are
    // decided (and answered) before the server's input is closed: this
    // pump's sender keeps it open until then.
    let deadline = Instant::now() + HELD_AT_EOF;
    while !shared
        .held
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_empty()
    {
        if Instant::now() >= deadline {
            shared.fail_held(&agent_tx).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How long calls held for the tool list may wait once the agent has
/// closed its side.
const HELD_AT_EOF: Duration = Duration::from_secs(10);

async fn upstream_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    out: R,
    agent_tx: Tx,
    up_weak: mpsc::WeakSender<Vec<u8>>,
) {
    let mut reader = LineReader::new(out, shared.cfg.max_line_bytes);
    while let Ok(Some(frame)) = reader.next_frame().await {
        match frame {
            Frame::TooLong { len } => {
                shared.noise(&format!(
                    "{len}-byte line exceeds the maximum line length; not relayed"
                ));
            }
            Frame::Line(line) => {
                let mut out = shared.upstream_line(line);
                if let Some(l3) = out.l3.take() {
                    shared.observe_result(l3, &mut out).await;
                }
                if let Some(id) = out.tools_list.take() {
                    shared.score_metadata(&id, &mut out).await;
                }
                if let Some(bytes) = out.forward {
                    if agent_tx.send(bytes).await.is_err() {
                        return;
                    }
                }
                let Some(up_tx) = up_weak.upgrade() else {
                    continue;
                };
                // Never wait on the server's input here: this pump is what
                // drains the server's output, and a server blocked writing
                // stops reading (a deadlock once the queue is full).
                if let Some(req) = out.request {
                    if let Err(mpsc::error::TrySendError::Full(req)) = up_tx.try_send(req) {
                        let up_tx = up_tx.clone();
                        tokio::spawn(async move {
                            let _ = up_tx.send(req).await;
                        });
                    }
                }
                if out.replay {
                    let (shared, agent_tx, up_tx) =
                        (Arc::clone(&shared), agent_tx.clone(), up_tx.clone());
                    tokio::spawn(async move { shared.replay_held(&agent_tx, &up_tx).await });
                }
            }
        }
    }
}

/// What happens to a line from the server.
enum Relay {
    Original,
    Replace(Vec<u8>),
    Drop,
}

#[derive(Default)]
struct UpstreamOutput {
    forward: Option<Vec<u8>>,
    /// A request of vanguard's own to send to the server.
    request: Option<Vec<u8>>,
    /// Held agent lines can be decided now.
    replay: bool,
    /// A result for L3 to observe before it is relayed.
    l3: Option<(RequestId, Option<String>, crate::behavior::ResultObs)>,
    /// An agent's `tools/list` answer, for L2 to score before it is relayed.
    tools_list: Option<RequestId>,
}

enum Forward {
    Original,
    Parts(Vec<Vec<u8>>),
    /// Batch elements to send together with the allowed deferred ones.
    Batch(Vec<String>),
    Nothing,
}

/// A layer could not judge: a block when it fails closed, else a warning.
fn fail_mode_finding(
    rule: &str,
    layer: Layer,
    closed: bool,
    message: String,
    hint: &str,
) -> crate::inspect::Finding {
    crate::inspect::Finding {
        rule: rule.into(),
        layer,
        severity: crate::policy::Severity::High,
        action: if closed {
            crate::policy::Action::Block
        } else {
            crate::policy::Action::Warn
        },
        message,
        location: "/params".into(),
        evidence: String::new(),
        hint: Some(hint.into()),
    }
}

/// A JSON-RPC batch of elements, each element's text unchanged.
/// A fault-injection point for the tests of the session boundary: debug
/// builds panic on a request whose method is `VANGUARD_FAULT_PANIC_METHOD`.
/// Release builds compile it away.
fn fault_point(method: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("VANGUARD_FAULT_PANIC_METHOD").is_ok_and(|m| m == method) {
        #[allow(clippy::panic)]
        {
            panic!("fault injected on {method} (VANGUARD_FAULT_PANIC_METHOD)");
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = method;
}

/// The rule of the finding that carried a call's risk points.
fn strongest(findings: &[crate::inspect::Finding], tool: &str) -> String {
    let f = findings.iter().max_by_key(|f| f.action);
    format!(
        "{} on {tool}",
        f.map(|f| f.rule.as_str()).unwrap_or("a finding")
    )
}

fn batch_of<S: AsRef<str>>(parts: &[S]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.as_ref().len() + 1).sum();
    let mut b = Vec::with_capacity(len + 2);
    b.push(b'[');
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(p.as_ref().as_bytes());
    }
    b.extend_from_slice(b"]\n");
    b
}

/// The action a verdict stands for, if it is more than "allow".
fn action_of(v: Verdict) -> Option<crate::policy::Action> {
    match v {
        Verdict::Block | Verdict::ShadowBlock => Some(crate::policy::Action::Block),
        Verdict::Warn => Some(crate::policy::Action::Warn),
        Verdict::Allow => None,
    }
}

/// Runs a future that never waits (the memory store's operations) to its
/// end on this thread, so a call L3 decides in memory needs no task.
fn without_waiting<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => unreachable!("an in-memory L3 operation waited"),
    }
}

struct AgentOutput {
    forward: Forward,
    replies: Vec<Vec<u8>>,
    /// Keep the line until the server's tools are known.
    hold: bool,
    /// Decisions to finish with I/O: the whole line (`None`) or a batch
    /// element's text.
    deferred: Vec<(Option<String>, Box<Deferred>)>,
}

/// What to do with one message (or batch element) from the agent.
enum Handled {
    Forward,
    Reply(Vec<u8>),
    Drop,
    Hold,
    Defer(Box<Deferred>),
}

impl Shared {
    fn agent_line(&self, line: &[u8]) -> AgentOutput {
        match classify(line) {
            Err(inv) => AgentOutput {
                forward: Forward::Nothing,
                replies: vec![self.invalid(&inv)],
                hold: false,
                deferred: Vec::new(),
            },
            Ok(Message::Batch(items)) => {
                let mut replies = Vec::new();
                let mut parts = Vec::new();
                let mut hold = false;
                let mut deferred = Vec::new();
                for raw in &items {
                    match classify_raw(raw) {
                        Err(inv) => replies.push(self.invalid(&inv)),
                        Ok(m) => match self.agent_message(m) {
                            Handled::Forward => parts.push(raw.get()),
                            Handled::Reply(r) => replies.push(r),
                            Handled::Drop => {}
                            Handled::Hold => hold = true,
                            Handled::Defer(d) => deferred.push((Some(raw.get().to_string()), d)),
                        },
                    }
                }
                if hold {
                    // The whole batch waits; it is decided again once the
                    // tools are known, so nothing is answered twice.
                    return AgentOutput {
                        forward: Forward::Nothing,
                        replies: Vec::new(),
                        hold: true,
                        deferred: Vec::new(),
                    };
                }
                if !deferred.is_empty() {
                    // Decided elements go with the deferred ones once those
                    // are finished (see `decide_and_send`).
                    let parts = parts.into_iter().map(String::from).collect();
                    return AgentOutput {
                        forward: Forward::Batch(parts),
                        replies,
                        hold: false,
                        deferred,
                    };
                }
                let forward = if replies.is_empty() && parts.len() == items.len() {
                    Forward::Original
                } else if parts.is_empty() {
                    Forward::Nothing
                } else {
                    // Forward the allowed elements as one batch, each element's
                    // bytes unchanged.
                    Forward::Parts(vec![batch_of(&parts)])
                };
                AgentOutput {
                    forward,
                    replies,
                    hold: false,
                    deferred: Vec::new(),
                }
            }
            Ok(m) => {
                let mut deferred = Vec::new();
                let (forward, replies, hold) = match self.agent_message(m) {
                    Handled::Forward => (Forward::Original, vec![], false),
                    Handled::Reply(r) => (Forward::Nothing, vec![r], false),
                    Handled::Drop => (Forward::Nothing, vec![], false),
                    Handled::Hold => (Forward::Nothing, vec![], true),
                    Handled::Defer(d) => {
                        deferred.push((None, d));
                        (Forward::Nothing, vec![], false)
                    }
                };
                AgentOutput {
                    forward,
                    replies,
                    hold,
                    deferred,
                }
            }
        }
    }

    fn agent_message(&self, m: Message<'_>) -> Handled {
        let (id, method, params) = match m {
            Message::Request { id, method, params } => {
                fault_point(&method);
                (Some(id), method, params)
            }
            Message::Notification { method, params } => (None, method, params),
            // The agent answering a server→client request.
            Message::Response { .. } => return Handled::Forward,
            Message::Batch(_) => {
                return Handled::Reply(error_line(
                    None,
                    errors::INVALID_REQUEST,
                    "nested batches are not allowed",
                    None,
                ))
            }
        };
        if method == "notifications/initialized"
            || (id.is_some() && method != "initialize" && method != "ping")
        {
            self.agent_ready
                .store(true, std::sync::atomic::Ordering::Release);
        }
        let started = Instant::now();
        let params: Option<Value> = match params.map(|p| serde_json::from_str(p.get())) {
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => {
                // Syntax was checked by classify; what fails here is the depth
                // limit (128 levels). Nothing this deep is inspected or forwarded.
                let msg = format!("Parse error: params could not be decoded: {e}");
                self.input_error(Direction::AgentToServer, &msg);
                return Handled::Reply(error_line(id.as_ref(), errors::PARSE_ERROR, &msg, None));
            }
            None => None,
        };
        if method == "initialize" {
            // Servers list different tools to clients with different
            // capabilities (sampling, elicitation, roots): pins are kept
            // per capability set.
            if let Some(caps) = params.as_ref().and_then(|p| p.get("capabilities")) {
                self.server
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .set_client_capabilities(caps);
            }
        }
        if method == "tools/call" {
            let tool = params
                .as_ref()
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let check = self
                .server
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .check_call(tool);
            match check {
                CallCheck::Allowed => {}
                CallCheck::NeedListing => return Handled::Hold,
                CallCheck::Refused(h) => return self.refuse_tool(id, &method, tool, &h, started),
            }
        }
        let decision = {
            let tool = params
                .as_ref()
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str);
            let tools = self.tools.lock().unwrap_or_else(|p| p.into_inner());
            let hints = if method == "tools/call" {
                tool.and_then(|t| tools.get(t))
            } else {
                None
            };
            self.cfg
                .inspector
                .inspect_request(&method, params.as_ref(), hints)
        };
        let paths = if method == "tools/call" {
            crate::behavior::call_paths(params.as_ref().and_then(|p| p.get("arguments")))
                .iter()
                .map(|p| self.cfg.inspector.absolute_path(p))
                .collect()
        } else {
            Vec::new()
        };
        let mut d = Deferred {
            paths,
            id,
            method,
            params,
            decision,
            started,
            obs: None,
            sensitive: None,
            require_l2: false,
            cut: None,
            detail: serde_json::Map::new(),
        };
        if d.method != "tools/call" {
            return self.conclude(d);
        }
        let engine = self.cfg.behavior.clone().filter(|e| e.cfg.enabled);
        if let Some(engine) = engine {
            let obs = self.call_obs(&engine, &d);
            d.sensitive = obs.sensitive.clone();
            if engine.store.is_remote() {
                d.obs = Some(obs);
                return Handled::Defer(Box::new(d));
            }
            // In memory: L3 is decided here, without a task; only a call
            // that L2 must score is finished off the pump.
            let require_l2 = without_waiting(self.run_l3(&engine, &obs, &mut d));
            let wants_l2 = self.cfg.semantic_policy.enabled || require_l2;
            if !wants_l2 || d.decision.verdict == Verdict::Block {
                return self.conclude(d);
            }
            if self.cfg.semantic.is_none() {
                self.l2_failed(
                    &mut d,
                    "the session's risk requires L2 and no semantic backend is configured",
                );
                return self.conclude(d);
            }
            d.require_l2 = require_l2;
            Handled::Defer(Box::new(d))
        } else if self.cfg.semantic.is_some() && self.cfg.semantic_policy.enabled {
            Handled::Defer(Box::new(d))
        } else {
            self.conclude(d)
        }
    }

    /// The L3 observation of a `tools/call`.
    fn call_obs(&self, engine: &crate::behavior::Engine, d: &Deferred) -> CallObs {
        let tool = d.decision.tool.clone().unwrap_or_default();
        let args = d.params.as_ref().and_then(|p| p.get("arguments"));
        let listed = self
            .tool_caps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tool)
            .copied();
        crate::behavior::call_obs(
            &engine.cfg,
            &tool,
            args,
            listed,
            d.paths.clone(),
            &d.decision.findings,
            crate::behavior::now_ms(),
        )
    }

    /// L3 for one call: observe it in the store, judge it, add the risk its
    /// findings carry and record an egress cut. Returns whether the
    /// session's risk requires L2.
    async fn run_l3(
        &self,
        engine: &crate::behavior::Engine,
        obs: &CallObs,
        d: &mut Deferred,
    ) -> bool {
        let st = match engine.store.observe_call(&self.l3_key, obs).await {
            Ok(st) => st,
            Err(e) => {
                d.decision
                    .push(self.overridden(self.store_failure(engine, &e)));
                d.decision.finish();
                return false;
            }
        };
        let (require_l2, add) = self.apply_l3(engine, obs, &st, d);
        if add > 0.0 {
            match engine.store.add_risk(&self.l3_key, obs.now_ms, add).await {
                Ok(r) => self.set_risk(r, obs.now_ms),
                Err(e) => {
                    d.decision
                        .push(self.overridden(self.store_failure(engine, &e)));
                    d.decision.finish();
                }
            }
        }
        if let Some(why) = d.cut.take() {
            if let Err(e) = engine
                .store
                .cut_egress(&self.l3_key, obs.now_ms, &why)
                .await
            {
                tracing::error!("L3 could not record the egress cut in the state store: {e}");
            }
        }
        require_l2
    }

    /// Adds L3's findings to the decision; returns whether L2 is required
    /// and the risk points to add.
    fn apply_l3(
        &self,
        engine: &crate::behavior::Engine,
        obs: &CallObs,
        st: &crate::behavior::CallState,
        d: &mut Deferred,
    ) -> (bool, f64) {
        self.set_risk(st.risk, obs.now_ms);
        let a = crate::behavior::assess_call(&engine.cfg, obs, st);
        if obs.risk_add > 0.0 {
            self.note_risk(
                obs.now_ms,
                obs.risk_add,
                strongest(&d.decision.findings, obs.tool.as_str()),
            );
        }
        if a.risk_add > 0.0 {
            let rules: Vec<&str> = a
                .findings
                .iter()
                .filter(|f| f.rule != "BEH-RISK")
                .map(|f| f.rule.as_str())
                .collect();
            self.note_risk(
                obs.now_ms,
                a.risk_add,
                format!("{} on {}", rules.join("+"), obs.tool),
            );
        }
        // The counters go into the audit event when L3 has something to
        // say (every event carries the risk score anyway).
        if !a.findings.is_empty() || st.taint.is_some() || obs.sensitive.is_some() {
            d.detail.insert(
                "l3".into(),
                json!({ "capabilities": obs.caps, "tool_rate": st.tool_rate, "repeat": st.repeat,
                    "tainted": st.taint.as_ref().map(|t| &t.reason) }),
            );
        }
        if a.exfiltration && engine.cfg.cut_egress {
            let why = format!(
                "exfiltration sequence after a sensitive read ({})",
                st.taint.as_ref().map(|t| t.reason.as_str()).unwrap_or("")
            );
            if self.cfg.mode == Mode::Shadow {
                // Shadow mode observes: the cut is recorded, not made.
                tracing::warn!("L3 would cut the session's egress: {why}");
                self.lifecycle("egress_cut", json!({ "reason": why, "shadow": true }));
            } else {
                self.cfg.egress_in_flight.cut(&why);
                tracing::warn!("L3 cut the session's egress: {why}");
                self.lifecycle("egress_cut", json!({ "reason": why }));
                d.cut = Some(why);
            }
        } else if let Some(why) = &st.egress_cut {
            self.shared_cut(engine, why);
        }
        for f in a.findings {
            let f = self.explained_risk(f, st.risk, &engine.cfg);
            d.decision.push(self.overridden(f));
        }
        d.decision.finish();
        (a.require_l2, a.risk_add)
    }

    fn note_risk(&self, at_ms: u64, points: f64, what: String) {
        let mut l = self.risk_ledger.lock().unwrap_or_else(|p| p.into_inner());
        if l.len() == RISK_LEDGER {
            l.pop_front();
        }
        l.push_back(RiskEntry {
            at_ms,
            points,
            what,
        });
    }

    /// BEH-RISK with what raised the score, when it falls below the
    /// threshold without new findings, and how an operator resets it.
    fn explained_risk(
        &self,
        mut f: crate::inspect::Finding,
        score: f64,
        cfg: &crate::behavior::BehaviorConfig,
    ) -> crate::inspect::Finding {
        if f.rule != "BEH-RISK" {
            return f;
        }
        let now = crate::behavior::now_ms();
        let raised: Vec<String> = self
            .risk_ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .rev()
            .map(|e| {
                format!(
                    "{} +{:.0} ({} s ago)",
                    e.what,
                    e.points,
                    now.saturating_sub(e.at_ms) / 1000
                )
            })
            .collect();
        let hl = cfg.risk.half_life.as_secs_f64();
        let secs = (hl * (score / cfg.risk.block).log2()).max(0.0).ceil();
        if !raised.is_empty() {
            f.message = format!("{}; raised by {}", f.message, raised.join(", "));
        }
        f.hint = Some(format!(
            "the score halves every {:.0} s without new findings: calls are allowed again in about {secs:.0} s; an operator can reset it now with `vanguard risk reset {}`",
            hl, self.cfg.session_id
        ));
        f
    }

    /// A finding of L2 or L3 (made outside the inspector) with the
    /// profile's `[rule_actions]` applied, as L1's are.
    fn overridden(&self, mut f: crate::inspect::Finding) -> crate::inspect::Finding {
        if let Some(a) = self.cfg.inspector.action_override(&f.rule) {
            f.action = a;
        }
        f
    }

    /// Another session with this state key (possibly on another gateway
    /// instance) cut the egress: cut this session's too.
    fn shared_cut(&self, engine: &crate::behavior::Engine, why: &str) {
        if !engine.cfg.cut_egress
            || self.cfg.mode == Mode::Shadow
            || self.cfg.egress_in_flight.cut_reason().is_some()
        {
            return;
        }
        self.cfg.egress_in_flight.cut(why);
        tracing::warn!("L3 cut the session's egress (cut for this agent elsewhere): {why}");
        self.lifecycle("egress_cut", json!({ "reason": why, "shared": true }));
    }

    /// The state store failed: the profile's fail mode decides.
    fn store_failure(
        &self,
        engine: &crate::behavior::Engine,
        e: &dyn std::fmt::Display,
    ) -> crate::inspect::Finding {
        let closed = engine.cfg.on_store_error == crate::behavior::FailMode::Closed;
        tracing::error!(
            "L3 state store failed: {e} (failing {})",
            if closed { "closed" } else { "open" }
        );
        fail_mode_finding(
            "BEH-STATE-UNAVAILABLE",
            Layer::L3,
            closed,
            format!("the L3 state store failed: {e}"),
            "set [behavior] on_state_error to choose between failing open and closed",
        )
    }

    /// L2 was needed and gave no score: the profile's fail mode decides.
    fn l2_failed(&self, d: &mut Deferred, why: &str) {
        let closed = self.cfg.semantic_policy.settings.fail_closed;
        // A missing backend is a standing condition: said once per session
        // (every call still carries the finding in the audit log).
        let standing = self.cfg.semantic.is_none();
        if !standing
            || !self
                .l2_missing_said
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::error!(
                "L2 semantic scoring failed: {why} (failing {})",
                if closed { "closed" } else { "open" }
            );
        }
        d.detail.insert("l2".into(), json!({ "error": why }));
        d.decision.push(self.overridden(fail_mode_finding(
            "L2-UNAVAILABLE",
            Layer::L2,
            closed,
            format!("semantic scoring failed: {why}"),
            "set [semantic] fail to choose between failing open and closed",
        )));
        d.decision.finish();
    }

    /// Finishes a deferred decision: L3 against a remote store, then L2.
    async fn finish(self: &Arc<Self>, mut d: Box<Deferred>) -> Handled {
        let mut require_l2 = d.require_l2;
        if let (Some(engine), Some(obs)) = (self.cfg.behavior.clone(), d.obs.take()) {
            require_l2 = self.run_l3(&engine, &obs, &mut d).await;
        }
        let wants_l2 = self.cfg.semantic_policy.enabled || require_l2;
        if wants_l2 && d.decision.verdict != Verdict::Block {
            match self.cfg.semantic.clone() {
                Some(scorer) => self.score(&scorer, &mut d).await,
                None => self.l2_failed(
                    &mut d,
                    "the session's risk requires L2 and no semantic backend is configured",
                ),
            }
        }
        self.conclude(*d)
    }

    /// Asks L2 for a score; it can only raise the verdict.
    async fn score(&self, scorer: &crate::semantic::Scorer, d: &mut Deferred) {
        let null = Value::Null;
        let tool = d.decision.tool.clone();
        let result = {
            let input = crate::semantic::Input {
                kind: &d.method,
                tool: tool.as_deref(),
                payload: d.params.as_ref().unwrap_or(&null),
                findings: &d.decision.findings,
            };
            scorer.score(&input).await
        };
        let sc = match result {
            Ok(sc) => sc,
            Err(e) => return self.l2_failed(d, &e.to_string()),
        };
        let p = &self.cfg.semantic_policy.settings;
        d.detail.insert(
            "l2".into(),
            json!({ "score": sc.score, "reason": sc.reason, "cached": sc.cached,
                "attempts": sc.attempts, "latency_us": sc.latency.as_micros() as u64 }),
        );
        let Some(action) = action_of(crate::semantic::verdict_for(sc.score, p.warn, p.block))
        else {
            return;
        };
        let bound = if action == crate::policy::Action::Block {
            p.block
        } else {
            p.warn
        };
        let finding = crate::inspect::Finding {
            rule: "L2-SEMANTIC".into(),
            layer: Layer::L2,
            severity: if action == crate::policy::Action::Block {
                crate::policy::Severity::High
            } else {
                crate::policy::Severity::Medium
            },
            action,
            message: format!(
                "semantic score {:.2} (threshold {bound:.2}): {}",
                sc.score, sc.reason
            ),
            location: "/params".into(),
            evidence: sc.reason.chars().take(160).collect(),
            hint: None,
        };
        let finding = self.overridden(finding);
        let add = crate::behavior::risk_of(std::slice::from_ref(&finding));
        if add > 0.0 {
            self.note_risk(
                crate::behavior::now_ms(),
                add,
                format!("L2-SEMANTIC on {}", tool.as_deref().unwrap_or("?")),
            );
        }
        d.decision.push(finding);
        d.decision.finish();
        if let Some(engine) = self.cfg.behavior.as_ref() {
            let now = crate::behavior::now_ms();
            if let Ok(r) = engine.store.add_risk(&self.l3_key, now, add).await {
                self.set_risk(r, now);
            }
        }
    }

    fn set_risk(&self, score: f64, at_ms: u64) {
        *self.risk.lock().unwrap_or_else(|p| p.into_inner()) = (score, at_ms);
        self.cfg
            .egress_in_flight
            .set_risk((score * 10.0).round() / 10.0);
    }

    /// The session's risk now (decayed since L3 last reported it).
    fn risk_now(&self) -> Option<f64> {
        let engine = self.cfg.behavior.as_ref().filter(|e| e.cfg.enabled)?;
        let (score, at) = *self.risk.lock().unwrap_or_else(|p| p.into_inner());
        let r = crate::behavior::decay(
            score,
            at,
            crate::behavior::now_ms(),
            engine.cfg.risk.half_life,
        );
        Some((r * 10.0).round() / 10.0)
    }

    /// Applies the verdict: the audit event, the reply or the forward.
    fn conclude(&self, d: Deferred) -> Handled {
        let Deferred {
            id,
            method,
            decision,
            started,
            sensitive,
            paths,
            detail,
            ..
        } = d;
        let latency = started.elapsed();
        let mut verdict = decision.verdict;
        if verdict == Verdict::Block && self.cfg.mode == Mode::Shadow {
            verdict = Verdict::ShadowBlock;
        }
        let event_id = self.ids.next();
        self.decision_event(
            &event_id,
            Direction::AgentToServer,
            &method,
            id.as_ref(),
            &decision,
            verdict,
            latency,
            (!detail.is_empty()).then_some(Value::Object(detail)),
        );
        match verdict {
            Verdict::Block => match id {
                Some(id) => Handled::Reply(self.block_response(&id, &decision, &event_id)),
                None => {
                    tracing::warn!(method, rules = ?decision.rule_ids(), "blocked a notification");
                    Handled::Drop
                }
            },
            _ => {
                if verdict != Verdict::Allow {
                    tracing::warn!(method, tool = ?decision.tool, verdict = verdict.as_str(), rules = ?decision.rule_ids(), event_id, "forwarding despite findings");
                }
                if let Some(id) = id {
                    if matches!(
                        method.as_str(),
                        "tools/call" | "resources/read" | "prompts/get"
                    ) {
                        self.cfg.egress_in_flight.insert(id.to_value());
                    }
                    let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                    pending.insert(
                        id,
                        Pending {
                            paths,
                            method,
                            tool: decision.tool,
                            since: started,
                            internal: false,
                            sensitive,
                        },
                    );
                }
                Handled::Forward
            }
        }
    }

    /// A call to a tool the server hid, withheld or never listed: -32602,
    /// as if the tool did not exist (it does not, for this agent).
    fn refuse_tool(
        &self,
        id: Option<RequestId>,
        method: &str,
        tool: &str,
        h: &Hidden,
        started: Instant,
    ) -> Handled {
        let event_id = self.ids.next();
        let mut d = Decision::new();
        d.tool = Some(tool.to_string());
        d.push(crate::inspect::Finding {
            rule: h.rule.clone(),
            layer: Layer::L1,
            severity: crate::policy::Severity::High,
            action: crate::policy::Action::Block,
            message: h.message.clone(),
            location: "/params/name".into(),
            evidence: tool.to_string(),
            hint: None,
        });
        d.finish();
        self.decision_event(
            &event_id,
            Direction::AgentToServer,
            method,
            id.as_ref(),
            &d,
            Verdict::Block,
            started.elapsed(),
            None,
        );
        let Some(id) = id else { return Handled::Drop };
        let data = json!({ "rule": h.rule, "layer": Layer::L1, "event_id": event_id, "reason": h.message });
        Handled::Reply(error_line(
            Some(&id),
            errors::INVALID_PARAMS,
            &format!("Unknown tool: {tool}"),
            Some(data),
        ))
    }

    /// A `tools/list` request of vanguard's own, unless one is already out.
    fn start_listing(&self) -> Option<Vec<u8>> {
        use std::sync::atomic::Ordering;
        if self.listing_in_flight.swap(true, Ordering::AcqRel) {
            return None;
        }
        let n = self.internal_ids.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::from_value(&Value::String(format!("vanguard-internal-{n}")))?;
        let mut line = serde_json::to_vec(
            &json!({"jsonrpc": "2.0", "id": id.to_value(), "method": "tools/list"}),
        )
        .unwrap_or_default();
        line.push(b'\n');
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                id,
                Pending {
                    method: "tools/list".into(),
                    tool: None,
                    since: Instant::now(),
                    internal: true,
                    paths: Vec::new(),
                    sensitive: None,
                },
            );
        Some(line)
    }

    fn block_response(&self, id: &RequestId, d: &Decision, event_id: &str) -> Vec<u8> {
        let f = d.primary();
        let message = match f {
            Some(f) => format!("Blocked by vanguard: {}", f.message),
            None => "Blocked by vanguard".to_string(),
        };
        let data = json!({
            "rule": f.map(|f| f.rule.as_str()),
            "layer": f.map(|f| f.layer).unwrap_or(Layer::L1),
            "severity": f.map(|f| f.severity),
            "event_id": event_id,
            "hint": f.and_then(|f| f.hint.as_deref()),
            "rules": d.rule_ids(),
        });
        tracing::warn!(request_id = id.as_json(), rules = ?d.rule_ids(), event_id, "blocked: {message}");
        error_line(Some(id), errors::POLICY_BLOCKED, &message, Some(data))
    }

    fn invalid(&self, inv: &Invalid) -> Vec<u8> {
        let msg = match inv {
            Invalid::Utf8 { .. } => format!("Parse error: {inv}"),
            Invalid::Json { .. } => format!("Parse error: {inv}"),
            Invalid::Request { .. } => format!("Invalid Request: {inv}"),
        };
        self.input_error(Direction::AgentToServer, &msg);
        error_line(inv.id(), inv.code(), &msg, None)
    }

    /// Returns whether the line goes on to the agent.
    /// Decides one line from the server.
    fn upstream_line(&self, mut line: Vec<u8>) -> UpstreamOutput {
        let mut out = UpstreamOutput::default();
        let handled = match classify(&line) {
            Err(e) => {
                self.noise(&format!("not a JSON-RPC message ({e}); not relayed"));
                return out;
            }
            Ok(Message::Batch(items)) => {
                // Rare (2025-03-26 only): each element is decided alone and
                // the batch rebuilt only if one of them changed.
                let mut changed = false;
                let mut parts: Vec<Vec<u8>> = Vec::new();
                for raw in &items {
                    match classify_raw(raw) {
                        Ok(m) => match self.server_message(m, raw.get().as_bytes(), &mut out) {
                            Relay::Original => parts.push(raw.get().as_bytes().to_vec()),
                            Relay::Replace(b) => {
                                changed = true;
                                let mut b = b;
                                while b.last() == Some(&b'\n') {
                                    b.pop();
                                }
                                parts.push(b);
                            }
                            Relay::Drop => changed = true,
                        },
                        Err(_) => parts.push(raw.get().as_bytes().to_vec()),
                    }
                }
                if changed {
                    let mut b = vec![b'['];
                    b.extend(parts.join(&b',').iter());
                    b.extend_from_slice(b"]");
                    Relay::Replace(b)
                } else {
                    Relay::Original
                }
            }
            Ok(m) => self.server_message(m, &line, &mut out),
        };
        out.forward = match handled {
            Relay::Original => {
                line.push(b'\n');
                Some(line)
            }
            Relay::Replace(mut b) => {
                if b.last() != Some(&b'\n') {
                    b.push(b'\n');
                }
                Some(b)
            }
            Relay::Drop => None,
        };
        out
    }

    fn server_message(&self, m: Message<'_>, raw: &[u8], out: &mut UpstreamOutput) -> Relay {
        match m {
            Message::Response {
                id,
                is_error,
                result,
            } => {
                let p = self
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                self.cfg.egress_in_flight.remove(&id.to_value());
                let Some(p) = p else {
                    tracing::debug!(
                        id = id.as_json(),
                        "response to an id the agent did not send through this session"
                    );
                    return Relay::Original;
                };
                if p.internal {
                    self.internal_listing(result.map(|r| r.get()), is_error);
                    out.replay = true;
                    return Relay::Drop;
                }
                if is_error {
                    return Relay::Original;
                }
                let Some(result) = result else {
                    return Relay::Original;
                };
                if p.method == "tools/list"
                    && self.cfg.semantic_policy.metadata
                    && self.cfg.semantic.is_some()
                {
                    out.tools_list = Some(id.clone());
                }
                let mut denied = false;
                if p.method == "tools/call" {
                    let text = std::str::from_utf8(raw).unwrap_or("");
                    if crate::inspect::denial::may_contain_denial(text) {
                        denied = self.kernel_denial(&id, &p, text);
                    }
                }
                self.inspect_result(&id, &p, result.get(), raw, denied, out)
            }
            Message::Notification { method, .. }
                if method == "notifications/tools/list_changed" =>
            {
                // Re-inspect: calls wait for a fresh listing, which vanguard
                // asks for itself once the handshake is done.
                self.server
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .invalidate_listing();
                if self.agent_ready.load(std::sync::atomic::Ordering::Acquire) {
                    out.request = self.start_listing();
                }
                Relay::Original
            }
            _ => Relay::Original,
        }
    }

    /// Metadata and result inspection for a response to `p`.
    fn inspect_result(
        &self,
        id: &RequestId,
        p: &Pending,
        result: &str,
        raw: &[u8],
        denied: bool,
        out: &mut UpstreamOutput,
    ) -> Relay {
        let kind = match p.method.as_str() {
            "initialize"
            | "tools/list"
            | "prompts/list"
            | "resources/list"
            | "resources/templates/list"
            | "tools/call"
            | "resources/read"
            | "prompts/get" => p.method.as_str(),
            _ => return Relay::Original,
        };
        let started = Instant::now();
        let Ok(value) = serde_json::from_str::<Value>(result) else {
            return Relay::Original;
        };
        if kind == "tools/list" {
            self.learn_tools(&value);
        }
        let outcome = {
            let mut view = self.server.lock().unwrap_or_else(|p| p.into_inner());
            match kind {
                "initialize" => view.on_initialize(&value),
                "tools/list" => view.on_tools_list(&value),
                "prompts/list" => view.on_items_list(&value, "prompts", "prompt"),
                "resources/list" => view.on_items_list(&value, "resources", "resource"),
                "resources/templates/list" => {
                    view.on_items_list(&value, "resourceTemplates", "resource_template")
                }
                _ => view.on_result(&value),
            }
        };
        if kind == "tools/call" || kind == "resources/read" {
            self.result_obs(id, p, &value, raw.len(), denied, &outcome.findings, out);
        }
        if outcome.findings.is_empty() && outcome.replace.is_none() && outcome.block.is_none() {
            return Relay::Original;
        }
        let shadow = self.cfg.mode == Mode::Shadow;
        let verdict = outcome.verdict(shadow);
        let event_id = self.ids.next();
        let mut d = Decision::new();
        d.tool = p.tool.clone();
        d.findings = outcome.findings;
        d.finish();
        let mut ev = self.base_event("decision", Direction::ServerToAgent);
        ev.event_id = event_id.clone();
        ev.method = Some(p.method.clone());
        ev.request_id = Some(id.to_value());
        ev.tool = p.tool.clone();
        ev.verdict = verdict;
        ev.layer = d.primary().map(|f| f.layer);
        ev.rules = d.rule_ids().into_iter().map(String::from).collect();
        ev.latency_us = started.elapsed().as_micros() as u64;
        ev.findings = d.findings.clone();
        self.cfg.audit.record(ev);
        if verdict != "allow" {
            tracing::warn!(method = p.method, tool = ?p.tool, verdict, rules = ?d.rule_ids(), event_id, "server response");
        }
        if shadow {
            return Relay::Original;
        }
        if let Some((message, rule)) = outcome.block {
            let data = json!({ "rule": rule, "layer": Layer::L1, "event_id": event_id, "rules": d.rule_ids() });
            return Relay::Replace(error_line(
                Some(id),
                errors::POLICY_BLOCKED,
                &format!("Blocked by vanguard: {message}"),
                Some(data),
            ));
        }
        if let Some(new_result) = outcome.replace {
            let mut whole: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
            whole["result"] = new_result;
            return Relay::Replace(serde_json::to_vec(&whole).unwrap_or_default());
        }
        Relay::Original
    }

    /// The answer to vanguard's own `tools/list`.
    fn internal_listing(&self, result: Option<&str>, is_error: bool) {
        self.listing_in_flight
            .store(false, std::sync::atomic::Ordering::Release);
        let value = result.and_then(|r| serde_json::from_str::<Value>(r).ok());
        let mut view = self.server.lock().unwrap_or_else(|p| p.into_inner());
        match value {
            Some(v) if !is_error => {
                drop(view);
                self.learn_tools(&v);
                let outcome = self
                    .server
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .on_tools_list(&v);
                if !outcome.findings.is_empty() {
                    let mut ev = self.base_event("decision", Direction::ServerToAgent);
                    ev.method = Some("tools/list".into());
                    ev.verdict = outcome.verdict(self.cfg.mode == Mode::Shadow);
                    ev.rules = outcome.findings.iter().map(|f| f.rule.clone()).collect();
                    ev.findings = outcome.findings;
                    ev.detail = Some(json!({ "internal": true }));
                    self.cfg.audit.record(ev);
                }
            }
            _ => {
                tracing::warn!("the server did not list its tools; tool calls cannot be checked against a listing");
                view.listing_failed();
            }
        }
    }

    /// Answers the calls still held for a tool list that never came.
    async fn fail_held(&self, agent_tx: &Tx) {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        for line in held {
            let ids: Vec<Value> = match serde_json::from_slice::<Value>(&line) {
                Ok(Value::Array(items)) => {
                    items.iter().filter_map(|m| m.get("id").cloned()).collect()
                }
                Ok(m) => m.get("id").cloned().into_iter().collect(),
                Err(_) => Vec::new(),
            };
            for id in ids {
                let Some(id) = RequestId::from_value(&id) else {
                    continue;
                };
                let msg = "the server did not list its tools before the session ended";
                let _ = agent_tx
                    .send(error_line(
                        Some(&id),
                        errors::UPSTREAM_UNAVAILABLE,
                        msg,
                        None,
                    ))
                    .await;
            }
        }
    }

    /// Decides the lines that waited for the tool list, in arrival order.
    async fn replay_held(self: &Arc<Self>, agent_tx: &Tx, up_tx: &Tx) {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        for line in held {
            self.decide_and_send(line, agent_tx, up_tx).await;
        }
    }

    /// Decides one agent line and sends what follows from it: replies to the
    /// agent, the line (or the allowed part of a batch) to the server, or —
    /// when the server's tools must be listed first — holds it and asks.
    async fn decide_and_send(self: &Arc<Self>, mut line: Vec<u8>, agent_tx: &Tx, up_tx: &Tx) {
        let mut out = self.agent_line(&line);
        if let Some((None, _)) = out.deferred.first() {
            // One message whose decision needs I/O: finished in its own task,
            // so a slow scorer holds back only this call.
            let Some((_, d)) = out.deferred.pop() else {
                return;
            };
            let me = Arc::clone(self);
            let (agent_tx, up_tx) = (agent_tx.clone(), up_tx.clone());
            tokio::spawn(async move {
                match me.finish(d).await {
                    Handled::Forward => {
                        line.push(b'\n');
                        let _ = up_tx.send(line).await;
                    }
                    Handled::Reply(r) => {
                        let _ = agent_tx.send(r).await;
                    }
                    _ => {}
                }
            });
            return;
        }
        if !out.deferred.is_empty() {
            // A batch: its deferred elements are finished here, then the
            // allowed ones go with the rest as one batch.
            let mut parts = match std::mem::replace(&mut out.forward, Forward::Nothing) {
                Forward::Batch(p) => p,
                _ => Vec::new(),
            };
            for (raw, d) in std::mem::take(&mut out.deferred) {
                match self.finish(d).await {
                    Handled::Forward => parts.extend(raw),
                    Handled::Reply(r) => out.replies.push(r),
                    _ => {}
                }
            }
            if !parts.is_empty() {
                out.forward = Forward::Parts(vec![batch_of(&parts)]);
            }
        }
        for r in out.replies {
            let _ = agent_tx.send(r).await;
        }
        if out.hold {
            self.held
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(line);
            if let Some(req) = self.start_listing() {
                let _ = up_tx.send(req).await;
            }
            return;
        }
        match out.forward {
            Forward::Original => {
                line.push(b'\n');
                let _ = up_tx.send(line).await;
            }
            Forward::Parts(parts) => {
                for p in parts {
                    let _ = up_tx.send(p).await;
                }
            }
            Forward::Batch(parts) => {
                let _ = up_tx.send(batch_of(&parts)).await;
            }
            Forward::Nothing => {}
        }
    }

    /// What L3 learns from a result: its size, the taint of a sensitive
    /// read or of secrets in it (fingerprints of the text as the server
    /// sent it, before redaction), and risk from result findings.
    #[allow(clippy::too_many_arguments)]
    fn result_obs(
        &self,
        id: &RequestId,
        p: &Pending,
        value: &Value,
        bytes: usize,
        denied: bool,
        findings: &[crate::inspect::Finding],
        out: &mut UpstreamOutput,
    ) {
        use crate::behavior::{fingerprint, weight, ResultObs, TaintAdd};
        if !self.cfg.behavior.as_ref().is_some_and(|e| e.cfg.enabled) {
            return;
        }
        let secret = findings.iter().find(|f| f.rule.starts_with("SECRET-"));
        // Only strong signs of injection (orders to override, conceal,
        // redirect, exfiltrate) raise risk; documentation that says "use
        // the X tool" or mentions "the LLM" is recorded, at no cost.
        let injection = findings.iter().any(|f| {
            f.rule.starts_with("RESULT-INJ") && f.severity >= crate::policy::Severity::High
        });
        let mut risk_add: f64 = 0.0;
        if denied {
            risk_add = risk_add.max(weight::KERNEL_DENIAL);
        }
        if secret.is_some() {
            risk_add = risk_add.max(weight::RESULT_SECRET);
        }
        if injection {
            risk_add = risk_add.max(weight::RESULT_INJECTION);
        }
        if risk_add > 0.0 {
            let what = if denied {
                "KERNEL-DENIAL".to_string()
            } else {
                findings
                    .iter()
                    .filter(|f| f.rule.starts_with("SECRET-") || f.rule.starts_with("RESULT-INJ"))
                    .map(|f| f.rule.as_str())
                    .next()
                    .unwrap_or("result")
                    .to_string()
            };
            let tool = p.tool.as_deref().unwrap_or(&p.method);
            self.note_risk(
                crate::behavior::now_ms(),
                risk_add,
                format!("{what} in a result of {tool}"),
            );
        }
        // A credential store taints with everything it returned; any other
        // read only when the secrets detector found secrets in the result,
        // and then with those secrets (and their lines) alone: copying code
        // from `auth_token.py` carries nothing out.
        let taint = match (&p.sensitive, secret) {
            (Some((level, path)), _) => {
                let mut set = std::collections::HashSet::new();
                crate::inspect::arguments::walk(value, |a| {
                    fingerprint::of_text(a.value, &mut set, fingerprint::MAX_PER_TAINT)
                });
                Some(TaintAdd {
                    level: *level,
                    reason: path.clone(),
                    fingerprints: set.into_iter().collect(),
                    source: Some(path.clone()),
                })
            }
            (None, Some(f)) => {
                let mut set = std::collections::HashSet::new();
                crate::inspect::arguments::walk(value, |a| {
                    for m in crate::inspect::secrets::scan_text(a.value) {
                        let Some(secret) = a.value.get(m.range.clone()) else {
                            continue;
                        };
                        let start = a.value[..m.range.start].rfind('\n').map_or(0, |i| i + 1);
                        let end = a.value[m.range.end..]
                            .find('\n')
                            .map_or(a.value.len(), |i| m.range.end + i);
                        fingerprint::of_secret(secret, &a.value[start..end], &mut set);
                    }
                });
                let level = if f.rule.contains("PRIVATE-KEY") {
                    Sensitivity::System
                } else {
                    Sensitivity::Project
                };
                let tool = p.tool.as_deref().unwrap_or(&p.method);
                let from = p
                    .paths
                    .first()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                Some(TaintAdd {
                    level,
                    reason: format!("{} in a result of {tool}{from}", f.rule),
                    fingerprints: set.into_iter().collect(),
                    // Editing the file the secret came from is not a leak.
                    source: p.paths.first().cloned(),
                })
            }
            (None, None) => None,
        };
        out.l3 = Some((
            id.clone(),
            p.tool.clone(),
            ResultObs {
                now_ms: crate::behavior::now_ms(),
                bytes: bytes as u64,
                taint,
                risk_add,
            },
        ));
    }

    /// Records a result with L3 (awaiting a remote store) and applies the
    /// response-volume verdict.
    async fn observe_result(
        &self,
        (id, tool, obs): (RequestId, Option<String>, crate::behavior::ResultObs),
        out: &mut UpstreamOutput,
    ) {
        let Some(engine) = self.cfg.behavior.clone() else {
            return;
        };
        let finding = match engine.store.observe_result(&self.l3_key, &obs).await {
            Ok(st) => {
                self.set_risk(st.risk, obs.now_ms);
                if let Some(why) = &st.egress_cut {
                    self.shared_cut(&engine, why);
                }
                crate::behavior::assess_result(&engine.cfg, &st)
            }
            Err(e) => {
                let mut f = self.store_failure(&engine, &e);
                f.location = "/result".into();
                Some(f)
            }
        };
        let Some(f) = finding else { return };
        let f = self.overridden(f);
        let block = f.action == crate::policy::Action::Block;
        let shadow = self.cfg.mode == Mode::Shadow;
        let verdict = match (block, shadow) {
            (true, true) => Verdict::ShadowBlock,
            (true, false) => Verdict::Block,
            _ => Verdict::Warn,
        };
        let mut d = Decision::new();
        d.tool = tool;
        d.push(f);
        d.finish();
        let event_id = self.ids.next();
        self.decision_event(
            &event_id,
            Direction::ServerToAgent,
            "tools/call",
            Some(&id),
            &d,
            verdict,
            Duration::ZERO,
            None,
        );
        if verdict == Verdict::Block && out.forward.is_some() {
            out.forward = Some(self.block_response(&id, &d, &event_id));
        }
    }

    /// L2 on server metadata: every tool of an agent's `tools/list` answer
    /// is scored (concurrently, cached across sessions); a tool at or above
    /// the block threshold is withheld from the list and refused if called.
    /// A failed score withholds the tool when L2 fails closed.
    async fn score_metadata(&self, id: &RequestId, out: &mut UpstreamOutput) {
        let Some(scorer) = self.cfg.semantic.clone() else {
            return;
        };
        let Some(bytes) = out.forward.as_ref() else {
            return;
        };
        let Ok(mut whole) = serde_json::from_slice::<Value>(bytes) else {
            return;
        };
        let Some(tools) = whole
            .pointer("/result/tools")
            .and_then(Value::as_array)
            .cloned()
        else {
            return;
        };
        let started = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for (i, t) in tools.iter().enumerate() {
            let scorer = Arc::clone(&scorer);
            let t = t.clone();
            set.spawn(async move {
                let name = t
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let input = crate::semantic::Input {
                    kind: "tools/list",
                    tool: Some(&name),
                    payload: &t,
                    findings: &[],
                };
                let r = scorer.score(&input).await;
                (i, name, r)
            });
        }
        let p = self.cfg.semantic_policy.settings.clone();
        let mut withheld: Vec<usize> = Vec::new();
        let mut findings = Vec::new();
        let mut scores = serde_json::Map::new();
        while let Some(Ok((i, name, r))) = set.join_next().await {
            let (action, message) = match r {
                Ok(sc) => {
                    scores.insert(name.clone(), json!(sc.score));
                    let verdict = crate::semantic::verdict_for(sc.score, p.warn, p.block);
                    let Some(action) = action_of(verdict) else {
                        self.server
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .unhide_tool(&name, "L2-METADATA");
                        continue;
                    };
                    let message = format!(
                        "semantic score {:.2} for tool {name:?}: {}",
                        sc.score, sc.reason
                    );
                    (action, message)
                }
                Err(e) => {
                    tracing::error!("L2 could not score tool {name:?}: {e}");
                    let action = if p.fail_closed {
                        crate::policy::Action::Block
                    } else {
                        crate::policy::Action::Warn
                    };
                    (
                        action,
                        format!("semantic scoring of tool {name:?} failed: {e}"),
                    )
                }
            };
            if action == crate::policy::Action::Block {
                withheld.push(i);
                self.server
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .hide_tool(
                        &name,
                        "L2-METADATA",
                        format!("tool {name:?} was withheld: {message}"),
                    );
            }
            findings.push(crate::inspect::Finding {
                rule: "L2-METADATA".into(),
                layer: Layer::L2,
                severity: crate::policy::Severity::High,
                action,
                message,
                location: format!("/result/tools/{i}"),
                evidence: name,
                hint: None,
            });
        }
        let shadow = self.cfg.mode == Mode::Shadow;
        let mut d = Decision::new();
        d.findings = findings;
        d.finish();
        let verdict = match (d.verdict, shadow) {
            (Verdict::Block, true) => Verdict::ShadowBlock,
            (v, _) => v,
        };
        let event_id = self.ids.next();
        self.decision_event(
            &event_id,
            Direction::ServerToAgent,
            "tools/list",
            Some(id),
            &d,
            verdict,
            started.elapsed(),
            Some(json!({ "l2": { "scores": scores } })),
        );
        if withheld.is_empty() || shadow {
            return;
        }
        if let Some(list) = whole
            .pointer_mut("/result/tools")
            .and_then(Value::as_array_mut)
        {
            let mut i = 0;
            list.retain(|_| {
                let keep = !withheld.contains(&i);
                i += 1;
                keep
            });
        }
        let mut b = serde_json::to_vec(&whole).unwrap_or_default();
        b.push(b'\n');
        out.forward = Some(b);
    }

    /// Links an OS refusal reported in a tool result to the call; true when
    /// the agent caused it (it then adds risk).
    fn kernel_denial(&self, id: &RequestId, p: &Pending, line: &str) -> bool {
        // Decode the result's text so JSON escapes don't hide the path.
        let text = match serde_json::from_str::<Value>(line) {
            Ok(v) => {
                let mut all = String::new();
                crate::inspect::arguments::walk(&v["result"], |a| {
                    all.push_str(a.value);
                    all.push('\n');
                });
                all
            }
            Err(_) => line.to_string(),
        };
        let Some(mut f) = crate::inspect::denial::find(&text) else {
            return false;
        };
        let denied_path = f
            .hint
            .as_deref()
            .and_then(|h| h.strip_prefix("path: "))
            .map(String::from);
        // The agent caused it when it named the refused path (or a directory
        // around it), ran a command, or when the error names no path at all.
        // A refusal of the server's own start-up or configuration reads
        // (`~/.gitconfig`, a cache under HOME) is recorded, without risk.
        let agent_driven = match &denied_path {
            None => true,
            Some(d) => {
                p.tool
                    .as_deref()
                    .is_some_and(crate::inspect::arguments::is_shell_tool)
                    || p.paths.iter().any(|c| {
                        let (c, d) = (std::path::Path::new(c), std::path::Path::new(d));
                        d.starts_with(c) || c.starts_with(d)
                    })
            }
        };
        if !agent_driven {
            f.message = format!("{} (not a path the call named: no risk)", f.message);
        }
        if f.hint.is_none() && !p.paths.is_empty() {
            // The error text named no path: attribute it to the call's paths.
            f.message = format!("{} while the call named {}", f.message, p.paths.join(", "));
            f.hint = Some(format!("path: {}", p.paths[0]));
        }
        tracing::info!(request_id = id.as_json(), tool = ?p.tool, "{}", f.message);
        let mut ev = self.base_event("decision", Direction::ServerToAgent);
        ev.method = Some(p.method.clone());
        ev.request_id = Some(id.to_value());
        ev.tool = p.tool.clone();
        ev.layer = Some(Layer::Kernel);
        ev.rules = vec![f.rule.clone()];
        ev.findings = vec![f];
        ev.latency_us = p.since.elapsed().as_micros() as u64;
        self.cfg.audit.record(ev);
        agent_driven
    }

    /// Remembers tool annotations from a `tools/list` result.
    fn learn_tools(&self, v: &Value) {
        let Some(list) = v.get("tools").and_then(Value::as_array) else {
            return;
        };
        let mut tools = self.tools.lock().unwrap_or_else(|p| p.into_inner());
        for t in list {
            let Some(name) = t.get("name").and_then(Value::as_str) else {
                continue;
            };
            let a = t.get("annotations");
            let caps = crate::behavior::capability::infer_tool(
                name,
                t.get("description").and_then(Value::as_str),
                a,
            );
            self.tool_caps
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.to_string(), caps);
            let flag = |k: &str| a.and_then(|a| a.get(k)).and_then(Value::as_bool);
            tools.insert(
                name.to_string(),
                ToolHints {
                    read_only: flag("readOnlyHint"),
                    destructive: flag("destructiveHint"),
                },
            );
        }
    }

    async fn fail_pending(&self, agent_tx: &Tx, outcome: &Outcome) {
        let drained: Vec<(RequestId, Pending)> = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        for (id, _) in &drained {
            self.cfg.egress_in_flight.remove(&id.to_value());
        }
        let detail = match outcome {
            Outcome::UpstreamExited(s) => format!("the server exited ({s}) before answering"),
            Outcome::AgentClosed { .. } => {
                "the session was shut down before the server answered".into()
            }
            Outcome::Signalled(n) => {
                format!("vanguard was stopped by signal {n} before the server answered")
            }
            Outcome::Failed(why) => {
                format!("the session failed ({why}) before the server answered")
            }
        };
        for (id, p) in drained {
            let data = json!({ "method": p.method, "reason": detail });
            let line = error_line(
                Some(&id),
                errors::UPSTREAM_EXITED,
                "Upstream server exited",
                Some(data),
            );
            let _ = agent_tx.send(line).await;
        }
    }

    fn base_event(&self, kind: &'static str, direction: Direction) -> Event {
        Event {
            ts: audit::rfc3339_now(),
            event_id: self.ids.next(),
            session_id: self.cfg.session_id.clone(),
            server_id: self.cfg.server_id.clone(),
            direction,
            kind,
            method: None,
            request_id: None,
            tool: None,
            verdict: "allow",
            layer: None,
            rules: Vec::new(),
            findings: Vec::new(),
            latency_us: 0,
            profile: self.cfg.profile.clone(),
            principal: self.cfg.principal.clone(),
            risk: self.risk_now(),
            mode: match self.cfg.mode {
                Mode::Enforce => "enforce",
                Mode::Shadow => "shadow",
            },
            detail: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn decision_event(
        &self,
        event_id: &str,
        direction: Direction,
        method: &str,
        id: Option<&RequestId>,
        d: &Decision,
        verdict: Verdict,
        latency: Duration,
        detail: Option<Value>,
    ) {
        if !self.cfg.audit.is_enabled() {
            return;
        }
        let mut ev = self.base_event("decision", direction);
        ev.event_id = event_id.to_string();
        ev.method = Some(method.to_string());
        ev.request_id = id.map(RequestId::to_value);
        ev.tool = d.tool.clone();
        ev.verdict = verdict.as_str();
        ev.layer = d.primary().map(|f| f.layer);
        ev.rules = d.rule_ids().into_iter().map(String::from).collect();
        ev.findings = d.findings.clone();
        ev.latency_us = latency.as_micros() as u64;
        ev.detail = detail;
        self.cfg.audit.record(ev);
    }

    fn input_error(&self, direction: Direction, msg: &str) {
        tracing::warn!("bad input from the agent: {msg}");
        let mut ev = self.base_event("input_error", direction);
        ev.verdict = "block";
        ev.detail = Some(json!({ "error": msg }));
        self.cfg.audit.record(ev);
    }

    fn noise(&self, msg: &str) {
        let n = self
            .upstream_noise
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        tracing::warn!(count = n, "server stdout: {msg}");
        let mut ev = self.base_event("upstream_noise", Direction::ServerToAgent);
        ev.verdict = "block";
        ev.detail = Some(json!({ "error": msg, "count": n }));
        self.cfg.audit.record(ev);
    }

    fn lifecycle(&self, kind: &'static str, detail: Value) {
        let mut ev = self.base_event(kind, Direction::Gateway);
        ev.detail = Some(detail);
        self.cfg.audit.record(ev);
    }
}
