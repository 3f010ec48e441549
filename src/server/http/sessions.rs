//! MCP sessions over HTTP. Each one is a whole stdio gateway session
//! ([`crate::gateway::run`]) fed through in-memory pipes:
//!
//! ```text
//! POST body ─line─▶ client_in ⇒ agent_in ─▶ gateway::session ─▶ upstream (sandboxed child)
//! reader ◀─line── client_out ⇐ agent_out ◀─┘
//!   response with a waiting id → that POST (JSON reply or its SSE stream)
//!   anything else              → the POST stream it belongs to, else the GET stream
//! ```
//! SSE streams keep a bounded log of their events (ids `STREAM-SEQ`), so a
//! client that lost a stream can resume it with `Last-Event-ID`.

use super::sse;
use super::Launched;
use crate::protocol::framing::{Frame, LineReader};
use crate::protocol::message::{classify, classify_raw, Message, RequestId};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

/// Pipe buffer between the HTTP side and the gateway session.
const PIPE_BYTES: usize = 64 * 1024;
/// Events kept per stream for resumption.
const LOG_EVENTS: usize = 256;
/// Finished streams kept per session for resumption.
const KEPT_STREAMS: usize = 32;
/// Events buffered for a live SSE connection before it is cut (it can resume).
const LIVE_EVENTS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Streamable HTTP with `Mcp-Session-Id`.
    Streamable,
    /// Legacy HTTP+SSE: one event stream carries every message.
    Legacy,
    /// The 2026-07-28 revision: one upstream per principal, ids rewritten.
    Stateless,
}

/// Where a response goes.
enum Waiter {
    Reply(mpsc::Sender<Bytes>),
    Stream(u64),
}

struct Pending {
    to: Waiter,
    initialize: bool,
}

struct EventStream {
    /// Answers POST requests (ends when they are all answered).
    post: bool,
    open: usize,
    progress_tokens: Vec<String>,
    legacy: bool,
    next_seq: u64,
    log: VecDeque<(u64, Bytes)>,
    live: Option<mpsc::Sender<Bytes>>,
    delivered: Option<u64>,
    done: bool,
}

impl EventStream {
    fn new(post: bool, legacy: bool) -> EventStream {
        EventStream {
            post,
            open: 0,
            progress_tokens: Vec::new(),
            legacy,
            next_seq: 0,
            log: VecDeque::new(),
            live: None,
            delivered: None,
            done: false,
        }
    }

    fn push(&mut self, sid: u64, data: &[u8]) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = if self.legacy {
            sse::event(None, Some("message"), data)
        } else {
            sse::event(Some(&format!("{sid}-{seq}")), None, data)
        };
        self.log.push_back((seq, frame.clone()));
        if self.log.len() > LOG_EVENTS {
            self.log.pop_front();
        }
        self.send_live(seq, frame);
    }

    fn send_live(&mut self, seq: u64, frame: Bytes) {
        if let Some(tx) = &self.live {
            if tx.try_send(frame).is_ok() {
                self.delivered = Some(seq);
            } else {
                // Gone or too slow: cut it; the log lets it resume.
                self.live = None;
            }
        }
    }

    fn is_live(&self) -> bool {
        self.live.as_ref().is_some_and(|t| !t.is_closed())
    }
}

#[derive(Default)]
struct State {
    pending: HashMap<RequestId, Pending>,
    streams: HashMap<u64, EventStream>,
    order: VecDeque<u64>,
    next_stream: u64,
    standalone: Option<u64>,
    version: Option<String>,
}

pub struct McpSession {
    pub id: String,
    /// The principal this session is bound to (`None`: authentication is off).
    pub subject: Option<String>,
    pub kind: Kind,
    pub upstream_pid: u32,
    input: tokio::sync::Mutex<Option<DuplexStream>>,
    state: Mutex<State>,
    last_active: Mutex<Instant>,
    ended: AtomicBool,
    ended_tx: tokio::sync::watch::Sender<bool>,
}

/// Why a message could not be handed to the session.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The session ended (or is ending).
    Gone,
    /// A request with this id is already waiting for its answer.
    DuplicateId(String),
}

impl McpSession {
    /// Starts the gateway session and the reader for `launched`. `on_end`
    /// runs once the session is over (the upstream is gone).
    pub fn start(
        id: String,
        subject: Option<String>,
        kind: Kind,
        launched: Launched,
        max_line_bytes: usize,
        on_end: impl FnOnce(&str) + Send + 'static,
    ) -> Arc<McpSession> {
        let (client_in, agent_in) = tokio::io::duplex(PIPE_BYTES);
        let (agent_out, client_out) = tokio::io::duplex(PIPE_BYTES);
        let Launched {
            upstream,
            config,
            keep_alive,
        } = launched;
        let session = Arc::new(McpSession {
            id,
            subject,
            kind,
            upstream_pid: upstream.pid,
            input: tokio::sync::Mutex::new(Some(client_in)),
            state: Mutex::new(State::default()),
            last_active: Mutex::new(Instant::now()),
            ended: AtomicBool::new(false),
            ended_tx: tokio::sync::watch::channel(false).0,
        });
        let s = session.clone();
        tokio::spawn(async move {
            let outcome = crate::gateway::run(agent_in, agent_out, upstream, config).await;
            // The plan (temp dir, …) outlives the upstream it was made for.
            drop(keep_alive);
            tracing::info!(session = s.id, ?outcome, "HTTP session ended");
            s.finish();
            on_end(&s.id);
        });
        let s = session.clone();
        tokio::spawn(async move {
            let mut reader = LineReader::new(client_out, max_line_bytes);
            while let Ok(Some(frame)) = reader.next_frame().await {
                if let Frame::Line(l) = frame {
                    s.route(Bytes::from(l));
                }
            }
            s.finish();
        });
        session
    }

    pub fn touch(&self) {
        if let Ok(mut t) = self.last_active.lock() {
            *t = Instant::now();
        }
    }

    /// Resolves once the session is over.
    pub async fn ended(&self) {
        let mut rx = self.ended_tx.subscribe();
        let _ = rx.wait_for(|e| *e).await;
    }

    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Idle: no request for `idle` and no live stream.
    pub fn is_idle(&self, idle: Duration) -> bool {
        let quiet = self
            .last_active
            .lock()
            .map(|t| t.elapsed() >= idle)
            .unwrap_or(true);
        quiet
            && self
                .state
                .lock()
                .map(|s| !s.streams.values().any(EventStream::is_live))
                .unwrap_or(true)
    }

    /// The protocol revision the server agreed to in `initialize`.
    pub fn version(&self) -> Option<String> {
        self.state.lock().ok().and_then(|s| s.version.clone())
    }

    /// Writes one message (one line) to the gateway session.
    pub async fn send(&self, body: &[u8]) -> Result<(), SendError> {
        let mut guard = self.input.lock().await;
        let w = guard.as_mut().ok_or(SendError::Gone)?;
        let mut line = Vec::with_capacity(body.len() + 1);
        // Raw newlines in JSON are whitespace between tokens (inside strings
        // they must be escaped), so flattening them keeps the message intact.
        line.extend(
            body.iter()
                .map(|b| if *b == b'\n' || *b == b'\r' { b' ' } else { *b }),
        );
        line.push(b'\n');
        w.write_all(&line).await.map_err(|_| SendError::Gone)?;
        Ok(())
    }

    /// Ends the session: the gateway sees end of input and shuts the
    /// upstream down in its documented order.
    pub async fn close(&self) {
        self.input.lock().await.take();
    }

    /// Waits for replies to `ids` on one channel (JSON responses).
    pub fn expect_replies(
        &self,
        ids: &[(RequestId, bool)],
    ) -> Result<mpsc::Receiver<Bytes>, SendError> {
        let (tx, rx) = mpsc::channel(ids.len().max(1));
        self.register(ids, || Waiter::Reply(tx.clone()))?;
        Ok(rx)
    }

    /// Opens an SSE stream that carries the replies to `ids` (and what the
    /// server sends while they are open); it ends after the last reply.
    pub fn open_post_stream(
        &self,
        ids: &[(RequestId, bool)],
        progress_tokens: Vec<String>,
        prime: bool,
    ) -> Result<mpsc::Receiver<Bytes>, SendError> {
        let mut st = self.state.lock().map_err(|_| SendError::Gone)?;
        if self.is_ended() {
            return Err(SendError::Gone);
        }
        check_ids(&st, ids)?;
        let sid = new_stream(&mut st, EventStream::new(true, false));
        let (tx, rx) = mpsc::channel(LIVE_EVENTS);
        let s = st.streams.get_mut(&sid).ok_or(SendError::Gone)?;
        s.open = ids.len();
        s.progress_tokens = progress_tokens;
        if prime {
            prime_stream(sid, s, &tx);
        }
        s.live = Some(tx);
        for (id, init) in ids {
            st.pending.insert(
                id.clone(),
                Pending {
                    to: Waiter::Stream(sid),
                    initialize: *init,
                },
            );
        }
        Ok(rx)
    }

    /// Forgets waiters whose POST was abandoned before they were written.
    pub fn forget(&self, ids: &[(RequestId, bool)]) {
        if let Ok(mut st) = self.state.lock() {
            for (id, _) in ids {
                st.pending.remove(id);
            }
        }
    }

    /// The stream for server-initiated messages (GET, or the legacy `/sse`).
    /// `Err(())` when one is already connected.
    #[allow(clippy::result_unit_err)]
    pub fn attach_standalone(
        &self,
        prime: bool,
        preamble: Option<Bytes>,
    ) -> Result<(mpsc::Receiver<Bytes>, mpsc::WeakSender<Bytes>), ()> {
        let mut st = self.state.lock().map_err(|_| ())?;
        if self.is_ended() {
            return Err(());
        }
        let legacy = self.kind == Kind::Legacy;
        let sid = match st.standalone {
            Some(s) if st.streams.contains_key(&s) => s,
            _ => {
                let s = new_stream(&mut st, EventStream::new(false, legacy));
                st.standalone = Some(s);
                s
            }
        };
        let s = st.streams.get_mut(&sid).ok_or(())?;
        if s.is_live() {
            return Err(());
        }
        let (tx, rx) = mpsc::channel(LIVE_EVENTS + LOG_EVENTS);
        if let Some(p) = preamble {
            let _ = tx.try_send(p);
        }
        if prime {
            prime_stream(sid, s, &tx);
        }
        // Whatever was queued while nobody listened.
        for (seq, frame) in s.log.iter() {
            if s.delivered.is_none_or(|d| *seq > d) {
                let _ = tx.try_send(frame.clone());
            }
        }
        if let Some((seq, _)) = s.log.back() {
            s.delivered = Some(*seq);
        }
        let weak = tx.downgrade();
        s.live = Some(tx);
        Ok((rx, weak))
    }

    /// Resumes stream `sid` after event `seq` (a `Last-Event-ID` of `sid-seq`).
    pub fn resume(&self, last_event_id: &str) -> Option<mpsc::Receiver<Bytes>> {
        let (sid, seq) = last_event_id.split_once('-')?;
        let (sid, seq): (u64, u64) = (sid.parse().ok()?, seq.parse().ok()?);
        let mut st = self.state.lock().ok()?;
        let s = st.streams.get_mut(&sid)?;
        let (tx, rx) = mpsc::channel(LIVE_EVENTS + LOG_EVENTS);
        for (n, frame) in s.log.iter() {
            if *n > seq {
                let _ = tx.try_send(frame.clone());
            }
        }
        if let Some((n, _)) = s.log.back() {
            s.delivered = Some(*n);
        }
        if !s.done && !self.is_ended() {
            s.live = Some(tx);
        }
        Some(rx)
    }

    /// One line from the gateway session.
    fn route(&self, line: Bytes) {
        match classify(&line) {
            Ok(Message::Response { id, .. }) => self.deliver(&id, line.clone()),
            Ok(Message::Batch(items)) => {
                for item in items {
                    let part = Bytes::copy_from_slice(item.get().as_bytes());
                    match classify_raw(item) {
                        Ok(Message::Response { id, .. }) => self.deliver(&id, part),
                        Ok(Message::Request { method, params, .. })
                        | Ok(Message::Notification { method, params }) => {
                            self.dispatch(&method, params.map(|p| p.get()), part)
                        }
                        _ => {}
                    }
                }
            }
            Ok(Message::Request { method, params, .. })
            | Ok(Message::Notification { method, params }) => {
                self.dispatch(&method, params.map(|p| p.get()), line.clone())
            }
            Err(e) => tracing::warn!(session = self.id, "unreadable line from the gateway: {e}"),
        }
    }

    fn deliver(&self, id: &RequestId, line: Bytes) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let Some(p) = st.pending.remove(id) else {
            if self.kind == Kind::Legacy {
                push_standalone(&mut st, self.kind, &line);
            } else {
                tracing::debug!(
                    session = self.id,
                    id = id.as_json(),
                    "reply nobody waits for"
                );
            }
            return;
        };
        if p.initialize {
            st.version = negotiated_version(&line);
        }
        match p.to {
            Waiter::Reply(tx) => {
                let _ = tx.try_send(line);
            }
            Waiter::Stream(sid) => {
                if let Some(s) = st.streams.get_mut(&sid) {
                    s.push(sid, &line);
                    s.open = s.open.saturating_sub(1);
                    if s.open == 0 {
                        s.done = true;
                        s.live = None;
                    }
                }
            }
        }
    }

    /// A request or notification from the server.
    fn dispatch(&self, method: &str, params: Option<&str>, line: Bytes) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if self.kind != Kind::Legacy {
            let token = (method == "notifications/progress")
                .then(|| params.and_then(progress_token))
                .flatten();
            let target = st
                .order
                .iter()
                .rev()
                .copied()
                .filter(|sid| {
                    st.streams
                        .get(sid)
                        .is_some_and(|s| s.post && s.open > 0 && !s.done)
                })
                .find(|sid| match &token {
                    Some(t) => st
                        .streams
                        .get(sid)
                        .is_some_and(|s| s.progress_tokens.contains(t)),
                    None => true,
                });
            if let Some(sid) = target {
                if let Some(s) = st.streams.get_mut(&sid) {
                    s.push(sid, &line);
                    return;
                }
            }
        }
        push_standalone(&mut st, self.kind, &line);
    }

    /// The session is over: waiting POSTs get their channels closed and
    /// every stream ends.
    fn finish(&self) {
        self.ended.store(true, Ordering::Release);
        self.ended_tx.send_replace(true);
        if let Ok(mut st) = self.state.lock() {
            st.pending.clear();
            for s in st.streams.values_mut() {
                s.live = None;
                s.done = true;
            }
        }
    }
}

fn check_ids(st: &State, ids: &[(RequestId, bool)]) -> Result<(), SendError> {
    for (id, _) in ids {
        if st.pending.contains_key(id) {
            return Err(SendError::DuplicateId(id.as_json().to_string()));
        }
    }
    Ok(())
}

impl McpSession {
    fn register(
        &self,
        ids: &[(RequestId, bool)],
        mut to: impl FnMut() -> Waiter,
    ) -> Result<(), SendError> {
        let mut st = self.state.lock().map_err(|_| SendError::Gone)?;
        if self.is_ended() {
            return Err(SendError::Gone);
        }
        check_ids(&st, ids)?;
        for (id, init) in ids {
            st.pending.insert(
                id.clone(),
                Pending {
                    to: to(),
                    initialize: *init,
                },
            );
        }
        Ok(())
    }
}

fn new_stream(st: &mut State, s: EventStream) -> u64 {
    st.next_stream += 1;
    let sid = st.next_stream;
    st.streams.insert(sid, s);
    st.order.push_back(sid);
    // Drop the oldest finished streams beyond the retention.
    while st.order.len() > KEPT_STREAMS {
        let Some(pos) = st
            .order
            .iter()
            .position(|x| st.streams.get(x).is_none_or(|s| s.done && !s.is_live()))
        else {
            break;
        };
        if let Some(old) = st.order.remove(pos) {
            st.streams.remove(&old);
        }
    }
    sid
}

/// The priming event (2025-11-25): an id and no data, so a client that
/// loses the stream before the first message can still resume it.
fn prime_stream(sid: u64, s: &mut EventStream, tx: &mpsc::Sender<Bytes>) {
    let seq = s.next_seq;
    s.next_seq += 1;
    let _ = tx.try_send(sse::event(Some(&format!("{sid}-{seq}")), None, b""));
}

fn push_standalone(st: &mut State, kind: Kind, line: &[u8]) {
    let sid = match st.standalone {
        Some(s) if st.streams.contains_key(&s) => s,
        _ => {
            let s = new_stream(st, EventStream::new(false, kind == Kind::Legacy));
            st.standalone = Some(s);
            s
        }
    };
    if let Some(s) = st.streams.get_mut(&sid) {
        s.push(sid, line);
    }
}

fn progress_token(params: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(params).ok()?;
    match v.get("progressToken")? {
        serde_json::Value::String(s) => Some(format!("\"{s}\"")),
        other => Some(other.to_string()),
    }
}

/// The `_meta.progressToken` of a request's params, in the same form as [`progress_token`].
pub fn request_progress_token(params: Option<&serde_json::Value>) -> Option<String> {
    match params?.get("_meta")?.get("progressToken")? {
        serde_json::Value::String(s) => Some(format!("\"{s}\"")),
        other => Some(other.to_string()),
    }
}

fn negotiated_version(line: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    v.get("result")?
        .get("protocolVersion")?
        .as_str()
        .map(str::to_string)
}

/// The live sessions, with a cap.
pub struct SessionTable {
    map: Mutex<HashMap<String, Arc<McpSession>>>,
    pub max: usize,
}

impl SessionTable {
    pub fn new(max: usize) -> SessionTable {
        SessionTable {
            map: Mutex::new(HashMap::new()),
            max,
        }
    }
    pub fn get(&self, id: &str) -> Option<Arc<McpSession>> {
        self.map.lock().ok()?.get(id).cloned()
    }
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reserves room for one more session (`false` at the cap).
    pub fn has_room(&self) -> bool {
        self.len() < self.max
    }
    pub fn insert(&self, s: Arc<McpSession>) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(s.id.clone(), s);
        }
    }
    pub fn remove(&self, id: &str) -> Option<Arc<McpSession>> {
        self.map.lock().ok()?.remove(id)
    }
    pub fn all(&self) -> Vec<Arc<McpSession>> {
        self.map
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// A new session id: 256 bits from the OS CSPRNG, hex. No fallback: an id
/// that can be guessed would let anyone join a session.
pub fn new_session_id() -> Option<String> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}
