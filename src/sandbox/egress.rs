//! The egress proxy: the only way out of a server's network namespace in
//! network allow-list mode.
//!
//! ```text
//!  server netns                         host netns (vanguard)
//!  ┌──────────────────────────┐
//!  │ server ──HTTP(S)_PROXY──▶ 127.0.0.1:3128 ══ listener fd ══▶ EgressProxy ──▶ allow-listed
//!  │ (Landlock: TCP connect   │   (created by the child after        │           destination
//!  │  to port 3128 only)      │    unshare, sent over SCM_RIGHTS)    └──▶ audit: one event
//!  └──────────────────────────┘                                            per attempt
//! ```
//!
//! 1. [`listener`]: the child creates the listening socket inside its new
//!    network namespace and hands the fd to vanguard before exec; the socket
//!    stays in that namespace, so only the server can reach it, while
//!    vanguard's outgoing connections leave from the host's namespace.
//! 2. [`EgressProxy`] serves HTTP `CONNECT`, plain HTTP forwarding and
//!    SOCKS5 on it, on its own thread (so it works the same under `start`
//!    and `run`).
//! 3. Each request is judged by [`AllowList`] on the host as the client
//!    named it, then resolved by vanguard itself; resolved addresses that are
//!    internal ([`internal_kind`]: loopback, private, link-local, metadata…)
//!    are refused unless the list names that address (DNS rebinding). The
//!    proxy connects to exactly the address it checked.
//! 4. Bytes are relayed with `splice(2)` (never copied through vanguard's
//!    memory), metered against [`Budgets`], and every connection is
//!    recorded in the audit log with the tool calls in flight ([`InFlight`]).

mod address;
pub mod listener;
mod meter;
mod proxy;
mod request;
mod socks;
mod splice;

pub use crate::canon::{split_host_port, AllowList};
pub use address::internal_kind;
pub use listener::{
    handoff, HandoffError, HandoffReceiver, ListenerHandoff, Listeners, MAX_FORWARDS, PROXY_ADDR,
    PROXY_PORT,
};
pub use proxy::EgressProxy;

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The proxy URL the server is given (`PROXY_ADDR:PROXY_PORT`).
pub const PROXY_URL: &str = "http://127.0.0.1:3128";

/// The environment that points HTTP clients at the proxy. Both spellings:
/// curl reads only lowercase `http_proxy`, Go and Python read both; Node
/// needs `NODE_USE_ENV_PROXY`.
/// `NO_PROXY` keeps the server's own loopback (inside its namespace) direct;
/// the host loopback ports the list names are forwarded into the namespace,
/// so a direct connection to them reaches the host's (and is audited).
pub fn proxy_env() -> Vec<(&'static str, &'static str)> {
    let mut env = Vec::new();
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        env.push((name, PROXY_URL));
    }
    for name in ["http_proxy", "https_proxy", "all_proxy"] {
        env.push((name, PROXY_URL));
    }
    env.push(("NO_PROXY", "localhost,127.0.0.1"));
    env.push(("no_proxy", "localhost,127.0.0.1"));
    // Node's fetch and http ignore the variables above unless told to
    // (Node 22.21 / 24.5 and later; older versions ignore this one too).
    env.push(("NODE_USE_ENV_PROXY", "1"));
    env
}

/// Exfiltration budgets. The defaults are far above any normal fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Bytes one connection may move, both directions together.
    pub max_bytes_per_connection: u64,
    /// Bytes all connections of the session may move together.
    pub max_bytes_per_session: u64,
    /// How long one connection may stay open.
    pub max_connection_time: Duration,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            max_bytes_per_connection: 64 << 20,
            max_bytes_per_session: 256 << 20,
            max_connection_time: Duration::from_secs(300),
        }
    }
}

/// What the proxy allows.
#[derive(Debug, Clone)]
pub struct EgressConfig {
    pub allow: AllowList,
    /// Names answered without DNS (tests: a name for `127.0.0.1`).
    pub resolve: BTreeMap<String, IpAddr>,
    pub budgets: Budgets,
    /// Longest wait for DNS and for the TCP handshake with the destination.
    pub connect_timeout: Duration,
}

impl EgressConfig {
    pub fn new(allow: AllowList) -> EgressConfig {
        EgressConfig {
            allow,
            resolve: BTreeMap::new(),
            budgets: Budgets::default(),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The request ids of the tool calls in flight, shared with the session
/// that updates it, so every egress event names the calls that may have
/// caused it (all of them when several run at once).
///
/// It also carries the session's egress switch: L3 turns it off when it sees
/// a sensitive read followed by an attempt to carry the data out (`strict`),
/// and the proxy then refuses every new connection of the session.
#[derive(Debug, Clone, Default)]
pub struct InFlight(
    Arc<Mutex<std::collections::VecDeque<Value>>>,
    Arc<Mutex<Option<String>>>,
    Arc<Mutex<Option<f64>>>,
);

impl InFlight {
    /// The session's latest L3 risk score, for the proxy's audit events.
    pub fn set_risk(&self, score: f64) {
        *self.2.lock().unwrap_or_else(|p| p.into_inner()) = Some(score);
    }

    pub fn risk(&self) -> Option<f64> {
        *self.2.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuse the session's egress from now on, for `reason`.
    pub fn cut(&self, reason: &str) {
        let mut c = self.1.lock().unwrap_or_else(|p| p.into_inner());
        if c.is_none() {
            *c = Some(reason.to_string());
        }
    }

    /// Why egress was cut, if it was.
    pub fn cut_reason(&self) -> Option<String> {
        self.1.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A call was forwarded to the server.
    pub fn insert(&self, id: Value) {
        self.lock().push_back(id);
    }

    /// The call was answered (or failed).
    pub fn remove(&self, id: &Value) {
        // Answers mostly come in order: searching from the oldest keeps
        // this O(1) with thousands of calls in flight.
        let mut ids = self.lock();
        if let Some(i) = ids.iter().position(|v| v == id) {
            ids.remove(i);
        }
    }

    pub fn snapshot(&self) -> Vec<Value> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<Value>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One connection attempt through the proxy, as it saw it. The proxy
/// hands records to [`EgressAudit::on_record`]; the audit log turns them
/// into events (`audit::Event::egress`), so the sandbox decides nothing
/// about the audit format.
#[derive(Debug, Clone)]
pub struct EgressRecord {
    /// `http`, `connect` or `socks5`.
    pub protocol: &'static str,
    pub method: Option<String>,
    pub host: String,
    pub port: u16,
    /// The address connected to (or refused).
    pub address: Option<std::net::IpAddr>,
    pub allowed: bool,
    /// The rule that refused it (`EGRESS-NOT-LISTED`, …).
    pub rule: Option<&'static str>,
    /// The budget that closed it, if one did.
    pub budget: Option<&'static str>,
    pub reason: String,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub duration: std::time::Duration,
    /// The tool calls in flight when it began.
    pub request_ids: Vec<Value>,
    /// The session's L3 risk score then.
    pub risk: Option<f64>,
}

/// Receives every [`EgressRecord`].
pub type EgressSink = Arc<dyn Fn(EgressRecord) + Send + Sync>;

/// What the proxy reports to, and the calls it links connections to.
#[derive(Clone, Default)]
pub struct EgressAudit {
    /// `None`: records only reach the tracing log.
    pub on_record: Option<EgressSink>,
    pub in_flight: InFlight,
}

impl EgressAudit {
    /// No audit log (records only reach the tracing log).
    pub fn disabled() -> EgressAudit {
        EgressAudit::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_url_names_the_listener() {
        assert_eq!(PROXY_URL, format!("http://{PROXY_ADDR}:{PROXY_PORT}"));
    }

    #[test]
    fn in_flight_tracks_ids() {
        let f = InFlight::default();
        f.insert(Value::from(1));
        f.insert(Value::from("b"));
        f.remove(&Value::from(1));
        assert_eq!(f.snapshot(), vec![Value::from("b")]);
    }
}
