//! Ed25519 keys: the private key as PKCS#8 PEM, the public key as a signer
//! document `{version, algorithm, key_id, public_key}`.
//!
//! The private key is written as PKCS#8 v1 (RFC 8410: the 32-byte seed,
//! no public key), which is what Python's `cryptography` writes with
//! `private_bytes(PEM, PKCS8, NoEncryption())`; either version is read.

use super::{sha256_hex, TrustError};
use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

pub const ALGORITHM: &str = "ed25519";
pub const VERSION: u32 = 1;

/// The `version` and `algorithm` every signer and signature document
/// carries; `what` names the document in errors.
pub fn check_header(version: u32, algorithm: &str, what: &str) -> Result<(), TrustError> {
    if version != VERSION {
        return Err(TrustError::field(
            what,
            "version",
            format!("{version} is not 1"),
        ));
    }
    if algorithm != ALGORITHM {
        return Err(TrustError::field(
            what,
            "algorithm",
            format!("{algorithm:?} is not \"ed25519\""),
        ));
    }
    Ok(())
}

/// The DER of a PKCS#8 v1 Ed25519 private key up to the seed: SEQUENCE,
/// INTEGER 0 (v1), AlgorithmIdentifier { OID 1.3.101.112 (id-Ed25519) },
/// OCTET STRING { OCTET STRING (32 bytes) }.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The public half of a key, as the original product writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerDoc {
    /// 1; absent is read as 1 (the original does not check it).
    #[serde(default = "version_one")]
    pub version: u32,
    /// "ed25519"; absent is read as "ed25519" (as the original does).
    #[serde(default = "ed25519")]
    pub algorithm: String,
    pub key_id: String,
    /// Base64 (standard, padded) of the raw 32-byte public key.
    pub public_key: String,
}

fn version_one() -> u32 {
    VERSION
}

fn ed25519() -> String {
    ALGORITHM.to_string()
}

impl SignerDoc {
    pub fn read(path: &Path) -> Result<SignerDoc, TrustError> {
        let text = std::fs::read(path).map_err(|e| TrustError::io(path, e))?;
        let doc: SignerDoc = serde_json::from_slice(&text).map_err(|e| TrustError::Json {
            what: path.display().to_string(),
            message: e.to_string(),
        })?;
        doc.check(&path.display().to_string())?;
        Ok(doc)
    }

    /// Checks the fields the way the verifier will use them; `what` names
    /// the document in errors.
    pub fn check(&self, what: &str) -> Result<(), TrustError> {
        check_header(self.version, &self.algorithm, what)?;
        if self.key_id.trim().is_empty() {
            return Err(TrustError::field(what, "key_id", "is empty"));
        }
        self.public_key_bytes(what).map(|_| ())
    }

    /// The raw 32-byte key.
    pub fn public_key_bytes(&self, what: &str) -> Result<[u8; 32], TrustError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(self.public_key.as_bytes())
            .map_err(|e| TrustError::field(what, "public_key", format!("not base64: {e}")))?;
        <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| {
            TrustError::field(
                what,
                "public_key",
                format!("decodes to {} bytes, not 32", raw.len()),
            )
        })
    }

    /// Pretty JSON with a final newline, as the original writes documents.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The default key id: the first 16 hex digits (64 bits) of the SHA-256 of
/// the raw public key — stable, and short enough to type.
pub fn default_key_id(public_key: &[u8]) -> String {
    sha256_hex(public_key).chars().take(16).collect()
}

/// An Ed25519 private key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    seed: [u8; 32],
}

impl SigningKey {
    pub fn generate() -> Result<SigningKey, TrustError> {
        let mut seed = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed).map_err(
            |_| TrustError::Path {
                path: PathBuf::from("(random)"),
                message: "the system random generator failed".into(),
            },
        )?;
        SigningKey::from_seed(seed, Path::new("(generated)"))
    }

    fn from_seed(seed: [u8; 32], path: &Path) -> Result<SigningKey, TrustError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| TrustError::Path {
            path: path.to_path_buf(),
            message: format!("not an Ed25519 key: {e}"),
        })?;
        Ok(SigningKey { pair, seed })
    }

    /// Reads a PKCS#8 PEM private key (v1 or v2, unencrypted).
    pub fn read(path: &Path) -> Result<SigningKey, TrustError> {
        let text = std::fs::read(path).map_err(|e| TrustError::io(path, e))?;
        let bad = |message: String| TrustError::Path {
            path: path.to_path_buf(),
            message,
        };
        let block = pem::parse(&text).map_err(|e| bad(format!("not PEM: {e}")))?;
        if block.tag() != "PRIVATE KEY" {
            return Err(bad(format!(
                "PEM block is {:?}, not an unencrypted PKCS#8 \"PRIVATE KEY\"",
                block.tag()
            )));
        }
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(block.contents())
            .map_err(|e| bad(format!("not an Ed25519 PKCS#8 key: {e}")))?;
        // The seed is the last 32 bytes of the inner OCTET STRING in v1; in
        // v2 the public key follows it, so take it from the known offset.
        let seed = block
            .contents()
            .get(PKCS8_V1_PREFIX.len()..PKCS8_V1_PREFIX.len() + 32)
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
            .ok_or_else(|| bad("PKCS#8 key too short".into()))?;
        let key = SigningKey::from_seed(seed, path)?;
        if key.public_key() != pair.public_key().as_ref() {
            return Err(bad(
                "PKCS#8 layout not understood (seed does not match)".into()
            ));
        }
        Ok(key)
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    pub fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.pair.sign(bytes).as_ref().to_vec()
    }

    pub fn signer_doc(&self, key_id: Option<&str>) -> SignerDoc {
        SignerDoc {
            version: VERSION,
            algorithm: ALGORITHM.into(),
            key_id: key_id.map_or_else(|| default_key_id(self.public_key()), str::to_string),
            public_key: base64::engine::general_purpose::STANDARD.encode(self.public_key()),
        }
    }

    /// The PKCS#8 v1 PEM text.
    pub fn to_pem(&self) -> String {
        let mut der = PKCS8_V1_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        pem::encode(&pem::Pem::new("PRIVATE KEY", der))
    }
}

/// Writes `contents` to a new file with `mode`; an existing file is an
/// error unless `force` (then it is replaced through a rename). Either way
/// a reader never sees half a file: the contents go to a temporary file
/// first, which is then renamed over the path (`force`) or hard-linked to
/// it (`link` fails if the path exists, so the check and the creation are
/// one step). Two vanguards making the audit key at once once raced here:
/// the loser read the winner's key file while it was still empty and
/// wrote an unsigned head.
pub fn write_new(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<(), TrustError> {
    static TMP: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(
        ".tmp{}.{}",
        std::process::id(),
        TMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let tmp = PathBuf::from(name);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| f.write_all(contents).and_then(|()| f.sync_all()))
        .map_err(|e| TrustError::io(&tmp, e));
    let placed = written.and_then(|()| {
        if force {
            std::fs::rename(&tmp, path).map_err(|e| TrustError::io(path, e))
        } else {
            std::fs::hard_link(&tmp, path).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => TrustError::Exists {
                    path: path.to_path_buf(),
                },
                _ => TrustError::io(path, e),
            })
        }
    });
    // Gone after a rename; after a link or a failure, the extra name goes.
    let _ = std::fs::remove_file(&tmp);
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let k = SigningKey::generate().unwrap();
        let p = dir.path().join("k.pem");
        write_new(&p, k.to_pem().as_bytes(), 0o600, false).unwrap();
        let back = SigningKey::read(&p).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        assert!(matches!(
            write_new(&p, b"x", 0o600, false),
            Err(TrustError::Exists { .. })
        ));
        // v1 DER: 48 bytes, the prefix then the seed.
        let der = pem::parse(k.to_pem()).unwrap();
        assert_eq!(der.contents().len(), 48);
    }

    #[test]
    fn default_key_id_is_sixteen_hex_digits_of_the_key_hash() {
        let k = SigningKey::generate().unwrap();
        let doc = k.signer_doc(None);
        assert_eq!(doc.key_id.len(), 16);
        assert!(sha256_hex(k.public_key()).starts_with(&doc.key_id));
        doc.check("doc").unwrap();
    }

    #[test]
    fn signer_doc_with_a_short_key_is_refused() {
        let doc = SignerDoc {
            version: 1,
            algorithm: "ed25519".into(),
            key_id: "k".into(),
            public_key: "AAAA".into(),
        };
        let e = doc.check("s.json").unwrap_err().to_string();
        assert!(e.contains("s.json") && e.contains("public_key"), "{e}");
    }
}
