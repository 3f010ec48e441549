"""Loads and renders the prompt files under prompts/.

Templates are Handlebars (pybars3). A missing variable is an error, not an
empty string: a system prompt that silently says "You are Quill at ." is worse
than a failed request.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from pybars import Compiler

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
_compiler = Compiler()


class MissingVariable(KeyError):
    pass


@lru_cache(maxsize=None)
def _template(rel: str):
    return _compiler.compile((PROMPTS / rel).read_text(encoding="utf-8"))


def render(rel: str, **variables) -> str:
    source = (PROMPTS / rel).read_text(encoding="utf-8")
    for name in _top_level_names(source):
        if name not in variables:
            raise MissingVariable(f"{rel}: {{{{{name}}}}} not provided")
    return _template(rel)(variables)


def system_prompt(surface: str, *, locale: str, office: str) -> str:
    return render(
        f"system/helpdesk_{surface}.md",
        company_name="Acme",
        today=dt.date.today().isoformat(),
        user_locale=locale,
        office=office,
        handoff_teams="People Ops, IT Service Desk, Payroll",
        employee_first_name="there",
        default_team="it-service-desk",
    )


def _top_level_names(source: str) -> set[str]:
    import re
    names = set(re.findall(r"{{\s*([a-z_][a-z0-9_]*)\s*}}", source))
    return names - {"this", "else"}
