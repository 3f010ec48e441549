//! Public keys as the trusted root, certificates and npm publish them
//! (DER SubjectPublicKeyInfo), verified with `ring`.

use base64::Engine;
use ring::signature::{self, UnparsedPublicKey};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::error::SigstoreError;

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ED25519: &str = "1.3.101.112";

/// A verification key. ECDSA keys verify ASN.1 DER signatures with the hash
/// that goes with their curve (SHA-256 for P-256, SHA-384 for P-384), the
/// way Sigstore and npm sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    EcdsaP256 { point: Vec<u8>, spki: Vec<u8> },
    EcdsaP384 { point: Vec<u8>, spki: Vec<u8> },
    Ed25519 { key: Vec<u8>, spki: Vec<u8> },
}

impl PublicKey {
    /// Reads a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        let (rest, spki) = SubjectPublicKeyInfo::from_der(der)
            .map_err(|e| format!("not a DER public key: {e}"))?;
        if !rest.is_empty() {
            return Err("trailing bytes after the public key".into());
        }
        Self::from_parsed(&spki)
    }

    pub(crate) fn from_parsed(spki: &SubjectPublicKeyInfo<'_>) -> Result<Self, String> {
        let alg = spki.algorithm.algorithm.to_id_string();
        let bits = spki.subject_public_key.data.to_vec();
        let raw = spki.raw.to_vec();
        match alg.as_str() {
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|o| o.to_id_string())
                    .unwrap_or_default();
                match curve.as_str() {
                    OID_P256 => Ok(Self::EcdsaP256 {
                        point: bits,
                        spki: raw,
                    }),
                    OID_P384 => Ok(Self::EcdsaP384 {
                        point: bits,
                        spki: raw,
                    }),
                    other => Err(format!("unsupported elliptic curve {other}")),
                }
            }
            OID_ED25519 => Ok(Self::Ed25519 {
                key: bits,
                spki: raw,
            }),
            other => Err(format!("unsupported public key algorithm {other}")),
        }
    }

    /// Reads a PEM `PUBLIC KEY` block.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let der = pem_body(pem, "PUBLIC KEY")?;
        Self::from_spki_der(&der)
    }

    /// The DER SubjectPublicKeyInfo this key was read from.
    pub fn spki_der(&self) -> &[u8] {
        match self {
            Self::EcdsaP256 { spki, .. }
            | Self::EcdsaP384 { spki, .. }
            | Self::Ed25519 { spki, .. } => spki,
        }
    }

    /// The raw key: the uncompressed EC point, or the 32 Ed25519 bytes.
    pub fn raw(&self) -> &[u8] {
        match self {
            Self::EcdsaP256 { point, .. } | Self::EcdsaP384 { point, .. } => point,
            Self::Ed25519 { key, .. } => key,
        }
    }

    /// Whether `sig` is this key's signature over `message`.
    ///
    /// A P-384 key is accepted with SHA-384 or SHA-256: Sigstore clients
    /// differ (sigstore-python signs with SHA-256 whatever the curve), and
    /// either hash binds the message.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        let check = |alg: &'static dyn signature::VerificationAlgorithm, key: &[u8]| {
            UnparsedPublicKey::new(alg, key)
                .verify(message, sig)
                .is_ok()
        };
        match self {
            Self::EcdsaP256 { point, .. } => check(&signature::ECDSA_P256_SHA256_ASN1, point),
            Self::EcdsaP384 { point, .. } => {
                check(&signature::ECDSA_P384_SHA384_ASN1, point)
                    || check(&signature::ECDSA_P384_SHA256_ASN1, point)
            }
            Self::Ed25519 { key, .. } => check(&signature::ED25519, key),
        }
    }
}

/// Standard base64, padding optional, non-zero trailing bits tolerated (as
/// Go and Python decoders do; some published keys have them).
const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The DER inside the first PEM block labelled `label`.
pub fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| format!("no PEM {label} block"))?
        + begin.len();
    let body = pem.get(start..).unwrap_or_default();
    let stop = body
        .find(&end)
        .ok_or_else(|| format!("unterminated PEM {label} block"))?;
    let b64: String = body
        .get(..stop)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    LENIENT
        .decode(b64)
        .map_err(|e| format!("PEM {label} block is not base64: {e}"))
}

/// Base64 (standard alphabet, padded or not) to bytes, naming the field on error.
pub fn b64(field: &str, value: &str) -> Result<Vec<u8>, SigstoreError> {
    // Line breaks occur (`base64` wraps at 76 columns); they carry nothing.
    let decoded = if value.bytes().any(|b| b.is_ascii_whitespace()) {
        let joined: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        LENIENT.decode(joined)
    } else {
        LENIENT.decode(value)
    };
    decoded.map_err(|e| SigstoreError::MalformedBundle(format!("{field} is not base64: {e}")))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn sha512(data: &[u8]) -> [u8; 64] {
    let d = ring::digest::digest(&ring::digest::SHA512, data);
    let mut out = [0u8; 64];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_p256_pem_key_and_rejects_garbage() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2Jh\nfwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==\n-----END PUBLIC KEY-----\n";
        let key = PublicKey::from_pem(pem).unwrap();
        assert!(matches!(key, PublicKey::EcdsaP256 { .. }));
        assert_eq!(key.raw().len(), 65);
        assert!(!key.verify(b"message", b"not a signature"));
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
    }
}
