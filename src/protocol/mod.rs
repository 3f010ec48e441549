//! JSON-RPC 2.0 as MCP uses it: newline framing with a byte limit
//! ([`framing`]), classification of one line into a message kind
//! ([`message`]), and the error responses vanguard itself sends ([`errors`]).
//! Nothing here knows about policy.

pub mod digits;
pub mod errors;
pub mod framing;
pub mod inline;
pub mod message;

/// Protocol revisions vanguard has been built and tested against. Newer or
/// unknown revisions are still relayed; this list feeds `initialize` logging.
pub const KNOWN_PROTOCOL_VERSIONS: &[&str] = &[
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
];
