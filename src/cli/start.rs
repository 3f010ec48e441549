//! `vanguard start`: the stdio gateway.

use super::*;
use crate::audit::AuditSink;
use crate::gateway::{self, Outcome, SessionConfig};
use crate::inspect::Inspector;
use crate::launch;
use crate::policy::{self, Mode, NetMode, Overrides, Policy, SandboxLevel};
use crate::transport::child::ServerProcess;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug, Clone)]
pub struct CommonPolicyArgs {
    /// Profile: a built-in name (balanced, strict, monitor, filesystem, …) or a path to a TOML file.
    #[arg(long, default_value = "balanced", env = "VANGUARD_PROFILE")]
    pub profile: String,
    /// Add a read zone (repeatable).
    #[arg(long = "read", value_name = "PATH")]
    pub read: Vec<PathBuf>,
    /// Add a write zone (repeatable; write zones are readable too).
    #[arg(long = "write", value_name = "PATH")]
    pub write: Vec<PathBuf>,
    /// The workspace directory (`${workspace}` in profiles). Default: the current directory.
    #[arg(long, env = "VANGUARD_WORKSPACE")]
    pub workspace: Option<PathBuf>,
    /// Kernel sandbox level for the server (default: the profile's).
    #[arg(long, value_enum, env = "VANGUARD_SANDBOX")]
    pub sandbox: Option<SandboxLevel>,
    /// Network mode for the server (default: the profile's).
    #[arg(long, value_enum, env = "VANGUARD_NET")]
    pub net: Option<NetMode>,
    /// Add a destination to the network allow-list, HOST:PORT or *.DOMAIN:PORT
    /// (repeatable; used with --net allowlist; VANGUARD_ALLOW_HOSTS: comma-separated).
    #[arg(
        long = "allow-host",
        value_name = "HOST:PORT",
        env = "VANGUARD_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    pub allow_hosts: Vec<String>,
    /// Where packages that launchers (npx, uvx, …) resolve are installed
    /// (default: $XDG_CACHE_HOME/vanguard).
    #[arg(long, env = "VANGUARD_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Pin file for tool definitions and resolved packages (default: the
    /// profile's, $XDG_STATE_HOME/vanguard/pins.json).
    #[arg(long)]
    pub pins: Option<PathBuf>,
    /// Let the server write NAME inside the write zones although it is
    /// protected (e.g. `.git/config`, `.vscode`; see `vanguard policy explain`).
    #[arg(long = "unprotect", value_name = "NAME")]
    pub unprotect: Vec<String>,
    /// Pass the environment variable NAME through to the server (repeatable;
    /// added to the profile's `[server] env`, the rest is scrubbed).
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,
}

impl CommonPolicyArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            workspace: self.workspace.clone(),
            read: self.read.clone(),
            write: self.write.clone(),
            unprotect: self.unprotect.clone(),
            sandbox: self.sandbox,
            net: self.net,
            allow_hosts: self.allow_hosts.clone(),
            pins: self.pins.clone(),
            env: self.env.clone(),
            ..Default::default()
        }
    }
}

/// What every gateway command (`start`, `sse`) takes: the server, the
/// policy, and the session settings.
#[derive(clap::Args, Debug)]
pub struct GatewayArgs {
    /// The server command line, e.g. "npx -y @modelcontextprotocol/server-everything",
    /// split like a shell would. Default: the profile's `[server] command`.
    #[arg(long, conflicts_with = "command", env = "VANGUARD_SERVER")]
    pub server: Option<String>,
    /// The server command as separate words after `--` (as an MCP client
    /// configuration holds it: no shell splitting), e.g.
    /// `vanguard start -- npx -y @modelcontextprotocol/server-filesystem /data`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
    #[command(flatten)]
    pub policy: CommonPolicyArgs,
    /// enforce: apply verdicts; shadow: decide and log, but forward everything.
    #[arg(long, value_enum, env = "VANGUARD_MODE")]
    pub mode: Option<Mode>,
    /// JSONL audit log path, or "off". Default: $XDG_STATE_HOME/vanguard/audit.jsonl.
    #[arg(long, env = "VANGUARD_AUDIT_LOG")]
    pub audit_log: Option<String>,
    /// Maximum length of one JSON-RPC line in bytes (default 4 MiB).
    #[arg(long)]
    pub max_line_bytes: Option<usize>,
    /// Score every tool call with L2 (the backend comes from VANGUARD_SEMANTIC_CUSTOM_URL,
    /// VANGUARD_OPENAI_API_KEY or VANGUARD_OLLAMA_URL; see the README).
    #[arg(long)]
    pub semantic: bool,
    /// Where L3 keeps session state: "memory" (default) or redis://HOST:PORT/DB, shared by
    /// every gateway instance pointed at it.
    #[arg(long, env = "VANGUARD_STATE_URL")]
    pub state: Option<String>,
    /// Whose behaviour L3 tracks: sessions and instances with the same key share one state
    /// (default: the authenticated principal, else each session on its own).
    #[arg(long, env = "VANGUARD_BEHAVIOR_KEY")]
    pub behavior_key: Option<String>,
    /// Hold the server to this capability baseline (`vanguard baseline
    /// create`), signed (`FILE.sig.json`, by a `[trust.signers.baseline]`
    /// signer): a changed or unknown tool, or a changed `initialize`, is
    /// refused (block, the default) or warned about (warn).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Overrides `[trust] baseline` (off, warn, block).
    #[arg(long, value_enum, requires = "baseline")]
    pub baseline_mode: Option<CheckMode>,
    /// Check the server against this manifest (`vanguard manifest create`),
    /// signed (`FILE.sig.json`, by a `[trust.signers.manifest]` signer),
    /// before it starts: package, version, integrity, tree and file hashes,
    /// sandbox plan. A difference or a missing or untrusted signature
    /// refuses the start (block, the default) or is logged (warn).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Overrides `[trust] manifest` (off, warn, block).
    #[arg(long, value_enum, requires = "manifest")]
    pub manifest_mode: Option<CheckMode>,
    /// Serve Prometheus/OpenMetrics metrics at http://ADDR/metrics (e.g.
    /// 127.0.0.1:9464). `vanguard sse` also serves them at /metrics on its
    /// own port, behind its authentication.
    #[arg(long, value_name = "ADDR", env = "VANGUARD_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

use crate::trust::store::CheckMode;

/// Verifies the detached signature of `doc` (`x.json` → `x.sig.json`)
/// against the signers the profile trusts for `purpose`; the signer, or why not.
pub(crate) fn verify_signed(
    doc: &std::path::Path,
    purpose: crate::trust::Purpose,
    policy: &Policy,
) -> Result<crate::trust::signature::Verified, String> {
    let sig_path = super::trust_cmd::default_sig_path(doc);
    let what = doc.display().to_string();
    if policy.trust.store.signers(purpose).is_empty() {
        return Err(format!(
            "no signer is trusted for {purpose} documents ([trust.signers.{purpose}] in the profile)"
        ));
    }
    let sig = crate::trust::SignatureDoc::read(&sig_path)
        .map_err(|e| format!("no valid signature {}: {e}", sig_path.display()))?;
    let bytes = std::fs::read(doc).map_err(|e| format!("{what}: {e}"))?;
    let view = crate::trust::View::for_document(Some(purpose), &bytes);
    let signed = view
        .signed_bytes(&bytes, &what)
        .map_err(|e| e.to_string())?;
    sig.verify(
        &signed,
        &policy.trust.store,
        purpose,
        crate::trust::store::now_secs(),
        &what,
    )
    .map_err(|e| e.to_string())
}

/// The effective mode: the flag, else the profile's `[trust]`, else block.
fn mode_of(flag: Option<CheckMode>, profile: Option<CheckMode>) -> CheckMode {
    flag.or(profile).unwrap_or(CheckMode::Block)
}

/// A signature check in `mode`: block refuses with exit 6, warn logs.
fn signature_gate(
    doc: &std::path::Path,
    purpose: crate::trust::Purpose,
    policy: &Policy,
    mode: CheckMode,
) -> Result<(), u8> {
    match verify_signed(doc, purpose, policy) {
        Ok(v) => {
            tracing::info!("{} is signed by {} ({})", doc.display(), v.key_id, v.source);
            Ok(())
        }
        Err(e) if mode == CheckMode::Block => Err(fail(
            super::EXIT_UNTRUSTED,
            format!("{}: {e}; not started", doc.display()),
        )),
        Err(e) => {
            tracing::warn!("{}: {e}", doc.display());
            Ok(())
        }
    }
}

impl GatewayArgs {
    /// Binds `--metrics-addr` (before the server starts: a taken port is a
    /// configuration error, not a silent gap in monitoring).
    pub(crate) fn metrics_listener(&self) -> Result<Option<std::net::TcpListener>, u8> {
        let Some(addr) = self.metrics_addr else {
            return Ok(None);
        };
        let l = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| fail(EXIT_CONFIG, format!("--metrics-addr {addr}: {e}")))?;
        Ok(Some(l))
    }

    /// `--manifest`: compares what is about to start with the manifest;
    /// refuses (block) or logs (warn) every difference.
    pub(crate) fn check_manifest(
        &self,
        policy: &Policy,
        argv: &[String],
        resolved: &launch::Resolved,
        plan: &crate::sandbox::Plan,
    ) -> Result<(), u8> {
        let Some(path) = &self.manifest else {
            return Ok(());
        };
        let mode = mode_of(self.manifest_mode, policy.trust.manifest);
        if mode == CheckMode::Off {
            return Ok(());
        }
        // A document that is no manifest is a configuration error first.
        super::manifest::load(path).map_err(|e| fail(EXIT_CONFIG, e))?;
        signature_gate(path, crate::trust::Purpose::Manifest, policy, mode)?;
        let diffs = super::manifest::check_at_start(path, policy, argv, resolved, plan)
            .map_err(|e| fail(EXIT_CONFIG, e))?;
        if diffs.is_empty() {
            tracing::info!("the server matches its manifest {}", path.display());
            return Ok(());
        }
        let list = diffs.join("; ");
        if mode == CheckMode::Block {
            return Err(fail(
                EXIT_SPAWN,
                format!(
                    "the server does not match its manifest {} and was not started: {list}",
                    path.display()
                ),
            ));
        }
        tracing::warn!(
            "the server does not match its manifest {}: {list}",
            path.display()
        );
        Ok(())
    }

    /// The `--baseline` check, loaded and its signature verified once at start.
    pub(crate) fn baseline_check(
        &self,
        policy: &Policy,
    ) -> Result<Option<crate::gateway::server_side::BaselineCheck>, u8> {
        let Some(path) = &self.baseline else {
            return Ok(None);
        };
        let mode = mode_of(self.baseline_mode, policy.trust.baseline);
        if mode == CheckMode::Off {
            return Ok(None);
        }
        let check = super::baseline::check_for(path, mode == CheckMode::Block)
            .map_err(|e| fail(EXIT_CONFIG, e))?;
        signature_gate(path, crate::trust::Purpose::Baseline, policy, mode)?;
        Ok(Some(check))
    }
}

impl GatewayArgs {
    /// Loads the policy with these settings and resolves the server argv.
    /// The rules' patterns are not parsed here: [`GatewayArgs::inspector_and_audit`] compiles them
    /// next, and parsing each twice was a fifth of a gateway's start-up
    /// (36 of 200 M instructions for `balanced`'s 237 patterns). Should
    /// one not compile, that function loads the profile again with the
    /// check, whose error names the file and line.
    pub(crate) fn load(&self) -> Result<(Policy, Vec<String>), u8> {
        let policy = load_policy(
            &self.policy.profile,
            &self.overrides(policy::RuleCheck::SkipPatterns),
        )?;
        if !policy.behavior.enabled {
            let given = [
                (
                    self.state.is_some() || policy.state_url.is_some(),
                    "--state / [behavior] state",
                ),
                (self.behavior_key.is_some(), "--behavior-key"),
            ];
            if let Some((_, what)) = given.iter().find(|(set, _)| *set) {
                return Err(fail(
                    EXIT_CONFIG,
                    format!("{what} is set but L3 is off in profile {} ([behavior] enabled = false): it would be ignored", policy.name),
                ));
            }
        }
        let argv = if self.command.is_empty() {
            server_argv(self.server.as_deref(), &policy)?
        } else {
            self.command.clone()
        };
        Ok((policy, argv))
    }

    fn overrides(&self, rules: policy::RuleCheck) -> Overrides {
        let mut ov = self.policy.overrides();
        ov.mode = self.mode;
        ov.audit_path = self.audit_log.clone();
        ov.max_line_bytes = self.max_line_bytes;
        ov.semantic = self.semantic;
        ov.state = self.state.clone();
        ov.rules = rules;
        ov
    }

    /// The compiled inspector and the opened audit log of the policy
    /// [`GatewayArgs::load`] returned, naming the problem on failure
    /// (`start` and `sse` both need them before serving).
    pub(crate) fn inspector_and_audit(
        &self,
        policy: &Policy,
    ) -> Result<(Arc<Inspector>, AuditSink), u8> {
        let inspector = match Inspector::new(policy) {
            Ok(i) => Arc::new(i),
            Err(e) => {
                // Loaded without the patterns' check: a broken pattern is
                // reported by loading again with it (file, line, rule);
                // what that check passes (a size limit) as it is.
                load_policy(
                    &self.policy.profile,
                    &self.overrides(policy::RuleCheck::Full),
                )?;
                return Err(fail(EXIT_CONFIG, format!("profile {}: {e}", policy.name)));
            }
        };
        let audit = match &policy.audit.path {
            Some(p) => {
                AuditSink::open(p, policy.audit.max_bytes, policy.audit.keep).map_err(|e| {
                    fail(
                        EXIT_CONFIG,
                        format!("{e} (choose another path with --audit-log, or --audit-log off)"),
                    )
                })?
            }
            None => AuditSink::disabled(),
        };
        Ok((inspector, audit))
    }
}

#[derive(clap::Args, Debug)]
pub struct StartArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
}

/// L2 and L3 for a gateway process.
pub(crate) struct Layers {
    pub behavior: Option<Arc<crate::behavior::Engine>>,
    pub semantic: Option<Arc<crate::semantic::Scorer>>,
    pub baseline: Option<crate::gateway::server_side::BaselineCheck>,
}

impl Layers {
    /// Gives a session's configuration these layers.
    pub(crate) fn apply(&self, cfg: &mut SessionConfig, behavior_key: Option<&str>) {
        cfg.behavior = self.behavior.clone();
        cfg.semantic = self.semantic.clone();
        cfg.server_side.baseline = self.baseline.clone();
        if let Some(k) = behavior_key {
            cfg.behavior_key = Some(k.to_string());
        }
    }
}

/// Opens L3's state store and builds the L2 scorer, naming the problem on
/// failure: L2 turned on without a backend, a half-configured backend, an
/// unreachable Redis with `on_state_error = "closed"`.
pub(crate) async fn open_layers(policy: &Policy) -> Result<Layers, u8> {
    let behavior = if policy.behavior.enabled {
        let engine =
            crate::behavior::Engine::open(policy.behavior.clone(), policy.state_url.as_deref())
                .await
                .map_err(|e| fail(EXIT_CONFIG, e))?;
        Some(Arc::new(engine))
    } else {
        None
    };
    let backend = crate::semantic::Backend::from_env()
        .map_err(|e| fail(EXIT_CONFIG, format!("semantic backend: {e}")))?;
    let semantic = match backend {
        Some(b) => {
            let sp = &policy.semantic;
            let mut settings = sp.settings.clone();
            settings
                .apply_env()
                .map_err(|e| fail(EXIT_CONFIG, format!("semantic: {e}")))?;
            tracing::info!(backend = b.name(), model = b.model(), enabled = sp.enabled, "L2 semantic backend configured");
            let scorer = crate::semantic::Scorer::new(b, settings)
                .map_err(|e| fail(EXIT_CONFIG, format!("semantic: {e}")))?;
            Some(Arc::new(scorer))
        }
        None if policy.semantic.enabled => {
            return Err(fail(
                EXIT_CONFIG,
                "L2 is on (--semantic or [semantic] enabled) but no backend is configured: set VANGUARD_SEMANTIC_CUSTOM_URL and VANGUARD_SEMANTIC_CUSTOM_MODEL, VANGUARD_OPENAI_API_KEY, or VANGUARD_OLLAMA_URL",
            ))
        }
        None => None,
    };
    Ok(Layers {
        behavior,
        semantic,
        baseline: None,
    })
}

/// Loads the policy, naming the problem on failure.
pub(crate) fn load_policy(spec: &str, ov: &Overrides) -> Result<Policy, u8> {
    policy::load(spec, ov).map_err(|e| fail(EXIT_CONFIG, format!("invalid configuration: {e}")))
}

/// Resolves the server command line as users configure it (npx, uvx, bins,
/// version-manager shims) into what runs in the sandbox; `Install` may run
/// the package manager (outside the sandbox) and prints progress.
pub(crate) fn resolve_server(
    policy: &Policy,
    argv: &[String],
    cache: Option<&std::path::Path>,
    reach: launch::Reach,
    update: bool,
) -> Result<launch::Resolved, u8> {
    let opts = launch::Options {
        cache: cache
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(launch::Options::default_cache),
        pins: pins_path(policy),
        cwd: policy.server.cwd.clone(),
        reach,
        require_approval: policy.pinning.mode == policy::PinMode::Require,
        install_scripts: policy.server.install_scripts,
        update,
        progress: reach == launch::Reach::Install,
        provenance: policy.trust.provenance.clone(),
        sigstore_root: policy.trust.sigstore_root.clone(),
    };
    launch::resolve(argv, &opts).map_err(|e| match e {
        launch::LaunchError::Parse(_) => fail(EXIT_CONFIG, format!("server command: {e}")),
        _ => fail(EXIT_SPAWN, e),
    })
}

/// The pin file of a policy (tool pins and package pins).
pub(crate) fn pins_path(policy: &Policy) -> PathBuf {
    policy.pinning.file.clone().unwrap_or_else(|| {
        policy::Vars::from_env(None)
            .state
            .join("vanguard/pins.json")
    })
}

/// The sandbox plan for a resolved server under a policy.
pub(crate) fn plan_for(
    policy: &Policy,
    r: &launch::Resolved,
) -> Result<crate::sandbox::Plan, String> {
    if let Some(why) = &r.unsandboxable {
        if policy.sandbox.level != SandboxLevel::Enforce {
            tracing::warn!("not sandboxed: {why}");
        }
    }
    crate::sandbox::from_policy::sandbox_plan(
        policy,
        &r.argv,
        &r.grants,
        r.unsandboxable.as_deref(),
        &r.env_defaults,
    )
}

/// The server argv: `--server` split like a shell would, or the profile's.
pub(crate) fn server_argv(server: Option<&str>, policy: &Policy) -> Result<Vec<String>, u8> {
    match server {
        Some(s) => match shlex::split(s) {
            Some(v) if !v.is_empty() => Ok(v),
            Some(_) => Err(fail(EXIT_CONFIG, "--server is empty")),
            None => Err(fail(EXIT_CONFIG, format!("--server {s:?}: unbalanced quotes"))),
        },
        None => policy.server.command.clone().ok_or_else(|| {
            fail(
                EXIT_CONFIG,
                format!("no server to start: pass --server \"CMD ARGS\" or use a server profile (profile {:?} has no [server] command)", policy.name),
            )
        }),
    }
}

pub fn run(a: StartArgs) -> u8 {
    let (policy, argv) = match a.gateway.load() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let baseline = match a.gateway.baseline_check(&policy) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let (inspector, audit) = match a.gateway.inspector_and_audit(&policy) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let metrics_listener = match a.gateway.metrics_listener() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let metrics = metrics_listener
        .as_ref()
        .map(|_| Arc::new(crate::audit::metrics::Metrics::new()));
    let audit = match &metrics {
        Some(m) => audit.with_metrics(m.clone()),
        None => audit,
    };
    let resolved = match resolve_server(
        &policy,
        &argv,
        a.gateway.policy.cache_dir.as_deref(),
        launch::Reach::Install,
        false,
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let plan = match plan_for(&policy, &resolved) {
        Ok(p) => p,
        Err(e) => return fail(EXIT_SPAWN, e),
    };
    if let Err(code) = a.gateway.check_manifest(&policy, &argv, &resolved, &plan) {
        return code;
    }
    let egress = match crate::sandbox::from_policy::egress_config(&policy) {
        Ok(e) => e,
        Err(e) => return fail(EXIT_CONFIG, format!("invalid configuration: {e}")),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                EXIT_INTERNAL,
                format!("cannot start the async runtime: {e}"),
            )
        }
    };
    // The child's pipes register with this runtime's reactor.
    let guard = rt.enter();
    let mut layers = match rt.block_on(open_layers(&policy)) {
        Ok(l) => l,
        Err(code) => return code,
    };
    layers.baseline = baseline;
    // Before the spawn, like the rules: the first tool call's answer would
    // otherwise wait for the secret detectors and the scan's other tables
    // (~5 ms). Not after it: that
    // delayed the session loop and raced a dying server against the
    // agent's EOF. Not on a helper thread: its malloc arena and cached
    // stack kept 0.7 MiB more resident.
    crate::inspect::warm();
    let mut upstream = match ServerProcess::spawn(&plan) {
        Ok(u) => u,
        Err(e) => return fail(EXIT_SPAWN, e),
    };
    if let Some(e) = &upstream.enforcement {
        if e.fully_enforced() {
            tracing::info!("sandbox: {}", e.summary());
        } else if policy.sandbox.level != SandboxLevel::Off {
            tracing::warn!("sandbox: {}", e.summary());
        }
    }
    let session_id = crate::audit::random_id();
    let server_id = server_id(&policy, &argv);
    let mut cfg = SessionConfig::from_policy(
        &policy,
        &argv,
        inspector,
        audit.clone(),
        server_id.clone(),
        session_id.clone(),
    );
    // Lives until the session ends; dropping it closes every proxied connection.
    let in_flight = crate::sandbox::egress::InFlight::default();
    let egress_sink = audit.clone();
    let egress_proxy = match start_egress(
        upstream.egress_listener.take(),
        egress,
        crate::sandbox::egress::EgressAudit {
            on_record: Some(crate::audit::egress_recorder(
                audit.clone(),
                crate::audit::EgressLabels {
                    session_id: cfg.session_id.clone(),
                    server_id: cfg.server_id.clone(),
                    profile: cfg.profile.clone(),
                    mode: policy.mode,
                },
                cfg.ids.clone(),
            )),
            in_flight: in_flight.clone(),
        },
    ) {
        Ok(p) => p,
        Err(e) => {
            ServerProcess::signal_group(upstream.pid, libc::SIGKILL);
            return fail(EXIT_SPAWN, e);
        }
    };
    tracing::info!(
        profile = policy.name,
        server = server_id,
        session = session_id,
        "session started"
    );
    cfg.egress_in_flight = in_flight;
    layers.apply(&mut cfg, a.gateway.behavior_key.as_deref());
    let outcome = rt.block_on(async {
        // Lives as long as the session: `vanguard risk` reaches it here.
        let _control = start_control();
        let _metrics = match (metrics_listener, &metrics) {
            (Some(l), Some(m)) => match tokio::net::TcpListener::from_std(l) {
                Ok(l) => Some(AbortOnDrop(tokio::spawn(
                    crate::server::http::serve_metrics(l, m.clone()),
                ))),
                Err(e) => {
                    tracing::error!("metrics: {e}");
                    None
                }
            },
            _ => None,
        };
        gateway::run(
            crate::transport::stdio::agent_stdin(),
            crate::transport::stdio::agent_stdout(),
            upstream,
            cfg,
        )
        .await
    });
    drop(guard);
    // Dropping the runtime would wait for the blocking stdin reader.
    rt.shutdown_background();
    // Closes the proxied connections still open; their events are written now.
    drop(egress_proxy);
    egress_sink.flush();
    exit_code(&outcome)
}

/// Ends a background task when the session ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The control socket (`vanguard risk show|reset`); a gateway without one
/// still runs, and says why.
pub(crate) fn start_control() -> Option<gateway::control::ControlSocket> {
    let dir = gateway::control::socket_dir();
    match gateway::control::ControlSocket::start(&dir) {
        Ok(c) => {
            tracing::debug!("control socket {}", c.path().display());
            Some(c)
        }
        Err(e) => {
            tracing::warn!(
                "no control socket in {} ({e}): `vanguard risk` cannot reach this gateway",
                dir.display()
            );
            None
        }
    }
}

/// Serves the egress proxy on the listener the sandbox handed back (network
/// allow-list mode). No listener means no proxy: the server has no way out.
pub(crate) fn start_egress(
    listener: Option<crate::sandbox::egress::Listeners>,
    config: Option<crate::sandbox::egress::EgressConfig>,
    audit: crate::sandbox::egress::EgressAudit,
) -> Result<Option<crate::sandbox::egress::EgressProxy>, String> {
    let (Some(listener), Some(config)) = (listener, config) else {
        return Ok(None);
    };
    tracing::info!(
        allow = ?config.allow.describe(),
        "egress proxy at {} (in the server's network namespace)",
        crate::sandbox::egress::PROXY_URL
    );
    crate::sandbox::egress::EgressProxy::start(listener, config, audit)
        .map(Some)
        .map_err(|e| format!("cannot start the egress proxy: {e}"))
}

/// A short name for the server in logs and audit events.
pub(crate) fn server_id(policy: &Policy, argv: &[String]) -> String {
    if policy.server.command.is_some() && policy.sources.iter().any(|s| s.contains("servers/")) {
        return policy.name.clone();
    }
    // The most telling word of the command: a package name beats "npx" or "node".
    let generic = [
        "npx", "node", "python", "python3", "uvx", "uv", "sh", "bash", "-y", "run", "exec", "deno",
        "bun",
    ];
    argv.iter()
        .find(|a| !generic.contains(&a.as_str()) && !a.starts_with('-'))
        .map(|a| {
            let a = a.trim_end_matches('/');
            let base = a.rsplit('/').next().unwrap_or(a);
            if matches!(base, "index.js" | "main.py" | "dist" | "server.js") {
                a.split('/')
                    .rev()
                    .find(|p| {
                        !matches!(
                            *p,
                            "index.js" | "dist" | "build" | "main.py" | "server.js" | ""
                        )
                    })
                    .unwrap_or(base)
                    .to_string()
            } else {
                base.to_string()
            }
        })
        .unwrap_or_else(|| argv.first().cloned().unwrap_or_default())
}

pub(crate) fn exit_code(o: &Outcome) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match o {
        Outcome::AgentClosed { .. } => EXIT_OK,
        Outcome::UpstreamExited(s) => {
            if let Some(sig) = s.signal() {
                tracing::error!("the server was killed by signal {sig}");
                EXIT_SERVER_KILLED
            } else {
                tracing::error!("the server exited on its own ({s})");
                EXIT_SERVER_EXITED
            }
        }
        Outcome::Signalled(n) => 128u8.saturating_add(*n as u8),
        Outcome::Failed(why) => {
            tracing::error!("the session failed: {why}");
            EXIT_INTERNAL
        }
    }
}
