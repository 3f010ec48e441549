//! Bearer tokens and key sets (src/auth/jwt.rs, src/auth/jwks.rs). Every
//! reject path must return an error, never panic.
//!
//! Byte 0 picks what the rest of the input is:
//! - 0: a token, verified by two `JwtVerifier`s over a fixed JWKS file
//!   (an RSA, an EC P-256 and an Ed25519 key);
//! - 1: a JWKS document for `parse_jwks`; each key it yields is then used to
//!   verify fixed tokens of each algorithm (as `verify` does after
//!   `key_for`), and the text goes through `check_url`;
//! - 2: a header and claims (split at the first 0xff byte) that are encoded
//!   and *signed* with the fixed EC or Ed25519 key, so the fuzzer reaches
//!   the claim checks behind a valid signature (issuer, audience, exp/nbf,
//!   required claims, scopes, dotted role paths).
//!
//! The EC and Ed25519 keys are made at start-up (nothing secret is stored);
//! the RSA key is public only, with one token it signed (see the corpus).
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Validation};
use libfuzzer_sys::fuzz_target;
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};
use std::str::FromStr;
use std::sync::OnceLock;
use vanguard::auth::config::JwtConfig;
use vanguard::auth::jwks::{check_url, parse_jwks};
use vanguard::auth::jwt::JwtVerifier;

const ISSUER: &str = "https://idp.example/";

/// The public half of an RSA key whose private half was discarded.
const RSA_N: &str = "xP5_uwoyZCovTUI-GurVbmqy5HqDuPss1W21VhUCr78iAYzuIHrrmNIRVFBIuXROZ-sYYCtOmyWEol0teuWdIIA19FZvyFe3zlFPq6PtOMxmbcB4l-UyDmSY9OZ8E5dCb643NnEO_XZJeWFd00ROmZ3IjjpntqJeKbe0ObDSWqFTco2fGuEgnb6BL0ieHqbp5yvHXdQPwRVG9669k2z6VSoM-KXdFDOCImZBKnkxJMfnsQAwkEcp2Z9iZ6VRAQYdcs6dx_y0JfppXgOeETXSOI6AVEvAEYBgTZvshcVJuqDkNb-Sd2JQrcvECtQ0WMXGYn_7ClYcLg_TC4F2I9mcvw";
/// A token that key signed (kid rsa1, valid until 2100).
const RS256_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWRwLmV4YW1wbGUvIiwiYXVkIjoibWNwIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsInNjb3BlIjoibWNwIHJlYWQiLCJyZWFsbV9hY2Nlc3MiOnsicm9sZXMiOlsib3BzIl19fQ.aAl9ai3etA7nGIRlPBdZwhxxSPd7WnUiRgm-Hf5Y0AiRhWZLOIQUY1yET1q6b1BETRowYg_HotxXwpUAHsUlWhuJcEaGPJ7SzNRW8Q2-spZvTEgpM_phCfFm8jM_nOUWil7fFVKQZk69h5G-STzMbnQdZ5b4BMVUlyAuHoLU_mT-w_OARx18lKPk3PF-IVVV9gDAfCND0OfaZrfS4iCVbVSNRKS7HO-YPTLWF2AP5_4izlOJxyKcQ9yQnh1DVPSRhS3Ky9xh8eGnoIJrOXCJK-9wl1--2kUOB5tYk2r8YTRY1t4JIGlHKLZeyjH7T-mg5ZrXwBaWWr_Y8pRXGknpVg";

struct Fixture {
    rt: tokio::runtime::Runtime,
    strict: JwtVerifier,
    lenient: JwtVerifier,
    ec: EncodingKey,
    ed: EncodingKey,
    /// Tokens signed by each key, for keys parsed from fuzzed key sets.
    tokens: Vec<(Algorithm, String)>,
}

fn config(jwks: &std::path::Path, strict: bool) -> JwtConfig {
    let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    JwtConfig {
        issuer: ISSUER.into(),
        audience: words(&["mcp", "https://mcp.example/mcp"]),
        jwks_file: Some(jwks.to_path_buf()),
        jwks_url: None,
        discovery: false,
        algorithms: if strict {
            words(&["RS256", "ES256", "EdDSA"])
        } else {
            words(&[
                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
            ])
        },
        leeway_secs: if strict { 0 } else { 30 },
        required_claims: if strict {
            words(&["sub", "exp", "iat"])
        } else {
            words(&["sub", "exp"])
        },
        required_scopes: if strict { words(&["mcp"]) } else { Vec::new() },
        scope_claim: if strict { "scope".into() } else { "scp".into() },
        roles_claim: if strict {
            "realm_access.roles".into()
        } else {
            "roles".into()
        },
    }
}

fn sign(header: &Value, claims: &[u8], key: &EncodingKey, alg: Algorithm) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let c = URL_SAFE_NO_PAD.encode(claims);
    let msg = format!("{h}.{c}");
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), key, alg).expect("sign");
    format!("{msg}.{sig}")
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rng = ring::rand::SystemRandom::new();
        let ec_doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("EC key");
        let ec_pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec_doc.as_ref(), &rng)
                .expect("EC pair");
        let point = ec_pair.public_key().as_ref(); // 0x04 ‖ x ‖ y
        let ed_doc = Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key");
        let ed_pair = Ed25519KeyPair::from_pkcs8(ed_doc.as_ref()).expect("Ed25519 pair");
        let jwks = json!({"keys": [
            {"kty": "RSA", "kid": "rsa1", "use": "sig", "alg": "RS256", "n": RSA_N, "e": "AQAB"},
            {"kty": "EC", "kid": "ec1", "use": "sig", "alg": "ES256", "crv": "P-256",
             "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])},
            {"kty": "OKP", "kid": "ed1", "use": "sig", "crv": "Ed25519",
             "x": URL_SAFE_NO_PAD.encode(ed_pair.public_key().as_ref())},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
        ]});
        let dir = std::env::temp_dir().join(format!("vanguard-fuzz-jwt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("jwks.json");
        std::fs::write(&path, jwks.to_string()).expect("write jwks");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let strict = JwtVerifier::new(&config(&path, true)).expect("strict verifier");
        let lenient = JwtVerifier::new(&config(&path, false)).expect("lenient verifier");
        rt.block_on(async {
            assert_eq!(strict.preload().await.expect("preload"), 3);
            lenient.preload().await.expect("preload");
        });
        let ec = EncodingKey::from_ec_der(ec_doc.as_ref());
        let ed = EncodingKey::from_ed_der(ed_doc.as_ref());
        let claims = json!({"sub": "alice", "iss": ISSUER, "aud": "mcp", "exp": 4102444800u64,
                            "iat": 1700000000, "nbf": 1700000000, "scope": "mcp"});
        let claims = claims.to_string();
        let tokens = vec![
            (Algorithm::RS256, RS256_TOKEN.to_string()),
            (
                Algorithm::ES256,
                sign(&json!({"alg": "ES256", "kid": "ec1"}), claims.as_bytes(), &ec, Algorithm::ES256),
            ),
            (
                Algorithm::EdDSA,
                sign(&json!({"alg": "EdDSA", "kid": "ed1"}), claims.as_bytes(), &ed, Algorithm::EdDSA),
            ),
        ];
        let f = Fixture {
            rt,
            strict,
            lenient,
            ec,
            ed,
            tokens,
        };
        // The fixture must accept its own tokens, or mode 2 tests nothing.
        for (alg, t) in &f.tokens {
            f.rt.block_on(f.strict.verify(t))
                .unwrap_or_else(|e| panic!("fixture token {alg:?} refused: {e:?}"));
        }
        f
    })
}

fn verify_both(f: &Fixture, token: &str) {
    for v in [&f.strict, &f.lenient] {
        match f.rt.block_on(v.verify(token)) {
            Ok(p) => {
                assert!(p.subject.starts_with(ISSUER), "subject {:?}", p.subject);
            }
            Err(e) => {
                let _ = (e.status(), e.challenge("https://mcp.example/.well-known"));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    match mode % 3 {
        0 => {
            let token = String::from_utf8_lossy(rest);
            let _ = jsonwebtoken::decode_header(&token);
            verify_both(f, &token);
        }
        1 => {
            let text = String::from_utf8_lossy(rest);
            let _ = check_url(&text);
            let Ok(keys) = parse_jwks(&text) else {
                return;
            };
            for key in keys.iter().take(8) {
                for (alg, token) in &f.tokens {
                    if key.alg.is_some_and(|a| a != *alg) {
                        continue;
                    }
                    let mut v = Validation::new(*alg);
                    v.validate_aud = false;
                    let _ = jsonwebtoken::decode::<Value>(token, &key.key, &v);
                }
            }
        }
        _ => {
            let (head, claims) = match rest.iter().position(|b| *b == 0xff) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (&b"{}"[..], rest),
            };
            // The header must be an object for jsonwebtoken to sign it as
            // given; an unusable one is replaced, keeping `kid` and `alg`.
            let mut header: Value = serde_json::from_slice(head).unwrap_or(json!({}));
            if !header.is_object() {
                header = json!({});
            }
            let named = header
                .get("alg")
                .and_then(Value::as_str)
                .and_then(|a| Algorithm::from_str(a).ok());
            let (key, alg, kid) = match named {
                Some(Algorithm::EdDSA) => (&f.ed, Algorithm::EdDSA, "ed1"),
                _ => (&f.ec, Algorithm::ES256, "ec1"),
            };
            if named.is_none() {
                header["alg"] = json!(format!("{alg:?}"));
            }
            if header.get("kid").is_none() {
                header["kid"] = json!(kid);
            }
            let token = sign(&header, claims, key, alg);
            verify_both(f, &token);
        }
    }
});
