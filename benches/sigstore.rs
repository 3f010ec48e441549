//! Sigstore verification at server start, from a cached bundle.
//!
//! 1. `root_parse`: reading the pinned public-good trusted root (once per
//!    process).
//! 2. `npm_provenance_bundle`: verifying the real npm provenance bundle of
//!    sigstore@2.0.0 (DSSE, intoto entry: SET, inclusion proof, checkpoint,
//!    Fulcio chain, SCT, identity) against its subject digest — what a start
//!    pays per server (target ≤ 20 ms).
//! 3. `npm_attestations`: both attestations of sigstore@1.0.0 (provenance
//!    and the registry-signed publish attestation).
//! 4. `rekor_v2_bundle`: a Rekor v2 message-signature bundle (RFC 3161
//!    timestamp, Ed25519 checkpoint) from the conformance suite.
//!
//! The figures printed first come from a short loop in this process, with
//! the ratio against hashing the 100 KB-class tarball as a same-run
//! baseline. Timings never gate anything.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::path::Path;
use std::time::{Duration, Instant};
use vanguard::sigstore::npm::{self, RegistryKeys};
use vanguard::sigstore::{verify_bundle, Artifact, IdentityRule, Policy, TrustedRoot};

fn read(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/trust")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn unhex64(s: &str) -> [u8; 64] {
    let v: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

const PROVENANCE: &str = "sigstore/go/sigstore.js@2.0.0-provenance.sigstore.json";
const SUBJECT: &str = "46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c";

fn policy() -> Policy {
    let mut p = Policy::new(IdentityRule::Exact(
        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
            .into(),
    ));
    p.issuer = Some("https://token.actions.githubusercontent.com".into());
    p.repository = Some("https://github.com/sigstore/sigstore-js".into());
    p
}

fn per_iter(mut f: impl FnMut(), n: u32) -> Duration {
    f();
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

fn bench(c: &mut Criterion) {
    let root = TrustedRoot::public_good().unwrap();
    let bundle = read(PROVENANCE);
    let subject = unhex64(SUBJECT);
    let p = policy();
    verify_bundle(&bundle, Artifact::Sha512(subject), &root, &p)
        .expect("the bench bundle verifies");
    let tarball = read("npm/tarballs/sigstore-1.0.0.tgz");
    let atts = read("npm/attestations/sigstore@1.0.0.json");
    let keys = RegistryKeys::from_json(&String::from_utf8(read("npm/keys.json")).unwrap()).unwrap();
    let tgz_sha512: [u8; 64] = ring::digest::digest(&ring::digest::SHA512, &tarball)
        .as_ref()
        .try_into()
        .unwrap();
    let mut any = Policy::new(IdentityRule::Any);
    any.repository = Some("https://github.com/sigstore/sigstore-js".into());

    let v2_dir = "sigstore/conformance/rekor2-happy-path";
    let v2_root = TrustedRoot::from_json(
        &String::from_utf8(read(&format!("{v2_dir}/trusted_root.json"))).unwrap(),
    )
    .unwrap();
    let v2_bundle = read(&format!("{v2_dir}/bundle.sigstore.json"));
    let a_txt = read("sigstore/conformance/a.txt");
    let mut v2_policy = Policy::new(IdentityRule::Any);
    v2_policy.issuer = Some("https://token.actions.githubusercontent.com".into());
    verify_bundle(&v2_bundle, Artifact::Bytes(&a_txt), &v2_root, &v2_policy)
        .expect("the Rekor v2 bundle verifies");

    let verify = per_iter(
        || {
            black_box(verify_bundle(&bundle, Artifact::Sha512(subject), &root, &p).unwrap());
        },
        200,
    );
    let root_parse = per_iter(|| drop(black_box(TrustedRoot::public_good().unwrap())), 200);
    let hash = per_iter(
        || {
            black_box(ring::digest::digest(&ring::digest::SHA512, &tarball));
        },
        200,
    );
    let v2 = per_iter(
        || {
            black_box(
                verify_bundle(&v2_bundle, Artifact::Bytes(&a_txt), &v2_root, &v2_policy).unwrap(),
            );
        },
        200,
    );
    println!(
        "sigstore: one Rekor v2 bundle (TSA-timed) {:.2} ms",
        v2.as_secs_f64() * 1e3
    );
    println!(
        "sigstore: one bundle {:.2} ms (target <= 20 ms), root parse {:.2} ms, sha512 of a {} KB tarball {:.3} ms (bundle/hash = {:.1}x)",
        verify.as_secs_f64() * 1e3,
        root_parse.as_secs_f64() * 1e3,
        tarball.len() / 1024,
        hash.as_secs_f64() * 1e3,
        verify.as_secs_f64() / hash.as_secs_f64()
    );

    c.bench_function("root_parse", |b| {
        b.iter(|| TrustedRoot::public_good().unwrap())
    });
    c.bench_function("npm_provenance_bundle", |b| {
        b.iter(|| verify_bundle(black_box(&bundle), Artifact::Sha512(subject), &root, &p).unwrap())
    });
    c.bench_function("npm_attestations", |b| {
        b.iter(|| {
            npm::verify_attestations(
                black_box(&atts),
                "sigstore",
                "1.0.0",
                tgz_sha512,
                &keys,
                &root,
                &any,
            )
            .unwrap()
        })
    });
}

fn bench_v2(c: &mut Criterion) {
    let dir = "sigstore/conformance/rekor2-happy-path";
    let root = TrustedRoot::from_json(
        &String::from_utf8(read(&format!("{dir}/trusted_root.json"))).unwrap(),
    )
    .unwrap();
    let bundle = read(&format!("{dir}/bundle.sigstore.json"));
    let a = read("sigstore/conformance/a.txt");
    let p = Policy::new(IdentityRule::Any);
    c.bench_function("rekor_v2_bundle", |b| {
        b.iter(|| verify_bundle(black_box(&bundle), Artifact::Bytes(&a), &root, &p).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3));
    targets = bench, bench_v2
}
criterion_main!(benches);
