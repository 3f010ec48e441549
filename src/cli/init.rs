//! `vanguard init [DIR]`: a workspace profile to start from.
//!
//! The file extends `balanced` and names DIR as the only zone. The options
//! a user is most likely to change are included commented out (`# key =
//! value`, explanations as `## …`), each one the loader accepts, so
//! removing the `# ` of an option is enough to turn it on.

use super::*;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The workspace directory (default: the current directory).
    pub dir: Option<PathBuf>,
    /// Replace a vanguard.toml that differs from what init writes.
    #[arg(long)]
    pub force: bool,
}

pub const FILE_NAME: &str = "vanguard.toml";

/// The profile text for workspace `dir` (absolute).
pub fn profile_text(dir: &Path) -> String {
    let d = toml_edit::Value::from(dir.to_string_lossy().as_ref()).to_string();
    format!(
        r#"## vanguard profile for this workspace, written by `vanguard init`.
## Check it with `vanguard policy check vanguard.toml`; see what it enforces
## with `vanguard policy explain --profile vanguard.toml`.
extends = "balanced"
name = "workspace"
description = "balanced, confined to this workspace"

[zones]
## Paths tool calls may name, and what the server's sandbox may open.
read = [{d}]
write = [{d}]

[audit]
path = "${{state}}/vanguard/audit.jsonl"

## Let the server reach named hosts only (default: no network at all).
# [network]
# mode = "allowlist"
# allow = ["api.github.com:443", "*.githubusercontent.com:443"]

## What happens to secrets and prompt injection in tool results.
# [results]
# secrets = "block"
# injection = "block"

## L3: what a session does over time; share its state between gateways.
# [behavior]
# window_secs = 60
# state = "redis://127.0.0.1:6379/0"
# cut_egress = true

## Rug-pull defence: only servers whose tools you approved may run.
# [pinning]
# mode = "require"
# on_drift = "hide"
"#
    )
}

pub fn run(args: InitArgs) -> u8 {
    let dir = match args.dir.clone().map_or_else(std::env::current_dir, Ok) {
        Ok(d) => d,
        Err(e) => {
            return fail(
                EXIT_INTERNAL,
                format!("cannot read the current directory: {e}"),
            )
        }
    };
    let dir = match dir.canonicalize() {
        Ok(d) if d.is_dir() => d,
        Ok(d) => return fail(EXIT_CONFIG, format!("{}: not a directory", d.display())),
        Err(e) => return fail(EXIT_CONFIG, format!("{}: {e}", dir.display())),
    };
    let path = dir.join(FILE_NAME);
    let text = profile_text(&dir);
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == text => {
            println!("{}: already initialised", path.display());
            print_next(&path);
            return EXIT_OK;
        }
        Ok(_) if !args.force => {
            return fail(
                EXIT_CONFIG,
                format!(
                    "{} exists and differs; keep it, or replace it with --force",
                    path.display()
                ),
            );
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return fail(EXIT_CONFIG, format!("{}: {e}", path.display())),
    }
    if let Err(e) = std::fs::write(&path, text) {
        return fail(
            EXIT_CONFIG,
            format!("{}: cannot write: {e}", path.display()),
        );
    }
    println!("wrote {}", path.display());
    print_next(&path);
    EXIT_OK
}

fn print_next(path: &Path) {
    let raw = path.to_string_lossy();
    let p = shlex::try_quote(&raw).unwrap_or(std::borrow::Cow::Borrowed(&raw));
    println!("next:");
    println!("  vanguard policy explain --profile {p}");
    println!("  vanguard configure --dry-run");
    println!("  vanguard start --profile {p} -- CMD ARGS…");
}
