//! The scorer's settings are part of the policy (`[semantic]`); see
//! `policy::semantic`.

pub use crate::policy::semantic::{Settings, TIMEOUT_ENV};
