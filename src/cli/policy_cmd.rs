//! `vanguard policy check|explain`.

use super::start::{load_policy, CommonPolicyArgs};
use super::*;
use crate::inspect::Inspector;
use crate::policy::Overrides;

// Parsed once per process; boxing the flattened arguments would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum PolicyCmd {
    /// Validate a profile file (and its `extends` chain); exit 0 when valid, 2 otherwise.
    Check {
        /// Profile path or built-in name.
        file: String,
    },
    /// Print the effective zones, rules, sandbox plan and limits.
    Explain {
        #[command(flatten)]
        policy: CommonPolicyArgs,
        /// The server command the plan is for (default: the profile's).
        #[arg(long)]
        server: Option<String>,
    },
}

pub fn run(cmd: PolicyCmd) -> u8 {
    match cmd {
        PolicyCmd::Check { file } => {
            let p = match load_policy(&file, &Overrides::default()) {
                Ok(p) => p,
                Err(code) => return code,
            };
            if let Err(e) = Inspector::new(&p) {
                return fail(EXIT_CONFIG, format!("{file}: {e}"));
            }
            println!(
                "{file}: ok ({} rules, built from {})",
                p.rules.len(),
                p.sources.join(" → ")
            );
            EXIT_OK
        }
        PolicyCmd::Explain { policy, server } => {
            let p = match load_policy(&policy.profile, &policy.overrides()) {
                Ok(p) => p,
                Err(code) => return code,
            };
            print!("{}", crate::policy::explain::explain(&p));
            let argv = match server.as_deref() {
                Some(_) => super::start::server_argv(server.as_deref(), &p).ok(),
                None => p.server.command.clone(),
            };
            match argv {
                Some(argv) => {
                    let resolved = match super::start::resolve_server(
                        &p,
                        &argv,
                        policy.cache_dir.as_deref(),
                        crate::launch::Reach::Describe,
                        false,
                    ) {
                        Ok(r) => r,
                        Err(code) => return code,
                    };
                    if !resolved.explain.is_empty() {
                        println!("\nserver command `{}`:", argv.join(" "));
                        for line in &resolved.explain {
                            println!("  {line}");
                        }
                    }
                    match super::start::plan_for(&p, &resolved) {
                        Ok(plan) => println!(
                            "\nkernel sandbox plan for `{}`:\n{}",
                            resolved.argv.join(" "),
                            plan.explain()
                        ),
                        Err(e) => println!("\nkernel sandbox plan: cannot be built: {e}"),
                    }
                }
                None => println!(
                    "\nkernel sandbox plan: pass --server \"CMD\" to see the plan for a command"
                ),
            }
            EXIT_OK
        }
    }
}
