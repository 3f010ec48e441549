//! `vanguard audit-compliance`: a readiness report. Every check says pass,
//! warn or fail, why, and how to fix it; the exit status is 1 when a
//! required check fails, so CI can gate a deployment on it.

use super::start::{load_policy, CommonPolicyArgs};
use super::{EXIT_INTERNAL, EXIT_OK};
use crate::policy::{Mode, NetMode, PinMode, Policy, ResultAction, SandboxLevel};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ComplianceArgs {
    #[command(flatten)]
    policy: CommonPolicyArgs,
    /// The address a `vanguard sse` gateway of this profile listens on: a
    /// non-loopback address must have authentication.
    #[arg(long, value_name = "HOST")]
    gateway_host: Option<std::net::IpAddr>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    /// A failed required check fails the report.
    pub required: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(
    id: &'static str,
    status: Status,
    required: bool,
    message: String,
    fix: Option<&str>,
) -> Check {
    Check {
        id,
        status,
        required,
        message,
        fix: fix.map(str::to_string),
    }
}

pub fn run(a: ComplianceArgs) -> u8 {
    let policy = match load_policy(&a.policy.profile, &a.policy.overrides()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let checks = checks(&policy, &a);
    let failed = checks
        .iter()
        .any(|c| c.required && c.status == Status::Fail);
    if a.json {
        let v = serde_json::json!({
            "profile": policy.name,
            "passed": !failed,
            "checks": checks,
        });
        println!("{v}");
    } else {
        println!("vanguard audit-compliance: profile {}\n", policy.name);
        for c in &checks {
            let s = match c.status {
                Status::Pass => "pass",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
            };
            let req = if c.required { "" } else { " (advisory)" };
            println!("{s:<5} {:<22} {}{req}", c.id, c.message);
            if let (Some(fix), false) = (&c.fix, c.status == Status::Pass) {
                println!("      {:<22} fix: {fix}", "");
            }
        }
        let n = |s: Status| checks.iter().filter(|c| c.status == s).count();
        println!(
            "\n{} passed, {} warnings, {} failed: {}",
            n(Status::Pass),
            n(Status::Warn),
            n(Status::Fail),
            if failed { "NOT READY" } else { "ready" }
        );
    }
    if failed {
        EXIT_INTERNAL
    } else {
        EXIT_OK
    }
}

pub fn checks(policy: &Policy, a: &ComplianceArgs) -> Vec<Check> {
    let mut out = vec![kernel(policy)];
    out.push(match policy.mode {
        Mode::Enforce => check("profile.mode", Status::Pass, true, "enforce: verdicts are applied".into(), None),
        Mode::Shadow => check(
            "profile.mode",
            Status::Fail,
            true,
            "shadow: every call is forwarded, verdicts are only logged".into(),
            Some("set `mode = \"enforce\"` (or drop --mode shadow) once the shadow run shows no false positives"),
        ),
    });
    out.push(match policy.sandbox.level {
        SandboxLevel::Enforce => check(
            "profile.sandbox",
            Status::Pass,
            true,
            "sandbox level enforce: a missing mechanism refuses the start".into(),
            None,
        ),
        SandboxLevel::BestEffort => check(
            "profile.sandbox",
            Status::Warn,
            true,
            "sandbox level best-effort: the server starts with what the kernel supports".into(),
            Some("set [sandbox] level = \"enforce\" where `vanguard doctor` shows every layer"),
        ),
        SandboxLevel::Off => check(
            "profile.sandbox",
            Status::Fail,
            true,
            "sandbox off: nothing but the inspector stands between a call and the machine".into(),
            Some("set [sandbox] level = \"enforce\" (or \"best-effort\")"),
        ),
    });
    out.push(match policy.network.mode {
        NetMode::None => check(
            "profile.network",
            Status::Pass,
            true,
            "network none: the server reaches nothing".into(),
            None,
        ),
        NetMode::Allowlist => check(
            "profile.network",
            Status::Pass,
            true,
            format!("network allow-list: {}", policy.network.allow.join(", ")),
            None,
        ),
        NetMode::Host => check(
            "profile.network",
            Status::Warn,
            true,
            "network host: the server reaches every address the machine does".into(),
            Some("use [network] mode = \"allowlist\" with the hosts it needs"),
        ),
    });
    out.push(match policy.results.injection {
        ResultAction::Block => check(
            "profile.results",
            Status::Pass,
            true,
            "prompt injection in results is refused".into(),
            None,
        ),
        _ => check(
            "profile.results",
            Status::Warn,
            true,
            "prompt injection in results only warns: orders reach the agent".into(),
            Some("set [results] injection = \"block\""),
        ),
    });
    out.push(match policy.pinning.mode {
        PinMode::Off => check(
            "profile.pinning",
            Status::Warn,
            true,
            "tool pinning off: a changed tool definition (rug pull) goes unnoticed".into(),
            Some("set [pinning] mode = \"tofu\" or \"require\""),
        ),
        m => check(
            "profile.pinning",
            Status::Pass,
            true,
            format!(
                "tool pinning {}",
                if m == PinMode::Require {
                    "require"
                } else {
                    "tofu"
                }
            ),
            None,
        ),
    });
    out.push(zones(policy));
    out.push(auth(a));
    out.push(pins(policy));
    out.push(audit(policy));
    out.push(semantic(policy));
    out.push(clients());
    out.push(trust(policy));
    out
}

/// Rule packs signed where the profile loads them; manifests and baselines
/// not switched to warn or off.
fn trust(policy: &Policy) -> Check {
    use crate::trust::store::CheckMode;
    use crate::trust::RulesRequirement;
    let t = &policy.trust;
    let mut weak = Vec::new();
    if !t.rule_packs.is_empty() && t.rules != RulesRequirement::Signed {
        weak.push(format!(
            "{} rule pack(s) load without a signature requirement",
            t.rule_packs.len()
        ));
    }
    for (what, mode) in [("manifest", t.manifest), ("baseline", t.baseline)] {
        if matches!(mode, Some(CheckMode::Off | CheckMode::Warn)) {
            weak.push(format!("[trust] {what} only warns or is off"));
        }
    }
    if weak.is_empty() {
        let packs = if t.rule_packs.is_empty() {
            "no rule packs".to_string()
        } else {
            format!(
                "{} signed rule pack(s) verified at load",
                t.rule_packs.len()
            )
        };
        check(
            "trust.signatures",
            Status::Pass,
            true,
            format!("{packs}; manifests and baselines given at start must be signed"),
            None,
        )
    } else {
        check(
            "trust.signatures",
            Status::Warn,
            true,
            weak.join("; "),
            Some("set [trust] rules = \"signed\" and manifest/baseline = \"block\""),
        )
    }
}

/// Every local server of the MCP clients found runs through vanguard.
fn clients() -> Check {
    let found = super::configure::unwrapped_servers();
    let problems: Vec<String> = found
        .iter()
        .filter_map(|r| r.as_ref().err().cloned())
        .collect();
    let bare: Vec<String> = found
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|(client, path, name)| format!("{client} {name} ({})", path.display()))
        .collect();
    if !bare.is_empty() {
        check(
            "clients.wrapped",
            Status::Fail,
            true,
            format!("servers that start without vanguard: {}", bare.join("; ")),
            Some("run `vanguard configure` (see `vanguard configure --dry-run`)"),
        )
    } else if !problems.is_empty() {
        check(
            "clients.wrapped",
            Status::Warn,
            true,
            format!(
                "client configurations that cannot be read: {}",
                problems.join("; ")
            ),
            Some("fix the file, then `vanguard configure --dry-run`"),
        )
    } else {
        check(
            "clients.wrapped",
            Status::Pass,
            true,
            "every local server in the MCP client configurations found runs through vanguard"
                .into(),
            None,
        )
    }
}

fn kernel(policy: &Policy) -> Check {
    let plan =
        crate::sandbox::from_policy::sandbox_plan(policy, &["true".to_string()], &[], None, &[]);
    match plan {
        Err(e) => check(
            "kernel.sandbox",
            Status::Fail,
            true,
            format!("the sandbox plan cannot be made: {e}"),
            Some("run `vanguard doctor` for the details"),
        ),
        Ok(p) => {
            let e = p.enforcement();
            if e.fully_enforced() {
                check(
                    "kernel.sandbox",
                    Status::Pass,
                    true,
                    format!("every layer applies here: {}", e.summary()),
                    None,
                )
            } else {
                let status = if policy.sandbox.level == SandboxLevel::Enforce {
                    Status::Fail
                } else {
                    Status::Warn
                };
                check(
                    "kernel.sandbox",
                    status,
                    true,
                    format!("missing here: {}", e.missing.join("; ")),
                    Some(
                        "run `vanguard doctor`; in a container, see the README's container options",
                    ),
                )
            }
        }
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// A zone that is `/`, the home directory, or a directory above it.
fn too_wide(zone: &Path, home: Option<&Path>) -> bool {
    zone == Path::new("/") || home.is_some_and(|h| h.starts_with(zone))
}

fn zones(policy: &Policy) -> Check {
    let home = home();
    let wide_write: Vec<String> = policy
        .zones
        .write
        .iter()
        .filter(|z| too_wide(z, home.as_deref()))
        .map(|z| z.display().to_string())
        .collect();
    let wide_read: Vec<String> = policy
        .zones
        .read
        .iter()
        .filter(|z| too_wide(z, home.as_deref()))
        .map(|z| z.display().to_string())
        .collect();
    if !wide_write.is_empty() {
        check(
            "zones.scope",
            Status::Fail,
            true,
            format!(
                "write zones cover the home directory or /: {}",
                wide_write.join(", ")
            ),
            Some("give the server its project directory, not HOME or /"),
        )
    } else if !wide_read.is_empty() {
        check(
            "zones.scope",
            Status::Warn,
            true,
            format!("read zones cover the home directory or /: {} (credentials are only protected by the inspector's rules and the protected paths)", wide_read.join(", ")),
            Some("narrow the read zones to what the server needs"),
        )
    } else {
        check(
            "zones.scope",
            Status::Pass,
            true,
            "no zone covers the home directory or /".into(),
            None,
        )
    }
}

fn auth(a: &ComplianceArgs) -> Check {
    let Some(host) = a.gateway_host else {
        return check(
            "gateway.auth",
            Status::Pass,
            false,
            "no gateway address given (--gateway-host): not checked".into(),
            None,
        );
    };
    let key = std::env::var("VANGUARD_API_KEY").is_ok_and(|k| !k.is_empty());
    if host.is_loopback() {
        check(
            "gateway.auth",
            Status::Pass,
            true,
            format!("{host} is loopback"),
            None,
        )
    } else if key {
        check(
            "gateway.auth",
            Status::Pass,
            true,
            format!("{host} is not loopback; VANGUARD_API_KEY is set"),
            None,
        )
    } else {
        check(
            "gateway.auth",
            Status::Fail,
            true,
            format!("{host} is not loopback and no API key is set"),
            Some("set VANGUARD_API_KEY or --auth-config with [jwt]"),
        )
    }
}

fn pins(policy: &Policy) -> Check {
    if policy.pinning.mode == PinMode::Off {
        return check(
            "pins.pending",
            Status::Pass,
            false,
            "pinning is off".into(),
            None,
        );
    }
    let path = super::start::pins_path(policy);
    let store = crate::pins::PinStore::new(&path);
    match store.load() {
        Err(e) => check(
            "pins.pending",
            Status::Fail,
            true,
            format!("the pin file cannot be read: {e}"),
            Some("fix or remove the pin file"),
        ),
        Ok(f) => {
            let mut pending: Vec<String> = f
                .servers
                .iter()
                .filter(|(_, e)| e.pending.is_some())
                .map(|(k, _)| k.clone())
                .collect();
            pending.extend(
                f.packages
                    .iter()
                    .filter(|(_, p)| p.pending.is_some())
                    .map(|(k, _)| k.clone()),
            );
            if pending.is_empty() {
                check(
                    "pins.pending",
                    Status::Pass,
                    true,
                    format!(
                        "{} servers and {} packages pinned, none waiting for approval ({})",
                        f.servers.len(),
                        f.packages.len(),
                        path.display()
                    ),
                    None,
                )
            } else {
                check(
                    "pins.pending",
                    Status::Warn,
                    true,
                    format!("drift waiting for review: {}", pending.join(", ")),
                    Some("review with `vanguard pin diff`, then `vanguard pin approve`"),
                )
            }
        }
    }
}

fn audit(policy: &Policy) -> Check {
    let Some(path) = &policy.audit.path else {
        return check(
            "audit.log",
            Status::Fail,
            true,
            "the audit log is off: no record of any decision".into(),
            Some("set [audit] path (or drop --audit-log off)"),
        );
    };
    // Checked without creating anything: the file if it exists, else the
    // nearest existing directory above it.
    let target = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let writable = nix::unistd::access(target, nix::unistd::AccessFlags::W_OK).is_ok();
    if !writable {
        return check(
            "audit.log",
            Status::Fail,
            true,
            format!("{} cannot be written", path.display()),
            Some("fix the directory's permissions or choose another [audit] path"),
        );
    }
    let mut files: Vec<PathBuf> = (1..=policy.audit.keep)
        .rev()
        .map(|n| crate::audit::chain::rotated(path, n))
        .filter(|p| p.exists())
        .collect();
    files.push(path.clone());
    let empty = std::fs::metadata(path)
        .map(|m| m.len() == 0)
        .unwrap_or(true);
    if !empty {
        let r = crate::audit::chain::verify(&files, Some(&crate::audit::chain::head_path(path)));
        if let Some(p) = r.problem {
            return check(
                "audit.log",
                Status::Fail,
                true,
                format!("the audit chain is broken: {p}"),
                Some("investigate; `vanguard audit verify` names the first bad line"),
            );
        }
    }
    let rotation = if policy.audit.max_bytes > 0 && policy.audit.keep > 0 {
        format!(
            "rotates at {} bytes, keeps {}",
            policy.audit.max_bytes, policy.audit.keep
        )
    } else {
        "does not rotate".into()
    };
    check(
        "audit.log",
        Status::Pass,
        true,
        format!("{} is writable, chained, {rotation}", path.display()),
        None,
    )
}

fn semantic(policy: &Policy) -> Check {
    if !policy.semantic.enabled {
        return check(
            "l2.backend",
            Status::Pass,
            false,
            "L2 scoring is not required by this profile".into(),
            None,
        );
    }
    match crate::semantic::Backend::from_env() {
        Ok(Some(b)) => check(
            "l2.backend",
            Status::Pass,
            true,
            format!("L2 backend {} configured", b.name()),
            None,
        ),
        Ok(None) => check(
            "l2.backend",
            Status::Fail,
            true,
            "the profile requires L2 scoring but no backend is configured".into(),
            Some(
                "set VANGUARD_OPENAI_API_KEY, VANGUARD_OLLAMA_URL or VANGUARD_SEMANTIC_CUSTOM_URL",
            ),
        ),
        Err(e) => check(
            "l2.backend",
            Status::Fail,
            true,
            format!("the L2 backend is misconfigured: {e}"),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_of_home_or_above_is_too_wide() {
        let home = Path::new("/home/me");
        assert!(too_wide(Path::new("/"), Some(home)));
        assert!(too_wide(Path::new("/home/me"), Some(home)));
        assert!(too_wide(Path::new("/home"), Some(home)));
        assert!(!too_wide(Path::new("/home/me/project"), Some(home)));
        assert!(!too_wide(Path::new("/srv/data"), Some(home)));
    }
}
