//! Profiles shipped inside the binary, so `--profile balanced` works from
//! any directory and a newcomer needs nothing but the executable.

pub const PROFILES: &[(&str, &str)] = &[
    ("balanced", include_str!("../../profiles/balanced.toml")),
    ("monitor", include_str!("../../profiles/monitor.toml")),
    ("strict", include_str!("../../profiles/strict.toml")),
    (
        "everything",
        include_str!("../../profiles/servers/everything.toml"),
    ),
    ("fetch", include_str!("../../profiles/servers/fetch.toml")),
    (
        "filesystem",
        include_str!("../../profiles/servers/filesystem.toml"),
    ),
    ("git", include_str!("../../profiles/servers/git.toml")),
    ("memory", include_str!("../../profiles/servers/memory.toml")),
    ("time", include_str!("../../profiles/servers/time.toml")),
];

/// The built-in profile of that name, with the label used in error messages.
pub fn get(name: &str) -> Option<(String, &'static str)> {
    let name = name.strip_prefix("servers/").unwrap_or(name);
    PROFILES.iter().find(|(n, _)| *n == name).map(|(n, text)| {
        let label = if ["balanced", "monitor", "strict"].contains(n) {
            format!("profiles/{n}.toml (built in)")
        } else {
            format!("profiles/servers/{n}.toml (built in)")
        };
        (label, *text)
    })
}
