//! A gateway session: the two pumps between agent and upstream, the table
//! of requests in flight, verdicts applied, and the shutdown order.
//!
//! ```text
//! agent ──lines──▶ agent pump ──classify──▶ inspector ──allow──▶ upstream writer ──▶ child stdin
//!   ▲                    │ block: one error response                 
//!   └── agent writer ◀───┴───────────────── upstream pump ◀── child stdout
//! ```
//! Both pumps write to the agent through one channel, so every line reaches
//! the agent whole and in the order it was decided.

pub mod control;
pub mod server_side;
pub mod session;
pub mod upstream;

pub use session::{live_sessions, reset_risk, run, Outcome, SessionConfig, SessionInfo};
pub use upstream::{Stop, Upstream};
