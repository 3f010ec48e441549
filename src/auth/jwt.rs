//! JWT bearer tokens: signature against the JWKS, then issuer, audience,
//! `exp`/`nbf` (with leeway), required claims, and the algorithm allow-list.
//!
//! # Warning
//! The algorithm is taken from the token header only to *choose* among the
//! allowed ones; the key must be of that algorithm's family and, when the
//! JWK pins an `alg`, exactly that one. `none` does not parse and HMAC is
//! never allowed (see [`super::config::ASYMMETRIC`]).

use super::config::JwtConfig;
use super::jwks::{Jwks, JwksSource};
use super::{AuthError, Principal};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;
use std::collections::BTreeSet;
use std::str::FromStr;

/// Registered claims jsonwebtoken itself can require.
const SPEC_CLAIMS: &[&str] = &["exp", "nbf", "aud", "iss", "sub"];

pub struct JwtVerifier {
    jwks: Jwks,
    issuer: String,
    audience: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: u64,
    required_claims: Vec<String>,
    pub required_scopes: Vec<String>,
    scope_claim: String,
    roles_claim: String,
}

impl JwtVerifier {
    pub fn new(c: &JwtConfig) -> Result<JwtVerifier, String> {
        let source = if let Some(f) = &c.jwks_file {
            JwksSource::File(f.clone())
        } else if let Some(u) = &c.jwks_url {
            super::jwks::check_url(u)?;
            JwksSource::Url(u.clone())
        } else {
            JwksSource::Discovery(c.issuer.clone())
        };
        let algorithms = c
            .algorithms
            .iter()
            .map(|a| Algorithm::from_str(a).map_err(|_| format!("unknown algorithm {a:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(JwtVerifier {
            jwks: Jwks::new(source)?,
            issuer: c.issuer.clone(),
            audience: c.audience.clone(),
            algorithms,
            leeway: c.leeway_secs,
            required_claims: c.required_claims.clone(),
            required_scopes: c.required_scopes.clone(),
            scope_claim: c.scope_claim.clone(),
            roles_claim: c.roles_claim.clone(),
        })
    }

    /// Fetches the keys now, so a broken JWKS is reported at start.
    pub async fn preload(&self) -> Result<usize, String> {
        self.jwks.load().await
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let invalid = |m: String| AuthError::InvalidToken(m);
        // An unknown or absent `alg` (including "none") fails here.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| invalid(format!("malformed token: {e}")))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(invalid(format!(
                "algorithm {:?} is not allowed",
                header.alg
            )));
        }
        let key = self
            .jwks
            .key_for(header.kid.as_deref())
            .await
            .map_err(invalid)?;
        if key.alg.is_some_and(|a| a != header.alg) {
            return Err(invalid(format!(
                "key {:?} is for {:?}, the token says {:?}",
                key.kid, key.alg, header.alg
            )));
        }
        let mut v = Validation::new(header.alg);
        // One algorithm: jsonwebtoken also checks the key's family against it.
        v.algorithms = vec![header.alg];
        v.leeway = self.leeway;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_issuer(&[self.issuer.as_str()]);
        v.set_audience(&self.audience);
        let spec: Vec<&str> = self
            .required_claims
            .iter()
            .map(String::as_str)
            .filter(|c| SPEC_CLAIMS.contains(c))
            .chain(["exp", "iss", "aud"])
            .collect();
        v.set_required_spec_claims(&spec);
        let data = jsonwebtoken::decode::<Value>(token, &key.key, &v)
            .map_err(|e| invalid(format!("{e}")))?;
        let claims = data.claims;
        for c in &self.required_claims {
            if claims.get(c).is_none_or(Value::is_null) {
                return Err(invalid(format!("claim {c:?} is required")));
            }
        }
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("the token has no subject".into()))?
            .to_string();
        let mut scopes = words(claims.get(&self.scope_claim));
        if self.scope_claim == "scope" {
            scopes.extend(words(claims.get("scp")));
        }
        let roles = words(claim_path(&claims, &self.roles_claim));
        let principal = Principal {
            subject: format!("{}#{subject}", self.issuer),
            scopes,
            roles,
        };
        let missing: Vec<&str> = self
            .required_scopes
            .iter()
            .filter(|s| !principal.scopes.contains(*s))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(AuthError::InsufficientScope(self.required_scopes.join(" ")));
        }
        Ok(principal)
    }
}

/// A claim holding words: a space-separated string or an array of strings.
fn words(v: Option<&Value>) -> BTreeSet<String> {
    match v {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// `a.b.c` into nested objects.
fn claim_path<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(claims, |v, k| v.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scope_words_from_string_or_array() {
        assert_eq!(words(Some(&json!("a b  c"))).len(), 3);
        assert_eq!(words(Some(&json!(["a", "b", 3]))).len(), 2);
        assert!(words(Some(&json!(7))).is_empty());
    }

    #[test]
    fn nested_role_claims() {
        let c = json!({"realm_access": {"roles": ["ops"]}});
        assert_eq!(
            words(claim_path(&c, "realm_access.roles")),
            BTreeSet::from(["ops".to_string()])
        );
    }
}
