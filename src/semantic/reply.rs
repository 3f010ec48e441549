//! Strict parsing of the model's answer.
//!
//! The model is asked for exactly `{"score": <0..1>, "reason": "<short>"}`.
//! Anything else is refused rather than guessed at: a reply with extra
//! keys, a score written as a string, or prose around the object means the
//! model did not follow the instructions, and possibly followed someone
//! else's (the payload is attacker-controlled text). The one leniency is a
//! single fenced block (```` ```json … ``` ````), which chat models add out of
//! habit and which changes nothing about the content.

use super::backend::json_type;
use serde_json::Value;

/// Characters of `reason` kept; the rest is cut (it goes into audit
/// records and terminal output).
pub const MAX_REASON_CHARS: usize = 1000;

/// A well-formed answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judgement {
    pub score: f64,
    pub reason: String,
}

/// Parses the model's text. The error names the problem in words
/// ("missing field `score`", "score 1.5 is outside 0..1").
pub(crate) fn parse(content: &str) -> Result<Judgement, String> {
    let text = unfence(content);
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let Value::Object(map) = v else {
        return Err(format!("{} instead of an object", json_type(&v)));
    };
    if let Some(extra) = map.keys().find(|k| *k != "score" && *k != "reason") {
        return Err(format!("unexpected key `{}`", shorten(extra, 40)));
    }
    let score = match map.get("score") {
        None => return Err("missing field `score`".to_string()),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| format!("score {n} is not a usable number"))?,
        Some(other) => return Err(format!("score is {}, not a number", json_type(other))),
    };
    if !score.is_finite() || !(0.0..=1.0).contains(&score) {
        return Err(format!("score {score} is outside 0..1"));
    }
    let reason = match map.get("reason") {
        None => return Err("missing field `reason`".to_string()),
        Some(Value::String(s)) => clean_reason(s),
        Some(other) => return Err(format!("reason is {}, not a string", json_type(other))),
    };
    Ok(Judgement { score, reason })
}

/// The text inside one surrounding ```` ``` ```` or ```` ```json ```` fence,
/// else the trimmed text itself.
fn unfence(content: &str) -> &str {
    let text = content.trim();
    let Some(inner) = text
        .strip_prefix("```")
        .and_then(|rest| rest.strip_suffix("```"))
    else {
        return text;
    };
    let inner = match inner.get(..4) {
        Some(tag) if tag.eq_ignore_ascii_case("json") => &inner[4..],
        _ => inner,
    };
    inner.trim()
}

/// At most [`MAX_REASON_CHARS`] characters, control characters (escape
/// sequences included) turned into spaces.
fn clean_reason(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(MAX_REASON_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(MAX_REASON_CHARS).is_some() {
        out.push('…');
    }
    out
}

fn shorten(s: &str, chars: usize) -> String {
    let mut out: String = s.chars().take(chars).collect();
    if s.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Judgement {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        match parse(s) {
            Ok(j) => panic!("{s} parsed as {j:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn valid_replies() {
        let j = ok(r#"{"score": 0.95, "reason": "reads ~/.ssh/id_rsa"}"#);
        assert_eq!(j.score, 0.95);
        assert_eq!(j.reason, "reads ~/.ssh/id_rsa");
        assert_eq!(ok(" \n{\"reason\":\"\",\"score\":0}\n").score, 0.0);
        assert_eq!(ok(r#"{"score": 1, "reason": "x"}"#).score, 1.0);
    }

    #[test]
    fn one_fenced_block_is_accepted() {
        let j = ok("```json\n{\"score\": 0.2, \"reason\": \"benign\"}\n```");
        assert_eq!(j.score, 0.2);
        assert_eq!(
            ok("```\n{\"score\": 0.3, \"reason\": \"r\"}\n```").score,
            0.3
        );
        assert_eq!(
            ok("```JSON {\"score\": 0.3, \"reason\": \"r\"}```").score,
            0.3
        );
        // Prose around the fence is not the object alone.
        err("Here you go:\n```json\n{\"score\": 0.2, \"reason\": \"r\"}\n```");
        err("```json\n{\"score\": 0.2, \"reason\": \"r\"}");
    }

    #[test]
    fn extra_keys_are_refused() {
        let e = err(r#"{"score": 0.1, "reason": "ok", "verdict": "allow"}"#);
        assert_eq!(e, "unexpected key `verdict`");
    }

    #[test]
    fn score_must_be_a_number_in_range() {
        assert_eq!(
            err(r#"{"score": "0.9", "reason": "r"}"#),
            "score is a string, not a number"
        );
        assert_eq!(
            err(r#"{"score": 1.5, "reason": "r"}"#),
            "score 1.5 is outside 0..1"
        );
        assert_eq!(
            err(r#"{"score": -0.1, "reason": "r"}"#),
            "score -0.1 is outside 0..1"
        );
        assert_eq!(
            err(r#"{"score": null, "reason": "r"}"#),
            "score is null, not a number"
        );
        // NaN and infinities are not JSON; a huge exponent does not parse either.
        assert!(err(r#"{"score": NaN, "reason": "r"}"#).starts_with("not JSON"));
        assert!(err(r#"{"score": Infinity, "reason": "r"}"#).starts_with("not JSON"));
        assert!(err(r#"{"score": 1e999, "reason": "r"}"#).starts_with("not JSON"));
    }

    #[test]
    fn missing_fields_are_named() {
        assert_eq!(err(r#"{"score": 0.5}"#), "missing field `reason`");
        assert_eq!(err(r#"{"reason": "r"}"#), "missing field `score`");
        assert_eq!(
            err(r#"{"score": 0.5, "reason": 3}"#),
            "reason is a number, not a string"
        );
    }

    #[test]
    fn not_an_object() {
        assert!(err("").starts_with("not JSON"));
        assert!(err("The call looks benign. Score: 0.1").starts_with("not JSON"));
        assert_eq!(err("[0.1, \"r\"]"), "an array instead of an object");
        assert_eq!(err("0.9"), "a number instead of an object");
        assert_eq!(err(r#"{"risk": "high"}"#), "unexpected key `risk`");
    }

    #[test]
    fn long_reasons_are_cut_and_controls_removed() {
        let long = "é".repeat(MAX_REASON_CHARS + 10);
        let j = ok(&format!(r#"{{"score": 0.5, "reason": "{long}"}}"#));
        assert_eq!(j.reason.chars().count(), MAX_REASON_CHARS + 1);
        assert!(j.reason.ends_with('…'));
        let j = ok(r#"{"score": 0.5, "reason": "a\u001b[31mb\nc"}"#);
        assert_eq!(j.reason, "a [31mb c");
    }

    #[test]
    fn hostile_replies_never_panic() {
        for s in [
            "```",
            "``````",
            "```j",
            "```json",
            "{",
            "{\"score\": 0.5, \"reason\": \"\\ud800\"}",
            "\u{feff}{}",
            "```é```",
        ] {
            let _ = parse(s);
        }
    }
}
