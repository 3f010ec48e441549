//! The deliberately vulnerable MCP server `vanguard demo` attacks: it
//! reads and writes any path, runs any command and fetches any URL. It is
//! part of the `vanguard` binary (the hidden `demo-server` command) so the
//! demo needs nothing else, and kept out of the library so nothing else can
//! link it.

use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Serves MCP over stdio until EOF. Deliberately unsafe: that is the point.
///
/// `--leave-orphans` (for the container tests): every `tools/call` also
/// leaves an orphan behind the way careless servers do — a child that
/// starts a grandchild and exits at once, so the grandchild is re-parented
/// (to PID 1 in a container) and must be reaped there when it exits.
pub fn serve() -> std::process::ExitCode {
    let mode = std::env::args().nth(2);
    match mode.as_deref() {
        Some("--orphan-parent") => return orphan_parent(),
        Some("--orphan") => {
            std::thread::sleep(Duration::from_millis(200));
            return std::process::ExitCode::SUCCESS;
        }
        _ => {}
    }
    let leave_orphans = mode.as_deref() == Some("--leave-orphans");
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(id) = msg.get("id").cloned() else {
            continue;
        };
        let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
        let result = match method {
            "initialize" => Ok(json!({
                "protocolVersion": msg
                    .get("params")
                    .and_then(|p| p.get("protocolVersion"))
                    .and_then(Value::as_str)
                    .unwrap_or("2025-06-18"),
                "capabilities": { "tools": {} },
                "serverInfo": { "name": "vanguard-demo-server", "version": env!("CARGO_PKG_VERSION") }
            })),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(json!({ "tools": demo_tools() })),
            "tools/call" => {
                if leave_orphans {
                    leave_an_orphan();
                }
                Ok(call_tool(msg.get("params").unwrap_or(&Value::Null)))
            }
            _ => Err(json!({ "code": -32601, "message": format!("Method not found: {method}") })),
        };
        let resp = match result {
            Ok(r) => json!({ "jsonrpc": "2.0", "id": id, "result": r }),
            Err(e) => json!({ "jsonrpc": "2.0", "id": id, "error": e }),
        };
        let mut bytes = serde_json::to_vec(&resp).unwrap_or_default();
        bytes.push(b'\n');
        if out.write_all(&bytes).and_then(|_| out.flush()).is_err() {
            break;
        }
    }
    std::process::ExitCode::SUCCESS
}

/// Runs `demo-server --orphan-parent` and waits for it (so the orphan's
/// parent is reaped here and only the orphan is left).
fn leave_an_orphan() {
    if let Ok(exe) = std::env::current_exe() {
        let _ = Command::new(exe)
            .args(["demo-server", "--orphan-parent"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
    }
}

/// Starts `demo-server --orphan` and exits without waiting for it.
fn orphan_parent() -> std::process::ExitCode {
    if let Ok(exe) = std::env::current_exe() {
        let _ = Command::new(exe)
            .args(["demo-server", "--orphan"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn();
    }
    std::process::ExitCode::SUCCESS
}

fn demo_tools() -> Value {
    let s = |props: Value, req: &[&str]| json!({ "type": "object", "properties": props, "required": req });
    json!([
        { "name": "echo", "description": "Echo a message", "inputSchema": s(json!({"message": {"type": "string"}}), &["message"]) },
        { "name": "read_file", "description": "Read a file", "inputSchema": s(json!({"path": {"type": "string"}}), &["path"]) },
        { "name": "write_file", "description": "Write a file", "inputSchema": s(json!({"path": {"type": "string"}, "content": {"type": "string"}}), &["path", "content"]) },
        { "name": "run_command", "description": "Run a shell command", "inputSchema": s(json!({"command": {"type": "string"}}), &["command"]) },
        { "name": "fetch_url", "description": "HTTP GET a URL", "inputSchema": s(json!({"url": {"type": "string"}}), &["url"]) },
    ])
}

fn text_result(text: String, is_error: bool) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "isError": is_error })
}

fn call_tool(params: &Value) -> Value {
    let args = &params["arguments"];
    let arg = |k: &str| {
        args.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match params.get("name").and_then(Value::as_str).unwrap_or("") {
        "echo" => text_result(format!("Echo: {}", arg("message")), false),
        "read_file" => match std::fs::read_to_string(arg("path")) {
            Ok(t) => text_result(t, false),
            Err(e) => text_result(format!("error: {e}"), true),
        },
        "write_file" => match std::fs::write(arg("path"), arg("content")) {
            Ok(()) => text_result("written".into(), false),
            Err(e) => text_result(format!("error: {e}"), true),
        },
        "run_command" => match Command::new("/bin/sh")
            .arg("-c")
            .arg(arg("command"))
            .stdin(Stdio::null())
            .output()
        {
            Ok(o) => {
                let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
                t.push_str(&String::from_utf8_lossy(&o.stderr));
                text_result(t, !o.status.success())
            }
            Err(e) => text_result(format!("error: {e}"), true),
        },
        "fetch_url" => match http_get(&arg("url")) {
            Ok(t) => text_result(t, false),
            Err(e) => text_result(format!("error: {e}"), true),
        },
        other => text_result(format!("unknown tool {other}"), true),
    }
}

/// A minimal HTTP/1.0 GET for `http://host:port/path` (the demo needs no more).
fn http_get(url: &str) -> std::io::Result<String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other("only http:// URLs"))?;
    let (hostport, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let addr = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}
