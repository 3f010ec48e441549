//! The trust store: which signers are trusted for what, until when.
//!
//! A profile's `[trust]` section lists signers per purpose, each a signer
//! file or an inline signer document, with an optional `not_after`:
//!
//! ```toml
//! [trust]
//! rules = "signed"                       # rule packs must verify
//! rule_packs = ["installed"]             # or directories
//! [[trust.signers.rules]]
//! file = "keys/ops.signer.json"
//! not_after = "2027-06-30"               # valid through that day (UTC)
//! [[trust.signers.rules]]
//! key_id = "provnai-rules-2026q2"
//! public_key = "Xwalc9ft9nnmzk18TC9Z8+fdErfFltJJDfxtDrBgaUw="
//! ```
//!
//! A key id is trusted for the purposes it is listed under and nothing
//! else: a rules key cannot sign a server manifest.

use super::key::SignerDoc;
use super::TrustError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What a signer is trusted to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Purpose {
    /// Rule packs.
    Rules,
    /// Server manifests.
    Manifest,
    /// Capability baselines.
    Baseline,
    /// Package provenance statements.
    Provenance,
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Purpose::Rules => "rules",
            Purpose::Manifest => "manifest",
            Purpose::Baseline => "baseline",
            Purpose::Provenance => "provenance",
        })
    }
}

/// Whether rule packs must be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RulesRequirement {
    /// Every rule pack must carry a signature by a `rules` signer, and every
    /// file must match its manifest; otherwise the profile does not load.
    Signed,
    /// Rule packs are loaded as they are (their hashes are still checked
    /// when the pack has a manifest).
    #[default]
    Any,
}

/// What a start does with a server manifest or capability baseline that
/// differs, or whose signature is missing or untrusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CheckMode {
    /// The document is not checked.
    Off,
    /// Each difference and a missing or untrusted signature is logged.
    Warn,
    /// The start (manifest) or the drifted tool (baseline) is refused, as
    /// is a document without a trusted signature.
    Block,
}

/// `[trust]` in a profile, as serde reads it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSection {
    pub rules: Option<RulesRequirement>,
    /// `--manifest` checks: off, warn or block (the default).
    pub manifest: Option<CheckMode>,
    /// `--baseline` checks: off, warn or block (the default).
    pub baseline: Option<CheckMode>,
    /// Rule-pack directories whose rules join the profile's; `"installed"`
    /// is the pack `vanguard update` installed.
    pub rule_packs: Option<Vec<String>>,
    pub signers: Option<SignersSection>,
    /// `[trust.provenance."NAME"]`: the build provenance a package must
    /// carry, checked when the launcher resolves it.
    pub provenance: Option<std::collections::BTreeMap<String, ProvenanceReq>>,
    /// A Sigstore `trusted_root.json` to verify provenance with instead of
    /// the one shipped in the binary.
    pub sigstore_root: Option<String>,
}

/// Where an npm package must have been built: its provenance attestation
/// (SLSA, in a Sigstore bundle) must name this repository (and workflow).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceReq {
    /// The source repository (`https://github.com/OWNER/REPO`).
    pub repository: String,
    /// The workflow that built it, as its path in the repository
    /// (`.github/workflows/release.yml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// The OIDC issuer of the build identity (default GitHub Actions,
    /// `https://token.actions.githubusercontent.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// `[trust.signers]`: signers per purpose.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignersSection {
    pub rules: Option<Vec<SignerEntry>>,
    pub manifest: Option<Vec<SignerEntry>>,
    pub baseline: Option<Vec<SignerEntry>>,
    pub provenance: Option<Vec<SignerEntry>>,
}

impl SignersSection {
    pub fn by_purpose(&self) -> [(Purpose, &[SignerEntry]); 4] {
        fn s(v: &Option<Vec<SignerEntry>>) -> &[SignerEntry] {
            v.as_deref().unwrap_or(&[])
        }
        [
            (Purpose::Rules, s(&self.rules)),
            (Purpose::Manifest, s(&self.manifest)),
            (Purpose::Baseline, s(&self.baseline)),
            (Purpose::Provenance, s(&self.provenance)),
        ]
    }
}

/// One trusted signer: `file` (a signer document) or the document's fields inline.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerEntry {
    /// A signer document; relative to the profile's directory.
    pub file: Option<String>,
    pub version: Option<u32>,
    pub algorithm: Option<String>,
    pub key_id: Option<String>,
    pub public_key: Option<String>,
    /// RFC 3339 date (valid through the end of that day, UTC) or date-time.
    pub not_after: Option<String>,
}

/// A signer the store trusts.
#[derive(Debug, Clone)]
pub struct Signer {
    pub doc: SignerDoc,
    pub not_after: Option<String>,
    /// The first second at which the signer is no longer valid.
    pub not_after_secs: Option<u64>,
    /// Where it came from, for messages.
    pub source: String,
}

/// Signers per purpose.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    signers: BTreeMap<Purpose, Vec<Signer>>,
}

impl TrustStore {
    /// Builds the store from `[trust.signers]`; `base` is the directory
    /// relative signer files are read from. Errors name the entry
    /// (`trust.signers.rules[0]`).
    pub fn from_section(section: &SignersSection, base: &Path) -> Result<TrustStore, TrustError> {
        let mut store = TrustStore::default();
        for (purpose, entries) in section.by_purpose() {
            for (i, e) in entries.iter().enumerate() {
                let what = format!("trust.signers.{purpose}[{i}]");
                store.add(purpose, Signer::from_entry(e, &what, base)?);
            }
        }
        Ok(store)
    }

    pub fn add(&mut self, purpose: Purpose, signer: Signer) {
        self.signers.entry(purpose).or_default().push(signer);
    }

    pub fn signers(&self, purpose: Purpose) -> &[Signer] {
        self.signers.get(&purpose).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.signers.values().all(Vec::is_empty)
    }

    /// The signer with `key_id` for `purpose`, if it is valid at `now`.
    pub fn signer(&self, purpose: Purpose, key_id: &str, now: u64) -> Result<&Signer, TrustError> {
        let mut candidates = self
            .signers(purpose)
            .iter()
            .filter(|s| s.doc.key_id == key_id);
        let first = candidates.next().ok_or_else(|| TrustError::Untrusted {
            key_id: key_id.to_string(),
            purpose,
        })?;
        // Prefer an entry that has not expired, if the key is listed twice.
        let valid = |s: &&Signer| s.not_after_secs.is_none_or(|t| now < t);
        if valid(&first) {
            return Ok(first);
        }
        if let Some(s) = candidates.find(valid) {
            return Ok(s);
        }
        Err(TrustError::Expired {
            key_id: key_id.to_string(),
            not_after: first.not_after.clone().unwrap_or_default(),
            purpose,
        })
    }
}

impl Signer {
    /// A signer trusted from a signer file given on the command line.
    pub fn from_file(path: &Path) -> Result<Signer, TrustError> {
        Ok(Signer {
            doc: SignerDoc::read(path)?,
            not_after: None,
            not_after_secs: None,
            source: path.display().to_string(),
        })
    }

    fn from_entry(e: &SignerEntry, what: &str, base: &Path) -> Result<Signer, TrustError> {
        let inline = e.key_id.is_some() || e.public_key.is_some();
        let (doc, source) = match (&e.file, inline) {
            (Some(f), false) => {
                let path = base.join(f);
                (SignerDoc::read(&path)?, path.display().to_string())
            }
            (None, true) => {
                let doc = SignerDoc {
                    version: e.version.unwrap_or(super::key::VERSION),
                    algorithm: e
                        .algorithm
                        .clone()
                        .unwrap_or_else(|| super::key::ALGORITHM.into()),
                    key_id: e.key_id.clone().unwrap_or_default(),
                    public_key: e.public_key.clone().unwrap_or_default(),
                };
                doc.check(what)?;
                (doc, what.to_string())
            }
            _ => return Err(TrustError::field(
                what,
                "file",
                "give either `file` or the inline `key_id` and `public_key`, not both or neither",
            )),
        };
        let not_after_secs = e
            .not_after
            .as_deref()
            .map(|d| parse_not_after(d, what))
            .transpose()?;
        Ok(Signer {
            doc,
            not_after: e.not_after.clone(),
            not_after_secs,
            source,
        })
    }
}

/// The first second (since the epoch) at which a signer with this
/// `not_after` is expired: the next midnight UTC for a date (`2027-06-30`
/// is valid all that day), one second after the instant for an RFC 3339
/// date-time (`2027-06-30T12:00:00Z`, `…+02:00`; fractions are dropped).
pub fn parse_not_after(s: &str, what: &str) -> Result<u64, TrustError> {
    let bad = || {
        TrustError::field(
            what,
            "not_after",
            format!(
                "{s:?} is not an RFC 3339 date (2027-06-30) or date-time (2027-06-30T12:00:00Z)"
            ),
        )
    };
    let num = |a: usize, b: usize| -> Result<i64, TrustError> {
        let part = s
            .get(a..b)
            .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
            .ok_or_else(bad)?;
        part.parse().map_err(|_| bad())
    };
    if s.get(4..5) != Some("-") || s.get(7..8) != Some("-") {
        return Err(bad());
    }
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if !(1..=12).contains(&m) || !(1..=days_in_month(y, m)).contains(&d) {
        return Err(bad());
    }
    let day = days_from_civil(y, m, d) * 86_400;
    let secs = if s.len() == 10 {
        day + 86_400
    } else {
        if !matches!(s.get(10..11), Some("T" | "t" | " "))
            || s.get(13..14) != Some(":")
            || s.get(16..17) != Some(":")
        {
            return Err(bad());
        }
        let (hh, mm, ss) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if hh > 23 || mm > 59 || ss > 60 {
            return Err(bad());
        }
        let mut rest = s.get(19..).ok_or_else(bad)?;
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(bad());
            }
            rest = frac.get(n..).ok_or_else(bad)?;
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.get(..1) {
                    Some("+") => 1,
                    Some("-") => -1,
                    _ => return Err(bad()),
                };
                let o = |a, b| {
                    rest.get(a..b)
                        .filter(|p: &&str| p.bytes().all(|c| c.is_ascii_digit()))
                        .and_then(|p| p.parse::<i64>().ok())
                        .ok_or_else(bad)
                };
                if rest.len() != 6 || rest.get(3..4) != Some(":") {
                    return Err(bad());
                }
                sign * (o(1, 3)? * 3600 + o(4, 6)? * 60)
            }
        };
        day + hh * 3600 + mm * 60 + ss - offset + 1
    };
    u64::try_from(secs).map_err(|_| bad())
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_after_dates_and_times() {
        // 2000-03-01 is day 11017.
        assert_eq!(parse_not_after("2000-02-29", "t").unwrap(), 11_017 * 86_400);
        assert_eq!(parse_not_after("1970-01-01T00:00:00Z", "t").unwrap(), 1);
        assert_eq!(
            parse_not_after("1970-01-01T02:00:00.5+02:00", "t").unwrap(),
            1
        );
        for bad in [
            "2027-02-30",
            "2027-6-30",
            "30/06/2027",
            "2027-06-30T25:00:00Z",
            "2027-06-30T12:00:00",
        ] {
            let e = parse_not_after(bad, "p.toml").unwrap_err().to_string();
            assert!(
                e.contains("not_after") && e.contains("p.toml"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn entry_must_be_a_file_or_inline() {
        let both = SignerEntry {
            file: Some("x.json".into()),
            key_id: Some("k".into()),
            ..Default::default()
        };
        let section = SignersSection {
            rules: Some(vec![both]),
            ..Default::default()
        };
        let e = TrustStore::from_section(&section, Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("trust.signers.rules[0]"), "{e}");
    }

    #[test]
    fn unknown_keys_in_the_section_are_errors() {
        let e = toml::from_str::<TrustSection>("rules = \"signed\"\nrule_pack = []\n").unwrap_err();
        assert!(e.to_string().contains("rule_pack"), "{e}");
    }
}
