//! Recognising a launcher in a server command line. Pure: no I/O, so every
//! form is unit-tested.
//!
//! Package launchers stop reading their own options at the first positional
//! word (npm ≥ 7, uv, pipx, pnpm, yarn, bun all do): the words after it
//! belong to the server. An option this parser does not know is an error,
//! because guessing whether it takes a value would shift the package name.

use std::fmt;

/// A server command line, as vanguard understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// A package from the npm registry run by npx, `npm exec`, `pnpm dlx`,
    /// `yarn dlx` or bunx.
    Npm(NpmLaunch),
    /// A package from PyPI run by uvx, `uv tool run` or `pipx run`.
    Python(PyLaunch),
    /// A container runtime (`docker run`, `podman run`): vanguard inspects
    /// its messages, but its CLI talks to a daemon that no sandbox contains.
    Container { runtime: String },
    /// Any other program (a bin, an interpreter and its script, `python -m`).
    Program,
}

/// What version of a package was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionReq {
    /// Nothing: the registry's latest, once, then the pin.
    Latest,
    /// One exact version.
    Exact(String),
    /// A range or a dist-tag (`^1.2`, `>=1,<2`, `next`): resolved once, then the pin.
    Range(String),
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionReq::Latest => f.write_str("latest"),
            VersionReq::Exact(v) | VersionReq::Range(v) => f.write_str(v),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmLaunch {
    /// The launcher as typed (`npx`, `npm exec`, `pnpm dlx`, …).
    pub launcher: String,
    pub name: String,
    pub version: VersionReq,
    /// The bin to run when it is not the package's default (`-p PKG CMD`).
    pub bin: Option<String>,
    /// `--registry URL` given to the launcher.
    pub registry: Option<String>,
    /// The server's own arguments.
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyLaunch {
    /// `uvx`, `uv tool run` or `pipx run`.
    pub launcher: String,
    /// The installer the launcher uses.
    pub installer: PyInstaller,
    /// The PyPI name as typed (normalised with [`normalize_py_name`] for keys).
    pub name: String,
    pub extras: Vec<String>,
    pub version: VersionReq,
    /// The console script to run (default: the package name).
    pub command: Option<String>,
    /// Extra requirements (`--with`).
    pub with: Vec<String>,
    /// `--python`: the interpreter request.
    pub python: Option<String>,
    /// Index options passed on to the resolver (`--index-url U`, …), as words.
    pub index_args: Vec<String>,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyInstaller {
    Uv,
    Pip,
}

/// Why a command line could not be taken apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{launcher}: {message}")]
pub struct ParseError {
    pub launcher: String,
    pub message: String,
}

fn err(launcher: &str, message: impl Into<String>) -> ParseError {
    ParseError {
        launcher: launcher.to_string(),
        message: message.into(),
    }
}

/// Recognises the launcher of `argv` (argv[0] by its file name).
pub fn parse(argv: &[String]) -> Result<Launch, ParseError> {
    let Some(first) = argv.first() else {
        return Ok(Launch::Program);
    };
    let program = first.rsplit('/').next().unwrap_or(first);
    let rest = argv.get(1..).unwrap_or_default();
    // The subcommand word and the words after it.
    let sub = rest
        .split_first()
        .map(|(word, after)| (word.as_str(), after));
    match program {
        "npx" => npm_like("npx", rest, NPX_OPTIONS),
        "npm" => match sub {
            Some(("exec" | "x", after)) => npm_like("npm exec", after, NPX_OPTIONS),
            _ => Ok(Launch::Program),
        },
        "pnpx" => npm_like("pnpx", rest, PNPM_OPTIONS),
        "pnpm" => pnpm(rest),
        "yarn" => match sub {
            Some(("dlx", after)) => npm_like("yarn dlx", after, YARN_OPTIONS),
            _ => Ok(Launch::Program),
        },
        "bunx" => npm_like("bunx", rest, BUNX_OPTIONS),
        "bun" => match sub {
            Some(("x", after)) => npm_like("bun x", after, BUNX_OPTIONS),
            _ => Ok(Launch::Program),
        },
        "uvx" => python_like("uvx", PyInstaller::Uv, rest, UV_OPTIONS),
        "uv" => match rest {
            [tool, run, after @ ..] if tool == "tool" && run == "run" => {
                python_like("uv tool run", PyInstaller::Uv, after, UV_OPTIONS)
            }
            _ => Ok(Launch::Program),
        },
        "pipx" => match sub {
            Some(("run", after)) => python_like("pipx run", PyInstaller::Pip, after, PIPX_OPTIONS),
            _ => Ok(Launch::Program),
        },
        "docker" | "podman" | "nerdctl" => Ok(Launch::Container {
            runtime: program.to_string(),
        }),
        _ => Ok(Launch::Program),
    }
}

/// How an option of a launcher is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    /// A switch.
    Flag,
    /// Takes a value that vanguard ignores.
    Value,
    /// `-p/--package PKG`: the package; the first positional is then the command.
    Package,
    /// `--registry URL`.
    Registry,
    /// Runs a shell command line instead of a package bin.
    Shell,
    /// uv/pipx: `--from SPEC` / `--spec SPEC`.
    From,
    /// uv: `--with REQ`.
    With,
    /// `--python VERSION`.
    Python,
    /// An index option passed on to the resolver, with its value.
    Index,
    /// An index switch passed on to the resolver.
    IndexFlag,
}

type Table = &'static [(&'static str, Opt)];

/// The options read from a command line, each with its value.
type ReadOptions = Vec<(Opt, Option<String>)>;

const NPX_OPTIONS: Table = &[
    ("-y", Opt::Flag),
    ("--yes", Opt::Flag),
    ("--no", Opt::Flag),
    ("--no-install", Opt::Flag),
    ("-q", Opt::Flag),
    ("--quiet", Opt::Flag),
    ("--silent", Opt::Flag),
    ("--ignore-existing", Opt::Flag),
    ("--prefer-offline", Opt::Flag),
    ("--prefer-online", Opt::Flag),
    ("--offline", Opt::Flag),
    ("--no-update-notifier", Opt::Flag),
    ("-p", Opt::Package),
    ("--package", Opt::Package),
    ("--registry", Opt::Registry),
    ("-c", Opt::Shell),
    ("--call", Opt::Shell),
    ("--cache", Opt::Value),
    ("--userconfig", Opt::Value),
    ("--loglevel", Opt::Value),
    ("--node-options", Opt::Value),
];

const PNPM_OPTIONS: Table = &[
    ("--package", Opt::Package),
    ("-s", Opt::Flag),
    ("--silent", Opt::Flag),
    ("--reporter", Opt::Value),
    ("--allow-build", Opt::Value),
    ("--registry", Opt::Registry),
    ("-c", Opt::Shell),
    ("--shell-mode", Opt::Shell),
];

const YARN_OPTIONS: Table = &[
    ("-p", Opt::Package),
    ("--package", Opt::Package),
    ("-q", Opt::Flag),
    ("--quiet", Opt::Flag),
];

const BUNX_OPTIONS: Table = &[
    ("--bun", Opt::Flag),
    ("--no-install", Opt::Flag),
    ("--silent", Opt::Flag),
    ("--verbose", Opt::Flag),
    ("-p", Opt::Package),
    ("--package", Opt::Package),
];

const UV_OPTIONS: Table = &[
    ("--from", Opt::From),
    ("--with", Opt::With),
    ("-w", Opt::With),
    ("--python", Opt::Python),
    ("-p", Opt::Python),
    ("--index", Opt::Index),
    ("--default-index", Opt::Index),
    ("--index-url", Opt::Index),
    ("-i", Opt::Index),
    ("--extra-index-url", Opt::Index),
    ("--find-links", Opt::Index),
    ("-f", Opt::Index),
    ("--index-strategy", Opt::Index),
    ("--keyring-provider", Opt::Index),
    ("--prerelease", Opt::Index),
    ("--resolution", Opt::Index),
    ("--exclude-newer", Opt::Index),
    ("--no-index", Opt::IndexFlag),
    ("--cache-dir", Opt::Value),
    ("--python-preference", Opt::Value),
    ("--color", Opt::Value),
    ("--config-file", Opt::Value),
    ("--directory", Opt::Value),
    ("--env-file", Opt::Value),
    ("--isolated", Opt::Flag),
    ("--no-cache", Opt::Flag),
    ("-n", Opt::Flag),
    ("--offline", Opt::Flag),
    ("--refresh", Opt::Flag),
    ("--upgrade", Opt::Flag),
    ("-U", Opt::Flag),
    ("-q", Opt::Flag),
    ("--quiet", Opt::Flag),
    ("-v", Opt::Flag),
    ("--verbose", Opt::Flag),
    ("--native-tls", Opt::Flag),
    ("--no-progress", Opt::Flag),
    ("--no-config", Opt::Flag),
    ("--no-python-downloads", Opt::Flag),
    ("--no-env-file", Opt::Flag),
];

const PIPX_OPTIONS: Table = &[
    ("--spec", Opt::From),
    ("--python", Opt::Python),
    ("--index-url", Opt::Index),
    ("-i", Opt::Index),
    ("--pip-args", Opt::Value),
    ("--no-cache", Opt::Flag),
    ("--path", Opt::Flag),
    ("--pypackages", Opt::Flag),
    ("--system-site-packages", Opt::Flag),
    ("-q", Opt::Flag),
    ("--quiet", Opt::Flag),
    ("-v", Opt::Flag),
    ("--verbose", Opt::Flag),
];

/// Splits the launcher's own options from the server's words. Returns the
/// options read (with their values) and the index of the first positional.
fn read_options(
    launcher: &str,
    words: &[String],
    table: Table,
) -> Result<(ReadOptions, usize), ParseError> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        if word == "--" {
            return Ok((found, i + 1));
        }
        if !word.starts_with('-') || word == "-" {
            return Ok((found, i));
        }
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (word.as_str(), None),
        };
        let Some((_, kind)) = table.iter().find(|(n, _)| *n == name) else {
            return Err(err(
                launcher,
                format!("unknown option {name:?}: vanguard cannot tell whether it takes a value; put the package first or drop the option"),
            ));
        };
        let takes_value = !matches!(kind, Opt::Flag | Opt::IndexFlag);
        let value = if !takes_value {
            i += 1;
            None
        } else if let Some(v) = inline {
            i += 1;
            Some(v)
        } else {
            let v = words
                .get(i + 1)
                .ok_or_else(|| err(launcher, format!("option {name} needs a value")))?;
            i += 2;
            Some(v.clone())
        };
        if *kind == Opt::Index || *kind == Opt::IndexFlag {
            // Keep the option's own spelling for the resolver.
            found.push((*kind, Some(name.to_string())));
            if let Some(v) = value {
                found.push((Opt::Value, Some(v)));
            }
            continue;
        }
        found.push((*kind, value));
    }
    Ok((found, words.len()))
}

/// Only options (`npx --version`, `uvx --help`): the launcher itself runs,
/// no package.
fn no_package(words: &[String]) -> bool {
    words.iter().all(|w| w.starts_with('-') && w != "--")
}

fn npm_like(launcher: &str, words: &[String], table: Table) -> Result<Launch, ParseError> {
    if no_package(words) && words.iter().any(|w| w != "-y" && w != "--yes") {
        return Ok(Launch::Program);
    }
    let (opts, first) = read_options(launcher, words, table)?;
    if opts.iter().any(|(k, _)| *k == Opt::Shell) {
        return Err(err(
            launcher,
            "runs a shell command line (-c/--call), which vanguard cannot resolve to a package; name the package and its bin instead",
        ));
    }
    let packages: Vec<&String> = opts
        .iter()
        .filter(|(k, _)| *k == Opt::Package)
        .filter_map(|(_, v)| v.as_ref())
        .collect();
    let registry = opts
        .iter()
        .rev()
        .find(|(k, _)| *k == Opt::Registry)
        .and_then(|(_, v)| v.clone());
    let positional = words.get(first..).unwrap_or_default();
    let (spec, bin, args) = match packages.as_slice() {
        [] => {
            let spec = positional
                .first()
                .ok_or_else(|| err(launcher, "no package named"))?;
            (spec.as_str(), None, positional.get(1..).unwrap_or_default())
        }
        [one] => {
            let bin = positional
                .first()
                .ok_or_else(|| err(launcher, "--package given but no command to run"))?;
            (
                one.as_str(),
                Some(bin.clone()),
                positional.get(1..).unwrap_or_default(),
            )
        }
        _ => {
            return Err(err(
                launcher,
                "more than one --package: vanguard pins one package per server",
            ))
        }
    };
    let (name, version) = npm_spec(spec).map_err(|m| err(launcher, m))?;
    Ok(Launch::Npm(NpmLaunch {
        launcher: launcher.to_string(),
        name,
        version,
        bin,
        registry,
        args: args.to_vec(),
    }))
}

fn pnpm(words: &[String]) -> Result<Launch, ParseError> {
    // Options may come before `dlx` (`pnpm --package=x dlx cmd`).
    let mut halves = words.splitn(2, |w| w == "dlx");
    let (Some(before), Some(after)) = (halves.next(), halves.next()) else {
        return Ok(Launch::Program);
    };
    // Only options before `dlx`: a bare `-` or `--` there is a positional
    // word (or the end of options), so `dlx` is not pnpm's subcommand.
    if before
        .iter()
        .any(|w| !w.starts_with('-') || w == "-" || w == "--")
    {
        return Ok(Launch::Program);
    }
    let mut joined: Vec<String> = before.to_vec();
    joined.extend_from_slice(after);
    npm_like("pnpm dlx", &joined, PNPM_OPTIONS)
}

/// `name`, `name@1.2.3`, `@scope/name@^1`, `name@latest`.
pub fn npm_spec(spec: &str) -> Result<(String, VersionReq), String> {
    let (name, version) = match spec.strip_prefix('@') {
        Some(scoped) => match scoped.split_once('@') {
            Some((n, v)) => (format!("@{n}"), Some(v)),
            None => (spec.to_string(), None),
        },
        None => match spec.split_once('@') {
            Some((n, v)) => (n.to_string(), Some(v)),
            None => (spec.to_string(), None),
        },
    };
    if !valid_npm_name(&name) {
        return Err(format!(
            "{spec:?} is not a registry package name (git URLs, tarballs, local paths and aliases cannot be pinned; install it and run its bin, or name a registry package)"
        ));
    }
    let version = match version {
        None | Some("") | Some("latest") => VersionReq::Latest,
        Some(v) if is_exact_semver(v) => {
            VersionReq::Exact(v.trim_start_matches(['v', '=']).to_string())
        }
        Some(v) if v.bytes().all(|b| b.is_ascii_graphic() || b == b' ') => {
            VersionReq::Range(v.to_string())
        }
        Some(v) => return Err(format!("version {v:?} of {name} is not a version or range")),
    };
    Ok((name, version))
}

fn valid_npm_name(name: &str) -> bool {
    let part_ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && !p.starts_with('_')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    };
    if name.len() > 214 {
        return false;
    }
    match name.strip_prefix('@') {
        Some(scoped) => match scoped.split_once('/') {
            Some((scope, pkg)) => part_ok(scope) && part_ok(pkg),
            None => false,
        },
        None => part_ok(name),
    }
}

/// `1.2.3`, `v1.2.3`, `1.2.3-rc.1+build`.
pub fn is_exact_semver(v: &str) -> bool {
    let v = v.trim_start_matches(['v', '=']);
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let nums: Vec<&str> = core.split('.').collect();
    nums.len() == 3
        && nums
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.+".contains(&b))
}

fn python_like(
    launcher: &str,
    installer: PyInstaller,
    words: &[String],
    table: Table,
) -> Result<Launch, ParseError> {
    if no_package(words) && !words.is_empty() {
        return Ok(Launch::Program);
    }
    let (opts, first) = read_options(launcher, words, table)?;
    let mut from = None;
    let mut with = Vec::new();
    let mut python = None;
    let mut index_args = Vec::new();
    let mut iter = opts.into_iter().peekable();
    while let Some((kind, value)) = iter.next() {
        match kind {
            Opt::From => from = value,
            Opt::With => with.extend(value.into_iter().flat_map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect::<Vec<_>>()
            })),
            Opt::Python => python = value,
            Opt::Index => {
                index_args.extend(value);
                if let Some((Opt::Value, v)) = iter.peek() {
                    index_args.extend(v.clone());
                    iter.next();
                }
            }
            Opt::IndexFlag => index_args.extend(value),
            _ => {}
        }
    }
    let positional = words.get(first..).unwrap_or_default();
    let head = positional
        .first()
        .ok_or_else(|| err(launcher, "no package or command named"))?;
    let (spec, command) = match &from {
        Some(f) => (f.as_str(), Some(head.clone())),
        None => (head.as_str(), None),
    };
    let (name, extras, version) = py_spec(spec).map_err(|m| err(launcher, m))?;
    for w in &with {
        py_spec(w).map_err(|m| err(launcher, format!("--with {w:?}: {m}")))?;
    }
    Ok(Launch::Python(PyLaunch {
        launcher: launcher.to_string(),
        installer,
        name,
        extras,
        version,
        command,
        with,
        python,
        index_args,
        args: positional.get(1..).unwrap_or_default().to_vec(),
    }))
}

/// `name`, `name==1.2`, `name@1.2`, `name@latest`, `name[extra]>=1,<2`.
pub fn py_spec(spec: &str) -> Result<(String, Vec<String>, VersionReq), String> {
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(format!(
            "{spec:?} is not a PyPI requirement (URLs, paths and git sources cannot be pinned)"
        ));
    }
    let mut rest = &spec[end..];
    let mut extras = Vec::new();
    if let Some(after) = rest.strip_prefix('[') {
        let close = after
            .find(']')
            .ok_or_else(|| format!("{spec:?}: unclosed extras"))?;
        extras = after[..close]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        rest = &after[close + 1..];
    }
    let rest = rest.trim();
    let version = if rest.is_empty() || rest == "@latest" {
        VersionReq::Latest
    } else if let Some(v) = rest.strip_prefix('@').or_else(|| rest.strip_prefix("==")) {
        if v.contains(['*', ',', '<', '>', '=', '!', '~', ' ', ';', '@', '/']) || v.is_empty() {
            return Err(format!("{spec:?}: {v:?} is not one version"));
        }
        VersionReq::Exact(v.to_string())
    } else if rest.starts_with(['<', '>', '~', '!', '=']) && !rest.contains(['@', '/', ';']) {
        VersionReq::Range(rest.to_string())
    } else {
        return Err(format!(
            "{spec:?} is not a PyPI requirement (URLs, paths and git sources cannot be pinned)"
        ));
    };
    Ok((name.to_string(), extras, version))
}

/// PEP 503 normalisation: lower case, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_py_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnpm_dlx_after_a_bare_dash_is_no_launch() {
        // Found by fuzzing: the package came from before `dlx`.
        let argv: Vec<String> = ["pnpm", "-", "-", "dlx", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(
            matches!(parse(&argv), Ok(Launch::Program)),
            "{:?}",
            parse(&argv)
        );
    }

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn npm(s: &str) -> NpmLaunch {
        match parse(&argv(s)) {
            Ok(Launch::Npm(n)) => n,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn py(s: &str) -> PyLaunch {
        match parse(&argv(s)) {
            Ok(Launch::Python(p)) => p,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn npx_forms() {
        let n = npm("npx -y @modelcontextprotocol/server-filesystem /data /more");
        assert_eq!(n.name, "@modelcontextprotocol/server-filesystem");
        assert_eq!(n.version, VersionReq::Latest);
        assert_eq!(n.args, argv("/data /more"));
        assert_eq!(n.bin, None);

        let n = npm("npx --yes @scope/pkg@1.2.3 --flag");
        assert_eq!(n.version, VersionReq::Exact("1.2.3".into()));
        assert_eq!(n.args, argv("--flag"));

        let n = npm("npx -y pkg@^2.0");
        assert_eq!(n.version, VersionReq::Range("^2.0".into()));

        let n = npm("npx -y pkg@latest");
        assert_eq!(n.version, VersionReq::Latest);

        let n = npm("npx -p @scope/pkg@1.0.0 its-bin --x");
        assert_eq!(n.name, "@scope/pkg");
        assert_eq!(n.bin.as_deref(), Some("its-bin"));
        assert_eq!(n.args, argv("--x"));

        let n = npm("npx --package=pkg -- cmd a");
        assert_eq!(n.bin.as_deref(), Some("cmd"));
        assert_eq!(n.args, argv("a"));

        let n = npm("/usr/bin/npx --registry https://r.example/ -y pkg");
        assert_eq!(n.registry.as_deref(), Some("https://r.example/"));
    }

    #[test]
    fn other_npm_launchers() {
        assert_eq!(npm("npm exec -y -- pkg@1.0.0 a").args, argv("a"));
        assert_eq!(npm("npm x pkg").name, "pkg");
        assert_eq!(npm("pnpm dlx pkg a").name, "pkg");
        let n = npm("pnpm --package=pkg dlx cmd a");
        assert_eq!((n.name.as_str(), n.bin.as_deref()), ("pkg", Some("cmd")));
        assert_eq!(npm("pnpx pkg").name, "pkg");
        assert_eq!(npm("yarn dlx -p pkg cmd").bin.as_deref(), Some("cmd"));
        assert_eq!(
            npm("bunx --bun pkg@1.0.0").version,
            VersionReq::Exact("1.0.0".into())
        );
        assert_eq!(npm("bun x pkg").launcher, "bun x");
        assert_eq!(parse(&argv("npm start")), Ok(Launch::Program));
        assert_eq!(parse(&argv("npx --version")), Ok(Launch::Program));
        assert_eq!(parse(&argv("uvx --help")), Ok(Launch::Program));
        assert_eq!(parse(&argv("yarn start")), Ok(Launch::Program));
        assert_eq!(parse(&argv("pnpm install")), Ok(Launch::Program));
    }

    #[test]
    fn npm_refusals_name_the_problem() {
        for bad in [
            "npx -c 'echo hi'",
            "npx --frobnicate pkg",
            "npx -y github:user/repo",
            "npx -y ./local/dir",
            "npx -y https://example.org/pkg.tgz",
            "npx -p a -p b cmd",
            "npx -y",
            "npx --package pkg",
        ] {
            assert!(parse(&argv(bad)).is_err(), "{bad}");
        }
        let e = parse(&argv("npx --frobnicate pkg")).unwrap_err();
        assert!(e.to_string().contains("--frobnicate"), "{e}");
    }

    #[test]
    fn uvx_forms() {
        let p = py("uvx mcp-server-fetch");
        assert_eq!(p.name, "mcp-server-fetch");
        assert_eq!(p.version, VersionReq::Latest);
        assert_eq!(p.installer, PyInstaller::Uv);

        let p = py("uvx mcp-server-git --repository /r");
        assert_eq!(p.args, argv("--repository /r"));

        let p = py("uvx mcp-server-time==2026.10.19");
        assert_eq!(p.version, VersionReq::Exact("2026.10.19".into()));
        let p = py("uvx mcp-server-time@2026.10.19 --local-timezone UTC");
        assert_eq!(p.version, VersionReq::Exact("2026.10.19".into()));
        assert_eq!(p.args, argv("--local-timezone UTC"));
        assert_eq!(py("uvx pkg@latest").version, VersionReq::Latest);

        let p = py("uvx --from mcp-server-fetch>=2025 mcp-server-fetch --ignore-robots-txt");
        assert_eq!(p.command.as_deref(), Some("mcp-server-fetch"));
        assert_eq!(p.version, VersionReq::Range(">=2025".into()));

        let p = py("uvx --python 3.12 --with httpx,rich --with=anyio pkg[cli]");
        assert_eq!(p.python.as_deref(), Some("3.12"));
        assert_eq!(p.with, argv("httpx rich anyio"));
        assert_eq!(p.extras, vec!["cli".to_string()]);

        let p = py("uv tool run --index-url https://pypi.example/simple pkg");
        assert_eq!(p.launcher, "uv tool run");
        assert_eq!(
            p.index_args,
            argv("--index-url https://pypi.example/simple")
        );

        let p = py("pipx run --spec pkg==1.0 cmd a");
        assert_eq!(p.installer, PyInstaller::Pip);
        assert_eq!(p.command.as_deref(), Some("cmd"));
        assert_eq!(p.version, VersionReq::Exact("1.0".into()));
        assert_eq!(parse(&argv("uv run server.py")), Ok(Launch::Program));
        assert_eq!(parse(&argv("pipx install x")), Ok(Launch::Program));
    }

    #[test]
    fn py_refusals() {
        for bad in [
            "uvx git+https://github.com/x/y",
            "uvx ./local",
            "uvx --bogus pkg",
            "uvx",
            "uvx pkg==1.*",
        ] {
            assert!(parse(&argv(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn containers_and_programs() {
        assert_eq!(
            parse(&argv("docker run -i --rm mcp/fetch")),
            Ok(Launch::Container {
                runtime: "docker".into()
            })
        );
        assert!(matches!(
            parse(&argv("/usr/bin/podman run -i x")),
            Ok(Launch::Container { .. })
        ));
        assert_eq!(parse(&argv("node dist/index.js")), Ok(Launch::Program));
        assert_eq!(
            parse(&argv("python -m mcp_server_time")),
            Ok(Launch::Program)
        );
        assert_eq!(
            parse(&argv("mcp-server-filesystem /d")),
            Ok(Launch::Program)
        );
    }

    #[test]
    fn names_and_versions() {
        assert!(is_exact_semver("1.2.3"));
        assert!(is_exact_semver("v1.2.3-rc.1+b.2"));
        assert!(is_exact_semver("2026.8.31"));
        assert!(!is_exact_semver("1.2"));
        assert!(!is_exact_semver("^1.2.3"));
        assert!(!is_exact_semver("1.x.3"));
        assert_eq!(normalize_py_name("Mcp_Server.Fetch"), "mcp-server-fetch");
        assert_eq!(normalize_py_name("a--b"), "a-b");
        assert!(npm_spec("@s/p").is_ok());
        assert!(npm_spec("@s").is_err());
        assert!(npm_spec("../x").is_err());
    }
}
