//! The `--auth-config FILE` TOML: how bearer tokens are verified and which
//! scopes or roles each tool needs.
//!
//! ```toml
//! [jwt]
//! issuer = "https://idp.example.com/"
//! audience = ["https://mcp.example.com/mcp"]
//! jwks_file = "/etc/vanguard/jwks.json"   # or jwks_url = "https://…", or discovery = true
//! algorithms = ["RS256", "ES256"]         # asymmetric only; HS*/none are refused
//! leeway_secs = 30
//! required_claims = ["sub", "exp"]
//! required_scopes = ["mcp"]               # missing → 403 insufficient_scope
//! scope_claim = "scope"                   # space-separated string or array ("scp" is read too)
//! roles_claim = "roles"                   # dotted path, e.g. "realm_access.roles"
//!
//! [api_key]                               # what a holder of VANGUARD_API_KEY may do
//! subject = "api-key"
//! scopes = ["mcp", "admin"]
//!
//! [resource]                              # RFC 9728 metadata
//! authorization_servers = ["https://idp.example.com/"]
//!
//! [[tool_auth]]                           # every matching entry must be satisfied
//! tools = ["get-env", "write_*"]
//! scopes = ["admin"]                      # all of these
//! roles = ["operator"]                    # and, if any are listed, one of these
//! ```

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub jwt: Option<JwtConfig>,
    #[serde(default)]
    pub api_key: ApiKeyGrant,
    #[serde(default)]
    pub resource: ResourceConfig,
    #[serde(default)]
    pub tool_auth: Vec<ToolAuthRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    pub issuer: String,
    pub audience: Vec<String>,
    pub jwks_file: Option<PathBuf>,
    pub jwks_url: Option<String>,
    /// Find the JWKS through `{issuer}/.well-known/openid-configuration`.
    #[serde(default)]
    pub discovery: bool,
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    #[serde(default = "default_required_claims")]
    pub required_claims: Vec<String>,
    #[serde(default)]
    pub required_scopes: Vec<String>,
    #[serde(default = "default_scope_claim")]
    pub scope_claim: String,
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyGrant {
    #[serde(default = "default_api_key_subject")]
    pub subject: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Default for ApiKeyGrant {
    fn default() -> Self {
        ApiKeyGrant {
            subject: default_api_key_subject(),
            scopes: Vec::new(),
            roles: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// The resource identifier; default `http://{Host}/mcp` of each request.
    pub url: Option<String>,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolAuthRule {
    /// Tool name globs (`*` any run, `?` one character).
    pub tools: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".into(), "ES256".into()]
}
fn default_leeway() -> u64 {
    30
}
fn default_required_claims() -> Vec<String> {
    vec!["sub".into(), "exp".into()]
}
fn default_scope_claim() -> String {
    "scope".into()
}
fn default_roles_claim() -> String {
    "roles".into()
}
fn default_api_key_subject() -> String {
    "api-key".into()
}

/// Algorithms a JWKS-verified token may use. HMAC is absent on purpose: a
/// verifier that accepts HS256 can be fed a token "signed" with the public
/// RSA key as the HMAC secret (algorithm confusion).
pub const ASYMMETRIC: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

impl AuthConfig {
    pub fn load(path: &Path) -> Result<AuthConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let cfg: AuthConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        cfg.validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(j) = &self.jwt {
            let sources = [j.jwks_file.is_some(), j.jwks_url.is_some(), j.discovery]
                .iter()
                .filter(|b| **b)
                .count();
            if sources != 1 {
                return Err("[jwt]: set exactly one of jwks_file, jwks_url, discovery".into());
            }
            if j.audience.is_empty() {
                return Err("[jwt] audience: at least one audience is required".into());
            }
            if j.algorithms.is_empty() {
                return Err("[jwt] algorithms: list at least one algorithm".into());
            }
            for a in &j.algorithms {
                if !ASYMMETRIC.contains(&a.as_str()) {
                    return Err(format!(
                        "[jwt] algorithms: {a:?} is not allowed (use one of {})",
                        ASYMMETRIC.join(", ")
                    ));
                }
            }
        }
        for (i, r) in self.tool_auth.iter().enumerate() {
            if r.tools.is_empty() {
                return Err(format!("[[tool_auth]] #{}: tools is empty", i + 1));
            }
            if r.scopes.is_empty() && r.roles.is_empty() {
                return Err(format!(
                    "[[tool_auth]] #{}: give scopes or roles (an entry without either grants nothing)",
                    i + 1
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<AuthConfig, String> {
        let c: AuthConfig = toml::from_str(s).map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn hmac_and_none_are_refused() {
        let base = "[jwt]\nissuer='i'\naudience=['a']\njwks_file='/x'\n";
        assert!(parse(&format!("{base}algorithms=['HS256']")).is_err());
        assert!(parse(&format!("{base}algorithms=['none']")).is_err());
        assert!(parse(&format!("{base}algorithms=['RS256']")).is_ok());
    }

    #[test]
    fn exactly_one_key_source() {
        assert!(parse("[jwt]\nissuer='i'\naudience=['a']\n").is_err());
        assert!(
            parse("[jwt]\nissuer='i'\naudience=['a']\njwks_file='/x'\ndiscovery=true\n").is_err()
        );
    }

    #[test]
    fn tool_rules_need_a_requirement() {
        assert!(parse("[[tool_auth]]\ntools=['x']\n").is_err());
        assert!(parse("[[tool_auth]]\ntools=['x']\nscopes=['s']\n").is_ok());
    }
}
