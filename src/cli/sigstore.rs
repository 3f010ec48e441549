//! `vanguard sigstore`: verify Sigstore bundles, npm registry signatures and
//! attestations, and PyPI (PEP 740) attestations offline, against the
//! pinned public-good trusted root (or `--trusted-root FILE`).
//!
//! Exit status: 0 verified; 3 refused (the reason on stderr, as for a
//! refused start); 2 for unreadable input or bad arguments.

use super::{fail, EXIT_CONFIG, EXIT_OK, EXIT_SPAWN};
use crate::sigstore::keys::PublicKey;
use crate::sigstore::npm::{self, RegistryKeys, RegistrySignature};
use crate::sigstore::{pypi, verify_bundle, Artifact, IdentityRule, Policy, TrustedRoot};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A refusal: the same status as a start the checks refused.
const EXIT_REFUSED: u8 = EXIT_SPAWN;

#[derive(clap::Subcommand, Debug)]
#[command(defer = true)]
pub enum SigstoreCmd {
    /// Verify a Sigstore bundle for an artifact (message signature or DSSE).
    Verify(VerifyArgs),
    /// Verify an npm version's registry signature and, optionally, its attestations.
    Npm(NpmArgs),
    /// Verify a PyPI distribution's PEP 740 provenance.
    Pypi(PypiArgs),
}

#[derive(clap::Args, Debug)]
pub struct RootArgs {
    /// A trusted_root.json to use instead of the pinned public-good root.
    #[arg(long, value_name = "FILE", conflicts_with = "staging")]
    trusted_root: Option<PathBuf>,
    /// Use the pinned Sigstore staging root (sigstage.dev).
    #[arg(long)]
    staging: bool,
}

impl RootArgs {
    fn load(&self) -> Result<TrustedRoot, u8> {
        let r = match (&self.trusted_root, self.staging) {
            (Some(path), _) => TrustedRoot::from_file(path),
            (None, true) => TrustedRoot::staging(),
            (None, false) => TrustedRoot::public_good(),
        };
        r.map_err(|e| fail(EXIT_CONFIG, e))
    }
}

#[derive(clap::Args, Debug)]
pub struct IdentityArgs {
    /// The exact certificate identity (SAN: email or URI) required.
    #[arg(long, conflicts_with = "identity_regex")]
    identity: Option<String>,
    /// A regular expression the certificate identity must match (unanchored:
    /// write ^…$ to match the whole identity).
    #[arg(long)]
    identity_regex: Option<String>,
    /// The OIDC issuer required (e.g. https://token.actions.githubusercontent.com).
    #[arg(long)]
    issuer: Option<String>,
    /// The source repository required (certificate extension, e.g. https://github.com/OWNER/REPO).
    #[arg(long)]
    repository: Option<String>,
    /// The source ref required (e.g. refs/tags/v1.2.3).
    #[arg(long = "ref")]
    git_ref: Option<String>,
    /// The workflow required, as its path in the repository (.github/workflows/release.yml).
    #[arg(long)]
    workflow: Option<String>,
}

impl IdentityArgs {
    /// The policy; `require_identity` refuses to run without an identity or
    /// repository constraint (otherwise any Fulcio certificate would pass).
    fn policy(&self, require_identity: bool) -> Result<Policy, u8> {
        let identity = match (&self.identity, &self.identity_regex) {
            (Some(i), _) => IdentityRule::Exact(i.clone()),
            (None, Some(r)) => IdentityRule::Regex(
                regex::Regex::new(r).map_err(|e| fail(EXIT_CONFIG, format!("--identity-regex: {e}")))?,
            ),
            (None, None) if require_identity && self.repository.is_none() => {
                return Err(fail(
                    EXIT_CONFIG,
                    "say who must have signed: --identity, --identity-regex or --repository (or --key for a key-signed bundle)",
                ))
            }
            (None, None) => IdentityRule::Any,
        };
        let mut p = Policy::new(identity);
        p.issuer = self.issuer.clone();
        p.repository = self.repository.clone();
        p.git_ref = self.git_ref.clone();
        p.workflow = self.workflow.clone();
        Ok(p)
    }
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The bundle (.sigstore.json).
    #[arg(long)]
    bundle: PathBuf,
    /// The artifact the bundle signs.
    #[arg(long, required_unless_present = "digest", conflicts_with = "digest")]
    artifact: Option<PathBuf>,
    /// The artifact's digest instead (sha256:HEX or sha512:HEX; DSSE bundles only).
    #[arg(long)]
    digest: Option<String>,
    /// For a key-signed bundle: the PEM public key.
    #[arg(long, value_name = "PEM")]
    key: Option<PathBuf>,
    #[command(flatten)]
    identity: IdentityArgs,
    #[command(flatten)]
    root: RootArgs,
}

#[derive(clap::Args, Debug)]
pub struct NpmArgs {
    /// NAME@VERSION (a scoped name keeps its @: @scope/name@1.2.3).
    #[arg(long)]
    package: String,
    /// The version's dist.integrity (sha512-…).
    #[arg(long)]
    integrity: String,
    /// The registry keys (GET /-/npm/v1/keys).
    #[arg(long)]
    keys: PathBuf,
    /// The version's dist.signatures: a JSON array, a dist object, or the packument.
    #[arg(long)]
    signatures: Option<PathBuf>,
    /// When the version was published (RFC 3339), if --signatures is not the packument.
    #[arg(long)]
    published: Option<String>,
    /// The attestations response (GET /-/npm/v1/attestations/NAME@VERSION).
    #[arg(long)]
    attestations: Option<PathBuf>,
    /// The tarball: its sha512 must be the integrity.
    #[arg(long)]
    tarball: Option<PathBuf>,
    #[command(flatten)]
    identity: IdentityArgs,
    #[command(flatten)]
    root: RootArgs,
}

#[derive(clap::Args, Debug)]
pub struct PypiArgs {
    /// The provenance object (PyPI integrity API) or a single attestation.
    #[arg(long)]
    provenance: PathBuf,
    /// The distribution file (its file name is the attestation subject).
    #[arg(long)]
    dist: PathBuf,
    #[command(flatten)]
    identity: IdentityArgs,
    #[command(flatten)]
    root: RootArgs,
}

pub fn run(cmd: SigstoreCmd) -> u8 {
    let r = match cmd {
        SigstoreCmd::Verify(a) => verify(a),
        SigstoreCmd::Npm(a) => npm_cmd(a),
        SigstoreCmd::Pypi(a) => pypi_cmd(a),
    };
    r.unwrap_or_else(|code| code)
}

fn read(path: &Path) -> Result<Vec<u8>, u8> {
    std::fs::read(path)
        .map_err(|e| fail(EXIT_CONFIG, format!("cannot read {}: {e}", path.display())))
}

fn refused(what: &str, e: impl std::fmt::Display) -> u8 {
    fail(EXIT_REFUSED, format!("{what} refused: {e}"))
}

fn parse_digest(d: &str) -> Result<Artifact<'static>, u8> {
    let bad = || {
        fail(
            EXIT_CONFIG,
            format!("--digest {d:?}: expected sha256:HEX or sha512:HEX"),
        )
    };
    let (alg, hex) = d.split_once(':').ok_or_else(bad)?;
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    match alg {
        "sha256" => bytes.try_into().map(Artifact::Sha256).map_err(|_| bad()),
        "sha512" => bytes.try_into().map(Artifact::Sha512).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn verify(a: VerifyArgs) -> Result<u8, u8> {
    let root = a.root.load()?;
    let mut policy = a.identity.policy(a.key.is_none())?;
    if let Some(k) = &a.key {
        let pem = String::from_utf8_lossy(&read(k)?).into_owned();
        policy.key = Some(
            PublicKey::from_pem(&pem)
                .map_err(|e| fail(EXIT_CONFIG, format!("{}: {e}", k.display())))?,
        );
    }
    let bundle = read(&a.bundle)?;
    let bytes;
    let artifact = match (&a.artifact, &a.digest) {
        (Some(f), _) => {
            bytes = read(f)?;
            Artifact::Bytes(&bytes)
        }
        (None, Some(d)) => parse_digest(d)?,
        (None, None) => return Err(fail(EXIT_CONFIG, "give --artifact or --digest")),
    };
    match verify_bundle(&bundle, artifact, &root, &policy) {
        Ok(v) => {
            println!("verified: {}", v.describe());
            Ok(EXIT_OK)
        }
        Err(e) => Err(refused(&a.bundle.display().to_string(), e)),
    }
}

/// Signatures and the publish time from an array, a `dist` object or a packument.
fn registry_signatures(doc: &Value, version: &str) -> (Vec<RegistrySignature>, Option<i64>) {
    let (list, published) = if let Some(v) = doc.get("versions").and_then(|vs| vs.get(version)) {
        let t = doc
            .pointer(&format!("/time/{version}"))
            .and_then(Value::as_str);
        (
            v.pointer("/dist/signatures"),
            t.and_then(crate::sigstore::time::parse_rfc3339),
        )
    } else if doc.is_array() {
        (Some(doc), None)
    } else {
        (doc.get("signatures"), None)
    };
    let sigs = list
        .cloned()
        .and_then(|l| serde_json::from_value::<Vec<RegistrySignature>>(l).ok())
        .unwrap_or_default();
    (sigs, published)
}

fn npm_cmd(a: NpmArgs) -> Result<u8, u8> {
    let (name, version) = match a.package.rsplit_once('@') {
        Some((n, v)) if !n.is_empty() && !v.is_empty() => (n, v),
        _ => {
            return Err(fail(
                EXIT_CONFIG,
                format!("--package {:?}: expected NAME@VERSION", a.package),
            ))
        }
    };
    let keys_text = String::from_utf8_lossy(&read(&a.keys)?).into_owned();
    let keys = RegistryKeys::from_json(&keys_text).map_err(|e| fail(EXIT_CONFIG, e))?;
    if let Some(t) = &a.tarball {
        npm::check_tarball(&read(t)?, &a.integrity).map_err(|e| refused(&a.package, e))?;
        println!("tarball: sha512 matches the integrity");
    }
    // Attestations first: the publish attestation's log time is the
    // publish time an expired registry key is judged by.
    let mut attested_at = None;
    if let Some(path) = &a.attestations {
        let root = a.root.load()?;
        let policy = a.identity.policy(false)?;
        let sha512 = npm::sri_sha512(&a.integrity).map_err(|e| refused(&a.package, e))?;
        let got =
            npm::verify_attestations(&read(path)?, name, version, sha512, &keys, &root, &policy)
                .map_err(|e| refused(&a.package, e))?;
        attested_at = got
            .iter()
            .filter(|x| {
                matches!(
                    x.verified.signer,
                    crate::sigstore::verify::Signer::Key { .. }
                )
            })
            .map(|x| x.verified.signed_at)
            .min();
        for att in got {
            println!(
                "attestation {}: {}",
                att.predicate_type,
                att.verified.describe()
            );
        }
    }
    if let Some(path) = &a.signatures {
        let doc: Value = serde_json::from_slice(&read(path)?)
            .map_err(|e| fail(EXIT_CONFIG, format!("{}: {e}", path.display())))?;
        let (sigs, from_packument) = registry_signatures(&doc, version);
        let published = match &a.published {
            Some(p) => Some(
                crate::sigstore::time::parse_rfc3339(p)
                    .ok_or_else(|| fail(EXIT_CONFIG, format!("--published {p:?}: not RFC 3339")))?,
            ),
            None => from_packument.or(attested_at),
        };
        let keyid =
            npm::verify_registry_signature(&keys, name, version, &a.integrity, &sigs, published)
                .map_err(|e| refused(&a.package, e))?;
        println!("registry signature: verified with {keyid}");
    }
    if a.signatures.is_none() && a.attestations.is_none() {
        return Err(fail(
            EXIT_CONFIG,
            "nothing to verify: give --signatures and/or --attestations",
        ));
    }
    Ok(EXIT_OK)
}

fn pypi_cmd(a: PypiArgs) -> Result<u8, u8> {
    let root = a.root.load()?;
    let policy = a.identity.policy(true)?;
    let dist = read(&a.dist)?;
    let filename = a
        .dist
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| fail(EXIT_CONFIG, "--dist has no file name"))?;
    let text = read(&a.provenance)?;
    let doc: Value = serde_json::from_slice(&text)
        .map_err(|e| fail(EXIT_CONFIG, format!("{}: {e}", a.provenance.display())))?;
    let verified = if doc.get("attestation_bundles").is_some() {
        pypi::verify_provenance(&text, filename, &dist, &root, &policy)
    } else {
        pypi::verify_attestation(&doc, filename, &dist, &root, &policy).map(|v| vec![v])
    }
    .map_err(|e| refused(filename, e))?;
    for v in verified {
        println!("verified: {}", v.describe());
    }
    Ok(EXIT_OK)
}
