//! `vanguard sse`: the HTTP gateway. Serves Streamable HTTP on `/mcp`,
//! legacy HTTP+SSE on `/sse`, and starts one sandboxed upstream per MCP
//! session under the same policy as `vanguard start`.

use super::start::{server_id, GatewayArgs};
use super::*;
use crate::audit::AuditSink;
use crate::auth::config::AuthConfig;
use crate::auth::tool_auth::ToolAuth;
use crate::auth::{Authenticator, Principal};
use crate::gateway::SessionConfig;
use crate::inspect::Inspector;
use crate::policy::{Policy, SandboxLevel};
use crate::server::http::guard::LimitConfig;
use crate::server::http::{HttpConfig, Launched, Launcher, Server};
use crate::transport::child::ServerProcess;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct SseArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    /// Address to listen on. Anything but loopback needs authentication under `strict`.
    #[arg(long, default_value = "127.0.0.1", env = "VANGUARD_HOST")]
    host: IpAddr,
    /// Port to listen on (0: any free port; the bound address is printed on stderr).
    #[arg(long, default_value_t = 8080, env = "VANGUARD_PORT")]
    port: u16,
    /// Auth configuration (JWT/JWKS, API-key grants, `[[tool_auth]]`); see `src/auth/config.rs`.
    /// The API key itself comes from the VANGUARD_API_KEY environment variable.
    #[arg(long, env = "VANGUARD_AUTH_CONFIG")]
    auth_config: Option<PathBuf>,
    /// Maximum concurrent MCP sessions (each has its own upstream process).
    #[arg(long, default_value_t = 64, env = "VANGUARD_MAX_SESSIONS")]
    max_sessions: usize,
    /// End a session after this many seconds without a request or an open stream.
    #[arg(long, default_value_t = 600, env = "VANGUARD_IDLE_TIMEOUT")]
    idle_timeout: u64,
    /// Maximum request body in bytes (default: the maximum message length).
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Requests per second per client IP (0: no limit).
    #[arg(long, default_value_t = 500)]
    rate_limit: u32,
    /// Requests per second overall (0: no limit).
    #[arg(long, default_value_t = 5000)]
    global_rate_limit: u32,
    /// Requests in flight per client IP (0: no limit).
    #[arg(long, default_value_t = 64)]
    max_concurrent_per_ip: usize,
    /// Requests in flight overall (0: no limit).
    #[arg(long, default_value_t = 512)]
    max_concurrent: usize,
    /// After SIGTERM/SIGINT, keep serving open sessions this many seconds
    /// with `/ready` failing (so a load balancer stops sending new clients)
    /// before ending them; set it to the time your endpoints take to update.
    #[arg(
        long,
        default_value_t = 0,
        env = "VANGUARD_DRAIN_DELAY",
        value_name = "SECS"
    )]
    drain_delay: u64,
    /// Another host name clients may use in `Host` (repeatable; loopback names are always allowed).
    /// VANGUARD_ALLOWED_HOSTS: comma-separated.
    #[arg(
        long = "allowed-host",
        value_name = "NAME",
        env = "VANGUARD_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,
    /// A browser origin allowed in `Origin`, e.g. https://app.example.com (repeatable).
    /// VANGUARD_ALLOWED_ORIGINS: comma-separated.
    #[arg(
        long = "allowed-origin",
        value_name = "ORIGIN",
        env = "VANGUARD_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allowed_origins: Vec<String>,
}

/// Starts one upstream per session under the loaded policy.
struct PolicyLauncher {
    policy: Policy,
    argv: Vec<String>,
    /// What `argv` resolved to, once, at start (packages installed and verified).
    resolved: crate::launch::Resolved,
    inspector: Arc<Inspector>,
    audit: AuditSink,
    server_id: String,
    tool_auth: ToolAuth,
    layers: super::start::Layers,
    behavior_key: Option<String>,
}

impl Launcher for PolicyLauncher {
    fn launch(&self, session_id: &str, who: Option<&Principal>) -> Result<Launched, String> {
        let plan = super::start::plan_for(&self.policy, &self.resolved)?;
        let upstream = ServerProcess::spawn(&plan).map_err(|e| e.to_string())?;
        if let Some(e) = &upstream.enforcement {
            if !e.fully_enforced() && self.policy.sandbox.level != SandboxLevel::Off {
                tracing::warn!(session = session_id, "sandbox: {}", e.summary());
            }
        }
        let mut config = SessionConfig::from_policy(
            &self.policy,
            &self.argv,
            self.inspector.clone(),
            self.audit.clone(),
            self.server_id.clone(),
            session_id.to_string(),
        );
        config.principal = who.map(|p| p.subject.clone());
        // The server drains and ends sessions on SIGTERM, not each session.
        config.ends_on_signal = false;
        config.server_side.tool_filter = self.tool_auth.filter_for(who);
        self.layers.apply(&mut config, self.behavior_key.as_deref());
        Ok(Launched {
            upstream,
            config,
            keep_alive: Box::new(plan.into_resources()),
        })
    }
}

/// `strict` (or a profile built on it) never serves a non-loopback address
/// without authentication.
fn is_strict(policy: &Policy) -> bool {
    policy.name == "strict"
        || policy
            .sources
            .iter()
            .any(|s| s.ends_with("/strict.toml") || s == "strict" || s.ends_with("strict"))
}

pub fn run(a: SseArgs) -> u8 {
    let (policy, argv) = match a.gateway.load() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let baseline = match a.gateway.baseline_check(&policy) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let auth_cfg = match &a.auth_config {
        Some(p) => match AuthConfig::load(p) {
            Ok(c) => c,
            Err(e) => return fail(EXIT_CONFIG, format!("invalid auth configuration: {e}")),
        },
        None => AuthConfig::default(),
    };
    let key = std::env::var("VANGUARD_API_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let auth = match Authenticator::new(key.as_deref(), auth_cfg) {
        Ok(a) => a,
        Err(e) => return fail(EXIT_CONFIG, e),
    };
    if !a.host.is_loopback() && !auth.enabled() {
        if is_strict(&policy) {
            return fail(
                EXIT_CONFIG,
                format!(
                    "profile {} refuses to listen on {} without authentication (set VANGUARD_API_KEY or --auth-config with [jwt])",
                    policy.name, a.host
                ),
            );
        }
        tracing::warn!("listening on {} without authentication", a.host);
    }
    if !auth.tool_auth.is_empty() && !auth.enabled() {
        tracing::warn!(
            "[[tool_auth]] without authentication: the tools it names are hidden from everyone"
        );
    }
    let (inspector, audit) = match a.gateway.inspector_and_audit(&policy) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Compiled before serving, like the rules: the first session's first
    // tool result would otherwise wait for the secret detectors and the
    // scan's other tables (~5 ms).
    crate::inspect::warm();
    let metrics_listener = match a.gateway.metrics_listener() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let metrics = Arc::new(crate::audit::metrics::Metrics::new());
    let audit = audit.with_metrics(metrics.clone());
    // Resolve (and install) the server once, before serving.
    let resolved = match super::start::resolve_server(
        &policy,
        &argv,
        a.gateway.policy.cache_dir.as_deref(),
        crate::launch::Reach::Install,
        false,
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // Fail at start, not on the first session, when the plan cannot be made.
    let plan = match super::start::plan_for(&policy, &resolved) {
        Ok(p) => p,
        Err(e) => return fail(EXIT_SPAWN, e),
    };
    if let Err(code) = a.gateway.check_manifest(&policy, &argv, &resolved, &plan) {
        return code;
    }
    drop(plan);
    if a.max_sessions == 0 || a.idle_timeout == 0 {
        return fail(
            EXIT_CONFIG,
            "--max-sessions and --idle-timeout must be at least 1 (a gateway with no sessions, or sessions that end at once, serves nothing)",
        );
    }
    let cfg = HttpConfig {
        max_body_bytes: a.max_body_bytes.unwrap_or(policy.max_line_bytes),
        max_sessions: a.max_sessions,
        idle_timeout: Duration::from_secs(a.idle_timeout),
        limits: LimitConfig {
            rate_per_ip: a.rate_limit,
            rate_global: a.global_rate_limit,
            concurrent_per_ip: a.max_concurrent_per_ip,
            concurrent_global: a.max_concurrent,
        },
        allowed_hosts: a.allowed_hosts.clone(),
        allowed_origins: a.allowed_origins.clone(),
        max_line_bytes: policy.max_line_bytes,
        metrics: Some(metrics.clone()),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
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
    let mut layers = match rt.block_on(super::start::open_layers(&policy)) {
        Ok(l) => l,
        Err(code) => return code,
    };
    layers.baseline = baseline;
    let grace = policy.close_grace + policy.term_grace + Duration::from_secs(1);
    let drain_delay = Duration::from_secs(a.drain_delay);
    let launcher = Arc::new(PolicyLauncher {
        layers,
        behavior_key: a.gateway.behavior_key.clone(),
        server_id: server_id(&policy, &argv),
        tool_auth: auth.tool_auth.clone(),
        policy,
        argv,
        resolved,
        inspector,
        audit: audit.clone(),
    });
    let code = rt.block_on(async move {
        if let Err(e) = auth.preload().await {
            return fail(EXIT_CONFIG, format!("auth: {e}"));
        }
        // A separate, unauthenticated metrics port when asked for
        // (`--metrics-addr`; bind it to loopback or a scrape network).
        if let Some(l) = metrics_listener {
            match tokio::net::TcpListener::from_std(l) {
                Ok(l) => {
                    tokio::spawn(crate::server::http::serve_metrics(l, metrics.clone()));
                }
                Err(e) => return fail(EXIT_CONFIG, format!("--metrics-addr: {e}")),
            }
        }
        let listener = match tokio::net::TcpListener::bind(SocketAddr::new(a.host, a.port)).await {
            Ok(l) => l,
            Err(e) => {
                return fail(
                    EXIT_CONFIG,
                    format!("cannot listen on {}:{}: {e}", a.host, a.port),
                )
            }
        };
        let bound = match listener.local_addr() {
            Ok(b) => b,
            Err(e) => return fail(EXIT_INTERNAL, e),
        };
        eprintln!("vanguard: listening on http://{bound}/mcp (legacy SSE: /sse)");
        let _control = super::start::start_control();
        let server = Server::new(cfg, bound, auth, launcher);
        let (sig_tx, sig_rx) = tokio::sync::oneshot::channel::<i32>();
        let stop = async move {
            let n = stop_signal().await;
            let _ = sig_tx.send(n);
        };
        let drained = server.serve(listener, stop, drain_delay, grace).await;
        // A stop by signal that ended every session in time is a clean
        // shutdown (0, what orchestrators expect after SIGTERM); sessions
        // left at the end of the grace period make it 128+N.
        match sig_rx.await {
            Ok(_) if drained => EXIT_OK,
            Ok(n) => 128u8.saturating_add(n as u8),
            Err(_) => EXIT_OK,
        }
    });
    audit.flush();
    rt.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn stop_signal() -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => 2,
        _ = term.recv() => 15,
    }
}
