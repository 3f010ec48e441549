//! Classifying one line into a JSON-RPC message without copying it.
//!
//! [`classify`] decodes only the envelope (`jsonrpc`, `id`, `method`, and
//! whether `result`/`error` are present); `params` stays raw until the
//! inspector asks for it. The gateway's two common lines, a request from
//! the agent and a success response from the server, are inspected
//! whole anyway: [`parse_call`] and [`parse_success`] decode them in one
//! pass and hand anything else to [`classify`], whose answers stay the
//! reference. The line itself is what gets forwarded (Invariant 1).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;

/// A JSON-RPC id. Two ids are the same request when they are equal as JSON
/// values, the way the SDKs compare them: `5`, `5.0` and `5e0` are one id,
/// `5` and `"5"` are two. The id keeps its original spelling for replies.
#[derive(Debug, Clone)]
pub struct RequestId {
    /// The comparison key (strings as canonical JSON text, numbers by value)
    /// and the id as the peer wrote it (canonical JSON), in one allocation:
    /// the key is `text[..key_end]`, the spelling `text[json_start..]`. For
    /// a string both are the whole text; for an integer the key is `#` and
    /// the spelling; other numbers keep the key, then the spelling. Two
    /// ids per call are made and cloned, so this is one allocation each
    /// instead of two, and none for an integer id (the ids SDKs send),
    /// which is kept inline.
    text: IdText,
    key_end: u32,
    json_start: u32,
}

/// Bytes of an integer id kept inline: `#`, a sign and the 16 digits of
/// an integer up to 2^53.
const INLINE_ID: usize = 22;

/// The text of a [`RequestId`]: inline for integers, else on the heap.
type IdText = super::inline::InlineStr<INLINE_ID>;

/// `#` and the integer as JSON writes it, inline (an integer up to 2^53
/// needs at most 18 bytes).
fn integer_text(i: i64) -> IdText {
    let digits = super::digits::Decimal::new(i.unsigned_abs());
    let sign = if i < 0 { "#-" } else { "#" };
    IdText::concat(&[sign, digits.as_str()])
}

impl PartialEq for RequestId {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for RequestId {}
impl std::hash::Hash for RequestId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}
impl PartialOrd for RequestId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RequestId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(other.key())
    }
}

impl RequestId {
    pub fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::String(_) => Some(Self::same(v.to_string())),
            // The ids SDKs send: an integer a double holds exactly, whose key
            // is itself. Written without the formatting machinery (two ids
            // per call).
            Value::Number(n) => Some(match n.as_i64().filter(|i| i.unsigned_abs() <= EXACT) {
                Some(i) => {
                    let text = integer_text(i);
                    let len = text.as_str().len();
                    RequestId {
                        text,
                        key_end: len as u32,
                        json_start: 1,
                    }
                }
                None => Self::pair(&number_key(n), &v.to_string()),
            }),
            _ => None,
        }
    }
    /// An id whose key is its spelling (a string id).
    fn same(json: String) -> Self {
        let len = u32::try_from(json.len()).unwrap_or(u32::MAX);
        RequestId {
            text: IdText::heap(json.into_boxed_str()),
            key_end: len,
            json_start: 0,
        }
    }
    /// A key and a spelling that differ (numbers other than exact integers).
    fn pair(key: &str, json: &str) -> Self {
        let mut text = String::with_capacity(key.len() + json.len());
        text.push_str(key);
        text.push_str(json);
        let at = u32::try_from(key.len()).unwrap_or(u32::MAX);
        RequestId {
            text: IdText::heap(text.into_boxed_str()),
            key_end: at,
            json_start: at,
        }
    }
    /// The `null` id of an error answering a message that could not be read.
    pub fn null() -> Self {
        Self::same("null".to_string())
    }
    fn key(&self) -> &str {
        let text = self.text.as_str();
        text.get(..self.key_end as usize).unwrap_or(text)
    }
    /// The id as JSON, for building a response.
    pub fn to_value(&self) -> Value {
        // An integer key is `#` and the integer as JSON writes it.
        if self.json_start == 1 {
            if let Ok(i) = self.as_json().parse::<i64>() {
                return Value::from(i);
            }
        }
        serde_json::from_str(self.as_json()).unwrap_or(Value::Null)
    }
    pub fn as_json(&self) -> &str {
        let text = self.text.as_str();
        text.get(self.json_start as usize..).unwrap_or(text)
    }
}

/// Integers up to 2^53 are exact as doubles.
const EXACT: u64 = 1 << 53;

/// Numbers compare by value, as in JavaScript: every number is a double, so
/// `5`, `5.0` and `5e0` are one key (and so are integers beyond 2^53 that
/// round to the same double). Prefixed so no string key can equal it.
fn number_key(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => {
            format!("#{}", f as i64)
        }
        Some(f) => format!("#{f:e}"),
        None => format!("#{n}"),
    }
}

/// A JSON-RPC envelope as serde reads it. `P` and `R` say how `params`
/// and `result` are read: borrowed and skimmed (`&RawValue`) or decoded
/// (`Value`). [`classify`] skims both; [`parse_call`] decodes `params`,
/// [`parse_success`] `result`. One struct for the three, so they refuse
/// the same duplicate fields (serde's derive refuses a repeated key) and
/// cannot come to read different messages.
#[derive(Deserialize)]
#[serde(bound(deserialize = "P: Deserialize<'de>, R: Deserialize<'de>"))]
struct Envelope<'a, P, R> {
    #[serde(borrow)]
    jsonrpc: Option<Cow<'a, str>>,
    /// `Some(Value::Null)` for `"id": null`, `None` when absent.
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    /// `None` for `"params": null` as for no `params`, whichever `P`.
    params: Option<P>,
    result: Option<R>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// The envelope [`classify`] reads: both bodies skimmed.
type Skimmed<'a> = Envelope<'a, &'a RawValue, &'a RawValue>;

/// Keeps an explicit `null` as `Some(Value::Null)` (plain `Option` would make it `None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// What a line turned out to be.
#[derive(Debug)]
pub enum Message<'a> {
    Request {
        id: RequestId,
        method: String,
        params: Option<&'a RawValue>,
    },
    Notification {
        method: String,
        params: Option<&'a RawValue>,
    },
    Response {
        id: RequestId,
        is_error: bool,
        result: Option<&'a RawValue>,
        /// The `error` object of an error response.
        error: Option<&'a RawValue>,
    },
    /// A JSON array: a JSON-RPC batch (2025-03-26 allowed them).
    Batch(Vec<&'a RawValue>),
}

/// Why a line is not a usable JSON-RPC message.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Invalid {
    #[error("invalid UTF-8 at byte {offset}")]
    Utf8 { offset: usize },
    #[error("not valid JSON: {reason}")]
    Json { reason: String },
    #[error("not a JSON-RPC 2.0 message: {reason}")]
    Request {
        reason: &'static str,
        id: Option<RequestId>,
    },
}

impl Invalid {
    /// The JSON-RPC error code for this problem.
    pub fn code(&self) -> i64 {
        match self {
            Invalid::Utf8 { .. } | Invalid::Json { .. } => super::errors::PARSE_ERROR,
            Invalid::Request { .. } => super::errors::INVALID_REQUEST,
        }
    }
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Invalid::Request { id, .. } => id.as_ref(),
            _ => None,
        }
    }
}

/// The ids a message that could not be parsed may carry: the first `"id"`
/// member in `head` and the last in `tail` (the ends of the line, where
/// the SDKs put the envelope's id). A guess: callers act only on ids they
/// are waiting for.
pub fn recover_ids(head: &[u8], tail: &[u8]) -> Vec<RequestId> {
    static ID: std::sync::LazyLock<Option<regex::bytes::Regex>> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(
            r#""id"\s*:\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|"(?:[^"\\]|\\.){0,200}")"#,
        )
        .ok()
    });
    let Some(re) = ID.as_ref() else {
        return Vec::new();
    };
    let id_of = |m: regex::bytes::Captures<'_>| {
        let text = std::str::from_utf8(m.get(1)?.as_bytes()).ok()?;
        RequestId::from_value(&serde_json::from_str(text).ok()?)
    };
    let first = re.captures(head).and_then(id_of);
    let last = re.captures_iter(tail).last().and_then(id_of);
    let mut out: Vec<RequestId> = first.into_iter().collect();
    if let Some(l) = last {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// A request or notification with its `params` decoded.
#[derive(Debug)]
pub struct Call {
    /// `None` for a notification.
    pub id: Option<RequestId>,
    /// Inline: no allocation for any MCP method name.
    pub method: super::inline::Label,
    pub params: Option<Value>,
}

/// One pass for the common line from an agent: a single, valid request or
/// notification, its `params` decoded while the envelope is read
/// ([`classify`] skips over `params` and the caller decodes it again: two
/// passes over a 4 KiB argument). `None` for anything else (a batch, a
/// response, any invalid or unusual line, `params` deeper than serde's
/// limit): the caller then takes [`classify`], whose answers and errors
/// stay the reference. Whatever this returns, [`classify`] reads the same
/// way (a test holds the two together).
pub fn parse_call(line: &[u8]) -> Option<Call> {
    // An answer of the agent's (it has no `method`) is left to `classify`
    // before its result is read.
    if !names_method(line) {
        return None;
    }
    let env: Envelope<'_, Value, &RawValue> = parsed_envelope(line)?;
    if env.jsonrpc.as_deref() != Some("2.0") || env.result.is_some() || env.error.is_some() {
        return None;
    }
    let method = env.method.filter(|m| !m.is_empty())?;
    if !matches!(env.params, None | Some(Value::Object(_) | Value::Array(_))) {
        return None;
    }
    let id = match env.id {
        None => None,
        Some(v) => Some(RequestId::from_value(&v)?),
    };
    Some(Call {
        id,
        method: super::inline::Label::new(&method),
        params: env.params,
    })
}

/// One pass for the common line from a server: a success response, its
/// `result` decoded while the envelope is read. `None` for anything else;
/// the caller then takes [`classify`] (see [`parse_call`]).
pub fn parse_success(line: &[u8]) -> Option<(RequestId, Value)> {
    // A notification or request of the server's is left to `classify`
    // before its params are read (a result naming a `"method"` key goes
    // there too, as every line did before).
    if names_method(line) {
        return None;
    }
    let env: Envelope<'_, &RawValue, Value> = parsed_envelope(line)?;
    if env.jsonrpc.as_deref() != Some("2.0") || env.method.is_some() || env.error.is_some() {
        return None;
    }
    let id = RequestId::from_value(env.id.as_ref()?)?;
    Some((id, env.result?))
}

/// Whether the bytes `"method"` occur in `line`. The searcher is built
/// once: `memmem::find` builds one per call, which cost a small line
/// more than the search.
fn names_method(line: &[u8]) -> bool {
    static METHOD: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"method\""));
    METHOD.find(line).is_some()
}

/// The envelope of a line that is one JSON object.
fn parsed_envelope<'a, E: Deserialize<'a>>(line: &'a [u8]) -> Option<E> {
    let text = std::str::from_utf8(line).ok()?;
    if text.trim_start().as_bytes().first() != Some(&b'{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Classify one line (without its newline).
pub fn classify(line: &[u8]) -> Result<Message<'_>, Invalid> {
    let text = std::str::from_utf8(line).map_err(|e| Invalid::Utf8 {
        offset: e.valid_up_to(),
    })?;
    let first = text.trim_start().as_bytes().first().copied();
    if first == Some(b'[') {
        let items: Vec<&RawValue> = serde_json::from_str(text).map_err(json_err)?;
        if items.is_empty() {
            return Err(Invalid::Request {
                reason: "empty batch",
                id: None,
            });
        }
        return Ok(Message::Batch(items));
    }
    if first != Some(b'{') {
        // Valid JSON that is not an object is an invalid request; anything
        // else is a parse error.
        serde_json::from_str::<&RawValue>(text).map_err(json_err)?;
        return Err(Invalid::Request {
            reason: "a message must be a JSON object",
            id: None,
        });
    }
    let env: Skimmed<'_> = serde_json::from_str(text).map_err(|e| with_id(json_err(e), text))?;
    classify_envelope(env)
}

/// For a wrong-typed envelope, recover the id if the message has a usable one.
fn with_id(e: Invalid, text: &str) -> Invalid {
    match e {
        Invalid::Request { reason, id: None } => {
            let id = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| v.get("id").and_then(RequestId::from_value));
            Invalid::Request { reason, id }
        }
        other => other,
    }
}

/// Classify one element of a batch.
pub fn classify_raw(raw: &RawValue) -> Result<Message<'_>, Invalid> {
    if !raw.get().trim_start().starts_with('{') {
        return Err(Invalid::Request {
            reason: "a batch element must be a JSON object",
            id: None,
        });
    }
    let env: Skimmed<'_> =
        serde_json::from_str(raw.get()).map_err(|e| with_id(json_err(e), raw.get()))?;
    classify_envelope(env)
}

fn json_err(e: serde_json::Error) -> Invalid {
    let reason = e.to_string();
    // A structurally valid JSON with a wrong-typed envelope field is a
    // data error, not a syntax error.
    if e.classify() == serde_json::error::Category::Data {
        return Invalid::Request {
            reason: "an envelope field has the wrong type (jsonrpc and method must be strings)",
            id: None,
        };
    }
    Invalid::Json { reason }
}

fn classify_envelope(env: Skimmed<'_>) -> Result<Message<'_>, Invalid> {
    let id_value = env.id;
    let id = id_value.as_ref().and_then(RequestId::from_value);
    // Every error return hands over the id (an `Ok` arm moves it instead),
    // so the id is not cloned for the rare invalid message.
    let bad = |reason, id| Invalid::Request { reason, id };
    if env.jsonrpc.as_deref() != Some("2.0") {
        return Err(bad("\"jsonrpc\" must be \"2.0\"", id));
    }
    if id_value.is_some() && id.is_none() && !matches!(id_value, Some(Value::Null)) {
        return Err(bad("\"id\" must be a string or a number", id));
    }
    match (env.method, env.result, env.error) {
        (Some(method), None, None) => {
            if method.is_empty() {
                return Err(bad("\"method\" must not be empty", id));
            }
            if let Some(p) = env.params {
                let t = p.get().as_bytes().first();
                if t != Some(&b'{') && t != Some(&b'[') {
                    return Err(bad("\"params\" must be an object or an array", id));
                }
            }
            match (id_value, id) {
                (None, _) => Ok(Message::Notification {
                    method: method.into_owned(),
                    params: env.params,
                }),
                (Some(_), Some(id)) => Ok(Message::Request {
                    id,
                    method: method.into_owned(),
                    params: env.params,
                }),
                (Some(_), None) => Err(bad("a request \"id\" must not be null", None)),
            }
        }
        (None, Some(_), Some(_)) => Err(bad("a response has both \"result\" and \"error\"", id)),
        (None, None, None) => Err(bad("no \"method\", \"result\" or \"error\"", id)),
        (None, result, error) => match id {
            Some(id) => Ok(Message::Response {
                id,
                is_error: error.is_some(),
                result,
                error,
            }),
            // An error response with a null id answers a message the peer
            // could not parse; it is a valid message without a request.
            None if error.is_some() && matches!(id_value, Some(Value::Null)) => {
                Ok(Message::Response {
                    id: RequestId::null(),
                    is_error: true,
                    result: None,
                    error,
                })
            }
            None => Err(bad("a response needs an \"id\"", None)),
        },
        (Some(_), _, _) => Err(bad(
            "a message has both \"method\" and \"result\"/\"error\"",
            id,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_and_fractional_number_ids_round_trip() {
        // Found by fuzzing: without exact float parsing the respelled id
        // differed in its last bit from the agent's.
        for raw in [
            "1.4567809394572839e+20",
            "0.1",
            "5e-324",
            "1.7976931348623157e308",
        ] {
            let v: Value = serde_json::from_str(raw).expect("json");
            let id = RequestId::from_value(&v).expect("id");
            assert_eq!(id.to_value(), v, "{raw}");
        }
    }

    #[test]
    fn integer_ids_take_the_short_way_to_the_same_key_and_value() {
        for raw in [
            "0",
            "-0",
            "1",
            "-1",
            "42",
            "9007199254740992",
            "-9007199254740992",
            "9007199254740993",
            "-9007199254740993",
            "1152921504606846976",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "5.0",
            "1e3",
            "\"7\"",
        ] {
            let v: Value = serde_json::from_str(raw).expect("json");
            let id = RequestId::from_value(&v).expect("id");
            // Exact integers are kept inline, everything else on the heap.
            let exact = v.as_i64().is_some_and(|i| i.unsigned_abs() <= EXACT);
            assert_eq!(id.text.is_inline(), exact, "{raw}: {:?}", id.text);
            // The general definitions: the key by value, the spelling as
            // serde_json writes it, and the value parsed back from it.
            let key = match &v {
                Value::Number(n) => number_key(n),
                other => other.to_string(),
            };
            assert_eq!(id.key(), key, "{raw}");
            assert_eq!(id.as_json(), v.to_string(), "{raw}");
            let back: Value = serde_json::from_str(id.as_json()).expect("json");
            assert_eq!(id.to_value(), back, "{raw}");
            assert_eq!(
                serde_json::to_string(&id.to_value()).expect("json"),
                serde_json::to_string(&back).expect("json"),
                "{raw}"
            );
        }
    }

    #[test]
    fn request_notification_response() {
        match classify(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#) {
            Ok(Message::Request { id, method, params }) => {
                assert_eq!(id.as_json(), "1");
                assert_eq!(method, "tools/call");
                assert_eq!(params.map(|p| p.get()), Some(r#"{"name":"x"}"#));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Ok(Message::Notification { .. })
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#),
            Ok(Message::Response {
                is_error: false,
                ..
            })
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#),
            Ok(Message::Response { is_error: true, .. })
        ));
    }

    #[test]
    fn errors_carry_codes_and_ids() {
        let e = classify(b"{nope").unwrap_err();
        assert_eq!(e.code(), -32700);
        let e = classify(b"42").unwrap_err();
        assert_eq!(e.code(), -32600);
        let e = classify(br#"{"jsonrpc":"2.0","id":7}"#).unwrap_err();
        assert_eq!(e.code(), -32600);
        assert_eq!(e.id().map(|i| i.as_json()), Some("7"));
        let e = classify(br#"{"jsonrpc":"1.0","id":"q","method":"x"}"#).unwrap_err();
        assert_eq!(e.id().map(|i| i.as_json()), Some("\"q\""));
        let e = classify(br#"{"jsonrpc":"2.0","id":1,"method":5}"#).unwrap_err();
        assert_eq!(e.code(), -32600);
        assert_eq!(e.id().map(|i| i.as_json()), Some("1"));
        let e = classify(b"{\"a\":\"\xff\"}").unwrap_err();
        assert_eq!(e, Invalid::Utf8 { offset: 6 });
        let e = classify(br#"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#).unwrap_err();
        assert_eq!(e.code(), -32600);
        assert_eq!(e.id().map(|i| i.as_json()), Some("1"));
        // Every shape error keeps the id it could read.
        for (line, id) in [
            (&br#"{"jsonrpc":"2.0","id":-3,"method":""}"#[..], "-3"),
            (
                br#"{"jsonrpc":"2.0","id":2.5,"result":{},"error":{}}"#,
                "2.5",
            ),
            (
                br#"{"jsonrpc":"2.0","id":"r","method":"m","result":{}}"#,
                "\"r\"",
            ),
        ] {
            let e = classify(line).unwrap_err();
            assert_eq!(e.code(), -32600);
            assert_eq!(e.id().map(|i| i.as_json()), Some(id));
        }
        let e = classify(br#"{"jsonrpc":"2.0","id":null,"method":"m"}"#).unwrap_err();
        assert_eq!((e.code(), e.id()), (-32600, None));
    }

    #[test]
    fn ids_keep_their_key_and_spelling_apart() {
        for (raw, key, json) in [
            ("7", "#7", "7"),
            ("-12", "#-12", "-12"),
            ("0", "#0", "0"),
            ("5.0", "#5", "5.0"),
            ("2.5", "#2.5e0", "2.5"),
            ("\"a\\\"b\"", "\"a\\\"b\"", "\"a\\\"b\""),
        ] {
            let id = RequestId::from_value(&serde_json::from_str(raw).expect("json")).expect("id");
            assert_eq!((id.key(), id.as_json()), (key, json), "{raw}");
            let copy = id.clone();
            assert_eq!((copy.key(), copy.as_json()), (key, json));
        }
        assert_eq!(RequestId::null().as_json(), "null");
        assert_eq!(RequestId::null().to_value(), Value::Null);
        // Equal as JSON values, the way the SDKs compare them.
        let id = |raw: &str| RequestId::from_value(&serde_json::from_str(raw).expect("json"));
        assert_eq!(id("5"), id("5.0"));
        assert_eq!(id("5"), id("5e0"));
        assert_ne!(id("5"), id("\"5\""));
        assert_ne!(id("5"), id("-5"));
    }

    #[test]
    fn deep_nesting_fails_to_decode_instead_of_crashing() {
        let mut s = String::from(r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":"#);
        s.push_str(&"[".repeat(10_000));
        s.push_str(&"]".repeat(10_000));
        s.push_str("}}");
        // The envelope is fine; decoding params (done before inspection) is
        // where the depth limit bites, and the gateway answers -32700.
        let Ok(Message::Request {
            params: Some(p), ..
        }) = classify(s.as_bytes())
        else {
            panic!("envelope should classify")
        };
        let e = serde_json::from_str::<Value>(p.get()).unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
    }

    #[test]
    fn ids_compare_by_value_and_keep_their_spelling() {
        let id = |t: &str| RequestId::from_value(&serde_json::from_str(t).unwrap()).unwrap();
        assert_eq!(id("5"), id("5.0"));
        assert_eq!(id("5"), id("5e0"));
        assert_eq!(id("-0"), id("0"));
        assert_ne!(id("5"), id("\"5\""));
        assert_ne!(id("5"), id("5.5"));
        assert_eq!(id("\"a\\u0062\""), id("\"ab\""));
        assert_eq!(id("5.0").as_json(), "5.0");
        let mut m = std::collections::HashMap::new();
        m.insert(id("7"), 1);
        assert_eq!(m.get(&id("7.0")), Some(&1));
        assert!(RequestId::from_value(&Value::Null).is_none());
        assert!(RequestId::from_value(&serde_json::json!([1])).is_none());
    }

    #[test]
    fn ids_recovered_from_the_ends_of_a_line() {
        let ids = |h: &[u8], t: &[u8]| {
            recover_ids(h, t)
                .iter()
                .map(|i| i.as_json().to_string())
                .collect::<Vec<_>>()
        };
        // Python SDK order (id first) and TypeScript order (id last).
        assert_eq!(
            ids(br#"{"jsonrpc":"2.0","id":7,"result":{"x":"#, b"]}}"),
            ["7"]
        );
        assert_eq!(
            ids(
                br#"{"result":{"content":[{"#,
                br#""x"}]},"jsonrpc":"2.0","id":"abc"}"#
            ),
            ["\"abc\""]
        );
        // A nested "id" in the tail comes before the envelope's: the last wins.
        assert_eq!(ids(b"", br#"{"id":1}]},"id": 2.0}"#), ["2.0"]);
        assert!(ids(b"garbage", b"\xff\xfe").is_empty());
    }

    #[test]
    fn batch_elements_classified() {
        let Ok(Message::Batch(items)) =
            classify(br#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]"#)
        else {
            panic!("not a batch")
        };
        assert_eq!(items.len(), 2);
        assert!(matches!(
            classify_raw(items[1]),
            Ok(Message::Notification { .. })
        ));
    }

    fn names_method_slowly(line: &[u8]) -> bool {
        line.windows(8).any(|w| w == b"\"method\"")
    }

    /// What `parse_call` and `parse_success` make of `line`, as `classify`
    /// followed by decoding `params` or `result` would (the two-pass path
    /// they short-cut): the same message, or `None` where `classify` says
    /// anything else.
    fn agree_with_classify(line: &[u8]) {
        let reference = classify(line);
        let decode = |r: Option<&RawValue>| r.map(|r| serde_json::from_str::<Value>(r.get()));
        let show = String::from_utf8_lossy(line);
        match parse_call(line) {
            Some(call) => {
                let (id, method, params) = match reference {
                    Ok(Message::Request { id, method, params }) => (Some(id), method, params),
                    Ok(Message::Notification { method, params }) => (None, method, params),
                    other => panic!("parse_call took {show}, classify: {other:?}"),
                };
                assert_eq!(
                    call.id.map(|i| i.as_json().to_string()),
                    id.map(|i| i.as_json().to_string()),
                    "{show}"
                );
                assert_eq!(call.method.as_str(), method, "{show}");
                let params = decode(params).transpose().expect("params decode");
                assert_eq!(call.params, params, "{show}");
            }
            None => {
                if let Ok(Message::Request { params, .. } | Message::Notification { params, .. }) =
                    &reference
                {
                    // Only params too deep to decode, or a `method` key
                    // spelled with escapes, may fall back.
                    assert!(
                        decode(*params).is_some_and(|r| r.is_err()) || !names_method_slowly(line),
                        "{show}"
                    );
                }
            }
        }
        let reference = classify(line);
        match parse_success(line) {
            Some((id, result)) => match reference {
                Ok(Message::Response {
                    id: rid,
                    is_error: false,
                    result: Some(r),
                    error: None,
                }) => {
                    assert_eq!(id.as_json(), rid.as_json(), "{show}");
                    assert_eq!(Some(result), decode(Some(r)).transpose().expect("result"));
                }
                other => panic!("parse_success took {show}, classify: {other:?}"),
            },
            None => {
                if let Ok(Message::Response {
                    is_error: false,
                    result: Some(r),
                    ..
                }) = &reference
                {
                    // Only a result too deep to decode, or a line naming a
                    // `"method"` anywhere, may fall back.
                    assert!(
                        decode(Some(r)).is_some_and(|r| r.is_err()) || names_method_slowly(line),
                        "{show}"
                    );
                }
            }
        }
    }

    #[test]
    fn one_pass_paths_read_what_classify_reads() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let lines: Vec<String> = vec![
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":"b\n\u00e9"}}}"#.into(),
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into(),
            r#" {"jsonrpc":"2.0","id":"a","method":"m","params":[1,2]} "#.into(),
            r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#.into(),
            r#"{"jsonrpc":"2.0","id":1e3,"method":"m","params":null}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":"s"}"#.into(),
            r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#.into(),
            r#"{"jsonrpc":"2.0","id":true,"method":"m"}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":""}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#.into(),
            r#"{"jsonrpc":"1.0","id":1,"method":"m"}"#.into(),
            r#"{"id":1,"method":"m"}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{},"params":{"x":1}}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"id":2,"result":{}}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"m","result":{}}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/c\u0061ll","params":{}}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"m","extra":[1,{"a":2}]}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"m"} x"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"m""#.into(),
            r#"[{"jsonrpc":"2.0","id":1,"method":"m"}]"#.into(),
            r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}"#.into(),
            r#"{"jsonrpc":"2.0","id":"7","result":null}"#.into(),
            r#"{"jsonrpc":"2.0","id":7,"result":3}"#.into(),
            r#"{"jsonrpc":"2.0","id":null,"result":{}}"#.into(),
            r#"{"jsonrpc":"2.0","result":{}}"#.into(),
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"m"}}"#.into(),
            r#"{"jsonrpc":"2.0","id":7,"result":{},"error":{"code":1,"message":"m"}}"#.into(),
            r#"{"jsonrpc":"2.0","id":7,"result":{},"result":{"x":1}}"#.into(),
            r#"{"jsonrpc":"2.0","id":-0,"result":{"a":1.0e400}}"#.into(),
            r#"{"jsonrpc":"2.0","id":9007199254740993,"result":{}}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"\u006dethod":"m","params":{}}"#.into(),
            r#"{"jsonrpc":"2.0","id":8,"result":{"method":"a key like any other"}}"#.into(),
            r#"{"jsonrpc":"2.0","id":8,"params":{"x":1},"result":{"y":2}}"#.into(),
            r#"{"jsonrpc":"2.0","id":8,"params":{},"params":{},"result":{"y":2}}"#.into(),
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#.into(),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{{"a":{deep}}}}}"#),
            format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"a":{deep}}}}}"#),
            "42".into(),
            "".into(),
        ];
        for line in &lines {
            agree_with_classify(line.as_bytes());
        }
        agree_with_classify(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\xff\"}");
        // The common lines do take the one-pass path.
        assert!(parse_call(lines[0].as_bytes()).is_some());
        assert!(parse_call(lines[1].as_bytes()).is_some_and(|c| c.id.is_none()));
        assert!(parse_success(lines[22].as_bytes()).is_some());
        // Duplicate envelope fields are refused by both paths.
        assert!(
            parse_call(lines[13].as_bytes()).is_none() && classify(lines[13].as_bytes()).is_err()
        );
        assert!(
            parse_success(lines[29].as_bytes()).is_none()
                && classify(lines[29].as_bytes()).is_err()
        );
    }

    proptest::proptest! {
        /// Envelopes put together from valid and invalid parts.
        #[test]
        fn one_pass_paths_agree_on_assembled_envelopes(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    r#""jsonrpc":"2.0""#, r#""jsonrpc":"2""#, r#""jsonrpc":null"#,
                    r#""id":1"#, r#""id":"x""#, r#""id":null"#, r#""id":[1]"#, r#""id":2.50"#,
                    r#""method":"m""#, r#""method":"""#, r#""method":1"#,
                    r#""params":{"a":[1,"é"]}"#, r#""params":[]"#, r#""params":null"#, r#""params":0"#,
                    r#""result":{"t":"x"}"#, r#""result":null"#, r#""result":[]"#,
                    r#""error":{"code":1,"message":"e"}"#, r#""error":null"#, r#""other":{}"#,
                ]),
                0..6,
            )
        ) {
            let line = format!("{{{}}}", parts.join(","));
            agree_with_classify(line.as_bytes());
        }
    }
}
