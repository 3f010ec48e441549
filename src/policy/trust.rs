//! `[trust]` in a profile: the signers trusted per purpose, and rule packs
//! whose rules join the profile's (verified first when `rules = "signed"`).
//!
//! Paths in the section are expanded (`${home}`…) and made absolute against
//! the directory of the profile that names them (the current directory for
//! built-in profiles) as each file is read, so a profile that extends
//! another keeps meaning the files next to it.

use super::load::{err, merge_rules};
use super::schema::{ProfileFile, RuleDef};
use super::{PolicyError, Rule, Vars};
use crate::trust::pack::{self, Pack};
use crate::trust::{RulesRequirement, TrustSection, TrustStore};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The keyword for the pack `vanguard update` installed.
pub const INSTALLED: &str = "installed";

/// The trust settings of a loaded policy.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    pub rules: RulesRequirement,
    /// `[trust] manifest` / `baseline` as written (`None`: block).
    pub manifest: Option<crate::trust::store::CheckMode>,
    pub baseline: Option<crate::trust::store::CheckMode>,
    pub store: TrustStore,
    /// Rule packs loaded, in order.
    pub rule_packs: Vec<PathBuf>,
    /// `[trust.provenance]`: npm package name → where it must have been built.
    pub provenance: std::collections::BTreeMap<String, crate::trust::store::ProvenanceReq>,
    /// `[trust] sigstore_root`: the trusted root for provenance (None: the shipped one).
    pub sigstore_root: Option<PathBuf>,
}

/// One file of a rule pack: rules, nothing else (a pack never widens a zone).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulePackFile {
    #[serde(rename = "rules")]
    _rules: Option<Vec<RuleDef>>,
}

/// Expands and anchors the paths of one profile's `[trust]` section.
pub(super) fn anchor_paths(
    file: &mut ProfileFile,
    label: &str,
    base: &Path,
    vars: &Vars,
) -> Result<(), PolicyError> {
    let Some(t) = file.trust.as_mut() else {
        return Ok(());
    };
    let anchor = |field: &str, p: &mut String| -> Result<(), PolicyError> {
        let expanded = vars.expand(p).map_err(|m| err(label, None, field, m))?;
        *p = base.join(expanded).display().to_string();
        Ok(())
    };
    if let Some(p) = t.sigstore_root.as_mut() {
        anchor("trust.sigstore_root", p)?;
    }
    for p in t.rule_packs.iter_mut().flatten() {
        if p != INSTALLED {
            anchor("trust.rule_packs", p)?;
        }
    }
    if let Some(signers) = t.signers.as_mut() {
        for (purpose, list) in [
            ("rules", signers.rules.as_mut()),
            ("manifest", signers.manifest.as_mut()),
            ("baseline", signers.baseline.as_mut()),
            ("provenance", signers.provenance.as_mut()),
        ] {
            for e in list.into_iter().flatten() {
                if let Some(f) = e.file.as_mut() {
                    anchor(&format!("trust.signers.{purpose}"), f)?;
                }
            }
        }
    }
    Ok(())
}

/// Builds the trust store of the merged profile and adds the rules of its
/// rule packs to `rules`. With `rules = "signed"`, a pack that is unsigned,
/// signed by an untrusted or expired key, or whose files differ from its
/// manifest stops the load; otherwise a pack with a manifest must still
/// match it.
pub(super) fn resolve(
    section: Option<TrustSection>,
    top: &str,
    vars: &Vars,
    skip_packs: bool,
    rule_check: super::load::RuleCheck,
    rules: &mut Vec<Rule>,
) -> Result<TrustPolicy, PolicyError> {
    let section = section.unwrap_or_default();
    let store = match &section.signers {
        Some(s) => TrustStore::from_section(s, &vars.cwd).map_err(|e| match e {
            crate::trust::TrustError::Field {
                what,
                field,
                message,
            } => err(top, None, &format!("{what}.{field}"), message),
            e => err(top, None, "trust.signers", e),
        })?,
        None => TrustStore::default(),
    };
    let requirement = section.rules.unwrap_or_default();
    let mut packs = Vec::new();
    let specs = if skip_packs {
        &[][..]
    } else {
        section.rule_packs.as_deref().unwrap_or(&[])
    };
    if requirement == RulesRequirement::Signed
        && !specs.is_empty()
        && store.signers(crate::trust::Purpose::Rules).is_empty()
    {
        return Err(err(
            top,
            None,
            "trust.signers.rules",
            "rules = \"signed\" but no rules signer is trusted",
        ));
    }
    for spec in specs {
        let dir = if spec == INSTALLED {
            pack::default_rules_dir()
                .map(|d| pack::current(&d))
                .ok_or_else(|| {
                    err(
                        top,
                        None,
                        "trust.rule_packs",
                        "\"installed\": neither XDG_DATA_HOME nor HOME is set",
                    )
                })?
        } else {
            PathBuf::from(spec)
        };
        load_pack(&dir, requirement, &store, top, vars, rule_check, rules)?;
        packs.push(dir);
    }
    if let Some(root) = &section.sigstore_root {
        if !Path::new(root).is_file() {
            return Err(err(
                top,
                None,
                "trust.sigstore_root",
                format!("{root}: no such file (a Sigstore trusted_root.json)"),
            ));
        }
    }
    Ok(TrustPolicy {
        rules: requirement,
        manifest: section.manifest,
        baseline: section.baseline,
        store,
        rule_packs: packs,
        provenance: section.provenance.unwrap_or_default(),
        sigstore_root: section.sigstore_root.map(PathBuf::from),
    })
}

fn load_pack(
    dir: &Path,
    requirement: RulesRequirement,
    store: &TrustStore,
    top: &str,
    vars: &Vars,
    rule_check: super::load::RuleCheck,
    rules: &mut Vec<Rule>,
) -> Result<(), PolicyError> {
    let field = "trust.rule_packs";
    let fail = |e: crate::trust::TrustError| err(top, None, field, e);
    let pack = Pack::read(dir).map_err(fail)?;
    match requirement {
        RulesRequirement::Signed => {
            pack.verify(store, crate::trust::store::now_secs())
                .map_err(fail)?;
        }
        RulesRequirement::Any if pack.manifest_bytes.is_some() => {
            pack.check_files().map_err(fail)?;
        }
        RulesRequirement::Any => {}
    }
    // Rule files are read from the verified snapshot, never again from disk.
    for (name, bytes) in pack.files.iter().filter(|(n, _)| n.ends_with(".toml")) {
        let label = format!("{} (rule pack)", dir.join(name).display());
        let text = std::str::from_utf8(bytes)
            .map_err(|e| err(&label, None, "(file)", format!("not UTF-8: {e}")))?;
        toml::from_str::<RulePackFile>(text).map_err(|e| {
            err(
                &label,
                None,
                "(file)",
                format!(
                    "a rule-pack file holds [[rules]] only: {}",
                    e.message().trim()
                ),
            )
        })?;
        let file = super::load::parse_file(&label, text, vars, rule_check)?;
        merge_rules(rules, &label, &file);
    }
    Ok(())
}
