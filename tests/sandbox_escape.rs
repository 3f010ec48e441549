//! Escape suite: every scenario spawns a fresh process under a `Plan` (a
//! sandbox cannot be undone in-process) and asserts both the denial and that
//! the effect did not happen. Scenarios that need a kernel feature check it
//! first and print `SKIP:` with the reason when it is absent — and fail
//! instead with `VANGUARD_REQUIRE_SANDBOX=1` (CI sets it).

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use vanguard::sandbox::{
    self, probe, Level, NetMode, Plan, PlanInput, ResourceLimits, SandboxError,
};

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
        grants: vec![],
        forwards: vec![],
        protected: vec![],
        exec_in_write: false,
    }
}

/// Whether this kernel can run the full sandbox; prints why not.
fn ready(test: &str) -> bool {
    let k = probe::probe();
    let mut lacking = Vec::new();
    if k.landlock_abi < 6 {
        lacking.push(format!("Landlock ABI {} < 6", k.landlock_abi));
    }
    if !k.seccomp {
        lacking.push("seccomp".to_string());
    }
    if !k.namespaces() {
        lacking.push("namespaces".to_string());
    }
    if lacking.is_empty() {
        return true;
    }
    skip(&format!("{test}: kernel lacks {}", lacking.join(", ")));
    false
}

/// A missing mechanism skips the test, except where the sandbox is required
/// (`VANGUARD_REQUIRE_SANDBOX=1`, set by CI): there a skip would pass a test
/// that proved nothing, so it fails.
fn skip(why: &str) {
    assert!(
        std::env::var("VANGUARD_REQUIRE_SANDBOX").as_deref() != Ok("1"),
        "VANGUARD_REQUIRE_SANDBOX=1 and {why}"
    );
    eprintln!("SKIP: {why}");
}

fn run(input: PlanInput) -> Output {
    let plan = Plan::build(input).expect("plan builds");
    run_plan(&plan)
}

fn run_plan(plan: &Plan) -> Output {
    let mut cmd = sandbox::command_for(plan);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (child, enforcement) = sandbox::spawn(&mut cmd, plan).expect("spawn");
    assert!(enforcement.fully_enforced(), "{}", enforcement.summary());
    child.wait_with_output().expect("wait")
}

fn show(o: &Output) -> String {
    format!(
        "status={:?}\nstdout={}\nstderr={}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch layout: `r` (read zone), `w` (write zone), `outside` (no zone).
struct Dirs {
    _tmp: tempfile::TempDir,
    r: PathBuf,
    w: PathBuf,
    outside: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = std::fs::canonicalize(tmp.path()).expect("canon");
    let d = Dirs {
        r: base.join("r"),
        w: base.join("w"),
        outside: base.join("outside"),
        _tmp: tmp,
    };
    for p in [&d.r, &d.w, &d.outside] {
        std::fs::create_dir(p).expect("mkdir");
    }
    std::fs::write(d.outside.join("secret"), "TOPSECRET").expect("write");
    std::fs::write(d.r.join("data"), "READABLE").expect("write");
    d
}

/// `sh -c script` with the layout's zones.
fn sh(d: &Dirs, script: &str) -> Output {
    let mut i = input(&["sh", "-c", script]);
    i.read = vec![d.r.clone()];
    i.write = vec![d.w.clone()];
    run(i)
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// A Python 3 interpreter (pyenv's 3.11 when present, else the system one).
fn python() -> Option<String> {
    // The test environment's interpreter (its real file: the plan grants the
    // prefix around the program), else the system's.
    let venv = std::env::var("VANGUARD_TEST_PYTHON")
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .map(|p| p.to_string_lossy().into_owned());
    let found = venv
        .into_iter()
        .chain(["/usr/bin/python3".to_string()])
        .find(|c| Path::new(c).exists());
    if found.is_none() {
        skip("no python3 interpreter found");
    }
    found
}

fn py(script: &str, setup: impl FnOnce(&mut PlanInput)) -> Option<Output> {
    let python = python()?;
    let mut i = input(&[&python, "-c", script]);
    setup(&mut i);
    Some(run(i))
}

#[test]
fn runtimes_start_under_the_plan() {
    if !ready("runtimes_start_under_the_plan") {
        return;
    }
    let o = run(input(&["/bin/true"]));
    assert!(o.status.success(), "{}", show(&o));
    let o = run(input(&["sh", "-c", "echo shell-ok"]));
    assert_eq!(stdout(&o), "shell-ok\n", "{}", show(&o));
    let o = run(input(&["git", "--version"]));
    assert!(stdout(&o).starts_with("git version"), "{}", show(&o));
    let o = run(input(&[
        "node",
        "-e",
        "console.log('node-ok', require('os').cpus().length > 0)",
    ]));
    assert_eq!(stdout(&o), "node-ok true\n", "{}", show(&o));
    if let Some(o) = py(
        "import ssl, json, subprocess; print('py-ok', subprocess.run(['true']).returncode)",
        |_| {},
    ) {
        assert_eq!(stdout(&o), "py-ok 0\n", "{}", show(&o));
    }
}

#[test]
fn strict_seccomp_runs_runtimes_and_denies_the_rest() {
    if !ready("strict_seccomp_runs_runtimes_and_denies_the_rest") {
        return;
    }
    let strict = |argv: &[&str]| {
        let mut i = input(argv);
        i.strict_seccomp = true;
        run(i)
    };
    assert!(strict(&["/bin/true"]).status.success());
    let o = strict(&["sh", "-c", "echo a | cat; ls /usr > /dev/null && echo ok"]);
    assert_eq!(stdout(&o), "a\nok\n", "{}", show(&o));
    let o = strict(&["git", "--version"]);
    assert!(o.status.success(), "{}", show(&o));
    let o = strict(&[
        "node",
        "-e",
        "require('child_process').execSync('true'); console.log('ok')",
    ]);
    assert_eq!(stdout(&o), "ok\n", "{}", show(&o));
    // sync(2) is harmless but not on the allow-list: EPERM under strict only.
    let script = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n\
                  nr = {'x86_64': 162, 'aarch64': 81}[os.uname().machine]\n\
                  print(libc.syscall(nr), ctypes.get_errno())";
    if let Some(o) = py(script, |i| i.strict_seccomp = true) {
        assert_eq!(stdout(&o), format!("-1 {}\n", libc::EPERM), "{}", show(&o));
    }
    if let Some(o) = py(script, |_| {}) {
        assert_eq!(stdout(&o), "0 0\n", "{}", show(&o));
    }
}

#[test]
fn write_outside_write_zone_fails() {
    if !ready("write_outside_write_zone_fails") {
        return;
    }
    let d = dirs();
    let o = sh(
        &d,
        &format!(
            "echo x > {0}/new; echo x > {1}/new; echo x > /tmp/vanguard-escape-{2}",
            p(&d.outside),
            p(&d.r),
            std::process::id()
        ),
    );
    assert!(!o.status.success());
    assert!(!d.outside.join("new").exists());
    assert!(!d.r.join("new").exists());
    assert!(!Path::new(&format!("/tmp/vanguard-escape-{}", std::process::id())).exists());
    // Control: the write zone and the private TMPDIR are writable.
    let o = sh(
        &d,
        &format!(
            "echo ok > {}/new && echo t > $TMPDIR/t && cat $TMPDIR/t",
            p(&d.w)
        ),
    );
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(
        std::fs::read_to_string(d.w.join("new")).expect("written"),
        "ok\n"
    );
}

#[test]
fn read_outside_read_zones_fails() {
    if !ready("read_outside_read_zones_fails") {
        return;
    }
    let d = dirs();
    let o = sh(&d, &format!("cat {}/secret", p(&d.outside)));
    assert!(!o.status.success());
    assert!(!stdout(&o).contains("TOPSECRET"));
    let o = sh(&d, &format!("ls {}", p(&d.outside)));
    assert!(
        !o.status.success() && !stdout(&o).contains("secret"),
        "{}",
        show(&o)
    );
    for sensitive in ["/etc/shadow", "/etc/passwd", "/root/.bashrc"] {
        let o = sh(&d, &format!("cat {sensitive}"));
        assert!(!o.status.success(), "{sensitive} readable: {}", show(&o));
        assert!(o.stdout.is_empty());
    }
    // Control: the read zone is readable.
    let o = sh(&d, &format!("cat {}/data", p(&d.r)));
    assert_eq!(stdout(&o), "READABLE", "{}", show(&o));
}

#[test]
fn symlink_in_zone_to_outside_is_not_followed() {
    if !ready("symlink_in_zone_to_outside_is_not_followed") {
        return;
    }
    let d = dirs();
    std::os::unix::fs::symlink(d.outside.join("secret"), d.w.join("link")).expect("symlink");
    let o = sh(&d, &format!("cat {0}/link; echo pwned > {0}/link", p(&d.w)));
    assert!(!o.status.success());
    assert!(!stdout(&o).contains("TOPSECRET"));
    assert_eq!(
        std::fs::read_to_string(d.outside.join("secret")).expect("read"),
        "TOPSECRET"
    );
    // Creating a new symlink to the secret from inside does not help either.
    let o = sh(
        &d,
        &format!(
            "ln -s {0}/secret {1}/l2 && cat {1}/l2",
            p(&d.outside),
            p(&d.w)
        ),
    );
    assert!(!stdout(&o).contains("TOPSECRET"), "{}", show(&o));
}

#[test]
fn hardlink_secret_into_zone_fails() {
    if !ready("hardlink_secret_into_zone_fails") {
        return;
    }
    let d = dirs();
    let o = sh(&d, &format!("ln {}/secret {}/hard", p(&d.outside), p(&d.w)));
    assert!(!o.status.success(), "{}", show(&o));
    assert!(!d.w.join("hard").exists());
}

#[test]
fn rename_from_read_zone_to_write_zone_fails() {
    if !ready("rename_from_read_zone_to_write_zone_fails") {
        return;
    }
    let d = dirs();
    // rename(2) itself: `mv` would fall back to copy-and-delete across the
    // mounts of the minimal root, and a copy of a readable file is allowed.
    let script = format!(
        "import os\ntry:\n    os.rename({:?}, {:?})\n    print('MOVED')\nexcept OSError as e:\n    print('refused', e.errno)",
        p(&d.r.join("data")),
        p(&d.w.join("data"))
    );
    let Some(o) = py(&script, |i| {
        i.read = vec![d.r.clone()];
        i.write = vec![d.w.clone()];
    }) else {
        return;
    };
    assert!(stdout(&o).starts_with("refused"), "{}", show(&o));
    assert_eq!(
        std::fs::read_to_string(d.r.join("data")).ok().as_deref(),
        Some("READABLE")
    );
    assert!(!d.w.join("data").exists());
    // And `mv` moves nothing: the original stays where it was.
    let o = sh(&d, &format!("mv {}/data {}/moved", p(&d.r), p(&d.w)));
    assert!(!o.status.success(), "{}", show(&o));
    assert!(d.r.join("data").exists());
}

#[test]
fn truncate_read_zone_file_fails() {
    if !ready("truncate_read_zone_file_fails") {
        return;
    }
    let d = dirs();
    let o = sh(
        &d,
        &format!(
            "truncate -s 0 {0}/data; : > {0}/data; echo x >> {0}/data",
            p(&d.r)
        ),
    );
    assert!(!o.status.success());
    assert_eq!(
        std::fs::read_to_string(d.r.join("data")).expect("read"),
        "READABLE"
    );
}

/// A setuid or setgid bit can be set on nothing, not even a file of the
/// server's own in its write zone, and no file can change owner: as root a
/// planted setuid copy of a shell would give root to any local user.
#[test]
fn setuid_bits_and_ownership_cannot_be_set() {
    if !ready("setuid_bits_and_ownership_cannot_be_set") {
        return;
    }
    let d = dirs();
    let f = d.w.join("planted");
    std::fs::write(&f, "#!/bin/sh\n").expect("write");
    let o = sh(
        &d,
        &format!(
            "chmod 4755 {0}; echo suid=$?; chmod 2755 {0}; echo sgid=$?; chmod u+s {0}; echo us=$?; \
             chown 65534 {0}; echo chown=$?; chgrp 65534 {0}; echo chgrp=$?; \
             chmod 0755 {0}; echo plain=$?",
            p(&f)
        ),
    );
    let out = stdout(&o);
    for refused in ["suid=1", "sgid=1", "us=1", "chown=1", "chgrp=1"] {
        assert!(out.contains(refused), "{refused}: {}", show(&o));
    }
    assert!(
        out.contains("plain=0"),
        "an ordinary chmod works: {}",
        show(&o)
    );
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let m = std::fs::metadata(&f).expect("stat");
    assert_eq!(m.permissions().mode() & 0o7777, 0o755, "no set-id bit");
    assert_eq!(m.uid(), nix_uid(), "the owner did not change");
}

fn nix_uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

#[test]
fn binary_in_write_zone_is_not_executable() {
    if !ready("binary_in_write_zone_is_not_executable") {
        return;
    }
    let d = dirs();
    let o = sh(
        &d,
        &format!("cp /bin/true {0}/t && chmod +x {0}/t && {0}/t", p(&d.w)),
    );
    assert!(!o.status.success(), "{}", show(&o));
    assert!(d.w.join("t").exists(), "the copy itself is allowed");
    // Control: the same binary in a read zone runs.
    std::fs::copy("/bin/true", d.r.join("t")).expect("copy");
    let o = sh(&d, &format!("{}/t && echo ran", p(&d.r)));
    assert_eq!(stdout(&o), "ran\n", "{}", show(&o));
}

#[test]
fn tcp_to_host_loopback_fails() {
    if !ready("tcp_to_host_loopback_fails") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let o = run(input(&[
        "bash",
        "-c",
        &format!("echo hi > /dev/tcp/127.0.0.1/{port}"),
    ]));
    assert!(!o.status.success(), "{}", show(&o));
    let script = format!(
        "import socket\ns = socket.socket()\ntry:\n    s.connect(('127.0.0.1', {port})); print('connected')\n\
         except OSError as e:\n    print('denied', e.errno)"
    );
    if let Some(o) = py(&script, |_| {}) {
        assert!(stdout(&o).starts_with("denied"), "{}", show(&o));
    }
    listener.set_nonblocking(true).expect("nonblocking");
    assert!(
        listener.accept().is_err(),
        "the host listener accepted a sandboxed connection"
    );
}

#[test]
fn tcp_denied_by_landlock_even_with_own_loopback() {
    if !ready("tcp_denied_by_landlock_even_with_own_loopback") {
        return;
    }
    // Inside the private netns loopback is up, but Landlock handles TCP with
    // no allowed port, so even binding fails.
    let script = "import socket\ns = socket.socket()\ntry:\n    s.bind(('127.0.0.1', 0)); s.listen(); print('bound')\n\
                  except OSError as e:\n    print('denied', e.errno)";
    if let Some(o) = py(script, |_| {}) {
        assert_eq!(
            stdout(&o),
            format!("denied {}\n", libc::EACCES),
            "{}",
            show(&o)
        );
    }
}

#[test]
fn udp_never_reaches_the_host() {
    if !ready("udp_never_reaches_the_host") {
        return;
    }
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = sock.local_addr().expect("addr").port();
    let script = format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         for _ in range(5): s.sendto(b'leak', ('127.0.0.1', {port}))\n\
         try:\n    s.sendto(b'leak', ('192.0.2.1', 53)); print('sent')\n\
         except OSError as e:\n    print('denied', e.errno)"
    );
    if let Some(o) = py(&script, |_| {}) {
        assert_eq!(
            stdout(&o),
            format!("denied {}\n", libc::ENETUNREACH),
            "{}",
            show(&o)
        );
    }
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "a datagram reached the host"
    );
}

#[test]
fn namespaces_and_mounts_cannot_be_created() {
    if !ready("namespaces_and_mounts_cannot_be_created") {
        return;
    }
    let o = run(input(&["unshare", "-U", "true"]));
    assert!(!o.status.success(), "{}", show(&o));
    let o = run(input(&["unshare", "-n", "true"]));
    assert!(!o.status.success(), "{}", show(&o));
    let d = dirs();
    let o = sh(
        &d,
        &format!(
            "mount -t tmpfs x {} && touch {}/inside-tmpfs",
            p(&d.w),
            p(&d.w)
        ),
    );
    assert!(!o.status.success(), "{}", show(&o));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(&p(&d.w)));
}

#[test]
fn privileged_syscalls_are_denied() {
    if !ready("privileged_syscalls_are_denied") {
        return;
    }
    // Each line: name, return value, errno. Numbers per architecture.
    let script = r#"
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
arch = os.uname().machine
N = {
 'x86_64': dict(ptrace=101, process_vm_readv=310, keyctl=250, bpf=321, io_uring_setup=425, ioctl=16,
                clone=56, clone3=435, unshare=272, personality=135, socket=41, perf_event_open=298, userfaultfd=323),
 'aarch64': dict(ptrace=117, process_vm_readv=270, keyctl=219, bpf=280, io_uring_setup=425, ioctl=29,
                 clone=220, clone3=435, unshare=97, personality=92, socket=198, perf_event_open=241, userfaultfd=282),
}[arch]
def call(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(N[name], *[ctypes.c_ulong(a) for a in args])
    if r == 0 and name in ('clone',):
        os._exit(0)
    print(name, r, ctypes.get_errno())
sib = os.fork()
if sib == 0:
    signal.pause(); os._exit(0)
call('ptrace', 16, sib, 0, 0)                  # PTRACE_ATTACH a sibling
call('ptrace', 16, os.getppid(), 0, 0)         # ... and the parent
buf = ctypes.create_string_buffer(8)
iov = (ctypes.c_ulong * 2)(ctypes.addressof(buf), 8)
call('process_vm_readv', sib, ctypes.addressof(iov), 1, ctypes.addressof(iov), 1, 0)
call('keyctl', 0, 0, 0, 0, 0)                  # KEYCTL_GET_KEYRING_ID
call('bpf', 0, 0, 0)
params = ctypes.create_string_buffer(120)
call('io_uring_setup', 4, ctypes.addressof(params))
c = ctypes.c_char(b'x')
call('ioctl', 0, 0x5412, ctypes.addressof(c))  # TIOCSTI
call('ioctl', 0, 0x1_0000_5412, ctypes.addressof(c))  # TIOCSTI with high bits set
call('ioctl', 0, 0x541C, ctypes.addressof(c))  # TIOCLINUX
call('clone', 0x10000000 | 17, 0, 0, 0, 0)     # CLONE_NEWUSER | SIGCHLD
call('clone', 0x40000000 | 17, 0, 0, 0, 0)     # CLONE_NEWNET | SIGCHLD
call('clone3', 0, 0)
call('unshare', 0x10000000)
call('personality', 0x0040000)                 # ADDR_NO_RANDOMIZE
call('socket', 17, 3, 0)                       # AF_PACKET, SOCK_RAW
call('socket', 40, 1, 0)                       # AF_VSOCK
call('socket', 2, 3 | 0x80000, 1)              # AF_INET, SOCK_RAW|SOCK_CLOEXEC, ICMP
call('socket', 16, 3, 9)                       # AF_NETLINK, NETLINK_AUDIT
call('perf_event_open', 0, 0, 0, 0, 0)
call('userfaultfd', 0)
os.kill(sib, 9)
"#;
    let Some(o) = py(script, |_| {}) else { return };
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 20, "{}", show(&o));
    for line in lines {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (name, ret, errno) = (parts[0], parts[1], parts[2]);
        assert_eq!(ret, "-1", "{line} succeeded");
        let expected = if name == "clone3" {
            libc::ENOSYS
        } else {
            libc::EPERM
        };
        assert_eq!(errno, expected.to_string(), "{line}");
    }
    // Allowed neighbours still work: NETLINK_ROUTE and the personality query.
    let script = "import ctypes, socket\nlibc = ctypes.CDLL(None, use_errno=True)\n\
                  s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\n\
                  print('netlink-route ok', libc.personality(0xffffffff) >= 0)";
    let Some(o) = py(script, |_| {}) else { return };
    assert_eq!(stdout(&o), "netlink-route ok True\n", "{}", show(&o));
}

#[test]
fn no_new_privs_and_no_capabilities() {
    if !ready("no_new_privs_and_no_capabilities") {
        return;
    }
    let o = run(input(&[
        "sh",
        "-c",
        "grep -E '^(NoNewPrivs|CapEff|CapPrm|CapInh|CapBnd|CapAmb|Seccomp):' /proc/self/status",
    ]));
    let out = stdout(&o);
    assert!(out.contains("NoNewPrivs:\t1"), "{}", show(&o));
    assert!(out.contains("Seccomp:\t2"), "{}", show(&o));
    for cap in ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"] {
        assert!(
            out.contains(&format!("{cap}:\t0000000000000000")),
            "{cap}: {}",
            show(&o)
        );
    }
}

#[test]
fn signals_to_outside_processes_fail() {
    if !ready("signals_to_outside_processes_fail") {
        return;
    }
    let mut victim = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    let o = run(input(&[
        "sh",
        "-c",
        &format!("kill -TERM {0} || kill -KILL {0} || exit 3", victim.id()),
    ]));
    assert!(!o.status.success(), "{}", show(&o));
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        victim.try_wait().expect("try_wait").is_none(),
        "victim was killed"
    );
    let _ = victim.kill();
    let _ = victim.wait();
}

#[test]
fn abstract_unix_socket_outside_is_unreachable() {
    if !ready("abstract_unix_socket_outside_is_unreachable") {
        return;
    }
    use std::os::linux::net::SocketAddrExt;
    let name = format!("vanguard-escape-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
    let listener = std::os::unix::net::UnixListener::bind_addr(&addr).expect("bind");
    let script = format!(
        "import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('\\0{name}'); print('connected')\n\
         except OSError as e:\n    print('denied', e.errno)"
    );
    if let Some(o) = py(&script, |_| {}) {
        assert!(stdout(&o).starts_with("denied"), "{}", show(&o));
    }
    listener.set_nonblocking(true).expect("nonblocking");
    assert!(listener.accept().is_err(), "the abstract socket accepted");
}

#[test]
fn inherited_fds_are_closed() {
    if !ready("inherited_fds_are_closed") {
        return;
    }
    let d = dirs();
    let file = std::fs::File::open(d.outside.join("secret")).expect("open");
    let fd = file.as_raw_fd();
    // Clear FD_CLOEXEC, as a careless parent would.
    // SAFETY: fcntl on an fd we own.
    assert!(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == 0);
    let o = sh(&d, &format!("cat <&{fd}"));
    assert!(!o.status.success(), "{}", show(&o));
    assert!(!stdout(&o).contains("TOPSECRET"));
    drop(file);
}

#[test]
fn other_processes_proc_is_hidden() {
    if !ready("other_processes_proc_is_hidden") {
        return;
    }
    let me = std::process::id();
    // /proc/<test pid> does not exist in the sandbox's PID namespace, and the
    // sandbox's own PID 1 (its unsandboxed init) is protected by Landlock.
    let o = run(input(&[
        "sh",
        "-c",
        &format!("cat /proc/{me}/environ; cat /proc/1/environ; echo; ls /proc | grep -c '^[0-9]'"),
    ]));
    let out = stdout(&o);
    assert!(!out.contains("PATH="), "{}", show(&o));
    let visible: u32 = out
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(99);
    assert!(
        visible <= 5,
        "only the sandbox's processes are visible: {}",
        show(&o)
    );
    // Own /proc entries are readable (runtimes need them).
    let o = run(input(&[
        "sh",
        "-c",
        "cat /proc/self/environ | tr '\\0' '\\n' | grep -c TMPDIR",
    ]));
    assert_eq!(stdout(&o), "1\n", "{}", show(&o));
}

#[test]
fn environment_is_scrubbed() {
    if !ready("environment_is_scrubbed") {
        return;
    }
    std::env::set_var("VANGUARD_TEST_SECRET", "s3cr3t");
    let mut i = input(&["sh", "-c", "env"]);
    i.env_set = vec![("MODE".into(), "sandboxed".into())];
    let o = run(i);
    let out = stdout(&o);
    assert!(!out.contains("s3cr3t"), "{}", show(&o));
    assert!(out.contains("MODE=sandboxed"));
    assert!(out.contains("TMPDIR=/"));
}

fn processes_with(token: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let mut cmdline = String::new();
        if let Ok(mut f) = std::fs::File::open(entry.path().join("cmdline")) {
            let _ = f.read_to_string(&mut cmdline);
        }
        if cmdline.contains(token) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn killing_the_supervisor_kills_every_descendant() {
    if !ready("killing_the_supervisor_kills_every_descendant") {
        return;
    }
    let token = format!(
        "{}.{}",
        4000 + std::process::id() % 1000,
        std::process::id()
    );
    let script = format!("sleep {token} & (sleep {token} &) ; sleep {token}");
    let plan = Plan::build(input(&["sh", "-c", &script])).expect("plan");
    let mut cmd = sandbox::command_for(&plan);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (mut child, _) = sandbox::spawn(&mut cmd, &plan).expect("spawn");
    let start = Instant::now();
    // sh itself (its -c script names the token) and three sleeps.
    while processes_with(&token).len() < 4 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        processes_with(&token).len(),
        4,
        "sh and three sleeps started"
    );
    child.kill().expect("kill -9 the supervisor");
    child.wait().expect("wait");
    let start = Instant::now();
    while !processes_with(&token).is_empty() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        processes_with(&token).is_empty(),
        "server processes survived the supervisor"
    );
}

#[test]
fn sigterm_to_the_child_reaches_the_server() {
    if !ready("sigterm_to_the_child_reaches_the_server") {
        return;
    }
    let plan = Plan::build(input(&["sleep", "1000"])).expect("plan");
    for group in [false, true] {
        let mut cmd = sandbox::command_for(&plan);
        cmd.stdin(Stdio::null());
        let (mut child, _) = sandbox::spawn(&mut cmd, &plan).expect("spawn");
        std::thread::sleep(Duration::from_millis(200));
        let pid = child.id() as i32;
        // SAFETY: signalling our own child (or its process group).
        unsafe { libc::kill(if group { -pid } else { pid }, libc::SIGTERM) };
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("try_wait") {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "SIGTERM did not stop the server (group={group})"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    }
}

#[test]
fn enforce_refuses_when_the_kernel_lacks_a_layer() {
    let mut k = probe::probe();
    k.landlock_abi = 0;
    let plan = Plan::build_with(input(&["/bin/true"]), k.clone()).expect("plan");
    let mut cmd = sandbox::command_for(&plan);
    match sandbox::spawn(&mut cmd, &plan) {
        Err(SandboxError::NotEnforceable { missing }) => {
            assert!(
                missing.iter().any(|m| m.starts_with("landlock")),
                "{missing:?}"
            );
        }
        other => panic!("expected refusal, got {other:?}"),
    }
    // BestEffort starts and says what is missing.
    let mut i = input(&["/bin/true"]);
    i.level = Level::BestEffort;
    let plan = Plan::build_with(i, k).expect("plan");
    let mut cmd = sandbox::command_for(&plan);
    let (mut child, enforcement) = sandbox::spawn(&mut cmd, &plan).expect("best effort starts");
    assert!(!enforcement.fully_enforced());
    assert!(
        enforcement.summary().contains("landlock=off"),
        "{}",
        enforcement.summary()
    );
    assert!(child.wait().expect("wait").success());
}

#[test]
fn level_off_spawns_plainly() {
    let mut i = input(&["sh", "-c", "cat /proc/self/status | grep NoNewPrivs"]);
    i.level = Level::Off;
    let plan = Plan::build(i).expect("plan");
    let mut cmd = sandbox::command_for(&plan);
    cmd.stdout(Stdio::piped());
    let (child, enforcement) = sandbox::spawn(&mut cmd, &plan).expect("spawn");
    assert!(!enforcement.fully_enforced());
    let o = child.wait_with_output().expect("wait");
    assert_eq!(stdout(&o), "NoNewPrivs:\t0\n");
}

#[test]
fn explain_lists_zones_and_baseline() {
    let d = dirs();
    let mut i = input(&["node", "-e", "1"]);
    i.read = vec![d.r.clone()];
    i.write = vec![d.w.clone()];
    let plan = Plan::build(i).expect("plan");
    let text = plan.explain();
    assert!(text.contains(&p(&d.r)) && text.contains(&p(&d.w)), "{text}");
    assert!(
        text.contains("/usr") && text.contains("dynamic loader cache"),
        "{text}"
    );
    assert!(
        !text.contains("/etc/shadow") && !text.contains("/etc/passwd "),
        "{text}"
    );
    assert!(plan.baseline().iter().all(|e| e.path != Path::new("/root")));
}

/// Run by `killing_vanguard_kills_every_server_process` in a child process
/// that plays vanguard; a no-op in the normal test run.
#[test]
fn orphan_helper() {
    let Some(token) = std::env::var_os("VANGUARD_ESCAPE_HELPER_TOKEN") else {
        return;
    };
    let token = token.to_string_lossy().into_owned();
    let script = format!("sleep {token} & (sleep {token} &) ; sleep {token}");
    let plan = Plan::build(input(&["sh", "-c", &script])).expect("plan");
    let mut cmd = sandbox::command_for(&plan);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _child = sandbox::spawn(&mut cmd, &plan).expect("spawn");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn killing_vanguard_kills_every_server_process() {
    if !ready("killing_vanguard_kills_every_server_process") {
        return;
    }
    let token = format!(
        "{}.{}",
        5000 + std::process::id() % 1000,
        std::process::id()
    );
    let mut vanguard = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "orphan_helper", "--test-threads=1"])
        .env("VANGUARD_ESCAPE_HELPER_TOKEN", &token)
        .stdout(Stdio::null())
        .spawn()
        .expect("helper");
    let start = Instant::now();
    while processes_with(&token).len() < 4 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        processes_with(&token).len(),
        4,
        "sh and three sleeps started"
    );
    vanguard.kill().expect("kill -9 vanguard");
    vanguard.wait().expect("wait");
    let start = Instant::now();
    while !processes_with(&token).is_empty() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        processes_with(&token).is_empty(),
        "server processes survived vanguard"
    );
}

#[test]
fn path_resolved_launchers_start() {
    if !ready("path_resolved_launchers_start") {
        return;
    }
    // `python3` through PATH may be a pyenv shim (a bash script running
    // pyenv): vanguard's launcher asks the manager outside the sandbox and
    // runs the real interpreter, as `start` and `run` do.
    let argv: Vec<String> = ["python3", "-c", "print('shim-ok')"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let resolved = vanguard::launch::resolve(
        &argv,
        &vanguard::launch::Options {
            cache: std::env::temp_dir().join("vanguard-escape-cache"),
            pins: std::env::temp_dir().join("vanguard-escape-pins.json"),
            cwd: std::env::temp_dir(),
            reach: vanguard::launch::Reach::Describe,
            require_approval: false,
            install_scripts: false,
            update: false,
            progress: false,
            provenance: Default::default(),
            sigstore_root: None,
        },
    )
    .expect("resolve python3");
    let mut i = input(&[]);
    i.command = resolved.argv;
    i.grants = resolved.grants;
    let o = run(i);
    assert_eq!(stdout(&o), "shim-ok\n", "{}", show(&o));
    let o = run(input(&["npx", "--version"]));
    assert!(o.status.success(), "{}", show(&o));
}
