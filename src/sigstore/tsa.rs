//! RFC 3161 timestamps: a timestamp authority (TSA) of the trusted root
//! signs that a digest of the bundle's signature existed at `genTime`. Rekor
//! v2 entries carry no signed time of their own, so for them a verified
//! timestamp is the signing time; alongside a SET, every timestamp must still
//! verify and agree with the certificate.
//!
//! A token is CMS SignedData: the TSTInfo (genTime, messageImprint) is the
//! encapsulated content; the signer signs its signed attributes, one of
//! which is the digest of the TSTInfo. vanguard verifies the signer with the
//! TSA certificates of the trusted root only (certificates embedded in the
//! token are ignored).

use super::der::{children, expect, generalized_time, read, Tlv};
use super::error::SigstoreError;
use super::keys::PublicKey;
use super::root::TimestampAuthority;
use super::time::format;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// 2.16.840.1.101.3.4.2 (NIST hash algorithms); .1 SHA-256, .2 SHA-384, .3 SHA-512.
const OID_NIST_HASH: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
/// 1.2.840.113549.1.9.4, the CMS messageDigest attribute.
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];

/// A token's parts, unverified.
#[derive(Debug, Clone)]
pub struct Token<'a> {
    pub time: i64,
    imprint_alg: Option<&'static ring::digest::Algorithm>,
    imprint: &'a [u8],
    tst_info: &'a [u8],
    digest_alg: Option<&'static ring::digest::Algorithm>,
    signed_attrs: Tlv<'a>,
    signature: &'a [u8],
}

fn hash_alg(alg_id: &Tlv<'_>) -> Option<&'static ring::digest::Algorithm> {
    let (oid, _) = expect(alg_id.content, 0x06)?;
    let (last, arc) = oid.content.split_last()?;
    if arc != OID_NIST_HASH {
        return None;
    }
    match last {
        1 => Some(&ring::digest::SHA256),
        2 => Some(&ring::digest::SHA384),
        3 => Some(&ring::digest::SHA512),
        _ => None,
    }
}

/// Reads a TimeStampResp or a bare TimeStampToken (CMS ContentInfo).
pub fn read_token(der: &[u8]) -> Option<Token<'_>> {
    let (top, _) = expect(der, 0x30)?;
    let items = children(top.content)?;
    // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken }
    let content_info = match items.as_slice() {
        [status, token] if status.tag == 0x30 && token.tag == 0x30 => *token,
        [oid, _] if oid.tag == 0x06 => top,
        _ => return None,
    };
    let ci = children(content_info.content)?;
    let signed_data = ci.get(1).filter(|t| t.tag == 0xa0)?;
    let (sd, _) = expect(signed_data.content, 0x30)?;
    let sd = children(sd.content)?;
    // version, digestAlgorithms, encapContentInfo, [0] certs?, [1] crls?, signerInfos
    let encap = sd.get(2).filter(|t| t.tag == 0x30)?;
    let encap = children(encap.content)?;
    let wrapped = encap.get(1).filter(|t| t.tag == 0xa0)?;
    let (octets, _) = expect(wrapped.content, 0x04)?;
    let (tst, _) = expect(octets.content, 0x30)?;
    let tst_fields = children(tst.content)?;
    // version, policy, messageImprint, serialNumber, genTime
    let imprint = tst_fields.get(2).filter(|t| t.tag == 0x30)?;
    let imprint = children(imprint.content)?;
    let imprint_alg = hash_alg(imprint.first().filter(|t| t.tag == 0x30)?);
    let digest = imprint.get(1).filter(|t| t.tag == 0x04)?;
    let gen_time = tst_fields.get(4).filter(|t| t.tag == 0x18)?;
    let signer_infos = sd.last().filter(|t| t.tag == 0x31)?;
    let signers = children(signer_infos.content)?;
    let [signer] = signers.as_slice() else {
        return None;
    };
    // version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature
    let si = children(signer.content)?;
    let digest_alg = hash_alg(si.get(2).filter(|t| t.tag == 0x30)?);
    let signed_attrs = *si.get(3).filter(|t| t.tag == 0xa0)?;
    let signature = si.get(5).filter(|t| t.tag == 0x04)?;
    Some(Token {
        time: generalized_time(gen_time.content)?,
        imprint_alg,
        imprint: digest.content,
        tst_info: octets.content,
        digest_alg,
        signed_attrs,
        signature: signature.content,
    })
}

impl Token<'_> {
    /// Whether the token timestamps these signature bytes.
    pub fn covers(&self, signature: &[u8]) -> bool {
        self.imprint_alg
            .is_some_and(|alg| self.imprint == ring::digest::digest(alg, signature).as_ref())
    }

    /// The messageDigest signed attribute equals the TSTInfo's digest.
    fn attrs_bind_tst_info(&self) -> bool {
        let Some(alg) = self.digest_alg else {
            return false;
        };
        let want = ring::digest::digest(alg, self.tst_info);
        let Some(attrs) = children(self.signed_attrs.content) else {
            return false;
        };
        attrs.iter().any(|attr| {
            let Some((oid, rest)) = expect(attr.content, 0x06) else {
                return false;
            };
            if oid.content != OID_MESSAGE_DIGEST {
                return false;
            }
            let Some((set, _)) = expect(rest, 0x31) else {
                return false;
            };
            read(set.content).is_some_and(|(v, _)| v.tag == 0x04 && v.content == want.as_ref())
        })
    }

    /// The bytes the TSA signed: the signed attributes as a DER SET.
    fn signed_message(&self) -> Vec<u8> {
        let mut m = self.signed_attrs.whole.to_vec();
        if let Some(tag) = m.first_mut() {
            *tag = 0x31;
        }
        m
    }
}

/// The TSA signing certificate's key and validity, if it is a certificate
/// for time stamping (RFC 3161 §2.3: extended key usage timeStamping).
fn cert_key_and_validity(der: &[u8]) -> Option<(PublicKey, i64, i64)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let eku = cert.extended_key_usage().ok()??;
    if !eku.value.time_stamping {
        return None;
    }
    let key = PublicKey::from_parsed(cert.public_key()).ok()?;
    Some((
        key,
        cert.validity().not_before.timestamp(),
        cert.validity().not_after.timestamp(),
    ))
}

/// Verifies a token over `signature` against the root's TSAs; returns its time.
///
/// Order: 1. the token is about this signature; 2. its signed attributes
/// bind the TSTInfo; 3. a TSA of the root that was trusted at genTime, and
/// whose signing certificate was valid then, signed the attributes.
pub fn verify_token(
    der: &[u8],
    signature: &[u8],
    tsas: &[TimestampAuthority],
) -> Result<i64, SigstoreError> {
    let bad = |m: String| SigstoreError::Timestamp(m);
    let token = read_token(der)
        .ok_or_else(|| SigstoreError::MalformedBundle("a timestamp token does not parse".into()))?;
    if !token.covers(signature) {
        return Err(bad(
            "the timestamp is not over this bundle's signature".into()
        ));
    }
    if !token.attrs_bind_tst_info() {
        return Err(bad(
            "the timestamp's signed attributes do not bind its content".into(),
        ));
    }
    let t = token.time;
    let message = token.signed_message();
    let mut reasons = Vec::new();
    for tsa in tsas {
        let Some((key, not_before, not_after)) =
            tsa.chain.first().and_then(|d| cert_key_and_validity(d))
        else {
            continue;
        };
        if !key.verify(&message, token.signature) {
            reasons.push(format!("{} did not sign it", tsa.uri));
            continue;
        }
        if !tsa.valid.contains(t) {
            return Err(bad(format!(
                "{} was not a trusted timestamp authority at {}",
                tsa.uri,
                format(t)
            )));
        }
        if t < not_before || t > not_after {
            return Err(bad(format!(
                "the certificate of {} was not valid at {}",
                tsa.uri,
                format(t)
            )));
        }
        return Ok(t);
    }
    Err(bad(format!(
        "no timestamp authority of the trusted root signed it ({})",
        if reasons.is_empty() {
            "the root lists none".to_string()
        } else {
            reasons.join("; ")
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_of(bundle: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/trust/sigstore/");
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{path}{bundle}")).unwrap()).unwrap();
        let raw = v
            .pointer("/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0/signedTimestamp")
            .and_then(serde_json::Value::as_str)
            .unwrap();
        super::super::keys::b64("t", raw).unwrap()
    }

    #[test]
    fn reads_a_public_good_token_and_refuses_it_for_other_bytes_or_tsas() {
        let der = token_of("rs/bundle_v03.json");
        let token = read_token(&der).unwrap();
        assert_eq!(
            super::super::time::format(token.time),
            "2026-04-09T07:23:29Z"
        );
        assert!(token.attrs_bind_tst_info());
        assert!(!token.covers(b"some other signature"));
        let e = verify_token(&der, b"some other signature", &[]).unwrap_err();
        assert!(
            e.to_string().contains("not over this bundle's signature"),
            "{e}"
        );
        assert!(read_token(&der[..der.len() / 2]).is_none());
    }
}
