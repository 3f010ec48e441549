//! `${var}` expansion in profile strings.
//!
//! Variables: `${workspace}` (the `--workspace` directory, default the
//! current directory), `${cwd}`, `${home}`, `${tmp}`, `${state}` (the XDG
//! state directory) and `${env:NAME}`. An unknown or unset variable is an
//! error, never an empty string: an empty zone would silently mean `/`.

use std::path::PathBuf;

/// A `${…}` that cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("unterminated variable in {0:?}")]
    Unterminated(String),
    #[error("environment variable {0} (used as ${{env:{0}}}) is not set")]
    Unset(String),
    #[error("unknown variable ${{{0}}} (known: workspace, cwd, home, tmp, state, env:NAME)")]
    Unknown(String),
}

#[derive(Debug, Clone)]
pub struct Vars {
    pub workspace: PathBuf,
    pub cwd: PathBuf,
    pub home: PathBuf,
    pub tmp: PathBuf,
    pub state: PathBuf,
}

impl Vars {
    /// Variables from the process environment.
    pub fn from_env(workspace: Option<PathBuf>) -> Vars {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let state = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".local/state"));
        let tmp = std::env::var_os("TMPDIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let workspace = match workspace {
            Some(w) if w.is_absolute() => w,
            Some(w) => cwd.join(w),
            None => cwd.clone(),
        };
        Vars {
            workspace,
            cwd,
            home,
            tmp,
            state,
        }
    }

    /// Expands every `${...}` in `s`.
    pub fn expand(&self, s: &str) -> Result<String, VarError> {
        self.expand_with(s, |v| v)
    }

    /// Expands every `${...}` in a rule's regular expression: each value is
    /// a literal (regex-escaped) without a trailing `/`, so that
    /// `^${home}/\.bashrc$` also reads right for a home of `/`.
    pub fn expand_regex(&self, s: &str) -> Result<String, VarError> {
        self.expand_with(s, |v| {
            let v = v.trim_end_matches('/');
            regex_syntax::escape(v)
        })
    }

    fn expand_with(&self, s: &str, value: impl Fn(String) -> String) -> Result<String, VarError> {
        if !s.contains("${") {
            return Ok(s.to_string());
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| VarError::Unterminated(s.to_string()))?;
            let name = &after[..end];
            out.push_str(&value(self.lookup(name)?));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(&self, name: &str) -> Result<String, VarError> {
        let path = |p: &PathBuf| p.to_string_lossy().into_owned();
        match name {
            "workspace" => Ok(path(&self.workspace)),
            "cwd" => Ok(path(&self.cwd)),
            "home" => Ok(path(&self.home)),
            "tmp" => Ok(path(&self.tmp)),
            "state" => Ok(path(&self.state)),
            _ => match name.strip_prefix("env:") {
                Some(var) => std::env::var(var).map_err(|_| VarError::Unset(var.to_string())),
                None => Err(VarError::Unknown(name.to_string())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            workspace: "/w".into(),
            cwd: "/c".into(),
            home: "/h".into(),
            tmp: "/t".into(),
            state: "/s".into(),
        }
    }

    #[test]
    fn expands_known_and_rejects_unknown() {
        assert_eq!(vars().expand("${workspace}/out").as_deref(), Ok("/w/out"));
        assert_eq!(vars().expand("a${home}b${tmp}").as_deref(), Ok("a/hb/t"));
        let odd = Vars {
            home: "/srv/a+b (x)/".into(),
            ..vars()
        };
        assert_eq!(
            odd.expand_regex(r"^${home}/\.bashrc$").as_deref(),
            Ok(r"^/srv/a\+b \(x\)/\.bashrc$")
        );
        let root_home = Vars {
            home: "/".into(),
            ..vars()
        };
        assert_eq!(
            root_home.expand_regex(r"^${home}/\.profile$").as_deref(),
            Ok(r"^/\.profile$")
        );
        assert!(vars().expand_regex("${nope}").is_err());
        assert_eq!(
            vars().expand("${nope}"),
            Err(VarError::Unknown("nope".into()))
        );
        assert!(matches!(
            vars().expand("${workspace"),
            Err(VarError::Unterminated(_))
        ));
        let unset = vars()
            .expand("${env:VANGUARD_SURELY_UNSET_VAR}")
            .unwrap_err();
        assert!(unset.to_string().contains("is not set"), "{unset}");
    }
}
