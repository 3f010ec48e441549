//! Keys, detached signatures and the trust store (docs/TRUST.md).
//!
//! How the pieces fit: `key` makes and reads Ed25519 keys (a PKCS#8 PEM
//! private key, a public *signer document*); `canonical` turns a JSON
//! document into the exact bytes a signature covers; `signature` signs and
//! verifies *signature documents* (`*.sig.json`) over those bytes, through a
//! [`View`] that says which bytes a kind of document signs; `store` holds
//! the signers trusted per [`Purpose`] (from a profile's `[trust]` section),
//! with their expiry; `pack` builds, verifies and installs rule packs.
//!
//! The formats are those of the original product (McpVanguard), so its
//! signed documents verify here and ours verify there.
//!
//! A leaf: it uses nothing of the crate, so the policy loader can verify a
//! rule pack while it loads a profile.

pub mod canonical;
pub mod key;
pub mod pack;
pub mod signature;
pub mod store;

pub use canonical::Json;
pub use key::{SignerDoc, SigningKey};
pub use pack::{PackManifest, PackProblem};
pub use signature::{SignatureDoc, View};
pub use store::{Purpose, RulesRequirement, Signer, TrustSection, TrustStore};

use std::path::PathBuf;

/// Why a key, a signature or a pack was refused. Each variant names the
/// file, field or key id at fault.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: invalid JSON: {message}")]
    Json { what: String, message: String },
    #[error("{what}: field {field}: {message}")]
    Field {
        what: String,
        field: String,
        message: String,
    },
    /// A key, pack or state file that cannot be used as it is.
    #[error("{}: {message}", path.display())]
    Path { path: PathBuf, message: String },
    #[error("{} exists (use --force to replace it)", path.display())]
    Exists { path: PathBuf },
    #[error("signer {key_id:?} is not trusted for {purpose}")]
    Untrusted { key_id: String, purpose: Purpose },
    #[error("signer {key_id:?} for {purpose} has expired (not_after = {not_after})")]
    Expired {
        key_id: String,
        not_after: String,
        purpose: Purpose,
    },
    #[error("{what}: manifest_sha256 is {expected} but the signed bytes hash to {actual} (the document changed after signing)")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{what}: the Ed25519 signature does not verify with key {key_id:?}")]
    BadSignature { what: String, key_id: String },
    #[error("rule pack {}: {}", dir.display(), problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Pack {
        dir: PathBuf,
        problems: Vec<PackProblem>,
    },
}

impl TrustError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> TrustError {
        TrustError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn field(
        what: impl std::fmt::Display,
        field: &str,
        message: impl std::fmt::Display,
    ) -> TrustError {
        TrustError::Field {
            what: what.to_string(),
            field: field.to_string(),
            message: message.to_string(),
        }
    }
}

/// Lower-case hex SHA-256, as Python's `hashlib.sha256(b).hexdigest()`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
