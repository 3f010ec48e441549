//! The documents vanguard reads from whoever hands it a signed artifact
//! (src/trust/): the canonical-JSON reader, every signed view, signature,
//! signer and pack-manifest documents, and `not_after` dates.
//!
//! Checked: canonical bytes are a fixed point (they read back and print
//! the same), and what a JSON view signs is canonical JSON itself; a
//! signature document that parses is verified without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vanguard::trust::canonical::Json;
use vanguard::trust::{PackManifest, SignatureDoc, SignerDoc, View};

/// A fixed, valid signer (any key: its private half is not needed).
fn signer() -> SignerDoc {
    SignerDoc {
        version: 1,
        algorithm: "ed25519".into(),
        key_id: "ops-1".into(),
        public_key: "5Lf/xap8NEJGzlQO/CHkWZfRcZZw/HISad0Ct54lA9Y=".into(),
    }
}

fn fixed_point(bytes: &[u8]) {
    let again = Json::parse(bytes, "canonical").expect("canonical bytes must read back");
    assert_eq!(again.canonical(), bytes, "canonical form is not a fixed point");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = Json::parse(data, "input") {
        fixed_point(&v.canonical());
    }
    for view in [
        View::Json,
        View::RulesManifest,
        View::ServerManifest,
        View::CapabilityBaseline,
        View::File,
    ] {
        if let Ok(bytes) = view.signed_bytes(data, "input") {
            if view != View::File {
                fixed_point(&bytes);
            }
        }
    }
    if let Ok(sig) = serde_json::from_slice::<SignatureDoc>(data) {
        let _ = sig.verify_with(data, &signer(), "input");
    }
    if let Ok(doc) = serde_json::from_slice::<SignerDoc>(data) {
        let _ = doc.check("input");
    }
    let _ = serde_json::from_slice::<PackManifest>(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = vanguard::trust::store::parse_not_after(s, "input");
    }
});
