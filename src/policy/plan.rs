//! Compiling a policy into the kernel sandbox plan: the same zones the
//! inspector checks become the server's Landlock rules.

use super::*;
use crate::sandbox::{self, Plan, PlanInput, ResourceLimits};

pub fn sandbox_plan(p: &Policy, argv: &[String]) -> Result<Plan, String> {
    let net = match p.network.mode {
        NetMode::None => sandbox::NetMode::None,
        NetMode::Host => sandbox::NetMode::Host,
        NetMode::Allowlist => {
            return Err("network mode \"allowlist\" needs the egress proxy, which this build does not have yet; use \"none\" or \"host\"".into())
        }
    };
    let level = match p.sandbox.level {
        SandboxLevel::Enforce => sandbox::Level::Enforce,
        SandboxLevel::BestEffort => sandbox::Level::BestEffort,
        SandboxLevel::Off => sandbox::Level::Off,
    };
    let mut limits = ResourceLimits::default();
    if let Some(n) = p.sandbox.max_open_files {
        limits.nofile = Some(n);
    }
    if let Some(n) = p.sandbox.max_processes {
        limits.nproc = Some(n);
    }
    limits.address_space = p.sandbox.max_address_space_mb.map(|m| m << 20);
    limits.file_size = p.sandbox.max_file_size_mb.map(|m| m << 20);
    limits.memory_max = p.sandbox.memory_max_mb.map(|m| m << 20);
    limits.pids_max = p.sandbox.pids_max;
    let input = PlanInput {
        command: argv.to_vec(),
        read: p.zones.read.clone(),
        write: p.zones.write.clone(),
        net,
        level,
        env_allow: p.server.env.clone(),
        env_set: p
            .server
            .env_set
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        cwd: Some(p.server.cwd.clone()),
        strict_seccomp: p.sandbox.strict_seccomp,
        limits,
    };
    Plan::build(input).map_err(|e| e.to_string())
}
