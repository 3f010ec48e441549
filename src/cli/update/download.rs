//! Fetching a rule pack over HTTP(S): `BASE/manifest.json`,
//! `BASE/manifest.sig.json`, then every file the manifest names.
//!
//! Nothing fetched is trusted here: names are checked to be plain relative
//! paths before anything is written (a manifest cannot place a file outside
//! the download directory), sizes are capped, and the caller verifies the
//! signature and every hash before the pack is installed.

use crate::trust::pack::{is_plain_relative, PackManifest, MANIFEST, SIGNATURE};
use std::path::Path;
use std::time::Duration;

/// The manifests are small; a rule file is text.
const MAX_MANIFEST_BYTES: usize = 1 << 20;
const MAX_FILE_BYTES: usize = 16 << 20;
const MAX_FILES: usize = 1000;
const TIMEOUT: Duration = Duration::from_secs(30);

/// Downloads the pack at `url` into `dir` (which must not exist).
pub fn pack(url: &str, dir: &Path) -> Result<(), String> {
    let base = url
        .strip_suffix(MANIFEST)
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    rt.block_on(fetch_all(&base, dir))
}

async fn fetch_all(base: &str, dir: &Path) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    let manifest = get(&client, base, MANIFEST, MAX_MANIFEST_BYTES).await?;
    let signature = get(&client, base, SIGNATURE, MAX_MANIFEST_BYTES).await?;
    let parsed: PackManifest = serde_json::from_slice(&manifest)
        .map_err(|e| format!("{base}/{MANIFEST}: invalid manifest: {e}"))?;
    if parsed.rules.len() > MAX_FILES {
        return Err(format!("{base}/{MANIFEST}: more than {MAX_FILES} files"));
    }
    if let Some(bad) = parsed.rules.keys().find(|n| !is_plain_relative(n)) {
        return Err(format!(
            "{base}/{MANIFEST} names {bad:?}, which is not a plain relative path"
        ));
    }
    std::fs::create_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write(dir, MANIFEST, &manifest)?;
    write(dir, SIGNATURE, &signature)?;
    for name in parsed.rules.keys() {
        let body = get(&client, base, name, MAX_FILE_BYTES).await?;
        write(dir, name, &body)?;
    }
    Ok(())
}

async fn get(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    max: usize,
) -> Result<Vec<u8>, String> {
    let url = format!("{base}/{name}");
    let mut resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        if body.len() + chunk.len() > max {
            return Err(format!("{url}: larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
