//! `vanguard run`: any command under the sandbox plan of a profile.
//!
//! The profile's zones, network, sandbox level, environment allow-list and
//! limits are compiled into a [`Plan`](crate::sandbox::Plan) for the command,
//! which then runs with vanguard's own stdin, stdout and stderr. vanguard
//! stays in front of it only to forward signals and to pass its exit status
//! on: the command's code, or 128+N when signal N killed it (as a shell does).
//!
//! Waiting and forwarding share one `sigtimedwait` loop on the main thread
//! (SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked before the spawn, so none
//! is lost in between). The command is reaped only by that loop, so a
//! signal is forwarded while the command is alive or a zombie: its pid, which
//! is also its process group id, cannot have been reused by then.

use super::start::{load_policy, CommonPolicyArgs};
use super::*;
use crate::sandbox::{self, Enforcement, Level};
use crate::transport::child::ServerProcess;
use std::process::ExitStatus;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    policy: CommonPolicyArgs,
    /// The command and its arguments (after `--`).
    #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn run(a: RunArgs) -> u8 {
    // `run` never inspects a message: its rules are not compiled, and their
    // patterns are not parsed either (every other field is checked).
    let overrides = crate::policy::Overrides {
        rules: crate::policy::RuleCheck::SkipPatterns,
        ..a.policy.overrides()
    };
    let policy = match load_policy(&a.policy.profile, &overrides) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let name = a.command.first().cloned().unwrap_or_default();
    // The plan owns the private temp dir and the cgroup: it lives until the
    // command has been reaped, at the end of this function.
    let resolved = match super::start::resolve_server(
        &policy,
        &a.command,
        a.policy.cache_dir.as_deref(),
        crate::launch::Reach::Install,
        false,
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let plan = match super::start::plan_for(&policy, &resolved) {
        Ok(p) => p,
        Err(e) => return fail(EXIT_SPAWN, e),
    };
    let egress = match crate::sandbox::from_policy::egress_config(&policy) {
        Ok(e) => e,
        Err(e) => return fail(EXIT_CONFIG, format!("invalid configuration: {e}")),
    };
    let planned = plan.enforcement();
    if plan.level() == Level::Enforce && !planned.fully_enforced() {
        return fail(
            EXIT_SPAWN,
            format!(
                "sandbox level enforce refuses to run `{name}`: cannot be fully enforced here: {} \
                 (see `vanguard doctor`; --sandbox best-effort runs it with what is available)",
                planned.missing.join("; ")
            ),
        );
    }
    let forwarding = match SignalForwarding::block() {
        Ok(f) => f,
        Err(e) => {
            return fail(
                EXIT_INTERNAL,
                format!("cannot block signals for forwarding: {e}"),
            )
        }
    };
    // Spawned from the main thread, which lives as long as the command: the
    // parent-death signal follows the spawning thread.
    let mut cmd = sandbox::command_for(&plan);
    forwarding.unblock_in_child(&mut cmd);
    let sandbox::Spawned {
        mut child,
        enforcement,
        egress_listener,
    } = match sandbox::spawn_with_egress(&mut cmd, &plan) {
        Ok(spawned) => spawned,
        Err(e) => return fail(EXIT_SPAWN, e),
    };
    log_enforcement(plan.level(), &name, &enforcement);
    // The egress proxy (allowlist mode) runs on its own thread until the command is reaped.
    let (audit, audit_sink) = egress_audit(&policy, &name);
    let egress_proxy = match super::start::start_egress(egress_listener, egress, audit) {
        Ok(p) => p,
        Err(e) => {
            ServerProcess::signal_group(child.id(), libc::SIGKILL);
            let _ = child.wait();
            return fail(EXIT_SPAWN, e);
        }
    };
    let status = match forwarding.wait(&mut child) {
        Ok(s) => s,
        Err(e) => {
            // The command may still run; take its whole group down with us.
            ServerProcess::signal_group(child.id(), libc::SIGKILL);
            let _ = child.wait();
            return fail(EXIT_INTERNAL, format!("waiting for `{name}`: {e}"));
        }
    };
    drop(egress_proxy);
    audit_sink.flush();
    drop(plan);
    exit_code(status)
}

/// Egress events of `run` go to the profile's audit log, when it can be opened.
fn egress_audit(
    policy: &crate::policy::Policy,
    name: &str,
) -> (sandbox::egress::EgressAudit, crate::audit::AuditSink) {
    let mut audit = sandbox::egress::EgressAudit::disabled();
    if policy.network.mode != crate::policy::NetMode::Allowlist {
        return (audit, crate::audit::AuditSink::disabled());
    }
    let sink = match &policy.audit.path {
        Some(path) => {
            match crate::audit::AuditSink::open(path, policy.audit.max_bytes, policy.audit.keep) {
                Ok(sink) => sink,
                Err(e) => {
                    tracing::warn!("egress events are not audited: {e}");
                    crate::audit::AuditSink::disabled()
                }
            }
        }
        None => crate::audit::AuditSink::disabled(),
    };
    let session_id = crate::audit::random_id();
    let ids = std::sync::Arc::new(crate::audit::EventIds::new(&session_id));
    audit.on_record = Some(crate::audit::egress_recorder(
        sink.clone(),
        crate::audit::EgressLabels {
            session_id: session_id.into(),
            server_id: name.into(),
            profile: policy.name.as_str().into(),
            mode: policy.mode,
        },
        ids,
    ));
    (audit, sink)
}

/// The summary at info when every layer is in force, at warn when not.
fn log_enforcement(level: Level, name: &str, e: &Enforcement) {
    match level {
        Level::Off => tracing::info!("sandbox off: `{name}` runs unconfined"),
        _ if e.fully_enforced() => tracing::info!("sandbox: {}", e.summary()),
        _ => tracing::warn!("sandbox partially enforced for `{name}`: {}", e.summary()),
    }
}

/// The command's exit code, or 128+N when signal N killed it.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        // Exit codes are 0..=255 on Linux; the conversion cannot fail.
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(EXIT_INTERNAL),
        (None, Some(sig)) => 128u8.saturating_add(u8::try_from(sig).unwrap_or(127)),
        (None, None) => EXIT_INTERNAL,
    }
}

/// Signals passed on to the command's process group.
const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// SIGINT, SIGTERM, SIGHUP and SIGCHLD blocked in this (the only) thread,
/// to be taken with `sigtimedwait`.
///
/// # Warning
/// A blocked mask survives `fork` and `exec`, and std does not reset it in
/// the child: without [`SignalForwarding::unblock_in_child`] the command and
/// the sandbox's signal-relaying supervisor would never see a SIGTERM.
struct SignalForwarding {
    set: libc::sigset_t,
}

impl SignalForwarding {
    fn block() -> std::io::Result<SignalForwarding> {
        // SAFETY: sigset_t is plain data, initialised by sigemptyset before use.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to a local sigset_t.
        unsafe {
            libc::sigemptyset(&mut set);
            for sig in FORWARDED.iter().chain(&[libc::SIGCHLD]) {
                libc::sigaddset(&mut set, *sig);
            }
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(std::io::Error::from_raw_os_error(rc));
            }
        }
        Ok(SignalForwarding { set })
    }

    /// Registers a `pre_exec` hook that empties the signal mask. Call it
    /// before [`sandbox::spawn`], whose set-up hook must run unblocked too
    /// (hooks run in the order they were registered).
    fn unblock_in_child(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        // SAFETY: the hook makes one async-signal-safe call on a sigset_t
        // prepared here; it allocates nothing.
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            cmd.pre_exec(move || {
                let rc = libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
                if rc != 0 {
                    return Err(std::io::Error::from_raw_os_error(rc));
                }
                Ok(())
            });
        }
    }

    /// Waits for `child`, forwarding every blocked signal but SIGCHLD to its
    /// process group (it leads its own session, so its pgid is its pid).
    fn wait(&self, child: &mut std::process::Child) -> std::io::Result<ExitStatus> {
        // A bounded wait only as a safety net: SIGCHLD is pending from the
        // moment the child exits, so the loop normally wakes at once.
        let timeout = libc::timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            // SAFETY: siginfo_t is plain data the kernel fills in.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: valid pointers to a sigset, a siginfo and a timespec.
            let sig = unsafe { libc::sigtimedwait(&self.set, &mut info, &timeout) };
            if sig < 0 {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN | libc::EINTR) => continue,
                    _ => return Err(e),
                }
            }
            if FORWARDED.contains(&sig) {
                tracing::debug!(
                    signal = sig,
                    pid = child.id(),
                    "forwarding signal to the command's process group"
                );
                ServerProcess::signal_group(child.id(), sig);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn exit_status_maps_like_a_shell() {
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        // Killed by SIGTERM (15), no core dump.
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGTERM)), 143);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGKILL)), 137);
    }
}
