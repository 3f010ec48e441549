//! Copies the server's stderr to ours, line by line, prefixed and
//! rate-limited, so a chatty or hostile server can neither flood the
//! terminal nor reach stdout (which belongs to the protocol).

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
                writeln!(err, "{prefix} {}", text.trim_end_matches('\r'))
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
