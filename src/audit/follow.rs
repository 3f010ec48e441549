//! Following an audit log as it grows (`vanguard audit tail --follow`, the
//! dashboard): complete lines only, across rotation and truncation.
//!
//! The writer rotates by renaming `LOG` to `LOG.1` and creating a new `LOG`.
//! The follower keeps its file open, so after a rename it still reads the
//! old file to its end before it switches to the new one: no line written
//! just before a rotation is lost. A file that shrank under the follower
//! (truncated, or replaced by a shorter one with the same inode) is read
//! again from its start.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A longer line is cut here and marked; a log line is a few hundred bytes.
pub const MAX_LINE: usize = 1 << 20;

/// Reads new complete lines of one log file.
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    ino: u64,
    pos: u64,
    partial: Vec<u8>,
    /// A line longer than [`MAX_LINE`] is being skipped to its end.
    skipping: bool,
}

impl Follower {
    /// Follows `path` from its current end (`from_start` false) or from its
    /// first line. A missing file is not an error: it is picked up when it
    /// appears.
    pub fn new(path: &Path, from_start: bool) -> Follower {
        let mut f = Follower {
            path: path.to_path_buf(),
            file: None,
            ino: 0,
            pos: 0,
            partial: Vec::new(),
            skipping: false,
        };
        if let Ok(file) = File::open(path) {
            if let Ok(meta) = file.metadata() {
                f.ino = meta.ino();
                if !from_start {
                    f.pos = meta.len();
                }
                f.file = Some(file);
            }
        }
        f
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The complete lines written since the last call (without their
    /// newline; empty lines skipped).
    pub fn poll(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        self.read_open(&mut out);
        // Rotated or replaced: the open file is finished (read above); go
        // on with the file now at the path, from its start.
        let now = std::fs::metadata(&self.path).ok();
        match (&self.file, now) {
            (None, Some(meta)) => {
                if let Ok(file) = File::open(&self.path) {
                    self.ino = meta.ino();
                    self.pos = 0;
                    self.partial.clear();
                    self.file = Some(file);
                    self.read_open(&mut out);
                }
            }
            (Some(_), Some(meta)) if meta.ino() != self.ino => {
                self.file = None;
                // A line cut by the rotation stays incomplete: the writer
                // never splits a line across files.
                self.partial.clear();
                // Rotated more than once since the last poll: the files
                // between ours (now `LOG.k`) and the new `LOG` are read whole.
                for between in self.rotated_since() {
                    if let Ok(file) = File::open(&between) {
                        self.file = Some(file);
                        self.pos = 0;
                        self.read_open(&mut out);
                        self.partial.clear();
                    }
                }
                self.file = None;
                if let Ok(file) = File::open(&self.path) {
                    self.ino = meta.ino();
                    self.pos = 0;
                    self.file = Some(file);
                    self.read_open(&mut out);
                }
            }
            (Some(_), Some(meta)) if meta.len() < self.pos => {
                self.pos = 0;
                self.partial.clear();
                self.read_open(&mut out);
            }
            _ => {}
        }
        out
    }

    /// `LOG.k-1`, …, `LOG.1` when the file we were reading is now `LOG.k`
    /// (oldest first); empty when it is `LOG.1` or gone.
    fn rotated_since(&self) -> Vec<PathBuf> {
        let mut k = 1;
        loop {
            let p = super::chain::rotated(&self.path, k);
            match std::fs::metadata(&p) {
                Ok(m) if m.ino() == self.ino => break,
                Ok(_) if k < 10_000 => k += 1,
                _ => return Vec::new(),
            }
        }
        (1..k)
            .rev()
            .map(|j| super::chain::rotated(&self.path, j))
            .collect()
    }

    fn read_open(&mut self, out: &mut Vec<String>) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if file.seek(SeekFrom::Start(self.pos)).is_err() {
            return;
        }
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            self.pos += n as u64;
            let chunk = buf.get(..n).unwrap_or(&[]);
            let mut pieces = chunk.split(|b| *b == b'\n').peekable();
            while let Some(piece) = pieces.next() {
                let ends_a_line = pieces.peek().is_some();
                if !self.skipping {
                    self.partial.extend_from_slice(piece);
                }
                if ends_a_line {
                    if !self.skipping && !self.partial.is_empty() && self.partial.len() <= MAX_LINE
                    {
                        out.push(String::from_utf8_lossy(&self.partial).into_owned());
                    }
                    self.partial.clear();
                    self.skipping = false;
                } else if self.partial.len() > MAX_LINE {
                    self.partial.clear();
                    self.skipping = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(p: &Path, s: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }

    #[test]
    fn lines_across_partial_writes_rotation_and_truncation() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("audit.jsonl");
        append(&log, "old\n");
        let mut f = Follower::new(&log, false);
        assert!(f.poll().is_empty(), "starts at the end");
        append(&log, "a\nb");
        assert_eq!(f.poll(), vec!["a"]);
        append(&log, "c\n\n");
        assert_eq!(f.poll(), vec!["bc"]);
        // Rotation: a line written to the old file after our last read is
        // still delivered, then the new file from its start.
        append(&log, "last-of-old\n");
        std::fs::rename(&log, d.path().join("audit.jsonl.1")).unwrap();
        append(&log, "first-of-new\n");
        assert_eq!(f.poll(), vec!["last-of-old", "first-of-new"]);
        // Rotated three times between two polls: nothing is skipped.
        append(&log, "a1\n");
        std::fs::rename(&log, d.path().join("audit.jsonl.1")).unwrap();
        append(&log, "b1\n");
        for n in [3, 2, 1] {
            let from = d.path().join(format!("audit.jsonl.{n}"));
            if from.exists() {
                std::fs::rename(&from, d.path().join(format!("audit.jsonl.{}", n + 1))).unwrap();
            }
        }
        std::fs::rename(&log, d.path().join("audit.jsonl.1")).unwrap();
        append(&log, "c1\n");
        for n in [4, 3, 2, 1] {
            let from = d.path().join(format!("audit.jsonl.{n}"));
            if from.exists() {
                std::fs::rename(&from, d.path().join(format!("audit.jsonl.{}", n + 1))).unwrap();
            }
        }
        std::fs::rename(&log, d.path().join("audit.jsonl.1")).unwrap();
        append(&log, "d1\n");
        assert_eq!(f.poll(), vec!["a1", "b1", "c1", "d1"]);
        // Truncated in place.
        std::fs::write(&log, "").unwrap();
        append(&log, "x\n");
        assert_eq!(f.poll(), vec!["x"]);
    }

    #[test]
    fn missing_file_is_picked_up_and_long_lines_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("later.jsonl");
        let mut f = Follower::new(&log, true);
        assert!(f.poll().is_empty());
        append(&log, "hello\n");
        assert_eq!(f.poll(), vec!["hello"]);
        let long = "y".repeat(MAX_LINE + 10);
        append(&log, &format!("{long}\nafter\n"));
        assert_eq!(f.poll(), vec!["after"]);
    }
}
