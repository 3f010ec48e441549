//! Where scores come from, and the two wire formats.
//!
//! A backend is chosen from the environment ([`Backend::from_env`]): a
//! self-hosted OpenAI-compatible server, OpenAI itself, or Ollama. The
//! first two speak `/chat/completions`; Ollama speaks `/api/chat`. Both are
//! asked for a JSON object at temperature 0, so the same prompt gives the
//! same answer as often as the model allows (which is also what makes the
//! cache worth having).

use serde_json::{json, Value};
use std::fmt;

/// Variables read by [`Backend::from_env`], in the order backends are tried.
pub const CUSTOM_URL: &str = "VANGUARD_SEMANTIC_CUSTOM_URL";
pub const CUSTOM_KEY: &str = "VANGUARD_SEMANTIC_CUSTOM_KEY";
pub const CUSTOM_MODEL: &str = "VANGUARD_SEMANTIC_CUSTOM_MODEL";
pub const OPENAI_API_KEY: &str = "VANGUARD_OPENAI_API_KEY";
pub const OPENAI_BASE_URL: &str = "VANGUARD_OPENAI_BASE_URL";
pub const OPENAI_MODEL: &str = "VANGUARD_OPENAI_MODEL";
pub const OLLAMA_URL: &str = "VANGUARD_OLLAMA_URL";
pub const OLLAMA_MODEL: &str = "VANGUARD_OLLAMA_MODEL";

const OPENAI_DEFAULT_BASE: &str = "https://api.openai.com/v1";
const OPENAI_DEFAULT_MODEL: &str = "gpt-4o-mini";
const OLLAMA_DEFAULT_MODEL: &str = "llama3.1";

/// An LLM endpoint that scores calls.
///
/// `Debug` never shows a key, so a backend can be logged as it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    /// Any OpenAI-compatible server (vLLM, llama.cpp, LiteLLM …). `url` is
    /// the API base (`http://127.0.0.1:8000/v1`); `/chat/completions` is
    /// appended unless it is already there.
    Custom {
        url: String,
        key: Option<String>,
        model: String,
    },
    OpenAi {
        base_url: String,
        key: String,
        model: String,
    },
    /// `url` is the server root (`http://127.0.0.1:11434`); requests go to
    /// `{url}/api/chat`.
    Ollama { url: String, model: String },
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = |k: Option<&str>| if k.is_some() { "<set>" } else { "<none>" };
        match self {
            Backend::Custom { url, key: k, model } => f
                .debug_struct("Custom")
                .field("url", url)
                .field("key", &key(k.as_deref()))
                .field("model", model)
                .finish(),
            Backend::OpenAi {
                base_url,
                key: _,
                model,
            } => f
                .debug_struct("OpenAi")
                .field("base_url", base_url)
                .field("key", &"<set>")
                .field("model", model)
                .finish(),
            Backend::Ollama { url, model } => f
                .debug_struct("Ollama")
                .field("url", url)
                .field("model", model)
                .finish(),
        }
    }
}

impl Backend {
    /// The backend the process environment configures. First configured
    /// wins, in the order Custom, OpenAI, Ollama; a backend counts as
    /// configured as soon as one of its variables is set, and then it must
    /// be complete: a half-configured backend is an error naming the missing
    /// variable, never a silent fall-through to the next one. `Ok(None)`
    /// when no backend is configured.
    pub fn from_env() -> Result<Option<Backend>, String> {
        Backend::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Backend::from_env`] over any source of variables. An empty or
    /// blank value counts as unset (`VAR= cmd` is how a shell unsets).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Backend>, String> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let (url, key, model) = (get(CUSTOM_URL), get(CUSTOM_KEY), get(CUSTOM_MODEL));
        if url.is_some() || key.is_some() || model.is_some() {
            let set = if model.is_some() {
                CUSTOM_MODEL
            } else {
                CUSTOM_KEY
            };
            let url = url.ok_or_else(|| missing(CUSTOM_URL, set))?;
            let model = model.ok_or_else(|| missing(CUSTOM_MODEL, CUSTOM_URL))?;
            check_scheme(CUSTOM_URL, &url)?;
            return Ok(Some(Backend::Custom { url, key, model }));
        }

        let (key, base, model) = (get(OPENAI_API_KEY), get(OPENAI_BASE_URL), get(OPENAI_MODEL));
        if key.is_some() || base.is_some() || model.is_some() {
            let set = if base.is_some() {
                OPENAI_BASE_URL
            } else {
                OPENAI_MODEL
            };
            let key = key.ok_or_else(|| missing(OPENAI_API_KEY, set))?;
            let base_url = base.unwrap_or_else(|| OPENAI_DEFAULT_BASE.to_string());
            check_scheme(OPENAI_BASE_URL, &base_url)?;
            return Ok(Some(Backend::OpenAi {
                base_url,
                key,
                model: model.unwrap_or_else(|| OPENAI_DEFAULT_MODEL.to_string()),
            }));
        }

        let (url, model) = (get(OLLAMA_URL), get(OLLAMA_MODEL));
        if url.is_some() || model.is_some() {
            let url = url.ok_or_else(|| missing(OLLAMA_URL, OLLAMA_MODEL))?;
            check_scheme(OLLAMA_URL, &url)?;
            return Ok(Some(Backend::Ollama {
                url,
                model: model.unwrap_or_else(|| OLLAMA_DEFAULT_MODEL.to_string()),
            }));
        }
        Ok(None)
    }

    /// `custom`, `openai` or `ollama`: for logs, audit records and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Custom { .. } => "custom",
            Backend::OpenAi { .. } => "openai",
            Backend::Ollama { .. } => "ollama",
        }
    }

    pub fn model(&self) -> &str {
        match self {
            Backend::Custom { model, .. }
            | Backend::OpenAi { model, .. }
            | Backend::Ollama { model, .. } => model,
        }
    }

    /// The URL requests are posted to.
    pub fn endpoint(&self) -> String {
        match self {
            Backend::Custom { url, .. } => with_suffix(url, "/chat/completions"),
            Backend::OpenAi { base_url, .. } => with_suffix(base_url, "/chat/completions"),
            Backend::Ollama { url, .. } => with_suffix(url, "/api/chat"),
        }
    }

    /// The key sent as `Authorization: Bearer …`, if any.
    pub(crate) fn bearer(&self) -> Option<&str> {
        match self {
            Backend::Custom { key, .. } => key.as_deref(),
            Backend::OpenAi { key, .. } => Some(key),
            Backend::Ollama { .. } => None,
        }
    }

    /// The request body for one scoring question.
    pub(crate) fn request_body(&self, system: &str, user: &str) -> Value {
        let messages = json!([
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]);
        match self {
            Backend::Custom { .. } | Backend::OpenAi { .. } => json!({
                "model": self.model(),
                "messages": messages,
                "temperature": 0,
                "response_format": {"type": "json_object"},
            }),
            Backend::Ollama { .. } => json!({
                "model": self.model(),
                "messages": messages,
                "stream": false,
                "format": "json",
                "options": {"temperature": 0},
            }),
        }
    }

    /// The model's text out of a successful reply body: OpenAI's
    /// `choices[0].message.content`, Ollama's `message.content`. The error
    /// says what was missing.
    pub(crate) fn reply_content(&self, body: &[u8]) -> Result<String, String> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the reply body is not JSON ({e})"))?;
        let (content, path) = match self {
            Backend::Custom { .. } | Backend::OpenAi { .. } => (
                v.pointer("/choices/0/message/content"),
                "choices[0].message.content",
            ),
            Backend::Ollama { .. } => (v.pointer("/message/content"), "message.content"),
        };
        match content {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!("{path} is {}, not a string", json_type(other))),
            None => Err(format!("the reply has no {path}")),
        }
    }
}

/// `base` with `suffix` appended unless it already ends with it; a trailing
/// slash on `base` is not doubled.
fn with_suffix(base: &str, suffix: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with(suffix) {
        base.to_string()
    } else {
        format!("{base}{suffix}")
    }
}

fn missing(var: &str, set: &str) -> String {
    format!("{var} is not set but {set} is: the semantic backend needs both")
}

fn check_scheme(var: &str, url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "{var} must be an http:// or https:// URL, got {url:?}"
        ))
    }
}

pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> Result<Option<Backend>, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Backend::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_configured_is_none() {
        assert_eq!(lookup(&[]), Ok(None));
        assert_eq!(lookup(&[(OLLAMA_URL, "  "), (CUSTOM_KEY, "")]), Ok(None));
    }

    #[test]
    fn first_configured_wins() {
        let all = [
            (CUSTOM_URL, "http://127.0.0.1:8000/v1"),
            (CUSTOM_MODEL, "qwen"),
            (OPENAI_API_KEY, "sk-x"),
            (OLLAMA_URL, "http://127.0.0.1:11434"),
        ];
        assert_eq!(
            lookup(&all),
            Ok(Some(Backend::Custom {
                url: "http://127.0.0.1:8000/v1".into(),
                key: None,
                model: "qwen".into()
            }))
        );
        let b = lookup(&all[2..]).unwrap().unwrap();
        assert_eq!(
            b,
            Backend::OpenAi {
                base_url: OPENAI_DEFAULT_BASE.into(),
                key: "sk-x".into(),
                model: OPENAI_DEFAULT_MODEL.into()
            }
        );
        assert_eq!((b.name(), b.model()), ("openai", "gpt-4o-mini"));
        let b = lookup(&all[3..]).unwrap().unwrap();
        assert_eq!(
            b,
            Backend::Ollama {
                url: "http://127.0.0.1:11434".into(),
                model: "llama3.1".into()
            }
        );
        assert_eq!(b.name(), "ollama");
    }

    #[test]
    fn partial_configuration_names_the_missing_variable() {
        let e = lookup(&[(CUSTOM_URL, "http://127.0.0.1:8000/v1")]).unwrap_err();
        assert!(e.starts_with(CUSTOM_MODEL), "{e}");
        // Not rescued by a complete backend further down the order.
        let e = lookup(&[(CUSTOM_KEY, "k"), (OLLAMA_URL, "http://127.0.0.1:11434")]).unwrap_err();
        assert!(e.starts_with(CUSTOM_URL), "{e}");
        let e = lookup(&[(OPENAI_MODEL, "gpt-4o")]).unwrap_err();
        assert!(e.starts_with(OPENAI_API_KEY), "{e}");
        let e = lookup(&[(OLLAMA_MODEL, "llama3.1")]).unwrap_err();
        assert!(e.starts_with(OLLAMA_URL), "{e}");
    }

    #[test]
    fn urls_must_be_http() {
        let e = lookup(&[(OLLAMA_URL, "127.0.0.1:11434")]).unwrap_err();
        assert!(e.contains(OLLAMA_URL) && e.contains("http://"), "{e}");
        let e = lookup(&[(OPENAI_API_KEY, "k"), (OPENAI_BASE_URL, "ftp://x")]).unwrap_err();
        assert!(e.contains(OPENAI_BASE_URL), "{e}");
    }

    #[test]
    fn endpoints() {
        let custom = |url: &str| Backend::Custom {
            url: url.into(),
            key: None,
            model: "m".into(),
        };
        assert_eq!(
            custom("http://h:1/v1").endpoint(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            custom("http://h:1/v1/").endpoint(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            custom("http://h:1/v1/chat/completions").endpoint(),
            "http://h:1/v1/chat/completions"
        );
        let ollama = Backend::Ollama {
            url: "http://h:11434/".into(),
            model: "m".into(),
        };
        assert_eq!(ollama.endpoint(), "http://h:11434/api/chat");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let b = Backend::OpenAi {
            base_url: OPENAI_DEFAULT_BASE.into(),
            key: "sk-very-secret".into(),
            model: "m".into(),
        };
        assert!(!format!("{b:?}").contains("very-secret"));
        let b = Backend::Custom {
            url: "http://h".into(),
            key: Some("hunter2".into()),
            model: "m".into(),
        };
        assert!(!format!("{b:?}").contains("hunter2"));
    }

    #[test]
    fn request_bodies() {
        let b = Backend::Ollama {
            url: "http://h".into(),
            model: "llama3.1".into(),
        };
        let v = b.request_body("sys", "usr");
        assert_eq!(v["stream"], false);
        assert_eq!(v["format"], "json");
        assert_eq!(v["options"]["temperature"], 0);
        assert_eq!(v["messages"][1]["content"], "usr");
        let b = Backend::Custom {
            url: "http://h".into(),
            key: None,
            model: "qwen".into(),
        };
        let v = b.request_body("sys", "usr");
        assert_eq!(v["model"], "qwen");
        assert_eq!(v["temperature"], 0);
        assert_eq!(v["response_format"]["type"], "json_object");
        assert_eq!(v["messages"][0]["role"], "system");
    }

    #[test]
    fn reply_content_extraction() {
        let openai = Backend::Custom {
            url: "http://h".into(),
            key: None,
            model: "m".into(),
        };
        let body = br#"{"choices":[{"message":{"role":"assistant","content":"{}"}}]}"#;
        assert_eq!(openai.reply_content(body).as_deref(), Ok("{}"));
        let e = openai.reply_content(br#"{"choices":[]}"#).unwrap_err();
        assert!(e.contains("choices[0].message.content"), "{e}");
        let e = openai
            .reply_content(br#"{"choices":[{"message":{"content":null}}]}"#)
            .unwrap_err();
        assert!(e.contains("null"), "{e}");
        let e = openai.reply_content(b"<html>").unwrap_err();
        assert!(e.contains("not JSON"), "{e}");
        let ollama = Backend::Ollama {
            url: "http://h".into(),
            model: "m".into(),
        };
        let body = br#"{"message":{"role":"assistant","content":"x"},"done":true}"#;
        assert_eq!(ollama.reply_content(body).as_deref(), Ok("x"));
    }
}
