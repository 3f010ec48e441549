//! Defence in depth, end to end: real MCP servers behind `vanguard start
//! --mode shadow`, where the inspector decides and logs but forwards
//! everything, so the kernel sandbox is the only thing in the way.
//!
//! Each scenario asserts both halves of the design: the inspector saw the
//! attack (a `shadow_block` audit event for that request) AND the kernel
//! held (the secret never reached the agent, the file was not written, the
//! listener never accepted). Each also has positive calls inside the zones,
//! so a broken server cannot pass for a confined one, and a control run with
//! `--sandbox off` showing that the same calls do succeed without the kernel.

mod common;

use common::{
    everything_cmd, filesystem_cmd, python_fixture_cmd, result_text, vanguard_bin,
    wait_for_audit_event, wait_until, Peer,
};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A gateway in shadow mode with its own audit log and XDG state directory
/// (so tool pins from other runs cannot hide tools), plus extra environment.
struct Shadow {
    peer: Peer,
    audit: PathBuf,
    _state: tempfile::TempDir,
}

impl Shadow {
    fn start(server_cmd: &str, args: &[&str], env: &[(&str, &str)]) -> Shadow {
        let state = tempfile::Builder::new()
            .prefix("vanguard-test-state-")
            .tempdir()
            .expect("temp dir");
        let audit = state.path().join("audit.jsonl");
        let mut words: Vec<String> = vec![
            "env".into(),
            format!("XDG_STATE_HOME={}", state.path().display()),
        ];
        words.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        words.extend(
            [
                vanguard_bin().to_string_lossy().as_ref(),
                "start",
                "--mode",
                "shadow",
                "--server",
                server_cmd,
                "--audit-log",
                path_str(&audit),
            ]
            .map(String::from),
        );
        words.extend(args.iter().map(|a| a.to_string()));
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let mut peer = Peer::direct(&words);
        peer.initialize("2025-06-18");
        // The inspector refuses calls to tools it never saw listed.
        let list = peer.request("tools/list", json!({}));
        assert!(list["result"]["tools"].is_array(), "tools/list: {list}");
        Shadow {
            peer,
            audit,
            _state: state,
        }
    }

    fn call(&mut self, tool: &str, arguments: Value) -> (Value, Value) {
        let id = self
            .peer
            .send_request("tools/call", json!({"name": tool, "arguments": arguments}));
        let resp = self.peer.expect_response(&id);
        (id, resp)
    }

    /// The inspector judged request `id` a block (forwarded in shadow
    /// mode) with one of `rules`.
    fn assert_shadow_blocked(&self, id: &Value, rules: &[&str], what: &str) {
        let event = wait_for_audit_event(&self.audit, |e| {
            e["request_id"] == *id && e["verdict"] == "shadow_block"
        })
        .unwrap_or_else(|| {
            panic!(
                "{what}: no shadow_block audit event for request {id}; events:\n{}",
                common::audit_events(&self.audit)
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        let listed = event["rules"].as_array().cloned().unwrap_or_default();
        assert!(
            listed.iter().any(|r| rules.iter().any(|want| r == want)),
            "{what}: shadow_block by {listed:?}, expected one of {rules:?}: {event}"
        );
    }

    /// Some audit event for request `id` lists `rule`.
    fn assert_event_with_rule(&self, id: &Value, rule: &str, what: &str) {
        let found = wait_for_audit_event(&self.audit, |e| {
            e["request_id"] == *id
                && e["rules"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x == rule))
        });
        assert!(
            found.is_some(),
            "{what}: no audit event with {rule} for request {id}"
        );
    }

    /// No line the agent received contains `needle`.
    fn assert_never_seen(&self, needle: &str, what: &str) {
        for line in self.peer.transcript() {
            assert!(
                !String::from_utf8_lossy(line).contains(needle),
                "{what}: `{needle}` reached the agent: {}",
                String::from_utf8_lossy(line)
            );
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A value no file or environment on the machine holds by accident.
fn nonce(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{label}-{}-{nanos}", std::process::id())
}

/// Whether a tool call failed, as a JSON-RPC error or an `isError` result.
fn failed(resp: &Value) -> bool {
    resp.get("error").is_some() || resp["result"]["isError"] == true
}

/// `root` (handed to the server whole), `root/ws` (the workspace: the only
/// zone), a secret outside the zone and a note inside it.
struct Layout {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ws: PathBuf,
    /// Outside every zone; named so that only the zones, not a file-name
    /// rule, make the inspector object to it.
    outside: PathBuf,
    secret: String,
    inside: PathBuf,
    note: String,
}

impl Layout {
    fn new() -> Layout {
        let dir = tempfile::Builder::new()
            .prefix("vanguard-test-did-")
            .tempdir()
            .expect("temp dir");
        let root = std::fs::canonicalize(dir.path()).expect("canonical temp dir");
        let ws = root.join("ws");
        std::fs::create_dir(&ws).expect("mkdir ws");
        let outside = root.join("outside-notes.txt");
        let secret = nonce("outside-content");
        std::fs::write(&outside, &secret).expect("write outside file");
        let inside = ws.join("notes.txt");
        let note = nonce("inside-content");
        std::fs::write(&inside, &note).expect("write inside file");
        Layout {
            _dir: dir,
            root,
            ws,
            outside,
            secret,
            inside,
            note,
        }
    }

    fn workspace_args(&self) -> [&str; 2] {
        ["--workspace", path_str(&self.ws)]
    }
}

// ------------------------------------------------- (a) server-filesystem

/// server-filesystem is given the whole scratch root, the zones only `ws`:
/// the server itself would serve the outside file, the kernel must not.
#[test]
fn filesystem_server_with_a_broader_root_cannot_leave_the_zones() {
    let t = Layout::new();
    let link = t.ws.join("link-to-outside");
    std::os::unix::fs::symlink(&t.outside, &link).expect("symlink");
    let server = filesystem_cmd(&[&t.root]);
    let mut g = Shadow::start(&server, &t.workspace_args(), &[]);

    // Inside the zone the server works: reads and writes succeed.
    let (_, resp) = g.call("read_text_file", json!({"path": path_str(&t.inside)}));
    assert!(
        result_text(&resp).contains(&t.note),
        "a read inside the workspace failed: {resp}"
    );
    // An existing file: to create a new one the server lists its own root
    // (to match Unicode spellings), which is outside the zones.
    let existing = t.ws.join("existing.txt");
    std::fs::write(&existing, "before").expect("write existing file");
    let (_, resp) = g.call(
        "write_file",
        json!({"path": path_str(&existing), "content": "rewritten inside"}),
    );
    assert!(
        !failed(&resp),
        "a write inside the workspace failed: {resp}"
    );
    assert_eq!(
        std::fs::read_to_string(&existing).ok().as_deref(),
        Some("rewritten inside")
    );

    // Reads outside: directly, through a symlink in the zone, through `..`.
    let dotdot = format!("{}/../{}", path_str(&t.ws), "outside-notes.txt");
    for (what, path) in [
        ("read outside", path_str(&t.outside).to_string()),
        ("read through a symlink", path_str(&link).to_string()),
        ("read through ..", dotdot),
    ] {
        let (id, resp) = g.call("read_text_file", json!({"path": path}));
        assert!(failed(&resp), "{what}: the call succeeded: {resp}");
        assert!(
            !resp.to_string().contains(&t.secret),
            "{what}: the outside content came back: {resp}"
        );
        g.assert_shadow_blocked(&id, &["ZONE-READ"], what);
    }

    // Writes outside: a new file, a new file through `..`, and an existing
    // outside file through the symlink.
    let planted = t.root.join("planted.txt");
    let planted_dotdot = t.root.join("planted-dotdot.txt");
    let writes = [
        ("write outside", path_str(&planted).to_string()),
        (
            "write through ..",
            format!("{}/../planted-dotdot.txt", path_str(&t.ws)),
        ),
        ("write through a symlink", path_str(&link).to_string()),
    ];
    for (what, path) in writes {
        let (id, resp) = g.call(
            "write_file",
            json!({"path": path, "content": "planted by the test"}),
        );
        assert!(failed(&resp), "{what}: the call succeeded: {resp}");
        g.assert_shadow_blocked(&id, &["ZONE-WRITE"], what);
    }
    assert!(!planted.exists(), "a file was planted outside the zones");
    assert!(
        !planted_dotdot.exists(),
        "a file was planted outside the zones through .."
    );
    assert_eq!(
        std::fs::read_to_string(&t.outside).ok().as_deref(),
        Some(t.secret.as_str()),
        "the outside file was overwritten through the symlink"
    );
    g.assert_never_seen(&t.secret, "filesystem server");

    // Control: without the kernel sandbox the same server does read it.
    let mut off = Shadow::start(
        &server,
        &[t.workspace_args().as_slice(), &["--sandbox", "off"]].concat(),
        &[],
    );
    let (_, resp) = off.call("read_text_file", json!({"path": path_str(&t.outside)}));
    assert!(
        result_text(&resp).contains(&t.secret),
        "control: the unsandboxed server did not read the outside file, so the \
         denials above prove nothing: {resp}"
    );
}

// --------------------------------------------- (b) a naive shell server

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.set_nonblocking(true).expect("nonblocking listener");
    let port = l.local_addr().expect("local addr").port();
    (l, port)
}

fn accepted(l: &TcpListener) -> bool {
    match l.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    }
}

fn connect_command(port: u16) -> String {
    format!(
        "python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5); print('CONNECTED')\""
    )
}

/// tests/fixtures/shell_server.py runs whatever it is given with /bin/sh.
#[test]
fn shell_server_cannot_read_outside_or_connect_out() {
    let t = Layout::new();
    let server = python_fixture_cmd("shell_server.py", &[]);
    let (l, port) = listener();
    // A repository's configuration, there before the server starts (the
    // kernel binds protected paths that exist at start; one created later
    // is the inspector's alone to refuse).
    std::fs::create_dir_all(t.ws.join(".git")).expect("mkdir .git");
    std::fs::write(t.ws.join(".git/config"), "[core]\n").expect("write config");
    let mut g = Shadow::start(&server, &t.workspace_args(), &[]);

    // The shell and python3 work inside the sandbox.
    let (_, resp) = g.call("run", json!({"command": "echo shell-ok-$((6*7))"}));
    assert!(result_text(&resp).contains("shell-ok-42"), "{resp}");
    let (_, resp) = g.call(
        "run",
        json!({"command": "python3 -c \"print('python-' + 'ok')\""}),
    );
    assert!(
        result_text(&resp).contains("python-ok"),
        "python3 does not run in the sandbox, so the network check below would prove nothing: {resp}"
    );
    let (_, resp) = g.call(
        "run",
        json!({"command": format!("cat {}", path_str(&t.inside))}),
    );
    assert!(result_text(&resp).contains(&t.note), "{resp}");

    let (id, resp) = g.call(
        "run",
        json!({"command": format!("cat {}", path_str(&t.outside))}),
    );
    let out = result_text(&resp);
    assert!(
        !out.contains(&t.secret),
        "cat outside: the content came back: {resp}"
    );
    // Landlock answers EACCES; with the minimal root the file does not
    // exist for the server at all.
    assert!(
        out.contains("Permission denied") || out.contains("No such file or directory"),
        "cat outside: {resp}"
    );
    // The inspector does not hold paths inside a command line to the zones;
    // the kernel's refusal is attributed to the call instead.
    g.assert_event_with_rule(&id, "KERNEL-DENIAL", "cat outside");

    // Modes, times and git's configuration: effects Landlock alone does not
    // stop; the minimal root (and the protected paths) do. Shadow mode lets
    // each call through, so only the kernel stands in the way.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::set_permissions(&t.outside, std::fs::Permissions::from_mode(0o600))
        .expect("chmod outside");
    let mtime = std::fs::metadata(&t.outside).expect("stat").mtime();
    let (_, resp) = g.call(
        "run",
        json!({"command": format!(
            "chmod 666 {0}; touch -d 2001-01-01 {0}; printf '\\tfsmonitor = touch /tmp/x\\n' >> {1}",
            path_str(&t.outside),
            path_str(&t.ws.join(".git/config"))
        )}),
    );
    let meta = std::fs::metadata(&t.outside).expect("stat");
    assert_eq!(meta.mode() & 0o777, 0o600, "chmod outside happened: {resp}");
    assert_eq!(meta.mtime(), mtime, "touch outside happened: {resp}");
    assert_eq!(
        std::fs::read_to_string(t.ws.join(".git/config")).expect("config"),
        "[core]\n",
        ".git/config changed: {resp}"
    );

    // Nothing in the inspector looks at an address inside a python one-liner:
    // this one is the kernel's alone.
    let (_, resp) = g.call("run", json!({"command": connect_command(port)}));
    let out = result_text(&resp);
    assert!(
        !out.contains("CONNECTED"),
        "connect: python connected: {resp}"
    );
    assert!(
        out.contains("Error"),
        "connect: python did not fail with a socket error: {resp}"
    );
    assert!(
        !accepted(&l),
        "connect: the host listener accepted a connection from the sandbox"
    );
    g.assert_never_seen(&t.secret, "shell server");

    // Control: without the kernel sandbox both succeed.
    let mut off = Shadow::start(
        &server,
        &[t.workspace_args().as_slice(), &["--sandbox", "off"]].concat(),
        &[],
    );
    let (_, resp) = off.call(
        "run",
        json!({"command": format!("cat {}", path_str(&t.outside))}),
    );
    assert!(
        result_text(&resp).contains(&t.secret),
        "control cat: {resp}"
    );
    let (_, resp) = off.call("run", json!({"command": connect_command(port)}));
    assert!(
        result_text(&resp).contains("CONNECTED"),
        "control connect: {resp}"
    );
    assert!(
        wait_until(Duration::from_secs(5), || accepted(&l)),
        "control: the connection never arrived"
    );
}

// ------------------------------------- (c) server-everything's environment

/// vanguard's environment holds a secret; the server sees only the
/// allow-list plus what the profile passes with `[server] env`.
#[test]
fn server_environment_is_scrubbed_to_the_allow_list() {
    let t = Layout::new();
    let profile = t.root.join("passes-env.toml");
    std::fs::write(
        &profile,
        "extends = \"balanced\"\n[server]\nenv = [\"VANGUARD_TEST_PASSED\"]\n",
    )
    .expect("write profile");
    let secret = nonce("hunter2");
    let passed = nonce("passed");
    let env = [
        ("VANGUARD_TEST_SECRET", secret.as_str()),
        ("VANGUARD_TEST_PASSED", passed.as_str()),
    ];
    let server = everything_cmd();
    let args = [
        "--profile",
        path_str(&profile),
        "--workspace",
        path_str(&t.ws),
    ];
    let mut g = Shadow::start(&server, &args, &env);
    let (_, resp) = g.call("get-env", json!({}));
    let out = result_text(&resp);
    assert!(
        out.contains(&passed),
        "the variable passed by the profile is missing: {resp}"
    );
    assert!(
        !out.contains("VANGUARD_TEST_SECRET") && !out.contains(&secret),
        "a variable outside the allow-list reached the server: {resp}"
    );
    g.assert_never_seen(&secret, "get-env");

    // Control: without the sandbox the environment is passed whole.
    let mut off = Shadow::start(
        &server,
        &[args.as_slice(), &["--sandbox", "off"]].concat(),
        &env,
    );
    let (_, resp) = off.call("get-env", json!({}));
    assert!(
        result_text(&resp).contains(&secret),
        "control: get-env does not show the gateway's environment: {resp}"
    );
}
