//! `vanguard pin show|diff|approve|reject`: look at and accept pinned tool definitions.

use super::*;
use crate::inspect::pinning;
use crate::pins::{PinStore, Resolved};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct PinArgs {
    /// The pin file (default: $XDG_STATE_HOME/vanguard/pins.json).
    #[arg(long, global = true)]
    pins: Option<PathBuf>,
    #[command(subcommand)]
    cmd: PinCmd,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
enum PinCmd {
    /// List pinned servers, or one server's pinned tools.
    Show {
        /// Server identity (its command line, as in the audit log's session_start).
        server: Option<String>,
    },
    /// Show what changed since the pin, for servers and packages with pending drift.
    Diff { server: Option<String> },
    /// Accept the pending definitions of a server, or the pending version of a
    /// package (`npm:NAME`, `pypi:NAME`), as the new pin.
    Approve { server: String },
    /// Drop what is pending for a server or package and keep the pin (the
    /// drift stays refused, and is recorded again when it shows again).
    Reject { server: String },
}

fn default_pins() -> PathBuf {
    crate::policy::Vars::from_env(None)
        .state
        .join("vanguard/pins.json")
}

pub fn run(a: PinArgs) -> u8 {
    let store = PinStore::new(&a.pins.unwrap_or_else(default_pins));
    let file = match store.load() {
        Ok(f) => f,
        Err(e) => return fail(EXIT_CONFIG, e),
    };
    match a.cmd {
        PinCmd::Show { server: None } => {
            if file.servers.is_empty() && file.packages.is_empty() {
                println!("no pinned servers in {}", store.path().display());
            }
            for (k, e) in &file.servers {
                let pending = if e.pending.is_some() {
                    "  (drift pending: vanguard pin diff)"
                } else {
                    ""
                };
                println!(
                    "{k}\n    {} tools, pinned {}{pending}",
                    e.pinned.tools.len(),
                    e.pinned_at
                );
            }
            for (k, p) in &file.packages {
                let pending = match &p.pending {
                    Some(v) => format!("  (pending: {}; vanguard pin diff)", v.version),
                    None => String::new(),
                };
                let pinned = if p.pinned.version.is_empty() {
                    "not approved yet".to_string()
                } else {
                    format!(
                        "{} ({} files, tree sha256 {}), pinned {}",
                        p.pinned.version,
                        p.pinned.files,
                        short(&p.pinned.tree_sha256),
                        p.pinned.at
                    )
                };
                println!("{k}\n    package {pinned}{pending}");
            }
            EXIT_OK
        }
        PinCmd::Show { server: Some(s) } if file.packages.contains_key(&s) => {
            if let Some(p) = file.packages.get(&s) {
                print_package_version("pinned", &p.pinned);
                if let Some(v) = &p.pending {
                    print_package_version("pending", v);
                }
                println!("    asked for: {}", p.requested);
            }
            EXIT_OK
        }
        PinCmd::Show { server: Some(s) } => match file.servers.get(&s) {
            Some(e) => {
                println!("{s} (pinned {})", e.pinned_at);
                for (t, h) in &e.pinned.tools {
                    println!("    {t:<40} {}", &h[..h.len().min(16)]);
                }
                EXIT_OK
            }
            None => fail(
                EXIT_CONFIG,
                format!("no pin for server {s:?} in {}", store.path().display()),
            ),
        },
        PinCmd::Diff { server } => {
            let mut any = false;
            for (k, e) in file
                .servers
                .iter()
                .filter(|(k, _)| server.as_ref().is_none_or(|s| s == *k))
            {
                let Some(p) = &e.pending else { continue };
                any = true;
                let d = pinning::diff(&e.pinned.tools, &p.tools);
                println!(
                    "{k} (drift seen {})",
                    e.pending_at.as_deref().unwrap_or("?")
                );
                for n in &d.changed {
                    println!("    changed  {n}");
                }
                for n in &d.added {
                    println!("    added    {n}");
                }
                for n in &d.removed {
                    println!("    removed  {n}");
                }
                if e.pinned.server_info.is_some() && e.pinned.server_info != p.server_info {
                    println!("    changed  serverInfo");
                }
                if e.pinned.capabilities.is_some() && e.pinned.capabilities != p.capabilities {
                    println!("    changed  capabilities");
                }
            }
            for (k, p) in file
                .packages
                .iter()
                .filter(|(k, _)| server.as_ref().is_none_or(|s| s == *k))
            {
                let Some(v) = &p.pending else { continue };
                any = true;
                println!("{k}");
                if p.pinned.version.is_empty() {
                    println!("    new package, not approved yet");
                } else {
                    print_package_version("pinned ", &p.pinned);
                }
                print_package_version("pending", v);
            }
            if !any {
                println!("no pending drift");
            }
            EXIT_OK
        }
        PinCmd::Approve { server } => {
            match store.approve(&server, None, &crate::audit::rfc3339_now()) {
                Ok(Some(Resolved::Package(v))) => {
                    println!(
                        "approved {server} {} (tree sha256 {})",
                        v.version,
                        short(&v.tree_sha256)
                    );
                    EXIT_OK
                }
                Ok(Some(Resolved::Server)) => {
                    println!("approved the current definitions of {server}");
                    EXIT_OK
                }
                Ok(None) => {
                    let what = if file.packages.contains_key(&server) {
                        "package"
                    } else {
                        "server"
                    };
                    fail(
                        EXIT_CONFIG,
                        format!("nothing pending for {what} {server:?}"),
                    )
                }
                Err(e) => fail(EXIT_INTERNAL, e),
            }
        }
        PinCmd::Reject { server } => match store.reject(&server, None) {
            Ok(Some(_)) => {
                println!("rejected what was pending for {server}; the pin stays as it was");
                EXIT_OK
            }
            Ok(None) => fail(EXIT_CONFIG, format!("nothing pending for {server:?}")),
            Err(e) => fail(EXIT_INTERNAL, e),
        },
    }
}

fn short(h: &str) -> &str {
    h.get(..16).unwrap_or(h)
}

fn print_package_version(label: &str, v: &crate::pins::PackageVersion) {
    println!(
        "    {label} {} ({} files, {:.1} MiB) at {}",
        v.version,
        v.files,
        v.bytes as f64 / (1024.0 * 1024.0),
        v.tree.display()
    );
    println!("        tree sha256 {}", v.tree_sha256);
    for i in &v.integrity {
        println!("        registry integrity {i}");
    }
    if let Some(p) = &v.provenance {
        match p.status.as_str() {
            "verified" => println!(
                "        provenance verified: built by {} from {} (log index {}, {})",
                p.workflow.as_deref().unwrap_or("?"),
                p.repository.as_deref().unwrap_or("?"),
                p.log_index.unwrap_or(-1),
                p.signed_at.as_deref().unwrap_or("?")
            ),
            other => println!(
                "        provenance {other}{}",
                p.detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
        }
        if let Some(k) = &p.registry_signature {
            println!("        registry signature {k}");
        }
        if let Some(r) = &p.required {
            println!("        required by [trust.provenance]: {}", r.repository);
        }
    }
}
