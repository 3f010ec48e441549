//! `vanguard ui`: the local dashboard (see `server::ui`).

use super::{fail, EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct UiArgs {
    /// Port to listen on (0: any free port; the URL printed says which).
    #[arg(long, default_value_t = 4040, env = "VANGUARD_UI_PORT")]
    port: u16,
    /// Address to listen on. Anything but loopback needs --allow-remote.
    #[arg(long, default_value = "127.0.0.1", env = "VANGUARD_UI_BIND")]
    bind: IpAddr,
    /// Listen on a non-loopback address (the token still guards every
    /// page; put TLS in front: the token travels in a cookie).
    #[arg(long)]
    allow_remote: bool,
    /// Audit log to follow; repeat for several gateways' logs.
    /// Default: $XDG_STATE_HOME/vanguard/audit.jsonl.
    #[arg(long = "audit-log", value_name = "FILE")]
    audit_logs: Vec<PathBuf>,
    /// The pin file whose pending drift the page shows for approval.
    /// Default: $XDG_STATE_HOME/vanguard/pins.json.
    #[arg(long, value_name = "FILE")]
    pins: Option<PathBuf>,
    /// The access token (at least 16 characters). Default: a random one,
    /// printed at start. The gateway's API key can be reused here.
    #[arg(long, env = "VANGUARD_UI_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Events held in memory for the page (older ones stay in the log).
    #[arg(long, default_value_t = 5000)]
    backlog: usize,
    /// Extra host names the page may be reached under (DNS rebinding
    /// protection refuses any other `Host`).
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
}

pub fn run(a: UiArgs) -> u8 {
    if !a.bind.is_loopback() && !a.allow_remote {
        return fail(
            EXIT_CONFIG,
            format!(
                "--bind {} is not a loopback address: the dashboard shows every decision and can approve pins; add --allow-remote if you mean it",
                a.bind
            ),
        );
    }
    if a.backlog == 0 || a.backlog > 1_000_000 {
        return fail(EXIT_CONFIG, "--backlog must be between 1 and 1000000");
    }
    let state = crate::policy::Vars::from_env(None).state.join("vanguard");
    let logs = if a.audit_logs.is_empty() {
        vec![state.join("audit.jsonl")]
    } else {
        a.audit_logs
    };
    let pins = a.pins.unwrap_or_else(|| state.join("pins.json"));
    let (token, generated) = match a.token {
        Some(t) if t.len() < crate::auth::api_key::MIN_KEY_LEN => {
            return fail(
                EXIT_CONFIG,
                format!(
                    "the token is {} characters; at least {} are required",
                    t.len(),
                    crate::auth::api_key::MIN_KEY_LEN
                ),
            )
        }
        Some(t) => (t, false),
        None => (
            format!("{}{}", crate::audit::random_id(), crate::audit::random_id()),
            true,
        ),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(EXIT_INTERNAL, e),
    };
    rt.block_on(async move {
        let addr = SocketAddr::new(a.bind, a.port);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => return fail(EXIT_CONFIG, format!("cannot listen on {addr}: {e}")),
        };
        let bound = match listener.local_addr() {
            Ok(b) => b,
            Err(e) => return fail(EXIT_INTERNAL, e),
        };
        let host = if bound.ip().is_loopback() {
            format!("127.0.0.1:{}", bound.port())
        } else {
            bound.to_string()
        };
        for l in &logs {
            if !l.exists() {
                eprintln!(
                    "vanguard: note: {} does not exist yet; it is followed once a gateway writes it",
                    l.display()
                );
            }
        }
        if generated {
            println!("vanguard ui: http://{host}/login?token={token}");
        } else {
            println!("vanguard ui: http://{host}/ (sign in with /login?token=<your token>)");
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let cfg = crate::server::ui::UiConfig {
            logs,
            pins,
            token,
            backlog: a.backlog,
            hosts: crate::server::http::guard::HostPolicy::new(bound, &a.allowed_hosts, &[]),
            poll: Duration::from_millis(100),
        };
        let serve = crate::server::ui::serve(listener, cfg);
        tokio::select! {
            r = serve => match r {
                Ok(()) => EXIT_OK,
                Err(e) => fail(EXIT_CONFIG, e),
            },
            _ = tokio::signal::ctrl_c() => EXIT_OK,
        }
    })
}
