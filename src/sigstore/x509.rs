//! The Fulcio signing certificate: who it names (SAN, OIDC issuer, the
//! GitHub/GitLab workflow claims Fulcio records as extensions) and whether it
//! chains to a CA of the trusted root at the signing time.
//!
//! The path is always built from the trusted root's own CA chain: a v0.1
//! bundle's `x509CertificateChain` may carry intermediates and even the root
//! (sigstore-js and sigstore-go wrote such bundles for npm provenance), and we
//! accept those only when every extra certificate is byte-identical to one in
//! the CA chain the path used — nothing in the bundle beyond the leaf is ever
//! trusted on its own (see docs/SIGSTORE.md, "certificate chains").

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use super::error::SigstoreError;
use super::keys::PublicKey;
use super::root::CertificateAuthority;
use super::time::format;

/// Fulcio's OID arc: 1.3.6.1.4.1.57264.1.N.
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1.";
const GITHUB_ACTIONS: &str = "https://token.actions.githubusercontent.com";
const OID_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";

/// What the signing certificate claims, read from its extensions. Fulcio's
/// v2 extensions (.8 onwards) are DER UTF8Strings; the legacy v1 ones (.1–.6)
/// are the raw bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// 1.8 (or legacy 1.1): the OIDC issuer.
    pub issuer: Option<String>,
    /// 1.9: build signer URI (the workflow that signed, `…@ref`).
    pub build_signer_uri: Option<String>,
    /// 1.12: source repository URI (for GitHub, derived from legacy 1.5
    /// `owner/repo` when absent).
    pub source_repository: Option<String>,
    /// 1.13: source repository digest (commit).
    pub source_digest: Option<String>,
    /// 1.14 (or legacy 1.6): source repository ref.
    pub source_ref: Option<String>,
    /// 1.18: build config URI (the top-level workflow, `…@ref`).
    pub build_config_uri: Option<String>,
    /// 1.20: build trigger (event name).
    pub build_trigger: Option<String>,
    /// 1.11: runner environment (`github-hosted`…).
    pub runner_environment: Option<String>,
}

/// The parsed leaf: identity, claims, validity and key.
#[derive(Debug, Clone)]
pub struct SigningCertificate {
    pub der: Vec<u8>,
    /// Subject alternative names: emails and URIs (Fulcio sets exactly one).
    pub sans: Vec<String>,
    pub claims: Claims,
    pub not_before: i64,
    pub not_after: i64,
    pub key: PublicKey,
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, SigstoreError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(SigstoreError::MalformedBundle(
            "trailing bytes after a certificate".into(),
        )),
        Err(e) => Err(SigstoreError::MalformedBundle(format!(
            "not an X.509 certificate: {e}"
        ))),
    }
}

/// Content of a DER UTF8String (tag 12), or `None` if it is not one.
fn der_utf8(value: &[u8]) -> Option<String> {
    let (&tag, rest) = value.split_first()?;
    if tag != 0x0c {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, body) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (len_bytes, body) = (rest.get(..n)?, rest.get(n..)?);
        (
            len_bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            body,
        )
    };
    if body.len() != len {
        return None;
    }
    String::from_utf8(body.to_vec()).ok()
}

impl SigningCertificate {
    pub fn parse(der: &[u8]) -> Result<Self, SigstoreError> {
        let cert = parse(der)?;
        let mut sans = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::RFC822Name(s) | GeneralName::URI(s) => sans.push((*s).to_string()),
                    _ => {}
                }
            }
        }
        let mut claims = Claims::default();
        let mut legacy_issuer = None;
        let mut legacy_ref = None;
        let mut legacy_repository = None;
        for ext in cert.extensions() {
            let oid = ext.oid.to_id_string();
            let Some(n) = oid.strip_prefix(FULCIO_ARC) else {
                continue;
            };
            let raw = || String::from_utf8(ext.value.to_vec()).ok();
            let utf8 = || der_utf8(ext.value);
            match n {
                "1" => legacy_issuer = raw(),
                "5" => legacy_repository = raw(),
                "6" => legacy_ref = raw(),
                "8" => claims.issuer = utf8(),
                "9" => claims.build_signer_uri = utf8(),
                "11" => claims.runner_environment = utf8(),
                "12" => claims.source_repository = utf8(),
                "13" => claims.source_digest = utf8(),
                "14" => claims.source_ref = utf8(),
                "18" => claims.build_config_uri = utf8(),
                "20" => claims.build_trigger = utf8(),
                _ => {}
            }
        }
        claims.issuer = claims.issuer.or(legacy_issuer);
        claims.source_ref = claims.source_ref.or(legacy_ref);
        // Certificates from before Fulcio's v2 extensions (2023) name the
        // GitHub repository only as `owner/repo` (.1.5).
        if claims.source_repository.is_none() && claims.issuer.as_deref() == Some(GITHUB_ACTIONS) {
            claims.source_repository = legacy_repository.map(|r| format!("https://github.com/{r}"));
        }
        let key = PublicKey::from_parsed(cert.public_key())
            .map_err(|e| SigstoreError::MalformedBundle(format!("signing certificate key: {e}")))?;
        Ok(Self {
            der: der.to_vec(),
            sans,
            claims,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            key,
        })
    }

    /// The signing time must fall inside the certificate's validity: Fulcio
    /// certificates live ten minutes, and the log's (or TSA's) time proves
    /// the signature was made inside them.
    pub fn check_time(&self, t: i64, source: &str) -> Result<(), SigstoreError> {
        if t < self.not_before {
            return Err(SigstoreError::CertificateTime(format!(
                "the certificate was not yet valid when {source} ({} < not before {})",
                format(t),
                format(self.not_before)
            )));
        }
        if t > self.not_after {
            return Err(SigstoreError::CertificateTime(format!(
                "the certificate expired before {source} (not after {}, {})",
                format(self.not_after),
                format(t)
            )));
        }
        Ok(())
    }
}

fn valid_at(cert: &X509Certificate<'_>, t: i64) -> bool {
    let v = cert.validity();
    t >= v.not_before.timestamp() && t <= v.not_after.timestamp()
}

fn is_code_signing(cert: &X509Certificate<'_>) -> bool {
    cert.extensions()
        .iter()
        .any(|e| match e.parsed_extension() {
            ParsedExtension::ExtendedKeyUsage(eku) => {
                eku.code_signing
                    || eku
                        .other
                        .iter()
                        .any(|o| o.to_id_string() == OID_CODE_SIGNING)
            }
            _ => false,
        })
}

/// Verifies `leaf` up to a CA of `cas` valid at `t`; returns that CA's URI
/// and the DER SubjectPublicKeyInfo of the certificate that issued the leaf.
///
/// Order: 1. the leaf is a code-signing, non-CA certificate; 2. for each CA
/// trusted at `t`, the leaf is signed by the CA chain's first certificate and
/// each chain certificate by the next, every one a CA valid at `t`; 3. any
/// extra bundle certificate must be one of that chain's.
pub fn verify_chain(
    leaf: &[u8],
    extra: &[Vec<u8>],
    cas: &[CertificateAuthority],
    t: i64,
) -> Result<(String, Vec<u8>), SigstoreError> {
    let leaf_cert = parse(leaf)?;
    if leaf_cert.is_ca() {
        return Err(SigstoreError::UntrustedChain(
            "the signing certificate is a CA certificate".into(),
        ));
    }
    if !is_code_signing(&leaf_cert) {
        return Err(SigstoreError::UntrustedChain(
            "the signing certificate is not for code signing (extended key usage)".into(),
        ));
    }
    let mut reasons = Vec::new();
    for ca in cas {
        if !ca.valid.contains(t) {
            reasons.push(format!("{} is not trusted at {}", ca.uri, format(t)));
            continue;
        }
        match path_through(&leaf_cert, ca, t) {
            Ok(()) => {
                if let Some(stranger) = extra.iter().position(|c| !ca.chain.contains(c)) {
                    return Err(SigstoreError::UntrustedChain(format!(
                        "bundle certificate {} is not part of the trusted CA chain of {}",
                        stranger + 1,
                        ca.uri
                    )));
                }
                let issuer = ca.chain.first().map(|d| parse(d)).transpose()?;
                let spki = issuer
                    .map(|c| c.public_key().raw.to_vec())
                    .unwrap_or_default();
                return Ok((ca.uri.clone(), spki));
            }
            Err(e) => reasons.push(format!("{}: {e}", ca.uri)),
        }
    }
    Err(SigstoreError::UntrustedChain(format!(
        "no trusted Fulcio CA issued the signing certificate ({})",
        if reasons.is_empty() {
            "the trusted root has no CA".to_string()
        } else {
            reasons.join("; ")
        }
    )))
}

fn path_through(
    leaf: &X509Certificate<'_>,
    ca: &CertificateAuthority,
    t: i64,
) -> Result<(), String> {
    let mut child = leaf.clone();
    for (i, der) in ca.chain.iter().enumerate() {
        let issuer = parse(der).map_err(|e| e.to_string())?;
        if child.issuer() != issuer.subject() {
            return Err(format!("chain certificate {} is not the issuer", i + 1));
        }
        child
            .verify_signature(Some(issuer.public_key()))
            .map_err(|_| format!("signature by chain certificate {} does not verify", i + 1))?;
        if !issuer.is_ca() {
            return Err(format!("chain certificate {} is not a CA", i + 1));
        }
        if !valid_at(&issuer, t) {
            return Err(format!(
                "chain certificate {} is not valid at {}",
                i + 1,
                format(t)
            ));
        }
        child = issuer;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_utf8_reads_short_and_long_forms_only_for_utf8string() {
        assert_eq!(der_utf8(b"\x0c\x03abc").as_deref(), Some("abc"));
        let long: Vec<u8> = [&[0x0c, 0x81, 0x80][..], &[b'x'; 128][..]].concat();
        assert_eq!(der_utf8(&long).map(|s| s.len()), Some(128));
        assert_eq!(der_utf8(b"\x16\x03abc"), None);
        assert_eq!(der_utf8(b"\x0c\x05abc"), None);
    }
}
