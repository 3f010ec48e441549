//! `vanguard doctor`: what this kernel supports and what a profile would enforce here.
//!
//! Three parts, each read from the library rather than re-derived here:
//! 1. the kernel ([`probe::probe`]): Landlock ABI and errata, seccomp and its
//!    actions, user and PID namespaces, cgroup v2 delegation, root;
//! 2. the plan the profile compiles to for the server ([`sandbox_plan`], i.e.
//!    `Plan::build`) and its [`Enforcement`], layer by layer;
//! 3. a trial: `true` (or, without one on PATH, `vanguard --version`) spawned under the same zones, network and limits (at
//!    level best-effort), which proves that every set-up step also succeeds
//!    at run time — a container may report root and still refuse `unshare`.
//!
//! Exit 0 when the profile's level can be met here, 3 when it cannot (enforce
//! would refuse, the plan cannot be built, or the trial failed), 2 for a
//! configuration error.
//!
//! [`sandbox_plan`]: crate::sandbox::from_policy::sandbox_plan

use super::start::{load_policy, server_argv, CommonPolicyArgs};
use super::*;
use crate::policy::{Policy, SandboxLevel};
use crate::sandbox::{self, probe, Enforcement, KernelSupport, Status};
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    policy: CommonPolicyArgs,
    /// The server command to check, e.g. "node server.js" (default: the
    /// profile's `[server] command`; without one, `true` stands in, since
    /// what the kernel enforces does not depend on the command).
    #[arg(long)]
    server: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// A Landlock erratum: its number and what it was about.
type Erratum = (u32, &'static str);

/// Landlock errata (`LANDLOCK_CREATE_RULESET_ERRATA`): bit N-1 set means
/// erratum N is fixed in the running kernel.
const LANDLOCK_ERRATA: &[Erratum] = &[
    (
        1,
        "TCP socket identification (ABI 4): TCP rights also restricted other stream sockets",
    ),
    (
        2,
        "scoped signal handling (ABI 6): signal scoping blocked signals between threads of one process",
    ),
    (
        3,
        "disconnected directory handling (ABI 1): rename/link on disconnected directories could widen access",
    ),
];

/// Where the command the plan is built for came from.
#[derive(Clone, Copy)]
enum CommandSource {
    Flag,
    Profile,
    StandIn,
}

impl CommandSource {
    fn as_str(self) -> &'static str {
        match self {
            CommandSource::Flag => "--server",
            CommandSource::Profile => "profile",
            CommandSource::StandIn => "stand-in",
        }
    }
}

/// The outcome of spawning `true` under the plan.
struct Trial {
    ok: bool,
    detail: String,
}

pub fn run(a: DoctorArgs) -> u8 {
    let policy = match load_policy(&a.policy.profile, &a.policy.overrides()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let (argv, source) = match (&a.server, &policy.server.command) {
        (Some(_), _) => match server_argv(a.server.as_deref(), &policy) {
            Ok(v) => (v, CommandSource::Flag),
            Err(code) => return code,
        },
        (None, Some(cmd)) => (cmd.clone(), CommandSource::Profile),
        (None, None) => (stand_in(), CommandSource::StandIn),
    };
    let support = probe::probe();
    let plan = super::start::resolve_server(
        &policy,
        &argv,
        a.policy.cache_dir.as_deref(),
        crate::launch::Reach::Describe,
        false,
    )
    .map_err(|_| "the server command could not be resolved".to_string())
    .and_then(|r| super::start::plan_for(&policy, &r));
    let trial = match (&plan, policy.sandbox.level) {
        (Ok(_), SandboxLevel::Off) | (Err(_), _) => None,
        (Ok(_), _) => Some(trial(&policy)),
    };
    let enforcement = plan.as_ref().ok().map(|p| p.enforcement().clone());
    let (code, verdict) = verdict(
        policy.sandbox.level,
        plan.as_ref().err().map(String::as_str),
        enforcement.as_ref(),
        trial.as_ref(),
    );
    let report = Report {
        policy: &policy,
        argv: &argv,
        source,
        support: &support,
        plan_error: plan.as_ref().err().map(String::as_str),
        enforcement: enforcement.as_ref(),
        trial: trial.as_ref(),
        verdict: &verdict,
        code,
    };
    if a.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    code
}

/// Spawns `true` under the policy's zones, network and limits at level
/// best-effort, so that a failing step shows up even when enforce would
/// refuse for another reason.
fn trial(policy: &Policy) -> Trial {
    let mut lenient = policy.clone();
    lenient.sandbox.level = SandboxLevel::BestEffort;
    let argv = stand_in();
    let shown = argv.join(" ");
    let plan = match crate::sandbox::from_policy::sandbox_plan(&lenient, &argv, &[], None, &[]) {
        Ok(p) => p,
        Err(e) => {
            return Trial {
                ok: false,
                detail: format!("could not plan `{shown}`: {e}"),
            }
        }
    };
    let mut cmd = sandbox::command_for(&plan);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    // The spawn's own log lines repeat what the report already says.
    let quiet = tracing::subscriber::NoSubscriber::default();
    let outcome = tracing::subscriber::with_default(quiet, || {
        sandbox::spawn(&mut cmd, &plan)
            .map_err(|e| e.to_string())
            .and_then(|(mut child, _)| child.wait().map_err(|e| e.to_string()))
    });
    let elapsed = started.elapsed();
    match outcome {
        Ok(status) if status.success() => Trial {
            ok: true,
            detail: format!(
                "`{shown}` started and exited 0 under this plan in {}",
                millis(elapsed)
            ),
        },
        Ok(status) => Trial {
            ok: false,
            detail: format!("`{shown}` under this plan ended with {status}"),
        },
        Err(e) => Trial {
            ok: false,
            detail: format!("`{shown}` could not start under this plan: {e}"),
        },
    }
}

/// The command that stands in for a server: `true`, or where there is
/// none on PATH (a distroless or scratch image) vanguard itself printing
/// its version, which exits 0 just the same.
fn stand_in() -> Vec<String> {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("true").is_file()));
    if on_path {
        return vec!["true".to_string()];
    }
    match std::env::current_exe() {
        Ok(exe) => vec![exe.to_string_lossy().into_owned(), "--version".to_string()],
        Err(_) => vec!["true".to_string()],
    }
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Whether the profile's level can be met here: the exit code and one sentence.
fn verdict(
    level: SandboxLevel,
    plan_error: Option<&str>,
    enforcement: Option<&Enforcement>,
    trial: Option<&Trial>,
) -> (u8, String) {
    if let Some(e) = plan_error {
        return (
            EXIT_SPAWN,
            format!("the sandbox plan cannot be built, so the server would not start: {e}"),
        );
    }
    if let Some(t) = trial.filter(|t| !t.ok) {
        return (
            EXIT_SPAWN,
            format!(
                "the sandbox set-up fails on this system, so the server would not start: {}",
                t.detail
            ),
        );
    }
    let missing = enforcement
        .map(|e| e.missing.join("; "))
        .unwrap_or_default();
    let full = enforcement.is_some_and(Enforcement::fully_enforced);
    match level {
        SandboxLevel::Off => (
            EXIT_OK,
            "sandbox level off: the server would run without a kernel sandbox".into(),
        ),
        _ if full => (
            EXIT_OK,
            "every layer of the plan is enforced on this system".into(),
        ),
        SandboxLevel::Enforce => (
            EXIT_SPAWN,
            format!("level enforce would refuse to start the server; missing: {missing}"),
        ),
        SandboxLevel::BestEffort => (
            EXIT_OK,
            format!("level best-effort would start the server without: {missing}"),
        ),
    }
}

/// Everything `doctor` found, rendered as text or JSON.
struct Report<'a> {
    policy: &'a Policy,
    argv: &'a [String],
    source: CommandSource,
    support: &'a KernelSupport,
    plan_error: Option<&'a str>,
    enforcement: Option<&'a Enforcement>,
    trial: Option<&'a Trial>,
    verdict: &'a str,
    code: u8,
}

/// A layer's status as (word, reason).
fn status_parts(s: &Status) -> (&'static str, Option<&str>) {
    match s {
        Status::Full => ("full", None),
        Status::Partial(why) => ("partial", Some(why)),
        Status::NotApplied(why) => ("not applied", Some(why)),
    }
}

fn layers(e: &Enforcement) -> [(&'static str, &Status); 10] {
    [
        ("landlock", &e.landlock),
        ("seccomp", &e.seccomp),
        ("netns", &e.netns),
        ("userns", &e.userns),
        ("pidns", &e.pidns),
        ("root", &e.root),
        ("user", &e.user),
        ("no_new_privs", &e.no_new_privs),
        ("caps_dropped", &e.caps_dropped),
        ("cgroup", &e.cgroup),
    ]
}

fn level_name(l: SandboxLevel) -> &'static str {
    match l {
        SandboxLevel::Enforce => "enforce",
        SandboxLevel::BestEffort => "best-effort",
        SandboxLevel::Off => "off",
    }
}

fn net_name(n: crate::policy::NetMode) -> &'static str {
    match n {
        crate::policy::NetMode::None => "none",
        crate::policy::NetMode::Allowlist => "allowlist",
        crate::policy::NetMode::Host => "host",
    }
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Errata numbers split into (fixed, not fixed); empty when not queried.
fn errata(k: &KernelSupport) -> (Vec<Erratum>, Vec<Erratum>) {
    let Some(mask) = k.landlock_errata else {
        return (Vec::new(), Vec::new());
    };
    LANDLOCK_ERRATA
        .iter()
        .copied()
        .partition(|(n, _)| mask & (1u64 << (n - 1)) != 0)
}

/// Why cgroup limits (`memory.max`, `pids.max`) are unavailable, if they are.
fn cgroup_problem(k: &KernelSupport) -> Option<String> {
    let Some(mount) = &k.cgroup2_mount else {
        return Some("no cgroup v2 hierarchy is mounted".into());
    };
    let lacking: Vec<&str> = ["memory", "pids"]
        .into_iter()
        .filter(|c| !k.cgroup2_controllers.iter().any(|x| x == c))
        .collect();
    if !lacking.is_empty() {
        return Some(format!(
            "controller(s) {} not enabled in {}/cgroup.subtree_control",
            lacking.join(", "),
            mount.display()
        ));
    }
    if !k.cgroup2_writable {
        return Some(format!(
            "{} is not writable by this user (no delegation)",
            mount.display()
        ));
    }
    None
}

/// `/sys/fs/cgroup/unified` (or any v2 mount below v1 controllers) is the
/// hybrid layout, where the v2 tree has no controllers.
fn cgroup_layout(k: &KernelSupport) -> &'static str {
    match &k.cgroup2_mount {
        None => "none",
        Some(m) if m == std::path::Path::new("/sys/fs/cgroup") => "unified",
        Some(_) => "hybrid",
    }
}

fn pid_namespaces(k: &KernelSupport) -> (bool, &'static str) {
    if k.root {
        (true, "as root")
    } else if k.user_namespaces {
        (true, "inside a user namespace")
    } else {
        (false, "needs root or user namespaces")
    }
}

impl Report<'_> {
    fn text(&self) -> String {
        use std::fmt::Write;
        let k = self.support;
        let mut s = String::new();
        let row = |s: &mut String, name: &str, value: &str| {
            let _ = writeln!(s, "  {name:<17} {value}");
        };
        let _ = writeln!(
            s,
            "vanguard doctor: Linux {}, {}",
            kernel_release(),
            if k.root {
                "running as root"
            } else {
                "running unprivileged"
            }
        );
        let _ = writeln!(s, "\nThis kernel");
        let landlock = match k.landlock_abi {
            0 => "not available (absent, or disabled at boot: add landlock to lsm=)".to_string(),
            abi => {
                let target = sandbox::landlock::TARGET_ABI_VERSION;
                let mut v = format!("ABI {abi} (vanguard uses up to {target})");
                if abi < target {
                    v.push_str(": older than vanguard's target, some rights are not enforced");
                }
                v
            }
        };
        row(&mut s, "landlock", &landlock);
        let (fixed, open) = errata(k);
        if k.landlock_errata.is_some() {
            for (n, what) in &fixed {
                row(&mut s, "", &format!("erratum {n} fixed: {what}"));
            }
            for (n, what) in &open {
                row(&mut s, "", &format!("erratum {n} NOT fixed: {what}"));
            }
        }
        let seccomp = if k.seccomp {
            format!(
                "available; actions: {}; user notification: {}",
                k.seccomp_actions.join(" "),
                if k.seccomp_action("user_notif") {
                    "yes"
                } else {
                    "no"
                }
            )
        } else {
            "not available (kernel without CONFIG_SECCOMP_FILTER)".into()
        };
        row(&mut s, "seccomp", &seccomp);
        let userns = match (&k.user_namespaces, &k.user_namespaces_reason) {
            (true, _) if k.root => "available (not needed as root)".to_string(),
            (true, _) => "available".to_string(),
            (false, why) => format!(
                "not available: {}",
                why.as_deref().unwrap_or("unknown reason")
            ),
        };
        row(&mut s, "user namespaces", &userns);
        let (pidns, how) = pid_namespaces(k);
        row(
            &mut s,
            "pid namespaces",
            &format!(
                "{} ({how})",
                if pidns { "available" } else { "not available" }
            ),
        );
        let cgroup = match &k.cgroup2_mount {
            None => "no cgroup v2 hierarchy mounted".to_string(),
            Some(m) => format!(
                "{} ({}); controllers for children: {}; writable: {}",
                m.display(),
                cgroup_layout(k),
                if k.cgroup2_controllers.is_empty() {
                    "none".to_string()
                } else {
                    k.cgroup2_controllers.join(" ")
                },
                if k.cgroup2_writable { "yes" } else { "no" }
            ),
        };
        row(&mut s, "cgroup v2", &cgroup);
        let limits = match cgroup_problem(k) {
            None => "memory.max and pids.max can be applied".to_string(),
            Some(why) => format!("memory.max and pids.max cannot be applied: {why}"),
        };
        row(&mut s, "", &limits);
        row(&mut s, "root", if k.root { "yes" } else { "no" });

        let p = self.policy;
        let _ = writeln!(
            s,
            "\nProfile {} ({}; sandbox {}, network {}) for `{}`{}",
            p.name,
            p.sources.join(" → "),
            level_name(p.sandbox.level),
            net_name(p.network.mode),
            self.argv.join(" "),
            match self.source {
                CommandSource::StandIn =>
                    " (stand-in: the profile names no server; the layers do not depend on it)",
                _ => "",
            }
        );
        match (self.plan_error, self.enforcement) {
            (Some(e), _) => row(&mut s, "plan", &format!("cannot be built: {e}")),
            (None, Some(e)) => {
                for (name, status) in layers(e) {
                    let value = match status_parts(status) {
                        (word, None) => word.to_string(),
                        (word, Some(why)) => format!("{word}: {why}"),
                    };
                    row(&mut s, name, &value);
                }
            }
            (None, None) => {}
        }
        if let Some(t) = self.trial {
            row(
                &mut s,
                "trial",
                &format!("{}: {}", if t.ok { "ok" } else { "FAILED" }, t.detail),
            );
        }
        let _ = writeln!(
            s,
            "\n{}: {}",
            if self.code == EXIT_OK {
                "OK"
            } else {
                "NOT MET"
            },
            self.verdict
        );
        s
    }

    fn json(&self) -> Value {
        let k = self.support;
        let mut kernel = serde_json::to_value(k).unwrap_or_else(|_| json!({}));
        let (fixed, open) = errata(k);
        let numbers = |v: &[Erratum]| v.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        let (pidns, how) = pid_namespaces(k);
        if let Value::Object(map) = &mut kernel {
            map.insert("release".into(), json!(kernel_release()));
            map.insert(
                "landlock_target_abi".into(),
                json!(sandbox::landlock::TARGET_ABI_VERSION),
            );
            map.insert("landlock_errata_fixed".into(), json!(numbers(&fixed)));
            map.insert("landlock_errata_not_fixed".into(), json!(numbers(&open)));
            map.insert(
                "seccomp_user_notif".into(),
                json!(k.seccomp_action("user_notif")),
            );
            map.insert("pid_namespaces".into(), json!(pidns));
            map.insert("pid_namespaces_how".into(), json!(how));
            map.insert("cgroup_layout".into(), json!(cgroup_layout(k)));
            map.insert("cgroup_limits".into(), json!(k.cgroup_limits()));
            map.insert("cgroup_limits_reason".into(), json!(cgroup_problem(k)));
        }
        let layers: serde_json::Map<String, Value> = self
            .enforcement
            .map(|e| {
                layers(e)
                    .into_iter()
                    .map(|(name, status)| {
                        let (word, why) = status_parts(status);
                        (
                            name.to_string(),
                            json!({"status": word.replace(' ', "_"), "reason": why}),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "kernel": kernel,
            "profile": {
                "name": self.policy.name,
                "sources": self.policy.sources,
                "level": level_name(self.policy.sandbox.level),
                "network": net_name(self.policy.network.mode),
                "command": self.argv,
                "command_source": self.source.as_str(),
            },
            "plan": {
                "error": self.plan_error,
                "layers": layers,
                "missing": self.enforcement.map(|e| e.missing.clone()).unwrap_or_default(),
                "fully_enforced": self.enforcement.is_some_and(Enforcement::fully_enforced),
            },
            "trial": self.trial.map(|t| json!({"ok": t.ok, "detail": t.detail})),
            "ok": self.code == EXIT_OK,
            "verdict": self.verdict,
            "exit_code": self.code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Enforcement {
        Enforcement {
            landlock: Status::Full,
            seccomp: Status::Full,
            netns: Status::Full,
            userns: Status::NotApplied("not needed as root".into()),
            pidns: Status::Full,
            root: Status::Full,
            user: Status::Full,
            no_new_privs: Status::Full,
            caps_dropped: Status::Full,
            cgroup: Status::NotApplied("no cgroup limits requested".into()),
            missing: vec![],
            visible: vec![],
        }
    }

    fn without_cgroup() -> Enforcement {
        Enforcement {
            cgroup: Status::NotApplied("no delegated cgroup v2".into()),
            missing: vec!["cgroup: no writable cgroup v2".into()],
            ..full()
        }
    }

    #[test]
    fn enforce_with_a_missing_layer_is_not_met() {
        let (code, why) = verdict(SandboxLevel::Enforce, None, Some(&without_cgroup()), None);
        assert_eq!(code, EXIT_SPAWN);
        assert!(why.contains("cgroup"), "{why}");
    }

    #[test]
    fn best_effort_with_a_missing_layer_is_met_and_says_what_is_missing() {
        let (code, why) = verdict(
            SandboxLevel::BestEffort,
            None,
            Some(&without_cgroup()),
            None,
        );
        assert_eq!(code, EXIT_OK);
        assert!(why.contains("cgroup"), "{why}");
    }

    #[test]
    fn a_failed_trial_or_plan_is_not_met_at_any_level() {
        let failed = Trial {
            ok: false,
            detail: "set-up failed at step `unshare namespaces`".into(),
        };
        for level in [SandboxLevel::BestEffort, SandboxLevel::Enforce] {
            let (code, why) = verdict(level, None, Some(&full()), Some(&failed));
            assert_eq!(code, EXIT_SPAWN);
            assert!(why.contains("unshare"), "{why}");
        }
        let (code, _) = verdict(
            SandboxLevel::BestEffort,
            Some("program `x` not found"),
            None,
            None,
        );
        assert_eq!(code, EXIT_SPAWN);
    }

    #[test]
    fn errata_bits_are_split_by_number() {
        let k = KernelSupport {
            landlock_abi: 7,
            landlock_errata: Some(0b101),
            seccomp: true,
            seccomp_actions: vec![],
            user_namespaces: true,
            user_namespaces_reason: None,
            cgroup2_mount: None,
            cgroup2_controllers: vec![],
            cgroup2_writable: false,
            root: true,
            cap_last_cap: 40,
            mounts: true,
            mounts_reason: None,
            fresh_proc: true,
        };
        let (fixed, open) = errata(&k);
        assert_eq!(fixed.iter().map(|e| e.0).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(open.iter().map(|e| e.0).collect::<Vec<_>>(), [2]);
        assert_eq!(
            cgroup_problem(&k).as_deref(),
            Some("no cgroup v2 hierarchy is mounted")
        );
    }
}
