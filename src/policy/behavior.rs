//! The L3 part of a policy (`[behavior]`): limits, the taint sequence mode,
//! the risk thresholds, and the capability vocabulary a profile uses to say
//! what a tool does. The behaviour engine judges with these; the policy
//! loader fills them.

use crate::verdict::Action;
pub use crate::verdict::FailMode;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    Read,
    /// Listing and searching (directory walks, globbing, queries).
    List,
    Write,
    Exec,
    Network,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Capability::Read,
        Capability::List,
        Capability::Write,
        Capability::Exec,
        Capability::Network,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Read => "read",
            Capability::List => "list",
            Capability::Write => "write",
            Capability::Exec => "exec",
            Capability::Network => "network",
        }
    }

    pub fn parse(s: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of capabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Caps(u8);

impl serde::Serialize for Caps {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

impl Caps {
    pub fn of(list: &[Capability]) -> Caps {
        Caps(list.iter().fold(0, |b, c| b | c.bit()))
    }

    pub fn has(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn add(&mut self, c: Capability) {
        self.0 |= c.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, o: Caps) -> Caps {
        Caps(self.0 | o.0)
    }

    /// Writes, executes or sends: can carry data out of the session.
    pub fn carries_out(self) -> bool {
        self.has(Capability::Write) || self.has(Capability::Exec) || self.has(Capability::Network)
    }

    /// "write", "exec/network", … for messages.
    pub fn describe_out(self) -> String {
        let v: Vec<&str> = [Capability::Write, Capability::Exec, Capability::Network]
            .into_iter()
            .filter(|c| self.has(*c))
            .map(Capability::as_str)
            .collect();
        if v.is_empty() {
            "a".into()
        } else {
            format!("a {}", v.join("/"))
        }
    }

    pub fn names(self) -> Vec<&'static str> {
        Capability::ALL
            .into_iter()
            .filter(|c| self.has(*c))
            .map(Capability::as_str)
            .collect()
    }
}

/// A warn and a block threshold; 0 turns either off. A count above `warn`
/// warns, above `block` blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    pub warn: u64,
    pub block: u64,
}

impl Limit {
    pub const fn new(warn: u64, block: u64) -> Limit {
        Limit { warn, block }
    }

    /// The action a count calls for, if any.
    pub fn action(&self, count: u64) -> Option<Action> {
        if self.block > 0 && count > self.block {
            Some(Action::Block)
        } else if self.warn > 0 && count > self.warn {
            Some(Action::Warn)
        } else {
            None
        }
    }

    /// `count` is the first one over a threshold (risk is added once per
    /// crossing, not for every call above it).
    pub fn crossed(&self, count: u64) -> bool {
        (self.warn > 0 && count == self.warn + 1) || (self.block > 0 && count == self.block + 1)
    }
}

/// How much a sensitive read must be echoed for a later call to count as
/// carrying its data out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SequenceMode {
    /// A write, exec or network call must carry text the sensitive read
    /// returned (a line or a token of it, also base64-encoded); system
    /// credential stores (`/etc/shadow`, `~/.ssh`, …) taint every such call.
    Content,
    /// Any write, exec or network call after a sensitive read.
    Any,
}

/// Session risk: points added by findings, halved every `half_life`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RiskConfig {
    pub half_life: Duration,
    /// From here the score is reported as elevated (`risk_level: "log"`).
    pub log: f64,
    /// From here every call is scored by L2 (or handled as L2 failing, by
    /// the semantic fail mode, when no backend is configured).
    pub require_l2: f64,
    /// From here every tool call is blocked until the score decays.
    pub block: f64,
}

/// The L3 part of a policy (`[behavior]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BehaviorConfig {
    pub enabled: bool,
    /// Length of the sliding windows (counted in one-second buckets).
    pub window: Duration,
    pub per_tool: Limit,
    pub read: Limit,
    pub list: Limit,
    pub write: Limit,
    pub exec: Limit,
    pub network: Limit,
    /// The same tool with the same arguments.
    pub repeat: Limit,
    /// Listing and searching calls (directory walks, globbing).
    pub enumeration: Limit,
    /// Bytes of results per session (not windowed).
    pub response_bytes: Limit,
    /// How long a sensitive read taints the session.
    pub taint_ttl: Duration,
    pub sequence: SequenceMode,
    /// Cut the session's egress through the proxy when an exfiltration
    /// sequence is seen.
    pub cut_egress: bool,
    pub risk: RiskConfig,
    /// Capability overrides: tool name or glob → capabilities.
    pub capabilities: Vec<(String, Caps)>,
    pub on_store_error: FailMode,
}

impl Default for BehaviorConfig {
    fn default() -> Self {
        BehaviorConfig {
            enabled: true,
            window: Duration::from_secs(60),
            per_tool: Limit::new(200, 1000),
            read: Limit::new(300, 1500),
            list: Limit::new(0, 0),
            write: Limit::new(150, 800),
            exec: Limit::new(60, 400),
            network: Limit::new(60, 400),
            repeat: Limit::new(20, 50),
            enumeration: Limit::new(20, 300),
            response_bytes: Limit::new(64 << 20, 512 << 20),
            taint_ttl: Duration::from_secs(300),
            sequence: SequenceMode::Content,
            cut_egress: false,
            risk: RiskConfig {
                half_life: Duration::from_secs(120),
                log: 30.0,
                require_l2: 60.0,
                block: 100.0,
            },
            capabilities: Vec::new(),
            on_store_error: FailMode::Open,
        }
    }
}

impl BehaviorConfig {
    pub fn limit_for(&self, c: Capability) -> Limit {
        match c {
            Capability::Read => self.read,
            Capability::List => self.list,
            Capability::Write => self.write,
            Capability::Exec => self.exec,
            Capability::Network => self.network,
        }
    }

    /// The capabilities a profile assigns to `tool`, if any.
    pub fn override_for(&self, tool: &str) -> Option<Caps> {
        self.capabilities
            .iter()
            .find(|(pat, _)| crate::glob::matches(pat, tool))
            .map(|(_, c)| *c)
    }
}
