//! `vanguard policy explain`: the effective policy in plain words.

use super::*;
use std::fmt::Write;

pub fn explain(p: &Policy) -> String {
    let mut s = String::new();
    let list = |v: &[PathBuf]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join("\n    ")
        }
    };
    let _ = writeln!(s, "profile: {} — {}", p.name, p.description);
    let _ = writeln!(s, "built from: {}", p.sources.join(" → "));
    let _ = writeln!(s, "mode: {:?}", p.mode);
    if let Some(c) = &p.server.command {
        let _ = writeln!(s, "server: {}", c.join(" "));
    }
    let _ = writeln!(s, "server cwd: {}", p.server.cwd.display());
    let _ = writeln!(
        s,
        "\nsafe zones ({}; outside → {:?}):\n  read:\n    {}\n  write:\n    {}",
        if p.zones.enabled {
            "enabled"
        } else {
            "DISABLED"
        },
        p.zones.action,
        list(&p.zones.read),
        list(&p.zones.write)
    );
    let _ = writeln!(
        s,
        "  protected inside the write zones (read-only; --unprotect NAME to allow):\n    {}",
        if p.zones.protected_names.is_empty() {
            "none".to_string()
        } else {
            p.zones.protected_names.join(" ")
        }
    );
    let r = &p.results;
    let files = |f: &crate::policy::instructions::FilePatterns| {
        if f.patterns().is_empty() {
            "none".to_string()
        } else {
            f.patterns().join(" ")
        }
    };
    let _ = writeln!(
        s,
        "\nresults: secrets {:?}, injection {:?}, terminal escapes {:?}\n  agent instruction files (text addressed to the AI logged): {}\n  prompt files (address, persona, concealment, tool calls logged): {}",
        r.secrets,
        r.injection,
        r.escapes,
        files(&r.instruction_files),
        files(&r.prompt_files)
    );
    let _ = writeln!(
        s,
        "\nnetwork: {:?} {}",
        p.network.mode,
        p.network.allow.join(", ")
    );
    if p.network.mode == crate::policy::NetMode::Allowlist {
        let ports: Vec<String> = p
            .network
            .allow_list
            .loopback_destinations()
            .iter()
            .map(|(_, port)| port.to_string())
            .collect();
        if !ports.is_empty() {
            let _ = writeln!(
                s,
                "  the host's loopback ports {} are forwarded into the sandbox: 127.0.0.1:PORT there reaches the host's (audited)",
                ports.join(", ")
            );
        }
    } else if p.network.mode == crate::policy::NetMode::Host {
        let _ = writeln!(
            s,
            "  host names in tool calls are resolved and judged by their addresses (NET-001, NET-002)"
        );
    }
    let _ = writeln!(
        s,
        "sandbox: {:?}{}",
        p.sandbox.level,
        if p.sandbox.strict_seccomp {
            " (allow-list seccomp)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "limits: line {} bytes; {} requests in flight; calls wait {:?} for the tool list; shutdown: close stdin, wait {:?}, SIGTERM, wait {:?}, SIGKILL",
        p.max_line_bytes, p.max_in_flight, p.list_timeout, p.close_grace, p.term_grace
    );
    match &p.audit.path {
        Some(a) => {
            let _ = writeln!(
                s,
                "audit: {} (rotated at {} bytes, {} kept)",
                a.display(),
                p.audit.max_bytes,
                p.audit.keep
            );
        }
        None => {
            let _ = writeln!(s, "audit: OFF");
        }
    }
    let b = &p.behavior;
    if b.enabled {
        let lim = |l: super::behavior::Limit| format!("{}/{}", l.warn, l.block);
        let _ = writeln!(
            s,
            "L3 behaviour: window {}s, warn/block per tool {}, read {}, write {}, exec {}, network {}, \
             repeat {}, enumeration {}, response bytes {}; taint {}s ({:?}{}); risk half-life {}s, \
             log {} / require L2 {} / block {}; state {} (on error: {:?})",
            b.window.as_secs(),
            lim(b.per_tool),
            lim(b.read),
            lim(b.write),
            lim(b.exec),
            lim(b.network),
            lim(b.repeat),
            lim(b.enumeration),
            lim(b.response_bytes),
            b.taint_ttl.as_secs(),
            b.sequence,
            if b.cut_egress { ", cuts egress" } else { "" },
            b.risk.half_life.as_secs(),
            b.risk.log,
            b.risk.require_l2,
            b.risk.block,
            p.state_url.as_deref().unwrap_or("memory"),
            b.on_store_error,
        );
    } else {
        let _ = writeln!(s, "L3 behaviour: OFF");
    }
    let sem = &p.semantic;
    let _ =
        writeln!(
        s,
        "L2 semantic: {} (warn {} / block {}, fail {}, timeout {:?}, retries {}, concurrency {}{})",
        if sem.enabled { "on" } else { "off unless --semantic or the risk requires it" },
        sem.settings.warn,
        sem.settings.block,
        if sem.settings.fail_closed { "closed" } else { "open" },
        sem.settings.timeout,
        sem.settings.retries,
        sem.settings.concurrency,
        if sem.metadata { ", scores tool metadata" } else { "" },
    );
    if !p.tool_access.is_empty() {
        let _ = writeln!(s, "\ntool access:");
        for t in &p.tool_access {
            let _ = writeln!(
                s,
                "  {:<24} default {:?}; read args {:?}; write args {:?}",
                t.tool, t.access, t.read_args, t.write_args
            );
        }
    }
    let _ = writeln!(s, "\nrules ({}):", p.rules.len());
    let mut family = "";
    for r in &p.rules {
        if r.family != family {
            family = &r.family;
            let _ = writeln!(s, "  [{family}]");
        }
        let _ = writeln!(
            s,
            "    {:<10} {:<6} {:<8} {:<8} {}",
            r.id,
            format!("{:?}", r.action).to_lowercase(),
            format!("{:?}", r.severity).to_lowercase(),
            format!("{:?}", r.target).to_lowercase(),
            r.description
        );
    }
    let _ = writeln!(s, "\nbuilt-in checks: ZONE-READ, ZONE-WRITE, ZONE-PROTECTED (safe zones), L0-INVISIBLE, L0-MIXED-SCRIPT (normalisation anomalies)");
    if !p.rule_actions.is_empty() {
        let _ = writeln!(s, "action overrides: {:?}", p.rule_actions);
    }
    explain_trust(&p.trust, &mut s);
    s
}

fn explain_trust(t: &trust::TrustPolicy, s: &mut String) {
    if t.rules == crate::trust::RulesRequirement::Any
        && t.rule_packs.is_empty()
        && t.store.is_empty()
    {
        return;
    }
    let _ = writeln!(
        s,
        "\ntrust: rule packs must be {}",
        match t.rules {
            crate::trust::RulesRequirement::Signed => "signed by a rules signer",
            crate::trust::RulesRequirement::Any =>
                "consistent with their manifest, if they have one",
        }
    );
    for dir in &t.rule_packs {
        let _ = writeln!(s, "  rule pack: {}", dir.display());
    }
    for purpose in [
        crate::trust::Purpose::Rules,
        crate::trust::Purpose::Manifest,
        crate::trust::Purpose::Baseline,
        crate::trust::Purpose::Provenance,
    ] {
        for signer in t.store.signers(purpose) {
            let _ = writeln!(
                s,
                "  {purpose} signer: {} ({}{})",
                signer.doc.key_id,
                signer.source,
                signer
                    .not_after
                    .as_deref()
                    .map(|d| format!(", not_after {d}"))
                    .unwrap_or_default()
            );
        }
    }
}
