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
    /// number of bytes seen (at least the limit + 1).
    TooLong { len: usize },
}

/// Reads [`Frame`]s from an async byte stream.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max: usize,
    /// Bytes discarded so far of an oversized line, when discarding.
    discarding: Option<usize>,
    eof: bool,
}

const READ_CHUNK: usize = 64 * 1024;
/// A reader starts small and grows with the lines it sees: a hosted gateway
/// holds several readers per session, most of them idle.
const INITIAL_BUFFER: usize = 4 * 1024;

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
        let window = &self.buf[self.start..self.end];
        let pos = memchr::memchr(b'\n', window)?;
        let line_start = self.start;
        self.start += pos + 1;
        if let Some(dropped) = self.discarding.take() {
            return Some(Frame::TooLong { len: dropped + pos });
        }
        if pos > self.max {
            return Some(Frame::TooLong { len: pos });
        }
        Some(Frame::Line(self.buf[line_start..line_start + pos].to_vec()))
    }

    /// At end of stream: a final line without a newline still counts.
    fn take_rest(&mut self) -> Option<Frame> {
        let rest = self.end - self.start;
        let discarded = self.discarding.take();
        self.start = self.end;
        match discarded {
            Some(d) => Some(Frame::TooLong { len: d + rest }),
            None if rest == 0 => None,
            None if rest > self.max => Some(Frame::TooLong { len: rest }),
            None => {
                let line = self.buf[self.end - rest..self.end].to_vec();
                let blank = line.iter().all(|b| b.is_ascii_whitespace());
                (!blank).then_some(Frame::Line(line))
            }
        }
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let pending = self.end - self.start;
        if pending > self.max {
            // The current line is already over the limit: drop what we hold
            // and remember how much was dropped.
            *self.discarding.get_or_insert(0) += pending;
            self.start = 0;
            self.end = 0;
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
        let n = self.inner.read(&mut self.buf[self.end..]).await?;
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(input: &[u8], max: usize) -> Vec<Frame> {
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
                Frame::Line(b"a".to_vec()),
                Frame::Line(b"bc\r".to_vec()),
                Frame::Line(b"d".to_vec())
            ]
        );
    }

    #[test]
    fn oversized_line_is_reported_and_next_line_survives() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nok\n");
        let f = frames(&input, 10);
        assert_eq!(
            f,
            vec![Frame::TooLong { len: 100 }, Frame::Line(b"ok".to_vec())]
        );
    }

    #[test]
    fn oversized_line_bigger_than_buffer_is_discarded_without_growth() {
        let mut input = vec![b'y'; 5 * READ_CHUNK + 7];
        input.extend_from_slice(b"\n{}\n");
        let f = frames(&input, 1000);
        assert_eq!(
            f,
            vec![
                Frame::TooLong {
                    len: 5 * READ_CHUNK + 7
                },
                Frame::Line(b"{}".to_vec())
            ]
        );
    }

    #[test]
    fn line_of_exactly_the_limit_passes() {
        let mut input = vec![b'z'; 10];
        input.push(b'\n');
        assert_eq!(frames(&input, 10), vec![Frame::Line(vec![b'z'; 10])]);
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
            let want: Vec<Frame> = lines.iter()
                .filter(|l| l.as_slice() != b"\r")
                .map(|l| if l.len() > max { Frame::TooLong { len: l.len() } } else { Frame::Line(l.clone()) })
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
