//! vanguard: a security gateway and kernel sandbox for MCP servers on Linux.
//!
//! Data flow (see `docs/ARCHITECTURE.md`):
//! `policy` loads a profile and compiles it into an `inspect::Inspector` and a
//! `sandbox::Plan`; `transport` moves bytes between the agent and the upstream;
//! `gateway` runs a session, asking the inspector for a verdict on every
//! message; `audit` records every decision.

pub mod audit;
pub mod auth;
pub mod behavior;
pub mod bench;
pub mod cli;
pub mod gateway;
pub mod inspect;
pub mod launch;
pub mod pins;
pub mod policy;
pub mod protocol;
pub mod sandbox;
pub mod semantic;
pub mod transport;
