//! The cost of checking a pinned package tree at start: a full walk that
//! hashes every file, and the warm walk that re-hashes only files whose
//! inode, size, mtime or ctime changed (the default at start).
//!
//! The tree is server-filesystem's, installed on first run with
//! `vanguard fetch` into `target/bench-launch/cache` (needs npm and the
//! registry once), or any tree named by `VANGUARD_BENCH_TREE`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use vanguard::launch::tree::{Manifest, StatCache};

fn tree() -> PathBuf {
    if let Some(t) = std::env::var_os("VANGUARD_BENCH_TREE") {
        return PathBuf::from(t);
    }
    let work = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-launch");
    let cache = work.join("cache");
    let tree = cache.join("npm/@modelcontextprotocol+server-filesystem@2026.8.31");
    if !tree.is_dir() {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_vanguard"))
            .arg("fetch")
            .arg("--cache-dir")
            .arg(&cache)
            .arg("--pins")
            .arg(work.join("pins.json"))
            .args([
                "--server",
                "npx -y @modelcontextprotocol/server-filesystem@2026.8.31",
            ])
            .status()
            .expect("run vanguard fetch");
        assert!(status.success(), "vanguard fetch failed");
    }
    tree
}

fn verify(c: &mut Criterion) {
    let tree = tree();
    let (full, stats) = Manifest::of_with(&tree, &StatCache::default()).expect("walk the tree");
    eprintln!(
        "tree {}: {} files, {:.1} MiB",
        tree.display(),
        full.files(),
        full.bytes() as f64 / (1024.0 * 1024.0)
    );
    let mut g = c.benchmark_group("verify_tree");
    g.sample_size(30);
    g.bench_function("full (every file hashed)", |b| {
        b.iter(|| Manifest::of(&tree).expect("walk").hash())
    });
    g.bench_function("warm (stat cache)", |b| {
        b.iter(|| Manifest::of_with(&tree, &stats).expect("walk").0.hash())
    });
    g.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
