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

/// Appends `v` in decimal, zero-padded to at least `width` digits: what
/// `format!("{v:0width$}")` writes, without the formatting machinery, for
/// ids built on every message.
pub fn push_decimal(out: &mut String, v: u64, width: usize) {
    let digits = Decimal::new(v);
    let digits = digits.as_str();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
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
                let mut out = String::from("x");
                super::push_decimal(&mut out, v, width);
                assert_eq!(out, format!("x{v:0width$}"));
            }
        }
        for v in [0u64, 7, 42, u64::MAX] {
            assert_eq!(super::Decimal::new(v).as_str(), v.to_string());
        }
    }
}
