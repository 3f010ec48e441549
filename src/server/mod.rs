//! The hosted gateway: vanguard as an HTTP server (`vanguard sse`). It
//! authenticates callers, applies rate and concurrency limits, and runs one
//! gateway session per MCP session over in-memory pipes; `transport` only
//! moves bytes.

pub mod http;
pub mod ui;
