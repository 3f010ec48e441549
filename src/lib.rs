//! vanguard: a security gateway and kernel sandbox for MCP servers on Linux.
//!
//! Modules, by layer (a module uses only lower layers; see
//! `docs/ARCHITECTURE.md` and `scripts/check-layers.py`, which CI runs):
//!
//! ```text
//! 5  cli ───────────────────────────────────────── the command line
//! 4  server (HTTP gateway)   bench (corpus runner)
//! 3  gateway ──────────────────────────────────── one session: pumps, verdicts, audit
//! 2  components: inspect (L0/L1, metadata, results)  behavior (L3)  semantic (L2)
//!                sandbox (Landlock, seccomp, namespaces, egress)  launch (npx/uvx…)
//!                auth  audit  pins  transport (bytes: stdio, child pipes)
//!                sigstore (bundles, npm signatures; uses nothing of the crate)
//! 1  policy ───────────────────────────────────── profiles → one validated Policy
//! 0  leaves: verdict  canon (hosts, paths, allow-lists)  glob  json (the walker)
//!            protocol (JSON-RPC)  trust (keys, signatures, signers, rule packs)
//! ```
//!
//! Data flow: `policy` loads a profile; `launch` resolves the server command;
//! `sandbox::from_policy` compiles the plan the server runs under; `gateway`
//! runs a session, asking `inspect`, `behavior` and `semantic` for a verdict
//! on every message; `audit` records every decision.

// No panics outside tests: a hostile message or a broken configuration
// gets an error, never an abort (constant regexes carry an allow with
// their reason).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod audit;
pub mod auth;
pub mod behavior;
pub mod bench;
pub mod canon;
pub mod cli;
pub mod gateway;
pub mod glob;
pub mod inspect;
pub mod json;
pub mod launch;
pub mod pins;
pub mod policy;
pub mod protocol;
pub mod sandbox;
pub mod semantic;
pub mod server;
pub mod sigstore;
pub mod transport;
pub mod trust;
pub mod verdict;
