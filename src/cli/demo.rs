//! `vanguard demo`: the raw-vs-guarded demonstration. The vulnerable MCP
//! server it attacks is not in the library: it lives in the binary
//! (`src/demo_server.rs`, run as the hidden `vanguard demo-server`).
//!
//! The demo server obeys every call: it reads and writes any path, runs any
//! command and fetches any URL. The demo attacks it three ways — directly,
//! through vanguard with the inspector enforcing, and through vanguard in
//! shadow mode so that only the kernel sandbox stands in the way — and
//! checks each outcome on the machine itself (was the secret's content
//! returned, does the planted file exist, did the listener get a connection).
//!
//! One attack is a sequence that stays inside the workspace: read the
//! project's deploy credentials, then copy them to a shared folder. The
//! kernel cannot tell that from ordinary work; the inspector can (it
//! redacts the password out of the read, and L3 blocks a later call that
//! carries a secret the session read), so the kernel-only column loses
//! that row, and says so.

use super::client::Client;
use super::*;
use serde_json::{json, Value};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Keep the demo's temporary directory instead of deleting it.
    #[arg(long)]
    keep: bool,
    /// Print the JSON-RPC errors vanguard returned.
    #[arg(long)]
    verbose: bool,
}

// -------------------------------------------------------------- the demo

/// A stdio MCP client for the demo.
/// How long the demo waits for one answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts `cmd` and completes the MCP handshake.
fn start(cmd: Command) -> std::io::Result<Client> {
    let mut c = Client::spawn(cmd, Stdio::null())?;
    let init = json!({"protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "vanguard-demo", "version": "1"}});
    c.request("initialize", init, ANSWER_TIMEOUT)
        .1
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    c.notify("notifications/initialized", json!({}))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(c)
}

/// One `tools/call`, answered within [`ANSWER_TIMEOUT`].
fn call(c: &mut Client, tool: &str, args: Value) -> std::io::Result<Value> {
    c.request(
        "tools/call",
        json!({"name": tool, "arguments": args}),
        ANSWER_TIMEOUT,
    )
    .1
    .map_err(|e| std::io::Error::other(e.to_string()))
}

struct Scene {
    dir: PathBuf,
    workspace: PathBuf,
    secret: PathBuf,
    planted: PathBuf,
    /// Where the two-step attack copies the workspace's credentials.
    copied: PathBuf,
    port: u16,
    hits: Arc<AtomicU32>,
}

const SECRET: &str = "AKIA-DEMO-SECRET-7f3a9c";
/// A project secret inside the workspace (deploy/credentials.txt).
const PROJECT_SECRET: &str = "db-deploy-password: Qv7pL2mX9rT4";

impl Scene {
    fn new() -> std::io::Result<Scene> {
        let dir = std::env::temp_dir().join(format!("vanguard-demo-{}", std::process::id()));
        let workspace = dir.join("workspace");
        let outside = dir.join("outside");
        std::fs::create_dir_all(&workspace)?;
        std::fs::create_dir_all(&outside)?;
        std::fs::write(workspace.join("notes.txt"), "meeting at 10\n")?;
        std::fs::create_dir_all(workspace.join("deploy"))?;
        std::fs::create_dir_all(workspace.join("shared"))?;
        std::fs::write(
            workspace.join("deploy/credentials.txt"),
            format!("# production database\n{PROJECT_SECRET}\n"),
        )?;
        let secret = outside.join("credentials.txt");
        std::fs::write(&secret, format!("aws_access_key_id = {SECRET}\n"))?;
        std::os::unix::fs::symlink(&secret, workspace.join("innocent-link.txt"))?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let hits = Arc::new(AtomicU32::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                h.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut s) = s {
                    let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\ninternal admin panel\n");
                }
            }
        });
        Ok(Scene {
            planted: outside.join("planted.txt"),
            copied: workspace.join("shared/notes-for-everyone.txt"),
            dir,
            workspace,
            secret,
            port,
            hits,
        })
    }
}

/// One attack and how to tell whether it worked.
struct Attack {
    name: &'static str,
    /// A call made first, whose result text replaces `{READ}` in `args`.
    before: Option<(&'static str, Value)>,
    tool: &'static str,
    args: Value,
    check: Check,
}

enum Check {
    /// The secret's content came back in the result.
    Leaks,
    /// The planted file exists afterwards.
    Plants,
    /// The loopback listener saw a connection.
    Connects,
    /// The workspace's credentials were copied to the shared folder.
    Copies,
}

fn attacks(s: &Scene) -> Vec<Attack> {
    let secret = s.secret.display().to_string();
    let planted = s.planted.display().to_string();
    let rel = format!(
        "../outside/{}",
        s.secret.file_name().and_then(|n| n.to_str()).unwrap_or("")
    );
    vec![
        Attack {
            before: Some((
                "read_file",
                json!({"path": s.workspace.join("deploy/credentials.txt").display().to_string()}),
            )),
            name: "two steps: read credentials, copy them",
            tool: "write_file",
            args: json!({"path": s.copied.display().to_string(), "content": "{READ}"}),
            check: Check::Copies,
        },
        Attack {
            before: None,
            name: "read outside the workspace (absolute)",
            tool: "read_file",
            args: json!({"path": secret}),
            check: Check::Leaks,
        },
        Attack {
            before: None,
            name: "read via ../ traversal",
            tool: "read_file",
            args: json!({"path": rel}),
            check: Check::Leaks,
        },
        Attack {
            before: None,
            name: "read via a symlink in the workspace",
            tool: "read_file",
            args: json!({"path": "innocent-link.txt"}),
            check: Check::Leaks,
        },
        Attack {
            before: None,
            name: "write outside the workspace",
            tool: "write_file",
            args: json!({"path": planted, "content": "pwned"}),
            check: Check::Plants,
        },
        Attack {
            before: None,
            name: "shell: cat a file outside",
            tool: "run_command",
            args: json!({"command": format!("cat {secret}")}),
            check: Check::Leaks,
        },
        Attack {
            before: None,
            name: "shell: plant a file outside",
            tool: "run_command",
            args: json!({"command": format!("echo pwned > {planted}")}),
            check: Check::Plants,
        },
        Attack {
            before: None,
            name: "fetch an internal URL (127.0.0.1)",
            tool: "fetch_url",
            args: json!({"url": format!("http://127.0.0.1:{}/admin", s.port)}),
            check: Check::Connects,
        },
        Attack {
            before: None,
            name: "fetch via decimal IP (2130706433)",
            tool: "fetch_url",
            args: json!({"url": format!("http://2130706433:{}/admin", s.port)}),
            check: Check::Connects,
        },
        Attack {
            before: None,
            name: "shell: bash /dev/tcp to loopback",
            tool: "run_command",
            args: json!({"command": format!("bash -c 'echo x > /dev/tcp/127.0.0.1/{}'", s.port)}),
            check: Check::Connects,
        },
        Attack {
            before: None,
            name: "shell: python socket to loopback",
            tool: "run_command",
            args: json!({"command": format!("python3 -c \"import socket;socket.create_connection(('127.0.0.1',{}))\"", s.port)}),
            check: Check::Connects,
        },
    ]
}

#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    /// The attack had its effect.
    Succeeded,
    /// vanguard's inspector refused it with a JSON-RPC error.
    Blocked,
    /// The call went through but the effect did not happen (the kernel said no).
    Denied,
    Error,
}

impl Outcome {
    fn cell(self) -> &'static str {
        match self {
            Outcome::Succeeded => "ATTACK WORKED",
            Outcome::Blocked => "blocked (inspector)",
            Outcome::Denied => "denied (kernel)",
            Outcome::Error => "error",
        }
    }
}

fn attempt(client: &mut Client, s: &Scene, a: &Attack, verbose: bool) -> (Outcome, String) {
    let _ = std::fs::remove_file(&s.planted);
    let _ = std::fs::remove_file(&s.copied);
    let mut args = a.args.clone();
    let mut redacted = false;
    if let Some((tool, first)) = &a.before {
        let read = match call(client, tool, first.clone()) {
            Ok(r) => r,
            Err(e) => return (Outcome::Error, e.to_string()),
        };
        let text = read
            .get("result")
            .and_then(|r| r.get("content"))
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("text"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        redacted = text.contains("[REDACTED:");
        if let Some(m) = args.as_object_mut() {
            for v in m.values_mut() {
                if v == "{READ}" {
                    *v = Value::String(text.clone());
                }
            }
        }
    }
    let before = s.hits.load(Ordering::SeqCst);
    let resp = match call(client, a.tool, args) {
        Ok(r) => r,
        Err(e) => return (Outcome::Error, e.to_string()),
    };
    std::thread::sleep(Duration::from_millis(50));
    let worked = match a.check {
        Check::Leaks => resp.to_string().contains(SECRET),
        Check::Plants => s.planted.exists(),
        Check::Connects => s.hits.load(Ordering::SeqCst) > before,
        Check::Copies => {
            std::fs::read_to_string(&s.copied).is_ok_and(|t| t.contains(PROJECT_SECRET))
        }
    };
    let note = if verbose {
        resp.get("error").map(|e| e.to_string()).unwrap_or_default()
    } else {
        String::new()
    };
    let _ = std::fs::remove_file(&s.planted);
    let _ = std::fs::remove_file(&s.copied);
    if worked {
        (Outcome::Succeeded, note)
    } else if redacted && resp.get("error").is_none() {
        // The copy was made, of what the agent saw: the secret was
        // redacted out of the read before it reached the agent.
        (
            Outcome::Blocked,
            if verbose {
                "the read's secret was redacted before the agent saw it".into()
            } else {
                "redacted".into()
            },
        )
    } else if resp
        .get("error")
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64)
        == Some(crate::protocol::errors::POLICY_BLOCKED)
    {
        let rule = resp
            .get("error")
            .and_then(|e| e.get("data"))
            .and_then(|d| d.get("rule"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        (Outcome::Blocked, if verbose { note } else { rule })
    } else {
        (Outcome::Denied, note)
    }
}

pub fn run(a: DemoArgs) -> u8 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(EXIT_INTERNAL, format!("cannot find my own executable: {e}")),
    };
    let scene = match Scene::new() {
        Ok(s) => s,
        Err(e) => {
            return fail(
                EXIT_INTERNAL,
                format!("cannot set up the demo directory: {e}"),
            )
        }
    };
    let server = |c: &mut Command| {
        c.arg("demo-server").current_dir(&scene.workspace);
    };
    let raw = {
        let mut c = Command::new(&exe);
        server(&mut c);
        c
    };
    let guarded = |mode: &str| {
        let mut c = Command::new(&exe);
        let server_cmd = format!(
            "{} demo-server",
            shlex::try_quote(&exe.to_string_lossy()).unwrap_or_default()
        );
        c.args([
            "start",
            "--server",
            &server_cmd,
            "--profile",
            "balanced",
            "--mode",
            mode,
            "--audit-log",
        ])
        .arg(scene.dir.join(format!("audit-{mode}.jsonl")))
        .arg("--workspace")
        .arg(&scene.workspace)
        .current_dir(&scene.workspace);
        c
    };
    let columns: Vec<(&str, Command)> = vec![
        ("raw server", raw),
        ("vanguard (inspector + kernel)", guarded("enforce")),
        ("vanguard shadow (kernel only)", guarded("shadow")),
    ];
    let list = attacks(&scene);
    let mut table: Vec<Vec<(Outcome, String)>> = vec![Vec::new(); list.len()];
    let mut headers = Vec::new();
    for (name, cmd) in columns {
        headers.push(name);
        match start(cmd) {
            Ok(mut client) => {
                for (row, at) in table.iter_mut().zip(&list) {
                    row.push(attempt(&mut client, &scene, at, a.verbose));
                }
            }
            Err(e) => {
                for row in table.iter_mut() {
                    row.push((Outcome::Error, format!("could not start: {e}")));
                }
            }
        }
    }
    print_table(&scene, &headers, &list, &table);
    if !a.keep {
        let _ = std::fs::remove_dir_all(&scene.dir);
    } else {
        println!("\nkept {}", scene.dir.display());
    }
    // The kernel-only column is expected to lose the in-workspace sequence
    // (only the inspector's L3 sees it); every other guarded cell must hold.
    let guarded_failures = table
        .iter()
        .zip(&list)
        .filter(|(r, at)| {
            r.iter().enumerate().skip(1).any(|(col, (o, _))| {
                *o == Outcome::Succeeded && !(col == 2 && matches!(at.check, Check::Copies))
            })
        })
        .count();
    if guarded_failures > 0 {
        println!("\n{guarded_failures} attack(s) got through a guarded column on this machine (see `vanguard doctor`).");
        return EXIT_INTERNAL;
    }
    EXIT_OK
}

fn print_table(s: &Scene, headers: &[&str], list: &[Attack], table: &[Vec<(Outcome, String)>]) {
    println!("vanguard demo: a server that obeys every call, attacked raw and through vanguard");
    println!(
        "workspace: {}   secret outside it: {}\n",
        s.workspace.display(),
        s.secret.display()
    );
    let w0 = list.iter().map(|a| a.name.len()).max().unwrap_or(10).max(6);
    let w = 30;
    print!("{:<w0$}", "attack");
    for h in headers {
        print!(" | {h:<w$}");
    }
    println!();
    println!("{}", "-".repeat(w0 + headers.len() * (w + 3)));
    for (a, row) in list.iter().zip(table) {
        print!("{:<w0$}", a.name);
        for (o, note) in row {
            let cell = if note.is_empty() || *o == Outcome::Succeeded {
                o.cell().to_string()
            } else {
                format!("{} {}", o.cell(), note)
            };
            let cell: String = cell.chars().take(w).collect();
            print!(" | {cell:<w$}");
        }
        println!();
    }
    let count = |col: usize| {
        table
            .iter()
            .filter(|r| r.get(col).map(|c| c.0) == Some(Outcome::Succeeded))
            .count()
    };
    println!();
    for (i, h) in headers.iter().enumerate() {
        println!("{h}: {} of {} attacks worked", count(i), list.len());
    }
    println!(
        "\nthe two-step copy stays inside the workspace, so the kernel allows it; \
         the inspector redacts the password out of the read before the agent sees it, \
         and L3 blocks any later call that carries a secret the session read (BEH-EXFIL)"
    );
}
