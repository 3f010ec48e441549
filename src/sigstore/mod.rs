//! Sigstore bundle verification and npm registry signatures, offline,
//! against a pinned trusted root (no network, no OpenSSL: `ring` for the
//! cryptography, `x509-parser` for certificates).
//!
//! How the pieces fit:
//! - [`bundle`] parses a bundle (v0.1–v0.3) into typed material;
//! - [`root`] holds the trusted root: Rekor logs, Fulcio CAs, CT logs;
//! - [`keys`] turns DER public keys into something `ring` verifies with;
//! - [`x509`] reads the signing certificate and builds its path to a CA;
//! - [`sct`] checks the certificate's embedded CT timestamp;
//! - [`rekor`] checks the log's promise (SET), inclusion proof, checkpoint
//!   and that the log entry is about this bundle;
//! - [`tsa`] reads RFC 3161 timestamps (claims only, see there), on [`der`];
//! - [`dsse`] is the envelope and in-toto statement format;
//! - [`verify`] runs the checks in order under a [`verify::Policy`];
//! - [`npm`] checks registry signatures and npm attestations with the above;
//! - [`pypi`] reads PEP 740 attestations as bundles.
//!
//! This module uses nothing else of the crate (a component with no edges in
//! `scripts/check-layers.py`).

pub mod bundle;
pub mod der;
pub mod dsse;
pub mod error;
pub mod keys;
pub mod npm;
pub mod pypi;
pub mod rekor;
pub mod root;
pub mod sct;
pub mod time;
pub mod tsa;
pub mod verify;
pub mod x509;

pub use error::{Category, SigstoreError};
pub use root::TrustedRoot;
pub use verify::{verify_bundle, Artifact, IdentityRule, Policy, Verified};

/// The public-good trusted root pinned into the binary (a byte copy of
/// `tests/data/trust/trusted_root/public-good.json`, sigstore-python's TUF
/// cache as of 2025-10-21). An operator replaces it with `--trusted-root`.
pub const PUBLIC_GOOD_ROOT: &str = include_str!("public-good.json");

/// The Sigstore staging root (sigstage.dev), for `--staging`.
pub const STAGING_ROOT: &str = include_str!("staging.json");
