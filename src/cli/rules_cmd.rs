//! `vanguard rules pack|sign|verify`: signed rule packs.

use super::trust_cmd::{signing_key, SignerSource};
use super::*;
use crate::trust::pack::{Pack, MANIFEST, SIGNATURE};
use crate::trust::store::now_secs;
use crate::trust::{Purpose, SignatureDoc};
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
#[command(defer = true)]
pub enum RulesCmd {
    /// Write DIR/manifest.json: every file of the pack with its SHA-256.
    Pack {
        /// The rule-pack directory.
        dir: PathBuf,
    },
    /// Sign DIR/manifest.json, writing DIR/manifest.sig.json.
    Sign {
        /// The private key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// Key id (default: from KEY's sibling .signer.json, else derived from the key).
        #[arg(long)]
        key_id: Option<String>,
        /// The rule-pack directory.
        dir: PathBuf,
    },
    /// Check the pack's signature and every file's hash.
    Verify {
        /// The rule-pack directory.
        dir: PathBuf,
        #[command(flatten)]
        signers: SignerSource,
    },
}

pub fn run(c: RulesCmd) -> u8 {
    match c {
        RulesCmd::Pack { dir } => pack(dir),
        RulesCmd::Sign { key, key_id, dir } => sign(dir, key, key_id),
        RulesCmd::Verify { dir, signers } => verify(dir, &signers),
    }
}

fn pack(dir: PathBuf) -> u8 {
    let pack = match Pack::read(&dir) {
        Ok(p) => p,
        Err(e) => return fail(EXIT_CONFIG, e),
    };
    let manifest = pack.manifest(Some(crate::audit::rfc3339_now()));
    let mut text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    text.push('\n');
    let path = dir.join(MANIFEST);
    if let Err(e) = std::fs::write(&path, text) {
        return fail(EXIT_CONFIG, format!("{}: {e}", path.display()));
    }
    println!("{}: {} files", path.display(), manifest.rules.len());
    if pack.signature.is_some() {
        eprintln!(
            "vanguard: warning: {} signs the old manifest; sign again with `vanguard rules sign`",
            dir.join(SIGNATURE).display()
        );
    }
    EXIT_OK
}

fn sign(dir: PathBuf, key: PathBuf, key_id: Option<String>) -> u8 {
    let (key, key_id) = match signing_key(&key, key_id.as_deref()) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let pack = match Pack::read(&dir) {
        Ok(p) => p,
        Err(e) => return fail(EXIT_CONFIG, e),
    };
    // Never sign a manifest that does not describe the files.
    if let Err(e) = pack.check_files() {
        return fail(
            EXIT_UNTRUSTED,
            format!("not signed: {e} (run `vanguard rules pack` first)"),
        );
    }
    let signed = match pack.signed_bytes() {
        Ok(b) => b,
        Err(e) => return fail(EXIT_CONFIG, e),
    };
    let sig = SignatureDoc::sign(&key, &key_id, &signed);
    let path = dir.join(SIGNATURE);
    if let Err(e) = std::fs::write(&path, sig.to_json()) {
        return fail(EXIT_CONFIG, format!("{}: {e}", path.display()));
    }
    println!(
        "signed {} as {key_id}: {}",
        dir.join(MANIFEST).display(),
        path.display()
    );
    EXIT_OK
}

fn verify(dir: PathBuf, signers: &SignerSource) -> u8 {
    let store = match signers.store(Purpose::Rules) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result =
        Pack::read(&dir).and_then(|p| p.verify(&store, now_secs()).map(|v| (v, p.files.len())));
    match result {
        Ok((v, n)) => {
            println!(
                "verified: rule pack {} ({n} files) signed by {} (signer {})",
                dir.display(),
                v.key_id,
                v.source
            );
            EXIT_OK
        }
        Err(e) => fail(EXIT_UNTRUSTED, format!("refused: {e}")),
    }
}
