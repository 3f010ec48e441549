//! `vanguard doctor`: what this kernel supports and what a profile would enforce here.

use super::start::CommonPolicyArgs;
use super::*;

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    policy: CommonPolicyArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(a: DoctorArgs) -> u8 {
    let _ = a;
    fail(EXIT_INTERNAL, "vanguard doctor is not built yet")
}
