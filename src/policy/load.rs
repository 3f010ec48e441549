//! Finding, parsing, checking and merging profile files.

use super::schema::*;
use super::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Command-line settings that override the profile.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub workspace: Option<PathBuf>,
    pub read: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
    /// Protected names to drop (`--unprotect`).
    pub unprotect: Vec<String>,
    pub mode: Option<Mode>,
    pub max_line_bytes: Option<usize>,
    pub audit_path: Option<String>,
    pub sandbox: Option<SandboxLevel>,
    pub net: Option<NetMode>,
    pub allow_hosts: Vec<String>,
    pub pins: Option<PathBuf>,
    /// `--semantic`: turn L2 on.
    pub semantic: bool,
    /// `--state`: where L3 keeps its state.
    pub state: Option<String>,
    /// Read `[trust]` without loading its rule packs (`vanguard update`
    /// needs the signers before the first pack is installed).
    pub skip_rule_packs: bool,
    /// `--env NAME`: variables passed through to the server besides the
    /// profile's `[server] env` (an MCP client's `env` for the entry).
    pub env: Vec<String>,
    /// How closely `[[rules]]` are checked.
    pub rules: RuleCheck,
}

/// How closely loading checks a profile's `[[rules]]`.
///
/// Parsing every pattern costs milliseconds on the built-in profiles; the
/// gateway must pay it at load (a broken pattern is an error naming its
/// file and line before any server starts), `vanguard run` need not: it
/// never inspects a message, so its rules are never compiled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RuleCheck {
    /// Ids, pattern lists and every pattern's syntax (what the inspector
    /// will compile).
    #[default]
    Full,
    /// Ids and pattern lists, not the patterns' syntax: for commands that
    /// never build an inspector. The TOML, the schema and every other
    /// field are checked as under `Full`.
    ///
    /// # Warning
    /// A policy loaded this way must not reach `Inspector::new` unchecked
    /// by its caller: the compile error there names no file or line. The
    /// gateways (`start`, `sse`) load this way and, when the inspector
    /// does not compile, load again with `Full` for that error
    /// (`GatewayArgs::inspector_and_audit`).
    SkipPatterns,
}

const MAX_EXTENDS_DEPTH: usize = 8;
const MIN_LINE_BYTES: usize = 1024;
/// `[limits] max_in_flight` when a profile says nothing: far above what an
/// agent keeps waiting (the SDKs send a handful of calls at a time) and
/// above what a script piping a file of requests into `vanguard start` gets
/// ahead of the server (a 1,024 bound refused part of a 5,000-line file),
/// while a peer still cannot grow a session's table beyond ≈ 8.5 MiB
/// (about 0.5 KiB an entry).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16_384;
/// The most a profile may allow.
const MAX_IN_FLIGHT: usize = 1 << 20;

/// Loads the profile named by `spec` (a built-in name or a path) with its
/// whole `extends` chain, applies `overrides`, and validates the result.
pub fn load(spec: &str, overrides: &Overrides) -> Result<Policy, PolicyError> {
    let vars = Vars::from_env(overrides.workspace.clone());
    let mut chain: Vec<(String, ProfileFile)> = Vec::new();
    let mut next = Some((spec.to_string(), None::<PathBuf>));
    while let Some((name, base_dir)) = next.take() {
        if chain.len() >= MAX_EXTENDS_DEPTH {
            // The chain is not empty here: it holds MAX_EXTENDS_DEPTH profiles.
            return Err(err(
                chain.first().map_or(spec, |c| c.0.as_str()),
                None,
                "extends",
                "extends chain is too deep (a cycle?)",
            ));
        }
        let (label, text, dir) = resolve(
            &name,
            base_dir.as_deref(),
            chain.last().map(|c| c.0.as_str()),
        )?;
        if chain.iter().any(|(l, _)| *l == label) {
            return Err(err(
                &label,
                None,
                "extends",
                "profile extends itself (a cycle)",
            ));
        }
        let mut file = parse_file(&label, &text, &vars, overrides.rules)?;
        super::trust::anchor_paths(
            &mut file,
            &label,
            dir.as_deref().unwrap_or(&vars.cwd),
            &vars,
        )?;
        next = file.extends.clone().map(|e| (e, dir));
        chain.push((label, file));
    }
    // Base first.
    chain.reverse();
    let sources: Vec<String> = chain.iter().map(|(l, _)| l.clone()).collect();
    let mut merged = ProfileFile::default();
    let mut rules: Vec<Rule> = Vec::new();
    for (label, file) in chain {
        merge_rules(&mut rules, &label, &file);
        merged = merge(merged, file);
    }
    // Rule packs come after the profiles' own rules: a pack's rule replaces
    // a profile rule of the same id (disable_rules and rule_actions still apply).
    let top = sources.last().cloned().unwrap_or_default();
    let trust = super::trust::resolve(
        merged.trust.take(),
        &top,
        &vars,
        overrides.skip_rule_packs,
        overrides.rules,
        &mut rules,
    )?;
    finish(merged, rules, sources, &vars, overrides, trust)
}

/// Every `[rule_actions]` key must name a rule (L1's, or a built-in check
/// whose action a profile can change); a glob must match at least one. A
/// misspelt id would otherwise be silently ignored.
fn check_rule_actions(
    file: &str,
    actions: &BTreeMap<String, Action>,
    rules: &[Rule],
) -> Result<(), PolicyError> {
    let known = |id: &str| {
        rules.iter().any(|r| r.id == id) || crate::policy::BUILTIN_RULE_IDS.contains(&id)
    };
    for key in actions.keys() {
        let ok = if key.contains(['*', '?']) {
            rules.iter().any(|r| crate::glob::matches(key, &r.id))
                || crate::policy::BUILTIN_RULE_IDS
                    .iter()
                    .any(|id| crate::glob::matches(key, id))
        } else {
            known(key)
        };
        if !ok {
            return Err(err(
                file,
                None,
                &format!("rule_actions.{key}"),
                "names no rule (check the id with `vanguard policy explain`; result and metadata findings are set in [results] and [metadata])",
            ));
        }
    }
    Ok(())
}

/// Locates a profile: an existing path, or a built-in name.
fn resolve(
    name: &str,
    base_dir: Option<&Path>,
    from: Option<&str>,
) -> Result<(String, String, Option<PathBuf>), PolicyError> {
    let looks_like_path =
        name.contains('/') && !name.starts_with("servers/") || name.ends_with(".toml");
    if looks_like_path {
        let p = match base_dir {
            Some(d) if Path::new(name).is_relative() => d.join(name),
            _ => PathBuf::from(name),
        };
        let text = std::fs::read_to_string(&p).map_err(|e| {
            err(
                from.unwrap_or(name),
                None,
                if from.is_some() {
                    "extends"
                } else {
                    "--profile"
                },
                format!("cannot read profile {}: {e}", p.display()),
            )
        })?;
        let dir = p.parent().map(Path::to_path_buf);
        return Ok((p.display().to_string(), text, dir));
    }
    match builtin::get(name) {
        Some((label, text)) => Ok((label, text.to_string(), None)),
        None => Err(err(
            from.unwrap_or("--profile"),
            None,
            if from.is_some() { "extends" } else { "profile" },
            format!(
                "unknown profile {name:?}: not a file and not a built-in profile ({})",
                builtin_names().join(", ")
            ),
        )),
    }
}

pub(super) fn err(
    file: &str,
    line: Option<usize>,
    field: &str,
    message: impl std::fmt::Display,
) -> PolicyError {
    PolicyError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message: message.to_string(),
    }
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// The first line mentioning `needle`, for errors on fields serde gives no span for.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|o| line_of_offset(text, o))
}

/// Parses one file and checks what can be checked in isolation.
pub(super) fn parse_file(
    label: &str,
    text: &str,
    vars: &Vars,
    rule_check: RuleCheck,
) -> Result<ProfileFile, PolicyError> {
    let mut file: ProfileFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of_offset(text, s.start));
        // toml's message already names the key; keep only its last line.
        let message = e.message().trim().to_string();
        let field = e
            .span()
            .map(|s| {
                let start = text[..s.start].rfind('\n').map(|p| p + 1).unwrap_or(0);
                let l = &text[start
                    ..text[start..]
                        .find('\n')
                        .map(|p| start + p)
                        .unwrap_or(text.len())];
                l.split('=').next().unwrap_or("").trim().to_string()
            })
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "(syntax)".into());
        err(label, line, &field, &message)
    })?;
    let expand = |field: &str, v: &mut String| -> Result<(), PolicyError> {
        *v = vars
            .expand(v)
            .map_err(|m| err(label, line_of(text, v.as_str()), field, &m))?;
        Ok(())
    };
    if let Some(z) = file.zones.as_mut() {
        for (field, list) in [
            ("zones.read", z.read.as_mut()),
            ("zones.write", z.write.as_mut()),
        ] {
            for p in list.into_iter().flatten() {
                expand(field, p)?;
                if !Path::new(p).is_absolute() {
                    return Err(err(
                        label,
                        line_of(text, p),
                        field,
                        format!("zone {p:?} is not an absolute path"),
                    ));
                }
            }
        }
    }
    if let Some(s) = file.server.as_mut() {
        for a in s.command.iter_mut().flatten() {
            expand("server.command", a)?;
        }
        if let Some(c) = s.cwd.as_mut() {
            expand("server.cwd", c)?;
        }
        for v in s.env_set.iter_mut().flat_map(|m| m.values_mut()) {
            expand("server.env_set", v)?;
        }
        if matches!(&s.command, Some(c) if c.is_empty()) {
            return Err(err(
                label,
                line_of(text, "command"),
                "server.command",
                "must not be empty",
            ));
        }
    }
    if let Some(a) = file.audit.as_mut() {
        if let Some(p) = a.path.as_mut() {
            expand("audit.path", p)?;
        }
    }
    if let Some(p) = file.pinning.as_mut().and_then(|p| p.file.as_mut()) {
        expand("pinning.file", p)?;
    }
    if let Some(l) = &file.limits {
        if matches!(l.max_line_bytes, Some(n) if n < MIN_LINE_BYTES) {
            return Err(err(
                label,
                line_of(text, "max_line_bytes"),
                "limits.max_line_bytes",
                format!("must be at least {MIN_LINE_BYTES}"),
            ));
        }
        if matches!(l.max_in_flight, Some(n) if !(1..=MAX_IN_FLIGHT).contains(&n)) {
            return Err(err(
                label,
                line_of(text, "max_in_flight"),
                "limits.max_in_flight",
                format!("must be between 1 and {MAX_IN_FLIGHT}"),
            ));
        }
    }
    if let Some(n) = &file.network {
        for h in n.allow.iter().flatten() {
            crate::canon::AllowList::parse(std::slice::from_ref(h))
                .map_err(|m| err(label, line_of(text, h), "network.allow", &m))?;
        }
    }
    // `${home}` and the other variables in rule patterns, as literals.
    for r in file.rules.iter_mut().flatten() {
        for (j, p) in r.patterns.iter_mut().enumerate() {
            if !p.get_ref().contains("${") {
                continue;
            }
            let at = p.span().start;
            let expanded = vars.expand_regex(p.get_ref()).map_err(|m| {
                err(
                    label,
                    Some(line_of_offset(text, at)),
                    &format!("rules ({}).patterns[{j}]", r.id),
                    &m,
                )
            })?;
            *p.get_mut() = expanded;
        }
    }
    for (i, r) in file.rules.iter().flatten().enumerate() {
        // Searched only for an error: on every rule it made loading
        // quadratic in the profile's size.
        let at = || line_of(text, &format!("\"{}\"", r.id));
        if r.id.trim().is_empty() {
            return Err(err(
                label,
                at(),
                &format!("rules[{i}].id"),
                "must not be empty",
            ));
        }
        let field = || format!("rules[{i}] ({})", r.id);
        if r.patterns.is_empty() {
            return Err(err(
                label,
                at(),
                &format!("{}.patterns", field()),
                "needs at least one pattern",
            ));
        }
        if rule_check == RuleCheck::SkipPatterns {
            continue;
        }
        for (j, p) in r.patterns.iter().enumerate() {
            let src = super::pattern::pattern_source(p.get_ref(), r.case_sensitive);
            if let Err(e) = super::pattern::check_syntax(&src) {
                return Err(err(
                    label,
                    Some(line_of_offset(text, p.span().start)),
                    &format!("{}.patterns[{j}]", field()),
                    format!("invalid regular expression: {e}"),
                ));
            }
        }
    }
    for (i, t) in file.tool_access.iter().flatten().enumerate() {
        if t.tool.is_empty() {
            return Err(err(
                label,
                None,
                &format!("tool_access[{i}].tool"),
                "must not be empty",
            ));
        }
    }
    Ok(file)
}

/// Later files override earlier ones; rules are collected separately.
fn merge(base: ProfileFile, top: ProfileFile) -> ProfileFile {
    macro_rules! section {
        ($b:expr, $t:expr, $ty:ident { $($f:ident),* }) => {
            match ($b, $t) {
                (Some(b), Some(t)) => Some($ty { $($f: t.$f.or(b.$f)),* }),
                (b, t) => t.or(b),
            }
        };
    }
    let mut rule_actions = base.rule_actions.unwrap_or_default();
    rule_actions.extend(top.rule_actions.unwrap_or_default());
    let mut disable = base.disable_rules.unwrap_or_default();
    disable.extend(top.disable_rules.unwrap_or_default());
    // The more specific profile's mappings come first and so win.
    let mut tool_access = top.tool_access.unwrap_or_default();
    tool_access.extend(base.tool_access.unwrap_or_default());
    ProfileFile {
        extends: None,
        name: top.name.or(base.name),
        description: top.description.or(base.description),
        mode: top.mode.or(base.mode),
        server: section!(
            base.server,
            top.server,
            ServerSection {
                command,
                cwd,
                env,
                env_set,
                install_scripts
            }
        ),
        limits: section!(
            base.limits,
            top.limits,
            LimitsSection {
                max_line_bytes,
                max_in_flight,
                stderr_lines_per_sec
            }
        ),
        lifecycle: section!(
            base.lifecycle,
            top.lifecycle,
            LifecycleSection {
                close_grace_ms,
                term_grace_ms,
                list_timeout_ms
            }
        ),
        zones: section!(
            base.zones,
            top.zones,
            ZonesSection {
                enabled,
                read,
                write,
                action,
                protected,
                unprotect
            }
        ),
        network: section!(
            base.network,
            top.network,
            NetworkSection {
                mode,
                allow,
                resolve,
                max_bytes_per_connection,
                max_bytes_per_session,
                max_connection_secs
            }
        ),
        sandbox: section!(
            base.sandbox,
            top.sandbox,
            SandboxSection {
                level,
                strict_seccomp,
                max_open_files,
                max_processes,
                max_address_space_mb,
                max_file_size_mb,
                memory_max_mb,
                pids_max
            }
        ),
        audit: section!(
            base.audit,
            top.audit,
            AuditSection {
                path,
                max_bytes,
                keep
            }
        ),
        metadata: section!(
            base.metadata,
            top.metadata,
            MetadataSection {
                action,
                max_schema_bytes,
                max_schema_depth,
                refuse_unlisted_tools
            }
        ),
        pinning: section!(
            base.pinning,
            top.pinning,
            PinningSection {
                mode,
                on_drift,
                file,
                new_tools
            }
        ),
        results: section!(
            base.results,
            top.results,
            ResultsSection {
                secrets,
                injection,
                escapes,
                instruction_files,
                prompt_files
            }
        ),
        behavior: section!(
            base.behavior,
            top.behavior,
            BehaviorSection {
                enabled,
                window_secs,
                taint_secs,
                sequence,
                cut_egress,
                state,
                on_state_error,
                risk_half_life_secs,
                risk_log,
                risk_require_l2,
                risk_block,
                per_tool,
                read,
                list,
                write,
                exec,
                network,
                repeat,
                enumeration,
                response_bytes,
                capabilities
            }
        ),
        semantic: section!(
            base.semantic,
            top.semantic,
            SemanticSection {
                enabled,
                warn,
                block,
                fail,
                timeout_secs,
                retries,
                concurrency,
                cache_entries,
                metadata
            }
        ),
        tool_access: Some(tool_access),
        rules: None,
        rule_actions: Some(rule_actions),
        disable_rules: Some(disable),
        trust: section!(
            base.trust,
            top.trust,
            TrustSection {
                rules,
                manifest,
                baseline,
                rule_packs,
                signers,
                provenance,
                sigstore_root
            }
        ),
    }
}

pub(super) fn merge_rules(rules: &mut Vec<Rule>, label: &str, file: &ProfileFile) {
    for r in file.rules.iter().flatten() {
        let line = r.patterns.first().map(|p| p.span().start);
        let origin = match line {
            Some(_) => format!("{label} (rule {})", r.id),
            None => label.to_string(),
        };
        let rule = Rule {
            id: r.id.clone(),
            family: r.family.clone(),
            description: r.description.clone(),
            severity: r.severity,
            action: r.action,
            target: r.target,
            patterns: r.patterns.iter().map(|p| p.get_ref().clone()).collect(),
            case_sensitive: r.case_sensitive,
            tools: r.tools.clone(),
            hint: r.hint.clone(),
            origin,
        };
        match rules.iter_mut().find(|x| x.id == r.id) {
            Some(existing) => *existing = rule,
            None => rules.push(rule),
        }
    }
}

fn finish(
    f: ProfileFile,
    mut rules: Vec<Rule>,
    sources: Vec<String>,
    vars: &Vars,
    ov: &Overrides,
    trust: super::trust::TrustPolicy,
) -> Result<Policy, PolicyError> {
    let top = sources.last().cloned().unwrap_or_default();
    if let Some(ws) = &ov.workspace {
        if !vars.workspace.is_dir() {
            let what = if vars.workspace.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return Err(err(
                "--workspace",
                None,
                "workspace",
                format!("{} {what}", ws.display()),
            ));
        }
    }
    for (flag, paths) in [("--read", &ov.read), ("--write", &ov.write)] {
        if let Some(p) = paths.iter().find(|p| !vars.cwd.join(p).exists()) {
            return Err(err(
                flag,
                None,
                &flag[2..],
                format!(
                    "{} does not exist (a zone must be an existing file or directory)",
                    p.display()
                ),
            ));
        }
    }
    let disable = f.disable_rules.unwrap_or_default();
    // Later (more specific) entries of the merged map win, and an exact id
    // beats a glob.
    let actions: BTreeMap<String, Action> = f.rule_actions.unwrap_or_default();
    check_rule_actions(&top, &actions, &rules)?;
    rules.retain(|r| !disable.iter().any(|g| crate::glob::matches(g, &r.id)));
    let rule_actions = actions.clone();
    for r in rules.iter_mut() {
        if let Some(a) = actions.get(&r.id) {
            r.action = *a;
        } else if let Some((_, a)) = actions
            .iter()
            .filter(|(g, _)| crate::glob::matches(g, &r.id))
            .max_by_key(|(g, _)| g.len())
        {
            r.action = *a;
        }
    }
    let server = f.server.unwrap_or_default();
    let zones = f.zones.unwrap_or_default();
    let limits = f.limits.unwrap_or_default();
    let life = f.lifecycle.unwrap_or_default();
    let list_timeout =
        match life.list_timeout_ms {
            Some(0) => return Err(err(
                &top,
                None,
                "lifecycle.list_timeout_ms",
                "must be at least 1 (ms): a call held for the tool list needs time to be answered",
            )),
            Some(ms) => Duration::from_millis(ms),
            None => Duration::from_secs(10),
        };
    let net = f.network.unwrap_or_default();
    let sb = f.sandbox.unwrap_or_default();
    let audit = f.audit.unwrap_or_default();
    let meta = f.metadata.unwrap_or_default();
    let pin = f.pinning.unwrap_or_default();
    let mut res = f.results.unwrap_or_default();
    use crate::policy::instructions::FilePatterns;
    let instruction_files = match res.instruction_files.take() {
        None => FilePatterns::instructions(),
        Some(v) => {
            FilePatterns::new(v).map_err(|e| err(&top, None, "results.instruction_files", e))?
        }
    };
    let prompt_files = match res.prompt_files.take() {
        None => FilePatterns::none(),
        Some(v) => FilePatterns::new(v).map_err(|e| err(&top, None, "results.prompt_files", e))?,
    };
    let bsec = f.behavior.unwrap_or_default();
    let state_url = ov
        .state
        .clone()
        .or_else(|| bsec.state.clone())
        .filter(|s| !s.is_empty() && s != "memory");
    let behavior = behavior_config(&top, bsec)?;
    let semantic = semantic_config(&top, f.semantic.unwrap_or_default(), ov.semantic)?;

    let canon = |p: &Path| -> PathBuf {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            vars.cwd.join(p)
        };
        crate::canon::resolve_existing(
            &crate::canon::lexical_path(&abs.to_string_lossy(), &vars.cwd, &vars.home)
                .unwrap_or(abs),
        )
    };
    let mut read: Vec<PathBuf> = zones
        .read
        .unwrap_or_default()
        .iter()
        .map(|p| canon(Path::new(p)))
        .collect();
    let mut write: Vec<PathBuf> = zones
        .write
        .unwrap_or_default()
        .iter()
        .map(|p| canon(Path::new(p)))
        .collect();
    read.extend(ov.read.iter().map(|p| canon(p)));
    write.extend(ov.write.iter().map(|p| canon(p)));
    for z in read.iter().chain(write.iter()) {
        if z == Path::new("/") {
            return Err(err(
                &top,
                None,
                "zones",
                "a zone of \"/\" would allow everything; list the directories instead",
            ));
        }
    }
    read.sort();
    read.dedup();
    write.sort();
    write.dedup();
    let mut protected_names: Vec<String> = crate::policy::DEFAULT_PROTECTED
        .iter()
        .map(|s| s.to_string())
        .collect();
    for n in zones.protected.clone().unwrap_or_default() {
        let n = n.trim_end_matches('/').to_string();
        if n.is_empty() || n.split('/').any(|c| c == "..") {
            return Err(err(
                &top,
                None,
                "zones.protected",
                format!("{n:?}: a protected entry is a name inside the write zones (like \".git/config\") or an absolute path, without \"..\""),
            ));
        }
        if !protected_names.contains(&n) {
            protected_names.push(n);
        }
    }
    let unprotect: Vec<String> = zones
        .unprotect
        .clone()
        .unwrap_or_default()
        .into_iter()
        .chain(ov.unprotect.iter().cloned())
        .map(|n| n.trim_end_matches('/').to_string())
        .collect();
    if let Some(n) = unprotect.iter().find(|n| !protected_names.contains(n)) {
        return Err(err(
            if ov.unprotect.contains(n) {
                "--unprotect"
            } else {
                &top
            },
            None,
            "zones.unprotect",
            format!(
                "{n:?} is not a protected path; protected: {}",
                protected_names.join(", ")
            ),
        ));
    }
    protected_names.retain(|n| !unprotect.contains(n));
    let mut protected: Vec<PathBuf> = Vec::new();
    for n in &protected_names {
        if Path::new(n).is_absolute() {
            let p = canon(Path::new(n));
            if write.iter().any(|w| p.starts_with(w)) {
                protected.push(p);
            }
        } else {
            for w in &write {
                protected.push(w.join(n));
            }
        }
    }
    protected.sort();
    protected.dedup();

    let mut allow = net.allow.unwrap_or_default();
    // One validator for destinations: the allow-list's own parser (the
    // profile's entries were checked per file, with their line).
    for h in &ov.allow_hosts {
        crate::canon::AllowList::parse(std::slice::from_ref(h))
            .map_err(|m| err("--allow-host", None, "allow-host", &m))?;
        allow.push(h.clone());
    }
    let allow_list =
        crate::canon::AllowList::parse(&allow).map_err(|m| err(&top, None, "network.allow", &m))?;
    let net_mode = ov.net.or(net.mode).unwrap_or(NetMode::None);
    match (net_mode, allow.is_empty()) {
        (NetMode::Allowlist, true) => {
            return Err(err(
                if ov.net.is_some() { "--net" } else { &top },
                None,
                "network.allow",
                "network mode allowlist with an empty allow-list would let the server reach nothing; name destinations with --allow-host HOST:PORT (or [network] allow), or use --net none",
            ))
        }
        (NetMode::None | NetMode::Host, false) if !ov.allow_hosts.is_empty() => {
            return Err(err(
                "--allow-host",
                None,
                "allow-host",
                format!(
                    "destinations are only used in network mode allowlist, and the mode is {}; add --net allowlist",
                    net_mode.as_str()
                ),
            ))
        }
        (NetMode::None | NetMode::Host, false) => {
            return Err(err(
                &top,
                None,
                "network.allow",
                format!(
                    "lists destinations, which are only used in network mode allowlist, and the mode is {}; set [network] mode = \"allowlist\" (or --net allowlist)",
                    net_mode.as_str()
                ),
            ))
        }
        _ => {}
    }
    let audit_path = match ov.audit_path.clone().or(audit.path) {
        Some(p) if p == "off" => None,
        Some(p) => Some(PathBuf::from(
            vars.expand(&p)
                .map_err(|m| err(&top, None, "audit.path", &m))?,
        )),
        None => Some(vars.state.join("vanguard/audit.jsonl")),
    };
    let max_line_bytes = ov
        .max_line_bytes
        .or(limits.max_line_bytes)
        .unwrap_or(crate::protocol::framing::DEFAULT_MAX_LINE_BYTES);
    if max_line_bytes < MIN_LINE_BYTES {
        return Err(err(
            "--max-line-bytes",
            None,
            "max-line-bytes",
            format!("must be at least {MIN_LINE_BYTES}"),
        ));
    }
    Ok(Policy {
        trust,
        name: f.name.unwrap_or_else(|| top.clone()),
        description: f.description.unwrap_or_default(),
        sources,
        mode: ov.mode.or(f.mode).unwrap_or(Mode::Enforce),
        server: ServerConfig {
            command: server.command,
            // The workspace, never vanguard's own working directory: relative
            // paths in arguments resolve against it in the inspector and in
            // the server alike, however vanguard was started (a client may
            // start it from `/`, `vanguard sse` from anywhere).
            cwd: server
                .cwd
                .map(PathBuf::from)
                .unwrap_or_else(|| vars.workspace.clone()),
            env: server
                .env
                .unwrap_or_default()
                .into_iter()
                .chain(ov.env.iter().cloned())
                .collect(),
            // A variable passed with --env is the user's value: the profile's
            // default for it (memory's MEMORY_FILE_PATH) gives way.
            env_set: server
                .env_set
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| !ov.env.contains(k))
                .collect(),
            install_scripts: server.install_scripts.unwrap_or(false),
        },
        max_line_bytes,
        max_in_flight: limits.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
        stderr_lines_per_sec: limits.stderr_lines_per_sec.unwrap_or(200),
        close_grace: Duration::from_millis(life.close_grace_ms.unwrap_or(2000)),
        term_grace: Duration::from_millis(life.term_grace_ms.unwrap_or(2000)),
        list_timeout,
        zones: ZonesConfig {
            enabled: zones.enabled.unwrap_or(true),
            read,
            write,
            action: zones.action.unwrap_or(Action::Block),
            protected,
            protected_names,
        },
        network: NetworkConfig {
            mode: net_mode,
            allow_list,
            allow,
            resolve: net.resolve.unwrap_or_default(),
            max_bytes_per_connection: net.max_bytes_per_connection,
            max_bytes_per_session: net.max_bytes_per_session,
            max_connection_secs: net.max_connection_secs,
        },
        sandbox: SandboxConfig {
            level: ov.sandbox.or(sb.level).unwrap_or(SandboxLevel::BestEffort),
            strict_seccomp: sb.strict_seccomp.unwrap_or(false),
            max_open_files: sb.max_open_files,
            max_processes: sb.max_processes,
            max_address_space_mb: sb.max_address_space_mb,
            max_file_size_mb: sb.max_file_size_mb,
            memory_max_mb: sb.memory_max_mb,
            pids_max: sb.pids_max,
        },
        audit: AuditConfig {
            path: audit_path,
            max_bytes: audit.max_bytes.unwrap_or(64 * 1024 * 1024),
            keep: audit.keep.unwrap_or(5),
        },
        metadata: MetadataConfig {
            action: meta.action.unwrap_or(MetadataAction::Drop),
            max_schema_bytes: meta.max_schema_bytes.unwrap_or(64 * 1024),
            max_schema_depth: meta.max_schema_depth.unwrap_or(32),
            refuse_unlisted_tools: meta.refuse_unlisted_tools.unwrap_or(true),
        },
        pinning: PinningConfig {
            mode: pin.mode.unwrap_or(PinMode::Tofu),
            on_drift: pin.on_drift.unwrap_or(DriftAction::Hide),
            new_tools: pin.new_tools.unwrap_or(NewTools::Trust),
            file: ov
                .pins
                .clone()
                .or_else(|| pin.file.map(PathBuf::from))
                .or_else(|| Some(vars.state.join("vanguard/pins.json"))),
        },
        results: ResultsConfig {
            secrets: res.secrets.unwrap_or(ResultAction::Redact),
            injection: res.injection.unwrap_or(ResultAction::Warn),
            escapes: res.escapes.unwrap_or(ResultAction::Redact),
            instruction_files,
            prompt_files,
        },
        tool_access: f.tool_access.unwrap_or_default(),
        rules,
        rule_actions,
        behavior,
        state_url,
        semantic,
    })
}

fn behavior_config(
    top: &str,
    b: BehaviorSection,
) -> Result<super::behavior::BehaviorConfig, PolicyError> {
    use super::behavior::{BehaviorConfig, Capability, Caps, Limit};
    let d = BehaviorConfig::default();
    let lim =
        |x: Option<LimitDef>, dflt: Limit| x.map(|l| Limit::new(l.warn, l.block)).unwrap_or(dflt);
    let secs = |field: &str, v: Option<u64>, dflt: Duration| -> Result<Duration, PolicyError> {
        match v {
            Some(0) => Err(err(top, None, field, "must be at least 1 second")),
            Some(n) => Ok(Duration::from_secs(n)),
            None => Ok(dflt),
        }
    };
    let mut capabilities = Vec::new();
    for (tool, names) in b.capabilities.unwrap_or_default() {
        let mut caps = Caps::default();
        for n in &names {
            let c = Capability::parse(n).ok_or_else(|| {
                err(
                    top,
                    None,
                    &format!("behavior.capabilities.{tool}"),
                    format!("unknown capability {n:?}: use read, list, write, exec or network"),
                )
            })?;
            caps.add(c);
        }
        capabilities.push((tool, caps));
    }
    // Longer (more specific) globs first.
    capabilities.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
    let risk = super::behavior::RiskConfig {
        half_life: secs(
            "behavior.risk_half_life_secs",
            b.risk_half_life_secs,
            d.risk.half_life,
        )?,
        log: b.risk_log.unwrap_or(d.risk.log),
        require_l2: b.risk_require_l2.unwrap_or(d.risk.require_l2),
        block: b.risk_block.unwrap_or(d.risk.block),
    };
    if !(risk.log <= risk.require_l2 && risk.require_l2 <= risk.block) || risk.log < 0.0 {
        return Err(err(
            top,
            None,
            "behavior.risk_*",
            "risk thresholds must satisfy 0 <= risk_log <= risk_require_l2 <= risk_block",
        ));
    }
    Ok(BehaviorConfig {
        enabled: b.enabled.unwrap_or(d.enabled),
        window: secs("behavior.window_secs", b.window_secs, d.window)?,
        per_tool: lim(b.per_tool, d.per_tool),
        read: lim(b.read, d.read),
        list: lim(b.list, d.list),
        write: lim(b.write, d.write),
        exec: lim(b.exec, d.exec),
        network: lim(b.network, d.network),
        repeat: lim(b.repeat, d.repeat),
        enumeration: lim(b.enumeration, d.enumeration),
        response_bytes: lim(b.response_bytes, d.response_bytes),
        taint_ttl: secs("behavior.taint_secs", b.taint_secs, d.taint_ttl)?,
        sequence: b.sequence.unwrap_or(d.sequence),
        cut_egress: b.cut_egress.unwrap_or(d.cut_egress),
        risk,
        capabilities,
        on_store_error: b.on_state_error.unwrap_or(d.on_store_error),
    })
}

fn semantic_config(
    top: &str,
    s: SemanticSection,
    force: bool,
) -> Result<crate::policy::SemanticPolicy, PolicyError> {
    let d = super::semantic::Settings::default();
    let settings = super::semantic::Settings {
        warn: s.warn.unwrap_or(d.warn),
        block: s.block.unwrap_or(d.block),
        fail_closed: s
            .fail
            .map(|f| f == super::behavior::FailMode::Closed)
            .unwrap_or(d.fail_closed),
        timeout: match s.timeout_secs {
            Some(t) if !(t.is_finite() && t > 0.0) => {
                return Err(err(
                    top,
                    None,
                    "semantic.timeout_secs",
                    "must be a positive number of seconds",
                ))
            }
            Some(t) => Duration::from_secs_f64(t.min(1e9)),
            None => d.timeout,
        },
        retries: s.retries.unwrap_or(d.retries),
        concurrency: s.concurrency.unwrap_or(d.concurrency),
        cache_entries: s.cache_entries.unwrap_or(d.cache_entries),
    };
    // One validator for these settings, whether they come from a profile
    // or from the environment (`Settings::apply_env`).
    settings
        .validate()
        .map_err(|m| err(top, None, "semantic", &m))?;
    Ok(crate::policy::SemanticPolicy {
        enabled: force || s.enabled.unwrap_or(false),
        metadata: s.metadata.unwrap_or(false),
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(crate::glob::matches("CMD-*", "CMD-001"));
        assert!(crate::glob::matches("*", "x"));
        assert!(crate::glob::matches("read_?ile", "read_file"));
        assert!(!crate::glob::matches("CMD-*", "FS-001"));
    }

    #[test]
    fn env_passed_on_the_command_line_beats_the_profile_default() {
        let p = load("memory", &Overrides::default()).expect("memory");
        assert!(p.server.env_set.contains_key("MEMORY_FILE_PATH"));
        let ov = Overrides {
            env: vec!["MEMORY_FILE_PATH".into()],
            ..Default::default()
        };
        let p = load("memory", &ov).expect("memory");
        assert!(!p.server.env_set.contains_key("MEMORY_FILE_PATH"));
        assert!(p.server.env.iter().any(|e| e == "MEMORY_FILE_PATH"));
    }

    fn write_profile(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write profile");
        p
    }

    #[test]
    fn skipping_pattern_checks_still_refuses_a_broken_profile() {
        let d = tempfile::tempdir().expect("tempdir");
        let skip = Overrides {
            rules: RuleCheck::SkipPatterns,
            ..Default::default()
        };
        let bad_pattern = write_profile(
            d.path(),
            "bad-pattern.toml",
            "name = \"x\"\n[[rules]]\nid = \"X-1\"\nfamily = \"x\"\ndescription = \"x\"\n\
             severity = \"high\"\naction = \"block\"\ntarget = \"text\"\npatterns = [\"(unclosed\"]\n",
        );
        let spec = bad_pattern.display().to_string();
        let e = load(&spec, &Overrides::default()).expect_err("full check");
        assert!(e.to_string().contains("invalid regular expression"), "{e}");
        assert_eq!(e.line, Some(9), "{e}");
        let p = load(&spec, &skip).expect("patterns are not parsed");
        assert_eq!(p.rules.len(), 1);

        // Everything but the patterns' syntax is still checked.
        for (name, text, needle) in [
            ("syntax.toml", "name = \"x\"\n[zones\n", "bad-syntax"),
            ("schema.toml", "name = \"x\"\n[zones]\nreed = []\n", "reed"),
            (
                "no-patterns.toml",
                "name = \"x\"\n[[rules]]\nid = \"X-1\"\nfamily = \"x\"\ndescription = \"x\"\n\
                 severity = \"high\"\naction = \"block\"\ntarget = \"text\"\npatterns = []\n",
                "at least one pattern",
            ),
        ] {
            let path = write_profile(d.path(), name, text);
            let e = load(&path.display().to_string(), &skip).expect_err(name);
            let shown = e.to_string();
            assert!(
                shown.contains(name) && (needle == "bad-syntax" || shown.contains(needle)),
                "{name}: {shown}"
            );
        }
    }

    #[test]
    fn behavior_and_semantic_sections_are_checked() {
        let d = tempfile::tempdir().expect("tempdir");
        let cases = [
            (
                "[behavior]\ncapabilities = { t = [\"fly\"] }\n",
                "behavior.capabilities.t",
                "fly",
            ),
            (
                "[behavior]\nrisk_log = 90\nrisk_block = 50\n",
                "behavior.risk_*",
                "risk_log",
            ),
            (
                "[behavior]\nwindow_secs = 0\n",
                "behavior.window_secs",
                "at least 1",
            ),
            (
                "[behavior]\nsequence = \"sometimes\"\n",
                "sequence",
                "sometimes",
            ),
            (
                "[behavior]\nrepeat = { warn = 1, blok = 2 }\n",
                "repeat",
                "blok",
            ),
            (
                "[semantic]\nwarn = 0.9\nblock = 0.5\n",
                "semantic",
                "above the block threshold",
            ),
            (
                "[semantic]\ntimeout_secs = 0\n",
                "semantic.timeout_secs",
                "positive",
            ),
            (
                "[semantic]\ntimeout_secs = 7200\n",
                "semantic",
                "at most 3600",
            ),
            (
                "[semantic]\nconcurrency = 0\n",
                "semantic",
                "concurrency must be 1..",
            ),
            ("[semantic]\nfail = \"maybe\"\n", "fail", "maybe"),
        ];
        for (i, (text, field, word)) in cases.iter().enumerate() {
            let p = write_profile(d.path(), &format!("b{i}.toml"), text);
            let e = load(p.to_str().expect("utf8"), &Overrides::default()).unwrap_err();
            let shown = e.to_string();
            assert!(
                e.field.contains(field) || shown.contains(field),
                "{text}: field {field} not named: {shown}"
            );
            assert!(shown.contains(word), "{text}: {shown}");
        }
        let p = write_profile(
            d.path(),
            "ok.toml",
            "extends = \"balanced\"\n[behavior]\nsequence = \"any\"\nread = { warn = 5, block = 10 }\n\
             [behavior.capabilities]\n\"my_*\" = [\"write\", \"network\"]\n",
        );
        let pol = load(p.to_str().expect("utf8"), &Overrides::default()).expect("valid");
        assert_eq!(pol.behavior.read, super::behavior::Limit::new(5, 10));
        assert_eq!(
            pol.behavior.repeat,
            super::behavior::Limit::new(20, 50),
            "inherited"
        );
        let caps = pol.behavior.override_for("my_tool").expect("override");
        assert_eq!(caps.names(), ["write", "network"]);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = write_profile(
            d.path(),
            "bad.toml",
            "extends = \"balanced\"\n[zones]\nreed = [\"/x\"]\n",
        );
        let e = load(p.to_str().expect("utf8"), &Overrides::default()).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.to_string().contains("bad.toml:3"), "{e}");
        assert!(e.to_string().contains("reed"), "{e}");

        let p = write_profile(
            d.path(),
            "badre.toml",
            "[[rules]]\nid = \"X-1\"\nfamily = \"t\"\ndescription = \"d\"\nseverity = \"high\"\naction = \"block\"\ntarget = \"text\"\npatterns = [\"ok\", \"(unclosed\"]\n",
        );
        let e = load(p.to_str().expect("utf8"), &Overrides::default()).unwrap_err();
        assert_eq!(e.line, Some(8), "{e}");
        assert!(
            e.field.contains("X-1") && e.field.contains("patterns[1]"),
            "{e}"
        );

        let p = write_profile(d.path(), "badvar.toml", "[zones]\nread = [\"${nope}/x\"]\n");
        let e = load(p.to_str().expect("utf8"), &Overrides::default()).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (Some(2), "zones.read"), "{e}");

        for bad in ["0", "2000000"] {
            let p = write_profile(
                d.path(),
                "inflight.toml",
                &format!("extends = \"balanced\"\n[limits]\nmax_in_flight = {bad}\n"),
            );
            let e = load(p.to_str().expect("utf8"), &Overrides::default()).unwrap_err();
            assert_eq!(
                (e.line, e.field.as_str()),
                (Some(3), "limits.max_in_flight"),
                "{e}"
            );
            assert!(e.to_string().contains("between 1 and"), "{e}");
        }
        let p = write_profile(
            d.path(),
            "inflight.toml",
            "extends = \"balanced\"\n[limits]\nmax_in_flight = 8\n",
        );
        let ok = load(p.to_str().expect("utf8"), &Overrides::default()).expect("8 is fine");
        assert_eq!(ok.max_in_flight, 8);
        let default = load("balanced", &Overrides::default()).expect("balanced");
        assert_eq!(default.max_in_flight, DEFAULT_MAX_IN_FLIGHT);

        let p = write_profile(
            d.path(),
            "type.toml",
            "[limits]\nmax_line_bytes = \"big\"\n",
        );
        let e = load(p.to_str().expect("utf8"), &Overrides::default()).unwrap_err();
        assert_eq!(
            (e.line, e.field.as_str()),
            (Some(2), "max_line_bytes"),
            "{e}"
        );
    }

    #[test]
    fn layering_overrides_and_cli_zones() {
        let d = tempfile::tempdir().expect("tempdir");
        let ws = d.path().join("ws");
        std::fs::create_dir(&ws).expect("mkdir");
        let p = write_profile(
            d.path(),
            "child.toml",
            "extends = \"strict\"\n[zones]\nwrite = []\n[rule_actions]\n\"*\" = \"log\"\n",
        );
        let ov = Overrides {
            workspace: Some(ws.clone()),
            read: vec![d.path().to_path_buf()],
            ..Default::default()
        };
        let pol = load(p.to_str().expect("utf8"), &ov).expect("load");
        assert_eq!(pol.sources.len(), 3, "{:?}", pol.sources);
        assert!(pol.zones.write.is_empty());
        assert!(pol
            .zones
            .read
            .iter()
            .any(|z| z == &d.path().canonicalize().expect("canon")));
        assert!(!pol.rules.is_empty());
        assert!(pol.rules.iter().all(|r| r.action == Action::Log));
    }

    #[test]
    fn protected_paths_under_each_write_zone() {
        let d = tempfile::tempdir().expect("tempdir");
        let ws = d.path().canonicalize().expect("canon").join("ws");
        std::fs::create_dir(&ws).expect("mkdir");
        let p = write_profile(
            d.path(),
            "prot.toml",
            "extends = \"balanced\"\n[zones]\nwrite = [\"${workspace}\"]\nprotected = [\"Makefile\"]\nunprotect = [\".idea\"]\n",
        );
        let ov = Overrides {
            workspace: Some(ws.clone()),
            unprotect: vec![".vscode/".into()],
            ..Default::default()
        };
        let pol = load(p.to_str().expect("utf8"), &ov).expect("load");
        let z = &pol.zones;
        assert!(
            z.protected.contains(&ws.join(".git/config")),
            "{:?}",
            z.protected
        );
        assert!(z.protected.contains(&ws.join(".git/hooks")));
        assert!(z.protected.contains(&ws.join("Makefile")));
        assert!(!z.protected.contains(&ws.join(".idea")));
        assert!(!z.protected.contains(&ws.join(".vscode")));
        assert!(z.protected_names.iter().any(|n| n == "Makefile"));

        // Unprotecting a name that is not protected is an error naming it.
        let ov = Overrides {
            workspace: Some(ws.clone()),
            unprotect: vec![".git".into()],
            ..Default::default()
        };
        let e = load(p.to_str().expect("utf8"), &ov).expect_err("unknown name");
        assert!(
            e.to_string().contains("\".git\" is not a protected path"),
            "{e}"
        );
        let bad = write_profile(d.path(), "bad.toml", "[zones]\nprotected = [\"../x\"]\n");
        let e = load(bad.to_str().expect("utf8"), &Overrides::default()).expect_err("..");
        assert!(e.to_string().contains("without \"..\""), "{e}");
    }

    #[test]
    fn every_builtin_profile_loads() {
        for name in builtin_names() {
            let p = load(name, &Overrides::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!p.rules.is_empty(), "{name} has no rules");
        }
    }

    #[test]
    fn unknown_profile_is_a_clear_error() {
        let e = load("no-such-profile", &Overrides::default()).unwrap_err();
        assert!(e.message.contains("unknown profile"), "{e}");
    }
}
