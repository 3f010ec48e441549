//! Transparency-log evidence: the signed entry timestamp (SET), the RFC 9162
//! inclusion proof, the signed checkpoint (a C2SP signed note), and whether
//! the logged entry body is about this bundle at all.

use serde_json::Value;

use super::bundle::{Envelope, InclusionProof, TlogEntry};
use super::error::SigstoreError;
use super::keys::{b64, hex, pem_body, sha256};
use super::root::Log;

/// Verifies the SET: the log's signature over the RFC 8785 canonical JSON of
/// `{body, integratedTime, logID, logIndex}` (keys already in canonical order;
/// every value is an integer or a base64/hex string, so no escaping occurs).
pub fn verify_set(entry: &TlogEntry, log: &Log, integrated_time: i64) -> Result<(), SigstoreError> {
    let promise = entry
        .inclusion_promise
        .as_ref()
        .ok_or_else(|| SigstoreError::BadSet("the entry has no inclusion promise".into()))?;
    let sig = b64("signedEntryTimestamp", &promise.signed_entry_timestamp)?;
    if !entry
        .canonicalized_body
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
    {
        return Err(SigstoreError::MalformedBundle(
            "canonicalizedBody is not base64".into(),
        ));
    }
    let payload = format!(
        "{{\"body\":\"{}\",\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{}}}",
        entry.canonicalized_body,
        integrated_time,
        hex(&log.log_id),
        entry.log_index
    );
    if log.key.verify(payload.as_bytes(), &sig) {
        Ok(())
    } else {
        Err(SigstoreError::BadSet(format!(
            "the signature of log {} over entry {} does not verify",
            log.base_url, entry.log_index
        )))
    }
}

fn node(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(65);
    buf.push(1);
    buf.extend_from_slice(left);
    buf.extend_from_slice(right);
    sha256(&buf)
}

/// The RFC 9162 leaf hash of an entry body.
pub fn leaf_hash(body: &[u8]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(body.len() + 1);
    buf.push(0);
    buf.extend_from_slice(body);
    sha256(&buf)
}

/// RFC 9162 §2.1.3.2: recomputes the root from the leaf and the audit path.
pub fn root_from_proof(
    leaf: [u8; 32],
    index: u64,
    size: u64,
    path: &[[u8; 32]],
) -> Result<[u8; 32], String> {
    if index >= size {
        return Err(format!(
            "leaf index {index} is outside a tree of size {size}"
        ));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf;
    for p in path {
        if snode == 0 {
            return Err("the proof has more hashes than the tree has levels".into());
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err("the proof has fewer hashes than the tree has levels".into());
    }
    Ok(r)
}

/// Verifies the inclusion proof and its checkpoint: 1. the audit path leads
/// from this entry's leaf to `rootHash`; 2. the checkpoint is signed by the
/// log; 3. the checkpoint commits to that same root and size.
pub fn verify_inclusion(
    entry: &TlogEntry,
    proof: &InclusionProof,
    body: &[u8],
    log: &Log,
) -> Result<(), SigstoreError> {
    let bad = |m: String| SigstoreError::InclusionProof(m);
    let root: [u8; 32] = b64("inclusionProof.rootHash", &proof.root_hash)?
        .try_into()
        .map_err(|_| bad("the root hash is not 32 bytes".into()))?;
    let mut path = Vec::with_capacity(proof.hashes.len());
    for h in &proof.hashes {
        path.push(
            <[u8; 32]>::try_from(b64("inclusionProof.hashes", h)?)
                .map_err(|_| bad("a proof hash is not 32 bytes".into()))?,
        );
    }
    let index = u64::try_from(proof.log_index).map_err(|_| bad("negative proof index".into()))?;
    let size = u64::try_from(proof.tree_size).map_err(|_| bad("negative tree size".into()))?;
    let computed = root_from_proof(leaf_hash(body), index, size, &path).map_err(bad)?;
    if computed != root {
        return Err(bad(format!(
            "inclusion proof for entry {} does not lead to the proof's root hash",
            entry.log_index
        )));
    }
    let note = proof
        .checkpoint
        .as_ref()
        .ok_or_else(|| SigstoreError::Checkpoint("the inclusion proof has no checkpoint".into()))?;
    let cp = verify_checkpoint(&note.envelope, log)?;
    if cp.size != size || cp.root != root {
        return Err(bad(
            "inclusion proof does not lead to the checkpoint's root".into(),
        ));
    }
    Ok(())
}

/// A verified checkpoint's claims.
#[derive(Debug)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
}

/// Verifies a signed note: `origin\nsize\nb64 root\n[extra]\n\n— name b64(hint ‖ sig)\n…`.
/// The log's signature is the one whose 4-byte key hint is the first four
/// bytes of its log ID; other signatures (witnesses) are ignored.
pub fn verify_checkpoint(note: &str, log: &Log) -> Result<Checkpoint, SigstoreError> {
    let bad = |m: &str| SigstoreError::Checkpoint(m.to_string());
    let split = note
        .find("\n\n")
        .ok_or_else(|| bad("no blank line before the signatures"))?;
    let signed = note.get(..=split).ok_or_else(|| bad("truncated note"))?;
    let sigs = note.get(split + 2..).unwrap_or_default();
    let mut lines = signed.lines();
    let origin = lines
        .next()
        .filter(|o| !o.is_empty())
        .ok_or_else(|| bad("missing origin"))?;
    let size: u64 = lines
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("missing or bad tree size"))?;
    let root: [u8; 32] = lines
        .next()
        .and_then(|r| b64("checkpoint root", r).ok())
        .and_then(|r| r.try_into().ok())
        .ok_or_else(|| bad("missing or bad root hash"))?;
    let hint = log
        .log_id
        .get(..4)
        .ok_or_else(|| bad("log ID shorter than a key hint"))?;
    let mut found_hint = false;
    for line in sigs.lines().filter(|l| !l.is_empty()) {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| bad("a signature line does not start with an em dash"))?;
        let Some((_, sig_b64)) = rest.rsplit_once(' ') else {
            return Err(bad("a signature line has no signature"));
        };
        let Ok(raw) = b64("checkpoint signature", sig_b64) else {
            continue;
        };
        if raw.get(..4) != Some(hint) {
            continue;
        }
        found_hint = true;
        if log
            .key
            .verify(signed.as_bytes(), raw.get(4..).unwrap_or_default())
        {
            return Ok(Checkpoint {
                origin: origin.to_string(),
                size,
                root,
            });
        }
    }
    Err(bad(if found_hint {
        "the log's signature on the checkpoint does not verify"
    } else {
        "no signature by the log's key (key hint) on the checkpoint"
    }))
}

/// What the bundle says was signed, to compare with the log entry.
pub enum Signed<'a> {
    Message {
        digest: [u8; 32],
        signature: &'a [u8],
    },
    Dsse {
        envelope: &'a Envelope,
        payload: &'a [u8],
    },
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str, SigstoreError> {
    field(v, path).and_then(Value::as_str).ok_or_else(|| {
        SigstoreError::EntryMismatch(format!("the entry body has no {}", path.join(".")))
    })
}

/// Base64 of a PEM certificate or key (as Rekor stores them) → DER.
fn logged_signer(b64_pem: &str) -> Option<Vec<u8>> {
    let pem = String::from_utf8(b64("signer", b64_pem).ok()?).ok()?;
    pem_body(&pem, "CERTIFICATE")
        .or_else(|_| pem_body(&pem, "PUBLIC KEY"))
        .ok()
}

/// A Rekor v2 verifier: `x509Certificate.rawBytes` or `publicKey.rawBytes`.
fn same_v2_verifier(verifier: Option<&Value>, signer_der: &[u8]) -> bool {
    let raw = verifier.and_then(|v| {
        v.pointer("/x509Certificate/rawBytes")
            .or_else(|| v.pointer("/publicKey/rawBytes"))
            .and_then(Value::as_str)
    });
    raw.and_then(|r| b64("logged verifier", r).ok())
        .is_some_and(|d| d == signer_der)
}

/// The log entry must record this bundle's signature, signer and digest
/// (otherwise a valid entry for other materials could vouch for these:
/// CVE-2022-36056).
pub fn check_body(
    entry: &TlogEntry,
    body: &[u8],
    signed: &Signed<'_>,
    signer_der: &[u8],
) -> Result<(), SigstoreError> {
    let mismatch = |m: &str| SigstoreError::EntryMismatch(m.to_string());
    let v: Value =
        serde_json::from_slice(body).map_err(|_| mismatch("the entry body is not JSON"))?;
    let kind = (
        entry.kind_version.kind.as_str(),
        entry.kind_version.version.as_str(),
    );
    let body_kind = (str_at(&v, &["kind"])?, str_at(&v, &["apiVersion"])?);
    if kind != body_kind {
        return Err(mismatch("the entry body's kind differs from kindVersion"));
    }
    let same_signer = |pem: &str| logged_signer(pem).is_some_and(|d| d == signer_der);
    match (kind, signed) {
        (("hashedrekord", "0.0.1"), Signed::Message { digest, signature }) => {
            if str_at(&v, &["spec", "data", "hash", "algorithm"])? != "sha256"
                || str_at(&v, &["spec", "data", "hash", "value"])? != hex(digest)
            {
                return Err(mismatch("the logged artifact digest is not the artifact's"));
            }
            if b64(
                "logged signature",
                str_at(&v, &["spec", "signature", "content"])?,
            )? != *signature
            {
                return Err(mismatch("the logged signature is not the bundle's"));
            }
            if !same_signer(str_at(&v, &["spec", "signature", "publicKey", "content"])?) {
                return Err(mismatch(
                    "the logged certificate or key is not the bundle's",
                ));
            }
            Ok(())
        }
        // Rekor v2: the signed bytes' digest (the artifact, or the DSSE PAE),
        // the signature, and the verifier as raw DER.
        (("hashedrekord", "0.0.2"), signed) => {
            let spec = field(&v, &["spec", "hashedRekordV002"])
                .ok_or_else(|| mismatch("the entry body has no spec.hashedRekordV002"))?;
            let (digest, signature) = match signed {
                Signed::Message { digest, signature } => (*digest, signature.to_vec()),
                Signed::Dsse { envelope, payload } => {
                    let [sig] = envelope.signatures.as_slice() else {
                        return Err(mismatch("a DSSE envelope with several signatures"));
                    };
                    (
                        sha256(&super::dsse::pae(&envelope.payload_type, payload)),
                        b64("envelope signature", &sig.sig)?,
                    )
                }
            };
            if str_at(spec, &["data", "algorithm"])? != "SHA2_256"
                || b64("logged digest", str_at(spec, &["data", "digest"])?)? != digest
            {
                return Err(mismatch("the logged artifact digest is not the artifact's"));
            }
            if b64("logged signature", str_at(spec, &["signature", "content"])?)? != signature {
                return Err(mismatch("the logged signature is not the bundle's"));
            }
            if !same_v2_verifier(spec.pointer("/signature/verifier"), signer_der) {
                return Err(mismatch(
                    "the logged certificate or key is not the bundle's",
                ));
            }
            Ok(())
        }
        (("dsse", "0.0.2"), Signed::Dsse { envelope, payload }) => {
            let spec = field(&v, &["spec", "dsseV002"])
                .ok_or_else(|| mismatch("the entry body has no spec.dsseV002"))?;
            if b64(
                "logged payload hash",
                str_at(spec, &["payloadHash", "digest"])?,
            )? != sha256(payload)
            {
                return Err(mismatch(
                    "the logged payload hash is not the envelope payload's",
                ));
            }
            let logged = spec
                .get("signatures")
                .and_then(Value::as_array)
                .ok_or_else(|| mismatch("no logged signatures"))?;
            for s in &envelope.signatures {
                let ours = b64("envelope signature", &s.sig)?;
                let hit = logged.iter().any(|l| {
                    l.get("content")
                        .and_then(Value::as_str)
                        .and_then(|c| b64("logged signature", c).ok())
                        .is_some_and(|c| c == ours)
                        && same_v2_verifier(l.get("verifier"), signer_der)
                });
                if !hit {
                    return Err(mismatch(
                        "an envelope signature or its signer is not logged",
                    ));
                }
            }
            Ok(())
        }
        (("dsse", "0.0.1"), Signed::Dsse { envelope, payload }) => {
            if str_at(&v, &["spec", "payloadHash", "value"])? != hex(&sha256(payload)) {
                return Err(mismatch(
                    "the logged payload hash is not the envelope payload's",
                ));
            }
            let logged = field(&v, &["spec", "signatures"])
                .and_then(Value::as_array)
                .ok_or_else(|| mismatch("no logged signatures"))?;
            signatures_match(
                envelope,
                logged,
                "signature",
                "verifier",
                &same_signer,
                false,
            )
        }
        (("intoto", "0.0.2"), Signed::Dsse { envelope, payload }) => {
            if str_at(&v, &["spec", "content", "payloadHash", "value"])? != hex(&sha256(payload)) {
                return Err(mismatch(
                    "the logged payload hash is not the envelope payload's",
                ));
            }
            let logged = field(&v, &["spec", "content", "envelope", "signatures"])
                .and_then(Value::as_array)
                .ok_or_else(|| mismatch("no logged signatures"))?;
            signatures_match(envelope, logged, "sig", "publicKey", &same_signer, true)
        }
        ((k, ver), Signed::Message { .. }) | ((k, ver), Signed::Dsse { .. })
            if !matches!(k, "hashedrekord" | "dsse" | "intoto") =>
        {
            Err(SigstoreError::Unsupported(format!(
                "log entry kind {k} {ver}"
            )))
        }
        ((k, ver), _) => Err(SigstoreError::Unsupported(format!(
            "log entry kind {k} {ver} for this kind of bundle content"
        ))),
    }
}

/// Every envelope signature must be logged with this signer. intoto 0.0.2
/// stores the signature base64-encoded once more.
fn signatures_match(
    envelope: &Envelope,
    logged: &[Value],
    sig_key: &str,
    signer_key: &str,
    same_signer: &dyn Fn(&str) -> bool,
    double_encoded: bool,
) -> Result<(), SigstoreError> {
    if logged.len() != envelope.signatures.len() {
        return Err(SigstoreError::EntryMismatch(
            "the logged signatures are not the envelope's".into(),
        ));
    }
    for s in &envelope.signatures {
        let ours = b64("envelope signature", &s.sig)?;
        let hit = logged.iter().any(|l| {
            let Some(theirs) = l.get(sig_key).and_then(Value::as_str) else {
                return false;
            };
            let theirs = if double_encoded {
                b64("logged signature", theirs)
                    .ok()
                    .and_then(|t| String::from_utf8(t).ok())
                    .and_then(|t| b64("logged signature", &t).ok())
            } else {
                b64("logged signature", theirs).ok()
            };
            theirs.as_deref() == Some(&ours[..])
                && l.get(signer_key)
                    .and_then(Value::as_str)
                    .is_some_and(same_signer)
        });
        if !hit {
            return Err(SigstoreError::EntryMismatch(
                "an envelope signature or its signer is not logged".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: u8) -> [u8; 32] {
        leaf_hash(&[b])
    }

    #[test]
    fn inclusion_proofs_for_every_leaf_of_small_trees() {
        // Build trees of size 1..=7 by the RFC 9162 definition and prove each leaf.
        fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
            if leaves.len() == 1 {
                return leaves[0];
            }
            let k = leaves.len().next_power_of_two() / 2;
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
        fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
            if leaves.len() == 1 {
                return vec![];
            }
            let k = leaves.len().next_power_of_two() / 2;
            if m < k {
                let mut p = path(m, &leaves[..k]);
                p.push(mth(&leaves[k..]));
                p
            } else {
                let mut p = path(m - k, &leaves[k..]);
                p.push(mth(&leaves[..k]));
                p
            }
        }
        for n in 1..=7u8 {
            let leaves: Vec<_> = (0..n).map(h).collect();
            let root = mth(&leaves);
            for m in 0..usize::from(n) {
                let p = path(m, &leaves);
                assert_eq!(
                    root_from_proof(leaves[m], m as u64, u64::from(n), &p).unwrap(),
                    root
                );
                if !p.is_empty() {
                    let mut broken = p.clone();
                    broken[0][0] ^= 1;
                    assert_ne!(
                        root_from_proof(leaves[m], m as u64, u64::from(n), &broken).unwrap(),
                        root
                    );
                }
            }
        }
        assert!(root_from_proof(h(0), 3, 3, &[]).is_err());
    }
}
