//! Compiling a policy into the kernel sandbox plan: the same zones the
//! inspector checks become the server's Landlock rules, and the same
//! network allow-list the inspector checks URLs against drives the egress
//! proxy ([`egress_config`]).

use crate::policy::{NetMode, Policy, SandboxLevel};
use crate::sandbox::egress::{Budgets, EgressConfig};
use crate::sandbox::{self, Plan, PlanInput, ResourceLimits};

/// The plan for `argv` under `p`. `grants` are read grants a launcher
/// resolved (the package tree); `unsandboxable` says why the command cannot
/// be sandboxed at all (a container launcher): `enforce` refuses it, the
/// other levels run it without a sandbox.
pub fn sandbox_plan(
    p: &Policy,
    argv: &[String],
    grants: &[sandbox::BaselineEntry],
    unsandboxable: Option<&str>,
    env_defaults: &[(String, String)],
) -> Result<Plan, String> {
    let mut level = p.sandbox.level;
    if let Some(why) = unsandboxable {
        if level == SandboxLevel::Enforce {
            return Err(format!(
                "sandbox level enforce refuses this server: {why} (use --sandbox best-effort to run it unsandboxed, with inspection only)"
            ));
        }
        level = SandboxLevel::Off;
    }
    let net = match p.network.mode {
        NetMode::None => sandbox::NetMode::None,
        NetMode::Host => sandbox::NetMode::Host,
        NetMode::Allowlist if level == SandboxLevel::Off && unsandboxable.is_none() => {
            return Err("network mode \"allowlist\" needs the sandbox (the server's own network namespace, whose only way out is the egress proxy); with --sandbox off the server would have the host's network".into())
        }
        NetMode::Allowlist if level == SandboxLevel::Off => sandbox::NetMode::Host,
        NetMode::Allowlist => sandbox::NetMode::Allowlist,
    };
    let forwards: Vec<u16> = match net {
        sandbox::NetMode::Allowlist => p
            .network
            .allow_list
            .loopback_destinations()
            .into_iter()
            .map(|(_, port)| port)
            .collect(),
        _ => Vec::new(),
    };
    if forwards.len() > crate::sandbox::egress::MAX_FORWARDS {
        return Err(format!(
            "the network allow-list names {} ports of the host's loopback; at most {} can be forwarded into the sandbox",
            forwards.len(),
            crate::sandbox::egress::MAX_FORWARDS
        ));
    }
    let level = match level {
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
        // The profile's own settings win over a launcher's defaults.
        env_set: env_defaults
            .iter()
            .filter(|(k, _)| !p.server.env_set.contains_key(k) && !p.server.env.contains(k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(
                p.server
                    .env_set
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cwd: Some(p.server.cwd.clone()),
        strict_seccomp: p.sandbox.strict_seccomp,
        limits,
        grants: grants.to_vec(),
        forwards,
        protected: p.zones.protected.clone(),
        exec_in_write: false,
    };
    Plan::build(input).map_err(|e| e.to_string())
}

/// The egress proxy's configuration, in network allow-list mode (`None` otherwise).
pub fn egress_config(p: &Policy) -> Result<Option<EgressConfig>, String> {
    if p.network.mode != NetMode::Allowlist {
        return Ok(None);
    }
    let mut config = EgressConfig::new(p.network.allow_list.clone());
    for (name, addr) in &p.network.resolve {
        let ip = addr
            .parse()
            .map_err(|_| format!("network.resolve: {name:?} = {addr:?}: not an IP address"))?;
        let name = match crate::canon::canonical_host(name) {
            crate::canon::HostView::Name(n) => n,
            crate::canon::HostView::Ip(_) => {
                return Err(format!(
                    "network.resolve: {name:?} is an address, not a name"
                ))
            }
        };
        config.resolve.insert(name, ip);
    }
    let d = Budgets::default();
    let positive = |field: &str, v: Option<u64>, default: u64| match v {
        Some(0) => Err(format!("network.{field} must be greater than 0")),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    config.budgets = Budgets {
        max_bytes_per_connection: positive(
            "max_bytes_per_connection",
            p.network.max_bytes_per_connection,
            d.max_bytes_per_connection,
        )?,
        max_bytes_per_session: positive(
            "max_bytes_per_session",
            p.network.max_bytes_per_session,
            d.max_bytes_per_session,
        )?,
        max_connection_time: std::time::Duration::from_secs(positive(
            "max_connection_secs",
            p.network.max_connection_secs,
            d.max_connection_time.as_secs(),
        )?),
    };
    Ok(Some(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{load, Overrides};

    fn policy(mode: NetMode, allow: &[&str]) -> Policy {
        let ov = Overrides {
            net: Some(mode),
            allow_hosts: allow.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        load("balanced", &ov).expect("balanced loads")
    }

    #[test]
    fn only_allowlist_mode_has_an_egress_proxy() {
        assert!(egress_config(&policy(NetMode::None, &[]))
            .expect("ok")
            .is_none());
        let c = egress_config(&policy(NetMode::Allowlist, &["api.example.org:443"]))
            .expect("ok")
            .expect("some");
        assert_eq!(c.allow.describe(), vec!["api.example.org:443"]);
        assert_eq!(c.budgets, Budgets::default());
    }

    #[test]
    fn resolver_overrides_must_be_addresses_for_names() {
        let mut p = policy(NetMode::Allowlist, &["api.example.org:443"]);
        p.network
            .resolve
            .insert("Test.Internal".into(), "127.0.0.1".into());
        let c = egress_config(&p).expect("ok").expect("some");
        assert_eq!(
            c.resolve.get("test.internal"),
            Some(&"127.0.0.1".parse().expect("ip"))
        );
        p.network
            .resolve
            .insert("x.test".into(), "not-an-ip".into());
        assert!(egress_config(&p).is_err());
    }

    #[test]
    fn zero_budgets_are_refused() {
        let mut p = policy(NetMode::Allowlist, &["api.example.org:443"]);
        p.network.max_connection_secs = Some(0);
        assert!(egress_config(&p)
            .unwrap_err()
            .contains("max_connection_secs"));
    }
}
