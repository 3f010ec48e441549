//! `vanguard risk show|reset`: the L3 risk of running sessions, through
//! their gateways' control sockets (see `gateway::control`).

use super::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum RiskCmd {
    /// The running sessions of this user's gateways with their risk scores.
    Show {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Sets a session's risk score to zero (the session id is in the
    /// audit log, in `vanguard risk show` and in a BEH-RISK block's hint).
    Reset {
        /// The session id, or `--all`.
        session: Option<String>,
        /// Every session of every gateway of this user.
        #[arg(long, conflicts_with = "session")]
        all: bool,
    },
}

/// Sends `req` to every live control socket; returns the answers.
fn ask_all(req: &Value) -> Result<Vec<Value>, String> {
    let dir = crate::gateway::control::socket_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut answers = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "sock") {
            continue;
        }
        match ask(&path, req) {
            Ok(a) => answers.push(a),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                // The gateway that made it is gone.
                let _ = std::fs::remove_file(&path);
            }
            Err(e) => eprintln!("vanguard: {}: {e}", path.display()),
        }
    }
    Ok(answers)
}

fn ask(path: &std::path::Path, req: &Value) -> std::io::Result<Value> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut line = req.to_string();
    line.push('\n');
    s.write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(std::io::Error::other)
}

pub fn run(cmd: RiskCmd) -> u8 {
    match cmd {
        RiskCmd::Show { json } => {
            let answers = match ask_all(&json!({"op": "sessions"})) {
                Ok(a) => a,
                Err(e) => return fail(EXIT_INTERNAL, e),
            };
            let sessions: Vec<Value> = answers
                .iter()
                .flat_map(|a| {
                    let pid = a["pid"].clone();
                    a["sessions"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |mut s| {
                            // As `s["pid"] = pid`: null becomes an object; an
                            // entry that is not an object is kept as it is.
                            if s.is_null() {
                                s = Value::Object(Default::default());
                            }
                            if let Some(fields) = s.as_object_mut() {
                                fields.insert("pid".to_owned(), pid.clone());
                            }
                            s
                        })
                })
                .collect();
            if json {
                println!("{}", Value::Array(sessions));
                return EXIT_OK;
            }
            if sessions.is_empty() {
                println!("no running sessions");
            }
            for s in &sessions {
                println!(
                    "{}  risk {:>5}  pid {}  {}  since {}",
                    s["session_id"].as_str().unwrap_or("?"),
                    s["risk"]
                        .as_f64()
                        .map(|r| format!("{r:.1}"))
                        .unwrap_or_else(|| "-".into()),
                    s["pid"],
                    s["server_id"].as_str().unwrap_or("?"),
                    s["started"].as_str().unwrap_or("?"),
                );
            }
            EXIT_OK
        }
        RiskCmd::Reset { session, all } => {
            let id = match (session, all) {
                (Some(s), false) => s,
                (None, true) => "*".to_string(),
                _ => return fail(EXIT_CONFIG, "name a session id, or --all"),
            };
            let answers = match ask_all(&json!({"op": "risk_reset", "session": id})) {
                Ok(a) => a,
                Err(e) => return fail(EXIT_INTERNAL, e),
            };
            let mut reset = Vec::new();
            for a in &answers {
                if a["ok"] != true {
                    eprintln!("vanguard: {}", a["error"].as_str().unwrap_or("error"));
                }
                reset.extend(
                    a["reset"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|v| v.as_str().map(String::from)),
                );
            }
            if reset.is_empty() {
                return fail(
                    EXIT_CONFIG,
                    format!("no running session {id} (see `vanguard risk show`)"),
                );
            }
            for r in reset {
                println!("reset the risk score of session {r}");
            }
            EXIT_OK
        }
    }
}
