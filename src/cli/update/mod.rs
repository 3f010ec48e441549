//! `vanguard update`: install a verified rule pack, or roll back to the
//! previous one.

mod download;

use super::trust_cmd::SignerSource;
use super::*;
use crate::trust::pack::{self, MANIFEST};
use crate::trust::store::now_secs;
use crate::trust::Purpose;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct UpdateArgs {
    /// The new pack: its directory, its manifest.json, or the http(s) URL of
    /// a directory (or of its manifest.json) serving the pack's files.
    #[arg(
        long,
        required_unless_present = "rollback",
        conflicts_with = "rollback"
    )]
    from: Option<String>,
    /// Make the previous pack the installed one again.
    #[arg(long)]
    rollback: bool,
    /// Where packs are installed (default: $XDG_DATA_HOME/vanguard/rules;
    /// the installed pack is its `current`, the one before it `previous`).
    #[arg(long)]
    rules_dir: Option<PathBuf>,
    #[command(flatten)]
    signers: SignerSource,
}

pub fn run(a: UpdateArgs) -> u8 {
    let Some(state) = a.rules_dir.clone().or_else(pack::default_rules_dir) else {
        return fail(
            EXIT_CONFIG,
            "no --rules-dir, and neither XDG_DATA_HOME nor HOME is set",
        );
    };
    if a.rollback {
        return match pack::rollback(&state) {
            Ok(()) => {
                println!(
                    "rolled back: {} holds the previous pack again",
                    pack::current(&state).display()
                );
                EXIT_OK
            }
            Err(e) => fail(EXIT_CONFIG, e),
        };
    }
    let Some(from) = a.from else {
        return fail(EXIT_CONFIG, "give --from DIR or --rollback");
    };
    let store = match a.signers.store(Purpose::Rules) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let refused = |e: &dyn std::fmt::Display| {
        fail(
            EXIT_UNTRUSTED,
            format!("refused, installed pack unchanged: {e}"),
        )
    };
    // A URL is downloaded into the state directory first; the download is
    // then verified and installed like a local directory, and removed.
    let url = from.starts_with("https://") || from.starts_with("http://");
    let dir = if url {
        if let Err(e) = std::fs::create_dir_all(&state) {
            return fail(EXIT_CONFIG, format!("{}: {e}", state.display()));
        }
        let dir = state.join(format!(".download-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = download::pack(&from, &dir) {
            let _ = std::fs::remove_dir_all(&dir);
            return refused(&e);
        }
        dir
    } else {
        let mut dir = PathBuf::from(&from);
        if dir.file_name().is_some_and(|n| n == MANIFEST) && dir.is_file() {
            dir.pop();
        }
        dir
    };
    let result = pack::install(&dir, &state, &store, now_secs());
    if url {
        let _ = std::fs::remove_dir_all(&dir);
    }
    match result {
        Ok(v) => {
            println!(
                "installed: rule pack from {from} signed by {} is {} (previous kept for --rollback)",
                v.key_id,
                pack::current(&state).display()
            );
            EXIT_OK
        }
        Err(e) => refused(&e),
    }
}
