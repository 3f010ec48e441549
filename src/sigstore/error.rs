//! What went wrong, said precisely enough that an operator knows which check
//! refused the bundle, plus a coarse [`Category`] tests and callers match on.

/// Why a bundle, signature or attestation was refused.
#[derive(Debug, thiserror::Error)]
pub enum SigstoreError {
    #[error("malformed bundle: {0}")]
    MalformedBundle(String),
    #[error("malformed trusted root: {0}")]
    MalformedRoot(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("the artifact does not match the bundle: {0}")]
    ArtifactMismatch(String),
    #[error("signature does not verify: {0}")]
    BadSignature(String),
    #[error("identity {found} does not match required {required}")]
    IdentityMismatch { found: String, required: String },
    #[error("OIDC issuer {found} does not match required {required}")]
    IssuerMismatch { found: String, required: String },
    #[error("certificate {claim} {found} does not match required {required}")]
    ClaimMismatch {
        claim: &'static str,
        found: String,
        required: String,
    },
    #[error("{0}")]
    CertificateTime(String),
    #[error("certificate chain: {0}")]
    UntrustedChain(String),
    #[error("log key {0} not in the trusted root")]
    UnknownLogKey(String),
    #[error("log key {key} is not valid at {time}")]
    LogKeyNotValid { key: String, time: String },
    #[error("signed entry timestamp does not verify: {0}")]
    BadSet(String),
    #[error("{0}")]
    InclusionProof(String),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("the log entry does not match the bundle: {0}")]
    EntryMismatch(String),
    #[error("no signed time: {0}")]
    NoSignedTime(String),
    #[error("the log integrated the entry in the future ({0})")]
    FutureTime(String),
    #[error("timestamp: {0}")]
    Timestamp(String),
    #[error("no key: {0}")]
    MissingKey(String),
    #[error("npm registry key: {0}")]
    RegistryKey(String),
}

/// The kind of refusal, for callers and tests that must tell "tampered"
/// from "untrusted" without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The input cannot be read as a bundle / root / key.
    Malformed,
    /// A valid input this verifier does not handle (said so, never accepted).
    Unsupported,
    /// The artifact (or its digest) is not what was signed.
    Artifact,
    /// A signature over the artifact or envelope is wrong.
    Signature,
    /// The certificate names another signer or issuer, or other claims.
    Identity,
    /// Signing happened outside the certificate's (or a key's) validity.
    Time,
    /// The certificate does not chain to a trusted CA.
    Chain,
    /// The transparency log evidence is wrong or from an unknown log.
    Log,
    /// The log entry is about something else than this bundle.
    Entry,
    /// A key is missing, unknown or expired.
    Key,
}

impl SigstoreError {
    pub fn category(&self) -> Category {
        use SigstoreError::*;
        match self {
            MalformedBundle(_) | MalformedRoot(_) => Category::Malformed,
            Unsupported(_) => Category::Unsupported,
            ArtifactMismatch(_) => Category::Artifact,
            BadSignature(_) => Category::Signature,
            IdentityMismatch { .. } | IssuerMismatch { .. } | ClaimMismatch { .. } => {
                Category::Identity
            }
            CertificateTime(_)
            | Timestamp(_)
            | NoSignedTime(_)
            | FutureTime(_)
            | LogKeyNotValid { .. } => Category::Time,
            UntrustedChain(_) => Category::Chain,
            UnknownLogKey(_) | BadSet(_) | InclusionProof(_) | Checkpoint(_) => Category::Log,
            EntryMismatch(_) => Category::Entry,
            MissingKey(_) | RegistryKey(_) => Category::Key,
        }
    }
}
