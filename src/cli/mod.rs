//! The command line: one file per subcommand. Exit codes are part of the
//! interface and documented in the README:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | the agent closed the session and the server shut down |
//! | 1 | internal error |
//! | 2 | usage or configuration error |
//! | 3 | the server could not be started (including a sandbox that `enforce` refused) |
//! | 4 | the server exited on its own while the agent was connected |
//! | 5 | the server was killed by a signal while the agent was connected |
//! | 6 | a signature, signer or rule pack was refused (`trust verify`, `rules`, `update`) |
//! | 128+N | vanguard was stopped by signal N (after shutting the server down); `sse`: the drain did not end every session within the grace |
//!
//! `sse` stopped by SIGTERM/SIGINT exits 0 when its drain ended every session in time.

mod audit_cmd;
mod baseline;
mod bench;
mod client;
mod compliance;
mod configure;
mod demo;
mod doctor;
mod eval;
mod fetch;
mod init;
mod keygen;
mod manifest;
mod pid1;
mod pin;
mod policy_cmd;
mod risk;
mod rules_cmd;
mod run;
mod sigstore;
mod sse;
mod start;
mod trust_cmd;
mod ui;
mod update;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub const EXIT_OK: u8 = 0;
pub const EXIT_INTERNAL: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;
pub const EXIT_SPAWN: u8 = 3;
pub const EXIT_SERVER_EXITED: u8 = 4;
pub const EXIT_SERVER_KILLED: u8 = 5;
pub const EXIT_UNTRUSTED: u8 = 6;

#[derive(Parser)]
#[command(
    name = "vanguard",
    version,
    about = "Security gateway and kernel sandbox for MCP servers on Linux"
)]
struct Cli {
    /// Log level for human-readable logs on stderr (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "warn", env = "VANGUARD_LOG")]
    log_level: String,
    /// Log format: text (human-readable, on stderr) or json (one object a
    /// line: on stdout under `sse`, for container log collectors; on stderr
    /// elsewhere, where stdout carries the protocol or a command's output).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "VANGUARD_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

// `defer`: clap builds a subcommand's arguments only when that subcommand is
// parsed (or help lists them). Building all of them took 0.47 M of the
// 1.6 M instructions of `vanguard --version` and of every `vanguard run`.
// The nested subcommand enums defer theirs too. The consistency test below
// still builds and checks every one.
#[derive(Subcommand)]
#[command(defer = true)]
enum Command {
    /// Wrap a local stdio MCP server: the agent talks to vanguard on stdin/stdout.
    Start(start::StartArgs),
    /// Serve MCP over HTTP (Streamable HTTP on /mcp, legacy SSE on /sse): one sandboxed server per session.
    Sse(sse::SseArgs),
    /// Validate and explain profiles.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCmd),
    /// Run any command under a profile's kernel sandbox plan; exits with its status.
    Run(run::RunArgs),
    /// Report what this kernel supports and what a profile would enforce here.
    Doctor(doctor::DoctorArgs),
    /// Show, diff and approve pinned tool definitions and packages (rug-pull defence).
    Pin(pin::PinArgs),
    /// The L3 risk of running sessions; reset a session's score.
    #[command(subcommand)]
    Risk(risk::RiskCmd),
    /// Install and pin the package a server command launches (npx, uvx, …), for offline starts.
    Fetch(fetch::FetchArgs),
    /// Run a case corpus (e.g. the peer's) through the real inspector and report agreement.
    Bench(bench::BenchArgs),
    /// Raw-vs-guarded demonstration with a built-in vulnerable server.
    Demo(demo::DemoArgs),
    /// Attack your own MCP server raw, guarded and kernel-only; judge each attack by its effect.
    Eval(eval::EvalArgs),
    /// Record a server's capabilities (initialize, tools, prompts, resources) as a baseline document.
    #[command(subcommand)]
    Baseline(baseline::BaselineCmd),
    /// Record what exactly runs for a server (package, hashes, sandbox plan) and check it at start.
    #[command(subcommand)]
    Manifest(manifest::ManifestCmd),
    /// Check the audit trail's hash chain; query its events.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCmd),
    /// Readiness report: kernel, profile strength, zones, auth, pins, audit chain, L2; exits 1 when a required check fails.
    AuditCompliance(compliance::ComplianceArgs),
    /// Make an Ed25519 signing key (PKCS#8 PEM, 0600) and its public signer document.
    Keygen(keygen::KeygenArgs),
    /// Sign documents and verify detached signatures against trusted signers.
    #[command(subcommand)]
    Trust(trust_cmd::TrustCmd),
    /// Build, sign and verify rule packs.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCmd),
    /// Install a signed rule pack (verified, swapped atomically), or roll back.
    Update(update::UpdateArgs),
    /// Verify Sigstore bundles, npm registry signatures and attestations, PyPI attestations (offline).
    #[command(subcommand)]
    Sigstore(sigstore::SigstoreCmd),
    /// Write a workspace profile (DIR/vanguard.toml) to start from.
    Init(init::InitArgs),
    /// Put vanguard in front of the stdio servers in MCP clients' configurations (--dry-run, --undo).
    Configure(configure::ConfigureArgs),
    /// `configure` for Claude Desktop unless --client says otherwise.
    ConfigureClaude(configure::ConfigureArgs),
    /// Local dashboard: live decisions from audit logs, sessions, kernel and egress events, pins to approve.
    Ui(ui::UiArgs),
}

pub fn main() -> ExitCode {
    // First, before any thread exists: as a container's PID 1, split into
    // a reaping init and the command (see pid1.rs).
    pid1::become_init_if_pid1();
    let cli = Cli::parse();
    let json_to_stdout = matches!(cli.command, Command::Sse(_));
    init_logging(&cli.log_level, cli.log_format, json_to_stdout);
    let code = match cli.command {
        Command::Start(a) => start::run(a),
        Command::Sse(a) => sse::run(a),
        Command::Policy(p) => policy_cmd::run(p),
        Command::Run(a) => run::run(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Pin(a) => pin::run(a),
        Command::Fetch(a) => fetch::run(a),
        Command::Risk(c) => risk::run(c),
        Command::Bench(a) => bench::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Baseline(c) => baseline::run(c),
        Command::Manifest(c) => manifest::run(c),
        Command::Audit(c) => audit_cmd::run(c),
        Command::AuditCompliance(a) => compliance::run(a),
        Command::Keygen(a) => keygen::run(a),
        Command::Trust(c) => trust_cmd::run(c),
        Command::Rules(c) => rules_cmd::run(c),
        Command::Update(a) => update::run(a),
        Command::Sigstore(c) => sigstore::run(c),
        Command::Init(a) => init::run(a),
        Command::Configure(a) => configure::run(a),
        Command::ConfigureClaude(a) => configure::run_claude(a),
        Command::Ui(a) => ui::run(a),
    };
    ExitCode::from(code)
}

fn init_logging(level: &str, format: LogFormat, json_to_stdout: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json if json_to_stdout => builder
            .json()
            .with_current_span(false)
            .with_writer(std::io::stdout)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .try_init(),
    };
}

/// Prints a one-line error in the house style and returns the exit code.
pub(crate) fn fail(code: u8, msg: impl std::fmt::Display) -> u8 {
    eprintln!("vanguard: error: {msg}");
    code
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        // Duplicate argument names, conflicting flags and the like: clap
        // checks them only when the faulty subcommand is parsed.
        super::Cli::command().debug_assert();
    }
}
