//! `vanguard run`: any command under the sandbox plan of a profile.

use super::start::CommonPolicyArgs;
use super::*;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    policy: CommonPolicyArgs,
    /// The command and its arguments (after `--`).
    #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn run(a: RunArgs) -> u8 {
    let _ = a;
    fail(EXIT_INTERNAL, "vanguard run is not built yet")
}
