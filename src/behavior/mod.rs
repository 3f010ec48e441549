//! L3: what a session does over time.
//!
//! Every `tools/call` (allowed or not) is *observed*: counted in sliding
//! windows per tool, per capability and per identical call, checked against
//! the session's taint (a sensitive read earlier in the session), and folded
//! into a decaying risk score. Every result is observed too: its size counts
//! towards the session's response volume, and a sensitive read's result or a
//! result in which secrets were found taints the session with fingerprints
//! of what the agent saw.
//!
//! The state lives in a [`store::Store`]: in this process by default, or in
//! Redis so several gateway instances share it. Judging is done here, in
//! plain functions over what the store returns, so both stores give the same
//! verdicts. See `docs/ARCHITECTURE.md` ("L3") for the reasoning behind the
//! defaults.

pub mod capability;
pub mod decode;
pub mod fingerprint;
pub mod redis;
pub mod store;

pub use crate::policy::behavior::{
    BehaviorConfig, Capability, Caps, FailMode, Limit, RiskConfig, SequenceMode,
};

use crate::verdict::{Action, Severity};
use crate::verdict::{Finding, Layer};
use serde::Serialize;
use std::time::Duration;

/// Points a kind of event adds to the risk score.
pub mod weight {
    pub const L1_WARN: f64 = 10.0;
    pub const L1_BLOCK: f64 = 20.0;
    pub const L3_WARN: f64 = 10.0;
    pub const L3_BLOCK: f64 = 40.0;
    pub const EXFIL: f64 = 60.0;
    pub const KERNEL_DENIAL: f64 = 20.0;
    pub const RESULT_SECRET: f64 = 10.0;
    pub const RESULT_INJECTION: f64 = 25.0;
    pub const L2_WARN: f64 = 10.0;
    pub const L2_BLOCK: f64 = 30.0;
}

/// How sensitive a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    /// A result in which the secrets detector found secrets (a `.env` with
    /// keys in it, a config file with a password).
    Project,
    /// System credential stores: account databases, SSH and GPG keys,
    /// cloud and cluster credentials, private key files, process environments.
    System,
}

/// Whether `path` is a system credential store (account databases, SSH and
/// GPG keys, cloud and cluster credentials, private key files, process
/// environments, password files). Reading one taints the session whatever
/// it returns.
pub fn path_sensitivity(path: &str) -> Option<Sensitivity> {
    let p = path.trim().trim_start_matches("file://");
    let lower = p.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    const SYSTEM_EXACT: &[&str] = &[
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/passwd",
        "/etc/sudoers",
        "/etc/master.passwd",
    ];
    const SYSTEM_PARTS: &[&str] = &[
        "/.ssh/",
        "/.gnupg/",
        "/.aws/credentials",
        "/.aws/config",
        "/.kube/config",
        "/.docker/config.json",
        "/.config/gcloud/",
        "/.azure/",
        "/run/secrets/",
        "/etc/ssl/private/",
    ];
    const SYSTEM_NAMES: &[&str] = &[
        ".netrc",
        ".pgpass",
        ".git-credentials",
        ".vault-token",
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "environ",
    ];
    if SYSTEM_EXACT.contains(&lower.as_str())
        || SYSTEM_PARTS.iter().any(|s| lower.contains(s))
        || SYSTEM_NAMES.contains(&name)
        || (name == "environ" && lower.starts_with("/proc/"))
    {
        return Some(Sensitivity::System);
    }
    if key_named_pem(name)
        || name.ends_with(".key")
        || name.ends_with(".p12")
        || name.ends_with(".pfx")
        || name.ends_with(".keystore")
        || name.ends_with(".jks")
    {
        return Some(Sensitivity::System);
    }
    // Files merely *named* like secrets (`.env`, `auth_token.py`,
    // `secret_manager.go`) are not sensitive by name: a read taints the
    // session when the secrets detector finds secrets in what it returned.
    None
}

/// A `.pem` file whose name says it holds a key (`key.pem`,
/// `server-key.pem`, `privkey.pem`, `private_key.pem`), as rule FS-002
/// reads it. Certificates and chains (`cert.pem`, `fullchain.pem`,
/// `root-ca.pem`) are public; a `.pem` that holds a private key under
/// another name taints the session when the secrets detector finds the
/// key in what the read returned.
fn key_named_pem(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".pem") else {
        return false;
    };
    stem.split(['-', '_', '.'])
        .any(|w| matches!(w, "key" | "privkey" | "privatekey"))
}

/// What the session knows of its taint when a call is judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaintView {
    pub level: Sensitivity,
    /// What tainted the session (the path or the kind of secret).
    pub reason: String,
    /// Some of the call's text matches a fingerprint of the sensitive data.
    pub matched: bool,
    /// The call writes back to the path that tainted the session.
    pub same_target: bool,
}

/// One `tools/call` as L3 sees it.
#[derive(Debug, Clone, Default)]
pub struct CallObs {
    pub now_ms: u64,
    pub tool: crate::protocol::inline::Label,
    pub caps: Caps,
    /// Hash of the tool name and its canonical arguments.
    pub call_hash: u64,
    /// Fingerprints of the argument text (checked against the taint).
    pub fingerprints: Vec<u64>,
    /// Paths the call names (for the same-target exemption and the taint).
    pub paths: Vec<String>,
    /// Risk points from the findings of earlier layers.
    pub risk_add: f64,
    /// The call reads a sensitive path: taint the session now.
    pub sensitive: Option<(Sensitivity, String)>,
}

/// The session's counters after a call was observed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallState {
    pub tool_rate: u64,
    /// Per capability of the call, in [`Capability::ALL`] order (0 for
    /// capabilities the call does not have).
    pub cap_rates: [u64; 5],
    pub repeat: u64,
    pub enumeration: u64,
    pub taint: Option<TaintView>,
    pub risk: f64,
    /// The session's egress was cut (by this or another gateway instance).
    pub egress_cut: Option<String>,
}

/// A result the server sent for a call.
#[derive(Debug, Clone, Default)]
pub struct ResultObs {
    pub now_ms: u64,
    pub bytes: u64,
    /// Taint the session with these fingerprints.
    pub taint: Option<TaintAdd>,
    pub risk_add: f64,
}

#[derive(Debug, Clone)]
pub struct TaintAdd {
    pub level: Sensitivity,
    pub reason: String,
    pub fingerprints: Vec<u64>,
    /// The paths the data came from (every file of a multi-file read):
    /// writing back to one of them is not a leak.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResultState {
    pub response_bytes: u64,
    pub risk: f64,
    /// The session's egress was cut (by this or another gateway instance).
    pub egress_cut: Option<String>,
}

/// The level a risk score is at.
pub fn risk_level(cfg: &RiskConfig, score: f64) -> &'static str {
    if score >= cfg.block {
        "block"
    } else if score >= cfg.require_l2 {
        "require_l2"
    } else if score >= cfg.log {
        "log"
    } else {
        "normal"
    }
}

/// Risk decayed from `at_ms` to `now_ms`.
pub fn decay(score: f64, at_ms: u64, now_ms: u64, half_life: Duration) -> f64 {
    if score <= 0.0 {
        return 0.0;
    }
    let dt = now_ms.saturating_sub(at_ms) as f64;
    let hl = half_life.as_millis().max(1) as f64;
    let v = score * (0.5f64).powf(dt / hl);
    if v < 0.01 {
        0.0
    } else {
        v
    }
}

fn finding(rule: &str, action: Action, severity: Severity, message: String) -> Finding {
    Finding {
        rule: rule.to_string(),
        layer: Layer::L3,
        severity,
        action,
        message,
        location: "/params".into(),
        evidence: String::new(),
        hint: None,
    }
}

/// What L3 concludes about one call.
#[derive(Debug, Clone, Default)]
pub struct CallAssessment {
    pub findings: Vec<Finding>,
    /// Risk points this call's own L3 findings add.
    pub risk_add: f64,
    /// The session's risk requires L2 for this call.
    pub require_l2: bool,
    /// An exfiltration sequence: cut the session's egress if configured.
    pub exfiltration: bool,
}

/// Judges a call from the state the store returned.
pub fn assess_call(cfg: &BehaviorConfig, obs: &CallObs, st: &CallState) -> CallAssessment {
    let mut a = CallAssessment::default();
    let window = cfg.window.as_secs();
    // Messages are formatted only for a limit that is reached.
    let counted = |a: &mut CallAssessment,
                   rule: &str,
                   limit: Limit,
                   count: u64,
                   what: &dyn Fn() -> String| {
        if let Some(action) = limit.action(count) {
            let (sev, bound) = if action == Action::Block {
                (Severity::High, limit.block)
            } else {
                (Severity::Medium, limit.warn)
            };
            let mut f = finding(
                rule,
                action,
                sev,
                format!("{}: {count} in {window} s (limit {bound})", what()),
            );
            f.hint = Some(format!(
                "behaviour limits are set in the profile's [behavior] section; the window is {window} s"
            ));
            a.findings.push(f);
            if limit.crossed(count) {
                a.risk_add += if action == Action::Block {
                    weight::L3_BLOCK
                } else {
                    weight::L3_WARN
                };
            }
        }
    };
    counted(&mut a, "BEH-REPEAT", cfg.repeat, st.repeat, &|| {
        format!("the same call to {} repeated", obs.tool)
    });
    counted(&mut a, "BEH-RATE-TOOL", cfg.per_tool, st.tool_rate, &|| {
        format!("calls to {}", obs.tool)
    });
    for (c, &rate) in Capability::ALL.iter().zip(&st.cap_rates) {
        let limit = cfg.limit_for(*c);
        if obs.caps.has(*c) && limit.action(rate).is_some() {
            let rule = format!("BEH-RATE-{}", c.as_str().to_ascii_uppercase());
            counted(&mut a, &rule, limit, rate, &|| {
                format!("{} calls", c.as_str())
            });
        }
    }
    if obs.caps.has(Capability::List) {
        counted(&mut a, "BEH-ENUM", cfg.enumeration, st.enumeration, &|| {
            "listing and search calls (enumeration)".into()
        });
    }
    if let Some(t) = &st.taint {
        if obs.caps.carries_out() && !t.same_target {
            let hit =
                t.level == Sensitivity::System || cfg.sequence == SequenceMode::Any || t.matched;
            if hit {
                let how = if t.matched {
                    "carries data the sensitive read returned"
                } else {
                    "follows it"
                };
                let mut f = finding(
                    "BEH-EXFIL",
                    Action::Block,
                    Severity::Critical,
                    format!(
                        "{} call after a sensitive read ({}) {how}",
                        obs.caps.describe_out(),
                        t.reason
                    ),
                );
                f.hint = Some(format!(
                    "the session stays tainted for {} s after a sensitive read",
                    cfg.taint_ttl.as_secs()
                ));
                a.findings.push(f);
                a.risk_add += weight::EXFIL;
                a.exfiltration = true;
            }
        }
    }
    if st.risk >= cfg.risk.block {
        let mut f = finding(
            "BEH-RISK",
            Action::Block,
            Severity::High,
            format!(
                "the session's risk score {:.0} is at or above {:.0}",
                st.risk, cfg.risk.block
            ),
        );
        f.hint = Some(format!(
            "the score halves every {} s without new findings",
            cfg.risk.half_life.as_secs()
        ));
        a.findings.push(f);
    } else if st.risk >= cfg.risk.require_l2 {
        a.require_l2 = true;
    }
    a
}

/// Judges the session's response volume after a result.
pub fn assess_result(cfg: &BehaviorConfig, st: &ResultState) -> Option<Finding> {
    let action = cfg.response_bytes.action(st.response_bytes)?;
    let bound = if action == Action::Block {
        cfg.response_bytes.block
    } else {
        cfg.response_bytes.warn
    };
    Some(finding(
        "BEH-VOLUME",
        action,
        if action == Action::Block {
            Severity::High
        } else {
            Severity::Medium
        },
        format!(
            "the session received {} bytes of results (limit {bound})",
            st.response_bytes
        ),
    ))
}

/// Risk points for the findings of earlier layers (the strongest one).
pub fn risk_of(findings: &[Finding]) -> f64 {
    findings
        .iter()
        .map(|f| match (f.layer, f.action) {
            // vanguard's own state (no backend, a timeout), not the agent's doing.
            (Layer::L2, _) if f.rule == "L2-UNAVAILABLE" => 0.0,
            (Layer::L2, Action::Block) => weight::L2_BLOCK,
            (Layer::L2, Action::Warn) => weight::L2_WARN,
            (Layer::L3, _) => 0.0,
            (Layer::Kernel, _) => weight::KERNEL_DENIAL,
            (_, Action::Block) => weight::L1_BLOCK,
            (_, Action::Warn) => weight::L1_WARN,
            _ => 0.0,
        })
        .fold(0.0, f64::max)
}

/// Whether a call's path `p` stays with the taint's source `source` (for
/// the copy check: a call naming the source and a place outside its tree
/// carries the source there): the source itself, a path inside it (the
/// source is a directory, such as a git tool's `repo_path`), or a relative
/// path, which the server resolves inside its own working tree (a git
/// tool's `files`). An absolute path elsewhere, a home-relative one or a URI
/// does not. The Redis store's script applies the same rule.
pub fn stays_with(p: &str, source: &str) -> bool {
    if p == source {
        return true;
    }
    if !p.starts_with(['/', '~']) && !p.contains("://") {
        return true;
    }
    let dir = source.trim_end_matches('/');
    !dir.is_empty()
        && p.strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Path-like arguments of a call (at most four), as the inspector
/// classifies them.
pub fn call_paths(args: Option<&serde_json::Value>) -> Vec<String> {
    call_paths_and_command(args).0
}

/// [`call_paths`], and whether an argument is a command line (the call
/// runs a program, whose refusals come back in its output).
pub fn call_paths_and_command(args: Option<&serde_json::Value>) -> (Vec<String>, bool) {
    use crate::inspect::arguments::{classify, walk, Kind};
    let mut out = Vec::new();
    let mut command = false;
    if let Some(a) = args {
        walk(a, |s| {
            let kind = classify(&s, false);
            command |= kind.contains(Kind::COMMAND);
            if out.len() < 4 && kind.contains(Kind::PATH) {
                out.push(s.value.to_string());
            }
        });
    }
    (out, command)
}

/// Builds L3's view of a `tools/call` whose path arguments are `paths`
/// ([`call_paths`]): its capabilities (profile override,
/// else what the listing said, else the name; plus what the arguments
/// show), whether it reads a sensitive path, fingerprints of what it could
/// carry out, and the earlier layers' risk.
pub fn call_obs(
    cfg: &BehaviorConfig,
    tool: &str,
    args: Option<&serde_json::Value>,
    listed: Option<Caps>,
    paths: Vec<String>,
    findings: &[Finding],
    now_ms: u64,
) -> CallObs {
    let caps = match cfg.override_for(tool) {
        Some(c) => c,
        None => listed
            .unwrap_or_else(|| capability::infer_tool(tool, None, None))
            .union(capability::infer_args(args)),
    };
    let reads = caps.has(Capability::Read) || caps.has(Capability::List) || caps.is_empty();
    let sensitive = if reads {
        paths
            .iter()
            .find_map(|p| path_sensitivity(p).map(|l| (l, p.clone())))
    } else {
        None
    };
    let mut fingerprints = Vec::new();
    if caps.carries_out() {
        if let Some(a) = args {
            crate::inspect::arguments::walk(a, |s| {
                fingerprint::of_argument(s.value, &mut fingerprints)
            });
        }
    }
    CallObs {
        now_ms,
        call_hash: fingerprint::call_hash(tool, args),
        tool: tool.into(),
        caps,
        fingerprints,
        paths,
        risk_add: risk_of(findings),
        sensitive,
    }
}

/// L3 for a gateway process: the policy and the store its sessions share.
pub struct Engine {
    pub cfg: BehaviorConfig,
    pub store: store::Store,
    /// Set when the configured store could not be used and this process
    /// keeps its state in memory instead (fail-open only; said loudly).
    pub degraded: Option<String>,
}

impl Engine {
    /// Opens the store `url` names. Unreachable with `on_state_error =
    /// "closed"` is an error (the gateway refuses to start); with `"open"`
    /// the process keeps its L3 state in memory and says so in the log and
    /// in every session's start event.
    pub async fn open(cfg: BehaviorConfig, url: Option<&str>) -> Result<Engine, String> {
        match store::Store::open(url, &cfg).await {
            Ok(store) => Ok(Engine {
                cfg,
                store,
                degraded: None,
            }),
            Err(e) if cfg.on_store_error == FailMode::Open && e.store != "config" => {
                let why = format!(
                    "{e}; L3 state is kept in this process only (on_state_error = \"open\")"
                );
                tracing::error!("{why}");
                Ok(Engine {
                    store: store::Store::Memory(store::MemoryStore::new(&cfg)),
                    cfg,
                    degraded: Some(why),
                })
            }
            Err(e) => Err(format!(
                "{e} (on_state_error = \"closed\": vanguard does not run without its L3 state)"
            )),
        }
    }
}

/// Milliseconds since the epoch (the stores' clock; Redis instances share it).
///
/// `VANGUARD_CLOCK_SCALE=N` (a testing aid, said loudly when set) makes this
/// clock run N times faster from the process's first reading, so a test can
/// replay hours of an agent's work in seconds against L3's windows and
/// decay. Nothing else in vanguard reads it.
pub fn now_ms() -> u64 {
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    match clock_scale() {
        Some((start, scale)) => start + (real.saturating_sub(start) as f64 * scale) as u64,
        None => real,
    }
}

fn clock_scale() -> Option<(u64, f64)> {
    static SCALE: std::sync::OnceLock<Option<(u64, f64)>> = std::sync::OnceLock::new();
    *SCALE.get_or_init(|| {
        let scale: f64 = std::env::var("VANGUARD_CLOCK_SCALE").ok()?.trim().parse().ok()?;
        if !scale.is_finite() || scale <= 1.0 {
            return None;
        }
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        tracing::warn!(
            "VANGUARD_CLOCK_SCALE={scale}: L3's clock runs {scale} times faster than real time (a testing aid)"
        );
        Some((start, scale))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_stays_with_its_source_inside_its_tree_or_relative() {
        for (p, source) in [
            ("/w/repo", "/w/repo"),
            ("/w/repo/src/settings.py", "/w/repo"),
            ("/w/repo/src/settings.py", "/w/repo/"),
            ("src/settings.py", "/w/repo"),
            ("./notes.md", "/w/.env"),
        ] {
            assert!(stays_with(p, source), "{p} with {source}");
        }
        for (p, source) in [
            ("/tmp/out", "/w/repo"),
            ("/w/repo2/x", "/w/repo"),
            ("/w/.env.bak", "/w/.env"),
            ("~/leak", "/w/.env"),
            ("file:///w/repo/x", "/w/repo"),
            ("/anything", "/"),
        ] {
            assert!(!stays_with(p, source), "{p} with {source}");
        }
    }

    #[test]
    fn sensitive_paths() {
        for p in [
            "/etc/shadow",
            "/etc/passwd",
            "/root/.ssh/id_rsa",
            "/home/a/.aws/credentials",
            "/proc/1/environ",
            "/srv/tls/server.key",
            "file:///home/a/.netrc",
            "/etc/letsencrypt/live/example.org/privkey.pem",
            "/srv/tls/server-key.pem",
            "/srv/tls/key.pem",
            "/srv/tls/private_key.pem",
        ] {
            assert_eq!(path_sensitivity(p), Some(Sensitivity::System), "{p}");
        }
        // Named like secrets, but only their content can say: the detector
        // decides when the result comes back.
        for p in [
            "/work/app/.env",
            "/work/app/.env.production",
            "/work/deploy/credentials.txt",
            "/work/api_token.json",
            "/work/src/auth_token.py",
            "/work/config/secret_manager.go",
            "/work/app/src/main.rs",
            "/etc/hosts",
            "/work/README.md",
            "/work/envoy.yaml",
            // Certificates are public; a private key in a `.pem` named
            // otherwise is found in the result.
            "/work/deploy/tls/marlow-root-r2.pem",
            "/etc/letsencrypt/live/example.org/fullchain.pem",
            "/srv/tls/cert.pem",
            "/srv/tls/keystone-ca.pem",
        ] {
            assert_eq!(path_sensitivity(p), None, "{p}");
        }
    }

    #[test]
    fn limits_and_crossings() {
        let l = Limit::new(20, 50);
        assert_eq!(l.action(20), None);
        assert_eq!(l.action(21), Some(Action::Warn));
        assert_eq!(l.action(51), Some(Action::Block));
        assert!(l.crossed(21) && l.crossed(51) && !l.crossed(22));
        assert_eq!(Limit::new(0, 0).action(1_000_000), None);
    }

    #[test]
    fn risk_decays_by_half_life() {
        let hl = Duration::from_secs(10);
        assert!((decay(100.0, 0, 10_000, hl) - 50.0).abs() < 1e-9);
        assert!((decay(100.0, 0, 20_000, hl) - 25.0).abs() < 1e-9);
        assert_eq!(decay(0.001, 0, 1, hl), 0.0);
    }

    #[test]
    fn exfiltration_needs_content_for_project_secrets_in_content_mode() {
        let cfg = BehaviorConfig::default();
        let mut obs = CallObs {
            tool: "write_file".into(),
            caps: Caps::of(&[Capability::Write]),
            ..Default::default()
        };
        let mut st = CallState {
            taint: Some(TaintView {
                level: Sensitivity::Project,
                reason: "/w/.env".into(),
                matched: false,
                same_target: false,
            }),
            ..Default::default()
        };
        assert!(!assess_call(&cfg, &obs, &st).exfiltration);
        st.taint.as_mut().unwrap().matched = true;
        assert!(assess_call(&cfg, &obs, &st).exfiltration);
        st.taint.as_mut().unwrap().same_target = true;
        assert!(
            !assess_call(&cfg, &obs, &st).exfiltration,
            "editing the file itself"
        );
        st.taint.as_mut().unwrap().same_target = false;
        st.taint.as_mut().unwrap().matched = false;
        st.taint.as_mut().unwrap().level = Sensitivity::System;
        assert!(assess_call(&cfg, &obs, &st).exfiltration);
        obs.caps = Caps::of(&[Capability::Read]);
        assert!(
            !assess_call(&cfg, &obs, &st).exfiltration,
            "reads carry nothing out"
        );
    }
}
