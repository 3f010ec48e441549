//! Canonical forms the layers share: hosts and addresses ([`host`]), the
//! egress allow-list matched on them ([`allow`]), paths as the kernel will
//! see them ([`path`]), and percent-decoding ([`percent`]).
//!
//! A leaf module: it uses nothing of the crate, so the policy loader, the
//! inspector (L0 views) and the sandbox (the egress proxy) decide on the
//! same canonical form without depending on each other.

pub mod allow;
pub mod host;
pub mod path;
pub mod percent;

pub use allow::{split_host_port, AllowList, AllowListError};
pub use host::{canonical_host, HostView};
pub use path::{lexical_path, resolve_existing};
