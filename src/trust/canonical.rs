//! Canonical JSON: the bytes a signature covers.
//!
//! The original product (McpVanguard, Python) signs
//! `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
//! encoded as UTF-8. These bytes must match it exactly, so this module has
//! its own small JSON reader rather than `serde_json::Value`, which would
//! lose what Python keeps: integers of any size (Python's `int`), `NaN` and
//! `Infinity` (Python reads and writes them), and it would print floats the
//! way `ryu` does (`1e16`), not the way Python's `repr` does (`1e+16`).
//!
//! What Python does, and so what we do:
//! - object keys sorted by code point (UTF-8 byte order is the same order);
//!   a duplicate key keeps its last value (`dict` assignment);
//! - strings: `"` `\` and control characters below U+0020 escaped (`\n`,
//!   `\r`, `\t`, `\b`, `\f`, otherwise `\u00xx` in lower case); everything
//!   else, DEL and non-ASCII included, is written as raw UTF-8;
//! - integers as their decimal digits (`-0` becomes `0`);
//! - floats as `repr(float)`: the shortest digits that read back, fixed
//!   notation with `.0` for exponents -4..=15, otherwise `1e+16`, `1e-05`.

use super::TrustError;
use std::collections::BTreeMap;

/// A JSON value as Python's `json` module holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// Decimal digits with an optional `-`, normalised as Python's `int` prints.
    Int(String),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

impl Json {
    /// Reads one JSON document (surrounding whitespace allowed). `what`
    /// names the document in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Json, TrustError> {
        let text = std::str::from_utf8(bytes).map_err(|e| TrustError::Json {
            what: what.to_string(),
            message: format!("not UTF-8: {e}"),
        })?;
        let mut r = Reader {
            s: text.as_bytes(),
            text,
            at: 0,
            depth: 0,
        };
        let v = r.value().map_err(|m| TrustError::Json {
            what: what.to_string(),
            message: format!("{m} at byte {}", r.at),
        })?;
        r.ws();
        if r.at != r.s.len() {
            return Err(TrustError::Json {
                what: what.to_string(),
                message: format!("extra data at byte {}", r.at),
            });
        }
        Ok(v)
    }

    /// The canonical bytes: Python's
    /// `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()`.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = String::new();
        self.write(&mut out);
        out.into_bytes()
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Int(digits) => out.push_str(digits),
            Json::Float(f) => out.push_str(&python_float(*f)),
            Json::Str(s) => write_str(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Object(map) => {
                out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// Python truthiness (`x or {}` in the original's projections).
    pub fn is_truthy(&self) -> bool {
        match self {
            Json::Null => false,
            Json::Bool(b) => *b,
            Json::Int(d) => d != "0",
            Json::Float(f) => *f != 0.0,
            Json::Str(s) => !s.is_empty(),
            Json::Array(a) => !a.is_empty(),
            Json::Object(o) => !o.is_empty(),
        }
    }
}

/// Python's `repr(float)`, which `json.dumps` uses.
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` without a precision prints the shortest digits that
    // read back, as Python's repr does: "1.2345e-7".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Python's decimal point position: value = 0.DIGITS × 10^decpt.
    let decpt = exp + 1;
    let body = if !(-4 < decpt && decpt <= 16) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{frac}e{esign}{:02}", exp.unsigned_abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else {
        let point = decpt as usize;
        if point >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point);
            format!("{int}.{frac}")
        }
    };
    format!("{sign}{body}")
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Deep enough for any real document; bounds the recursion on hostile input.
const MAX_DEPTH: usize = 128;

struct Reader<'a> {
    s: &'a [u8],
    text: &'a str,
    at: usize,
    depth: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    /// Python's JSON whitespace: space, tab, newline, carriage return.
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.s.get(self.at..self.at + word.len()) == Some(word.as_bytes()) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.peek() {
            None => Err("unexpected end".into()),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string().map(Json::Str),
            _ if self.eat("null") => Ok(Json::Null),
            _ if self.eat("true") => Ok(Json::Bool(true)),
            _ if self.eat("false") => Ok(Json::Bool(false)),
            _ if self.eat("NaN") => Ok(Json::Float(f64::NAN)),
            _ if self.eat("Infinity") => Ok(Json::Float(f64::INFINITY)),
            _ if self.eat("-Infinity") => Ok(Json::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err("unexpected character".into()),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Json, String>) -> Result<Json, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH}"));
        }
        self.depth += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn object(&mut self) -> Result<Json, String> {
        self.at += 1;
        let mut map = BTreeMap::new();
        self.ws();
        if self.eat("}") {
            return Ok(Json::Object(map));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err("expected a key".into());
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(":") {
                return Err("expected ':'".into());
            }
            let v = self.value()?;
            map.insert(key, v);
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                return Ok(Json::Object(map));
            }
            return Err("expected ',' or '}'".into());
        }
    }

    fn array(&mut self) -> Result<Json, String> {
        self.at += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat("]") {
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Ok(Json::Array(items));
            }
            return Err("expected ',' or ']'".into());
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        self.eat("-");
        let digits = |r: &mut Self| {
            let from = r.at;
            while matches!(r.peek(), Some(b'0'..=b'9')) {
                r.at += 1;
            }
            r.at - from
        };
        let int_start = self.at;
        let n = digits(self);
        if n == 0 || (n > 1 && self.s.get(int_start) == Some(&b'0')) {
            return Err("malformed number".into());
        }
        let mut float = false;
        if self.peek() == Some(b'.') && matches!(self.s.get(self.at + 1), Some(b'0'..=b'9')) {
            self.at += 1;
            digits(self);
            float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let save = self.at;
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                // Python's scanner leaves "1e" as the integer 1 and then
                // fails on the extra data; so do we.
                self.at = save;
            } else {
                float = true;
            }
        }
        let lexeme = self.text.get(start..self.at).unwrap_or("");
        if float {
            lexeme
                .parse::<f64>()
                .map(Json::Float)
                .map_err(|e| format!("bad number {lexeme}: {e}"))
        } else if lexeme == "-0" {
            Ok(Json::Int("0".into()))
        } else {
            Ok(Json::Int(lexeme.to_string()))
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .text
            .get(self.at..self.at + 4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or("bad \\u escape")?;
        self.at += 4;
        u32::from_str_radix(h, 16).map_err(|e| e.to_string())
    }

    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let run_start = self.at;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.at += 1;
            }
            out.push_str(self.text.get(run_start..self.at).unwrap_or(""));
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let e = self.peek().ok_or("unterminated escape")?;
                    self.at += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err("invalid escape".into()),
                    }
                }
                Some(_) => return Err("control character in string".into()),
            }
        }
    }

    /// `\uXXXX`, combining a surrogate pair. A lone surrogate is an error:
    /// Python reads it, but its `.encode("utf-8")` of the canonical text
    /// then fails, so such a document can never have been signed.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let hi = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&hi) {
            if !self.eat("\\u") {
                return Err("lone surrogate (cannot be encoded as UTF-8)".into());
            }
            let lo = self.hex4()?;
            if !(0xdc00..0xe000).contains(&lo) {
                return Err("lone surrogate (cannot be encoded as UTF-8)".into());
            }
            0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| "lone surrogate (cannot be encoded as UTF-8)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        String::from_utf8(Json::parse(text.as_bytes(), "test").unwrap().canonical()).unwrap()
    }

    #[test]
    fn matches_python_dumps_for_keys_strings_and_literals() {
        // Expected output printed by Python 3 json.dumps(sort_keys=True,
        // separators=(",", ":"), ensure_ascii=False).
        let input = "{\"b\":1,\"a\":[true,null,\"x\\\"\\\\\\n\\t\\b\\f\\u0000\\u001f\\u007f \u{e9}\u{20ac}\\ud83d\\ude00\"],\"\u{e9}\":2,\"Z\":3,\"aa\":{}}";
        assert_eq!(
            canon(input),
            "{\"Z\":3,\"a\":[true,null,\"x\\\"\\\\\\n\\t\\b\\f\\u0000\\u001f\u{7f} \u{e9}\u{20ac}\u{1f600}\"],\"aa\":{},\"b\":1,\"\u{e9}\":2}"
        );
    }

    #[test]
    fn floats_print_as_python_repr() {
        // (bit pattern, Python's json.dumps of it)
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456789.123, "123456789.123"),
            (-0.0, "-0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (2.5, "2.5"),
            (100.0, "100.0"),
            (1e22, "1e+22"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float(*f), *want, "{f:e}");
        }
    }

    #[test]
    fn numbers_keep_python_types() {
        assert_eq!(
            canon("[1E5, 1e400, -0, -0.0, 123456789012345678901234567890]"),
            "[100000.0,Infinity,0,-0.0,123456789012345678901234567890]"
        );
        assert_eq!(canon(" {\"a\":1,\"a\":2} "), "{\"a\":2}");
    }

    #[test]
    fn malformed_documents_are_refused() {
        for bad in [
            "{\"a\":01}",
            "[1,]",
            "\"\\ud800\"",
            "\"a\u{1}\"",
            "{} x",
            "1e",
            "[",
            "{'a':1}",
        ] {
            assert!(
                Json::parse(bad.as_bytes(), "t").is_err(),
                "{bad:?} was accepted"
            );
        }
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(Json::parse(deep.as_bytes(), "t").is_err());
    }
}
