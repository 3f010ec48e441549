//! Authentication on the HTTP face: the API key, JWT bearer tokens against
//! a JWKS (and the classic attacks on them), and per-tool scopes and roles.
//! Keys are made with the `openssl` CLI; tokens with `jsonwebtoken`.

mod common;
#[path = "fixtures/http/support.rs"]
mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use common::everything_cmd;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::*;

const ISSUER: &str = "https://idp.test/";
const AUDIENCE: &str = "vanguard-test";
const API_KEY: &str = "test-api-key-0123456789";

struct RsaKey {
    private_pem: Vec<u8>,
    public_pem: Vec<u8>,
    jwk: Value,
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (Debian package openssl) is needed for the JWT tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn rsa_key(dir: &Path, kid: &str) -> RsaKey {
    let key = dir.join(format!("{kid}.pem"));
    let key_s = key.to_str().unwrap();
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        key_s,
    ]);
    let public_pem = openssl(&["pkey", "-in", key_s, "-pubout"]);
    let modulus = String::from_utf8(openssl(&["rsa", "-in", key_s, "-noout", "-modulus"])).unwrap();
    let hex = modulus.trim().trim_start_matches("Modulus=");
    let n: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    RsaKey {
        private_pem: std::fs::read(&key).unwrap(),
        public_pem,
        jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": B64.encode(n), "e": "AQAB"}),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(scope: &str) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now() + 600, "iat": now(), "scope": scope})
}

fn sign(key: &RsaKey, kid: &str, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(kid.to_string());
    jsonwebtoken::encode(
        &h,
        claims,
        &EncodingKey::from_rsa_pem(&key.private_pem).unwrap(),
    )
    .unwrap()
}

struct Setup {
    gateway: Gateway,
    key: RsaKey,
    other: RsaKey,
    jwks: PathBuf,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let key = rsa_key(dir.path(), "k1");
    let other = rsa_key(dir.path(), "k2");
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, json!({"keys": [key.jwk]}).to_string()).unwrap();
    let cfg = dir.path().join("auth.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[jwt]
issuer = "{ISSUER}"
audience = ["{AUDIENCE}"]
jwks_file = "{}"
algorithms = ["RS256"]
leeway_secs = 30
required_scopes = ["mcp"]
roles_claim = "realm_access.roles"

[api_key]
subject = "ops-key"
scopes = ["mcp", "admin"]

[[tool_auth]]
tools = ["get-env"]
scopes = ["admin"]

[[tool_auth]]
tools = ["get-s*"]
roles = ["analyst"]
"#,
            jwks.display()
        ),
    )
    .unwrap();
    let gateway = Gateway::start(
        &everything_cmd(),
        &["--auth-config", cfg.to_str().unwrap()],
        &[("VANGUARD_API_KEY", API_KEY)],
    );
    Setup {
        gateway,
        key,
        other,
        jwks,
        _dir: dir,
    }
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

#[test]
fn tokens_are_verified_and_attacks_refused() {
    let s = setup();
    let http = Http::default();
    let url = s.gateway.url("/mcp");
    let try_token = |t: &str| {
        let auth = bearer(t);
        http.rpc(&url, None, &[("authorization", &auth)], &initialize(1))
    };

    // No credentials: 401 pointing at the RFC 9728 metadata.
    let a = http.rpc(&url, None, &[], &initialize(1));
    assert_eq!(a.status, 401);
    let challenge = a.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let meta_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("resource_metadata in the challenge")
        .to_string();
    let meta = http.send("GET", &meta_url, &[], None);
    assert_eq!(meta.status, 200);
    assert!(
        meta.json()["resource"].as_str().unwrap().ends_with("/mcp"),
        "{}",
        meta.text
    );

    let good = sign(&s.key, "k1", &claims("mcp"));
    assert_eq!(try_token(&good).status, 200);

    let mut attacks: Vec<(&str, String, u16)> = Vec::new();
    // alg: none, no signature.
    let none_header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = B64.encode(claims("mcp admin").to_string());
    attacks.push(("alg none", format!("{none_header}.{body}."), 401));
    // HS256 "signed" with the RSA public key (algorithm confusion).
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(
        &hs,
        &claims("mcp admin"),
        &EncodingKey::from_secret(&s.key.public_pem),
    )
    .unwrap();
    attacks.push(("HS256 with the public key", confused, 401));
    let mut c = claims("mcp");
    c["exp"] = json!(now() - 3600);
    attacks.push(("expired", sign(&s.key, "k1", &c), 401));
    let mut c = claims("mcp");
    c["nbf"] = json!(now() + 3600);
    attacks.push(("not yet valid", sign(&s.key, "k1", &c), 401));
    let mut c = claims("mcp");
    c["aud"] = json!("someone-else");
    attacks.push(("wrong audience", sign(&s.key, "k1", &c), 401));
    let mut c = claims("mcp");
    c["iss"] = json!("https://evil.test/");
    attacks.push(("wrong issuer", sign(&s.key, "k1", &c), 401));
    attacks.push(("unknown kid", sign(&s.other, "k2", &claims("mcp")), 401));
    attacks.push((
        "right kid, wrong key",
        sign(&s.other, "k1", &claims("mcp")),
        401,
    ));
    // Tampered payload: scopes raised, signature kept.
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(claims("mcp admin").to_string()),
        parts[2]
    );
    attacks.push(("tampered payload", tampered, 401));
    let mut c = claims("mcp");
    c.as_object_mut().unwrap().remove("sub");
    attacks.push(("no subject", sign(&s.key, "k1", &c), 401));
    attacks.push(("missing scope", sign(&s.key, "k1", &claims("other")), 403));
    attacks.push(("garbage", "not.a.jwt".into(), 401));

    for (what, token, status) in &attacks {
        let a = try_token(token);
        assert_eq!(a.status, *status, "{what}: {}", a.text);
        let ch = a.header("www-authenticate").unwrap_or_default();
        let expected = if *status == 403 {
            "insufficient_scope"
        } else {
            "invalid_token"
        };
        assert!(
            ch.contains(expected) && ch.contains("resource_metadata="),
            "{what}: {ch}"
        );
    }
    assert!(
        descendants(s.gateway.pid()).len() <= 3,
        "refused requests must not start upstreams"
    );

    // A key added to the JWKS (rotation) is picked up on its unknown kid.
    std::fs::write(
        &s.jwks,
        json!({"keys": [s.key.jwk, s.other.jwk]}).to_string(),
    )
    .unwrap();
    let rotated = sign(&s.other, "k2", &claims("mcp"));
    assert!(
        wait_until(Duration::from_secs(15), || try_token(&rotated).status
            == 200),
        "the rotated key was never accepted"
    );
}

#[test]
fn api_key_in_either_header() {
    let s = setup();
    let http = Http::default();
    let url = s.gateway.url("/mcp");
    assert_eq!(
        http.rpc(&url, None, &[("x-api-key", API_KEY)], &initialize(1))
            .status,
        200
    );
    let b = bearer(API_KEY);
    assert_eq!(
        http.rpc(&url, None, &[("authorization", &b)], &initialize(1))
            .status,
        200
    );
    let a = http.rpc(
        &url,
        None,
        &[("x-api-key", "test-api-key-0123456780")],
        &initialize(1),
    );
    assert_eq!(a.status, 401);
}

#[test]
fn scopes_and_roles_filter_tools_per_principal() {
    let s = setup();
    let http = Http::default();
    let url = s.gateway.url("/mcp");
    let list = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"});

    // "mcp" only: get-env (admin) and get-sum (role analyst) are hidden and refused.
    let auth = bearer(&sign(&s.key, "k1", &claims("mcp")));
    let h = [("authorization", auth.as_str())];
    let sid = http.open_session(&url, &h);
    let names = tool_names(&http.rpc(&url, Some(&sid), &h, &list).json());
    assert!(names.contains(&"echo".to_string()), "{names:?}");
    assert!(!names.contains(&"get-env".to_string()), "{names:?}");
    assert!(!names.contains(&"get-sum".to_string()), "{names:?}");
    let r = http
        .rpc(&url, Some(&sid), &h, &call(6, "get-env", json!({})))
        .json();
    assert_eq!(r["error"]["code"], -32602, "{r}");

    // The session is bound to its principal: another one cannot use it.
    let other = bearer(&sign(&s.key, "k1", &{
        let mut c = claims("mcp admin");
        c["sub"] = json!("mallory");
        c
    }));
    let a = http.rpc(&url, Some(&sid), &[("authorization", &other)], &list);
    assert_eq!(a.status, 404, "{}", a.text);

    // Role from a nested claim unlocks get-sum; admin scope unlocks get-env.
    let mut c = claims("mcp admin");
    c["realm_access"] = json!({"roles": ["analyst"]});
    let token = sign(&s.key, "k1", &c);
    let auth = bearer(&token);
    let h = [("authorization", auth.as_str())];
    let sid = http.open_session(&url, &h);
    let names = tool_names(&http.rpc(&url, Some(&sid), &h, &list).json());
    assert!(
        names.contains(&"get-env".to_string()) && names.contains(&"get-sum".to_string()),
        "{names:?}"
    );
    let r = http
        .rpc(
            &url,
            Some(&sid),
            &h,
            &call(7, "get-sum", json!({"a": 2, "b": 3})),
        )
        .json();
    assert!(
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains('5'),
        "{r}"
    );
    // The upstream never sees the caller's credentials.
    let r = http
        .rpc(&url, Some(&sid), &h, &call(8, "get-env", json!({})))
        .json();
    let env_dump = r["result"].to_string();
    assert!(r["result"].is_object(), "{r}");
    assert!(
        !env_dump.contains(&token) && !env_dump.contains(API_KEY),
        "credentials leaked upstream"
    );
}
