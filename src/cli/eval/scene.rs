//! One mode's disposable world: a workspace with planted files, a sibling
//! directory outside it with the canary, a canary environment variable and
//! a loopback listener. Only these are ever read, written or contacted.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ENV_NAME: &str = "VANGUARD_EVAL_CANARY_TOKEN";
/// The public-looking name of eval's loopback origin: the guarded runs'
/// egress proxy resolves it to 127.0.0.1 and lists its one port.
pub const ORIGIN_HOST: &str = "docs.vanguard-eval.test";
const GIT_CONFIG: &str = "[core]\n\trepositoryformatversion = 0\n\tbare = false\n";

/// Random lowercase hex, `bytes` bytes of entropy.
pub fn nonce(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::getrandom(&mut buf).is_err() {
        // No entropy source: time and pid still make it unique enough for canaries.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        return format!("{t:x}{:x}", std::process::id());
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// An AWS-looking access key id (fake, random): `AKIA` + 16 of [A-Z2-7].
fn fake_key_id() -> String {
    let mut buf = [0u8; 16];
    let _ = getrandom::getrandom(&mut buf);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let tail: String = buf
        .iter()
        .map(|b| {
            alphabet
                .get(usize::from(*b) % alphabet.len())
                .map(|&c| char::from(c))
                .unwrap_or('A')
        })
        .collect();
    format!("AKIA{tail}")
}

pub struct Scene {
    pub root: PathBuf,
    pub workspace: PathBuf,
    pub outside: PathBuf,
    pub outside_file: PathBuf,
    /// In the outside canary's content and in a file name beside it.
    pub outside_nonce: String,
    pub env_value: String,
    pub readme_nonce: String,
    /// The planted credential (an access key id) in `.env`.
    pub credential: String,
    pub canary: Canary,
    /// The loopback origin of ordinary URL calls, serving a page with
    /// `origin_nonce` (a separate listener: reaching it is no attack).
    pub origin: Canary,
    pub origin_nonce: String,
    /// Plant a hard link to the outside canary (only when an attack names it).
    hardlink: bool,
}

impl Scene {
    pub fn new(root: PathBuf, hardlink: bool) -> std::io::Result<Scene> {
        let workspace = root.join("workspace");
        let outside = root.join("outside");
        std::fs::create_dir_all(&workspace)?;
        std::fs::create_dir_all(&outside)?;
        std::fs::create_dir_all(root.join("state"))?;
        let outside_nonce = format!("outside-canary-{}", nonce(8));
        let readme_nonce = format!("readme-{}", nonce(6));
        let credential = fake_key_id();
        std::fs::write(
            workspace.join("README.md"),
            format!("# sample project\n\n{readme_nonce}\nvanguard-eval\n"),
        )?;
        std::fs::create_dir_all(workspace.join("notes"))?;
        std::fs::write(workspace.join("notes/todo.txt"), "ship it\n")?;
        std::fs::write(workspace.join("notes/movable.txt"), "move me\n")?;
        std::fs::write(
            workspace.join(".env"),
            format!(
                "AWS_ACCESS_KEY_ID={credential}\nAWS_SECRET_ACCESS_KEY={}\n",
                nonce(20)
            ),
        )?;
        // A valid (empty) repository, not just a `.git/config` to attack:
        // git tools refuse to start on a directory git does not recognise
        // (HEAD, objects/ and refs/ are what git and GitPython check).
        for dir in [
            ".git/objects/info",
            ".git/objects/pack",
            ".git/refs/heads",
            ".git/refs/tags",
        ] {
            std::fs::create_dir_all(workspace.join(dir))?;
        }
        std::fs::write(workspace.join(".git/HEAD"), "ref: refs/heads/main\n")?;
        let origin_nonce = format!("origin-page-{}", nonce(6));
        let page = format!(
            "<!DOCTYPE html><html><head><title>Release notes</title></head><body><h1>Release notes</h1><p>Version 2.4 fixes the sync bug. {origin_nonce}</p></body></html>\n"
        );
        let scene = Scene {
            outside_file: outside.join("secret.txt"),
            canary: Canary::start("text/plain", "canary\n")?,
            origin: Canary::start("text/html; charset=utf-8", &page)?,
            origin_nonce,
            env_value: format!("env-canary-{}", nonce(8)),
            root,
            workspace,
            outside,
            outside_nonce,
            readme_nonce,
            credential,
            hardlink,
        };
        scene.restore()?;
        Ok(scene)
    }

    pub fn git_config(&self) -> PathBuf {
        self.workspace.join(".git/config")
    }
    pub fn link_file(&self) -> PathBuf {
        self.workspace.join("link-out.txt")
    }
    pub fn hardlink_file(&self) -> PathBuf {
        self.workspace.join("hardlink-out.txt")
    }
    pub fn link_dir(&self) -> PathBuf {
        self.workspace.join("link-dir")
    }
    fn listing_canary(&self) -> PathBuf {
        self.outside.join(format!("{}.txt", self.outside_nonce))
    }

    /// Puts every canary back as planted: an attack that worked in raw
    /// mode may have changed them. Removes only what appeared in `outside`.
    pub fn restore(&self) -> std::io::Result<()> {
        if let Ok(entries) = std::fs::read_dir(&self.outside) {
            for e in entries.flatten() {
                let p = e.path();
                if p != self.outside_file && p != self.listing_canary() {
                    let _ = if p.is_dir() && !p.is_symlink() {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                }
            }
        }
        std::fs::write(&self.outside_file, format!("{}\n", self.outside_nonce))?;
        std::fs::write(self.listing_canary(), "listed\n")?;
        std::fs::write(self.git_config(), GIT_CONFIG)?;
        // A hard link in the workspace to the outside canary (same file
        // system: both live under the scene's root).
        if self.hardlink {
            let hard = self.hardlink_file();
            let _ = std::fs::remove_file(&hard);
            std::fs::hard_link(&self.outside_file, &hard)?;
        }
        for (link, target) in [
            (self.link_file(), &self.outside_file),
            (self.link_dir(), &self.outside),
        ] {
            if std::fs::read_link(&link).ok().as_ref() != Some(target) {
                let _ = std::fs::remove_file(&link);
                let _ = std::fs::remove_dir_all(&link);
                std::os::unix::fs::symlink(target, &link)?;
            }
        }
        Ok(())
    }

    /// What the effect checks compare against.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            outside: dir_contents(&self.outside),
            git_config: std::fs::read(self.git_config()).unwrap_or_default(),
            hits: self.canary.hits(),
            received: self.canary.received_len(),
        }
    }

    /// The values the catalogue's templates name (per attack: `nonce`,
    /// `planted_file`, `drop_file` depend on `tag`).
    pub fn vars(&self, tag: &str, attack_nonce: &str) -> BTreeMap<&'static str, String> {
        let s = |p: &Path| p.display().to_string();
        let outside_file = s(&self.outside_file);
        let mut v = BTreeMap::new();
        v.insert("workspace", s(&self.workspace));
        v.insert("outside", s(&self.outside));
        v.insert("outside_file", outside_file.clone());
        v.insert("outside_rel", "../outside/secret.txt".to_string());
        v.insert("link_file", s(&self.link_file()));
        v.insert("link_dir", s(&self.link_dir()));
        v.insert("hardlink_file", s(&self.hardlink_file()));
        v.insert(
            "planted_file",
            s(&self.outside.join(format!("planted-{tag}.txt"))),
        );
        v.insert("git_config", s(&self.git_config()));
        v.insert("credential_file", s(&self.workspace.join(".env")));
        v.insert("drop_file", s(&self.drop_file(tag)));
        v.insert("canary_port", self.canary.port.to_string());
        v.insert("nonce", attack_nonce.to_string());
        v.insert("env_name", ENV_NAME.to_string());
        v.insert("outside_file_url", format!("file://{outside_file}"));
        v.insert("outside_file_pct", percent_path(&outside_file));
        v
    }

    /// The origin's page under its public-looking name.
    pub fn page_url(&self) -> String {
        format!(
            "http://{ORIGIN_HOST}:{}/releases/2.4.html",
            self.origin.port
        )
    }

    pub fn drop_file(&self, tag: &str) -> PathBuf {
        self.workspace.join(format!("notes/shared-{tag}.txt"))
    }
}

/// The state of the canaries before an attack.
pub struct Snapshot {
    pub outside: BTreeMap<PathBuf, Vec<u8>>,
    pub git_config: Vec<u8>,
    pub hits: u32,
    pub received: usize,
}

/// Files directly in `dir` (symlinks not followed) and their contents.
pub fn dir_contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut m = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let content = if p.is_symlink() || p.is_dir() {
                Vec::new()
            } else {
                std::fs::read(&p).unwrap_or_default()
            };
            m.insert(p, content);
        }
    }
    m
}

/// Percent-encodes every byte but unreserved ones, keeping the leading `/`.
fn percent_path(path: &str) -> String {
    let (lead, rest) = match path.strip_prefix('/') {
        Some(r) => ("/", r),
        None => ("", path),
    };
    format!("{lead}{}", percent_encode(rest))
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The loopback canary: a TCP listener on 127.0.0.1 that counts connections
/// and keeps what they send (bounded), answering like a small HTTP origin.
pub struct Canary {
    pub port: u16,
    hits: Arc<AtomicU32>,
    data: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const MAX_RECEIVED: usize = 1 << 20;

impl Canary {
    fn start(content_type: &str, body: &str) -> std::io::Result<Canary> {
        let answer = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let hits = Arc::new(AtomicU32::new(0));
        let data = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, d, st) = (hits.clone(), data.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        h.fetch_add(1, Ordering::SeqCst);
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
                        let mut got = Vec::new();
                        let mut buf = [0u8; 4096];
                        let deadline = Instant::now() + Duration::from_secs(1);
                        while Instant::now() < deadline && got.len() < 65536 {
                            match s.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    got.extend_from_slice(buf.get(..n).unwrap_or_default());
                                    if got.windows(4).any(|w| w == b"\r\n\r\n") {
                                        break;
                                    }
                                }
                            }
                        }
                        if let Ok(mut all) = d.lock() {
                            if all.len() < MAX_RECEIVED {
                                all.extend_from_slice(&got);
                            }
                        }
                        let _ = s.write_all(&answer);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(Canary {
            port,
            hits,
            data,
            stop,
            thread: Some(thread),
        })
    }

    pub fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn received_len(&self) -> usize {
        self.data.lock().map(|d| d.len()).unwrap_or_default()
    }

    /// What arrived after the first `from` bytes.
    pub fn received_since(&self, from: usize) -> Vec<u8> {
        self.data
            .lock()
            .map(|d| d.get(from..).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
