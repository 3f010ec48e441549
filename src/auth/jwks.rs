//! The verification keys: a JWKS from a file, a URL, or OIDC discovery,
//! cached and refreshed when a token names a key id we do not hold (key
//! rotation) — at most once per [`MIN_REFRESH`], so a stream of made-up
//! `kid`s cannot turn the gateway into a request amplifier.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

/// Refetch a remote JWKS after this long even when every kid is known.
const TTL: Duration = Duration::from_secs(600);
/// Never refetch more often than this.
pub const MIN_REFRESH: Duration = Duration::from_secs(5);
/// A JWKS or discovery document larger than this is refused.
const MAX_DOCUMENT: usize = 1 << 20;

#[derive(Debug, Clone)]
pub enum JwksSource {
    File(PathBuf),
    Url(String),
    /// The issuer; the JWKS URL comes from its OpenID configuration.
    Discovery(String),
}

/// One verification key.
pub struct Key {
    pub kid: Option<String>,
    pub key: DecodingKey,
    /// The algorithm the JWK pins, if it names one.
    pub alg: Option<Algorithm>,
}

#[derive(Default)]
struct KeySet {
    keys: Vec<Arc<Key>>,
    fetched: Option<Instant>,
}

pub struct Jwks {
    source: JwksSource,
    http: reqwest::Client,
    set: RwLock<KeySet>,
    refreshing: Mutex<()>,
}

impl Jwks {
    pub fn new(source: JwksSource) -> Result<Jwks, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the JWKS HTTP client: {e}"))?;
        Ok(Jwks {
            source,
            http,
            set: RwLock::new(KeySet::default()),
            refreshing: Mutex::new(()),
        })
    }

    /// Loads the keys once; used at start so a bad JWKS fails loud.
    pub async fn load(&self) -> Result<usize, String> {
        let keys = self.fetch().await?;
        let n = keys.len();
        *self.set.write().await = KeySet {
            keys,
            fetched: Some(Instant::now()),
        };
        Ok(n)
    }

    /// The key for a token's `kid` (or the only key, when the token names none).
    pub async fn key_for(&self, kid: Option<&str>) -> Result<Arc<Key>, String> {
        {
            let set = self.set.read().await;
            let fresh = set.fetched.is_some_and(|t| t.elapsed() < TTL);
            if let Some(k) = pick(&set.keys, kid)? {
                if fresh || matches!(self.source, JwksSource::File(_)) {
                    return Ok(k);
                }
            }
        }
        self.refresh().await;
        let set = self.set.read().await;
        pick(&set.keys, kid)?.ok_or_else(|| match kid {
            Some(k) => format!("unknown key id {k:?}"),
            None => "the JWKS has no usable key".to_string(),
        })
    }

    /// Refetches unless another task just did; keeps the old keys on failure.
    async fn refresh(&self) {
        let _one_at_a_time = self.refreshing.lock().await;
        if self
            .set
            .read()
            .await
            .fetched
            .is_some_and(|t| t.elapsed() < MIN_REFRESH)
        {
            return;
        }
        match self.fetch().await {
            Ok(keys) => {
                *self.set.write().await = KeySet {
                    keys,
                    fetched: Some(Instant::now()),
                }
            }
            Err(e) => {
                tracing::warn!("JWKS refresh failed: {e}");
                self.set.write().await.fetched = Some(Instant::now());
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<Arc<Key>>, String> {
        let text = match &self.source {
            JwksSource::File(p) => {
                std::fs::read_to_string(p).map_err(|e| format!("JWKS {}: {e}", p.display()))?
            }
            JwksSource::Url(u) => self.get(u).await?,
            JwksSource::Discovery(issuer) => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let doc: serde_json::Value = serde_json::from_str(&self.get(&url).await?)
                    .map_err(|e| format!("{url}: not JSON: {e}"))?;
                if doc.get("issuer").and_then(|v| v.as_str()) != Some(issuer.as_str()) {
                    return Err(format!("{url}: the document's issuer is not {issuer:?}"));
                }
                let jwks = doc
                    .get("jwks_uri")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| format!("{url}: no jwks_uri"))?;
                self.get(jwks).await?
            }
        };
        parse_jwks(&text)
    }

    async fn get(&self, url: &str) -> Result<String, String> {
        check_url(url)?;
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: HTTP {}", resp.status()));
        }
        let body = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        if body.len() > MAX_DOCUMENT {
            return Err(format!("{url}: larger than {MAX_DOCUMENT} bytes"));
        }
        String::from_utf8(body.to_vec()).map_err(|_| format!("{url}: not UTF-8"))
    }
}

/// HTTPS only, except plain HTTP to a loopback address (local IdPs, tests).
pub fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
        let name = if host.starts_with('[') {
            host.split(']').next().map(|h| &h[1..]).unwrap_or("")
        } else {
            host.split(':').next().unwrap_or("")
        };
        let loopback = name == "localhost"
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return Ok(());
        }
    }
    Err(format!("{url}: JWKS and discovery URLs must use https"))
}

fn pick(keys: &[Arc<Key>], kid: Option<&str>) -> Result<Option<Arc<Key>>, String> {
    match kid {
        Some(k) => Ok(keys.iter().find(|x| x.kid.as_deref() == Some(k)).cloned()),
        None if keys.len() == 1 => Ok(keys.first().cloned()),
        None if keys.is_empty() => Ok(None),
        None => Err("the token names no key id and the JWKS holds several keys".into()),
    }
}

/// Parses a JWKS; symmetric (`oct`) keys and keys marked for encryption are
/// skipped: they must never verify a bearer token.
pub fn parse_jwks(text: &str) -> Result<Vec<Arc<Key>>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("invalid JWKS: {e}"))?;
    let mut out = Vec::new();
    for jwk in &set.keys {
        if let Some(k) = key_from(jwk) {
            out.push(Arc::new(k));
        }
    }
    Ok(out)
}

fn key_from(jwk: &Jwk) -> Option<Key> {
    use jsonwebtoken::jwk::{AlgorithmParameters, PublicKeyUse};
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return None;
    }
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        Some(a) => Some(Algorithm::from_str(&a.to_string()).ok()?),
        None => None,
    };
    Some(Key {
        kid: jwk.common.key_id.clone(),
        key: DecodingKey::from_jwk(jwk).ok()?,
        alg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_unless_loopback() {
        assert!(check_url("https://idp.example.com/jwks").is_ok());
        assert!(check_url("http://127.0.0.1:9000/jwks").is_ok());
        assert!(check_url("http://[::1]:9000/jwks").is_ok());
        assert!(check_url("http://localhost/jwks").is_ok());
        assert!(check_url("http://idp.example.com/jwks").is_err());
        assert!(check_url("http://127.0.0.1.evil.com/jwks").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
    }

    #[test]
    fn symmetric_keys_are_skipped() {
        let text = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#;
        assert!(parse_jwks(text).unwrap().is_empty());
    }
}
