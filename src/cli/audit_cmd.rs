//! `vanguard audit`: check the audit trail's hash chain, and read it.

use super::{fail, EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK};
use crate::audit::chain;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
#[command(defer = true)]
pub enum AuditCmd {
    /// Check the hash chain of an audit log and its rotated files: names
    /// the first edited, deleted, inserted or moved line, and a cut tail.
    Verify {
        /// The log (its rotated files `LOG.1`, `LOG.2`… are found beside
        /// it), or several files, oldest first. Default: the default log.
        files: Vec<PathBuf>,
        /// The audit signer document that must have signed the head file
        /// (default: `audit-signing.signer.json` beside the log; keep a copy
        /// elsewhere: one beside the log proves nothing to someone who can
        /// rewrite the log).
        #[arg(long, value_name = "SIGNER.json")]
        signer: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show events, filtered (newest last).
    Query(QueryArgs),
    /// Show the last events, then follow the log as it grows (across
    /// rotation), filtered like `query`.
    Tail(QueryArgs),
}

#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// The log to read (default: the default log).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Only this session.
    #[arg(long)]
    session: Option<String>,
    /// Only these verdicts (allow, warn, block, shadow_block…), comma-separated.
    #[arg(long, value_delimiter = ',')]
    verdict: Vec<String>,
    /// Only events with this rule.
    #[arg(long)]
    rule: Option<String>,
    /// Only events at or after this time (RFC 3339, e.g. 2026-12-04T10:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// At most this many events (the newest).
    #[arg(long, default_value_t = 50)]
    last: usize,
    /// Keep following the log (`tail` always does).
    #[arg(long, short = 'f')]
    follow: bool,
    /// One JSON event per line instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: AuditCmd) -> u8 {
    match cmd {
        AuditCmd::Verify {
            files,
            signer,
            json,
        } => verify(files, signer, json),
        AuditCmd::Query(a) => query(a),
        AuditCmd::Tail(mut a) => {
            a.follow = true;
            query(a)
        }
    }
}

fn default_log() -> PathBuf {
    crate::policy::Vars::from_env(None)
        .state
        .join("vanguard/audit.jsonl")
}

/// The rotated files of `log`, oldest first, then `log`.
fn with_rotated(log: &Path) -> Vec<PathBuf> {
    let mut n = 1;
    while chain::rotated(log, n).exists() && n < 10_000 {
        n += 1;
    }
    let mut files: Vec<PathBuf> = (1..n).rev().map(|i| chain::rotated(log, i)).collect();
    files.push(log.to_path_buf());
    files
}

fn verify(files: Vec<PathBuf>, signer: Option<PathBuf>, json: bool) -> u8 {
    let files = match files.as_slice() {
        [] => with_rotated(&default_log()),
        [one] => with_rotated(one),
        many => many.to_vec(),
    };
    if let Some(missing) = files.iter().find(|f| !f.exists()) {
        return fail(EXIT_CONFIG, format!("{}: no such file", missing.display()));
    }
    let newest = files.last().map(|f| chain::head_path(f));
    let signer_path = signer.clone().or_else(|| {
        files
            .last()
            .map(|f| chain::key_paths(f).1)
            .filter(|p| p.exists())
    });
    let signer_doc = match &signer_path {
        Some(p) => match crate::trust::SignerDoc::read(p) {
            Ok(d) => Some(d),
            Err(e) => return fail(EXIT_CONFIG, format!("{}: {e}", p.display())),
        },
        None => None,
    };
    let r = chain::verify_signed(&files, newest.as_deref(), signer_doc.as_ref());
    if json {
        let v = serde_json::json!({
            "ok": r.problem.is_none(),
            "files": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "lines": r.lines,
            "first_seq": r.first_seq,
            "last_seq": r.last.as_ref().map(|l| l.seq),
            "problem": r.problem,
            "notes": r.notes,
        });
        println!("{v}");
    } else {
        for n in &r.notes {
            println!("note: {n}");
        }
        match &r.problem {
            None => println!(
                "ok: {} lines in {} file(s), seq {}–{}, chain intact",
                r.lines,
                files.len(),
                r.first_seq.unwrap_or(0),
                r.last.as_ref().map(|l| l.seq).unwrap_or(0)
            ),
            Some(p) => eprintln!("vanguard: audit chain broken: {p}"),
        }
    }
    if r.problem.is_some() {
        EXIT_INTERNAL
    } else {
        EXIT_OK
    }
}

fn query(a: QueryArgs) -> u8 {
    let path = a.file.clone().unwrap_or_else(default_log);
    if let Err(e) = std::fs::metadata(&path) {
        return fail(EXIT_CONFIG, format!("cannot read {}: {e}", path.display()));
    }
    // One reader for what is there and what comes: nothing is shown twice
    // or lost between the two.
    let mut follower = crate::audit::follow::Follower::new(&path, true);
    let mut hits: Vec<Value> = follower
        .poll()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| wanted(&a, v))
        .collect();
    let skip = hits.len().saturating_sub(a.last);
    hits.drain(..skip);
    for v in &hits {
        print_event(&a, v);
    }
    if !a.follow {
        return EXIT_OK;
    }
    loop {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::thread::sleep(std::time::Duration::from_millis(200));
        for l in follower.poll() {
            if let Ok(v) = serde_json::from_str::<Value>(&l) {
                if wanted(&a, &v) {
                    print_event(&a, &v);
                }
            }
        }
    }
}

fn wanted(a: &QueryArgs, v: &Value) -> bool {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    a.session.as_deref().is_none_or(|x| s("session_id") == x)
        && (a.verdict.is_empty() || a.verdict.iter().any(|x| s("verdict") == x))
        && a.rule.as_deref().is_none_or(|r| {
            v.get("rules")
                .and_then(Value::as_array)
                .is_some_and(|rs| rs.iter().any(|x| x == r))
        })
        // RFC 3339 UTC times of one format compare as text.
        && a.since.as_deref().is_none_or(|t| s("ts") >= t)
}

fn print_event(a: &QueryArgs, v: &Value) {
    if a.json {
        println!("{v}");
        return;
    }
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
    let rules = v
        .get("rules")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let what = v
        .get("tool")
        .and_then(Value::as_str)
        .or_else(|| v.get("method").and_then(Value::as_str))
        .unwrap_or("");
    println!(
        "{}  {:<12} {:<14} {:<16} {:<28} {}",
        s("ts"),
        s("verdict"),
        s("kind"),
        s("session_id").get(..16).unwrap_or("-"),
        what,
        rules
    );
}
