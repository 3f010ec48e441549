//! Integers written as JSON writes them, without the formatting machinery:
//! request ids and event ids are built for every message.

/// Appends `v` in decimal, zero-padded to at least `width` digits: what
/// `format!("{v:0width$}")` writes, without the formatting machinery, for
/// ids built on every message.
pub fn push_decimal(out: &mut String, v: u64, width: usize) {
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
    for _ in buf.len() - start..width {
        out.push('0');
    }
    out.push_str(std::str::from_utf8(buf.get(start..).unwrap_or_default()).unwrap_or_default());
}

/// Appends `v` in decimal, as JSON writes an integer.
pub fn push_int(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_decimal(out, v.unsigned_abs(), 1);
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
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, -9_007_199_254_740_993, 42] {
            let mut out = String::new();
            super::push_int(&mut out, v);
            assert_eq!(out, v.to_string());
        }
    }
}
