//! A JSON-with-comments reader that remembers where every value sits.
//!
//! `configure` rewrites two values of an entry (`command`, `args`) and must
//! leave every other byte alone: VS Code's `mcp.json` carries `//` and
//! `/* */` comments and trailing commas, which serde_json rejects and any
//! parse-and-print round trip would lose. So the file is scanned once into a
//! tree of byte spans, and edits replace those spans in the original text.

use std::ops::Range;

/// A JSON value with the byte range of its text in the source.
#[derive(Debug, Clone)]
pub struct Node {
    pub span: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    String(String),
    Other,
}

impl Node {
    /// The member `key` of an object (the last one, as JSON.parse keeps).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn members(&self) -> &[(String, Node)] {
        match &self.kind {
            Kind::Object(m) => m,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }

    /// An array of strings, or `None` when it is not one.
    pub fn string_list(&self) -> Option<Vec<String>> {
        match &self.kind {
            Kind::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => None,
        }
    }
}

/// Where and why the text is not JSON(C).
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {what}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub what: String,
}

/// Parses JSON with `//` and `/* */` comments and trailing commas.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let mut p = Scanner {
        s: text.as_bytes(),
        text,
        // A byte-order mark (some Windows editors write one) is not a value.
        pos: if text.starts_with('\u{feff}') { 3 } else { 0 },
        depth: 0,
    };
    p.skip_trivia()?;
    let node = p.value()?;
    p.skip_trivia()?;
    if p.pos < p.s.len() {
        return Err(p.error("text after the top-level value"));
    }
    Ok(node)
}

/// Deep nesting is refused rather than allowed to exhaust the stack.
const MAX_DEPTH: usize = 256;

struct Scanner<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Scanner<'_> {
    fn error(&self, what: &str) -> ParseError {
        let before = self.text.get(..self.pos).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ParseError {
            line,
            column,
            what: what.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            match (self.peek(), self.s.get(self.pos + 1).copied()) {
                (Some(b' ' | b'\t' | b'\n' | b'\r'), _) => self.pos += 1,
                (Some(b'/'), Some(b'/')) => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        match (self.peek(), self.s.get(self.pos + 1).copied()) {
                            (Some(b'*'), Some(b'/')) => {
                                self.pos += 2;
                                break;
                            }
                            (Some(_), _) => self.pos += 1,
                            (None, _) => {
                                self.pos = start;
                                return Err(self.error("unterminated /* comment"));
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => self.nested(Self::object)?,
            Some(b'[') => self.nested(Self::array)?,
            Some(b'"') => Kind::String(self.string()?),
            Some(b't') => self.word("true")?,
            Some(b'f') => self.word("false")?,
            Some(b'n') => self.word("null")?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.error("expected a value")),
            None => return Err(self.error("unexpected end of the file")),
        };
        Ok(Node {
            span: start..self.pos,
            kind,
        })
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Kind, ParseError>) -> Result<Kind, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        let kind = f(self)?;
        self.depth -= 1;
        Ok(kind)
    }

    fn object(&mut self) -> Result<Kind, ParseError> {
        self.pos += 1;
        let mut members = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Kind::Object(members));
                }
                Some(b'"') => {}
                _ => return Err(self.error("expected a member name in quotes or `}`")),
            }
            let key = self.string()?;
            self.skip_trivia()?;
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:` after the member name"));
            }
            self.pos += 1;
            self.skip_trivia()?;
            members.push((key, self.value()?));
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self) -> Result<Kind, ParseError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(Kind::Array(items));
            }
            items.push(self.value()?);
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// A string literal; serde_json decodes its escapes.
    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                Some(b'"') => break,
                Some(b'\\') => self.pos += 2,
                Some(b'\n') | None => {
                    self.pos = start;
                    return Err(self.error("unterminated string"));
                }
                Some(_) => self.pos += 1,
            }
        }
        self.pos += 1;
        let raw = self.text.get(start..self.pos).unwrap_or("");
        serde_json::from_str(raw).map_err(|e| {
            let mut err = self.error(&format!("invalid string: {e}"));
            err.column = 0;
            err
        })
    }

    fn word(&mut self, w: &str) -> Result<Kind, ParseError> {
        if self.s.get(self.pos..self.pos + w.len()) == Some(w.as_bytes()) {
            self.pos += w.len();
            Ok(Kind::Other)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn number(&mut self) -> Result<Kind, ParseError> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let raw = self.text.get(start..self.pos).unwrap_or("");
        if serde_json::from_str::<serde_json::Number>(raw).is_err() {
            self.pos = start;
            return Err(self.error("invalid number"));
        }
        Ok(Kind::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_trailing_commas_are_read_with_spans() {
        let text = "// top\n{ /* a */ \"servers\": { \"x\": { \"command\": \"node\", \"args\": [\"a\", ], }, }, }\n";
        let root = parse(text).unwrap();
        let x = root.get("servers").and_then(|s| s.get("x")).unwrap();
        let cmd = x.get("command").unwrap();
        assert_eq!(&text[cmd.span.clone()], "\"node\"");
        assert_eq!(x.get("args").unwrap().string_list().unwrap(), vec!["a"]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("{\n  \"a\": 1\n  \"b\": 2\n}").unwrap_err();
        assert_eq!((e.line, e.column), (3, 3));
        assert!(parse("{\"a\": /* open").is_err());
        assert!(parse("[1] x").is_err());
        assert!(parse(&"[".repeat(1000)).is_err());
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let root = parse("\u{feff}{\"a\": \"b\"}").unwrap();
        assert_eq!(root.get("a").and_then(Node::as_str), Some("b"));
    }

    #[test]
    fn escapes_are_decoded() {
        let root = parse(r#"{"a\"b": "c\\d\u00e9"}"#).unwrap();
        assert_eq!(root.get("a\"b").and_then(Node::as_str), Some("c\\dé"));
    }
}
