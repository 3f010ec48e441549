//! Where each MCP client keeps its server list, per operating system, and
//! how the list is spelled inside the file.

use std::path::{Path, PathBuf};

/// An MCP client whose configuration `configure` can rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// Claude Desktop: `claude_desktop_config.json`, key `mcpServers`.
    ClaudeDesktop,
    /// Claude Code: `~/.claude.json` (user and per-project `mcpServers`) and a project's `.mcp.json`.
    ClaudeCode,
    /// VS Code: `mcp.json` in the user settings or `.vscode/`, key `servers`, JSON with comments.
    Vscode,
    /// Cursor: `~/.cursor/mcp.json` or a project's `.cursor/mcp.json`, key `mcpServers`.
    Cursor,
    /// OpenAI Codex CLI: `~/.codex/config.toml`, tables `[mcp_servers.NAME]`.
    Codex,
}

pub const ALL: [Client; 5] = [
    Client::ClaudeDesktop,
    Client::ClaudeCode,
    Client::Vscode,
    Client::Cursor,
    Client::Codex,
];

/// The operating systems whose configuration paths are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    Mac,
    Windows,
}

/// The outside facts path resolution depends on.
pub struct Dirs {
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME` (Linux), when set to an absolute path.
    pub xdg_config: Option<PathBuf>,
    /// `%APPDATA%` (Windows).
    pub appdata: Option<PathBuf>,
    /// `$CODEX_HOME`, which moves Codex's whole directory.
    pub codex_home: Option<PathBuf>,
}

impl Dirs {
    pub fn from_env() -> Dirs {
        let abs = |v: &str| {
            std::env::var_os(v)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        Dirs {
            home: abs("HOME").unwrap_or_else(|| PathBuf::from("/")),
            xdg_config: abs("XDG_CONFIG_HOME"),
            appdata: abs("APPDATA"),
            codex_home: abs("CODEX_HOME"),
        }
    }

    fn config_home(&self) -> PathBuf {
        self.xdg_config
            .clone()
            .unwrap_or_else(|| self.home.join(".config"))
    }

    fn appdata(&self) -> PathBuf {
        self.appdata
            .clone()
            .unwrap_or_else(|| self.home.join("AppData").join("Roaming"))
    }
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "claude-desktop",
            Client::ClaudeCode => "claude-code",
            Client::Vscode => "vscode",
            Client::Cursor => "cursor",
            Client::Codex => "codex",
        }
    }

    pub fn is_toml(self) -> bool {
        self == Client::Codex
    }

    /// The user-scope configuration file on `os`.
    pub fn user_path(self, os: Os, d: &Dirs) -> PathBuf {
        let app_support = d.home.join("Library").join("Application Support");
        match (self, os) {
            (Client::ClaudeDesktop, Os::Linux) => {
                d.config_home().join("Claude/claude_desktop_config.json")
            }
            (Client::ClaudeDesktop, Os::Mac) => {
                app_support.join("Claude/claude_desktop_config.json")
            }
            (Client::ClaudeDesktop, Os::Windows) => d
                .appdata()
                .join("Claude")
                .join("claude_desktop_config.json"),
            (Client::ClaudeCode, _) => d.home.join(".claude.json"),
            (Client::Vscode, Os::Linux) => d.config_home().join("Code/User/mcp.json"),
            (Client::Vscode, Os::Mac) => app_support.join("Code/User/mcp.json"),
            (Client::Vscode, Os::Windows) => d.appdata().join("Code").join("User").join("mcp.json"),
            (Client::Cursor, _) => d.home.join(".cursor").join("mcp.json"),
            (Client::Codex, _) => d
                .codex_home
                .clone()
                .unwrap_or_else(|| d.home.join(".codex"))
                .join("config.toml"),
        }
    }

    /// The project-scope file inside `project`, for clients that have one.
    pub fn project_path(self, project: &Path) -> Option<PathBuf> {
        match self {
            Client::ClaudeCode => Some(project.join(".mcp.json")),
            Client::Vscode => Some(project.join(".vscode/mcp.json")),
            Client::Cursor => Some(project.join(".cursor/mcp.json")),
            Client::ClaudeDesktop | Client::Codex => None,
        }
    }

    /// The key paths of the server lists inside a file of this client. For
    /// Claude Code's `~/.claude.json`, one per project as well.
    pub fn containers(self, project_keys: &[String]) -> Vec<Vec<String>> {
        match self {
            Client::Vscode => vec![vec!["servers".to_string()]],
            Client::Codex => vec![vec!["mcp_servers".to_string()]],
            Client::ClaudeCode => {
                let mut c = vec![vec!["mcpServers".to_string()]];
                c.extend(
                    project_keys
                        .iter()
                        .map(|p| vec!["projects".to_string(), p.clone(), "mcpServers".to_string()]),
                );
                c
            }
            Client::ClaudeDesktop | Client::Cursor => vec![vec!["mcpServers".to_string()]],
        }
    }

    /// The client a file belongs to, judged by its name (for `--config`).
    pub fn guess(path: &Path) -> Option<Client> {
        let text = path.to_string_lossy();
        let name = path.file_name()?.to_string_lossy();
        Some(if name.ends_with(".toml") {
            Client::Codex
        } else if name == "claude_desktop_config.json" {
            Client::ClaudeDesktop
        } else if name == ".claude.json" || name == ".mcp.json" {
            Client::ClaudeCode
        } else if text.contains(".vscode") || text.contains("Code/User") {
            Client::Vscode
        } else if text.contains(".cursor") {
            Client::Cursor
        } else {
            return None;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> Dirs {
        Dirs {
            home: PathBuf::from("/home/u"),
            xdg_config: None,
            appdata: Some(PathBuf::from("C:/Users/u/AppData/Roaming")),
            codex_home: None,
        }
    }

    #[test]
    fn paths_per_os() {
        let d = dirs();
        let p = |c: Client, os| c.user_path(os, &d).to_string_lossy().into_owned();
        assert_eq!(
            p(Client::ClaudeDesktop, Os::Linux),
            "/home/u/.config/Claude/claude_desktop_config.json"
        );
        assert_eq!(
            p(Client::ClaudeDesktop, Os::Mac),
            "/home/u/Library/Application Support/Claude/claude_desktop_config.json"
        );
        assert!(p(Client::ClaudeDesktop, Os::Windows).starts_with("C:/Users/u/AppData/Roaming"));
        assert_eq!(
            p(Client::Vscode, Os::Linux),
            "/home/u/.config/Code/User/mcp.json"
        );
        assert_eq!(p(Client::ClaudeCode, Os::Mac), "/home/u/.claude.json");
        assert_eq!(p(Client::Cursor, Os::Windows), "/home/u/.cursor/mcp.json");
        assert_eq!(p(Client::Codex, Os::Linux), "/home/u/.codex/config.toml");
        let xdg = Dirs {
            xdg_config: Some(PathBuf::from("/x")),
            ..dirs()
        };
        assert_eq!(
            Client::Vscode.user_path(Os::Linux, &xdg),
            PathBuf::from("/x/Code/User/mcp.json")
        );
    }

    #[test]
    fn files_are_recognised_by_name() {
        assert_eq!(
            Client::guess(Path::new("/p/.vscode/mcp.json")),
            Some(Client::Vscode)
        );
        assert_eq!(
            Client::guess(Path::new("/h/.codex/config.toml")),
            Some(Client::Codex)
        );
        assert_eq!(
            Client::guess(Path::new("/h/.claude.json")),
            Some(Client::ClaudeCode)
        );
        assert_eq!(Client::guess(Path::new("/h/servers.json")), None);
    }
}
