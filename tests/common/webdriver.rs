//! A small W3C WebDriver client for Debian's `chromedriver` driving headless
//! `chromium` (both installed by scripts/setup-test-env.sh): enough to load
//! a page, find elements, click, run a script and take a screenshot.

use super::{require_env, wait_until};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The W3C name of an element reference in a response.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless chromium session.
    pub fn start() -> Browser {
        let chromium = require_env("VANGUARD_TEST_CHROMIUM");
        let chromedriver = require_env("VANGUARD_TEST_CHROMEDRIVER");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let ready = wait_until(Duration::from_secs(20), || {
            http.get(format!("{base}/status"))
                .send()
                .ok()
                .and_then(read_json)
                .is_some_and(|v| v["value"]["ready"] == true)
        });
        assert!(ready, "chromedriver at {base} never became ready");
        let profile = tempfile::tempdir().expect("browser profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1400,900",
                    "--no-first-run", "--no-default-browser-check",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .header("content-type", "application/json")
            .body(caps.to_string())
            .send()
            .ok()
            .and_then(read_json)
            .expect("new session");
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {r}"))
            .to_string();
        Browser {
            driver,
            base,
            session,
            http,
            _profile: profile,
        }
    }

    fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let v: Value = req
            .send()
            .ok()
            .and_then(read_json)
            .unwrap_or_else(|| panic!("webdriver {path}: no JSON answer"));
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub fn eval(&self, script: &str, args: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Waits until `script` returns something other than null/false; returns it.
    pub fn wait_for(&self, timeout: Duration, script: &str, args: Value) -> Option<Value> {
        let mut out = None;
        wait_until(timeout, || {
            let v = self.eval(script, args.clone());
            let truthy = !(v.is_null() || v == false);
            if truthy {
                out = Some(v);
            }
            truthy
        });
        out
    }

    /// Clicks the first element matching a CSS selector.
    pub fn click(&self, css: &str) {
        let found = self.cmd(
            reqwest::Method::POST,
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        let id = found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string();
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        );
    }

    /// Saves a PNG screenshot of the window to `path` and returns its bytes.
    pub fn screenshot(&self, path: &Path) -> Vec<u8> {
        use base64::Engine;
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 screenshot"))
            .expect("screenshot decodes");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("artifact dir");
        }
        std::fs::write(path, &png).expect("write screenshot");
        png
    }
}

fn read_json(r: reqwest::blocking::Response) -> Option<Value> {
    serde_json::from_slice(&r.bytes().ok()?).ok()
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
