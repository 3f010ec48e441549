//! The audit log's hash chain: every line carries a sequence number and
//! the SHA-256 of the line before it, across rotation and across every
//! vanguard process that appends to the same file (the writer links under an
//! advisory lock on `<log>.lock`, reading the current last line first). A
//! head file (`<log>.head`) records the last link written, so a cut tail
//! shows too.
//!
//! What it proves: that no line was edited, deleted, inserted or moved
//! since it was written, as long as the head file and the log were not
//! rewritten together. Whoever can rewrite both (root on this machine) can
//! forge a consistent history; ship the log off the machine to rule that
//! out.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// `prev` of the first line ever written to a log.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The last link of a log: its sequence number and its line's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub seq: u64,
    pub hash: LineHash,
}

/// A line's SHA-256 as 64 lowercase hex digits, kept inline: one is made
/// for every event, on the audit writer's thread.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LineHash([u8; 64]);

impl LineHash {
    pub fn as_str(&self) -> &str {
        // Only `hash` makes one, of ASCII hex digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for LineHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for LineHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for LineHash {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl serde::Serialize for LineHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// SHA-256 of a line, lowercase hex (a table, not `format!` per byte:
/// this runs for every event).
pub fn hash(line: &[u8]) -> LineHash {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(line);
    let mut out = [b'0'; 64];
    let digit = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
    for (pair, b) in out.chunks_exact_mut(2).zip(digest) {
        if let [hi, lo] = pair {
            *hi = digit(b >> 4);
            *lo = digit(b & 0x0f);
        }
    }
    LineHash(out)
}

/// Appends `"seq"` and `"prev"` to a serialised JSON object (`{…}`) and
/// returns the new link. The object's last byte must be `}`.
pub fn link(object: &mut Vec<u8>, after: Option<&Link>) -> Option<Link> {
    link_from(object, 0, after)
}

/// [`link`] for the object at `buf[start..]`, the end of a buffer holding
/// lines before it: the audit writer serialises each event straight into
/// its batch. Only the object is hashed.
pub fn link_from(buf: &mut Vec<u8>, start: usize, after: Option<&Link>) -> Option<Link> {
    use std::io::Write;
    if buf.len() <= start || buf.last() != Some(&b'}') {
        return None;
    }
    buf.pop();
    let (seq, prev) = match after {
        Some(l) => (l.seq + 1, l.hash.as_str()),
        None => (1, GENESIS),
    };
    if buf.len() > start && buf.last() != Some(&b'{') {
        buf.push(b',');
    }
    // Writing to a vector cannot fail.
    let _ = write!(buf, "\"seq\":{seq},\"prev\":\"{prev}\"}}");
    Some(Link {
        seq,
        hash: hash(buf.get(start..).unwrap_or_default()),
    })
}

/// The link of the last complete line of `file`, if it has one.
pub fn last_link(file: &mut File) -> std::io::Result<Option<Link>> {
    let size = file.metadata()?.len();
    // Most lines are well under 1 KiB; the window grows when the last
    // complete line does not fit.
    let mut window: u64 = 4 * 1024;
    loop {
        let start = size.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        file.by_ref().take(size - start).read_to_end(&mut buf)?;
        // Drop a partial last line (a writer that died mid-line).
        let end = match buf.iter().rposition(|&b| b == b'\n') {
            Some(e) => e,
            None if start == 0 => return Ok(None),
            None => {
                window = window.saturating_mul(4);
                continue;
            }
        };
        let body = buf.get(..end).unwrap_or_default();
        let line_start = match body.iter().rposition(|&b| b == b'\n') {
            Some(p) => p + 1,
            None if start == 0 => 0,
            None => {
                window = window.saturating_mul(4);
                continue;
            }
        };
        let line = body.get(line_start..).unwrap_or_default();
        let seq = serde_json::from_slice::<Value>(line)
            .ok()
            .and_then(|v| v.get("seq").and_then(Value::as_u64));
        return Ok(seq.map(|seq| Link {
            seq,
            hash: hash(line),
        }));
    }
}

/// `<log>.N`, the Nth rotated file.
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

pub fn head_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".head");
    PathBuf::from(s)
}

pub fn lock_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// The audit signing key's files, beside the log.
pub fn key_paths(log: &Path) -> (PathBuf, PathBuf) {
    let dir = log.parent().unwrap_or(Path::new("."));
    (
        dir.join("audit-signing.pem"),
        dir.join("audit-signing.signer.json"),
    )
}

/// The key that signs the head file: read from beside the log, or made
/// there on first use (private 0600, the public signer document 0644).
pub fn signing_key(log: &Path) -> Result<crate::trust::SigningKey, String> {
    use crate::trust::SigningKey;
    let (private, public) = key_paths(log);
    if private.exists() {
        return SigningKey::read(&private).map_err(|e| e.to_string());
    }
    let key = SigningKey::generate().map_err(|e| e.to_string())?;
    match crate::trust::key::write_new(&private, key.to_pem().as_bytes(), 0o600, false) {
        Ok(()) => {}
        // Another vanguard made it first: use that one.
        Err(crate::trust::TrustError::Exists { .. }) => {
            return SigningKey::read(&private).map_err(|e| e.to_string())
        }
        Err(e) => return Err(e.to_string()),
    }
    let doc = key.signer_doc(Some("vanguard-audit"));
    let _ = crate::trust::key::write_new(&public, doc.to_json().as_bytes(), 0o644, true);
    Ok(key)
}

/// The bytes a head signature covers.
fn head_message(seq: u64, hash: &str) -> String {
    format!("vanguard-audit-head\n{seq}\n{hash}\n")
}

/// Replaces `<log>.head` with `link`, signed when there is a key (a
/// temporary file renamed over it).
pub fn write_head(
    log: &Path,
    link: &Link,
    key: Option<&crate::trust::SigningKey>,
) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let head = head_path(log);
    let mut tmp = head.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    let v = match key {
        Some(k) => {
            use base64::Engine;
            let sig = k.sign(head_message(link.seq, link.hash.as_str()).as_bytes());
            serde_json::json!({"seq": link.seq, "hash": link.hash, "key_id": "vanguard-audit",
                "signature": base64::engine::general_purpose::STANDARD.encode(sig)})
        }
        None => serde_json::json!({"seq": link.seq, "hash": link.hash}),
    };
    f.write_all(format!("{v}\n").as_bytes())?;
    std::fs::rename(&tmp, &head)
}

/// What `vanguard audit verify` found.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: u64,
    pub first_seq: Option<u64>,
    pub last: Option<Link>,
    /// The first break, in words, naming the file and line.
    pub problem: Option<String>,
    /// Facts worth saying that are not breaks (older files rotated away).
    pub notes: Vec<String>,
}

/// Checks a log and its rotated predecessors, oldest first, and the head
/// file if there is one. `files` are the files to check in order; `head` is
/// the head file of the newest.
pub fn verify(files: &[PathBuf], head: Option<&Path>) -> Report {
    verify_signed(files, head, None)
}

/// Like [`verify`], also checking the head file's signature with `signer`.
pub fn verify_signed(
    files: &[PathBuf],
    head: Option<&Path>,
    signer: Option<&crate::trust::SignerDoc>,
) -> Report {
    let mut r = Report::default();
    let mut last: Option<Link> = None;
    'files: for f in files {
        let text = match std::fs::read(f) {
            Ok(t) => t,
            Err(e) => {
                r.problem = Some(format!("{}: cannot read: {e}", f.display()));
                return r;
            }
        };
        let mut lines = text.split(|&b| b == b'\n').peekable();
        let mut n = 0u64;
        while let Some(line) = lines.next() {
            n += 1;
            if line.is_empty() && lines.peek().is_none() {
                break;
            }
            let at = format!("{} line {n}", f.display());
            let v: Value = match serde_json::from_slice(line) {
                Ok(v) => v,
                Err(e) => {
                    r.problem = Some(format!(
                        "{at}: not a JSON event ({e}): the line was damaged"
                    ));
                    break 'files;
                }
            };
            let (Some(seq), Some(prev)) = (
                v.get("seq").and_then(Value::as_u64),
                v.get("prev").and_then(Value::as_str),
            ) else {
                r.problem = Some(format!(
                    "{at}: no `seq`/`prev`: written before chaining, or not by vanguard"
                ));
                break 'files;
            };
            match &last {
                None => {
                    r.first_seq = Some(seq);
                    if seq != 1 || prev != GENESIS {
                        r.notes.push(format!(
                            "the chain starts at seq {seq} in {}: earlier lines are in older files (rotated away, or not given)",
                            f.display()
                        ));
                    }
                }
                Some(l) => {
                    if seq != l.seq + 1 {
                        let what = if seq <= l.seq {
                            "a line repeated or moved back"
                        } else {
                            "lines deleted before it"
                        };
                        r.problem = Some(format!("{at}: seq {seq} follows seq {} ({what})", l.seq));
                        break 'files;
                    }
                    if prev != l.hash.as_str() {
                        r.problem = Some(format!(
                            "{at} (seq {seq}): the hash of the line before does not match: that line was edited, or this one inserted"
                        ));
                        break 'files;
                    }
                }
            }
            last = Some(Link {
                seq,
                hash: hash(line),
            });
            r.lines += 1;
        }
    }
    r.last = last.clone();
    if r.problem.is_none() {
        if let Some(h) = head {
            check_head(h, last.as_ref(), signer, &mut r);
        }
    }
    r
}

fn check_head(
    head: &Path,
    last: Option<&Link>,
    signer: Option<&crate::trust::SignerDoc>,
    r: &mut Report,
) {
    let text = match std::fs::read_to_string(head) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            r.notes.push(format!(
                "no head file {}: a cut tail cannot be detected",
                head.display()
            ));
            return;
        }
        Err(e) => {
            r.problem = Some(format!("{}: cannot read: {e}", head.display()));
            return;
        }
    };
    let v: Option<Value> = serde_json::from_str(&text).ok();
    let seq = v
        .as_ref()
        .and_then(|v| v.get("seq"))
        .and_then(Value::as_u64);
    let hash = v
        .as_ref()
        .and_then(|v| v.get("hash"))
        .and_then(Value::as_str);
    let (Some(seq), Some(hash)) = (seq, hash) else {
        r.problem = Some(format!("{}: not a head record", head.display()));
        return;
    };
    let signature = v
        .as_ref()
        .and_then(|v| v.get("signature"))
        .and_then(Value::as_str);
    match (signer, signature) {
        (Some(doc), Some(sig)) => {
            use base64::Engine;
            let ok = doc
                .public_key_bytes(&doc.key_id)
                .ok()
                .is_some_and(|public| {
                    base64::engine::general_purpose::STANDARD
                        .decode(sig)
                        .ok()
                        .is_some_and(|sig| {
                            ring::signature::UnparsedPublicKey::new(
                                &ring::signature::ED25519,
                                public,
                            )
                            .verify(head_message(seq, hash).as_bytes(), &sig)
                            .is_ok()
                        })
                });
            if !ok {
                r.problem = Some(format!(
                    "{}: the signature does not verify with the audit signer: the head was rewritten",
                    head.display()
                ));
                return;
            }
            r.notes
                .push(format!("{}: signature verified", head.display()));
        }
        (Some(_), None) => {
            r.problem = Some(format!(
                "{}: not signed, but a signer was given: the head was rewritten",
                head.display()
            ));
            return;
        }
        (None, _) => {}
    }
    match last {
        Some(l) if l.seq == seq && l.hash.as_str() == hash => {}
        Some(l) if l.seq < seq => {
            r.problem = Some(format!(
                "the log ends at seq {} but {} records seq {seq}: the tail was cut",
                l.seq,
                head.display()
            ));
        }
        Some(l) if l.seq == seq => {
            r.problem = Some(format!(
                "the last line (seq {seq}) differs from the one {} records: it was edited",
                head.display()
            ));
        }
        Some(l) => {
            r.problem = Some(format!(
                "the log goes on to seq {} past the head's seq {seq}: lines appended by something else",
                l.seq
            ));
        }
        None => {
            r.problem = Some(format!(
                "the log is empty but {} records seq {seq}: it was emptied",
                head.display()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut last: Option<Link> = None;
        for i in 0..n {
            let mut line = format!("{{\"event_id\":\"e{i}\",\"verdict\":\"allow\"}}").into_bytes();
            last = link(&mut line, last.as_ref());
            out.push(line);
        }
        out
    }

    fn write(dir: &Path, lines: &[Vec<u8>]) -> PathBuf {
        let p = dir.join("audit.jsonl");
        let mut text = Vec::new();
        for l in lines {
            text.extend_from_slice(l);
            text.push(b'\n');
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn linking_at_the_end_of_a_buffer_is_linking_the_object_alone() {
        let first = Link {
            seq: 41,
            hash: hash(b"x"),
        };
        for object in [&b"{\"a\":1}"[..], b"{}"] {
            let mut alone = object.to_vec();
            let l1 = link(&mut alone, Some(&first)).expect("linked");
            let mut buf = b"{\"earlier\":true,\"seq\":9}\n".to_vec();
            let start = buf.len();
            buf.extend_from_slice(object);
            let l2 = link_from(&mut buf, start, Some(&first)).expect("linked");
            assert_eq!(l1, l2);
            assert_eq!(&buf[start..], &alone[..]);
            assert_eq!(&buf[..start], b"{\"earlier\":true,\"seq\":9}\n");
            assert_eq!(l2.seq, 42);
            assert_eq!(l2.hash, hash(&alone));
        }
        let mut alone = b"{\"a\":1}".to_vec();
        link(&mut alone, None).expect("linked");
        assert_eq!(
            String::from_utf8(alone).expect("utf-8"),
            format!("{{\"a\":1,\"seq\":1,\"prev\":\"{GENESIS}\"}}")
        );
        // Nothing after `start`, or no object there: nothing is linked.
        let mut buf = b"{}\n".to_vec();
        assert_eq!(link_from(&mut buf, 3, None), None);
        let mut buf = b"{}\n[1]".to_vec();
        assert_eq!(link_from(&mut buf, 3, None), None);
        assert_eq!(buf, b"{}\n[1]");
    }

    #[test]
    fn an_intact_chain_verifies_and_every_tampering_is_named() {
        let d = tempfile::tempdir().expect("tempdir");
        let lines = chain(6);
        let p = write(d.path(), &lines);
        let r = verify(std::slice::from_ref(&p), None);
        assert!(r.problem.is_none(), "{r:?}");
        assert_eq!(r.lines, 6);
        // Edited: line 3's verdict.
        let mut edited = lines.clone();
        edited[2] = String::from_utf8(edited[2].clone())
            .expect("utf-8")
            .replace("allow", "block")
            .into_bytes();
        let p = write(d.path(), &edited);
        let msg = verify(std::slice::from_ref(&p), None)
            .problem
            .expect("edit");
        assert!(msg.contains("line 4") && msg.contains("edited"), "{msg}");
        // Deleted line 3.
        let mut deleted = lines.clone();
        deleted.remove(2);
        let p = write(d.path(), &deleted);
        let msg = verify(std::slice::from_ref(&p), None)
            .problem
            .expect("delete");
        assert!(msg.contains("line 3") && msg.contains("deleted"), "{msg}");
        // Reordered lines 3 and 4.
        let mut moved = lines.clone();
        moved.swap(2, 3);
        let p = write(d.path(), &moved);
        let msg = verify(std::slice::from_ref(&p), None)
            .problem
            .expect("swap");
        assert!(msg.contains("line 3"), "{msg}");
        // A repeated line.
        let mut repeated = lines.clone();
        repeated.insert(3, lines[2].clone());
        let p = write(d.path(), &repeated);
        let msg = verify(std::slice::from_ref(&p), None)
            .problem
            .expect("insert");
        assert!(msg.contains("line 4") && msg.contains("repeated"), "{msg}");
    }

    /// Vanguards starting together beside one new log all get the same
    /// signing key; none reads the key file half-written (which once left
    /// one of them writing an unsigned head).
    #[test]
    fn racing_first_uses_share_one_whole_signing_key() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join(format!("audit{round}.jsonl"));
            let start = std::sync::Arc::new(std::sync::Barrier::new(6));
            let keys: Vec<Result<Vec<u8>, String>> = (0..6)
                .map(|_| {
                    let (log, start) = (log.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        signing_key(&log).map(|k| k.public_key().to_vec())
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|t| t.join().unwrap())
                .collect();
            let first = keys[0]
                .clone()
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            for k in &keys {
                assert_eq!(k.as_ref(), Ok(&first), "round {round}");
            }
            let leftovers: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp"))
                .collect();
            assert!(leftovers.is_empty(), "{leftovers:?}");
        }
    }

    #[test]
    fn the_head_file_shows_a_cut_tail() {
        let d = tempfile::tempdir().expect("tempdir");
        let lines = chain(5);
        let p = write(d.path(), &lines);
        let head = head_path(&p);
        std::fs::write(
            &head,
            format!("{{\"seq\":5,\"hash\":\"{}\"}}", hash(&lines[4])),
        )
        .expect("head");
        assert!(verify(std::slice::from_ref(&p), Some(&head))
            .problem
            .is_none());
        let p = write(d.path(), &lines[..3]);
        let msg = verify(std::slice::from_ref(&p), Some(&head))
            .problem
            .expect("cut");
        assert!(
            msg.contains("ends at seq 3") && msg.contains("cut"),
            "{msg}"
        );
    }

    #[test]
    fn the_last_link_is_read_from_the_tail() {
        let d = tempfile::tempdir().expect("tempdir");
        let lines = chain(3);
        let p = write(d.path(), &lines);
        let mut f = File::open(&p).expect("open");
        let l = last_link(&mut f).expect("read").expect("link");
        assert_eq!(l.seq, 3);
        assert_eq!(l.hash, hash(&lines[2]));
        // A half-written last line is not a link.
        let mut text = std::fs::read(&p).expect("read");
        text.extend_from_slice(b"{\"event_id\":\"partial");
        std::fs::write(&p, text).expect("write");
        let mut f = File::open(&p).expect("open");
        assert_eq!(last_link(&mut f).expect("read").expect("link").seq, 3);
    }

    /// A last line longer than the first window read (4 KiB) is found
    /// whole: the window grows until a complete line fits.
    #[test]
    fn a_long_last_line_is_read_whole() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut lines = Vec::new();
        let mut last = None;
        for len in [10, 20_000, 30, 70_000] {
            let mut l = format!(r#"{{"detail":"{}"}}"#, "y".repeat(len)).into_bytes();
            last = link(&mut l, last.as_ref());
            lines.push(l);
        }
        let p = write(d.path(), &lines);
        let mut f = File::open(&p).expect("open");
        let l = last_link(&mut f).expect("read").expect("link");
        assert_eq!(l, last.expect("linked"));
        assert_eq!(l.seq, 4);
    }
}
