//! A string kept inline up to `N` bytes, on the heap beyond: for the short
//! labels made on every call (an audit event's id, method and tool; a
//! request id), where an allocation per label was a measurable share of a
//! call's cost.

use serde::{Serialize, Serializer};

#[derive(Clone)]
pub struct InlineStr<const N: usize>(Repr<N>);

/// Private, so that only [`InlineStr::concat`] makes an inline string:
/// `as_str` relies on its bytes being UTF-8.
#[derive(Clone)]
enum Repr<const N: usize> {
    Inline { len: u8, bytes: [u8; N] },
    Heap(Box<str>),
}

impl<const N: usize> InlineStr<N> {
    /// The length is kept in a byte.
    const FITS_A_BYTE: () = assert!(N <= u8::MAX as usize);

    pub fn new(s: &str) -> Self {
        Self::concat(&[s])
    }

    /// The parts one after the other, inline when together they fit.
    pub fn concat(parts: &[&str]) -> Self {
        let () = Self::FITS_A_BYTE;
        let mut bytes = [0u8; N];
        let mut len = 0;
        for part in parts {
            let Some(slot) = bytes.get_mut(len..len + part.len()) else {
                return Self::heap(parts.concat().into_boxed_str());
            };
            slot.copy_from_slice(part.as_bytes());
            len += part.len();
        }
        InlineStr(Repr::Inline {
            len: len as u8,
            bytes,
        })
    }

    /// A string kept on the heap whatever its length.
    pub fn heap(s: Box<str>) -> Self {
        InlineStr(Repr::Heap(s))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let b = bytes.get(..usize::from(*len)).unwrap_or_default();
                // SAFETY: `Repr` is private and `concat` is the only code
                // that makes `Repr::Inline`: it copies whole `&str`s one
                // after another from the start of `bytes` and sets `len`
                // to their total, so `bytes[..len]` is a concatenation of
                // UTF-8 strings, which is UTF-8. (Checking it again here
                // cost ~80 instructions per call, several calls per
                // relayed message: hashing and comparing request ids,
                // writing audit labels.)
                unsafe { std::str::from_utf8_unchecked(b) }
            }
            Repr::Heap(s) => s,
        }
    }

    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl<const N: usize> std::ops::Deref for InlineStr<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> std::fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> From<&str> for InlineStr<N> {
    fn from(s: &str) -> Self {
        InlineStr::new(s)
    }
}

impl<const N: usize> From<String> for InlineStr<N> {
    fn from(s: String) -> Self {
        if s.len() > N {
            // Kept in the string's own allocation.
            return Self::heap(s.into_boxed_str());
        }
        InlineStr::new(&s)
    }
}

impl<const N: usize> Default for InlineStr<N> {
    fn default() -> Self {
        InlineStr::new("")
    }
}

impl<const N: usize> std::fmt::Display for InlineStr<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq for InlineStr<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<const N: usize> Eq for InlineStr<N> {}

impl<const N: usize> PartialEq<str> for InlineStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for InlineStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A short name made on every call (an audit event's id, method and tool,
/// the tool a call names): inline up to 38 bytes, which an event id
/// (12 + 1 + up to 20 digits), every MCP method name and ordinary tool
/// names fit.
pub type Label = InlineStr<LABEL_BYTES>;

/// Bytes a [`Label`] keeps inline.
pub const LABEL_BYTES: usize = 38;

impl<const N: usize> Serialize for InlineStr<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::InlineStr;

    #[test]
    fn parts_are_joined_inline_while_they_fit_and_on_the_heap_beyond() {
        for parts in [
            &["", ""][..],
            &["#", "-", "12"],
            &["abcd", "efgh"],
            &["abcd", "efghi"],
            &["é", "名前x"],
        ] {
            let s = InlineStr::<8>::concat(parts);
            let joined = parts.concat();
            assert_eq!(s.as_str(), joined);
            assert_eq!(s.is_inline(), joined.len() <= 8, "{joined}");
        }
        // Multi-byte characters across the parts' joins and up to the
        // inline limit read back whole.
        for parts in [&["é", "é", "é", "é"][..], &["名", "前", "xy"], &["𝄞", "𝄞"]] {
            let s = InlineStr::<8>::concat(parts);
            assert!(s.is_inline());
            assert_eq!(s.as_str(), parts.concat());
            assert_eq!(
                s.as_str().chars().count(),
                parts.iter().map(|p| p.chars().count()).sum::<usize>()
            );
        }
    }
}
