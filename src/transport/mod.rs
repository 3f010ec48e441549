//! Moving bytes: the agent side (our stdin/stdout for `vanguard start`) and
//! the upstream side (the child's pipes). No decisions are made here.

pub mod child;
pub mod stderr;
pub mod stdio;
