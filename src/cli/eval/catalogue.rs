//! The attack catalogue: `attacks.toml`, embedded in the binary and parsed
//! at start. Attacks are data; this module only gives them types.

use serde::{Deserialize, Serialize};

/// The catalogue as shipped (`vanguard eval --list` prints it).
pub const SOURCE: &str = include_str!("attacks.toml");
/// The catalogue format this binary reads.
pub const VERSION: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub version: u32,
    #[serde(rename = "attack")]
    pub attacks: Vec<AttackDef>,
}

/// What an argument takes, judged from its name, description and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgKind {
    Path,
    Url,
    Command,
    Code,
    Text,
    /// No argument at all: a tool called with `{}` (an environment or
    /// configuration report).
    #[serde(rename = "none")]
    NoArgs,
}

impl ArgKind {
    pub fn name(self) -> &'static str {
        match self {
            ArgKind::Path => "path",
            ArgKind::Url => "url",
            ArgKind::Command => "command",
            ArgKind::Code => "code",
            ArgKind::Text => "text",
            ArgKind::NoArgs => "none",
        }
    }
}

/// What the tool does with the argument: for paths, read, write or list;
/// for free text, give it back (`echo`) or act on it (`task`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    Read,
    Write,
    List,
    /// A text tool that answers with what it was given (echo, notes).
    Echo,
    /// A text tool that acts on plain-language instructions (an agent,
    /// an assistant, a task runner).
    Task,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    OutsideRead,
    EnvRead,
    OutsideWritten,
    ProtectedWritten,
    CanaryConnected,
    CredentialCopied,
    ProcessLeft,
    /// The attack's injected instructions (marked with its nonce) came
    /// back to the agent in a tool result.
    InjectionReturned,
}

impl Effect {
    pub fn name(self) -> &'static str {
        match self {
            Effect::OutsideRead => "outside_read",
            Effect::EnvRead => "env_read",
            Effect::OutsideWritten => "outside_written",
            Effect::ProtectedWritten => "protected_written",
            Effect::CanaryConnected => "canary_connected",
            Effect::CredentialCopied => "credential_copied",
            Effect::ProcessLeft => "process_left",
            Effect::InjectionReturned => "injection_returned",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wrap {
    /// `echo BASE64 | base64 -d | sh`
    Base64Sh,
}

/// One call: which argument kind (and role) it needs, and its values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub kind: ArgKind,
    #[serde(default)]
    pub role: Role,
    pub payload: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub wrap: Option<Wrap>,
}

/// A file eval writes into the workspace before the attack's call: a
/// script a compromised dependency rewrote, a document carrying injected
/// instructions. Its path is relative to the workspace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plant {
    pub file: String,
    pub content: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackDef {
    pub id: String,
    pub class: String,
    pub title: String,
    pub kind: ArgKind,
    #[serde(default)]
    pub role: Role,
    pub payload: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub wrap: Option<Wrap>,
    pub effect: Effect,
    #[serde(default)]
    pub first: Option<Step>,
    #[serde(default)]
    pub inspector_only: bool,
    #[serde(default)]
    pub plant: Option<Plant>,
}

impl AttackDef {
    /// The attack's own call, as a step.
    pub fn step(&self) -> Step {
        Step {
            kind: self.kind,
            role: self.role,
            payload: self.payload.clone(),
            content: self.content.clone(),
            wrap: self.wrap,
        }
    }
}

/// Parses and checks the embedded catalogue.
pub fn load() -> Result<Catalogue, String> {
    parse(SOURCE)
}

pub fn parse(text: &str) -> Result<Catalogue, String> {
    let c: Catalogue =
        toml::from_str(text).map_err(|e| format!("the attack catalogue does not parse: {e}"))?;
    if c.version != VERSION {
        return Err(format!(
            "the attack catalogue is version {}, this vanguard reads version {VERSION}",
            c.version
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in &c.attacks {
        if !seen.insert(a.id.as_str()) {
            return Err(format!("the attack catalogue has two entries `{}`", a.id));
        }
        if let Some(p) = &a.plant {
            let rel = std::path::Path::new(&p.file);
            let inside = !p.file.is_empty()
                && rel
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside {
                return Err(format!(
                    "attack `{}` plants `{}`: a plant must be a relative path inside the workspace (no `..`, not absolute)",
                    a.id, p.file
                ));
            }
        }
        let text_roles = [Role::Read, Role::Echo, Role::Task];
        let path_roles = [Role::Read, Role::Write, Role::List];
        let role_fits = match a.kind {
            ArgKind::Path => path_roles.contains(&a.role),
            ArgKind::Text => text_roles.contains(&a.role),
            _ => a.role == Role::Read,
        };
        if !role_fits {
            return Err(format!(
                "attack `{}`: role `{}` does not apply to a {} argument",
                a.id,
                role_name(a.role),
                a.kind.name()
            ));
        }
        let needs_content = a.kind == ArgKind::Path && a.role == Role::Write;
        if needs_content && a.content.is_none() {
            return Err(format!(
                "attack `{}` writes but has no `content` template",
                a.id
            ));
        }
    }
    Ok(c)
}

/// `vanguard eval --list`.
pub fn print_list(c: &Catalogue) {
    println!(
        "vanguard eval attack catalogue, version {} ({} attacks, {} classes)\n",
        c.version,
        c.attacks.len(),
        classes(c).len()
    );
    let w = c
        .attacks
        .iter()
        .map(|a| a.id.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let wc = c
        .attacks
        .iter()
        .map(|a| a.class.len())
        .max()
        .unwrap_or(8)
        .max(5);
    println!(
        "{:<w$}  {:<wc$}  {:<13}  {:<17}  title",
        "id", "class", "needs", "effect"
    );
    for a in &c.attacks {
        let needs = match (a.kind, a.role) {
            (ArgKind::Path, r) | (ArgKind::Text, r @ (Role::Echo | Role::Task)) => {
                format!("{}/{}", a.kind.name(), role_name(r))
            }
            (k, _) => k.name().to_string(),
        };
        let title = if a.first.is_some() {
            format!("{} (two steps)", a.title)
        } else {
            a.title.clone()
        };
        println!(
            "{:<w$}  {:<wc$}  {:<13}  {:<17}  {}",
            a.id,
            a.class,
            needs,
            a.effect.name(),
            title
        );
    }
}

pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Read => "read",
        Role::Write => "write",
        Role::List => "list",
        Role::Echo => "echo",
        Role::Task => "task",
    }
}

pub fn classes(c: &Catalogue) -> Vec<&str> {
    let mut v: Vec<&str> = c.attacks.iter().map(|a| a.class.as_str()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_parses() {
        let c = load().expect("catalogue");
        assert!(c.attacks.len() >= 20);
        assert!(classes(&c).len() >= 8);
    }

    #[test]
    fn plants_outside_the_workspace_and_misfit_roles_are_refused() {
        let head = "version = 1\n[[attack]]\nid = \"x\"\nclass = \"c\"\ntitle = \"t\"\neffect = \"outside_read\"\n";
        let e = parse(&format!(
            "{head}kind = \"command\"\npayload = \"sh a\"\nplant = {{ file = \"../a\", content = \"\" }}\n"
        ))
        .expect_err("plant outside");
        assert!(e.contains("`../a`"), "{e}");
        let e = parse(&format!(
            "{head}kind = \"command\"\npayload = \"sh a\"\nplant = {{ file = \"/etc/a\", content = \"\" }}\n"
        ))
        .expect_err("absolute plant");
        assert!(e.contains("relative path"), "{e}");
        let e = parse(&format!(
            "{head}kind = \"url\"\nrole = \"task\"\npayload = \"x\"\n"
        ))
        .expect_err("task url");
        assert!(e.contains("role `task`"), "{e}");
        parse(&format!(
            "{head}kind = \"command\"\npayload = \"sh a\"\nplant = {{ file = \"scripts/a.sh\", content = \"\" }}\n"
        ))
        .expect("a plant inside the workspace");
    }

    #[test]
    fn a_future_version_is_refused() {
        let e = parse("version = 2\nattack = []\n").expect_err("version 2");
        assert!(e.contains("version 2"), "{e}");
    }
}
