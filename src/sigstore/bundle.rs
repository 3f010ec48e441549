//! The Sigstore bundle (protobuf-specs `Bundle` in its JSON form), v0.1–v0.3.
//! Parsing only: nothing here is trusted until [`super::verify`] checks it.
//!
//! JSON quirks handled here: 64-bit numbers are JSON strings (some older
//! producers wrote numbers), `inclusionProof` may be `null`, and v0.3 has two
//! media-type spellings.

use serde::{Deserialize, Deserializer};

use super::error::SigstoreError;
use super::keys::b64;

/// A bundle's format version, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V01,
    V02,
    V03,
}

impl Version {
    fn from_media_type(mt: &str) -> Option<Self> {
        match mt {
            "application/vnd.dev.sigstore.bundle+json;version=0.1"
            | "application/vnd.dev.sigstore.bundle.v0.1+json" => Some(Self::V01),
            "application/vnd.dev.sigstore.bundle+json;version=0.2"
            | "application/vnd.dev.sigstore.bundle.v0.2+json" => Some(Self::V02),
            "application/vnd.dev.sigstore.bundle+json;version=0.3"
            | "application/vnd.dev.sigstore.bundle.v0.3+json" => Some(Self::V03),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    #[serde(default)]
    pub message_signature: Option<MessageSignature>,
    #[serde(default)]
    pub dsse_envelope: Option<Envelope>,
    #[serde(skip)]
    pub version: Option<Version>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    #[serde(default)]
    pub x509_certificate_chain: Option<CertificateChain>,
    #[serde(default)]
    pub certificate: Option<RawBytes>,
    #[serde(default)]
    pub public_key: Option<KeyHint>,
    #[serde(default)]
    pub tlog_entries: Vec<TlogEntry>,
    #[serde(default)]
    pub timestamp_verification_data: Option<TimestampData>,
}

#[derive(Debug, Deserialize)]
pub struct CertificateChain {
    #[serde(default)]
    pub certificates: Vec<RawBytes>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    #[serde(default)]
    pub raw_bytes: String,
}

#[derive(Debug, Deserialize)]
pub struct KeyHint {
    #[serde(default)]
    pub hint: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampData {
    #[serde(default)]
    pub rfc3161_timestamps: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlogEntry {
    #[serde(deserialize_with = "int")]
    pub log_index: i64,
    pub log_id: LogId,
    pub kind_version: KindVersion,
    #[serde(default, deserialize_with = "opt_int")]
    pub integrated_time: Option<i64>,
    #[serde(default)]
    pub inclusion_promise: Option<InclusionPromise>,
    #[serde(default)]
    pub inclusion_proof: Option<InclusionProof>,
    pub canonicalized_body: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    pub key_id: String,
}

#[derive(Debug, Deserialize)]
pub struct KindVersion {
    pub kind: String,
    pub version: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    pub signed_entry_timestamp: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    #[serde(deserialize_with = "int")]
    pub log_index: i64,
    pub root_hash: String,
    #[serde(deserialize_with = "int")]
    pub tree_size: i64,
    #[serde(default)]
    pub hashes: Vec<String>,
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
}

#[derive(Debug, Deserialize)]
pub struct Checkpoint {
    pub envelope: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    #[serde(default)]
    pub message_digest: Option<MessageDigest>,
    pub signature: String,
}

#[derive(Debug, Deserialize)]
pub struct MessageDigest {
    pub algorithm: String,
    pub digest: String,
}

/// A DSSE envelope (also the body of npm's and PyPI's attestations).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload: String,
    pub payload_type: String,
    #[serde(default)]
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvelopeSignature {
    pub sig: String,
    #[serde(default)]
    pub keyid: Option<String>,
}

/// What signed the bundle, as the bundle states it (unverified).
#[derive(Debug)]
pub enum SigningMaterial {
    /// The leaf certificate and whatever else a v0.1/v0.2 chain carried.
    Certificate { leaf: Vec<u8>, rest: Vec<Vec<u8>> },
    /// A key the verifier must be given; the hint names it.
    Key { hint: String },
}

impl Bundle {
    /// Parses and checks the shape: a known media type, exactly one of a
    /// message signature or an envelope, signing material present.
    pub fn parse(json: &[u8]) -> Result<Self, SigstoreError> {
        let mut bundle: Bundle = serde_json::from_slice(json)
            .map_err(|e| SigstoreError::MalformedBundle(format!("not a bundle: {e}")))?;
        let version = Version::from_media_type(&bundle.media_type).ok_or_else(|| {
            SigstoreError::MalformedBundle(format!("unknown media type {:?}", bundle.media_type))
        })?;
        bundle.version = Some(version);
        match (&bundle.message_signature, &bundle.dsse_envelope) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(SigstoreError::MalformedBundle(
                    "a bundle carries exactly one of messageSignature and dsseEnvelope".into(),
                ))
            }
        }
        for entry in &bundle.verification_material.tlog_entries {
            if entry.log_index < 0 {
                return Err(SigstoreError::MalformedBundle(format!(
                    "negative log index {}",
                    entry.log_index
                )));
            }
        }
        Ok(bundle)
    }

    pub fn version(&self) -> Version {
        self.version.unwrap_or(Version::V01)
    }

    /// The certificate(s) or key hint, decoded.
    pub fn signing_material(&self) -> Result<SigningMaterial, SigstoreError> {
        let vm = &self.verification_material;
        if let Some(cert) = &vm.certificate {
            let leaf = b64("certificate.rawBytes", &cert.raw_bytes)?;
            if leaf.is_empty() {
                return Err(SigstoreError::MalformedBundle("empty certificate".into()));
            }
            return Ok(SigningMaterial::Certificate {
                leaf,
                rest: Vec::new(),
            });
        }
        if let Some(chain) = &vm.x509_certificate_chain {
            let mut certs = Vec::with_capacity(chain.certificates.len());
            for (i, c) in chain.certificates.iter().enumerate() {
                certs.push(b64(
                    &format!("x509CertificateChain.certificates[{i}]"),
                    &c.raw_bytes,
                )?);
            }
            let mut it = certs.into_iter();
            let leaf = it
                .next()
                .filter(|l| !l.is_empty())
                .ok_or_else(|| SigstoreError::MalformedBundle("empty certificate chain".into()))?;
            return Ok(SigningMaterial::Certificate {
                leaf,
                rest: it.collect(),
            });
        }
        if let Some(key) = &vm.public_key {
            return Ok(SigningMaterial::Key {
                hint: key.hint.clone(),
            });
        }
        Err(SigstoreError::MalformedBundle(
            "no certificate, certificate chain or public key".into(),
        ))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrString {
    Int(i64),
    Str(String),
}

fn to_int<E: serde::de::Error>(v: IntOrString) -> Result<i64, E> {
    match v {
        IntOrString::Int(i) => Ok(i),
        IntOrString::Str(s) => s
            .parse()
            .map_err(|_| E::custom(format!("{s:?} is not an integer"))),
    }
}

fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    to_int(IntOrString::deserialize(d)?)
}

fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<IntOrString>::deserialize(d)? {
        None => Ok(None),
        Some(v) => to_int(v).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_and_shapes() {
        assert_eq!(
            Version::from_media_type("application/vnd.dev.sigstore.bundle.v0.3+json"),
            Some(Version::V03)
        );
        assert_eq!(
            Version::from_media_type("application/vnd.dev.sigstore.bundle+json;version=0.3"),
            Some(Version::V03)
        );
        assert_eq!(
            Version::from_media_type("application/vnd.dev.sigstore.bundle+json;version=0.9"),
            None
        );
        let both = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"messageSignature":{"signature":""},"dsseEnvelope":{"payload":"","payloadType":"x"}}"#;
        assert!(matches!(
            Bundle::parse(both),
            Err(SigstoreError::MalformedBundle(_))
        ));
    }
}
