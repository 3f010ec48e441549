"""Thin wrappers around the Anthropic and OpenAI SDKs.

Both clients read their API key from the environment (ANTHROPIC_API_KEY,
OPENAI_API_KEY); nothing here takes a key as an argument, so keys cannot end up
in logs or tracebacks by accident.
"""

from __future__ import annotations

import logging
import os

import anthropic
from openai import OpenAI

log = logging.getLogger(__name__)

_anthropic = anthropic.Anthropic(max_retries=3, timeout=30.0)  # reads ANTHROPIC_API_KEY
_openai = OpenAI(api_key=os.environ["OPENAI_API_KEY"], timeout=30.0)


def chat(system: str, user: str, *, model: str, max_tokens: int = 700, temperature: float = 0.1) -> str:
    """One assistant turn. Falls back to OpenAI when Anthropic is overloaded."""
    try:
        msg = _anthropic.messages.create(
            model=model,
            system=system,
            max_tokens=max_tokens,
            temperature=temperature,
            messages=[{"role": "user", "content": user}],
        )
        return "".join(block.text for block in msg.content if block.type == "text")
    except anthropic.APIStatusError as err:
        if err.status_code not in (429, 529):
            raise
        log.warning("anthropic %s, falling back to gpt-4o-mini", err.status_code)
    resp = _openai.chat.completions.create(
        model="gpt-4o-mini",
        temperature=temperature,
        max_tokens=max_tokens,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
    )
    return resp.choices[0].message.content or ""


def embed(texts: list[str], model: str = "text-embedding-3-small") -> list[list[float]]:
    resp = _openai.embeddings.create(model=model, input=texts)
    return [d.embedding for d in resp.data]
