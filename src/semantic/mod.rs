//! L2: semantic scoring — asking a language model how malicious a call looks.
//!
//! Rules (L1) see shapes. They cannot tell an upload of `~/.aws/credentials`
//! written a new way from an honest upload. This optional layer shows a
//! redacted, truncated rendering of a `tools/call` (or of a server metadata
//! item) to an LLM and gets back a score in 0..1 with a one-line reason;
//! [`verdict_for`] turns the score into a verdict with the profile's
//! thresholds. The scorer only reports: what a failure means
//! ([`Settings::fail_closed`]) is the gateway's decision.
//!
//! One [`Scorer::score`] call, in order:
//!
//! 1. `prompt.rs` renders the input. Secrets become `[REDACTED:<kind>]`
//!    before anything else (the backend may be a third party), then the
//!    payload is cut to [`PAYLOAD_BUDGET`] bytes.
//! 2. The cache is asked, by SHA-256 of backend, model and prompt text. A hit
//!    returns at once with `cached: true` and `attempts: 0`.
//! 3. From here on everything runs under one deadline, [`Settings::timeout`]:
//!    waiting for a request slot, every attempt, every backoff. When it
//!    passes, the call returns [`ScoreError::Timeout`] at once.
//! 4. Each attempt holds one of [`Settings::concurrency`] permits for the
//!    request only (not for the backoff after it), so a slow backend delays
//!    other callers only once every permit is taken.
//! 5. Timeouts of an attempt, connection errors, 429 and 5xx are retried
//!    with exponential backoff, up to [`Settings::retries`] times. Other 4xx
//!    (a wrong key, an unknown model) are not: asking again cannot fix them.
//!    A malformed reply is retried once at most: models are flaky at
//!    temperature 0 too, but a model that answers badly twice in a row is
//!    misconfigured or being steered by the payload, and more tries only
//!    spend the budget.
//! 6. The reply is parsed strictly (`reply.rs`); only a well-formed score is
//!    cached. Two identical calls at the same moment may both reach the
//!    backend: single-flight would make every caller wait on the slowest.
//!
//! # Warning
//!
//! The payload is attacker-controlled text and the model reads it. The
//! system message tells the model to treat it as data, and the reply parser
//! refuses anything but `{score, reason}`, but a model can still be talked
//! into a low score. L2 adds to L0/L1/L3; it never replaces them.

mod backend;
mod cache;
mod prompt;
mod reply;
mod scorer;
mod settings;

pub use backend::{
    Backend, CUSTOM_KEY, CUSTOM_MODEL, CUSTOM_URL, OLLAMA_MODEL, OLLAMA_URL, OPENAI_API_KEY,
    OPENAI_BASE_URL, OPENAI_MODEL,
};
pub use prompt::PAYLOAD_BUDGET;
pub use reply::MAX_REASON_CHARS;
pub use scorer::Scorer;
pub use settings::{Settings, TIMEOUT_ENV};

use crate::verdict::{Finding, Verdict};
use std::time::Duration;

/// What is scored: one call, or one metadata item a server announced.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// `tools/call`, or a metadata kind such as `tools/list`.
    pub kind: &'a str,
    pub tool: Option<&'a str>,
    /// The call's params, or the metadata item.
    pub payload: &'a serde_json::Value,
    /// What L0/L1/L3 found so far; the prompt carries rule ids and messages.
    pub findings: &'a [Finding],
}

/// A score and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// 0 (benign) to 1 (clearly malicious).
    pub score: f64,
    /// The model's reason, at most [`MAX_REASON_CHARS`] characters, control
    /// characters replaced by spaces.
    pub reason: String,
    /// Answered from the cache, without a request.
    pub cached: bool,
    /// Requests made for this score (0 when cached).
    pub attempts: u32,
    /// Time from the call to the answer.
    pub latency: Duration,
}

/// Why no score came back. Messages name the backend and say what went
/// wrong in words; they never contain a key.
#[derive(thiserror::Error, Debug)]
pub enum ScoreError {
    /// No score within [`Settings::timeout`], the wait for a request slot
    /// and all retries included.
    #[error(
        "semantic backend {backend} gave no score within {after:?} ({attempts} attempt{}{})",
        plural(*.attempts),
        note(.last)
    )]
    Timeout {
        backend: &'static str,
        after: Duration,
        attempts: u32,
        /// What was happening or had gone wrong before time ran out.
        last: Option<String>,
    },
    /// The backend answered with an HTTP error (the last one, after retries).
    #[error(
        "semantic backend {backend} replied {status} after {attempts} attempt{}{}",
        plural(*.attempts),
        body_note(.body)
    )]
    Http {
        backend: &'static str,
        status: u16,
        attempts: u32,
        /// The start of the error body, secrets redacted.
        body: String,
    },
    /// No HTTP exchange: connection refused, reset, DNS, TLS.
    #[error(
        "semantic backend {backend} could not be reached after {attempts} attempt{}: {message}",
        plural(*.attempts)
    )]
    Transport {
        backend: &'static str,
        attempts: u32,
        message: String,
    },
    /// The backend answered, but not with a usable `{score, reason}`.
    #[error(
        "semantic backend {backend} gave an unusable reply after {attempts} attempt{}: {problem}",
        plural(*.attempts)
    )]
    Malformed {
        backend: &'static str,
        attempts: u32,
        problem: String,
    },
}

impl ScoreError {
    /// Requests made before giving up.
    pub fn attempts(&self) -> u32 {
        match self {
            ScoreError::Timeout { attempts, .. }
            | ScoreError::Http { attempts, .. }
            | ScoreError::Transport { attempts, .. }
            | ScoreError::Malformed { attempts, .. } => *attempts,
        }
    }

    /// `timeout`, `http`, `transport` or `malformed`: for audit records and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ScoreError::Timeout { .. } => "timeout",
            ScoreError::Http { .. } => "http",
            ScoreError::Transport { .. } => "transport",
            ScoreError::Malformed { .. } => "malformed",
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn note(last: &Option<String>) -> String {
    last.as_ref().map(|l| format!("; {l}")).unwrap_or_default()
}

fn body_note(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// The verdict a score earns: `Block` at or above `block`, `Warn` at or
/// above `warn`, else `Allow`. A NaN (never produced by [`Scorer`]) is
/// `Block`: a broken number must not let a call through.
pub fn verdict_for(score: f64, warn: f64, block: f64) -> Verdict {
    if score.is_nan() || score >= block {
        Verdict::Block
    } else if score >= warn {
        Verdict::Warn
    } else {
        Verdict::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_boundaries() {
        assert_eq!(verdict_for(0.0, 0.5, 0.8), Verdict::Allow);
        assert_eq!(verdict_for(0.499_999, 0.5, 0.8), Verdict::Allow);
        assert_eq!(verdict_for(0.5, 0.5, 0.8), Verdict::Warn);
        assert_eq!(verdict_for(0.799_999, 0.5, 0.8), Verdict::Warn);
        assert_eq!(verdict_for(0.8, 0.5, 0.8), Verdict::Block);
        assert_eq!(verdict_for(1.0, 0.5, 0.8), Verdict::Block);
        // warn == block: nothing warns.
        assert_eq!(verdict_for(0.7, 0.7, 0.7), Verdict::Block);
        assert_eq!(verdict_for(0.69, 0.7, 0.7), Verdict::Allow);
        assert_eq!(verdict_for(f64::NAN, 0.5, 0.8), Verdict::Block);
    }

    #[test]
    fn error_messages_read_as_sentences() {
        let e = ScoreError::Http {
            backend: "custom",
            status: 503,
            attempts: 3,
            body: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "semantic backend custom replied 503 after 3 attempts"
        );
        assert_eq!((e.attempts(), e.kind()), (3, "http"));
        let e = ScoreError::Timeout {
            backend: "ollama",
            after: Duration::from_millis(500),
            attempts: 1,
            last: Some("HTTP 503".into()),
        };
        assert_eq!(
            e.to_string(),
            "semantic backend ollama gave no score within 500ms (1 attempt; HTTP 503)"
        );
        let e = ScoreError::Malformed {
            backend: "openai",
            attempts: 2,
            problem: "reply is not {score, reason}: missing field `score`".into(),
        };
        assert_eq!(
            e.to_string(),
            "semantic backend openai gave an unusable reply after 2 attempts: \
             reply is not {score, reason}: missing field `score`"
        );
    }
}
