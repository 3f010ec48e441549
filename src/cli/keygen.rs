//! `vanguard keygen`: a new Ed25519 signing key and its signer document.

use super::*;
use crate::trust::key::{write_new, SigningKey};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct KeygenArgs {
    /// Directory for KEY_ID.pem (private, mode 0600) and KEY_ID.signer.json (public).
    #[arg(long)]
    out: PathBuf,
    /// Key id (letters, digits, `.`, `_`, `-`). Default: the first 16 hex
    /// digits of the SHA-256 of the public key.
    #[arg(long)]
    key_id: Option<String>,
    /// Replace existing files of the same key id.
    #[arg(long)]
    force: bool,
}

pub fn run(a: KeygenArgs) -> u8 {
    if let Some(id) = &a.key_id {
        if !valid_key_id(id) {
            return fail(
                EXIT_CONFIG,
                format!("--key-id {id:?}: use letters, digits, '.', '_' and '-' only"),
            );
        }
    }
    let key = match SigningKey::generate() {
        Ok(k) => k,
        Err(e) => return fail(EXIT_INTERNAL, e),
    };
    let signer = key.signer_doc(a.key_id.as_deref());
    let pem_path = a.out.join(format!("{}.pem", signer.key_id));
    let doc_path = a.out.join(format!("{}.signer.json", signer.key_id));
    if !a.force {
        if let Some(p) = [&pem_path, &doc_path].into_iter().find(|p| p.exists()) {
            return fail(
                EXIT_CONFIG,
                format!("{} exists (use --force to replace it)", p.display()),
            );
        }
    }
    if let Err(e) = std::fs::create_dir_all(&a.out) {
        return fail(EXIT_CONFIG, format!("{}: {e}", a.out.display()));
    }
    let written = write_new(&pem_path, key.to_pem().as_bytes(), 0o600, a.force)
        .and_then(|()| write_new(&doc_path, signer.to_json().as_bytes(), 0o644, a.force));
    if let Err(e) = written {
        return fail(EXIT_CONFIG, e);
    }
    println!("key id:      {}", signer.key_id);
    println!(
        "private key: {} (mode 0600; keep it secret)",
        pem_path.display()
    );
    println!(
        "signer:      {} (give this to verifiers)",
        doc_path.display()
    );
    EXIT_OK
}

pub(super) fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !id.starts_with('.')
}
