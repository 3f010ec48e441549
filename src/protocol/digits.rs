//! Integers written as JSON writes them, without the formatting machinery:
//! request ids and event ids are built for every message.

/// `v` in decimal, written on the stack.
pub struct Decimal {
    buf: [u8; 20],
    start: usize,
}

impl Decimal {
    pub fn new(v: u64) -> Decimal {
        let mut buf = [b'0'; 20];
        let mut start = buf.len();
        let mut rest = v;
        // u64::MAX has 20 digits: `start` stays in bounds.
        for slot in buf.iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
            start -= 1;
            if rest == 0 {
                break;
            }
        }
        Decimal { buf, start }
    }

    pub fn as_str(&self) -> &str {
        // ASCII digits only.
        std::str::from_utf8(self.buf.get(self.start..).unwrap_or_default()).unwrap_or_default()
    }
}

impl Decimal {
    /// The zeros that pad it to `width` digits (up to 32): `padding(w)`
    /// then `as_str()` is what `format!("{v:0w$}")` writes, without the
    /// formatting machinery, for ids built on every message.
    pub fn padding(&self, width: usize) -> &'static str {
        const ZEROS: &str = "00000000000000000000000000000000";
        let n = width.saturating_sub(self.as_str().len()).min(ZEROS.len());
        ZEROS.get(..n).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals_are_what_format_writes() {
        let mut values = vec![
            0u64,
            1,
            9,
            10,
            99,
            100,
            999_999,
            1_000_000,
            u64::MAX,
            u64::MAX - 1,
        ];
        values.extend((0..64).map(|b| 1u64 << b));
        values.extend((0..64).map(|b| (1u64 << b) - 1));
        for v in values {
            for width in [0, 1, 6, 25] {
                let d = super::Decimal::new(v);
                assert_eq!(
                    format!("{}{}", d.padding(width), d.as_str()),
                    format!("{v:0width$}")
                );
            }
        }
        for v in [0u64, 7, 42, u64::MAX] {
            assert_eq!(super::Decimal::new(v).as_str(), v.to_string());
        }
    }
}
