//! `vanguard fetch`: install and pin a server's package ahead of time, so a
//! later `start` needs no network (offline machines, container images).

use super::start::{load_policy, resolve_server, server_argv, CommonPolicyArgs};
use super::*;

#[derive(clap::Args, Debug)]
pub struct FetchArgs {
    /// The server command line, e.g. "npx -y @modelcontextprotocol/server-filesystem /data"
    /// (default: the profile's `[server] command`).
    #[arg(long)]
    server: Option<String>,
    #[command(flatten)]
    policy: CommonPolicyArgs,
    /// Ask the registry again: a version newer than the pin is installed and
    /// becomes pending (accept it with `vanguard pin approve`).
    #[arg(long)]
    update: bool,
}

pub fn run(a: FetchArgs) -> u8 {
    let policy = match load_policy(&a.policy.profile, &a.policy.overrides()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let argv = match server_argv(a.server.as_deref(), &policy) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let resolved = match resolve_server(
        &policy,
        &argv,
        a.policy.cache_dir.as_deref(),
        crate::launch::Reach::Install,
        a.update,
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    for line in &resolved.explain {
        println!("{line}");
    }
    match &resolved.package {
        Some(p) => println!(
            "ready: {} {} in {} (tree sha256 {})",
            p.key,
            p.version,
            p.tree.display(),
            p.tree_sha256
        ),
        None => println!(
            "nothing to fetch: `{}` is not a package launcher",
            argv.join(" ")
        ),
    }
    EXIT_OK
}
