//! `vanguard eval` against real servers: the official ones (filesystem,
//! given `{outside}` too so the raw run really reaches the canary;
//! everything, memory, git, fetch, time), the naive shell server fixture and
//! the obey server fixture (runs any code, fetches any URL, reads and writes
//! any file). Raw must show effects where the server really is naive,
//! guarded none, kernel-only none but what only the inspector can see
//! (two-step leaks), ordinary calls must keep working guarded, and eval must
//! exit with status 0.

mod common;
use common::*;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn eval(args: &[&str]) -> Output {
    Command::new(vanguard_bin())
        .arg("eval")
        .args(args)
        .output()
        .expect("run vanguard eval")
}

fn eval_json(server: &str, extra: &[&str]) -> (Value, Output) {
    eval_json_env(server, extra, &[])
}

fn eval_json_env(server: &str, extra: &[&str], env: &[(&str, &str)]) -> (Value, Output) {
    let mut args = vec!["--server", server, "--json"];
    args.extend_from_slice(extra);
    let out = Command::new(vanguard_bin())
        .arg("eval")
        .args(&args)
        .envs(env.iter().copied())
        .output()
        .expect("run vanguard eval");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "eval --json is not JSON ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

fn attack<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["attacks"]
        .as_array()
        .expect("attacks array")
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no attack {id} in the report"))
}

fn applicable(report: &Value) -> Vec<&Value> {
    report["attacks"]
        .as_array()
        .expect("attacks array")
        .iter()
        .filter(|a| a["applicable"] == true)
        .collect()
}

/// The structure CI relies on.
fn check_structure(report: &Value) {
    assert_eq!(report["vanguard_eval"], 1, "{report}");
    assert_eq!(report["catalogue_version"], 1, "{report}");
    assert!(report["seconds"].as_f64().is_some(), "{report}");
    let modes = report["modes"].as_array().expect("modes");
    let keys: Vec<&str> = modes.iter().filter_map(|m| m["mode"].as_str()).collect();
    assert_eq!(keys, ["raw", "guarded", "kernel_only"], "{report}");
    for m in modes {
        assert_eq!(m["started"], true, "a mode did not start: {m}");
        for k in [
            "attacks",
            "effect",
            "stopped_by_inspector",
            "stopped_by_kernel",
            "errors",
        ] {
            assert!(m["totals"][k].is_u64(), "totals.{k} missing: {m}");
        }
    }
    assert!(!report["tools"].as_array().expect("tools").is_empty());
    for a in report["attacks"].as_array().expect("attacks") {
        for k in ["id", "class", "title", "kind", "effect_check"] {
            assert!(a[k].is_string(), "attack.{k} missing: {a}");
        }
        if a["applicable"] == true {
            assert!(a["target"]["tool"].is_string(), "{a}");
            for mode in ["raw", "guarded", "kernel_only"] {
                let c = &a["results"][mode];
                assert!(c["effect"].is_boolean(), "{mode} result of {a}");
                assert!(c["status"].is_string(), "{mode} result of {a}");
            }
        }
    }
    for k in ["raw_effects", "guarded_effects", "kernel_only_effects"] {
        assert!(report["summary"][k].is_u64(), "summary.{k}: {report}");
    }
    assert!(report["benign"].is_array());
}

/// Guarded: no effect anywhere, and every attack has who stopped it.
/// Kernel-only: effects only where the catalogue says only the inspector sees.
fn check_guarded_holds(report: &Value) {
    assert_eq!(report["summary"]["guarded_effects"], 0, "{report:#}");
    assert_eq!(report["passed"], true);
    for a in applicable(report) {
        let g = &a["results"]["guarded"];
        assert_eq!(g["effect"], false, "guarded effect: {a:#}");
        assert!(
            g["stopped_by"].is_string(),
            "guarded without a stopper: {a:#}"
        );
        if g["stopped_by"] == "inspector" {
            assert!(
                g["rule"].is_string(),
                "inspector stop without a rule: {a:#}"
            );
        }
        let k = &a["results"]["kernel_only"];
        if k["effect"] == true {
            assert_eq!(
                a["inspector_only"], true,
                "kernel-only effect the kernel should have stopped: {a:#}"
            );
        }
    }
    assert_eq!(
        report["summary"]["kernel_only_unexpected"],
        serde_json::json!([]),
        "{report:#}"
    );
}

fn benign_ok(report: &Value, tool: &str, mode: &str) -> bool {
    report["benign"]
        .as_array()
        .expect("benign")
        .iter()
        .find(|b| b["tool"] == tool)
        .unwrap_or_else(|| panic!("no benign result for {tool}"))["results"][mode]["ok"]
        == true
}

#[test]
fn list_prints_the_versioned_catalogue() {
    let out = eval(&["--list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("version 1"), "{text}");
    for id in [
        "path-read-absolute",
        "path-read-traversal",
        "path-read-symlink",
        "path-read-file-url",
        "path-write-git-config",
        "cmd-connect-python",
        "url-hex",
        "url-mapped-v6",
        "two-step-copy",
        "tool-env-dump",
        "compromised-script-read",
        "text-injection-task",
    ] {
        assert!(text.contains(id), "--list lacks {id}:\n{text}");
    }
    assert!(text.contains("text/task"), "{text}");
    // --only with a name the catalogue lacks is a configuration error.
    let out = eval(&[
        "--only",
        "prompt-injection,no-such-attack",
        "--server",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-attack"), "{err}");
    assert!(!err.contains("prompt-injection,"), "{err}");
}

#[test]
fn filesystem_server_raw_leaks_guarded_holds() {
    let server = format!(
        "{} {{workspace}} {{outside}}",
        sh_join(&[
            require_env("VANGUARD_TEST_NODE"),
            require_env("VANGUARD_TEST_SERVER_FILESYSTEM"),
        ])
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let html = dir.path().join("report.html");
    let html_arg = html.to_string_lossy().into_owned();
    let (r, out) = eval_json(&server, &["--html", &html_arg]);
    assert!(
        out.status.success(),
        "eval failed:\n{r:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_structure(&r);
    check_guarded_holds(&r);

    // Raw: the server was given {outside}, so the canary comes back.
    for id in [
        "path-read-absolute",
        "path-read-traversal",
        "path-read-symlink",
        "path-write-absolute",
        "path-write-symlink",
        "path-write-git-config",
        "two-step-copy",
    ] {
        assert_eq!(
            attack(&r, id)["results"]["raw"]["effect"],
            true,
            "raw {id}: {r:#}"
        );
    }
    assert!(
        r["summary"]["raw_effects"].as_u64().unwrap_or(0) >= 10,
        "{r:#}"
    );
    // Guarded: the inspector refuses the paths with its zone rules.
    let g = &attack(&r, "path-read-absolute")["results"]["guarded"];
    assert_eq!(g["stopped_by"], "inspector", "{g}");
    assert_eq!(g["rule"], "ZONE-READ", "{g}");
    assert!(g["event_id"].is_string(), "{g}");
    assert_eq!(
        attack(&r, "path-write-git-config")["results"]["guarded"]["rule"],
        "ZONE-PROTECTED"
    );
    // Kernel-only: the inspector only records; the kernel holds the zones,
    // and the audit log says what the inspector would have done.
    let k = &attack(&r, "path-read-absolute")["results"]["kernel_only"];
    assert_eq!(k["stopped_by"], "kernel", "{k}");
    assert!(
        k["would_block"]
            .as_array()
            .is_some_and(|w| w.iter().any(|x| x == "ZONE-READ")),
        "{k}"
    );
    // The two-step copy stays inside the workspace: only the inspector sees it.
    assert_eq!(
        attack(&r, "two-step-copy")["results"]["kernel_only"]["effect"],
        true,
        "{r:#}"
    );

    // Benign work keeps working guarded.
    for tool in [
        "read_text_file",
        "write_file",
        "list_directory",
        "edit_file",
        "move_file",
    ] {
        assert!(benign_ok(&r, tool, "raw"), "raw benign {tool}: {r:#}");
        assert!(
            benign_ok(&r, tool, "guarded"),
            "guarded benign {tool}: {r:#}"
        );
    }
    assert_eq!(
        r["summary"]["false_positives"],
        serde_json::json!([]),
        "{r:#}"
    );

    // The HTML page: a bar chart per mode and the table.
    let page = std::fs::read_to_string(&html).expect("html report written");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert_eq!(page.matches("<svg").count(), 3, "{page}");
    assert!(page.contains("<table id=\"attacks\">"), "{page}");
    assert!(page.contains("path-read-absolute"), "{page}");
    assert!(page.contains("ZONE-READ"), "{page}");
    assert!(
        !page.contains("<script"),
        "the page must be self-contained and static"
    );

    // The page as a reader sees it, in Debian's headless chromium: one
    // row per applicable attack, the three charts drawn, the guarded cell
    // of an attack the inspector stopped coloured and naming the rule.
    let browser = common::webdriver::Browser::start();
    browser.goto(&format!("file://{}", html.display()));
    let seen = browser.eval(
        "const rows = [...document.querySelectorAll('#attacks tr')].slice(1);
         const charts = [...document.querySelectorAll('svg')]
             .filter(s => s.getBoundingClientRect().width > 0 && s.getBoundingClientRect().height > 0).length;
         const row = rows.find(r => r.cells[0].textContent === 'path-read-absolute');
         const head = [...document.querySelectorAll('#attacks th')].map(t => t.textContent);
         const g = row ? row.cells[head.findIndex(h => h.startsWith('guarded'))] : null;
         return {rows: rows.length, charts: charts, cls: g ? g.className : null, text: g ? g.textContent : null,
                 bg: g ? getComputedStyle(g).backgroundColor : null};",
        serde_json::json!([]),
    );
    assert_eq!(seen["rows"], applicable(&r).len(), "{seen}");
    assert_eq!(seen["charts"], 3, "{seen}");
    assert_eq!(seen["cls"], "inspector", "{seen}");
    assert!(
        seen["text"].as_str().unwrap_or("").contains("ZONE-READ"),
        "{seen}"
    );
    assert_ne!(seen["bg"], "rgba(0, 0, 0, 0)", "the style applies: {seen}");
    let png = browser.screenshot(&repo_root().join("target/test-artifacts/eval-report.png"));
    assert!(png.starts_with(b"\x89PNG"));

    let secs = r["seconds"].as_f64().unwrap_or(f64::MAX);
    eprintln!("eval of server-filesystem, three modes: {secs:.1} s");
    assert!(secs < 120.0, "eval took {secs:.1} s");
}

#[test]
fn shell_server_raw_executes_guarded_holds() {
    let server = python_fixture_cmd("shell_server.py", &[]);
    let (r, out) = eval_json(&server, &[]);
    assert!(
        out.status.success(),
        "eval failed:\n{r:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_structure(&r);
    check_guarded_holds(&r);
    for id in [
        "cmd-read-outside",
        "cmd-write-outside",
        "cmd-git-config",
        "cmd-env",
        "cmd-connect-python",
        "cmd-background-process",
        "two-step-shell-copy",
    ] {
        assert_eq!(
            attack(&r, id)["results"]["raw"]["effect"],
            true,
            "raw {id}: {r:#}"
        );
    }
    // Paths inside a command line are the kernel's to hold.
    let g = &attack(&r, "cmd-read-outside")["results"]["guarded"];
    assert_eq!(g["stopped_by"], "kernel", "{g}");
    let k = &attack(&r, "cmd-connect-python")["results"]["kernel_only"];
    assert_eq!(k["stopped_by"], "kernel", "{k}");
    // Path attacks do not apply to a server without path arguments.
    assert_eq!(attack(&r, "path-read-absolute")["applicable"], false);
    assert!(benign_ok(&r, "run", "raw"), "{r:#}");
    assert!(benign_ok(&r, "run", "guarded"), "{r:#}");
    // Nothing the attacks started outlives the run.
    let left = pids_with_arg("sleep 60; : eval-");
    assert!(left.is_empty(), "processes left running: {left:?}");
}

#[test]
fn terminal_report_and_failing_exit_status() {
    // A profile with the zones and the sandbox switched off: "guarded"
    // then holds nothing, and eval must say so with a non-zero status.
    let dir = tempfile::tempdir().expect("temp dir");
    let weak = dir.path().join("weak.toml");
    std::fs::write(
        &weak,
        "extends = \"balanced\"\n[zones]\nenabled = false\n[sandbox]\nlevel = \"off\"\n",
    )
    .expect("write profile");
    let server = format!(
        "{} {{workspace}} {{outside}}",
        sh_join(&[
            require_env("VANGUARD_TEST_NODE"),
            require_env("VANGUARD_TEST_SERVER_FILESYSTEM"),
        ])
    );
    let out = eval(&["--server", &server, "--profile", path_str(&weak)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL:"), "{text}");
    assert!(
        text.contains("attack") && text.contains("raw (no vanguard)"),
        "{text}"
    );
    assert!(text.contains("EFFECT"), "{text}");
    assert!(text.contains("benign calls"), "{text}");
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

// ------------------------------------------------- the rest of the matrix

/// Runs eval, checks what every server must satisfy (status 0, the JSON
/// structure, guarded holds, no false positive guarded or kernel-only, at
/// least one ordinary call that really worked) and returns the report.
fn eval_server(label: &str, server: &str, extra: &[&str], env: &[(&str, &str)]) -> Value {
    let (r, out) = eval_json_env(server, extra, env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "eval of {label} failed:\n{r:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_structure(&r);
    check_guarded_holds(&r);
    for k in ["false_positives", "kernel_only_false_positives"] {
        assert_eq!(
            r["summary"][k],
            serde_json::json!([]),
            "{label}: {k}:\n{:#}",
            r["benign"]
        );
    }
    let secs = r["seconds"].as_f64().unwrap_or(f64::MAX);
    let modes: Vec<String> = r["modes"]
        .as_array()
        .expect("modes")
        .iter()
        .map(|m| {
            format!(
                "{} {}/{}",
                m["mode"], m["totals"]["effect"], m["totals"]["attacks"]
            )
        })
        .collect();
    eprintln!(
        "eval of {label}: {} applicable attacks, effects {}, {secs:.1} s",
        applicable(&r).len(),
        modes.join(", ")
    );
    r
}

/// Every listed tool's ordinary call worked raw, guarded and kernel-only.
fn check_benign(r: &Value, tools: &[&str]) {
    for tool in tools {
        for mode in ["raw", "guarded", "kernel_only"] {
            assert!(
                benign_ok(r, tool, mode),
                "{mode} benign {tool}:\n{:#}",
                r["benign"]
            );
        }
    }
}

fn raw_effect(r: &Value, ids: &[&str]) {
    for id in ids {
        assert_eq!(
            attack(r, id)["results"]["raw"]["effect"],
            true,
            "raw {id}: {:#}",
            attack(r, id)
        );
    }
}

fn stopped_by(r: &Value, id: &str, mode: &str, who: &str) {
    let c = &attack(r, id)["results"][mode];
    assert_eq!(c["stopped_by"], who, "{mode} {id}: {c:#}");
}

#[test]
fn everything_server_fetches_loopback_raw_guarded_holds() {
    // trigger-long-running-operation's ordinary call takes its default
    // 10 s; a short timeout keeps the run short (it fails in every mode alike).
    let server = sh_join(&[
        require_env("VANGUARD_TEST_NODE"),
        require_env("VANGUARD_TEST_SERVER_EVERYTHING"),
    ]);
    let r = eval_server("server-everything", &server, &["--timeout", "3"], &[]);
    // gzip-file-as-resource fetches any URL: the loopback canary, whatever
    // the spelling, raw; NET-00x guarded; the kernel without the inspector.
    raw_effect(&r, &["url-loopback", "url-hex", "url-decimal"]);
    for id in ["url-loopback", "url-localhost"] {
        let g = &attack(&r, id)["results"]["guarded"];
        assert_eq!(g["rule"], "NET-002", "{g}");
        stopped_by(&r, id, "kernel_only", "kernel");
    }
    for id in ["url-hex", "url-decimal", "url-mapped-v6"] {
        assert_eq!(attack(&r, id)["results"]["guarded"]["rule"], "NET-003");
    }
    // get-env takes no argument and dumps the environment: the canary
    // variable raw, scrubbed from the sandboxed server's environment.
    raw_effect(&r, &["tool-env-dump", "text-injection-relay"]);
    stopped_by(&r, "tool-env-dump", "kernel_only", "kernel");
    // Injected orders sent through echo: refused in the arguments guarded;
    // the kernel cannot tell text from text.
    let g = &attack(&r, "text-injection-relay")["results"]["guarded"];
    assert_eq!(g["stopped_by"], "inspector", "{g:#}");
    let k = &attack(&r, "text-injection-relay")["results"]["kernel_only"];
    assert_eq!(k["effect"], true, "{k:#}");
    assert_eq!(r["summary"]["kernel_only_effects"], 1, "{r:#}");
    check_benign(
        &r,
        &[
            "echo",
            "get-sum",
            "get-env",
            "get-structured-content",
            "get-tiny-image",
        ],
    );
}

#[test]
fn memory_server_with_its_profile_keeps_working_guarded() {
    // The server keeps its graph next to its code by default, and the
    // package tree is read-only in the sandbox: vanguard recognises the
    // package behind `node …/dist/index.js` and sets MEMORY_FILE_PATH into
    // the workspace, as it does for `npx`, with the default profile. The
    // raw run gets a scratch file instead of writing into the test
    // environment's package tree.
    let dir = tempfile::tempdir().expect("temp dir");
    let raw_file = dir.path().join("memory.json");
    let server = sh_join(&[
        require_env("VANGUARD_TEST_NODE"),
        require_env("VANGUARD_TEST_SERVER_MEMORY"),
    ]);
    let r = eval_server(
        "server-memory",
        &server,
        &[],
        &[("MEMORY_FILE_PATH", path_str(&raw_file))],
    );
    // No argument takes a path, URL, command or code: nothing to attack.
    assert!(applicable(&r).is_empty(), "{r:#}");
    check_benign(
        &r,
        &[
            "create_entities",
            "create_relations",
            "add_observations",
            "delete_entities",
            "delete_observations",
            "delete_relations",
            "read_graph",
            "search_nodes",
            "open_nodes",
        ],
    );
}

#[test]
fn git_server_on_the_workspace_repository() {
    // eval's workspace is a valid (empty) git repository: mcp-server-git
    // refuses to start on anything else.
    let server = format!(
        "{} --repository {{workspace}}",
        sh_quote(&venv_bin("mcp-server-git"))
    );
    let r = eval_server("mcp-server-git", &server, &[], &[]);
    // repo_path is the only path argument; the server itself refuses
    // repositories outside --repository, the inspector refuses the paths.
    let ids: Vec<&str> = applicable(&r)
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(ids.contains(&"path-read-absolute"), "{ids:?}");
    for a in applicable(&r) {
        assert_eq!(a["target"]["argument"], "repo_path", "{a:#}");
        // The planted document is inside the workspace: a zone rule has
        // nothing to say about it (the server refuses it as no repository).
        if a["id"].as_str().is_some_and(|id| id.starts_with("path-")) {
            assert_eq!(a["results"]["guarded"]["rule"], "ZONE-READ", "{a:#}");
        }
    }
    assert_eq!(r["summary"]["raw_effects"], 0, "{r:#}");
    check_benign(
        &r,
        &[
            "git_status",
            "git_diff_unstaged",
            "git_diff_staged",
            "git_add",
        ],
    );
}

#[test]
fn fetch_server_refuses_loopback_itself_guarded_holds() {
    let r = eval_server("mcp-server-fetch", &venv_bin("mcp-server-fetch"), &[], &[]);
    // mcp-server-fetch resolves the host and refuses internal addresses
    // itself: no effect raw; guarded the inspector refuses first.
    assert_eq!(r["summary"]["raw_effects"], 0, "{r:#}");
    for id in [
        "url-loopback",
        "url-hex",
        "url-decimal",
        "url-mapped-v6",
        "url-file",
    ] {
        stopped_by(&r, id, "raw", "server");
        stopped_by(&r, id, "guarded", "inspector");
    }
    assert_eq!(
        attack(&r, "url-file")["results"]["guarded"]["rule"],
        "ZONE-READ"
    );
    // Its one tool needs a URL: guarded and kernel-only, it fetches eval's
    // loopback origin under a public-looking name the allow-list names
    // (the egress proxy resolves it); raw has no route to that name.
    let b = &r["benign"][0];
    assert_eq!(b["tool"], "fetch", "{b}");
    assert_eq!(b["results"]["guarded"]["ok"], true, "{b}");
    assert_eq!(b["results"]["kernel_only"]["ok"], true, "{b}");
    assert!(b["results"]["raw"]["ok"].is_null(), "{b}");
}

#[test]
fn time_server_has_nothing_to_attack_and_keeps_working() {
    let r = eval_server("mcp-server-time", &venv_bin("mcp-server-time"), &[], &[]);
    assert!(applicable(&r).is_empty(), "{r:#}");
    check_benign(&r, &["get_current_time", "convert_time"]);
}

#[test]
fn obey_server_raw_does_anything_guarded_holds() {
    let server = python_fixture_cmd("obey_server.py", &[]);
    let r = eval_server("obey_server.py", &server, &[], &[]);
    // Raw: it reads, writes, runs and fetches whatever it is told.
    raw_effect(
        &r,
        &[
            "path-read-absolute",
            "path-read-traversal",
            "path-read-symlink",
            "path-write-absolute",
            "path-write-symlink",
            "path-write-git-config",
            "code-read-outside",
            "code-connect",
            "url-loopback",
            "url-localhost",
            "url-hex",
            "url-decimal",
            "url-file",
            "two-step-copy",
            "two-step-url-send",
        ],
    );
    // A compromised project script, a planted document, a task in plain
    // language: raw, all take effect.
    raw_effect(
        &r,
        &[
            "compromised-module-read",
            "compromised-module-connect",
            "text-injection-document",
            "text-injection-task",
        ],
    );
    // Kernel-only: the kernel holds everything leaving the zones; only what
    // stays in the workspace gets through (the two-step copy, the injected
    // document: both marked inspector-only).
    let mut through = Vec::new();
    for a in applicable(&r) {
        if a["results"]["kernel_only"]["effect"] == true {
            assert_eq!(a["inspector_only"], true, "{a:#}");
            through.push(a["id"].as_str().unwrap_or_default().to_string());
        }
    }
    through.sort();
    assert_eq!(
        through,
        ["text-injection-document", "two-step-copy"],
        "{r:#}"
    );
    for id in [
        "compromised-module-read",
        "compromised-module-connect",
        "text-injection-task",
    ] {
        stopped_by(&r, id, "kernel_only", "kernel");
    }
    for id in [
        "code-read-outside",
        "code-connect",
        "url-loopback",
        "url-hex",
        "url-file",
        "two-step-url-send",
        "path-read-absolute",
    ] {
        stopped_by(&r, id, "kernel_only", "kernel");
    }
    // Guarded: refused before the server acts.
    for (id, rule) in [
        ("path-read-absolute", "ZONE-READ"),
        ("path-write-absolute", "ZONE-WRITE"),
        ("path-write-git-config", "ZONE-PROTECTED"),
        ("url-loopback", "NET-002"),
        ("url-hex", "NET-003"),
        ("url-file", "ZONE-READ"),
    ] {
        let g = &attack(&r, id)["results"]["guarded"];
        assert_eq!(g["stopped_by"], "inspector", "{id}: {g}");
        assert_eq!(g["rule"], rule, "{id}: {g}");
    }
    check_benign(
        &r,
        &[
            "run_python",
            "read_any_file",
            "write_any_file",
            "carry_out_task",
        ],
    );
    // Its URL tool fetched eval's origin under the allow-listed name; raw
    // has no route to that name, so no ordinary call is made there.
    for mode in ["guarded", "kernel_only"] {
        assert!(
            benign_ok(&r, "fetch_url", mode),
            "{mode}: {:#}",
            r["benign"]
        );
    }
}

#[test]
fn a_compromised_project_script_is_held_by_the_kernel_alone() {
    // The call only runs a script of the project; the script, rewritten by
    // a compromised dependency, does the harm. A fresh session per run
    // (`--only`): nothing the inspector learnt earlier stands in the way.
    let server = python_fixture_cmd("shell_server.py", &[]);
    let r = eval_server(
        "shell_server.py",
        &server,
        &["--only", "compromised-server"],
        &[],
    );
    let ids: Vec<&str> = applicable(&r)
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "compromised-script-read",
            "compromised-script-write",
            "compromised-script-send",
            "compromised-script-env"
        ],
        "{r:#}"
    );
    for id in ids {
        assert_eq!(
            attack(&r, id)["results"]["raw"]["effect"],
            true,
            "{id}: {r:#}"
        );
        stopped_by(&r, id, "guarded", "kernel");
        stopped_by(&r, id, "kernel_only", "kernel");
    }
}

#[test]
fn injected_instructions_in_a_document_are_refused_in_results() {
    let server = sh_join(&[
        require_env("VANGUARD_TEST_NODE"),
        require_env("VANGUARD_TEST_SERVER_FILESYSTEM"),
        "{workspace}".to_string(),
    ]);
    let r = eval_server(
        "server-filesystem",
        &server,
        &["--only", "prompt-injection"],
        &[],
    );
    let a = attack(&r, "text-injection-document");
    assert_eq!(a["results"]["raw"]["effect"], true, "{a:#}");
    // Only the inspector reads text: the kernel lets a workspace file through.
    assert_eq!(a["results"]["kernel_only"]["effect"], true, "{a:#}");
    let g = &a["results"]["guarded"];
    assert_eq!(g["stopped_by"], "inspector", "{g:#}");
    assert!(
        g["rule"]
            .as_str()
            .is_some_and(|r| r.starts_with("RESULT-INJ")),
        "{g:#}"
    );
    assert!(g["event_id"].is_string(), "{g:#}");
}

fn venv_bin(name: &str) -> String {
    Path::new(&require_env("VANGUARD_TEST_VENV"))
        .join("bin")
        .join(name)
        .to_string_lossy()
        .into_owned()
}
