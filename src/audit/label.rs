//! Short strings of an audit event (its id, the method, the tool name) kept
//! inside the event rather than on the heap.
//!
//! Events are made on the session's thread and dropped on the audit
//! writer's. Every heap string an event carried was allocated by one thread
//! and freed by the other, so neither thread's allocator cache ever got its
//! blocks back and took the allocator's slow path (malloc and free were
//! about a third of the session thread's CPU under load, part of it this
//! traffic; see docs/ARCHITECTURE.md). A label up to 38 bytes
//! ([`crate::protocol::inline::LABEL_BYTES`]) lives in the event itself; a
//! longer one (a method or tool name from a hostile peer can be anything)
//! goes to the heap as before.

/// The same type as the method name a session keeps for a request in
/// flight and L3's tool names, so a label is copied, never converted.
pub type Label = crate::protocol::inline::Label;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::inline::LABEL_BYTES as INLINE;

    #[test]
    fn short_labels_stay_inline_and_long_ones_are_kept_whole() {
        for s in [
            "",
            "tools/call",
            "notifications/resources/list_changed",
            "2ffa508f9faf-18446744073709551615",
            "ünïcødé-tool-名前",
            &"x".repeat(INLINE),
            &"y".repeat(INLINE + 1),
            &"é".repeat(100),
        ] {
            let l = Label::new(s);
            assert_eq!(l.as_str(), s);
            assert_eq!(Label::from(s.to_string()).as_str(), s);
            assert_eq!(l.is_inline(), s.len() <= INLINE, "{s}");
            assert_eq!(
                serde_json::to_string(&l).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
        // An escape-worthy label is escaped like any string.
        assert_eq!(
            serde_json::to_string(&Label::new("a\"b\n")).unwrap(),
            r#""a\"b\n""#
        );
    }
}
