//! PLACEHOLDER written by the lead so the tree compiles; helper-6 replaces this file wholesale.
use super::Finding;
use serde_json::Value;
pub enum ScanMode {
    Detect,
    Redact,
}
pub fn scan(_value: &mut Value, _mode: ScanMode) -> Vec<Finding> {
    Vec::new()
}
