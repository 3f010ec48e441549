//! The stdio framing and the JSON-RPC envelope classifier, on arbitrary bytes.
//!
//! - `protocol::framing::LineReader` with a small maximum line, fed through a
//!   reader that hands the stream out in chunks whose sizes the input picks
//!   (so lines straddle reads, oversized lines start and end mid-chunk).
//!   Every frame is checked against a reference splitter written from the
//!   module's documentation.
//! - `protocol::message::classify` on each line and on the whole input,
//!   `classify_raw` on each batch element, `recover_ids` on the ends of an
//!   oversized line.
//!
//! - every request id met (in a message, in an `Invalid`, recovered from an
//!   oversized line) survives `to_value`/`from_value`, and `error_line`
//!   built for it classifies as an error response (the gateway answers by
//!   id this way).
//!
//! Input: byte 0 and 1 pick the maximum line length, byte 2 the number of
//! chunk-size bytes that follow; the rest is the stream. The whole input is
//! also classified as one line, so plain JSON-RPC lines work as seeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};
use vanguard::protocol::errors::{error_line, PARSE_ERROR};
use vanguard::protocol::framing::{Frame, LineReader, EDGE};
use vanguard::protocol::message::{
    classify, classify_raw, recover_ids, Invalid, Message, RequestId,
};

/// `VANGUARD_FUZZ_MASK_KNOWN=1` skips the checks of findings already
/// reported (README.md, "Findings"), so a long run can look further.
fn mask_known() -> bool {
    static MASK: OnceLock<bool> = OnceLock::new();
    *MASK.get_or_init(|| std::env::var_os("VANGUARD_FUZZ_MASK_KNOWN").is_some_and(|v| v == "1"))
}

/// Finding F1: serde_json (without `float_roundtrip`) reads some numbers
/// 1 ULP off, so a number id beyond 2^53 or with a fraction may not survive
/// `to_value` and back.
fn float_id(id: &RequestId) -> bool {
    let j = id.as_json();
    !j.starts_with('"') && (j.contains(['.', 'e', 'E']) || j.trim_start_matches('-').len() > 15)
}

fn check_id(id: &RequestId) {
    // The gateway re-spells ids through JSON when it answers.
    let back = RequestId::from_value(&id.to_value());
    if id.as_json() != "null" && !(mask_known() && float_id(id)) {
        assert_eq!(back.as_ref(), Some(id), "id {} does not round-trip", id.as_json());
    }
    let line = error_line(Some(id), PARSE_ERROR, "fuzz", None);
    let body = line.strip_suffix(b"\n").expect("error_line ends with a newline");
    match classify(body) {
        Ok(Message::Response { is_error: true, .. }) => {}
        other => panic!(
            "error_line for id {} does not classify as an error response: {other:?}",
            id.as_json()
        ),
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("current-thread runtime")
    })
}

/// A stream served in chunks of the sizes listed (cycled); a size byte below
/// 128 is that many bytes plus one, above it a multiple of 64.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    turn: usize,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let want = match this.sizes.get(this.turn % this.sizes.len().max(1)) {
            Some(&s) if s < 128 => s as usize + 1,
            Some(&s) => (s as usize - 127) * 64,
            None => usize::MAX,
        };
        this.turn += 1;
        let n = want.min(buf.remaining()).min(this.data.len());
        let (now, later) = this.data.split_at(n);
        buf.put_slice(now);
        this.data = later;
        Poll::Ready(Ok(()))
    }
}

/// What the framer must produce, from its documentation: lines split on
/// `\n`; empty lines and lone `\r` skipped; a line longer than `max` is
/// `TooLong` with its length; a last line without a newline counts unless
/// it is blank.
#[derive(Debug, PartialEq)]
enum Want<'a> {
    Line(&'a [u8]),
    Long(&'a [u8]),
}

fn reference(data: &[u8], max: usize) -> Vec<Want<'_>> {
    let mut pieces: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let last = pieces.pop().unwrap_or_default();
    let mut out = Vec::new();
    for p in pieces {
        if p.len() > max {
            out.push(Want::Long(p));
        } else if !(p.is_empty() || p == b"\r") {
            out.push(Want::Line(p));
        }
    }
    if last.len() > max {
        out.push(Want::Long(last));
    } else if !last.iter().all(|b| b.is_ascii_whitespace()) {
        out.push(Want::Line(last));
    }
    out
}

fn check_message(m: &Message<'_>, depth: usize) {
    match m {
        Message::Request { id, method, params } => {
            assert!(!method.is_empty(), "request with an empty method");
            check_id(id);
            if let Some(p) = params {
                assert_json(p.get(), "params RawValue is not JSON");
            }
        }
        Message::Notification { method, params } => {
            assert!(!method.is_empty(), "notification with an empty method");
            if let Some(p) = params {
                // A borrowed RawValue must be valid JSON on its own.
                assert_json(p.get(), "params RawValue is not JSON");
            }
        }
        Message::Response { id, is_error, result, error } => {
            check_id(id);
            assert_eq!(*is_error, error.is_some(), "is_error disagrees with error");
            for raw in [result, error].into_iter().flatten() {
                assert_json(raw.get(), "result/error RawValue is not JSON");
            }
        }
        Message::Batch(items) => {
            assert!(!items.is_empty(), "an empty batch was accepted");
            assert_eq!(depth, 0, "a batch inside a batch");
            for item in items {
                match classify_raw(item) {
                    Ok(inner) => {
                        assert!(!matches!(inner, Message::Batch(_)), "nested batch accepted");
                        check_message(&inner, depth + 1)
                    }
                    Err(e) => check_invalid(&e),
                }
            }
        }
    }
}

fn check_invalid(e: &Invalid) {
    let code = e.code();
    assert!(code == -32700 || code == -32600, "unexpected error code {code}");
    let _ = e.to_string();
    if let Some(id) = e.id() {
        check_id(id);
    }
}

fn classify_line(line: &[u8]) {
    match classify(line) {
        Ok(m) => check_message(&m, 0),
        Err(e) => check_invalid(&e),
    }
}

fuzz_target!(|input: &[u8]| {
    classify_line(input);
    let (head, tail) = (&input[..input.len().min(EDGE)], &input[input.len().saturating_sub(EDGE)..]);
    for id in recover_ids(head, tail) {
        check_id(&id);
    }
    if input.len() < 3 {
        return;
    }
    // Mostly small limits (the interesting edges are near EDGE and the
    // chunk sizes), sometimes up to ~4 KiB.
    let max = if input[0] & 0x80 == 0 {
        (input[1] as usize) + 1
    } else {
        (((input[0] & 0x0f) as usize) << 8 | input[1] as usize) + 1
    };
    let nsizes = (input[2] as usize % 17).min(input.len() - 3);
    let sizes = &input[3..3 + nsizes];
    let data = &input[3 + nsizes..];

    classify_line(data);

    let frames = runtime().block_on(async {
        let mut reader = LineReader::new(
            Chunked {
                data,
                sizes,
                turn: 0,
            },
            max,
        );
        let mut out = Vec::new();
        while let Some(f) = reader.next_frame().await.expect("in-memory read failed") {
            out.push(f);
            assert!(out.len() <= data.len() + 1, "more frames than bytes");
        }
        out
    });

    let want = reference(data, max);
    assert_eq!(
        frames.len(),
        want.len(),
        "frame count differs from the reference (max {max}): got {frames:?}"
    );
    for (got, want) in frames.iter().zip(&want) {
        match (got, want) {
            (Frame::Line(l), Want::Line(w)) => assert_eq!(l.as_slice(), *w, "line differs"),
            (Frame::TooLong { len, head, tail }, Want::Long(w)) => {
                assert_eq!(*len, w.len(), "TooLong length differs");
                assert!(*len > max, "TooLong within the limit");
                assert!(head.len() <= EDGE && tail.len() <= EDGE, "edge over EDGE");
                assert!(w.starts_with(head), "head is not the line's start");
                assert!(w.ends_with(tail), "tail is not the line's end");
                assert_eq!(
                    tail.len(),
                    w.len().min(EDGE),
                    "tail is not the last EDGE bytes"
                );
                if max >= EDGE {
                    assert_eq!(
                        head.len(),
                        w.len().min(EDGE),
                        "head is not the first EDGE bytes"
                    );
                }
                for id in recover_ids(head, tail) {
                    check_id(&id);
                }
            }
            (g, w) => panic!("frame kind differs (max {max}): got {g:?}, want {w:?}"),
        }
        if let Frame::Line(l) = got {
            classify_line(l);
        }
    }
});

/// A borrowed RawValue is JSON text: it parses, or holds a number outside
/// what a double can hold (valid JSON; vanguard's inspector reports such a
/// reply as unreadable instead of relaying it).
fn assert_json(raw: &str, what: &str) {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(raw) {
        assert!(e.to_string().contains("number out of range"), "{what}: {e}");
    }
}
