//! Certificate transparency: Fulcio embeds signed certificate timestamps
//! (SCTs, RFC 6962) in every certificate it issues. A certificate must carry
//! one that a CT log of the trusted root signed, so a CA key alone cannot
//! mint a certificate nobody can see.
//!
//! The SCT signs the *precertificate*: the leaf's TBSCertificate without the
//! SCT extension, bound to the issuer's key hash.

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::der::{children, encode, expect};
use super::error::SigstoreError;
use super::keys::sha256;
use super::root::Log;
use super::time::format;

/// 1.3.6.1.4.1.11129.2.4.2, DER content of the OID.
const OID_SCT_LIST: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];

struct Sct<'a> {
    log_id: &'a [u8],
    timestamp_ms: u64,
    extensions: &'a [u8],
    signature: &'a [u8],
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = input.split_at_checked(n)?;
    *input = rest;
    Some(head)
}

fn take_u16_prefixed<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = take(input, 2)?;
    let n = usize::from(u16::from_be_bytes([*len.first()?, *len.get(1)?]));
    take(input, n)
}

fn parse_list(ext_value: &[u8]) -> Option<Vec<Sct<'_>>> {
    // The extension value is an OCTET STRING holding the TLS-encoded list.
    let (octets, _) = expect(ext_value, 0x04)?;
    let mut list = octets.content;
    let mut body = take_u16_prefixed(&mut list)?;
    let mut out = Vec::new();
    while !body.is_empty() {
        let mut sct = take_u16_prefixed(&mut body)?;
        if take(&mut sct, 1)? != [0] {
            continue; // only v1 SCTs exist
        }
        let log_id = take(&mut sct, 32)?;
        let ts = take(&mut sct, 8)?;
        let timestamp_ms = u64::from_be_bytes(ts.try_into().ok()?);
        let extensions = take_u16_prefixed(&mut sct)?;
        let _hash_and_sig_alg = take(&mut sct, 2)?;
        let signature = take_u16_prefixed(&mut sct)?;
        out.push(Sct {
            log_id,
            timestamp_ms,
            extensions,
            signature,
        });
    }
    Some(out)
}

/// The TBSCertificate with the SCT-list extension removed, re-encoded.
fn precert_tbs(tbs: &[u8]) -> Option<Vec<u8>> {
    let (seq, _) = expect(tbs, 0x30)?;
    let mut out = Vec::new();
    for field in children(seq.content)? {
        if field.tag != 0xa3 {
            out.extend_from_slice(field.whole);
            continue;
        }
        let (exts, _) = expect(field.content, 0x30)?;
        let mut kept = Vec::new();
        for ext in children(exts.content)? {
            let (oid, _) = expect(ext.content, 0x06)?;
            if oid.content != OID_SCT_LIST {
                kept.extend_from_slice(ext.whole);
            }
        }
        out.extend_from_slice(&encode(0xa3, &encode(0x30, &kept)));
    }
    Some(encode(0x30, &out))
}

/// Requires an SCT on `leaf` (issued by the CA certificate whose SPKI is
/// `issuer_spki`) signed by one of `ctlogs` while that log was trusted.
pub fn verify_embedded_sct(
    leaf: &[u8],
    issuer_spki: &[u8],
    ctlogs: &[Log],
) -> Result<(), SigstoreError> {
    let bad = |m: String| SigstoreError::UntrustedChain(m);
    let (_, cert) =
        X509Certificate::from_der(leaf).map_err(|e| bad(format!("certificate: {e}")))?;
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.as_bytes() == OID_SCT_LIST)
        .ok_or_else(|| bad("the certificate carries no signed certificate timestamp".into()))?;
    // The extension's value (inside extnValue) is itself an OCTET STRING.
    let scts = parse_list(ext.value).ok_or_else(|| bad("unreadable SCT list".into()))?;
    let tbs = precert_tbs(cert.tbs_certificate.as_ref())
        .ok_or_else(|| bad("unreadable TBSCertificate".into()))?;
    let tbs_len = u32::try_from(tbs.len())
        .ok()
        .filter(|n| *n < 1 << 24)
        .ok_or_else(|| bad("TBSCertificate too long".into()))?;
    let issuer_key_hash = sha256(issuer_spki);
    let mut reasons = Vec::new();
    for sct in &scts {
        let Some(log) = ctlogs.iter().find(|l| l.log_id == sct.log_id) else {
            reasons.push("an SCT from a CT log the trusted root does not list".to_string());
            continue;
        };
        let when = i64::try_from(sct.timestamp_ms / 1000).unwrap_or(i64::MAX);
        if !log.valid.contains(when) {
            reasons.push(format!(
                "CT log {} was not trusted at {}",
                log.base_url,
                format(when)
            ));
            continue;
        }
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&[0, 1]); // entry type: precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(tbs_len.to_be_bytes().get(1..).unwrap_or_default());
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(
            &u16::try_from(sct.extensions.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        signed.extend_from_slice(sct.extensions);
        if log.key.verify(&signed, sct.signature) {
            return Ok(());
        }
        reasons.push(format!(
            "the SCT signature of CT log {} does not verify",
            log.base_url
        ));
    }
    Err(bad(format!(
        "no valid SCT from a trusted CT log ({})",
        reasons.join("; ")
    )))
}
