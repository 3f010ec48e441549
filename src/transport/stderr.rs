//! Copies the server's stderr to ours, line by line, prefixed and
//! rate-limited, so a chatty or hostile server can neither flood the
//! terminal nor reach stdout (which belongs to the protocol). Control
//! characters are shown escaped (`\x1b`, `\u{9b}`): a server cannot move
//! the cursor, rewrite earlier lines, set the window title or forge a line
//! of vanguard's own on the operator's terminal.

use crate::protocol::framing::{Frame, LineReader};
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::io::AsyncRead;

const MAX_STDERR_LINE: usize = 16 * 1024;

pub async fn pump<R: AsyncRead + Unpin>(src: R, prefix: String, lines_per_sec: u32) {
    let mut reader = LineReader::new(src, MAX_STDERR_LINE);
    let mut window = Instant::now();
    let mut in_window = 0u32;
    let mut suppressed = 0u64;
    while let Ok(Some(frame)) = reader.next_frame().await {
        if window.elapsed() >= Duration::from_secs(1) {
            if suppressed > 0 {
                let _ = writeln!(
                    std::io::stderr(),
                    "{prefix} … {suppressed} lines suppressed (rate limit)"
                );
                suppressed = 0;
            }
            window = Instant::now();
            in_window = 0;
        }
        in_window += 1;
        if lines_per_sec > 0 && in_window > lines_per_sec {
            suppressed += 1;
            continue;
        }
        let mut err = std::io::stderr().lock();
        let _ = match frame {
            Frame::Line(l) => {
                let text = String::from_utf8_lossy(&l);
                writeln!(err, "{prefix} {}", escape(text.trim_end_matches('\r')))
            }
            Frame::TooLong { len, .. } => writeln!(err, "{prefix} … a {len}-byte line was cut"),
        };
    }
    if suppressed > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "{prefix} … {suppressed} lines suppressed (rate limit)"
        );
    }
}

/// `line` with every control character escaped (tabs kept): C0 controls and
/// DEL as `\xNN`, C1 controls (8-bit CSI and friends) as `\u{NN}`, and the
/// Unicode bidi and line/paragraph separators that reorder or split lines.
pub fn escape(line: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && c != '\t')
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !line.chars().any(bad) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if !bad(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape("plain text\twith a tab"), "plain text\twith a tab");
        assert_eq!(
            escape("\x1b[2J\x1b]0;owned\x07"),
            "\\x1b[2J\\x1b]0;owned\\x07"
        );
        assert_eq!(escape("a\u{9b}31mb"), "a\\u{9b}31mb");
        assert_eq!(escape("back\x08\x08"), "back\\x08\\x08");
        assert_eq!(escape("x\u{202e}gnp.exe"), "x\\u{202e}gnp.exe");
        assert_eq!(escape("cr\rhere"), "cr\\x0dhere");
    }
}
