//! `vanguard update`: install a verified rule pack, or roll back to the
//! previous one.

use super::trust_cmd::SignerSource;
use super::*;
use crate::trust::pack::{self, MANIFEST};
use crate::trust::store::now_secs;
use crate::trust::Purpose;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct UpdateArgs {
    /// The new pack: its directory, or its manifest.json.
    #[arg(
        long,
        required_unless_present = "rollback",
        conflicts_with = "rollback"
    )]
    from: Option<PathBuf>,
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
                    "rolled back: {} is the previous pack again",
                    pack::current(&state).display()
                );
                EXIT_OK
            }
            Err(e) => fail(EXIT_CONFIG, e),
        };
    }
    let Some(mut from) = a.from else {
        return fail(EXIT_CONFIG, "give --from DIR or --rollback");
    };
    if from.file_name().is_some_and(|n| n == MANIFEST) && from.is_file() {
        from.pop();
    }
    let store = match a.signers.store(Purpose::Rules) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match pack::install(&from, &state, &store, now_secs()) {
        Ok(v) => {
            println!(
                "installed: rule pack from {} signed by {} is {} (previous kept for --rollback)",
                from.display(),
                v.key_id,
                pack::current(&state).display()
            );
            EXIT_OK
        }
        Err(e) => fail(
            EXIT_UNTRUSTED,
            format!("refused, installed pack unchanged: {e}"),
        ),
    }
}
