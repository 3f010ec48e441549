//! The minimal root, through `vanguard run` as a user runs it: the effects an
//! attack review found Landlock alone does not stop, each checked on the
//! host afterwards — a file's mode and times, a listening unix socket, a
//! setuid bit, an executed file, git's configuration.
//!
//! Layout: `root/ws` (workspace, write zone), `root/outside` (no zone).

mod common;

use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Layout {
    _dir: tempfile::TempDir,
    ws: PathBuf,
    outside: PathBuf,
}

impl Layout {
    fn new() -> Layout {
        let dir = tempfile::Builder::new()
            .prefix("vanguard-root-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let ws = root.join("ws");
        let outside = root.join("outside");
        std::fs::create_dir(&ws).expect("mkdir ws");
        std::fs::create_dir(&outside).expect("mkdir outside");
        Layout {
            _dir: dir,
            ws,
            outside,
        }
    }

    /// `vanguard run --workspace ws --write ws [extra] -- argv`, in ws.
    fn run(&self, extra: &[&str], argv: &[&str]) -> Output {
        let out = Command::new(vanguard_bin())
            .arg("run")
            .arg("--workspace")
            .arg(&self.ws)
            .arg("--write")
            .arg(&self.ws)
            .args(extra)
            .arg("--")
            .args(argv)
            .current_dir(&self.ws)
            .env("XDG_STATE_HOME", self.ws.join(".state-not-used"))
            .stdin(Stdio::null())
            .output()
            .expect("run vanguard");
        let _ = std::fs::remove_dir_all(self.ws.join(".state-not-used"));
        out
    }

    fn sh(&self, script: &str) -> Output {
        self.run(&[], &["sh", "-c", script])
    }
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn python() -> String {
    std::fs::canonicalize(require_env("VANGUARD_TEST_PYTHON"))
        .expect("test python")
        .display()
        .to_string()
}

/// chmod, utime, xattr and stat on a host file outside the zones find
/// nothing: the file's mode, times and attributes are what they were.
#[test]
fn host_files_outside_the_zones_cannot_be_changed_or_seen() {
    let t = Layout::new();
    let secret = t.outside.join("secret");
    std::fs::write(&secret, "TOPSECRET").expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let before = std::fs::metadata(&secret).expect("stat");

    let o = t.sh(&format!(
        "chmod 644 {0}; echo chmod=$?; touch -d 2001-01-01 {0}; echo touch=$?; \
         stat -c %s {0}; echo stat=$?; ls {1}; echo ls=$?; cat {0}; echo cat=$?",
        p(&secret),
        p(&t.outside)
    ));
    let out = stdout(&o);
    for step in ["chmod", "touch", "stat", "ls", "cat"] {
        assert!(
            out.contains(&format!("{step}=1")) || out.contains(&format!("{step}=2")),
            "{step} succeeded outside the zones\n{}",
            show(&o)
        );
    }
    assert!(!out.contains("TOPSECRET"), "{}", show(&o));
    assert!(
        !out.contains("\n9\n"),
        "stat revealed the size\n{}",
        show(&o)
    );
    let after = std::fs::metadata(&secret).expect("stat");
    assert_eq!(after.mode() & 0o7777, 0o600, "the mode changed");
    assert_eq!(after.mtime(), before.mtime(), "the times changed");

    // Extended attributes, from python (no setfattr needed).
    let script = format!(
        "import os\ntry:\n    os.setxattr({0:?}, 'user.planted', b'1')\n    print('SET')\nexcept OSError as e:\n    print('refused', e.errno)",
        p(&secret)
    );
    let o = t.run(&[], &[&python(), "-c", &script]);
    assert!(stdout(&o).starts_with("refused"), "{}", show(&o));
    let o = Command::new(python())
        .arg("-c")
        .arg(format!("import os; print(os.listxattr({:?}))", p(&secret)))
        .output()
        .expect("python on the host");
    assert_eq!(
        stdout(&o).trim(),
        "[]",
        "an attribute was set: {}",
        show(&o)
    );
}

/// A host unix socket outside the zones (a stand-in for docker.sock, the
/// D-Bus bus, an ssh agent) cannot be reached: the listener accepts nothing.
#[test]
fn host_unix_sockets_outside_the_zones_are_unreachable() {
    let t = Layout::new();
    let sock = t.outside.join("agent.sock");
    let listener = UnixListener::bind(&sock).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let script = format!(
        "import socket\ns = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\ntry:\n    s.connect({0:?})\n    s.sendall(b'hello')\n    print('CONNECTED')\nexcept OSError as e:\n    print('refused', e.errno)\nd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ntry:\n    d.sendto(b'x', {0:?})\n    print('SENT')\nexcept OSError as e:\n    print('refused', e.errno)",
        p(&sock)
    );
    let o = t.run(&[], &[&python(), "-c", &script]);
    let out = stdout(&o);
    assert!(
        !out.contains("CONNECTED") && !out.contains("SENT"),
        "{}",
        show(&o)
    );
    assert_eq!(out.matches("refused").count(), 2, "{}", show(&o));
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the host listener accepted a connection from the sandbox"
    );
}

/// No setuid file can be planted in the workspace, and nothing written
/// there runs: not directly, not through the dynamic loader, not from a
/// memory file.
#[test]
fn the_write_zone_holds_no_setuid_and_runs_nothing() {
    let t = Layout::new();
    let o = t.sh(
        "cp /usr/bin/id ./id2; echo cp=$?; chmod 4755 ./id2; echo chmod=$?; \
         ./id2; echo direct=$?",
    );
    let out = stdout(&o);
    assert!(out.contains("cp=0"), "{}", show(&o));
    assert!(
        !out.contains("chmod=0"),
        "chmod u+s succeeded\n{}",
        show(&o)
    );
    assert!(
        !out.contains("direct=0"),
        "a file of the write zone ran\n{}",
        show(&o)
    );
    let mode = std::fs::metadata(t.ws.join("id2")).expect("id2").mode();
    assert_eq!(mode & 0o6000, 0, "a setuid/setgid bit reached the host");

    let loader = ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"]
        .into_iter()
        .find(|l| Path::new(l).exists())
        .expect("the dynamic loader");
    let o = t.sh(&format!("cp /bin/true ./t; {loader} ./t; echo ldso=$?"));
    assert!(
        stdout(&o).contains("ldso=") && !stdout(&o).contains("ldso=0"),
        "the loader ran a file of the write zone\n{}",
        show(&o)
    );

    let script = "import os\nfd = os.memfd_create('x')\nos.write(fd, open('/bin/true', 'rb').read())\ntry:\n    os.execv('/proc/self/fd/%d' % fd, ['t'])\nexcept OSError as e:\n    print('refused', e.errno)\ntry:\n    os.memfd_create('y', 0x10)\n    print('MFD_EXEC')\nexcept OSError as e:\n    print('refused', e.errno)";
    let o = t.run(&[], &[&python(), "-c", script]);
    assert_eq!(stdout(&o).matches("refused").count(), 2, "{}", show(&o));
}

/// git's configuration and hooks stay read-only inside the workspace (a
/// `core.fsmonitor` or a hook would run on the user's next `git status`,
/// outside any sandbox), while commits work; `--unprotect` lifts one name.
#[test]
fn git_config_and_hooks_are_read_only_and_commits_work() {
    let t = Layout::new();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(&t.ws)
            .output()
            .expect("git");
        assert!(o.status.success(), "git {args:?}: {}", show(&o));
    };
    git(&["init", "-q"]);
    let config = t.ws.join(".git/config");
    let before = std::fs::read_to_string(&config).expect("config");

    let o = t.sh(
        "printf '[core]\\n\\tfsmonitor = touch /tmp/pwned\\n' >> .git/config; echo config=$?; \
         printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > .git/hooks/pre-commit; echo hook=$?; \
         mv .git/config .git/config.old; echo mv=$?; \
         git -c user.name=t -c user.email=t@example.invalid commit -q --allow-empty -m inside; echo commit=$?",
    );
    let out = stdout(&o);
    assert!(!out.contains("config=0"), "{}", show(&o));
    assert!(!out.contains("hook=0"), "{}", show(&o));
    assert!(!out.contains("mv=0"), "{}", show(&o));
    assert!(out.contains("commit=0"), "a commit failed\n{}", show(&o));
    assert_eq!(std::fs::read_to_string(&config).expect("config"), before);
    assert!(!t.ws.join(".git/hooks/pre-commit").exists());
    let log = Command::new("git")
        .args(["log", "--format=%s"])
        .current_dir(&t.ws)
        .output()
        .expect("git log");
    assert_eq!(stdout(&log).trim(), "inside", "{}", show(&log));

    let o = t.run(
        &["--unprotect", ".git/config"],
        &["sh", "-c", "git config user.name inside; echo config=$?"],
    );
    assert!(stdout(&o).contains("config=0"), "{}", show(&o));
    assert!(std::fs::read_to_string(&config)
        .expect("config")
        .contains("name = inside"));
}

/// Run as root, vanguard never leaves the server uid 0: it runs as nobody,
/// owns what the workspace's owner owns there (files it makes belong to
/// that owner on the host), and another user's file in the workspace is
/// protected by its ordinary permissions.
#[test]
fn the_server_is_never_uid_0_and_others_files_keep_their_permissions() {
    let t = Layout::new();
    let me = nix::unistd::geteuid().as_raw();
    let theirs = t.ws.join("theirs.txt");
    std::fs::write(&theirs, "THEIRS").expect("write");
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    if me == 0 {
        std::os::unix::fs::chown(&theirs, Some(4242), Some(4242)).expect("chown");
    }
    let o = t.sh(
        "id -u; cat theirs.txt; echo cat=$?; chmod 666 theirs.txt; echo chmod=$?; \
         echo made > made.txt; echo made=$?",
    );
    let out = stdout(&o);
    let uid = out.lines().next().unwrap_or_default();
    if me == 0 {
        assert_eq!(uid, "65534", "the server ran as uid {uid}\n{}", show(&o));
        assert!(
            !out.contains("THEIRS") && !out.contains("cat=0"),
            "{}",
            show(&o)
        );
        assert!(!out.contains("chmod=0"), "{}", show(&o));
    } else {
        assert_eq!(uid, me.to_string(), "{}", show(&o));
    }
    assert!(out.contains("made=0"), "{}", show(&o));
    let made = std::fs::metadata(t.ws.join("made.txt")).expect("made.txt");
    let ws_owner = std::fs::metadata(&t.ws).expect("ws").uid();
    assert_eq!(
        made.uid(),
        ws_owner,
        "a file the server made belongs to someone else"
    );
    assert_eq!(
        std::fs::metadata(&theirs).expect("theirs").mode() & 0o777,
        0o600
    );
}

/// Unprivileged, vanguard builds the same root inside a user namespace:
/// a file the user can read outside the zones does not exist for the
/// server, and the write zone works. (As root, the test drops to nobody
/// with setpriv first.)
#[test]
fn an_unprivileged_user_gets_the_same_minimal_root() {
    let dir = tempfile::Builder::new()
        .prefix("vanguard-unpriv-")
        .tempdir()
        .expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    let ws = root.join("ws");
    let outside = root.join("outside.txt");
    std::fs::create_dir(&ws).expect("mkdir");
    std::fs::write(&outside, "READABLE-BY-THE-USER").expect("write");
    let me = nix::unistd::geteuid().as_raw();
    let mut cmd = if me == 0 {
        for p in [&root, &ws, &outside] {
            std::os::unix::fs::chown(p, Some(65534), Some(65534)).expect("chown");
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(vanguard_bin());
        c
    } else {
        Command::new(vanguard_bin())
    };
    let o = cmd
        .arg("run")
        .arg("--workspace")
        .arg(&ws)
        .arg("--write")
        .arg(&ws)
        .arg("--")
        .args([
            "sh",
            "-c",
            &format!(
                "id -u; cat {}; echo cat=$?; echo made > made.txt; echo made=$?",
                p(&outside)
            ),
        ])
        .current_dir(&ws)
        .env("HOME", &root)
        .env("XDG_STATE_HOME", root.join("state"))
        .env("XDG_CACHE_HOME", root.join("cache"))
        .stdin(Stdio::null())
        .output()
        .expect("run vanguard unprivileged");
    let out = stdout(&o);
    let expected_uid = if me == 0 { 65534 } else { me };
    assert_eq!(
        out.lines().next().unwrap_or_default(),
        expected_uid.to_string(),
        "{}",
        show(&o)
    );
    assert!(!out.contains("READABLE-BY-THE-USER"), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("cat=1"),
        "{}",
        show(&o)
    );
    assert!(out.contains("made=0"), "{}", show(&o));
    assert_eq!(
        std::fs::read_to_string(ws.join("made.txt")).ok().as_deref(),
        Some("made\n")
    );
}
