//! Who is calling over HTTP, and which tools they may use.
//!
//! A request presents either the shared API key (`VANGUARD_API_KEY`, in
//! `X-Api-Key` or `Authorization: Bearer`, see [`api_key`]) or a JWT bearer
//! token verified against a JWKS ([`jwt`], [`jwks`]). Either way the result
//! is a [`Principal`]; its scopes and roles drive the per-tool filter
//! ([`tool_auth`]). Tokens end here: the upstream is a stdio process and
//! never sees an HTTP header.

pub mod api_key;
pub mod config;
pub mod jwks;
pub mod jwt;
pub mod tool_auth;

/// Decides per tool name whether the session's principal may see and call it.
pub type ToolFilter = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

use std::collections::BTreeSet;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable identity: `issuer#sub` for tokens, the configured subject for the API key.
    pub subject: String,
    pub scopes: BTreeSet<String>,
    pub roles: BTreeSet<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    Missing,
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("invalid API key")]
    InvalidKey,
    /// Authenticated, but without the scopes this resource needs (space-separated).
    #[error("insufficient scope (needs {0})")]
    InsufficientScope(String),
}

impl AuthError {
    pub fn status(&self) -> u16 {
        match self {
            AuthError::InsufficientScope(_) => 403,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3, RFC 9728 §5.1).
    pub fn challenge(&self, resource_metadata: &str) -> String {
        let meta = format!("resource_metadata=\"{resource_metadata}\"");
        match self {
            AuthError::Missing => format!("Bearer {meta}"),
            AuthError::InvalidToken(_) | AuthError::InvalidKey => {
                format!("Bearer error=\"invalid_token\", {meta}")
            }
            AuthError::InsufficientScope(s) => {
                format!("Bearer error=\"insufficient_scope\", scope=\"{s}\", {meta}")
            }
        }
    }
}

/// Every way a request may authenticate. With neither an API key nor a JWT
/// configuration, authentication is off and requests carry no principal.
#[derive(Default)]
pub struct Authenticator {
    api_key: Option<api_key::ApiKey>,
    api_key_principal: Option<Principal>,
    jwt: Option<jwt::JwtVerifier>,
    pub tool_auth: tool_auth::ToolAuth,
    pub resource: config::ResourceConfig,
    scopes_supported: Vec<String>,
}

impl Authenticator {
    /// From the optional key (the environment's `VANGUARD_API_KEY`) and the
    /// optional `--auth-config` file.
    pub fn new(key: Option<&str>, cfg: config::AuthConfig) -> Result<Authenticator, String> {
        let api_key = key.map(api_key::ApiKey::new).transpose()?;
        let api_key_principal = api_key.as_ref().map(|_| Principal {
            subject: cfg.api_key.subject.clone(),
            scopes: cfg.api_key.scopes.iter().cloned().collect(),
            roles: cfg.api_key.roles.iter().cloned().collect(),
        });
        let jwt = cfg.jwt.as_ref().map(jwt::JwtVerifier::new).transpose()?;
        let mut scopes_supported: Vec<String> = cfg
            .jwt
            .iter()
            .flat_map(|j| j.required_scopes.iter().cloned())
            .chain(cfg.tool_auth.iter().flat_map(|r| r.scopes.iter().cloned()))
            .collect();
        scopes_supported.sort();
        scopes_supported.dedup();
        Ok(Authenticator {
            api_key,
            api_key_principal,
            jwt,
            tool_auth: tool_auth::ToolAuth::new(cfg.tool_auth),
            resource: cfg.resource,
            scopes_supported,
        })
    }

    pub fn enabled(&self) -> bool {
        self.api_key.is_some() || self.jwt.is_some()
    }

    /// Loads the JWKS now (a broken key source fails the start, not the first call).
    pub async fn preload(&self) -> Result<(), String> {
        if let Some(j) = &self.jwt {
            let n = j.preload().await?;
            tracing::info!("JWKS: {n} verification keys");
        }
        Ok(())
    }

    /// The caller of a request, `Ok(None)` when authentication is off.
    pub async fn authenticate(
        &self,
        api_key_header: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<Option<Principal>, AuthError> {
        if !self.enabled() {
            return Ok(None);
        }
        if let (Some(k), Some(given)) = (&self.api_key, api_key_header) {
            return if k.matches(given) {
                Ok(self.api_key_principal.clone())
            } else {
                Err(AuthError::InvalidKey)
            };
        }
        let token = match authorization {
            None => return Err(AuthError::Missing),
            Some(h) => bearer(h).ok_or(AuthError::Missing)?,
        };
        if let Some(k) = &self.api_key {
            if k.matches(token) {
                return Ok(self.api_key_principal.clone());
            }
        }
        match &self.jwt {
            Some(j) => j.verify(token).await.map(Some),
            None => Err(AuthError::InvalidKey),
        }
    }

    /// The RFC 9728 protected-resource metadata for `resource`.
    pub fn metadata(&self, resource: &str) -> serde_json::Value {
        serde_json::json!({
            "resource": self.resource.url.as_deref().unwrap_or(resource),
            "authorization_servers": self.resource.authorization_servers,
            "bearer_methods_supported": ["header"],
            "scopes_supported": self.scopes_supported,
        })
    }
}

/// The token of an `Authorization: Bearer …` header (scheme case-insensitive).
fn bearer(h: &str) -> Option<&str> {
    let (scheme, rest) = h.trim().split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }

    #[tokio::test]
    async fn api_key_in_either_header() {
        let a = Authenticator::new(Some("k-0123456789abcdef"), Default::default()).unwrap();
        assert!(a
            .authenticate(Some("k-0123456789abcdef"), None)
            .await
            .is_ok());
        assert!(a
            .authenticate(None, Some("Bearer k-0123456789abcdef"))
            .await
            .is_ok());
        assert!(matches!(
            a.authenticate(Some("wrong-0123456789abcdef"), None).await,
            Err(AuthError::InvalidKey)
        ));
        assert!(matches!(
            a.authenticate(None, None).await,
            Err(AuthError::Missing)
        ));
    }

    #[tokio::test]
    async fn off_without_configuration() {
        let a = Authenticator::default();
        assert_eq!(a.authenticate(None, None).await.unwrap(), None);
    }
}
