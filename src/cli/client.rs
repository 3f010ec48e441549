//! A small MCP client over a child's stdio, for `vanguard demo` and
//! `vanguard eval`: requests with a deadline each, answers to the server's
//! own requests, and a shutdown that leaves no process of the child's group
//! behind.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    next_id: u64,
    closed: bool,
}

/// Why a request got no response.
#[derive(Debug)]
pub enum CallError {
    Timeout,
    Closed,
    Io(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout => write!(f, "no response before the deadline"),
            CallError::Closed => write!(f, "the server closed its output"),
            CallError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl Client {
    /// Spawns `cmd` in a process group of its own.
    pub fn spawn(mut cmd: Command, stderr: Stdio) -> std::io::Result<Client> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0);
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        // Lines that are not JSON (a server's stray logging) are skipped.
                        if let Ok(v) = serde_json::from_str::<Value>(line.trim_end()) {
                            if tx.send(v).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        Ok(Client {
            child,
            stdin,
            lines,
            next_id: 0,
            closed: false,
        })
    }

    fn send(&mut self, msg: &Value) -> Result<(), CallError> {
        let stdin = self.stdin.as_mut().ok_or(CallError::Closed)?;
        let mut line = msg.to_string();
        line.push('\n');
        stdin
            .write_all(line.as_bytes())
            .and_then(|_| stdin.flush())
            .map_err(|e| CallError::Io(format!("writing to the server: {e}")))
    }

    pub fn notify(&mut self, method: &str, params: Value) -> Result<(), CallError> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    /// Sends a request; returns its id and the response (result or error).
    pub fn request(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> (u64, Result<Value, CallError>) {
        self.next_id += 1;
        let id = self.next_id;
        if self.closed {
            return (id, Err(CallError::Closed));
        }
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Err(e) = self.send(&msg) {
            return (id, Err(e));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = match self.lines.recv_timeout(left) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => return (id, Err(CallError::Timeout)),
                Err(RecvTimeoutError::Disconnected) => {
                    self.closed = true;
                    return (id, Err(CallError::Closed));
                }
            };
            if let Some(method) = msg.get("method").and_then(Value::as_str) {
                // A request from the server: answer what a minimal client can.
                if let Some(rid) = msg.get("id") {
                    let reply = match method {
                        "ping" => json!({"jsonrpc": "2.0", "id": rid, "result": {}}),
                        "roots/list" => {
                            json!({"jsonrpc": "2.0", "id": rid, "result": {"roots": []}})
                        }
                        _ => json!({"jsonrpc": "2.0", "id": rid,
                            "error": {"code": -32601, "message": "not supported by vanguard eval"}}),
                    };
                    let _ = self.send(&reply);
                }
                continue;
            }
            if msg.get("id") == Some(&json!(id)) {
                return (id, Ok(msg));
            }
        }
    }

    /// Every item of a paginated list (`tools/list` → `tools`), following
    /// `nextCursor` for at most 20 pages.
    pub fn list_all(
        &mut self,
        method: &str,
        key: &str,
        timeout: Duration,
    ) -> Result<Vec<Value>, String> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..20 {
            let params = match &cursor {
                Some(cur) => json!({"cursor": cur}),
                None => json!({}),
            };
            let (_, r) = self.request(method, params, timeout);
            let resp = r.map_err(|e| e.to_string())?;
            let result = resp
                .get("result")
                .ok_or_else(|| format!("{method}: the server answered with an error: {resp}"))?;
            if let Some(items) = result.get(key).and_then(Value::as_array) {
                all.extend(items.iter().cloned());
            }
            cursor = result
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        Ok(all)
    }

    /// Closes the server's input, gives it `grace` to exit, then kills its
    /// whole process group (before reaping, so the group id cannot have
    /// been reused).
    pub fn shutdown(&mut self, grace: Duration) {
        self.stdin = None;
        let pid = self.child.id();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && !exited(pid) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Ok(pid) = i32::try_from(pid) {
            // SAFETY: kill(2) on the process group this client created at
            // spawn; the leader is not reaped yet, so the id is still ours.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.shutdown(Duration::ZERO);
        }
    }
}

/// Whether the process has exited (a zombie not reaped yet, or gone).
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
        Err(_) => true,
    }
}

/// The text content of a tool result, joined; for an error, its message and data.
pub fn text_of(resp: &Value) -> String {
    if let Some(items) = resp
        .get("result")
        .and_then(|r| r.get("content"))
        .and_then(Value::as_array)
    {
        return items
            .iter()
            .filter_map(|c| c.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
    }
    resp.get("error").map(Value::to_string).unwrap_or_default()
}

/// Whether a tool call failed: a JSON-RPC error or an `isError` result.
pub fn failed(resp: &Value) -> bool {
    resp.get("error").is_some()
        || resp.get("result").and_then(|r| r.get("isError")) == Some(&Value::Bool(true))
}
