//! The scorer: one HTTP client, one request limiter, one cache, shared by
//! every task that asks for a score.
//!
//! The order of one call is in the module header of `semantic`; the retry
//! and budget rules are the pure functions [`attempt_limit`] and
//! [`backoff`] here, tested without a network.

use super::backend::Backend;
use super::cache::{self, Cache};
use super::reply::{self, Judgement};
use super::settings::Settings;
use super::{prompt, Input, Score, ScoreError};
use crate::inspect::secrets::{self, Rewrite};
use bytes::Bytes;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Connecting takes at most this long (less when the whole budget is less).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A reply body larger than this is refused: `{score, reason}` fits in a
/// few hundred bytes, and a backend streaming megabytes is broken.
const MAX_REPLY_BYTES: usize = 1 << 20;

/// Bytes of an error body read to explain an HTTP error.
const ERROR_BODY_BYTES: usize = 4096;

/// Characters of an error body kept in [`ScoreError::Http`].
const ERROR_BODY_CHARS: usize = 200;

/// Backoff before the first retry; it doubles for each further one.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);

/// Longest pause between attempts, `Retry-After` included.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// While a retry remains, an attempt gets half of what is left of the
/// budget, so that one hung connection leaves time for another try; but
/// never less than this (below it, an LLM cannot answer anyway).
const MIN_ATTEMPT: Duration = Duration::from_millis(250);

/// Scores calls with one backend. `Send + Sync`: share it behind an `Arc`.
pub struct Scorer {
    backend: Backend,
    settings: Settings,
    endpoint: reqwest::Url,
    /// The endpoint without user info or query, for error messages.
    endpoint_shown: String,
    http: reqwest::Client,
    permits: Semaphore,
    cache: Cache,
}

impl fmt::Debug for Scorer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scorer")
            .field("backend", &self.backend)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Scorer {
    /// Checks the settings and the backend URL and builds the HTTP client.
    /// The client ignores `HTTP_PROXY`/`HTTPS_PROXY`: a gateway whose
    /// environment has a proxy set (for the server it runs) must still reach
    /// a loopback scorer directly, and must not hand prompts to a proxy.
    pub fn new(backend: Backend, settings: Settings) -> Result<Scorer, String> {
        settings.validate()?;
        let endpoint = reqwest::Url::parse(&backend.endpoint()).map_err(|e| {
            format!(
                "semantic backend {}: {:?} is not a valid URL ({e})",
                backend.name(),
                backend.endpoint()
            )
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host().is_none() {
            return Err(format!(
                "semantic backend {}: {endpoint} is not an http:// or https:// URL",
                backend.name()
            ));
        }
        if backend.bearer().is_some() && endpoint.scheme() == "http" && !is_loopback(&endpoint) {
            tracing::warn!(
                backend = backend.name(),
                "the semantic backend key is sent over plain http to a non-loopback host"
            );
        }
        let mut shown = endpoint.clone();
        shown.set_query(None);
        shown.set_fragment(None);
        // Fails only for URLs that cannot have user info; nothing to hide then.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT.min(settings.timeout))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("vanguard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the semantic HTTP client: {e}"))?;
        Ok(Scorer {
            endpoint,
            endpoint_shown: shown.to_string(),
            http,
            permits: Semaphore::new(settings.concurrency),
            cache: Cache::new(settings.cache_entries),
            backend,
            settings,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Scores one call or metadata item; returns within
    /// [`Settings::timeout`] (plus the time to render the prompt).
    pub async fn score(&self, input: &Input<'_>) -> Result<Score, ScoreError> {
        let started = Instant::now();
        let user = prompt::user_message(input);
        let key = cache::key(
            self.backend.name(),
            self.backend.model(),
            prompt::SYSTEM,
            &user,
        );
        if let Some(hit) = self.cache.get(&key) {
            return Ok(Score {
                score: hit.score,
                reason: hit.reason,
                cached: true,
                attempts: 0,
                latency: started.elapsed(),
            });
        }
        let body = Bytes::from(self.backend.request_body(prompt::SYSTEM, &user).to_string());
        let deadline = started + self.settings.timeout;
        let progress = Progress::default();
        let outcome =
            tokio::time::timeout_at(deadline.into(), self.attempts(&body, deadline, &progress))
                .await;
        let (judgement, attempts) = match outcome {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(self.timeout_error(&progress)),
        };
        self.cache.insert(key, judgement.clone());
        let latency = started.elapsed();
        tracing::debug!(
            backend = self.backend.name(),
            score = judgement.score,
            attempts,
            latency_ms = latency.as_millis() as u64,
            "semantic score"
        );
        Ok(Score {
            score: judgement.score,
            reason: judgement.reason,
            cached: false,
            attempts,
            latency,
        })
    }

    /// Attempts until one succeeds, a failure is final, or the retries run
    /// out. The caller bounds the whole loop by the deadline.
    async fn attempts(
        &self,
        body: &Bytes,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<(Judgement, u32), ScoreError> {
        let allowed = self.settings.retries.saturating_add(1);
        let mut malformed_retried = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            progress.waiting.store(true, Ordering::Relaxed);
            let Ok(permit) = self.permits.acquire().await else {
                // The semaphore is never closed; answer rather than panic.
                return Err(ScoreError::Transport {
                    backend: self.backend.name(),
                    attempts: attempt - 1,
                    message: "the request limiter is closed".to_string(),
                });
            };
            progress.waiting.store(false, Ordering::Relaxed);
            progress.attempts.store(attempt, Ordering::Relaxed);
            let retries_left = allowed - attempt;
            let limit = attempt_limit(
                deadline.saturating_duration_since(Instant::now()),
                retries_left,
            );
            let outcome = tokio::time::timeout(limit, self.attempt(body))
                .await
                .unwrap_or(Err(Failure::AttemptTimeout(limit)));
            drop(permit);
            let failure = match outcome {
                Ok(judgement) => return Ok((judgement, attempt)),
                Err(failure) => failure,
            };
            let retry = retries_left > 0
                && match failure {
                    Failure::Malformed(_) => !malformed_retried,
                    ref other => other.transient(),
                };
            if !retry {
                return Err(self.final_error(failure, attempt, progress));
            }
            malformed_retried |= matches!(failure, Failure::Malformed(_));
            let pause = backoff(attempt, failure.retry_after());
            tracing::debug!(
                backend = self.backend.name(),
                attempt,
                error = %failure,
                pause_ms = pause.as_millis() as u64,
                "semantic scoring attempt failed; retrying"
            );
            progress.record(failure.to_string());
            tokio::time::sleep(pause).await;
        }
    }

    /// One request and its reply.
    async fn attempt(&self, body: &Bytes) -> Result<Judgement, Failure> {
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.clone());
        if let Some(key) = self.backend.bearer() {
            // Marked sensitive by reqwest: never in its debug output.
            request = request.bearer_auth(key);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| Failure::Transport(self.describe(&e)))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let (bytes, _) = read_body(&mut response, ERROR_BODY_BYTES)
                .await
                .unwrap_or_default();
            return Err(Failure::Status {
                status: status.as_u16(),
                retry_after,
                body: error_snippet(&bytes),
            });
        }
        let (bytes, complete) = read_body(&mut response, MAX_REPLY_BYTES)
            .await
            .map_err(|e| Failure::Transport(self.describe(&e)))?;
        if !complete {
            return Err(Failure::Malformed(format!(
                "the reply is larger than {MAX_REPLY_BYTES} bytes"
            )));
        }
        let content = self
            .backend
            .reply_content(&bytes)
            .map_err(Failure::Malformed)?;
        reply::parse(&content)
            .map_err(|e| Failure::Malformed(format!("reply is not {{score, reason}}: {e}")))
    }

    fn final_error(&self, failure: Failure, attempts: u32, progress: &Progress) -> ScoreError {
        let backend = self.backend.name();
        match failure {
            // Only the last attempt ends on its own timeout, and it was
            // given all that was left: this is the overall timeout.
            Failure::AttemptTimeout(_) => self.timeout_error(progress),
            Failure::Transport(message) => ScoreError::Transport {
                backend,
                attempts,
                message,
            },
            Failure::Status { status, body, .. } => ScoreError::Http {
                backend,
                status,
                attempts,
                body,
            },
            Failure::Malformed(problem) => ScoreError::Malformed {
                backend,
                attempts,
                problem,
            },
        }
    }

    fn timeout_error(&self, progress: &Progress) -> ScoreError {
        let last = if progress.waiting.load(Ordering::Relaxed) {
            Some(format!(
                "still waiting for one of the {} request slot{}",
                self.settings.concurrency,
                if self.settings.concurrency == 1 {
                    ""
                } else {
                    "s"
                }
            ))
        } else {
            progress.last()
        };
        ScoreError::Timeout {
            backend: self.backend.name(),
            after: self.settings.timeout,
            attempts: progress.attempts.load(Ordering::Relaxed),
            last,
        }
    }

    /// A transport error in words, with its causes ("connection refused").
    fn describe(&self, e: &reqwest::Error) -> String {
        let what = if e.is_connect() {
            "cannot connect to"
        } else if e.is_timeout() {
            "timed out talking to"
        } else if e.is_body() || e.is_decode() {
            "the reply was cut off from"
        } else {
            "request failed to"
        };
        let mut causes: Vec<String> = Vec::new();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            let text = cause.to_string();
            // hyper and std often repeat the inner message in the outer one.
            if !causes.last().is_some_and(|prev| prev.contains(&text)) {
                causes.push(text);
            }
            source = cause.source();
        }
        if causes.is_empty() {
            causes.push(message_without_url(e));
        }
        format!("{what} {}: {}", self.endpoint_shown, causes.join(": "))
    }
}

/// `reqwest::Error`'s own message without the URL (which
/// [`Scorer::describe`] shows already, cleaned of user info and query).
fn message_without_url(e: &reqwest::Error) -> String {
    let text = e.to_string();
    match e.url() {
        Some(url) => text.replace(&format!(" ({url})"), ""),
        None => text,
    }
}

/// Why one attempt failed.
#[derive(Debug)]
enum Failure {
    AttemptTimeout(Duration),
    Transport(String),
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    Malformed(String),
}

impl Failure {
    /// Worth another attempt: the backend may answer differently in a moment.
    fn transient(&self) -> bool {
        match self {
            Failure::AttemptTimeout(_) | Failure::Transport(_) => true,
            Failure::Status { status, .. } => *status == 429 || *status >= 500,
            Failure::Malformed(_) => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::AttemptTimeout(limit) => write!(f, "an attempt timed out after {limit:?}"),
            Failure::Transport(message) => f.write_str(message),
            Failure::Status { status, body, .. } if body.is_empty() => {
                write!(f, "HTTP {status}")
            }
            Failure::Status { status, body, .. } => write!(f, "HTTP {status}: {body}"),
            Failure::Malformed(problem) => f.write_str(problem),
        }
    }
}

/// What one score call has done so far, readable after its future was
/// dropped by the deadline. Atomics and a mutex keep the future `Send`.
#[derive(Default)]
struct Progress {
    attempts: AtomicU32,
    /// Waiting for a request slot right now.
    waiting: AtomicBool,
    last: Mutex<Option<String>>,
}

impl Progress {
    fn record(&self, failure: String) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(failure);
    }

    fn last(&self) -> Option<String> {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// How long one attempt may take, given what is left of the budget and how
/// many retries remain after it.
fn attempt_limit(remaining: Duration, retries_left: u32) -> Duration {
    if retries_left == 0 {
        return remaining;
    }
    let half = remaining / 2;
    if half < MIN_ATTEMPT {
        remaining
    } else {
        half
    }
}

/// The pause after failed attempt number `attempt` (1-based): 100 ms,
/// 200 ms, 400 ms … up to [`BACKOFF_MAX`], or the server's `Retry-After`
/// when longer (still capped: the overall deadline decides anyway).
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    BACKOFF_FIRST
        .saturating_mul(1 << doublings)
        .max(retry_after.unwrap_or_default())
        .min(BACKOFF_MAX)
}

/// `Retry-After` in seconds; the HTTP-date form is ignored.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

/// At most `limit` bytes of the body; `false` when there was more.
async fn read_body(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - out.len();
        if chunk.len() > room {
            out.extend_from_slice(chunk.get(..room).unwrap_or_default());
            return Ok((out, false));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, true))
}

/// The start of an error body as one clean line, secrets redacted (a proxy
/// or a misconfigured server may echo the request headers).
fn error_snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() > ERROR_BODY_CHARS {
        line = line.chars().take(ERROR_BODY_CHARS).collect();
        line.push('…');
    }
    let mut v = serde_json::Value::String(line);
    secrets::scan_with(
        &mut v,
        Rewrite {
            secrets: true,
            escapes: true,
        },
    );
    match v {
        serde_json::Value::String(s) => s,
        _ => String::new(),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_limits_leave_room_for_a_retry() {
        let s = Duration::from_secs;
        assert_eq!(attempt_limit(s(5), 2), Duration::from_millis(2500));
        assert_eq!(attempt_limit(s(5), 0), s(5), "the last attempt gets all");
        assert_eq!(
            attempt_limit(Duration::from_millis(400), 1),
            Duration::from_millis(400),
            "half would be too short to answer"
        );
        assert_eq!(attempt_limit(Duration::ZERO, 3), Duration::ZERO);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let ms = Duration::from_millis;
        assert_eq!(backoff(1, None), ms(100));
        assert_eq!(backoff(2, None), ms(200));
        assert_eq!(backoff(3, None), ms(400));
        assert_eq!(backoff(10, None), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX, None), BACKOFF_MAX);
        assert_eq!(backoff(1, Some(ms(1500))), ms(1500));
        assert_eq!(backoff(1, Some(Duration::from_secs(60))), BACKOFF_MAX);
    }

    #[test]
    fn what_is_retried() {
        let status = |status| Failure::Status {
            status,
            retry_after: None,
            body: String::new(),
        };
        assert!(status(429).transient());
        assert!(status(500).transient());
        assert!(status(503).transient());
        assert!(!status(400).transient());
        assert!(!status(401).transient());
        assert!(!status(404).transient());
        assert!(Failure::Transport("refused".into()).transient());
        assert!(Failure::AttemptTimeout(Duration::from_secs(1)).transient());
        assert!(!Failure::Malformed("x".into()).transient());
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn error_snippets_are_one_redacted_line() {
        let s = error_snippet(b"{\"error\":\n  \"bad key AKIAIOSFODNN7EXAMPLE\"}\x1b[0m");
        assert!(!s.contains("AKIAIOSFODNN7EXAMPLE"), "{s}");
        assert!(!s.contains('\n') && !s.contains('\x1b'), "{s}");
        assert!(s.starts_with("{\"error\": \"bad key [REDACTED:"), "{s}");
        let long = error_snippet("x".repeat(5000).as_bytes());
        assert_eq!(long.chars().count(), ERROR_BODY_CHARS + 1);
    }

    #[test]
    fn constructor_checks() {
        let custom = |url: &str| Backend::Custom {
            url: url.into(),
            key: None,
            model: "m".into(),
        };
        assert!(Scorer::new(custom("http://127.0.0.1:9/v1"), Settings::default()).is_ok());
        let e = Scorer::new(custom("not a url"), Settings::default()).unwrap_err();
        assert!(e.contains("custom") && e.contains("not a valid URL"), "{e}");
        let e = Scorer::new(
            custom("http://127.0.0.1:9/v1"),
            Settings {
                concurrency: 0,
                ..Settings::default()
            },
        )
        .unwrap_err();
        assert!(e.contains("concurrency"), "{e}");
    }

    #[test]
    fn scorer_and_its_future_can_cross_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: T) {}
        let scorer = Scorer::new(
            Backend::Ollama {
                url: "http://127.0.0.1:9".into(),
                model: "m".into(),
            },
            Settings::default(),
        )
        .unwrap();
        send_sync(&scorer);
        let payload = serde_json::json!({});
        let input = Input {
            kind: "tools/call",
            tool: None,
            payload: &payload,
            findings: &[],
        };
        // Built, never polled: only the type is checked.
        send(scorer.score(&input));
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_transport_error_after_retries() {
        // A port nothing listens on: bind, note the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let scorer = Scorer::new(
            Backend::Custom {
                url: format!("http://127.0.0.1:{port}/v1"),
                key: Some("sekrit-key".into()),
                model: "m".into(),
            },
            Settings {
                retries: 1,
                timeout: Duration::from_secs(20),
                ..Settings::default()
            },
        )
        .unwrap();
        let payload = serde_json::json!({"name": "t"});
        let input = Input {
            kind: "tools/call",
            tool: Some("t"),
            payload: &payload,
            findings: &[],
        };
        let e = scorer.score(&input).await.unwrap_err();
        assert!(
            matches!(e, ScoreError::Transport { attempts: 2, .. }),
            "{e}"
        );
        let text = e.to_string();
        assert!(text.contains("cannot connect"), "{text}");
        assert!(!text.contains("sekrit"), "{text}");
    }
}
