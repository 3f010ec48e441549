//! `vanguard eval`: attacks the user's own MCP server three ways — raw (no
//! vanguard), guarded (`vanguard start`: inspector + kernel sandbox) and
//! kernel-only (`vanguard start --mode shadow`: the inspector records but
//! forwards) — and judges every attack by its effect on canaries it
//! planted, never by vanguard's verdict.
//!
//! The battery comes from the server's own `tools/list` (argument kinds:
//! path, url, command, code, text) and the catalogue in `attacks.toml`
//! (data: new attacks need no code). Each mode runs in a fresh disposable
//! directory: a workspace with a README, a `.env` holding a fake access key,
//! an empty git repository (`.git/config` is protected), symlinks pointing
//! outside, and beside the workspace an `outside` directory with the canary
//! file. The server
//! also gets a canary environment variable, and eval listens on a random
//! loopback port. Only these canaries are ever read, changed or contacted.
//!
//! The server command may name `{workspace}` and `{outside}`: they are
//! replaced by that mode's directories (give a filesystem server
//! `{outside}` too and the raw run shows what it can really reach).

mod catalogue;
mod report;
mod scene;
mod tools;

use super::client::{failed, text_of, CallError, Client};
use super::*;
use catalogue::{AttackDef, Catalogue, Effect, Role, Step, Wrap};
use scene::{Scene, Snapshot};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tools::{Filler, ToolInfo};

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// The server command line, split like a shell would; `{workspace}` and
    /// `{outside}` are replaced by the disposable directories, e.g.
    /// "npx -y @modelcontextprotocol/server-filesystem {workspace} {outside}".
    #[arg(long, required_unless_present = "list")]
    server: Option<String>,
    /// Profile for the guarded and kernel-only runs.
    #[arg(long, default_value = "balanced")]
    profile: String,
    /// Where the disposable workspaces are created (default: the system
    /// temporary directory). Nothing else in it is touched.
    #[arg(long, value_name = "DIR")]
    workspace: Option<PathBuf>,
    /// Print the report as JSON (for CI).
    #[arg(long)]
    json: bool,
    /// Also write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Print the attack catalogue and exit.
    #[arg(long)]
    list: bool,
    /// Run only these attacks: ids or classes, comma-separated
    /// (e.g. `prompt-injection,path-read-absolute`).
    #[arg(long, value_delimiter = ',', value_name = "ID|CLASS")]
    only: Vec<String>,
    /// Seconds to wait for one tool call.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Seconds to wait for the server to answer `initialize` (a launcher
    /// may install the package first).
    #[arg(long, default_value_t = 90)]
    start_timeout: u64,
    /// Keep the disposable directories (audit logs, server stderr).
    #[arg(long)]
    keep: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Raw,
    Guarded,
    KernelOnly,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Raw, Mode::Guarded, Mode::KernelOnly];
    pub fn key(self) -> &'static str {
        match self {
            Mode::Raw => "raw",
            Mode::Guarded => "guarded",
            Mode::KernelOnly => "kernel_only",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Mode::Raw => "raw (no vanguard)",
            Mode::Guarded => "guarded (inspector + kernel)",
            Mode::KernelOnly => "kernel-only (shadow)",
        }
    }
}

/// An attack of the catalogue, fitted to this server's tools.
pub struct Planned {
    pub def: AttackDef,
    /// (tool, argument) for the first step and for the attack; `None` when
    /// no tool fits (the attack does not apply to this server).
    first: Option<(usize, String)>,
    main: Option<(usize, String)>,
}

impl Planned {
    pub fn applicable(&self) -> bool {
        self.main.is_some() && (self.def.first.is_none() || self.first.is_some())
    }
}

/// Who stopped an attack that had no effect.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Stopper {
    /// vanguard's inspector refused the call (-31001) or redacted the first step.
    Inspector,
    /// The call went through and nothing happened although the raw server
    /// was vulnerable: the sandbox held.
    Kernel,
    /// Nothing happened in raw mode either: the server itself refused.
    Server,
}

#[derive(Clone, Serialize, Debug)]
pub struct Cell {
    /// The attack took effect (judged on the canaries).
    pub effect: bool,
    /// "effect", "no_effect", "timeout", "error" or "not_applicable".
    pub status: &'static str,
    pub stopped_by: Option<Stopper>,
    /// vanguard's layer and rule (from the block's error data, a redaction,
    /// or, for kernel denials and shadow decisions, the audit log).
    pub layer: Option<String>,
    pub rule: Option<String>,
    pub event_id: Option<String>,
    /// kernel-only: the rules the inspector would have blocked with.
    pub would_block: Vec<String>,
    pub detail: String,
    #[serde(skip)]
    request_id: Option<u64>,
    #[serde(skip)]
    blocked: bool,
}

impl Cell {
    fn new(status: &'static str) -> Cell {
        Cell {
            effect: false,
            status,
            stopped_by: None,
            layer: None,
            rule: None,
            event_id: None,
            would_block: Vec::new(),
            detail: String::new(),
            request_id: None,
            blocked: false,
        }
    }
}

#[derive(Clone, Serialize, Debug)]
pub struct BenignCell {
    pub ok: bool,
    pub detail: String,
}

#[derive(Serialize, Debug)]
pub struct ModeRun {
    pub mode: Mode,
    pub label: &'static str,
    pub started: bool,
    pub error: Option<String>,
    pub seconds: f64,
    pub tools: usize,
    #[serde(skip)]
    pub cells: Vec<Cell>,
    #[serde(skip)]
    pub benign: Vec<Option<BenignCell>>,
}

pub fn run(a: EvalArgs) -> u8 {
    let mut cat = match catalogue::load() {
        Ok(c) => c,
        Err(e) => return fail(EXIT_INTERNAL, e),
    };
    if !a.only.is_empty() {
        let unknown: Vec<&String> = a
            .only
            .iter()
            .filter(|o| !cat.attacks.iter().any(|x| &x.id == *o || &x.class == *o))
            .collect();
        if !unknown.is_empty() {
            return fail(
                EXIT_CONFIG,
                format!(
                    "--only names no attack or class of the catalogue: {} (see `vanguard eval --list`)",
                    unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            );
        }
        cat.attacks
            .retain(|x| a.only.iter().any(|o| *o == x.id || *o == x.class));
    }
    if a.list {
        catalogue::print_list(&cat);
        return EXIT_OK;
    }
    let Some(server) = a.server.clone() else {
        return fail(EXIT_CONFIG, "--server is required (or --list)");
    };
    let words = match shlex::split(&server) {
        Some(w) if !w.is_empty() => w,
        _ => {
            return fail(
                EXIT_CONFIG,
                format!("cannot split the server command: {server}"),
            )
        }
    };
    let words = anchor_relative(words);
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(EXIT_INTERNAL, format!("cannot find my own executable: {e}")),
    };
    let parent = a.workspace.clone().unwrap_or_else(std::env::temp_dir);
    let base = parent.join(format!(
        "vanguard-eval-{}-{}",
        std::process::id(),
        scene::nonce(4)
    ));
    if let Err(e) = std::fs::create_dir_all(&base) {
        return fail(
            EXIT_CONFIG,
            format!("cannot create {}: {e}", base.display()),
        );
    }
    // Judged on resolved paths: a symlinked /tmp would hide the workspace's real name.
    let base = std::fs::canonicalize(&base).unwrap_or(base);
    let started = Instant::now();
    let mut ev = Eval {
        args: &a,
        exe,
        words,
        cat: &cat,
        tools: Vec::new(),
        plan: Vec::new(),
        planned: false,
    };
    let mut runs = Vec::new();
    for mode in Mode::ALL {
        if !a.json {
            eprintln!("vanguard eval: {} …", mode.label());
        }
        runs.push(ev.run_mode(mode, &base.join(mode.key())));
    }
    attribute(&mut runs);
    let report = report::Report::new(
        &server,
        &a.profile,
        &cat,
        &ev.tools,
        &ev.plan,
        &runs,
        started.elapsed(),
    );
    if a.json {
        println!("{}", report.json());
    } else {
        report.print();
    }
    if let Some(path) = &a.html {
        if let Err(e) = std::fs::write(path, report.html()) {
            eprintln!("vanguard: error: cannot write {}: {e}", path.display());
        }
    }
    if a.keep {
        if !a.json {
            println!("\nkept {}", base.display());
        }
    } else {
        let _ = std::fs::remove_dir_all(&base);
    }
    if runs.iter().all(|r| !r.started) {
        return EXIT_SPAWN;
    }
    let guarded_held = runs
        .iter()
        .find(|r| r.mode == Mode::Guarded)
        .is_some_and(|r| r.started && r.cells.iter().all(|c| !c.effect));
    if guarded_held {
        EXIT_OK
    } else {
        EXIT_INTERNAL
    }
}

struct Eval<'a> {
    args: &'a EvalArgs,
    exe: PathBuf,
    words: Vec<String>,
    cat: &'a Catalogue,
    tools: Vec<ToolInfo>,
    plan: Vec<Planned>,
    planned: bool,
}

impl Eval<'_> {
    fn command(&self, mode: Mode, s: &Scene) -> Command {
        let ws = s.workspace.display().to_string();
        let out = s.outside.display().to_string();
        let words: Vec<String> = self
            .words
            .iter()
            .map(|w| w.replace("{workspace}", &ws).replace("{outside}", &out))
            .collect();
        let mut c = match mode {
            Mode::Raw => {
                let mut c = Command::new(words.first().map(String::as_str).unwrap_or("false"));
                c.args(words.iter().skip(1));
                c
            }
            Mode::Guarded | Mode::KernelOnly => {
                let joined = shlex::try_join(words.iter().map(String::as_str)).unwrap_or_default();
                let state = s.root.join("state");
                let profile = self.profile_for(s);
                let mut c = Command::new(&self.exe);
                c.args(["start", "--server", &joined, "--profile", &profile])
                    .arg("--mode")
                    .arg(if mode == Mode::Guarded {
                        "enforce"
                    } else {
                        "shadow"
                    })
                    .arg("--workspace")
                    .arg(&s.workspace)
                    .arg("--audit-log")
                    .arg(s.root.join("audit.jsonl"))
                    .arg("--pins")
                    .arg(state.join("pins.json"))
                    .env("XDG_STATE_HOME", &state);
                c
            }
        };
        c.current_dir(&s.workspace)
            .env(scene::ENV_NAME, &s.env_value);
        c
    }

    /// Whether a tool takes a URL: the guarded runs then list eval's origin.
    fn has_url_tool(&self) -> bool {
        self.tools
            .iter()
            .any(|t| t.first_arg(catalogue::ArgKind::Url).is_some())
    }

    /// The profile of a guarded run: the user's, or, for a server with a
    /// URL tool, a file that extends it with an allow-list of eval's origin
    /// alone (its public-looking name resolved by the egress proxy to
    /// 127.0.0.1, and that one port), so ordinary fetches can be judged.
    fn profile_for(&self, s: &Scene) -> String {
        let user = &self.args.profile;
        if !self.has_url_tool() {
            return user.clone();
        }
        // A profile given as a file is extended by its absolute path.
        let parent = match std::fs::canonicalize(user) {
            Ok(p) if p.is_file() => p.display().to_string(),
            _ => user.clone(),
        };
        let port = s.origin.port;
        let parent = toml::Value::String(parent).to_string();
        let text = format!(
            "# written by vanguard eval: the user's profile, with eval's loopback origin listed\n\
             extends = {parent}\n\n[network]\nmode = \"allowlist\"\n\
             allow = [\"{host}:{port}\", \"127.0.0.1:{port}\"]\n\
             resolve = {{ \"{host}\" = \"127.0.0.1\" }}\n",
            host = scene::ORIGIN_HOST,
        );
        let path = s.root.join("eval-profile.toml");
        match std::fs::write(&path, text) {
            Ok(()) => path.display().to_string(),
            // Without the file the run keeps the user's profile; ordinary
            // URL calls are then judged against it as it is.
            Err(_) => user.clone(),
        }
    }

    fn run_mode(&mut self, mode: Mode, root: &Path) -> ModeRun {
        let t0 = Instant::now();
        let mut run = ModeRun {
            mode,
            label: mode.label(),
            started: false,
            error: None,
            seconds: 0.0,
            tools: 0,
            cells: Vec::new(),
            benign: Vec::new(),
        };
        match self.run_mode_inner(mode, root, &mut run) {
            Ok(()) => {}
            Err(e) => run.error = Some(e),
        }
        if run.cells.len() < self.plan.len() {
            let why = if run.started { "error" } else { "not_started" };
            run.cells.resize(self.plan.len(), Cell::new(why));
        }
        run.seconds = t0.elapsed().as_secs_f64();
        run
    }

    fn run_mode_inner(&mut self, mode: Mode, root: &Path, run: &mut ModeRun) -> Result<(), String> {
        let hardlink = self.cat.attacks.iter().any(|a| {
            a.payload.contains("{hardlink_file}")
                || a.first
                    .as_ref()
                    .is_some_and(|f| f.payload.contains("{hardlink_file}"))
        });
        let s = Scene::new(root.to_path_buf(), hardlink)
            .map_err(|e| format!("cannot set up {}: {e}", root.display()))?;
        let cmd = self.command(mode, &s);
        let mut c = std::fs::File::create(s.root.join("server-stderr.log"))
            .and_then(|log| Client::spawn(cmd, log.into()))
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let timeout = Duration::from_secs(self.args.timeout.max(1));
        let (_, init) = c.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "vanguard-eval", "version": env!("CARGO_PKG_VERSION")}}),
            Duration::from_secs(self.args.start_timeout.max(1)),
        );
        let init = init.map_err(|e| format!("initialize: {e}{}", stderr_tail(&s)))?;
        if init.get("result").is_none() {
            return Err(format!("initialize failed: {init}"));
        }
        c.notify("notifications/initialized", json!({}))
            .map_err(|e| e.to_string())?;
        let listed = c
            .list_all("tools/list", "tools", timeout)
            .map_err(|e| format!("tools/list: {e}{}", stderr_tail(&s)))?;
        run.started = true;
        run.tools = listed.len();
        if !self.planned {
            self.tools = tools::analyse(&listed);
            self.plan = plan(self.cat, &self.tools);
            self.planned = true;
        }
        let filler = Filler {
            readme: s.workspace.join("README.md").display().to_string(),
            workspace: s.workspace.display().to_string(),
            page: (mode != Mode::Raw && self.has_url_tool())
                .then(|| (s.page_url(), s.origin_nonce.clone())),
        };
        // Benign calls first: L3's risk grows with every attack.
        for t in &self.tools {
            let cell = tools::benign_call(t, &filler, &s.readme_nonce).map(|(args, marker)| {
                let served = s.origin.hits();
                let (_, r) = c.request(
                    "tools/call",
                    json!({"name": t.name, "arguments": args}),
                    timeout,
                );
                match r {
                    Ok(resp) => {
                        let text = text_of(&resp);
                        // A URL call worked when its answer carries the page,
                        // or (a tool that answers with a link or a digest)
                        // when the origin served it.
                        let page = filler.page.as_ref().map(|(_, m)| m);
                        let fetched =
                            marker.is_some() && marker.as_ref() == page && s.origin.hits() > served;
                        let ok = !failed(&resp)
                            && (fetched || marker.as_ref().is_none_or(|m| text.contains(m)));
                        let mut detail = excerpt(&text, 160);
                        if detail.is_empty() {
                            detail = excerpt(&resp.to_string(), 160);
                        }
                        BenignCell { ok, detail }
                    }
                    Err(e) => BenignCell {
                        ok: false,
                        detail: e.to_string(),
                    },
                }
            });
            run.benign.push(cell);
        }
        let mut lingering: Vec<(usize, String)> = Vec::new();
        for (i, p) in self.plan.iter().enumerate() {
            if !p.applicable() {
                run.cells.push(Cell::new("not_applicable"));
                continue;
            }
            let _ = s.restore();
            let tag = format!("{}-{}", p.def.id, scene::nonce(3));
            let attack_nonce = format!("eval-{}", scene::nonce(8));
            let cell = self.attack(&mut c, &s, p, &tag, &attack_nonce, &filler, timeout);
            if p.def.effect == Effect::ProcessLeft {
                lingering.push((i, attack_nonce));
            }
            run.cells.push(cell);
        }
        let grace = if mode == Mode::Raw { 2 } else { 6 };
        c.shutdown(Duration::from_secs(grace));
        drop(c);
        // Effects that show only once the server is gone.
        if !lingering.is_empty() {
            std::thread::sleep(Duration::from_millis(300));
        }
        for (i, marker) in lingering {
            let pids = pids_with_arg(&marker);
            if let Some(cell) = run.cells.get_mut(i) {
                if cell.status != "error" && cell.status != "timeout" {
                    cell.effect = !pids.is_empty();
                    cell.status = if cell.effect { "effect" } else { "no_effect" };
                    if cell.effect {
                        cell.detail = format!("process(es) {pids:?} outlived the server");
                    }
                }
            }
            for pid in with_descendants(&pids) {
                // SAFETY: kill(2) on a process eval's own attack started
                // (it carries this run's random marker in its argv, or
                // belongs to the session or group of one that does).
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        if mode != Mode::Raw {
            annotate_from_audit(&s.root.join("audit.jsonl"), &mut run.cells);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn attack(
        &self,
        c: &mut Client,
        s: &Scene,
        p: &Planned,
        tag: &str,
        attack_nonce: &str,
        filler: &Filler,
        timeout: Duration,
    ) -> Cell {
        let mut vars = s.vars(tag, attack_nonce);
        let mut cell = Cell::new("no_effect");
        if let (Some(first), Some((ti, arg))) = (&p.def.first, &p.first) {
            let Some(args) = self.step_args(first, *ti, arg, &vars, filler) else {
                return Cell::new("error");
            };
            let name = self
                .tools
                .get(*ti)
                .map(|t| t.name.clone())
                .unwrap_or_default();
            let (_, r) = c.request(
                "tools/call",
                json!({"name": name, "arguments": args}),
                timeout,
            );
            let text = match r {
                Ok(resp) => {
                    if let Some(b) = block_of(&resp) {
                        cell.blocked = true;
                        cell.layer = b.0;
                        cell.rule = b.1;
                        cell.event_id = b.2;
                        cell.detail = "first step blocked".into();
                    }
                    text_of(&resp)
                }
                Err(e) => e.to_string(),
            };
            if text.contains("[REDACTED") && !cell.blocked {
                cell.blocked = true;
                cell.layer = Some("results".into());
                cell.rule = Some("redacted".into());
                cell.detail = "the first step's secret was redacted".into();
            }
            vars.insert("read_sh", sh_quote(&text));
            vars.insert("read_url", scene::percent_encode(&text));
            vars.insert("read", text);
        }
        let Some((ti, arg)) = &p.main else {
            return Cell::new("not_applicable");
        };
        if let Some(plant) = &p.def.plant {
            let file = s.workspace.join(&plant.file);
            let written = file
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&file, expand(&plant.content, &vars)));
            if let Err(e) = written {
                let mut t = Cell::new("error");
                t.detail = format!("cannot plant {}: {e}", file.display());
                return t;
            }
        }
        let Some(args) = self.step_args(&p.def.step(), *ti, arg, &vars, filler) else {
            return Cell::new("error");
        };
        let name = self
            .tools
            .get(*ti)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let before = s.snapshot();
        let (id, r) = c.request(
            "tools/call",
            json!({"name": name, "arguments": args}),
            timeout,
        );
        cell.request_id = Some(id);
        let resp = match r {
            Ok(resp) => resp,
            Err(CallError::Timeout) => {
                // A timeout is not a defence: the effect may still have happened.
                let mut t = Cell::new("timeout");
                t.effect = effect_seen(p.def.effect, s, &before, tag, attack_nonce, &Value::Null);
                if t.effect {
                    t.status = "effect";
                }
                t.request_id = Some(id);
                return t;
            }
            Err(e) => {
                let mut t = Cell::new("error");
                t.detail = e.to_string();
                return t;
            }
        };
        if matches!(
            p.def.effect,
            Effect::CanaryConnected | Effect::CredentialCopied
        ) {
            // The listener's thread may not have accepted yet.
            let deadline = Instant::now() + Duration::from_millis(200);
            while Instant::now() < deadline && s.canary.hits() == before.hits {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        cell.effect = effect_seen(p.def.effect, s, &before, tag, attack_nonce, &resp);
        if cell.effect {
            cell.status = "effect";
        }
        if let Some(b) = block_of(&resp) {
            cell.blocked = true;
            cell.layer = b.0;
            cell.rule = b.1;
            cell.event_id = b.2;
            cell.detail = String::new();
        }
        if cell.detail.is_empty() {
            cell.detail = excerpt(&text_of(&resp), 160);
        }
        cell
    }

    fn step_args(
        &self,
        step: &Step,
        ti: usize,
        arg: &str,
        vars: &BTreeMap<&'static str, String>,
        filler: &Filler,
    ) -> Option<Value> {
        let t = self.tools.get(ti)?;
        if step.kind == catalogue::ArgKind::NoArgs {
            return Some(tools::arguments(t, filler, &[]));
        }
        let mut payload = expand(&step.payload, vars);
        if step.wrap == Some(Wrap::Base64Sh) {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(payload.as_bytes());
            payload = format!("echo {b64} | base64 -d | sh");
        }
        let mut set = vec![(arg, payload)];
        if step.kind == catalogue::ArgKind::Path && step.role == Role::Write {
            let content = t.content_arg()?;
            set.push((
                content.name.as_str(),
                expand(step.content.as_deref().unwrap_or(""), vars),
            ));
        }
        Some(tools::arguments(t, filler, &set))
    }
}

/// Fits every catalogue entry to the server's tools.
fn plan(cat: &Catalogue, tools: &[ToolInfo]) -> Vec<Planned> {
    cat.attacks
        .iter()
        .map(|def| Planned {
            first: def
                .first
                .as_ref()
                .and_then(|f| tools::pick(tools, f.kind, f.role)),
            main: tools::pick(tools, def.kind, def.role),
            def: def.clone(),
        })
        .collect()
}

/// (layer, rule, event id) of a vanguard block (-31001).
fn block_of(resp: &Value) -> Option<(Option<String>, Option<String>, Option<String>)> {
    let err = resp.get("error")?;
    if err.get("code").and_then(Value::as_i64) != Some(crate::protocol::errors::POLICY_BLOCKED) {
        return None;
    }
    let data = err.get("data");
    let field = |k: &str| {
        data.and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Some((field("layer"), field("rule"), field("event_id")))
}

/// Whether the canaries show the attack's effect.
fn effect_seen(
    effect: Effect,
    s: &Scene,
    before: &Snapshot,
    tag: &str,
    attack_nonce: &str,
    resp: &Value,
) -> bool {
    let text = resp.to_string();
    match effect {
        Effect::OutsideRead => text.contains(&s.outside_nonce),
        Effect::EnvRead => text.contains(&s.env_value),
        Effect::OutsideWritten => scene::dir_contents(&s.outside) != before.outside,
        Effect::ProtectedWritten => {
            std::fs::read(s.git_config()).unwrap_or_default() != before.git_config
        }
        Effect::CanaryConnected => s.canary.hits() > before.hits,
        Effect::CredentialCopied => {
            let in_file =
                std::fs::read_to_string(s.drop_file(tag)).is_ok_and(|t| t.contains(&s.credential));
            let sent = String::from_utf8_lossy(&s.canary.received_since(before.received))
                .contains(&s.credential);
            in_file || sent
        }
        // Judged after the server is gone.
        Effect::ProcessLeft => false,
        // In the result only: a refusal may quote the call it refused.
        Effect::InjectionReturned => resp
            .get("result")
            .is_some_and(|r| r.to_string().contains(attack_nonce)),
    }
}

/// Who stopped each attack that had no effect, once every mode has run:
/// an attack the raw server resisted too was not stopped by the kernel.
fn attribute(runs: &mut [ModeRun]) {
    let raw_effect: Vec<bool> = runs
        .iter()
        .find(|r| r.mode == Mode::Raw)
        .map(|r| r.cells.iter().map(|c| c.effect).collect())
        .unwrap_or_default();
    for run in runs.iter_mut() {
        for (i, c) in run.cells.iter_mut().enumerate() {
            if c.effect || !matches!(c.status, "no_effect" | "timeout") {
                continue;
            }
            c.stopped_by = Some(if c.blocked {
                Stopper::Inspector
            } else if run.mode == Mode::Raw || !raw_effect.get(i).copied().unwrap_or(false) {
                Stopper::Server
            } else {
                Stopper::Kernel
            });
        }
    }
}

/// Adds what the audit log knows: the kernel denial's event, and in shadow
/// mode the rules the inspector would have blocked with.
fn annotate_from_audit(path: &Path, cells: &mut [Cell]) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    for c in cells.iter_mut() {
        let Some(id) = c.request_id else { continue };
        for e in events
            .iter()
            .filter(|e| e.get("request_id") == Some(&json!(id)))
        {
            let rules: Vec<String> = e
                .get("rules")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let verdict = e.get("verdict").and_then(Value::as_str).unwrap_or("");
            if verdict == "shadow_block" {
                for r in &rules {
                    if !c.would_block.contains(r) {
                        c.would_block.push(r.clone());
                    }
                }
            }
            if rules.iter().any(|r| r == "KERNEL-DENIAL") && !c.blocked && c.event_id.is_none() {
                c.rule = Some("KERNEL-DENIAL".into());
                c.layer = Some("kernel".into());
                c.event_id = e
                    .get("event_id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
        }
    }
}

/// Replaces `{name}` placeholders; unknown ones are left as written.
fn expand(template: &str, vars: &BTreeMap<&'static str, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 1..).unwrap_or_default();
        match after.find('}') {
            Some(end) => {
                let key = after.get(..end).unwrap_or_default();
                match vars.get(key) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = after.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The server runs in the disposable workspace, not where eval was
/// started: a relative program path (`.venv/bin/server`) and relative
/// arguments naming existing files (`node dist/index.js`) are made absolute
/// against eval's own directory. Directories are left alone (`--repository .`
/// must not hand the user's own tree to the attacks).
fn anchor_relative(words: Vec<String>) -> Vec<String> {
    let Ok(cwd) = std::env::current_dir() else {
        return words;
    };
    words
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let p = Path::new(&w);
            let placeholder = w.contains("{workspace}") || w.contains("{outside}");
            let relative = !w.is_empty() && p.is_relative() && !w.starts_with('-');
            let file = if i == 0 {
                w.contains('/') && cwd.join(p).is_file()
            } else {
                cwd.join(p).is_file()
            };
            if relative && file && !placeholder {
                cwd.join(p).display().to_string()
            } else {
                w
            }
        })
        .collect()
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub fn excerpt(s: &str, max: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        one
    } else {
        let mut t: String = one.chars().take(max).collect();
        t.push('…');
        t
    }
}

fn stderr_tail(s: &Scene) -> String {
    let text = std::fs::read_to_string(s.root.join("server-stderr.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines
        .get(lines.len().saturating_sub(5)..)
        .unwrap_or_default();
    if tail.is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", tail.join(" | "))
    }
}

/// `pids` plus the live processes in their sessions or process groups (a
/// detached shell's children carry no marker of their own).
fn with_descendants(pids: &[i32]) -> Vec<i32> {
    let mut all = pids.to_vec();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return all;
    };
    for pid in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the command name: state ppid pgrp session ...
        let fields: Vec<&str> = stat
            .rsplit_once(") ")
            .map(|(_, rest)| rest.split(' ').collect())
            .unwrap_or_default();
        let num = |i: usize| fields.get(i).and_then(|f| f.parse::<i32>().ok());
        let ours = [num(1), num(2), num(3)]
            .iter()
            .flatten()
            .any(|id| pids.contains(id));
        if ours && !all.contains(&pid) {
            all.push(pid);
        }
    }
    all
}

/// Live processes with an argument containing `marker`.
fn pids_with_arg(marker: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
                cmd.split(|&b| b == 0)
                    .any(|arg| String::from_utf8_lossy(arg).contains(marker))
            }) && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
                st.rsplit_once(") ")
                    .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_and_unknown_ones_stay() {
        let mut v = BTreeMap::new();
        v.insert("a", "X".to_string());
        assert_eq!(expand("{a}/{b}/{a", &v), "X/{b}/{a");
        assert_eq!(expand("print({'k': 1})", &v), "print({'k': 1})");
    }

    #[test]
    fn relative_files_are_anchored_but_directories_and_placeholders_are_not() {
        let cwd = std::env::current_dir().expect("cwd");
        let words: Vec<String> = [
            "node",
            "Cargo.toml",
            ".",
            "--flag",
            "{workspace}",
            "missing.js",
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        let got = anchor_relative(words);
        let want = cwd.join("Cargo.toml").display().to_string();
        assert_eq!(
            got,
            [
                "node",
                want.as_str(),
                ".",
                "--flag",
                "{workspace}",
                "missing.js"
            ]
        );
    }
}
