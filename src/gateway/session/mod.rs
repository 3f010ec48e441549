//! One session: the two pumps between agent and server, the shutdown
//! order, and the state both pumps share. See `gateway/mod.rs`.
//!
//! - [`agent`]: agent → server (classify, inspect, hold, forward or answer)
//! - [`layers`]: L3 and L2 on a call, the risk score
//! - [`server`]: server → agent (metadata, pins, results, kernel denials)
//! - [`events`]: audit events and the session's own error lines
//! - [`registry`]: the live sessions of the process (control socket)

mod agent;
mod events;
mod layers;
mod registry;
mod server;

use agent::*;
use layers::*;
use registry::LIVE;
use server::*;

pub use registry::{live_sessions, reset_risk, SessionInfo};

use super::server_side::{CallCheck, Hidden, ServerView};
use super::upstream::{Stop, Upstream};
use crate::audit::{self, AuditSink, Direction, Event, EventIds, EventKind};
use crate::behavior::{CallObs, Caps, Sensitivity};
use crate::inspect::{Decision, Inspector, Layer, ToolHints, Verdict};
use crate::policy::Mode;
use crate::protocol::errors::{self, error_line};
use crate::protocol::framing::{Frame, LineReader};
use crate::protocol::message::{
    classify, classify_raw, parse_call, parse_success, Invalid, Message, RequestId,
};
use foldhash::{HashMap, HashMapExt};
use serde_json::{json, Value};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// How many cancelled request ids a session remembers to recognise a late
/// answer (older ones are forgotten: their answer is then reported as noise).
const CANCELLED_KEPT: usize = 256;

/// Everything a session needs besides its byte streams.
pub struct SessionConfig {
    pub inspector: Arc<Inspector>,
    pub audit: AuditSink,
    pub mode: Mode,
    /// Shared with every audit event of the session (`Arc<str>`).
    pub profile: Arc<str>,
    pub server_id: Arc<str>,
    pub session_id: Arc<str>,
    pub max_line_bytes: usize,
    /// Requests of the agent's waiting for the server at once; one more is
    /// answered -31005 (`[limits] max_in_flight`).
    pub max_in_flight: usize,
    pub close_grace: Duration,
    pub term_grace: Duration,
    /// How long a call held for the server's tool list waits (then -31003).
    pub list_timeout: Duration,
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
    /// The session's event ids, shared with whatever else records events
    /// for it (the egress proxy), so they form one sequence.
    pub ids: Arc<EventIds>,
    /// Whether SIGINT/SIGTERM/SIGHUP to vanguard end the session (`start`:
    /// the session is the process). The HTTP gateway sets it false: it
    /// drains and ends its sessions itself.
    pub ends_on_signal: bool,
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
        let ids = Arc::new(EventIds::new(&session_id));
        SessionConfig {
            inspector,
            audit,
            mode: policy.mode,
            profile: policy.name.as_str().into(),
            server_id: server_id.into(),
            session_id: session_id.into(),
            max_line_bytes: policy.max_line_bytes,
            max_in_flight: policy.max_in_flight,
            close_grace: policy.close_grace,
            term_grace: policy.term_grace,
            list_timeout: policy.list_timeout,
            stderr_lines_per_sec: policy.stderr_lines_per_sec,
            server_side: super::server_side::ServerSideConfig {
                metadata: policy.metadata.clone(),
                pinning: policy.pinning.clone(),
                results: policy.results.clone(),
                shadow: policy.mode == Mode::Shadow,
                server_key: argv.join(" "),
                tool_filter: None,
                baseline: None,
            },
            principal: None,
            egress_in_flight: Default::default(),
            behavior: None,
            behavior_key: None,
            semantic: None,
            semantic_policy: policy.semantic.clone(),
            ids,
            ends_on_signal: true,
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

impl Outcome {
    /// The outcome's one word: the `outcome` of the `session_end` audit
    /// event and the label of `vanguard_sessions_ended_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::AgentClosed { .. } => "AgentClosed",
            Outcome::UpstreamExited(_) => "UpstreamExited",
            Outcome::Signalled(_) => "Signalled",
            Outcome::Failed(_) => "Failed",
        }
    }

    /// The `session_end` event's detail: the word and its facts as fields
    /// of their own (`forced`, `exit_code`, `signal` and `signal_name`,
    /// `error`), for whoever reads the log with `jq` or a dashboard.
    pub fn detail(&self) -> serde_json::Map<String, Value> {
        use std::os::unix::process::ExitStatusExt;
        let mut d = serde_json::Map::new();
        d.insert("outcome".into(), self.label().into());
        let signal = |d: &mut serde_json::Map<String, Value>, n: i32| {
            d.insert("signal".into(), n.into());
            if let Ok(s) = nix::sys::signal::Signal::try_from(n) {
                d.insert("signal_name".into(), s.as_str().into());
            }
        };
        match self {
            Outcome::AgentClosed { forced } => {
                d.insert("forced".into(), (*forced).into());
            }
            Outcome::UpstreamExited(status) => {
                if let Some(code) = status.code() {
                    d.insert("exit_code".into(), code.into());
                } else if let Some(n) = status.signal() {
                    signal(&mut d, n);
                }
            }
            Outcome::Signalled(n) => signal(&mut d, *n),
            Outcome::Failed(why) => {
                d.insert("error".into(), why.as_str().into());
            }
        }
        d
    }
}

struct Pending {
    method: crate::protocol::inline::Label,
    tool: Option<String>,
    since: Instant,
    /// Sent by vanguard itself (a `tools/list` to learn the tools): the
    /// answer is consumed, not relayed.
    internal: bool,
    /// Path-like arguments of a `tools/call` (at most a few), so a kernel
    /// denial in the result can name what the call was about.
    paths: Vec<String>,
    /// An argument of the call is a command line: a refusal of the program
    /// it runs comes back in a successful result.
    command: bool,
    /// The call read a sensitive path: its result taints the session.
    sensitive: Option<(Sensitivity, String)>,
}

/// State both pumps share.
struct Shared {
    cfg: SessionConfig,
    /// With a minimal root: the host paths the server sees.
    visible: Option<Arc<[std::path::PathBuf]>>,
    pending: Mutex<HashMap<RequestId, Pending>>,
    /// The last requests the agent cancelled ([`CANCELLED_KEPT`]), so a
    /// late answer to one is dropped quietly.
    cancelled: Mutex<std::collections::VecDeque<RequestId>>,
    tools: Mutex<HashMap<String, ToolHints>>,
    upstream_noise: std::sync::atomic::AtomicU64,
    server: Mutex<ServerView>,
    /// Agent lines waiting for the server's tool list.
    held: Mutex<Vec<Held>>,
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

/// An agent line waiting for the server's tool list, and since when.
struct Held {
    since: Instant,
    line: Vec<u8>,
}

/// A `tools/call` whose decision needs I/O (the Redis store, the L2
/// scorer): finished off the agent pump so other requests go on.
struct Deferred {
    id: Option<RequestId>,
    method: crate::protocol::inline::Label,
    params: Option<Value>,
    decision: Decision,
    started: Instant,
    obs: Option<CallObs>,
    sensitive: Option<(Sensitivity, String)>,
    /// Path-like arguments of a `tools/call` (for L3, and for naming what a
    /// kernel denial in the result was about).
    paths: Vec<String>,
    /// An argument is a command line ([`Pending::command`]).
    command: bool,
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
pub async fn run<R, W>(
    agent_in: R,
    agent_out: W,
    upstream: impl Into<Upstream>,
    cfg: SessionConfig,
) -> Outcome
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let upstream: Upstream = upstream.into();
    crate::gateway::keep_heap_trimmed();
    let mut cfg = cfg;
    let server_side = std::mem::take(&mut cfg.server_side);
    let l3_key = cfg
        .behavior_key
        .clone()
        .or_else(|| cfg.principal.clone())
        .unwrap_or_else(|| cfg.session_id.to_string());
    let shared = Arc::new(Shared {
        tool_caps: Mutex::new(HashMap::new()),
        l3_key,
        risk: Mutex::new((0.0, 0)),
        l2_missing_said: Default::default(),
        risk_ledger: Default::default(),
        started: audit::rfc3339_now(),
        server: Mutex::new(ServerView::new(server_side)),
        held: Mutex::new(Vec::new()),
        listing_in_flight: Default::default(),
        agent_ready: Default::default(),
        internal_ids: Default::default(),
        cfg,
        pending: Mutex::new(HashMap::new()),
        cancelled: Mutex::new(std::collections::VecDeque::new()),
        tools: Mutex::new(HashMap::new()),
        upstream_noise: Default::default(),
        visible: upstream.visible.clone(),
    });
    if shared.cfg.behavior.as_ref().is_some_and(|e| e.cfg.enabled) {
        shared.set_risk(0.0, crate::behavior::now_ms());
    }
    LIVE.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Arc::downgrade(&shared));
    shared.lifecycle(
        EventKind::SessionStart,
        json!({ "pid": upstream.pid, "sandbox": upstream.sandbox,
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
    let stop = upstream.stop.clone();
    let task = tokio::spawn(drive(shared.clone(), agent_in, agent_out, upstream));
    match task.await {
        Ok(outcome) => outcome,
        Err(e) => {
            stop(Stop::Kill);
            let why = if e.is_panic() {
                "a panic in the session"
            } else {
                "the session task was cancelled"
            };
            tracing::error!(pid, "session ended by {why}; the server was killed");
            let outcome = Outcome::Failed(why.to_string());
            shared.lifecycle(EventKind::SessionEnd, Value::Object(outcome.detail()));
            shared.cfg.audit.flush();
            outcome
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
    let stdin = upstream.input.take();
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
        let stdout = upstream.output.take();
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
    let stop = upstream.stop.clone();
    let mut exit = upstream.exit;
    let outcome = tokio::select! {
        pumped = &mut agent_pump => {
            if pumped.as_ref().is_err_and(|e| e.is_panic()) {
                // The pump died inside vanguard, not because the agent left:
                // no orderly shutdown, the server goes at once.
                tracing::error!(pid, "the agent pump panicked; killing the server");
                stop(Stop::Kill);
                let _ = tokio::time::timeout(Duration::from_secs(2), &mut exit).await;
                Outcome::Failed("a panic in the agent pump".into())
            } else {
                // The agent is gone: its pump dropped the upstream sender, so the
                // writer closes the server's stdin. Then wait, SIGTERM, SIGKILL.
                let _ = upstream_writer.await;
                let forced = shutdown(&mut exit, pid, &stop, shared.cfg.close_grace, shared.cfg.term_grace).await;
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
        sig = stop_signal(), if shared.cfg.ends_on_signal => {
            agent_pump.abort();
            drop(upstream_writer);
            shutdown(&mut exit, pid, &stop, shared.cfg.close_grace, shared.cfg.term_grace).await;
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
    let mut detail = outcome.detail();
    detail.insert(
        "upstream_noise_lines".into(),
        shared
            .upstream_noise
            .load(std::sync::atomic::Ordering::Relaxed)
            .into(),
    );
    shared.lifecycle(EventKind::SessionEnd, Value::Object(detail));
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
    stop: &super::upstream::Stopper,
    close_grace: Duration,
    term_grace: Duration,
) -> bool {
    if tokio::time::timeout(close_grace, &mut *exit).await.is_ok() {
        // The leader exited; anything left in its group goes too.
        stop(Stop::Kill);
        return false;
    }
    tracing::info!(
        pid,
        "server did not exit after stdin closed; sending SIGTERM"
    );
    stop(Stop::Term);
    // A oneshot receiver must not be polled again once it has completed.
    let exited = tokio::time::timeout(term_grace, &mut *exit).await.is_ok();
    if !exited {
        tracing::warn!(pid, "server ignored SIGTERM; sending SIGKILL");
    }
    // Whatever is left of the group (the leader's children) goes too.
    stop(Stop::Kill);
    if !exited {
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut *exit).await;
    }
    true
}

/// Queued lines are coalesced up to this many bytes per write.
const COALESCE_BYTES: usize = 64 * 1024;

async fn write_loop<W: AsyncWrite + Unpin>(mut out: W, mut rx: mpsc::Receiver<Vec<u8>>) {
    use tokio::sync::mpsc::error::TryRecvError;
    // Lines already queued behind the first are gathered into one buffer
    // and go out in one write; a lone line is written without a copy. The
    // buffer is kept while lines keep coming (growing it afresh for every
    // batch was a chain of reallocations per write under load) and let go
    // whenever the queue runs dry: a hosted gateway holds many idle
    // sessions.
    let mut gathered: Vec<u8> = Vec::new();
    loop {
        let first = match rx.try_recv() {
            Ok(line) => line,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                gathered = Vec::new();
                match rx.recv().await {
                    Some(line) => line,
                    None => break,
                }
            }
        };
        let bytes: &[u8] = match rx.try_recv() {
            Ok(second) => {
                gathered.clear();
                gathered.extend_from_slice(&first);
                gathered.extend_from_slice(&second);
                while gathered.len() < COALESCE_BYTES {
                    match rx.try_recv() {
                        Ok(more) => gathered.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                &gathered
            }
            Err(_) => &first,
        };
        if out.write_all(bytes).await.is_err() || out.flush().await.is_err() {
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
            Frame::TooLong { len, head, tail } => {
                let limit = shared.cfg.max_line_bytes;
                let msg = format!(
                    "message of {len} bytes exceeds the maximum line length of {limit} bytes"
                );
                shared.input_error(Direction::AgentToServer, &msg);
                let data = json!({ "reason": "line_too_long", "limit": limit, "length": len });
                // Answer the request by its id when exactly one can be read
                // at the ends of the line (the client is waiting for it);
                // two candidates are a guess, and null is safer than the
                // wrong request.
                let ids = crate::protocol::message::recover_ids(&head, &tail);
                let id = match ids.as_slice() {
                    [one] => Some(one),
                    _ => None,
                };
                let _ = agent_tx
                    .send(error_line(id, errors::INVALID_REQUEST, &msg, Some(data)))
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
        let mut out = match frame {
            Frame::TooLong { len, head, tail } => {
                let mut out = UpstreamOutput::default();
                let limit = shared.cfg.max_line_bytes;
                let reason =
                    format!("a {len}-byte line exceeds the maximum line length of {limit} bytes");
                shared.unreadable_line(&head, &tail, &reason, None, &mut out);
                out
            }
            Frame::Line(line) => {
                let mut out = shared.upstream_line(line);
                if let Some(l3) = out.l3.take() {
                    shared.observe_result(l3, &mut out).await;
                }
                if let Some(id) = out.tools_list.take() {
                    shared.score_metadata(&id, &mut out).await;
                }
                out
            }
        };
        for bytes in out.forward.take().into_iter().chain(out.also.drain(..)) {
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
        for req in out.to_server {
            if let Err(mpsc::error::TrySendError::Full(req)) = up_tx.try_send(req) {
                let up_tx = up_tx.clone();
                tokio::spawn(async move {
                    let _ = up_tx.send(req).await;
                });
            }
        }
        if out.replay {
            let (shared, agent_tx, up_tx) = (Arc::clone(&shared), agent_tx.clone(), up_tx.clone());
            tokio::spawn(async move { shared.replay_held(&agent_tx, &up_tx).await });
        }
    }
}

#[cfg(test)]
mod tests;
