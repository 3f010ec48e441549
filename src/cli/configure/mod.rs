//! `vanguard configure`: puts vanguard in front of every local server in the
//! MCP clients' configuration files, shows the change as a diff, and undoes
//! it exactly.
//!
//! How the pieces fit:
//! 1. `clients` says where each client keeps its file (per OS) and under
//!    which keys the servers are listed;
//! 2. `entries` reads the entries with the byte spans of their `command`
//!    and `args` values (`jsonc` for JSON with comments, `toml_edit` for
//!    Codex) and decides the profile for each server;
//! 3. this module replaces only those spans in the original text, so
//!    comments, order and formatting stay byte for byte, and writes the file
//!    (backup, temp file + rename, mode kept) under an advisory lock;
//! 4. `undo_state` keeps, outside the client's file, the original and the
//!    wrapped text of each entry's span: `--undo` puts the original back
//!    only where the wrapped text is still there.

mod clients;
mod entries;
mod file;
mod jsonc;
mod text_diff;
mod undo_state;

use super::*;
use clients::{Client, Dirs, Os};
use entries::{Entry, Shape};
use std::path::{Path, PathBuf};
use undo_state::{Record, UndoState};

/// Which clients to configure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientChoice {
    /// Claude Desktop's `claude_desktop_config.json`.
    ClaudeDesktop,
    /// Claude Code's `~/.claude.json` and the project's `.mcp.json`.
    ClaudeCode,
    /// VS Code's user `mcp.json` and the project's `.vscode/mcp.json`.
    Vscode,
    /// Cursor's `~/.cursor/mcp.json` and the project's `.cursor/mcp.json`.
    Cursor,
    /// Codex CLI's `~/.codex/config.toml`.
    Codex,
    /// Every client whose configuration file exists.
    All,
}

#[derive(clap::Args, Debug)]
pub struct ConfigureArgs {
    /// The client to configure (default: every client whose file exists).
    #[arg(long, value_enum)]
    pub client: Option<ClientChoice>,
    /// Print a unified diff of each file instead of changing it.
    #[arg(long)]
    pub dry_run: bool,
    /// Put back the entries vanguard wrapped (those not changed since).
    #[arg(long)]
    pub undo: bool,
    /// The profile for every wrapped server (default: chosen per server:
    /// filesystem, memory, else balanced).
    #[arg(long)]
    pub profile: Option<String>,
    /// The configuration file to edit, instead of the client's usual places.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigureArgs {
    /// Every client, its usual places, nothing changed.
    fn for_scan() -> ConfigureArgs {
        ConfigureArgs {
            client: None,
            dry_run: true,
            undo: false,
            profile: None,
            config: None,
        }
    }
}

/// `vanguard configure-claude`: the same, for Claude Desktop by default.
pub fn run_claude(mut args: ConfigureArgs) -> u8 {
    args.client.get_or_insert(ClientChoice::ClaudeDesktop);
    run(args)
}

pub fn run(mut args: ConfigureArgs) -> u8 {
    if let Some(p) = &args.profile {
        match checked_profile(p) {
            Ok(p) => args.profile = Some(p),
            Err(code) => return code,
        }
    }
    let targets = match targets(&args) {
        Ok(t) => t,
        Err(e) => return fail(EXIT_CONFIG, e),
    };
    if targets.is_empty() {
        println!("no MCP client configuration found; name one with --client or --config FILE");
        for c in clients::ALL {
            println!(
                "  {:<15} {}",
                c.name(),
                c.user_path(current_os(), &Dirs::from_env()).display()
            );
        }
        return EXIT_OK;
    }
    let this = match std::env::current_exe().and_then(|p| p.canonicalize()) {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(e) => {
            return fail(
                EXIT_INTERNAL,
                format!("cannot find the vanguard binary: {e}"),
            )
        }
    };
    let mut code = EXIT_OK;
    for (client, path) in targets {
        let result = if args.undo {
            undo_file(client, &path, args.dry_run)
        } else {
            wrap_file(client, &path, &this, &args)
        };
        if let Err(e) = result {
            code = fail(EXIT_CONFIG, e);
        }
    }
    code
}

/// A `--profile` that loads, as the client will pass it: a file becomes an
/// absolute path, since clients start servers in a directory of their own.
fn checked_profile(spec: &str) -> Result<String, u8> {
    super::start::load_policy(spec, &crate::policy::Overrides::default())?;
    let path = Path::new(spec);
    if path.is_file() {
        return path
            .canonicalize()
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|e| fail(EXIT_CONFIG, format!("{spec}: {e}")));
    }
    Ok(spec.to_string())
}

/// The local (stdio) servers of every client configuration found (user
/// scope, and the current directory's project files) that do not run
/// through vanguard: `(client, file, entry name)`; files that cannot be
/// read or parsed are reported as such (`audit-compliance`).
pub(crate) fn unwrapped_servers() -> Vec<Result<(String, PathBuf, String), String>> {
    let this = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args = ConfigureArgs::for_scan();
    let Ok(targets) = targets(&args) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (client, path) in targets {
        let text = match file::read(&path) {
            Ok(t) => t,
            Err(e) => {
                out.push(Err(e));
                continue;
            }
        };
        match read_entries(client, &path, &text) {
            Err(e) => out.push(Err(e)),
            Ok(entries) => {
                for e in entries {
                    if let entries::Shape::Stdio(s) = &e.shape {
                        if !entries::is_vanguard(&s.command, &this) {
                            out.push(Ok((client.name().to_string(), path.clone(), label(&e))));
                        }
                    }
                }
            }
        }
    }
    out
}

fn current_os() -> Os {
    match std::env::consts::OS {
        "macos" => Os::Mac,
        "windows" => Os::Windows,
        _ => Os::Linux,
    }
}

/// The files to work on: `--config`, or every existing file of the chosen
/// clients (user scope, then the current project's).
fn targets(args: &ConfigureArgs) -> Result<Vec<(Client, PathBuf)>, String> {
    let chosen: Vec<Client> = match args.client {
        None | Some(ClientChoice::All) => clients::ALL.to_vec(),
        Some(ClientChoice::ClaudeDesktop) => vec![Client::ClaudeDesktop],
        Some(ClientChoice::ClaudeCode) => vec![Client::ClaudeCode],
        Some(ClientChoice::Vscode) => vec![Client::Vscode],
        Some(ClientChoice::Cursor) => vec![Client::Cursor],
        Some(ClientChoice::Codex) => vec![Client::Codex],
    };
    if let Some(path) = &args.config {
        if !path.is_file() {
            return Err(format!("{}: no such file (--config)", path.display()));
        }
        let client = match chosen.as_slice() {
            [one] => *one,
            _ => Client::guess(path).ok_or_else(|| {
                format!(
                    "{}: cannot tell which client this file belongs to; add --client",
                    path.display()
                )
            })?,
        };
        return Ok(vec![(client, path.clone())]);
    }
    let dirs = Dirs::from_env();
    let cwd = std::env::current_dir().ok();
    let mut out = Vec::new();
    for client in chosen {
        let project = cwd.as_deref().and_then(|d| client.project_path(d));
        for path in std::iter::once(client.user_path(current_os(), &dirs)).chain(project) {
            if path.is_file() {
                out.push((client, path));
            }
        }
    }
    Ok(out)
}

/// A change to the file's text: replace `span` with `text`.
struct Edit {
    span: std::ops::Range<usize>,
    text: String,
}

fn apply(text: &str, mut edits: Vec<Edit>) -> Result<String, String> {
    edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
    let mut out = text.to_string();
    for e in edits {
        if out.get(e.span.clone()).is_none() {
            return Err(format!(
                "internal error: edit {:?} outside the text",
                e.span
            ));
        }
        out.replace_range(e.span, &e.text);
    }
    Ok(out)
}

/// Reads the entries of a client file, naming the file when it is broken.
fn read_entries(client: Client, path: &Path, text: &str) -> Result<Vec<Entry>, String> {
    if client.is_toml() {
        let doc = toml_edit::ImDocument::parse(text)
            .map_err(|e| format!("{}: invalid TOML: {e}", path.display()))?;
        Ok(entries::from_toml(&doc))
    } else {
        let root =
            jsonc::parse(text).map_err(|e| format!("{}: invalid JSON: {e}", path.display()))?;
        Ok(entries::from_json(client, &root))
    }
}

fn quote(client: Client, s: &str) -> String {
    if client.is_toml() {
        toml_edit::Value::from(s).to_string()
    } else {
        serde_json::Value::from(s).to_string()
    }
}

fn list(client: Client, items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quote(client, i)).collect();
    format!("[{}]", quoted.join(", "))
}

fn label(e: &Entry) -> String {
    match e.container.as_slice() {
        [projects, p, _] if projects == "projects" => format!("{} (project {p})", e.name),
        _ => e.name.clone(),
    }
}

fn wrap_file(client: Client, path: &Path, this: &str, args: &ConfigureArgs) -> Result<(), String> {
    let _lock = file::lock(path)?;
    let text = file::read(path)?;
    let found = read_entries(client, path, &text)?;
    println!("{} ({}):", path.display(), client.name());
    let mut edits = Vec::new();
    let mut wrapped = Vec::new();
    for e in &found {
        let s = match &e.shape {
            Shape::Remote => {
                println!("  {}: remote server (url), left alone", label(e));
                continue;
            }
            Shape::Unusable(why) => {
                println!("  {}: {why}, left alone", label(e));
                continue;
            }
            Shape::Stdio(s) if entries::is_vanguard(&s.command, this) => {
                println!("  {}: already runs through vanguard, skipped", label(e));
                continue;
            }
            Shape::Stdio(s) => s,
        };
        let w = entries::choose(&s.command, &s.args, &s.env, args.profile.as_deref());
        let new_args = entries::wrapped_args(&w, &s.command, &s.args);
        println!("  {}: wrapped with profile {}", label(e), w.profile);
        edits.push(Edit {
            span: s.command_span.clone(),
            text: quote(client, this),
        });
        match (&s.args_span, client.is_toml() && !s.inline) {
            (Some(span), _) => edits.push(Edit {
                span: span.clone(),
                text: list(client, &new_args),
            }),
            (None, false) => {
                let key = if client.is_toml() {
                    "args ="
                } else {
                    "\"args\":"
                };
                edits.push(Edit {
                    span: s.command_span.end..s.command_span.end,
                    text: format!(", {key} {}", list(client, &new_args)),
                })
            }
            (None, true) => edits.push(Edit {
                span: s.command_span.end..s.command_span.end,
                text: format!("\nargs = {}", list(client, &new_args)),
            }),
        }
        wrapped.push((
            e.container.clone(),
            e.name.clone(),
            text.get(s.region()).unwrap_or("").to_string(),
            new_args,
        ));
    }
    if edits.is_empty() {
        println!("  nothing to wrap");
        return Ok(());
    }
    let new_text = apply(&text, edits)?;
    // The new text is read back and each wrapped entry must say exactly
    // what was meant: a layout the edits did not foresee (a TOML dotted
    // key, say) is refused here instead of written.
    let after = read_entries(client, path, &new_text)?;
    let mut records = Vec::new();
    for (container, name, original, new_args) in wrapped {
        let region = after.iter().find_map(|e| match &e.shape {
            Shape::Stdio(s)
                if e.container == container
                    && e.name == name
                    && s.command == this
                    && s.args == new_args =>
            {
                Some(s.region())
            }
            _ => None,
        });
        let Some(region) = region else {
            return Err(format!(
                "{}: entry {name} is laid out in a way vanguard cannot rewrite safely; nothing was changed (wrap it by hand: command {this}, args {new_args:?})",
                path.display()
            ));
        };
        let wrapped = new_text.get(region).unwrap_or("").to_string();
        records.push(Record {
            container,
            name,
            original,
            wrapped,
        });
    }
    if args.dry_run {
        print!(
            "{}",
            text_diff::unified(&path.display().to_string(), &text, &new_text)
        );
        return Ok(());
    }
    // The records are saved before the file is written, so a crash in
    // between leaves records that match nothing (undo then says so) rather
    // than a wrapped file without a way back.
    let mut state = UndoState::load(path)?;
    for r in records {
        state.put(r);
    }
    state.save()?;
    let backup = file::backup(path)?;
    file::write_atomic(path, &new_text)?;
    println!(
        "  written; backup {}; undo with `vanguard configure --undo`",
        backup.display()
    );
    Ok(())
}

fn undo_file(client: Client, path: &Path, dry_run: bool) -> Result<(), String> {
    let _lock = file::lock(path)?;
    let text = file::read(path)?;
    let found = read_entries(client, path, &text)?;
    let mut state = UndoState::load(path)?;
    println!("{} ({}):", path.display(), client.name());
    if state.records.is_empty() {
        println!("  nothing wrapped by vanguard here");
        return Ok(());
    }
    let mut edits = Vec::new();
    let mut restored = Vec::new();
    for r in &state.records {
        let region = found.iter().find_map(|e| match &e.shape {
            Shape::Stdio(s) if e.container == r.container && e.name == r.name => Some(s.region()),
            _ => None,
        });
        let current = region.as_ref().and_then(|reg| text.get(reg.clone()));
        match (region.clone(), current) {
            (Some(reg), Some(cur)) if cur == r.wrapped => {
                println!("  {}: restored", r.name);
                edits.push(Edit {
                    span: reg,
                    text: r.original.clone(),
                });
                restored.push((r.container.clone(), r.name.clone()));
            }
            (Some(_), _) => println!("  {}: changed since it was wrapped, left alone", r.name),
            (None, _) => println!("  {}: no longer in the file, nothing to restore", r.name),
        }
    }
    if edits.is_empty() {
        return Ok(());
    }
    let new_text = apply(&text, edits)?;
    if dry_run {
        print!(
            "{}",
            text_diff::unified(&path.display().to_string(), &text, &new_text)
        );
        return Ok(());
    }
    let backup = file::backup(path)?;
    file::write_atomic(path, &new_text)?;
    state.records.retain(|r| {
        !restored
            .iter()
            .any(|(c, n)| *c == r.container && *n == r.name)
    });
    state.save()?;
    println!("  written; backup {}", backup.display());
    Ok(())
}
