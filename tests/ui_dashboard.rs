//! `vanguard ui` in a real browser (Debian's headless chromium through
//! chromedriver): the page loads behind its token, a call that `vanguard
//! start` blocked appears within 2 s with its rule and redacted arguments
//! (rendered as text, never as HTML), and approving a pending pin from the
//! page changes the pin file. Plus the HTTP guards a browser cannot show:
//! no token, a foreign `Host`, a cross-site or token-less POST.

mod common;

use common::webdriver::Browser;
use common::*;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "ui-test-token-0123456789abcdef";
/// A secret in a refused call's arguments: the page must show it redacted.
const SECRET: &str = "AKIAQ7R2MZ5TN3XW8YLV";
/// Markup in a refused call's arguments: the page must show it as text.
const MARKUP: &str = "<img src=x onerror=\"document.title='pwned'\">";

struct Ui {
    child: Child,
    base: String,
    login: String,
}

impl Ui {
    fn start(logs: &[&Path], pins: &Path) -> Ui {
        let mut cmd = Command::new(vanguard_bin());
        cmd.arg("ui").arg("--port").arg("0").arg("--pins").arg(pins);
        for l in logs {
            cmd.arg("--audit-log").arg(l);
        }
        let mut child = cmd
            .env("VANGUARD_UI_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn vanguard ui");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("vanguard ui prints its address");
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .trim_end_matches('/')
            .to_string();
        let login = format!("{base}/login?token={TOKEN}");
        Ui { child, base, login }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn artifact(name: &str) -> PathBuf {
    repo_root().join("target/test-artifacts").join(name)
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[test]
fn the_dashboard_refuses_without_its_token_a_foreign_host_and_cross_site_posts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let pins = dir.path().join("pins.json");
    std::fs::write(&log, "").expect("log");
    let ui = Ui::start(&[&log], &pins);
    let c = http();
    let url = |p: &str| format!("{}{p}", ui.base);

    assert_eq!(c.get(url("/health")).send().expect("health").status(), 200);
    // No token: the data and the page are refused.
    for p in [
        "/",
        "/api/events",
        "/api/pins",
        "/api/sessions",
        "/api/stream",
    ] {
        let r = c.get(url(p)).send().expect("get");
        assert_eq!(r.status(), 401, "{p} without a token");
    }
    let wrong = c
        .get(url("/login?token=not-the-token-at-all"))
        .send()
        .expect("login");
    assert_eq!(wrong.status(), 401);
    // The printed URL signs in: an HttpOnly, SameSite=Strict cookie.
    let ok = c.get(&ui.login).send().expect("login");
    assert_eq!(ok.status(), 303);
    let cookie = ok.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().expect("name=value").to_string();
    let page = c
        .get(url("/"))
        .header("cookie", &cookie)
        .send()
        .expect("page");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let html = page.text().expect("html");
    let csrf = html
        .split("name=\"vanguard-csrf\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page carries a CSRF token")
        .to_string();
    assert!(!html.contains("<script>"), "no inline script");

    // DNS rebinding: a foreign Host is refused even with the token.
    let r = c
        .get(url("/api/events"))
        .header("host", "evil.example")
        .header("cookie", &cookie)
        .send()
        .expect("get");
    assert_eq!(r.status(), 403);

    // State changes need the CSRF header, our origin and a JSON body.
    let post = |headers: &[(&str, &str)], body: &str| {
        let mut r = c
            .post(url("/api/pins/approve"))
            .header("cookie", &cookie)
            .body(body.to_string());
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send().expect("post")
    };
    let body = r#"{"key":"x","digest":"y"}"#;
    let json_ct = ("content-type", "application/json");
    let r = post(&[json_ct], body);
    assert_eq!(r.status(), 403, "no CSRF header");
    let r = post(&[json_ct, ("x-vanguard-csrf", "guess")], body);
    assert_eq!(r.status(), 403, "wrong CSRF token");
    let r = post(
        &[
            json_ct,
            ("x-vanguard-csrf", &csrf),
            ("origin", "http://evil.example"),
        ],
        body,
    );
    assert_eq!(r.status(), 403, "foreign origin");
    let r = post(
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-vanguard-csrf", &csrf),
        ],
        body,
    );
    assert_eq!(r.status(), 403, "a form post");
    // Everything right, nothing pending: a conflict, the pin file untouched.
    let r = post(&[json_ct, ("x-vanguard-csrf", &csrf)], body);
    assert_eq!(r.status(), 409);
    assert!(!pins.exists() || std::fs::read_to_string(&pins).is_ok());
    // A bearer token works for scripts.
    let r = c
        .get(url("/api/info"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .expect("info");
    assert_eq!(r.status(), 200);
}

/// The rug-pull fixture behind `vanguard start`, its pin drifted: the
/// changed tool is refused with PIN-DRIFT. Returns the pin key.
fn drift_a_pin(peer: &mut Peer, pins: &Path) -> String {
    peer.initialize("2025-06-18");
    peer.request("tools/list", json!({}));
    let r = peer.call_tool("add", json!({"a": 1, "b": 1}));
    assert!(r.get("result").is_some(), "{r}");
    peer.recv_method("notifications/tools/list_changed", Duration::from_secs(5))
        .expect("list_changed relayed");
    let refused = wait_until(Duration::from_secs(10), || {
        let id = peer.send_request(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
        );
        let r = peer.expect_response(&id);
        r["error"]["data"]["rule"] == "PIN-DRIFT"
    });
    assert!(refused, "the drifted tool was never refused");
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(pins).expect("pins")).expect("json");
    let (key, entry) = file["servers"]
        .as_object()
        .and_then(|m| m.iter().next())
        .expect("a pinned server");
    assert!(!entry["pending"].is_null(), "drift pending: {file}");
    key.clone()
}

#[test]
fn a_blocked_call_appears_live_and_a_pending_pin_is_approved_from_the_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path().join("ws");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&ws).expect("ws");
    std::fs::create_dir_all(&outside).expect("outside");
    let pins = dir.path().join("pins.json");
    let pins_arg = pins.to_string_lossy().into_owned();

    // Two gateways, as an operator runs them: the official filesystem
    // server, and a server that changes a tool under its users.
    let code = npm_servers_dir();
    let mut fs = Peer::gateway_in(
        Some(&ws),
        &filesystem_cmd(&[&ws, &outside]),
        &["--workspace", &ws.to_string_lossy(), "--read", &code],
    );
    fs.initialize("2025-06-18");
    let record = dir.path().join("upstream.jsonl");
    let mut rug = Peer::gateway(
        &python_fixture_cmd(
            "hostile_server.py",
            &["--record", &record.to_string_lossy()],
        ),
        &[
            "--profile",
            "balanced",
            "--pins",
            &pins_arg,
            "--write",
            &dir.path().to_string_lossy(),
        ],
    );
    // A shell server in shadow mode: the inspector lets `cat` of an
    // outside file through, the kernel refuses it.
    let secret_file = dir.path().join("outside-notes.txt");
    std::fs::write(&secret_file, "outside content").expect("outside file");
    let mut shell = Peer::gateway(
        &python_fixture_cmd("shell_server.py", &[]),
        &["--mode", "shadow", "--workspace", &ws.to_string_lossy()],
    );
    shell.initialize("2025-06-18");
    let ui = Ui::start(&[fs.audit_log(), rug.audit_log(), shell.audit_log()], &pins);

    let browser = Browser::start();
    browser.goto(&ui.login);
    let live = browser.wait_for(
        Duration::from_secs(15),
        "return document.getElementById('status').dataset.state === 'live';",
        json!([]),
    );
    assert!(live.is_some(), "the page never went live");

    // A refused write outside the workspace, carrying a secret and markup.
    let target = outside.join("planted.txt");
    let r = fs.call_tool(
        "write_file",
        json!({"path": target.to_string_lossy(), "content": format!("key {SECRET} {MARKUP}")}),
    );
    let answered = Instant::now();
    assert_eq!(r["error"]["code"], POLICY_BLOCKED, "{r}");
    assert!(!target.exists(), "nothing written");
    let event_id = r["error"]["data"]["event_id"]
        .as_str()
        .expect("event id")
        .to_string();
    let row = browser.wait_for(
        Duration::from_secs(2),
        "const tr = [...document.querySelectorAll('#decisions-body tr')]
             .find(t => t.dataset.eventId === arguments[0]);
         return tr ? [...tr.cells].map(c => c.textContent) : null;",
        json!([event_id]),
    );
    let seen_after = answered.elapsed();
    let row = row.unwrap_or_else(|| {
        panic!("the blocked call {event_id} did not appear within 2 s ({seen_after:?})")
    });
    let cells: Vec<String> = row
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| c.as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(cells[1], "block", "{cells:?}");
    assert!(cells[4].contains("write_file"), "{cells:?}");
    assert!(cells[5].contains("ZONE-WRITE"), "{cells:?}");
    let args = &cells[8];
    assert!(args.contains("[REDACTED:aws-access-key]"), "{args}");
    assert!(
        !args.contains(SECRET),
        "the secret reached the page: {args}"
    );
    assert!(args.contains("<img src=x"), "markup shown as text: {args}");
    let dom = browser.eval(
        "return [document.title, document.querySelectorAll('#decisions-body img').length];",
        json!([]),
    );
    assert_eq!(dom, json!(["vanguard dashboard", 0]), "markup was not run");
    let png = browser.screenshot(&artifact("ui-dashboard-decisions.png"));
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);

    // Filtering: only blocked calls.
    browser.eval(
        "document.getElementById('f-verdict').value = 'block,shadow_block';
         document.getElementById('f-apply').click(); return true;",
        json!([]),
    );
    let verdicts = browser
        .wait_for(
            Duration::from_secs(5),
            "const v = [...document.querySelectorAll('#decisions-body tr')].map(t => t.dataset.verdict);
             return v.length > 0 && document.getElementById('status').dataset.state === 'live' ? v : null;",
            json!([]),
        )
        .expect("filtered rows");
    assert!(
        verdicts
            .as_array()
            .expect("list")
            .iter()
            .all(|v| v == "block"),
        "{verdicts}"
    );

    browser.click("#f-clear");

    // Sessions: the filesystem session with its blocked call.
    browser.click("#tab-sessions");
    let session = wait_for_audit_event(fs.audit_log(), |e| e["event_id"] == event_id.as_str())
        .expect("the blocked call's audit event")["session_id"]
        .as_str()
        .expect("session id")
        .to_string();
    let blocked = browser.wait_for(
        Duration::from_secs(5),
        "const tr = [...document.querySelectorAll('#sessions-body tr')]
             .find(t => t.dataset.session === arguments[0]);
         return tr ? tr.cells[7].textContent : null;",
        json!([session]),
    );
    assert_eq!(
        blocked,
        Some(json!("1")),
        "the session shows one blocked call"
    );

    // A kernel denial: the tab names it, with the path in its detail.
    let r = shell.call_tool(
        "run",
        json!({"command": format!("cat {}", secret_file.display())}),
    );
    assert!(
        !r.to_string().contains("outside content"),
        "the kernel let it through: {r}"
    );
    browser.click("#tab-kernel");
    let denial = browser.wait_for(
        Duration::from_secs(5),
        "const tr = [...document.querySelectorAll('#kernel-body tr')]
             .find(t => t.cells[1].textContent === 'kernel denial');
         return tr ? tr.cells[5].textContent : null;",
        json!([]),
    );
    let denial = denial.expect("no kernel denial on the page");
    assert!(
        denial.as_str().unwrap_or("").contains("outside-notes.txt"),
        "the denial names the path: {denial}"
    );

    // A pin drifts; the page lists it; Approve makes it the pin.
    let key = drift_a_pin(&mut rug, &pins);
    browser.click("#tab-pins");
    let listed = browser.wait_for(
        Duration::from_secs(8),
        "const tr = [...document.querySelectorAll('#pins-body tr')].find(t => t.dataset.key === arguments[0]);
         return tr && tr.querySelector('button.approve') ? tr.cells[2].textContent : null;",
        json!([key]),
    );
    let listed = listed.expect("the pending pin is listed with an Approve button");
    assert!(
        listed.as_str().unwrap_or("").contains("changed: add"),
        "{listed}"
    );
    browser.screenshot(&artifact("ui-dashboard-pins.png"));
    browser.eval(
        "const tr = [...document.querySelectorAll('#pins-body tr')].find(t => t.dataset.key === arguments[0]);
         tr.querySelector('button.approve').click(); return true;",
        json!([key]),
    );
    let message = browser.wait_for(
        Duration::from_secs(5),
        "const m = document.getElementById('pins-message'); return m.dataset.ok === '1' ? m.textContent : null;",
        json!([]),
    );
    assert!(
        message.is_some_and(|m| m.as_str().unwrap_or("").starts_with("approved")),
        "the page reports the approval"
    );
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&pins).expect("pins")).expect("json");
    assert!(file["servers"][&key]["pending"].is_null(), "{file}");
    let diff = Command::new(vanguard_bin())
        .args(["pin", "diff", "--pins", &pins_arg])
        .output()
        .expect("vanguard pin diff");
    assert!(
        String::from_utf8_lossy(&diff.stdout).contains("no pending drift"),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );
}
