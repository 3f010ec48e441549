//! `vanguard trust sign|verify`: detached signatures over any document, and
//! the trust store shared by `rules verify` and `update`.

use super::*;
use crate::policy::{self, Overrides};
use crate::trust::key::{SignerDoc, SigningKey};
use crate::trust::store::{now_secs, Signer};
use crate::trust::{Purpose, SignatureDoc, TrustStore, View};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
#[command(defer = true)]
pub enum TrustCmd {
    /// Write a detached signature document (DOC.sig.json) for a document.
    Sign(SignArgs),
    /// Verify a document's detached signature against the trusted signers; prints who signed.
    Verify(VerifyArgs),
}

/// Where the trusted signers come from.
#[derive(clap::Args, Debug)]
pub struct SignerSource {
    /// Trust the signers of this profile's `[trust.signers]` (a built-in name or a path).
    #[arg(long)]
    pub profile: Option<String>,
    /// Trust this signer document (repeatable; no expiry).
    #[arg(long = "signer", value_name = "SIGNER.json")]
    pub signers: Vec<PathBuf>,
}

impl SignerSource {
    /// The store for `purpose`; an empty one is a usage error.
    pub fn store(&self, purpose: Purpose) -> Result<TrustStore, u8> {
        let mut store = match &self.profile {
            Some(p) => {
                let ov = Overrides {
                    skip_rule_packs: true,
                    ..Default::default()
                };
                policy::load(p, &ov)
                    .map_err(|e| fail(EXIT_CONFIG, format!("invalid configuration: {e}")))?
                    .trust
                    .store
            }
            None => TrustStore::default(),
        };
        for path in &self.signers {
            let s = Signer::from_file(path).map_err(|e| fail(EXIT_CONFIG, e))?;
            store.add(purpose, s);
        }
        if store.signers(purpose).is_empty() {
            return Err(fail(
                EXIT_CONFIG,
                format!("no signer is trusted for {purpose}: give --signer SIGNER.json or a --profile with [trust.signers] {purpose}"),
            ));
        }
        Ok(store)
    }
}

#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// The private key (PKCS#8 PEM, as `vanguard keygen` or the original writes it).
    #[arg(long)]
    key: PathBuf,
    /// Key id to record. Default: from KEY's sibling KEY.signer.json, else
    /// the first 16 hex digits of the public key's SHA-256.
    #[arg(long)]
    key_id: Option<String>,
    /// Which bytes to sign (default: the view of --purpose, `json` without one).
    #[arg(long, value_enum)]
    view: Option<View>,
    /// The purpose the document is for; chooses the default view.
    #[arg(long, value_enum)]
    purpose: Option<Purpose>,
    /// The document to sign.
    doc: PathBuf,
    /// Where to write the signature (default: DOC with `.json` replaced by `.sig.json`).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// What the signer must be trusted for.
    #[arg(long, value_enum)]
    purpose: Purpose,
    /// The signed document.
    #[arg(long)]
    doc: PathBuf,
    /// The signature document (default: DOC with `.json` replaced by `.sig.json`).
    #[arg(long)]
    sig: Option<PathBuf>,
    /// Which bytes were signed (default: the purpose's view).
    #[arg(long, value_enum)]
    view: Option<View>,
    #[command(flatten)]
    signers: SignerSource,
}

pub fn run(c: TrustCmd) -> u8 {
    match c {
        TrustCmd::Sign(a) => sign(a),
        TrustCmd::Verify(a) => verify(a),
    }
}

/// `x.json` → `x.sig.json`; anything else gets `.sig.json` appended.
pub(super) fn default_sig_path(doc: &Path) -> PathBuf {
    let s = doc.as_os_str().to_string_lossy();
    match s.strip_suffix(".json") {
        Some(stem) => PathBuf::from(format!("{stem}.sig.json")),
        None => PathBuf::from(format!("{s}.sig.json")),
    }
}

/// Reads the key and settles its id: `--key-id`, else the sibling signer
/// document (whose key must be this key's), else the default id.
pub(super) fn signing_key(key: &Path, key_id: Option<&str>) -> Result<(SigningKey, String), u8> {
    let k = SigningKey::read(key).map_err(|e| fail(EXIT_CONFIG, e))?;
    if let Some(id) = key_id {
        return Ok((k, id.to_string()));
    }
    let sibling = key.with_extension("signer.json");
    if sibling.is_file() {
        let doc = SignerDoc::read(&sibling).map_err(|e| fail(EXIT_CONFIG, e))?;
        if doc.public_key != k.signer_doc(None).public_key {
            return Err(fail(
                EXIT_CONFIG,
                format!(
                    "{} holds another public key than {}; give --key-id",
                    sibling.display(),
                    key.display()
                ),
            ));
        }
        return Ok((k, doc.key_id));
    }
    let id = k.signer_doc(None).key_id;
    Ok((k, id))
}

fn sign(a: SignArgs) -> u8 {
    let (key, key_id) = match signing_key(&a.key, a.key_id.as_deref()) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let doc = match std::fs::read(&a.doc) {
        Ok(d) => d,
        Err(e) => return fail(EXIT_CONFIG, format!("{}: {e}", a.doc.display())),
    };
    let view = a
        .view
        .unwrap_or_else(|| View::for_document(a.purpose, &doc));
    let signed = match view.signed_bytes(&doc, &a.doc.display().to_string()) {
        Ok(b) => b,
        Err(e) => return fail(EXIT_CONFIG, e),
    };
    let sig = SignatureDoc::sign(&key, &key_id, &signed);
    let out = a.out.unwrap_or_else(|| default_sig_path(&a.doc));
    if let Err(e) = std::fs::write(&out, sig.to_json()) {
        return fail(EXIT_CONFIG, format!("{}: {e}", out.display()));
    }
    println!(
        "signed {} as {key_id} (sha256 {}): {}",
        a.doc.display(),
        sig.manifest_sha256,
        out.display()
    );
    EXIT_OK
}

fn verify(a: VerifyArgs) -> u8 {
    let store = match a.signers.store(a.purpose) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let sig_path = a.sig.unwrap_or_else(|| default_sig_path(&a.doc));
    let what = a.doc.display().to_string();
    let result = SignatureDoc::read(&sig_path).and_then(|sig| {
        let doc = std::fs::read(&a.doc).map_err(|e| crate::trust::TrustError::Io {
            path: a.doc.clone(),
            source: e,
        })?;
        let view = a
            .view
            .unwrap_or_else(|| View::for_document(Some(a.purpose), &doc));
        let signed = view.signed_bytes(&doc, &what)?;
        sig.verify(&signed, &store, a.purpose, now_secs(), &what)
    });
    match result {
        Ok(v) => {
            println!(
                "verified: {what} signed by {} for {} (signer {}{}; sha256 {})",
                v.key_id,
                a.purpose,
                v.source,
                v.not_after
                    .map(|d| format!(", valid through {d}"))
                    .unwrap_or_default(),
                v.sha256
            );
            EXIT_OK
        }
        Err(e) => fail(EXIT_UNTRUSTED, format!("refused: {e}")),
    }
}
