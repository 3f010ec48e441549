//! RFC 3339 UTC timestamps with microseconds, without a date-time crate:
//! the conversion from days since the epoch to a civil date is a dozen lines
//! (Howard Hinnant's algorithm), not worth a dependency.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn rfc3339_now() -> String {
    Stamp::now().to_string()
}

pub fn format_unix(secs: u64, micros: u32) -> String {
    Stamp::at(secs, micros).to_string()
}

/// An instant of the audit log: kept as a count when the event is made and
/// written as RFC 3339 when it is serialised, on the audit writer's thread
/// rather than the session's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    secs: u64,
    micros: u32,
}

impl Stamp {
    /// The instant `secs` seconds and `micros` microseconds after the epoch.
    pub fn at(secs: u64, micros: u32) -> Stamp {
        Stamp { secs, micros }
    }

    pub fn now() -> Stamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Stamp {
            secs: d.as_secs(),
            micros: d.subsec_micros(),
        }
    }

    /// Appends the stamp's text to `out`.
    pub fn push_to(&self, out: &mut Vec<u8>) {
        match self.four_digit_year() {
            Some(b) => out.extend_from_slice(&b),
            None => {
                use std::io::Write;
                let _ = write!(out, "{self}");
            }
        }
    }

    /// The text for years 0 to 9999 (every stamp a clock gives), digits
    /// written in place: `format!` with widths cost more than the rest of
    /// an event's header.
    fn four_digit_year(&self) -> Option<[u8; 27]> {
        let (secs, micros) = (self.secs, self.micros);
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        if !(0..=9999).contains(&y) {
            return None;
        }
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        for (at, v) in [
            (0..4, y as u64),
            (5..7, u64::from(m)),
            (8..10, u64::from(d)),
            (11..13, rem / 3600),
            (14..16, (rem % 3600) / 60),
            (17..19, rem % 60),
            (20..26, u64::from(micros)),
        ] {
            put_digits(&mut b, at, v);
        }
        Some(b)
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(b) = self.four_digit_year() {
            return f.write_str(std::str::from_utf8(&b).unwrap_or_default());
        }
        let (secs, micros) = (self.secs, self.micros);
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `v` in decimal, zero-padded to fill `at`.
fn put_digits(buf: &mut [u8], at: std::ops::Range<usize>, mut v: u64) {
    if let Some(slot) = buf.get_mut(at) {
        for c in slot.iter_mut().rev() {
            *c = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_unix(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(format_unix(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(format_unix(1_795_000_000, 0), "2026-11-18T11:06:40.000000Z");
        assert_eq!(
            format_unix(4_107_542_399, 999_999),
            "2100-02-28T23:59:59.999999Z"
        );
        assert_eq!(
            format_unix(253_402_300_800, 1),
            "10000-01-01T00:00:00.000001Z"
        );
        let stamp = Stamp {
            secs: 951_782_400,
            micros: 5,
        };
        assert_eq!(
            serde_json::to_string(&stamp).unwrap(),
            "\"2000-02-29T00:00:00.000005Z\""
        );
    }
}
