//! Newline-delimited framing with a maximum line length.
//!
//! MCP's stdio transport is one JSON-RPC message per line. A peer that sends
//! a line longer than the limit must not make us buffer without bound: the
//! reader switches to discarding until the next newline and reports
//! [`Frame::TooLong`], so the session can answer with an error and go on.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Default maximum line length: 4 MiB, enough for large tool results and
/// small enough that a hostile peer cannot exhaust memory.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// One unit read from a newline-delimited stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line without its trailing `\n` (a trailing `\r` is kept; JSON treats it as whitespace).
    Line(Vec<u8>),
    /// A line that exceeded the limit; its bytes were discarded. `len` is the
    /// number of bytes seen (at least the limit + 1); `head` and `tail` are
    /// its first and last [`EDGE`] bytes, where the envelope's `id` usually
    /// is, so the message can still be answered.
    TooLong {
        len: usize,
        head: Vec<u8>,
        tail: Vec<u8>,
    },
}

/// How many bytes of each end of an oversized line are kept.
pub const EDGE: usize = 256;

/// An oversized line being discarded.
#[derive(Debug)]
struct Discard {
    len: usize,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Discard {
    fn new(bytes: &[u8]) -> Discard {
        Discard {
            len: bytes.len(),
            head: bytes.get(..EDGE).unwrap_or(bytes).to_vec(),
            tail: last_edge(&[], bytes),
        }
    }
    fn extend(&mut self, bytes: &[u8]) {
        self.len += bytes.len();
        self.tail = last_edge(&self.tail, bytes);
    }
    fn frame(self) -> Frame {
        Frame::TooLong {
            len: self.len,
            head: self.head,
            tail: self.tail,
        }
    }
}

/// The last [`EDGE`] bytes of `prev` followed by `next`.
fn last_edge(prev: &[u8], next: &[u8]) -> Vec<u8> {
    if next.len() >= EDGE {
        return next.get(next.len() - EDGE..).unwrap_or(next).to_vec();
    }
    let keep = EDGE - next.len();
    let from = prev.len().saturating_sub(keep);
    let mut out = prev.get(from..).unwrap_or(prev).to_vec();
    out.extend_from_slice(next);
    out
}

/// Reads [`Frame`]s from an async byte stream.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max: usize,
    /// The oversized line being discarded, if any.
    discarding: Option<Discard>,
    eof: bool,
}

const READ_CHUNK: usize = 64 * 1024;
/// A reader starts small and grows with the lines it sees: a hosted gateway
/// holds several readers per session, most of them idle.
const INITIAL_BUFFER: usize = 1024;
/// A read that fills the whole buffer means more is waiting: the buffer
/// doubles, up to this, so a busy stream is read in fewer system calls.
const BUSY_BUFFER: usize = 16 * 1024;

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        LineReader {
            inner,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            max: max_line_bytes.max(1),
            discarding: None,
            eof: false,
        }
    }

    /// Next frame, or `None` at end of stream. Empty lines are skipped.
    pub async fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        loop {
            if let Some(frame) = self.take_buffered() {
                match frame {
                    Frame::Line(ref l) if l.is_empty() || l == b"\r" => continue,
                    f => return Ok(Some(f)),
                }
            }
            if self.eof {
                return Ok(self.take_rest());
            }
            self.fill().await?;
        }
    }

    /// Extracts one frame from the buffer if a newline is present.
    fn take_buffered(&mut self) -> Option<Frame> {
        let window = self.buf.get(self.start..self.end)?;
        let pos = memchr::memchr(b'\n', window)?;
        let line = window.get(..pos).unwrap_or(window);
        let frame = if let Some(mut d) = self.discarding.take() {
            d.extend(line);
            d.frame()
        } else if pos > self.max {
            Discard::new(line).frame()
        } else {
            Frame::Line(with_room(line))
        };
        self.start += pos + 1;
        Some(frame)
    }

    /// At end of stream: a final line without a newline still counts.
    fn take_rest(&mut self) -> Option<Frame> {
        let rest = self.buf.get(self.start..self.end).unwrap_or_default();
        let frame = match self.discarding.take() {
            Some(mut d) => {
                d.extend(rest);
                Some(d.frame())
            }
            None if rest.is_empty() => None,
            None if rest.len() > self.max => Some(Discard::new(rest).frame()),
            None => {
                let blank = rest.iter().all(|b| b.is_ascii_whitespace());
                (!blank).then(|| Frame::Line(with_room(rest)))
            }
        };
        self.start = self.end;
        frame
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let pending = self.end - self.start;
        if pending > self.max {
            // The current line is already over the limit: drop what we hold
            // and remember how much was dropped (and its ends).
            let held = self.buf.get(self.start..self.end).unwrap_or_default();
            match self.discarding.as_mut() {
                Some(d) => d.extend(held),
                None => self.discarding = Some(Discard::new(held)),
            }
            self.start = 0;
            self.end = 0;
        } else if pending == 0 {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > BUSY_BUFFER {
                // Grown for a long line that is gone: give the memory back.
                self.buf = vec![0; INITIAL_BUFFER];
            }
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = pending;
        }
        if self.end == self.buf.len() {
            // Grow, but never past what one line may hold plus a chunk.
            let target = (self.buf.len() * 2).min(self.max + READ_CHUNK + 1);
            let target = target.max(self.end + READ_CHUNK.min(self.max + 1));
            self.buf.resize(target, 0);
        }
        let Some(free) = self.buf.get_mut(self.end..) else {
            return Ok(());
        };
        let room = free.len();
        let n = self.inner.read(free).await?;
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        if n == room && self.buf.len() < BUSY_BUFFER {
            let busy = (self.buf.len() * 2).min(BUSY_BUFFER);
            self.buf.resize(busy, 0);
        }
        Ok(())
    }
}

/// A line's bytes with room for one more: the relay puts the newline back
/// before forwarding, and a vector sized exactly would be reallocated for
/// that one byte on every message.
fn with_room(line: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(line.len() + 1);
    v.extend_from_slice(line);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A frame with an oversized line reduced to its length.
    #[derive(Debug, PartialEq)]
    enum F {
        Line(Vec<u8>),
        Long(usize),
    }

    fn frames(input: &[u8], max: usize) -> Vec<F> {
        full_frames(input, max)
            .into_iter()
            .map(|f| match f {
                Frame::Line(l) => F::Line(l),
                Frame::TooLong { len, .. } => F::Long(len),
            })
            .collect()
    }

    fn full_frames(input: &[u8], max: usize) -> Vec<Frame> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut r = LineReader::new(input, max);
            let mut out = Vec::new();
            while let Some(f) = r.next_frame().await.expect("read") {
                out.push(f);
            }
            out
        })
    }

    #[test]
    fn splits_lines_and_skips_blank_ones() {
        let f = frames(b"a\n\nbc\r\n\nd", 10);
        assert_eq!(
            f,
            vec![
                F::Line(b"a".to_vec()),
                F::Line(b"bc\r".to_vec()),
                F::Line(b"d".to_vec())
            ]
        );
    }

    #[test]
    fn lines_have_room_for_the_newline_put_back() {
        // The relay appends b'\n' to each forwarded line; a line sized
        // exactly would be reallocated for it on every message.
        for f in full_frames(b"{\"id\":1}\nlast line without newline", 100) {
            let Frame::Line(l) = f else {
                panic!("a short line is a line")
            };
            assert!(l.capacity() > l.len(), "{:?}", String::from_utf8_lossy(&l));
        }
    }

    #[test]
    fn oversized_line_is_reported_and_next_line_survives() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nok\n");
        let f = frames(&input, 10);
        assert_eq!(f, vec![F::Long(100), F::Line(b"ok".to_vec())]);
    }

    #[test]
    fn oversized_line_bigger_than_buffer_is_discarded_without_growth() {
        let mut input = vec![b'y'; 5 * READ_CHUNK + 7];
        input.extend_from_slice(b"\n{}\n");
        let f = frames(&input, 1000);
        assert_eq!(
            f,
            vec![F::Long(5 * READ_CHUNK + 7), F::Line(b"{}".to_vec())]
        );
    }

    #[test]
    fn line_of_exactly_the_limit_passes() {
        let mut input = vec![b'z'; 10];
        input.push(b'\n');
        assert_eq!(frames(&input, 10), vec![F::Line(vec![b'z'; 10])]);
    }

    #[test]
    fn oversized_line_keeps_its_ends() {
        // Across many reads: the head is the line's start, the tail its end.
        let mut input = b"{\"jsonrpc\":\"2.0\",\"id\":42,\"result\":\"".to_vec();
        input.extend(std::iter::repeat_n(b'a', 3 * READ_CHUNK));
        input.extend_from_slice(b"\",\"id\":43}\nnext\n");
        let f = full_frames(&input, 1000);
        let Some(Frame::TooLong { head, tail, len }) = f.first() else {
            panic!("{f:?}")
        };
        assert_eq!(*len, input.len() - 6);
        assert_eq!(head.len(), EDGE);
        assert!(head.starts_with(b"{\"jsonrpc\":\"2.0\",\"id\":42"));
        assert_eq!(tail.len(), EDGE);
        assert!(tail.ends_with(b"\"id\":43}"));
        // A short overflow: both ends are the whole line.
        let f = full_frames(b"0123456789ABC\n", 10);
        assert_eq!(
            f,
            vec![Frame::TooLong {
                len: 13,
                head: b"0123456789ABC".to_vec(),
                tail: b"0123456789ABC".to_vec()
            }]
        );
    }

    proptest! {
        /// Any sequence of lines, any limit: every line within the limit comes
        /// out unchanged and in order, every longer one becomes TooLong with
        /// its exact length, and nothing else appears.
        #[test]
        fn framing_round_trip(lines in proptest::collection::vec(
            proptest::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 1..300), 0..20),
            max in 1usize..200)
        {
            let mut input = Vec::new();
            for l in &lines { input.extend_from_slice(l); input.push(b'\n'); }
            let got = frames(&input, max);
            let want: Vec<F> = lines.iter()
                .filter(|l| l.as_slice() != b"\r")
                .map(|l| if l.len() > max { F::Long(l.len()) } else { F::Line(l.clone()) })
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
