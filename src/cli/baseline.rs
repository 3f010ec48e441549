//! `vanguard baseline`: a server's capabilities as a document a team can
//! review, sign and share — its `initialize` result and every tool, prompt
//! and resource definition, recorded from a live session.
//!
//! At start, `--baseline FILE` holds the server to it: the session compares
//! the fingerprints of what the server announces (the same hashes the pin
//! store keeps) with the baseline's, recomputed from the definitions in the
//! file (a fingerprint written in the file is never trusted). In `block`
//! mode a changed or unknown tool is withheld and a changed `initialize`
//! refused; in `warn` mode each is a warning. Pins still apply on top.

use super::client::Client;
use super::{fail, EXIT_CONFIG, EXIT_OK, EXIT_SPAWN};
use crate::gateway::server_side::BaselineCheck;
use crate::inspect::pinning::{self, Fingerprint};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The document's `kind`.
pub const KIND: &str = "vanguard-capability-baseline";
/// The document format this binary writes and reads.
pub const VERSION: u64 = 1;

#[derive(clap::Subcommand, Debug)]
#[command(defer = true)]
pub enum BaselineCmd {
    /// Start the server (sandboxed, in shadow mode), record what it
    /// announces and write the baseline document.
    Create(CreateArgs),
    /// Check a baseline document and print its fingerprints.
    Show {
        /// The baseline document.
        file: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// The server command line, split like a shell would.
    #[arg(long)]
    server: String,
    /// Profile the server runs under while it is recorded.
    #[arg(long, default_value = "balanced")]
    profile: String,
    /// The workspace the server runs in (default: the current directory).
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// Capabilities the recording client declares (servers list other tools
    /// to a client with sampling or elicitation), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    client_capabilities: Vec<String>,
    /// Where to write the document.
    #[arg(long, short)]
    out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
    /// Seconds to wait for the server to answer `initialize`.
    #[arg(long, default_value_t = 90)]
    start_timeout: u64,
}

pub fn run(cmd: BaselineCmd) -> u8 {
    match cmd {
        BaselineCmd::Create(a) => create(a),
        BaselineCmd::Show { file } => match load(&file) {
            Ok(doc) => {
                let f = fingerprint(&doc);
                println!(
                    "{}: baseline of {} ({} tools, {} prompts, {} resources)",
                    file.display(),
                    doc.get("server").and_then(Value::as_str).unwrap_or("?"),
                    f.tools.len(),
                    f.prompts.len(),
                    f.resources.len()
                );
                println!(
                    "  serverInfo   {}",
                    f.server_info.as_deref().unwrap_or("(none)")
                );
                println!(
                    "  capabilities {}",
                    f.capabilities.as_deref().unwrap_or("(none)")
                );
                for (name, h) in &f.tools {
                    println!("  tool {name:<28} {h}");
                }
                EXIT_OK
            }
            Err(e) => fail(EXIT_CONFIG, e),
        },
    }
}

fn create(a: CreateArgs) -> u8 {
    if a.out.exists() && !a.force {
        return fail(
            EXIT_CONFIG,
            format!("{} exists; pass --force to replace it", a.out.display()),
        );
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(EXIT_SPAWN, format!("cannot find my own executable: {e}")),
    };
    let scratch = std::env::temp_dir().join(format!(
        "vanguard-baseline-{}-{}",
        std::process::id(),
        crate::audit::random_id()
    ));
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        return fail(
            EXIT_SPAWN,
            format!("cannot create {}: {e}", scratch.display()),
        );
    }
    let result = record(&a, &exe, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let doc = match result {
        Ok(d) => d,
        Err(e) => return fail(EXIT_SPAWN, e),
    };
    let text = match serde_json::to_string_pretty(&doc) {
        Ok(t) => t + "\n",
        Err(e) => return fail(EXIT_SPAWN, format!("cannot encode the baseline: {e}")),
    };
    if let Err(e) = crate::pins::write_durably(&a.out, text.as_bytes()) {
        return fail(
            EXIT_CONFIG,
            format!("cannot write {}: {e}", a.out.display()),
        );
    }
    let f = fingerprint(&doc);
    println!(
        "wrote {}: {} tools, {} prompts, {} resources; sign it with `vanguard trust sign --key KEY.pem --purpose baseline {}`",
        a.out.display(),
        f.tools.len(),
        f.prompts.len(),
        f.resources.len(),
        a.out.display()
    );
    EXIT_OK
}

/// Runs the server under `vanguard start --mode shadow` (nothing withheld,
/// pins kept in a scratch file) and records what it announces.
fn record(a: &CreateArgs, exe: &Path, scratch: &Path) -> Result<Value, String> {
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["start", "--server", &a.server, "--profile", &a.profile])
        .args(["--mode", "shadow", "--audit-log", "off"])
        .arg("--pins")
        .arg(scratch.join("pins.json"));
    if let Some(w) = &a.workspace {
        cmd.arg("--workspace").arg(w);
    }
    let log = scratch.join("stderr.log");
    let mut c = std::fs::File::create(&log)
        .and_then(|f| Client::spawn(cmd, f.into()))
        .map_err(|e| format!("cannot start vanguard: {e}"))?;
    let caps: Map<String, Value> = a
        .client_capabilities
        .iter()
        .map(|n| (n.clone(), json!({})))
        .collect();
    let timeout = Duration::from_secs(30);
    let (_, init) = c.request(
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": caps,
               "clientInfo": {"name": "vanguard-baseline", "version": env!("CARGO_PKG_VERSION")}}),
        Duration::from_secs(a.start_timeout.max(1)),
    );
    let stderr = || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = t.lines().rev().take(5).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    };
    let init = init.map_err(|e| format!("initialize: {e}; {}", stderr()))?;
    let result = init
        .get("result")
        .cloned()
        .ok_or_else(|| format!("initialize failed: {init}"))?;
    c.notify("notifications/initialized", json!({}))
        .map_err(|e| e.to_string())?;
    let has = |cap: &str| {
        result
            .get("capabilities")
            .and_then(|c| c.get(cap))
            .is_some()
    };
    let tools = if has("tools") {
        c.list_all("tools/list", "tools", timeout)?
    } else {
        Vec::new()
    };
    let prompts = if has("prompts") {
        c.list_all("prompts/list", "prompts", timeout)?
    } else {
        Vec::new()
    };
    let resources = if has("resources") {
        c.list_all("resources/list", "resources", timeout)?
    } else {
        Vec::new()
    };
    c.shutdown(Duration::from_secs(5));
    let pick = |k: &str| result.get(k).cloned().unwrap_or(Value::Null);
    let mut client_caps = a.client_capabilities.clone();
    client_caps.sort();
    Ok(json!({
        "version": VERSION,
        "kind": KIND,
        "server": a.server,
        "client_capabilities": client_caps,
        "created": crate::audit::rfc3339_now(),
        "initialize": {
            "protocolVersion": pick("protocolVersion"),
            "serverInfo": pick("serverInfo"),
            "capabilities": pick("capabilities"),
            "instructions": pick("instructions"),
        },
        "tools": tools,
        "prompts": prompts,
        "resources": resources,
    }))
}

/// Reads and checks a baseline document: its kind, version, and that every
/// definition has a unique name.
pub fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the baseline {} is not JSON: {e}", path.display()))?;
    check(&doc).map_err(|e| format!("the baseline {}: {e}", path.display()))?;
    Ok(doc)
}

fn check(doc: &Value) -> Result<(), String> {
    if doc.get("kind").and_then(Value::as_str) != Some(KIND) {
        return Err(format!("`kind` is not {KIND:?}"));
    }
    match doc.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "version {v}; this vanguard reads version {VERSION}"
            ))
        }
        None => return Err("`version` is missing".into()),
    }
    if !doc.get("initialize").is_some_and(Value::is_object) {
        return Err("`initialize` is missing or not an object".into());
    }
    for (key, name_key) in [("tools", "name"), ("prompts", "name"), ("resources", "uri")] {
        let items = doc
            .get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| format!("`{key}` is missing or not an array"))?;
        let mut seen = std::collections::BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            let n = item
                .get(name_key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{key}[{i}] has no `{name_key}`"))?;
            if !seen.insert(n) {
                return Err(format!("{key} lists {n:?} twice"));
            }
        }
    }
    Ok(())
}

/// The fingerprints a session compares with, computed from the document's
/// definitions exactly as the session computes them from the server's.
pub fn fingerprint(doc: &Value) -> Fingerprint {
    let init = doc.get("initialize");
    let field = |k: &str| {
        init.and_then(|i| i.get(k))
            .filter(|v| !v.is_null())
            .map(pinning::hash_json)
    };
    let items = |key: &str, name_key: &str, hash: fn(&Value) -> String| {
        doc.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| Some((t.get(name_key)?.as_str()?.to_string(), hash(t))))
                    .collect()
            })
            .unwrap_or_default()
    };
    Fingerprint {
        server_info: field("serverInfo"),
        capabilities: field("capabilities"),
        tools: items("tools", "name", pinning::tool_hash),
        prompts: items("prompts", "name", pinning::item_hash),
        resources: items("resources", "uri", pinning::item_hash),
    }
}

/// `--baseline FILE` for a gateway command.
pub(crate) fn check_for(path: &Path, block: bool) -> Result<BaselineCheck, String> {
    let doc = load(path)?;
    Ok(BaselineCheck {
        fingerprint: fingerprint(&doc),
        block,
        source: path.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "version": 1, "kind": KIND, "server": "x",
            "initialize": {"serverInfo": {"name": "s", "version": "1"}, "capabilities": {"tools": {}}},
            "tools": [{"name": "a", "description": "A", "inputSchema": {"type": "object"}}],
            "prompts": [], "resources": []
        })
    }

    #[test]
    fn fingerprints_are_the_sessions_hashes_of_the_definitions() {
        let d = doc();
        check(&d).expect("valid");
        let f = fingerprint(&d);
        assert_eq!(f.tools.get("a"), Some(&pinning::tool_hash(&d["tools"][0])));
        assert_eq!(
            f.server_info,
            Some(pinning::hash_json(&json!({"name": "s", "version": "1"})))
        );
    }

    #[test]
    fn malformed_documents_are_refused_by_name() {
        let mut d = doc();
        d["kind"] = json!("other");
        assert!(check(&d).expect_err("kind").contains("kind"));
        let mut d = doc();
        d["version"] = json!(2);
        assert!(check(&d).expect_err("version").contains("version 2"));
        let mut d = doc();
        d["tools"] = json!([{"name": "a"}, {"name": "a"}]);
        assert!(check(&d).expect_err("dup").contains("\"a\" twice"));
        let mut d = doc();
        d["tools"] = json!([{"description": "no name"}]);
        assert!(check(&d).expect_err("name").contains("tools[0]"));
    }
}
