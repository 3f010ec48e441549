//! Network allow-list mode end to end, with the real binary: plain clients
//! (curl, python) under `vanguard run --net allowlist`, and the real
//! `mcp-server-fetch` under `vanguard start --net allowlist`.
//!
//! Destinations are test HTTP servers on the host's loopback. They listen on
//! 127.0.0.2, not 127.0.0.1: the sandbox's `NO_PROXY` keeps 127.0.0.1 (the
//! server's own loopback, inside its namespace) off the proxy. Each test
//! asserts what the destination saw (accepted connections, request lines),
//! what the client got, and the audit event.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ------------------------------------------------------------ test origins

/// A tiny HTTP server on 127.0.0.2 that counts connections and records
/// request lines. Responses come from `respond(path)`.
struct Origin {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Origin {
    fn start(respond: fn(&str, SocketAddr) -> Vec<u8>) -> Origin {
        let listener = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (a, r) = (Arc::clone(&accepted), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let r = Arc::clone(&r);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let line = line.trim_end().to_string();
                    loop {
                        let mut h = String::new();
                        match reader.read_line(&mut h) {
                            Ok(0) | Err(_) => break,
                            Ok(_) if h == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let path = line.split(' ').nth(1).unwrap_or("/").to_string();
                    r.lock().expect("lock").push(line);
                    let _ = stream.write_all(&respond(&path, addr));
                });
            }
        });
        Origin {
            addr,
            accepted,
            requests,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }

    fn host_port(&self) -> String {
        self.addr.to_string()
    }
}

fn http_response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// `/robots.txt` → 404, anything else → a small HTML page.
fn page(path: &str, _: SocketAddr) -> Vec<u8> {
    if path == "/robots.txt" {
        return http_response("404 Not Found", "", b"");
    }
    http_response(
        "200 OK",
        "Content-Type: text/html\r\n",
        b"<html><head><title>Egress test</title></head><body><main><h1>Egress test page</h1>\
          <p>The allowed origin answered: marker-7f3a9.</p><p>It is a plain page with enough text \
          for readability to keep it as the main content of the document.</p></main></body></html>",
    )
}

/// 100 KiB of payload, to trip a small byte budget.
fn big(_: &str, _: SocketAddr) -> Vec<u8> {
    http_response("200 OK", "", &vec![b'x'; 100 * 1024])
}

/// Waits until every connection the origin accepted has been recorded, so
/// "never contacted" is not decided while a connection is still on its way.
fn settle() {
    std::thread::sleep(Duration::from_millis(200));
}

// ------------------------------------------------------------ vanguard run

/// A profile in `dir` layered on balanced, with its audit log in `dir`.
fn profile(dir: &Path, network: &str) -> PathBuf {
    let path = dir.join("egress.toml");
    let text = format!(
        "extends = \"balanced\"\n[audit]\npath = \"{}\"\n[network]\nmode = \"allowlist\"\n{network}\n",
        dir.join("audit.jsonl").display()
    );
    std::fs::write(&path, text).expect("write profile");
    path
}

fn run(profile: &Path, extra: &[&str], command: &[&str]) -> Output {
    let out = Command::new(vanguard_bin())
        .arg("run")
        .arg("--profile")
        .arg(profile)
        .args(extra)
        .arg("--")
        .args(command)
        .current_dir(profile.parent().expect("dir"))
        .output()
        .expect("run vanguard");
    eprintln!(
        "vanguard run {command:?}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn curl(url: &str) -> Vec<String> {
    [
        "curl",
        "-sS",
        "-m",
        "10",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        url,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn egress_events(dir: &Path) -> Vec<Value> {
    audit_events(&dir.join("audit.jsonl"))
        .into_iter()
        .filter(|e| e["kind"] == "egress")
        .collect()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn run_allowed_destination_is_reached_through_the_proxy() {
    let origin = Origin::start(page);
    let dir = tempfile::tempdir().expect("tempdir");
    // The destination comes from the command line, the mode from the profile.
    let prof = profile(dir.path(), "allow = []");
    let url = format!("http://{}/hello", origin.host_port());
    let out = run(
        &prof,
        &["--net", "allowlist", "--allow-host", &origin.host_port()],
        &curl(&url).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(out.status.success());
    let body = stdout(&out);
    assert!(body.contains("marker-7f3a9"), "{body}");
    assert!(body.ends_with("\n200"), "{body}");
    // Origin form on the wire: the proxy rewrote the absolute URI.
    assert_eq!(origin.requests(), vec!["GET /hello HTTP/1.1".to_string()]);
    let events = egress_events(dir.path());
    let ev = events.last().expect("an egress event");
    assert_eq!(ev["verdict"], "allow", "{ev}");
    assert_eq!(ev["detail"]["address"], "127.0.0.2", "{ev}");
    assert_eq!(ev["detail"]["port"], origin.addr.port(), "{ev}");
    assert!(
        ev["detail"]["bytes_down"].as_u64().unwrap_or(0) > 200,
        "{ev}"
    );
    assert!(ev["detail"]["bytes_up"].as_u64().unwrap_or(0) > 20, "{ev}");
}

#[test]
fn run_connect_and_socks5_tunnels_reach_an_allowed_destination() {
    let origin = Origin::start(page);
    let dir = tempfile::tempdir().expect("tempdir");
    let prof = profile(dir.path(), &format!("allow = [\"{}\"]", origin.host_port()));
    let url = format!("http://{}/tunnel", origin.host_port());
    // -p: CONNECT even for http (as for https).
    let out = run(&prof, &[], &["curl", "-sS", "-m", "10", "-p", &url]);
    assert!(stdout(&out).contains("marker-7f3a9"));
    let out = run(
        &prof,
        &[],
        &[
            "curl",
            "-sS",
            "-m",
            "10",
            "--socks5-hostname",
            "127.0.0.1:3128",
            &url,
        ],
    );
    assert!(stdout(&out).contains("marker-7f3a9"));
    assert_eq!(origin.accepted(), 2);
    let events = egress_events(dir.path());
    let protocols: Vec<&str> = events
        .iter()
        .map(|e| e["detail"]["protocol"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(protocols, ["http", "socks5"], "{events:?}");
    assert!(events
        .iter()
        .all(|e| e["method"] == "CONNECT" && e["verdict"] == "allow"));
}

#[test]
fn run_unlisted_destination_is_refused_and_never_contacted() {
    let allowed = Origin::start(page);
    let other = Origin::start(page);
    let dir = tempfile::tempdir().expect("tempdir");
    let prof = profile(
        dir.path(),
        &format!("allow = [\"{}\"]", allowed.host_port()),
    );
    let url = format!("http://{}/secret", other.host_port());
    let out = run(
        &prof,
        &[],
        &curl(&url).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let body = stdout(&out);
    assert!(body.ends_with("\n403"), "{body}");
    assert!(body.contains("not on the network allow-list"), "{body}");
    // CONNECT too.
    let out = run(&prof, &[], &["curl", "-sS", "-m", "10", "-p", &url]);
    assert!(!out.status.success());
    settle();
    assert_eq!(other.accepted(), 0, "the unlisted origin was contacted");
    let events = egress_events(dir.path());
    assert_eq!(events.len(), 2, "{events:?}");
    for ev in &events {
        assert_eq!(ev["verdict"], "block", "{ev}");
        assert_eq!(ev["rules"], json!(["EGRESS-NOT-LISTED"]), "{ev}");
        assert_eq!(ev["detail"]["host"], "127.0.0.2", "{ev}");
        assert_eq!(ev["detail"]["port"], other.addr.port(), "{ev}");
        assert_eq!(ev["detail"]["bytes_up"], 0, "{ev}");
    }
}

#[test]
fn run_direct_connections_that_ignore_the_proxy_fail() {
    let origin = Origin::start(page);
    let dir = tempfile::tempdir().expect("tempdir");
    let prof = profile(dir.path(), &format!("allow = [\"{}\"]", origin.host_port()));
    let url = format!("http://{}/direct", origin.host_port());
    let out = run(
        &prof,
        &[],
        &["curl", "-sS", "-m", "10", "--noproxy", "*", &url],
    );
    assert!(!out.status.success(), "a direct connection got through");
    // Raw sockets: the host's address is unreachable from the namespace, and
    // Landlock allows TCP connect to the proxy's port only, and no bind.
    let python = require_env("VANGUARD_TEST_PYTHON");
    let script = format!(
        r#"
import errno, socket
def attempt(f):
    s = socket.socket()
    s.settimeout(5)
    try:
        f(s)
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
print("host", attempt(lambda s: s.connect(("127.0.0.2", {port}))))
print("other-port", attempt(lambda s: s.connect(("127.0.0.1", 9))))
print("bind", attempt(lambda s: s.bind(("127.0.0.1", 8000))))
print("proxy", attempt(lambda s: s.connect(("127.0.0.1", 3128))))
"#,
        port = origin.addr.port()
    );
    let out = run(&prof, &[], &[&python, "-c", &script]);
    let text = stdout(&out);
    // Landlock refuses before the (empty) namespace could.
    assert!(text.contains("host EACCES"), "{text}");
    assert!(
        text.contains("other-port EACCES"),
        "Landlock connect rule: {text}"
    );
    assert!(text.contains("bind EACCES"), "Landlock bind: {text}");
    assert!(text.contains("proxy ok"), "{text}");
    settle();
    assert_eq!(origin.accepted(), 0);
}

#[test]
fn run_metadata_address_is_refused_by_the_proxy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let origin = Origin::start(page);
    let prof = profile(dir.path(), &format!("allow = [\"{}\"]", origin.host_port()));
    let python = require_env("VANGUARD_TEST_PYTHON");
    let script = r#"
import urllib.request, urllib.error
for url in ["http://169.254.169.254/latest/meta-data/", "http://0xa9fea9fe/latest/"]:
    try:
        urllib.request.urlopen(url, timeout=10)
        print("fetched", url)
    except urllib.error.HTTPError as e:
        print("status", e.code, e.headers.get("X-Vanguard-Egress"))
"#;
    let out = run(&prof, &[], &[&python, "-c", script]);
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        ["status 403 denied", "status 403 denied"]
    );
    let events = egress_events(dir.path());
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events
        .iter()
        .all(|e| e["verdict"] == "block" && e["detail"]["port"] == 80));
}

#[test]
fn run_name_resolving_to_loopback_needs_its_address_listed() {
    let origin = Origin::start(page);
    let port = origin.addr.port();
    let url = format!("http://test.internal:{port}/rebound");
    // Only the name: the answer is a loopback address the list does not name.
    let dir = tempfile::tempdir().expect("tempdir");
    let prof = profile(
        dir.path(),
        &format!(
            "allow = [\"test.internal:{port}\"]\nresolve = {{ \"test.internal\" = \"127.0.0.2\" }}"
        ),
    );
    let out = run(
        &prof,
        &[],
        &curl(&url).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let body = stdout(&out);
    assert!(body.ends_with("\n403"), "{body}");
    assert!(body.contains("resolves to 127.0.0.2 (loopback)"), "{body}");
    settle();
    assert_eq!(
        origin.accepted(),
        0,
        "the proxy connected to a loopback answer"
    );
    let ev = egress_events(dir.path()).pop().expect("event");
    assert_eq!(ev["rules"], json!(["EGRESS-INTERNAL-ADDRESS"]), "{ev}");
    assert_eq!(ev["detail"]["host"], "test.internal", "{ev}");
    // Name and address listed: reached.
    let dir = tempfile::tempdir().expect("tempdir");
    let prof = profile(
        dir.path(),
        &format!(
            "allow = [\"test.internal:{port}\", \"127.0.0.2:{port}\"]\nresolve = {{ \"test.internal\" = \"127.0.0.2\" }}"
        ),
    );
    let out = run(
        &prof,
        &[],
        &curl(&url).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(stdout(&out).contains("marker-7f3a9"));
    assert_eq!(origin.accepted(), 1);
    let ev = egress_events(dir.path()).pop().expect("event");
    assert_eq!(ev["verdict"], "allow", "{ev}");
    assert_eq!(ev["detail"]["address"], "127.0.0.2", "{ev}");
}

#[test]
fn run_byte_budget_cuts_a_connection() {
    let origin = Origin::start(big);
    let dir = tempfile::tempdir().expect("tempdir");
    let prof = profile(
        dir.path(),
        &format!(
            "allow = [\"{}\"]\nmax_bytes_per_connection = 10000",
            origin.host_port()
        ),
    );
    let url = format!("http://{}/big", origin.host_port());
    let out = run(
        &prof,
        &[],
        &["sh", "-c", &format!("curl -sS -m 10 {url} | wc -c")],
    );
    let received: u64 = stdout(&out).trim().parse().expect("a byte count");
    assert!(
        received < 10_000,
        "received {received} bytes past a 10000-byte budget"
    );
    assert_eq!(origin.accepted(), 1);
    let ev = egress_events(dir.path()).pop().expect("event");
    assert_eq!(ev["verdict"], "allow", "{ev}");
    assert!(
        ev["rules"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("EGRESS-BUDGET:max_bytes_per_connection"))),
        "{ev}"
    );
    let moved = ev["detail"]["bytes_up"].as_u64().unwrap_or(0)
        + ev["detail"]["bytes_down"].as_u64().unwrap_or(0);
    assert!(moved <= 10_000 + 256 * 1024, "{ev}");
}

// ------------------------------------------------------- mcp-server-fetch

/// The real fetch server under `vanguard start --net allowlist`.
///
/// The test origins are internal addresses (127.0.0.2), which balanced's
/// `NET-002` blocks in any URL; the profile turns it down to `log`, so what
/// is tested is the allow-list (`NET-ALLOWLIST` and the proxy). The fetch
/// server's own private-address guard is off for the same reason.
fn fetch_gateway(extra: &[&str]) -> (Peer, tempfile::TempDir) {
    let python = require_env("VANGUARD_TEST_PYTHON");
    let server = sh_join(&[
        python.as_str(),
        "-m",
        "mcp_server_fetch",
        "--allow-private-ips",
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let prof = dir.path().join("fetch.toml");
    std::fs::write(
        &prof,
        "extends = \"balanced\"\n[rule_actions]\n\"NET-002\" = \"log\"\n",
    )
    .expect("write profile");
    let prof = prof.to_string_lossy().into_owned();
    let mut args = vec!["--profile", prof.as_str(), "--net", "allowlist"];
    args.extend_from_slice(extra);
    let mut peer = Peer::gateway(&server, &args);
    peer.initialize("2025-06-18");
    (peer, dir)
}

#[test]
fn fetch_server_reaches_an_allowed_origin_through_the_proxy() {
    let origin = Origin::start(page);
    let hp = origin.host_port();
    let (mut peer, _profile) = fetch_gateway(&["--allow-host", &hp]);
    let resp = peer.call_tool("fetch", json!({"url": format!("http://{hp}/article")}));
    let text = result_text(&resp);
    assert!(text.contains("marker-7f3a9"), "{resp}");
    assert!(
        origin
            .requests()
            .contains(&"GET /article HTTP/1.1".to_string()),
        "{:?}",
        origin.requests()
    );
    // Two attempts: robots.txt (404), then the page.
    let ev = wait_for_audit_event(peer.audit_log(), |e| {
        e["kind"] == "egress"
            && e["verdict"] == "allow"
            && e["detail"]["bytes_down"].as_u64().unwrap_or(0) > 200
    })
    .expect("an egress event for the page");
    assert_eq!(ev["detail"]["address"], "127.0.0.2", "{ev}");
    assert_eq!(ev["detail"]["port"], origin.addr.port(), "{ev}");
    assert_eq!(ev["detail"]["reason"], "allowed", "{ev}");
    // The connection is linked to the tool call that caused it.
    let call = wait_for_audit_event(peer.audit_log(), |e| {
        e["kind"] == "decision" && e["method"] == "tools/call" && e["tool"] == "fetch"
    })
    .expect("the fetch call's decision event");
    let ids = ev["detail"]["request_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        ids.contains(&call["request_id"]),
        "egress event not linked to call {}: {ev}",
        call["request_id"]
    );
    // The session's L3 risk score is in egress events too.
    assert!(ev["risk"].is_number(), "{ev}");
}

#[test]
fn fetch_of_an_unlisted_or_metadata_url_is_blocked_by_the_inspector() {
    let allowed = Origin::start(page);
    let other = Origin::start(page);
    let (mut peer, _profile) = fetch_gateway(&["--allow-host", &allowed.host_port()]);
    for url in [
        format!("http://{}/x", other.host_port()),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://unlisted.example/".to_string(),
    ] {
        let id = peer.send_request(
            "tools/call",
            json!({"name": "fetch", "arguments": {"url": url}}),
        );
        let resp = peer.expect_response(&id);
        assert_blocked(&resp, &id);
        let ev = wait_for_audit_event(peer.audit_log(), |e| {
            e["kind"] == "decision" && e["request_id"] == id
        })
        .expect("decision event");
        assert!(
            ev["rules"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("NET-ALLOWLIST"))),
            "{url}: {ev}"
        );
    }
    settle();
    assert_eq!(other.accepted(), 0);
    assert_eq!(allowed.accepted(), 0);
    let egress: Vec<Value> = peer
        .audit_events()
        .into_iter()
        .filter(|e| e["kind"] == "egress")
        .collect();
    assert!(egress.is_empty(), "the server tried: {egress:?}");
}

/// A redirect from the allowed origin to an unlisted one: the inspector saw
/// only the allowed URL, so the proxy is the layer that refuses.
fn redirect(path: &str, me: SocketAddr) -> Vec<u8> {
    if path == "/robots.txt" {
        return http_response("404 Not Found", "", b"");
    }
    let _ = me;
    http_response(
        "302 Found",
        &format!("Location: {}\r\n", REDIRECT_TARGET.lock().expect("lock")),
        b"",
    )
}

static REDIRECT_TARGET: Mutex<String> = Mutex::new(String::new());

#[test]
fn fetch_redirect_to_an_unlisted_origin_is_refused_by_the_proxy() {
    let other = Origin::start(page);
    *REDIRECT_TARGET.lock().expect("lock") = format!("http://{}/stolen", other.host_port());
    let origin = Origin::start(redirect);
    let (mut peer, _profile) = fetch_gateway(&["--allow-host", &origin.host_port()]);
    let resp = peer.call_tool(
        "fetch",
        json!({"url": format!("http://{}/start", origin.host_port())}),
    );
    assert_eq!(
        resp.pointer("/result/isError"),
        Some(&json!(true)),
        "{resp}"
    );
    assert!(!result_text(&resp).contains("marker-7f3a9"), "{resp}");
    settle();
    assert_eq!(other.accepted(), 0, "the redirect target was contacted");
    assert!(origin.accepted() >= 1);
    let ev = wait_for_audit_event(peer.audit_log(), |e| {
        e["kind"] == "egress" && e["verdict"] == "block"
    })
    .expect("the proxy's refusal is audited");
    assert_eq!(ev["rules"], json!(["EGRESS-NOT-LISTED"]), "{ev}");
    assert_eq!(ev["detail"]["port"], other.addr.port(), "{ev}");
}

/// A service on the host's own loopback that the operator lists
/// (`127.0.0.1:PORT`: a local database, an API) is reachable from inside
/// the sandbox as listed — directly, as drivers that ignore proxies connect,
/// and through curl with the proxy environment (NO_PROXY sends 127.0.0.1
/// direct) — and every connection is audited. Another port of the same
/// address is not, and its listener never hears of the attempt.
#[test]
fn run_a_listed_host_loopback_port_is_forwarded_into_the_namespace() {
    // An echo service on the host's 127.0.0.1 (a stand-in for Postgres).
    let listed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listed.local_addr().expect("addr").port();
    let served = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&served);
    std::thread::spawn(move || {
        for stream in listed.incoming() {
            let Ok(mut stream) = stream else { continue };
            s.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_ok() {
                    if line.starts_with("GET ") {
                        let _ = stream.write_all(&http_response("200 OK", "", b"from-the-host"));
                    } else {
                        let _ = stream.write_all(format!("echo {line}").as_bytes());
                    }
                }
            });
        }
    });
    let unlisted = TcpListener::bind("127.0.0.1:0").expect("bind");
    let other = unlisted.local_addr().expect("addr").port();
    unlisted.set_nonblocking(true).expect("nonblocking");

    let dir = tempfile::tempdir().expect("tempdir");
    let prof = profile(dir.path(), &format!("allow = [\"127.0.0.1:{port}\"]"));
    let python = require_env("VANGUARD_TEST_PYTHON");
    let script = format!(
        r#"
import errno, socket
def talk(port):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"ping\n")
        return s.recv(100).decode().strip()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
print("listed:", talk({port}))
print("other:", talk({other}))
"#
    );
    let out = run(&prof, &[], &[&python, "-c", &script]);
    let text = stdout(&out);
    assert!(text.contains("listed: echo ping"), "{text}");
    assert!(text.contains("other: EACCES"), "{text}");
    let url = format!("http://127.0.0.1:{port}/health");
    let words = curl(&url);
    let out = run(
        &prof,
        &[],
        &words.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(
        stdout(&out).contains("from-the-host"),
        "curl through NO_PROXY"
    );
    settle();
    assert_eq!(
        served.load(Ordering::SeqCst),
        2,
        "the host service saw both"
    );
    assert!(
        unlisted.accept().is_err(),
        "the unlisted port's listener heard of the attempt"
    );
    let forwards: Vec<Value> = egress_events(dir.path())
        .into_iter()
        .filter(|e| e["detail"]["protocol"] == "forward")
        .collect();
    assert_eq!(forwards.len(), 2, "each forwarded connection is audited");
    assert!(
        forwards
            .iter()
            .all(|e| e["detail"]["port"] == port && e["verdict"] == "allow"),
        "{forwards:?}"
    );
    // explain names the forward.
    let out = Command::new(vanguard_bin())
        .args(["policy", "explain", "--profile"])
        .arg(&prof)
        .output()
        .expect("explain");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("loopback ports {port} are forwarded")),
        "{text}"
    );
}
