//! `vanguard bench --corpus DIR [--json]`.

use super::*;
use crate::bench::{self, CaseOutcome, Result_, Summary};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Directory of YAML case files (e.g. tests/corpus/peer/mcpvanguard).
    #[arg(long)]
    corpus: PathBuf,
    /// Judge every file with this profile instead of the one its header names.
    #[arg(long)]
    profile: Option<String>,
    /// Print one JSON summary object as the last line.
    #[arg(long)]
    json: bool,
}

pub fn run(a: BenchArgs) -> u8 {
    let files = match bench::load_dir(&a.corpus) {
        Ok(f) => f,
        Err(e) => return fail(EXIT_CONFIG, e),
    };
    let ws = std::env::temp_dir().join(format!("vanguard-bench-ws-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(ws.join("src")) {
        return fail(EXIT_INTERNAL, format!("{}: {e}", ws.display()));
    }
    let mut all: Vec<CaseOutcome> = Vec::new();
    println!(
        "{:<44} {:<9} {:>5} {:>6} {:>4} {:>4} {:>6} {:>8}",
        "file", "profile", "cases", "agree", "FP", "FN", "differ", "skipped"
    );
    for (path, cases) in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let profile = a
            .profile
            .clone()
            .unwrap_or_else(|| bench::profile_for(path).to_string());
        let runner = match bench::Runner::new(&profile, &ws) {
            Ok(r) => r,
            Err(e) => return fail(EXIT_CONFIG, e),
        };
        let outcomes: Vec<CaseOutcome> = cases.iter().map(|c| runner.run(&name, c)).collect();
        let s = Summary::of(&outcomes);
        println!(
            "{:<44} {:<9} {:>5} {:>6} {:>4} {:>4} {:>6} {:>8}",
            name,
            runner.profile(),
            s.total,
            s.agree,
            s.false_positives,
            s.false_negatives,
            s.on_purpose,
            s.skipped
        );
        all.extend(outcomes);
    }
    let _ = std::fs::remove_dir_all(&ws);
    let total = Summary::of(&all);
    println!(
        "{:<44} {:<9} {:>5} {:>6} {:>4} {:>4} {:>6} {:>8}",
        "TOTAL",
        "",
        total.total,
        total.agree,
        total.false_positives,
        total.false_negatives,
        total.on_purpose,
        total.skipped
    );
    let disagreements: Vec<&CaseOutcome> = all
        .iter()
        .filter(|o| matches!(o.result, Result_::FalsePositive | Result_::FalseNegative))
        .collect();
    if !disagreements.is_empty() {
        println!("\ndisagreements:");
        for o in &disagreements {
            let kind = if o.result == Result_::FalsePositive {
                "FP"
            } else {
                "FN"
            };
            println!(
                "  {kind} {:<40} expected {:?}, got {} {:?}",
                o.id,
                o.expected,
                o.got.unwrap_or("-"),
                o.rules
            );
        }
    }
    let differ: Vec<&CaseOutcome> = all
        .iter()
        .filter(|o| o.result == Result_::OnPurpose)
        .collect();
    if !differ.is_empty() {
        println!("\ndisagreements on purpose:");
        for o in &differ {
            println!(
                "  {:<44} expected {:?}, got {}: {}",
                o.id,
                o.expected,
                o.got.unwrap_or("-"),
                o.note
            );
        }
    }
    let stricter: Vec<&CaseOutcome> = all
        .iter()
        .filter(|o| o.expected == bench::Expected::Warn && o.got == Some("block"))
        .collect();
    if !stricter.is_empty() {
        println!(
            "\nstricter than the peer (counted as agreement: the peer warns, vanguard blocks):"
        );
        for o in &stricter {
            let why = if o.rules.iter().any(|r| r == "BEH-RISK") {
                "every call in the sequence was refused by L1 (outside the zones), so the session's L3 risk reached the block level"
            } else if o.rules.iter().any(|r| r == "AUTH-TOKEN") {
                "a token with verification warnings is refused outright, never served with a warning"
            } else {
                "balanced blocks this rule family; the peer only warns"
            };
            println!("  {:<44} {:?}  {why}", o.id, o.rules);
        }
    }
    let mut skipped: Vec<(&str, usize)> = Vec::new();
    for o in all.iter().filter(|o| o.result == Result_::Skipped) {
        match skipped.iter_mut().find(|(n, _)| *n == o.note) {
            Some((_, c)) => *c += 1,
            None => skipped.push((&o.note, 1)),
        }
    }
    if !skipped.is_empty() {
        println!("\nskipped:");
        for (why, n) in skipped {
            println!("  {n:>3}  {why}");
        }
    }
    if a.json {
        println!("{}", serde_json::to_string(&total).unwrap_or_default());
    }
    EXIT_OK
}
