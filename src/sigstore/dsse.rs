//! DSSE envelopes and the in-toto statements they carry (SLSA provenance,
//! npm publish, PyPI publish attestations).

use serde::Deserialize;
use std::collections::BTreeMap;

use super::bundle::Envelope;
use super::error::SigstoreError;
use super::keys::{b64, PublicKey};

/// The DSSE pre-authentication encoding: what is actually signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Verifies that the envelope carries exactly one signature and that it is
/// `key`'s over the PAE; returns the decoded payload.
pub fn verify_envelope(envelope: &Envelope, key: &PublicKey) -> Result<Vec<u8>, SigstoreError> {
    let payload = b64("dsseEnvelope.payload", &envelope.payload)?;
    let [sig] = envelope.signatures.as_slice() else {
        return Err(SigstoreError::MalformedBundle(format!(
            "a Sigstore DSSE envelope carries exactly one signature, this one {}",
            envelope.signatures.len()
        )));
    };
    let raw = b64("dsseEnvelope.signatures[0].sig", &sig.sig)?;
    if key.verify(&pae(&envelope.payload_type, &payload), &raw) {
        Ok(payload)
    } else {
        Err(SigstoreError::BadSignature(
            "the envelope signature does not verify with the signer's key".into(),
        ))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subject {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

/// The parts of an in-toto statement a verifier looks at.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    #[serde(default)]
    pub subject: Vec<Subject>,
    #[serde(default)]
    pub predicate_type: String,
}

pub const IN_TOTO_PAYLOAD: &str = "application/vnd.in-toto+json";

impl Statement {
    pub fn parse(payload_type: &str, payload: &[u8]) -> Result<Self, SigstoreError> {
        if payload_type != IN_TOTO_PAYLOAD {
            return Err(SigstoreError::Unsupported(format!(
                "DSSE payload type {payload_type:?}"
            )));
        }
        serde_json::from_slice(payload).map_err(|e| {
            SigstoreError::MalformedBundle(format!("the in-toto statement does not parse: {e}"))
        })
    }

    /// Whether a subject carries this digest (`alg` as in-toto names it).
    pub fn has_digest(&self, alg: &str, hex_digest: &str) -> bool {
        self.subject.iter().any(|s| {
            s.digest
                .get(alg)
                .is_some_and(|d| d.eq_ignore_ascii_case(hex_digest))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}
