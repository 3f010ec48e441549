//! The trusted root (`application/vnd.dev.sigstore.trustedroot+json`): the
//! transparency logs, Fulcio certificate authorities and CT logs a bundle may
//! lean on, each with the window in which it is trusted.

use serde::Deserialize;

use super::error::SigstoreError;
use super::keys::{b64, sha256, PublicKey};
use super::time::parse_rfc3339;

/// A half-open-at-neither-end window `[start, end]` in Unix seconds; `end`
/// absent means still trusted. Both ends are inclusive, as the conformance
/// suite's `*-validity-end-inclusive` cases require.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: i64,
    pub end: Option<i64>,
}

impl Window {
    pub fn contains(&self, t: i64) -> bool {
        t >= self.start && self.end.is_none_or(|e| t <= e)
    }
}

/// A transparency log (Rekor) or CT log.
#[derive(Debug, Clone)]
pub struct Log {
    pub base_url: String,
    pub log_id: Vec<u8>,
    pub key: PublicKey,
    pub valid: Window,
}

/// A Fulcio CA: its chain, intermediate first and root last.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    pub uri: String,
    pub chain: Vec<Vec<u8>>,
    pub valid: Window,
}

/// An RFC 3161 timestamp authority: its chain, signing certificate first.
#[derive(Debug, Clone)]
pub struct TimestampAuthority {
    pub uri: String,
    pub chain: Vec<Vec<u8>>,
    pub valid: Window,
}

#[derive(Debug, Clone)]
pub struct TrustedRoot {
    pub tlogs: Vec<Log>,
    pub ctlogs: Vec<Log>,
    pub cas: Vec<CertificateAuthority>,
    pub tsas: Vec<TimestampAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootJson {
    #[serde(default)]
    tlogs: Vec<LogJson>,
    #[serde(default)]
    ctlogs: Vec<LogJson>,
    #[serde(default)]
    certificate_authorities: Vec<CaJson>,
    #[serde(default)]
    timestamp_authorities: Vec<CaJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogJson {
    #[serde(default)]
    base_url: String,
    public_key: KeyJson,
    log_id: LogIdJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyJson {
    #[serde(default)]
    raw_bytes: String,
    #[serde(default)]
    valid_for: Option<WindowJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogIdJson {
    key_id: String,
}

#[derive(Deserialize)]
struct WindowJson {
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaJson {
    #[serde(default)]
    uri: String,
    cert_chain: ChainJson,
    #[serde(default)]
    valid_for: Option<WindowJson>,
}

#[derive(Deserialize)]
struct ChainJson {
    #[serde(default)]
    certificates: Vec<RawJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawJson {
    raw_bytes: String,
}

fn bad(msg: String) -> SigstoreError {
    SigstoreError::MalformedRoot(msg)
}

fn window(what: &str, w: Option<&WindowJson>) -> Result<Window, SigstoreError> {
    // A window without a start would trust the key for all of the past: the
    // conformance suite refuses such a root, and so do we.
    let w = w.ok_or_else(|| bad(format!("{what} has no validFor")))?;
    let start = w
        .start
        .as_deref()
        .ok_or_else(|| bad(format!("{what} has no validFor.start")))?;
    let start = parse_rfc3339(start).ok_or_else(|| bad(format!("{what}: bad time {start:?}")))?;
    let end = match w.end.as_deref() {
        None => None,
        Some(e) => Some(parse_rfc3339(e).ok_or_else(|| bad(format!("{what}: bad time {e:?}")))?),
    };
    Ok(Window { start, end })
}

fn log(kind: &str, j: &LogJson) -> Result<Log, SigstoreError> {
    let what = format!("{kind} {}", j.base_url);
    let der = b64(&format!("{what} publicKey"), &j.public_key.raw_bytes)
        .map_err(|e| bad(e.to_string()))?;
    let key = PublicKey::from_spki_der(&der).map_err(|e| bad(format!("{what}: {e}")))?;
    let log_id = b64(&format!("{what} logId"), &j.log_id.key_id).map_err(|e| bad(e.to_string()))?;
    // A log is picked by its ID: the ID must be the one its key gives, or a
    // root could file a substituted key under a trusted log's ID.
    let spki_id = sha256(&der);
    let note_id = match &key {
        PublicKey::Ed25519 { key: raw, .. } => {
            let origin = j
                .base_url
                .split_once("://")
                .map_or(j.base_url.as_str(), |(_, o)| o);
            let mut m = format!("{origin}\n").into_bytes();
            m.push(0x01);
            m.extend_from_slice(raw);
            Some(sha256(&m))
        }
        _ => None,
    };
    if log_id != spki_id && note_id.is_none_or(|n| log_id != n) {
        return Err(bad(format!(
            "{what}: log ID {} is not derived from its key",
            j.log_id.key_id
        )));
    }
    Ok(Log {
        base_url: j.base_url.clone(),
        log_id,
        key,
        valid: window(&what, j.public_key.valid_for.as_ref())?,
    })
}

impl TrustedRoot {
    pub fn from_json(json: &str) -> Result<Self, SigstoreError> {
        let r: RootJson = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let cas = Self::authorities("CA", &r.certificate_authorities)?;
        let tsas = Self::authorities("TSA", &r.timestamp_authorities)?
            .into_iter()
            .map(|c| TimestampAuthority {
                uri: c.uri,
                chain: c.chain,
                valid: c.valid,
            })
            .collect();
        Ok(Self {
            tlogs: r
                .tlogs
                .iter()
                .map(|l| log("tlog", l))
                .collect::<Result<_, _>>()?,
            // A CT log whose key we cannot use (an RSA test log) cannot vouch
            // for a certificate here; it is left out rather than failing the root.
            ctlogs: r
                .ctlogs
                .iter()
                .filter_map(|l| log("ctlog", l).ok())
                .collect(),
            cas,
            tsas,
        })
    }

    fn authorities(
        kind: &str,
        list: &[CaJson],
    ) -> Result<Vec<CertificateAuthority>, SigstoreError> {
        let mut cas = Vec::new();
        for ca in list {
            let mut chain = Vec::new();
            for c in &ca.cert_chain.certificates {
                chain.push(
                    b64(&format!("{kind} {} certificate", ca.uri), &c.raw_bytes)
                        .map_err(|e| bad(e.to_string()))?,
                );
            }
            if chain.is_empty() {
                return Err(bad(format!("{kind} {} has an empty chain", ca.uri)));
            }
            cas.push(CertificateAuthority {
                uri: ca.uri.clone(),
                chain,
                valid: window(&format!("{kind} {}", ca.uri), ca.valid_for.as_ref())?,
            });
        }
        Ok(cas)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self, SigstoreError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        Self::from_json(&text).map_err(|e| bad(format!("{}: {e}", path.display())))
    }

    /// The pinned public-good root compiled into vanguard.
    pub fn public_good() -> Result<Self, SigstoreError> {
        Self::from_json(super::PUBLIC_GOOD_ROOT)
    }

    /// The pinned staging (sigstage.dev) root.
    pub fn staging() -> Result<Self, SigstoreError> {
        Self::from_json(super::STAGING_ROOT)
    }

    pub fn tlog(&self, log_id: &[u8]) -> Option<&Log> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_roots_parse() {
        let pg = TrustedRoot::public_good().unwrap();
        assert_eq!(pg.cas.len(), 2);
        assert!(pg
            .tlogs
            .iter()
            .any(|l| l.base_url == "https://rekor.sigstore.dev"));
        let w = Window {
            start: 10,
            end: Some(20),
        };
        assert!(w.contains(10) && w.contains(20) && !w.contains(21) && !w.contains(9));
        assert!(TrustedRoot::staging().is_ok());
    }
}
