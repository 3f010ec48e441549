//! Escape suite: every scenario spawns a fresh process under a `Plan` and
//! asserts both the denial and that the effect did not happen.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use vanguard::sandbox::{self, Level, NetMode, Plan, PlanInput, ResourceLimits};

fn input(argv: &[&str]) -> PlanInput {
    PlanInput {
        command: argv.iter().map(|s| s.to_string()).collect(),
        read: vec![],
        write: vec![],
        net: NetMode::None,
        level: Level::Enforce,
        env_allow: vec![],
        env_set: vec![],
        cwd: None,
        strict_seccomp: false,
        limits: ResourceLimits::default(),
    }
}

fn run(input: PlanInput) -> Output {
    let plan = Plan::build(input).expect("plan builds");
    let mut cmd = sandbox::command_for(&plan);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let (child, _) = sandbox::spawn(&mut cmd, &plan).expect("spawn");
    child.wait_with_output().expect("wait")
}

fn text(o: &Output) -> String {
    format!(
        "status={:?}\nstdout={}\nstderr={}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn smoke() {
    for argv in [
        vec!["/bin/true"],
        vec!["sh", "-c", "echo hi; ls /proc; cat /proc/self/status | grep -E 'NoNewPrivs|CapEff|Seccomp'; ls -la /proc/self/fd"],
        vec!["node", "-e", "console.log(require('os').cpus().length, process.pid)"],
        vec!["/root/.pyenv/versions/3.11.7/bin/python3", "-c", "import ssl, json, os; print('py', os.getpid())"],
        vec!["git", "--version"],
    ] {
        let o = run(input(&argv));
        eprintln!("{argv:?}: {}", text(&o));
    }
}
