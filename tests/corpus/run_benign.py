#!/usr/bin/env python3
"""Runs the benign session corpus through vanguard with real MCP servers.

Each session in tests/corpus/benign/*.json is played, once per profile it
lists, by the official Python MCP SDK client against `vanguard start`, which
launches the real server (the .test-env installs) in its sandbox. Afterwards
the run's audit log is read: every block, warning, logged finding and risk
point in an ordinary session is a false positive to explain.

    .test-env/venv/bin/python tests/corpus/run_benign.py [--only NAME] [--profile P]
        [--json FILE] [--list] [--server-cmd NAME=CMDLINE] [--vanguard PATH]

Exit status: 0 when every session x profile ran cleanly; 1 when any had a
block (or shadow_block), a client-visible error the session did not expect,
or, under balanced, any event with risk > 0; 2 on a usage or corpus error.

Simulated time: each step has `at_s`, seconds since the session start. The
driver sleeps (delta at_s) / VANGUARD_CLOCK_SCALE real seconds between steps
(default scale 1000) and passes the same variable to vanguard, whose L3 clock
runs that much faster, so hours of work replay in seconds against L3's
windows and decay. A finding of a time-windowed rule whose simulated schedule
stays under the profile's threshold is labelled a timing artefact (it would
mean the scaled clock and the schedule disagree).
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import http.server
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = HERE / "benign"
WORKSPACES = HERE / "workspaces"
ORIGIN_ROOT = HERE / "origin"
TEST_ENV = REPO / ".test-env"
NPM = TEST_ENV / "npm" / "node_modules" / "@modelcontextprotocol"
VENV_BIN = TEST_ENV / "venv" / "bin"
DEFAULT_VANGUARD = str(REPO / "target" / "release" / "vanguard")

SERVERS = ("filesystem", "git", "memory", "fetch", "time", "everything")
PROFILES = ("monitor", "balanced", "strict")
STEP_KEYS = {"tool", "arguments", "method", "params", "at_s", "expect", "progress", "note"}
EXPECTS = {"ok", "tool_error", "rpc_error", "any"}
# Rules whose judgement depends on the time between calls (sliding windows,
# risk decay); with vanguard's clock unscaled they see compressed time.
TIMED_RULES = re.compile(r"^BEH-(RATE|REPEAT|ENUM|RISK|VOLUME)")

# L3 window thresholds per profile (README "L3"; strict overrides repeat and
# enumeration). Used only to label timing artefacts.
_BALANCED_LIMITS = {
    "repeat": (20, 50), "per_tool": (200, 1000), "enumeration": (20, 300),
    "read": (300, 1500), "write": (150, 800), "exec": (60, 400), "network": (60, 400),
}
L3_LIMITS = {
    "balanced": _BALANCED_LIMITS,
    "monitor": _BALANCED_LIMITS,
    "strict": {**_BALANCED_LIMITS, "repeat": (10, 30), "enumeration": (20, 100)},
}


def default_server_cmds() -> dict[str, str]:
    node = shutil.which("node") or "node"
    return {
        "filesystem": f"{node} {NPM}/server-filesystem/dist/index.js ${{workspace}}",
        "everything": f"{node} {NPM}/server-everything/dist/index.js",
        # MEMORY_FILE_PATH comes from the memory profile's env_set (carried
        # into monitor and strict by the overlay). With --layering generic the
        # server would write next to its own code, outside every write zone;
        # an `env VAR=… node …` wrapper does not work either, as the sandbox
        # then does not grant the script's path.
        "memory": f"{node} {NPM}/server-memory/dist/index.js",
        "git": f"{VENV_BIN}/mcp-server-git --repository ${{workspace}}",
        "time": f"{VENV_BIN}/mcp-server-time --local-timezone Etc/UTC",
        # The corpus origin is on loopback; mcp-server-fetch refuses private
        # addresses itself unless told otherwise (vanguard's proxy still judges).
        "fetch": f"{VENV_BIN}/mcp-server-fetch --allow-private-ips",
    }


# ------------------------------------------------------------------ corpus


class CorpusError(Exception):
    pass


def subst(value: Any, mapping: dict[str, str]) -> Any:
    """Replaces ${name} placeholders in every string of a JSON value."""
    if isinstance(value, str):
        return re.sub(
            r"\$\{([a-z_]+)\}",
            lambda m: mapping.get(m.group(1), m.group(0)),
            value,
        )
    if isinstance(value, list):
        return [subst(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: subst(v, mapping) for k, v in value.items()}
    return value


def load_session(path: Path) -> dict:
    try:
        s = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CorpusError(f"{path.name}: not JSON: {e}") from e
    where = path.name
    for key in ("name", "description", "server", "profiles", "steps"):
        if key not in s:
            raise CorpusError(f"{where}: missing {key!r}")
    if s["server"] not in SERVERS:
        raise CorpusError(f"{where}: unknown server {s['server']!r}")
    bad = [p for p in s["profiles"] if p not in PROFILES]
    if bad or not s["profiles"]:
        raise CorpusError(f"{where}: profiles must be a non-empty subset of {PROFILES}")
    if path.stem != s["name"]:
        raise CorpusError(f"{where}: file name must be <name>.json")
    s.setdefault("client", {})
    for k in s["client"]:
        if k not in ("sampling", "elicitation", "roots"):
            raise CorpusError(f"{where}: unknown client capability {k!r}")
    s.setdefault("workspace", {})
    unprotect = s.setdefault("unprotect", [])
    if not isinstance(unprotect, list) or not all(isinstance(n, str) and n for n in unprotect):
        raise CorpusError(f"{where}: unprotect must be a list of protected names")
    prompt_files = s.setdefault("prompt_files", [])
    if not isinstance(prompt_files, list) or not all(isinstance(n, str) and n for n in prompt_files):
        raise CorpusError(f"{where}: prompt_files must be a list of file patterns")
    steps = list(s["steps"])
    if "generate" in s:
        steps += expand_generate(s["generate"], steps, where)
    last = 0.0
    for i, st in enumerate(steps):
        unknown = set(st) - STEP_KEYS
        if unknown:
            raise CorpusError(f"{where}: step {i}: unknown keys {sorted(unknown)}")
        if ("tool" in st) == ("method" in st):
            raise CorpusError(f"{where}: step {i}: exactly one of tool / method")
        st.setdefault("at_s", last)
        st.setdefault("expect", "ok")
        if st["expect"] not in EXPECTS:
            raise CorpusError(f"{where}: step {i}: expect must be one of {sorted(EXPECTS)}")
        if st["at_s"] < last:
            raise CorpusError(f"{where}: step {i}: at_s {st['at_s']} goes back in time (previous {last})")
        last = st["at_s"]
    s["expanded_steps"] = steps
    return s


def expand_generate(g: dict, explicit: list[dict], where: str) -> list[dict]:
    """Expands a `generate` recipe into steps (see benign/README.md)."""
    rng = random.Random(g.get("seed", 0))
    after = max((st.get("at_s", 0) for st in explicit), default=0)
    t = max(float(g.get("start_s", 0)), after + 5)
    lists: dict[str, list] = g.get("vars", {})
    per_cycle = g.get("per_cycle", {})  # var -> "round_robin" | "random"
    marker_fmt = g.get("marker", "agent-notes: {n}")
    notes = lists.get("note", ["tidy up"])
    markers: dict[str, str] = {}
    counters: Counter = Counter()
    gap = g.get("step_gap_s", [3, 10])
    cycle_s = g.get("cycle_s", [60, 120])
    out: list[dict] = []
    for cycle in range(int(g["cycles"])):
        start = t
        chosen: dict[str, str] = {"cycle": str(cycle)}
        for name, values in lists.items():
            if per_cycle.get(name, "random") == "round_robin":
                chosen[name] = values[cycle % len(values)]
            else:
                chosen[name] = rng.choice(values)
        for tmpl in g["cycle"]:
            every = tmpl.get("every", 1)
            if (cycle - tmpl.get("offset", 0)) % every != 0:
                continue
            if rng.random() >= tmpl.get("prob", 1.0):
                continue
            mapping = dict(chosen)
            for name, values in lists.items():
                mapping[f"pick_{name}"] = rng.choice(values)
            f = mapping.get("file")
            if f is not None:
                cur = markers.get(f, marker_fmt.format(n=0))
                nxt = marker_fmt.format(n=counters[f] + 1) + f" ({rng.choice(notes)}, cycle {cycle})"
                mapping["marker"] = cur
                mapping["marker_next"] = nxt
            step = {k: copy.deepcopy(v) for k, v in tmpl.items() if k not in ("every", "offset", "prob", "advance_marker")}
            step = subst(step, mapping)
            step["at_s"] = round(t, 3)
            out.append(step)
            if tmpl.get("advance_marker") and f is not None:
                counters[f] += 1
                markers[f] = mapping["marker_next"]
            t += rng.uniform(*gap)
        t = max(t, start + rng.uniform(*cycle_s))
    return out


def simulated_peaks(steps: list[dict], window: float = 60.0) -> dict[str, int]:
    """The busiest 60 s of simulated time: identical calls, one tool, listings."""
    calls = [st for st in steps if "tool" in st]

    def peak(keyfn) -> int:
        best = 0
        by: dict[Any, list[float]] = defaultdict(list)
        for st in calls:
            k = keyfn(st)
            if k is None:
                continue
            by[k].append(st["at_s"])
        for times in by.values():
            j = 0
            for i, ti in enumerate(times):
                while times[j] <= ti - window:
                    j += 1
                best = max(best, i - j + 1)
        return best

    enum_tools = re.compile(r"(list|search|tree|find|glob|read_graph|search_nodes|git_log|git_branch)", re.I)
    return {
        "repeat": peak(lambda st: json.dumps([st["tool"], st.get("arguments", {})], sort_keys=True)),
        "per_tool": peak(lambda st: st["tool"]),
        "enumeration": peak(lambda st: "enum" if enum_tools.search(st["tool"]) else None),
        "all": peak(lambda st: "all"),
    }


# --------------------------------------------------------------- workspace


def make_workspace(spec: dict, root: Path) -> Path:
    ws = root / "ws"
    ws.mkdir()
    tmpl = spec.get("template")
    if tmpl:
        src = WORKSPACES / tmpl
        if not src.is_dir():
            raise CorpusError(f"unknown workspace template {tmpl!r}")
        shutil.copytree(src, ws, dirs_exist_ok=True)
    for sub, name in spec.get("templates", {}).items():
        src = WORKSPACES / name
        if not src.is_dir():
            raise CorpusError(f"unknown workspace template {name!r}")
        shutil.copytree(src, ws / sub, dirs_exist_ok=True)
    for rel, content in spec.get("files", {}).items():
        p = ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    for rel, b64 in spec.get("binary_files", {}).items():
        p = ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(base64.b64decode(b64))
    if spec.get("git"):
        env = dict(os.environ, GIT_AUTHOR_DATE="2026-10-01T09:00:00Z", GIT_COMMITTER_DATE="2026-10-01T09:00:00Z")

        def git(*args: str) -> None:
            subprocess.run(["git", *args], cwd=ws, check=True, env=env, capture_output=True)

        git("init", "-q", "-b", "main")
        # Repository-local identity: the sandboxed server has no HOME config.
        git("config", "user.name", "Dev Agent")
        git("config", "user.email", "dev-agent@example.org")
        git("add", "-A")
        git("commit", "-q", "-m", spec.get("initial_commit", "Initial import"))
        for i, c in enumerate(spec.get("history", [])):
            for rel, content in c.get("files", {}).items():
                p = ws / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(content)
            if c.get("branch"):
                git("checkout", "-q", "-B", c["branch"])
            git("add", "-A")
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"2026-10-{2 + i:02d}T10:00:00Z"
            git("commit", "-q", "-m", c["message"])
            if c.get("back_to"):
                git("checkout", "-q", c["back_to"])
    # Uncommitted work the session finds (git status / diff material).
    for rel, content in spec.get("dirty", {}).items():
        p = ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    for rel, content in spec.get("staged", {}).items():
        p = ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
        subprocess.run(["git", "add", rel], cwd=ws, check=True, capture_output=True)
    return ws


# ------------------------------------------------------------------ origin


class Origin:
    """A loopback HTTP origin serving tests/corpus/origin/ for the fetch sessions."""

    def __init__(self) -> None:
        handler = functools.partial(_QuietHandler, directory=str(ORIGIN_ROOT))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.requests: list[str] = []
        _QuietHandler.log_to = self.requests

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    log_to: list[str] = []
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".md": "text/markdown", ".json": "application/json"}

    def log_message(self, fmt: str, *args: Any) -> None:
        self.log_to.append(fmt % args)


# ---------------------------------------------------------------- running


def profile_args(server: str, profile: str, layering: str, tmp: Path, resolve: dict[str, str] | None = None) -> list[str]:
    """The --profile for a session's server under one of the generic profiles.

    overlay (default): balanced is the shipped server profile itself (it
    extends balanced); monitor and strict get a temporary profile that extends
    them and carries the server profile's own sections (cwd, zones, env_set,
    tool_access), read from profiles/servers/<server>.toml minus its command.
    generic: plain --profile monitor|balanced|strict.
    """
    resolve_line = None
    if resolve:
        resolve_line = "resolve = { " + ", ".join(f'"{k}" = "{v}"' for k, v in resolve.items()) + " }"
    if layering == "generic" or (profile == "balanced" and not resolve_line):
        base = profile if layering == "generic" else server
        if not resolve_line:
            return ["--profile", base]
        p = tmp / f"{base}+resolve.toml"
        p.write_text(f'extends = "{base}"\n[network]\n{resolve_line}\n')
        return ["--profile", str(p)]
    body = (REPO / "profiles" / "servers" / f"{server}.toml").read_text()
    lines = []
    for line in body.splitlines():
        if re.match(r"^\s*(extends|name|description)\s*=", line):
            continue
        if re.match(r"^\s*command\s*=", line):
            continue
        lines.append(line)
        if resolve_line and line.strip() == "[network]":
            lines.append(resolve_line)
            resolve_line = None
    if resolve_line:
        lines += ["[network]", resolve_line]
    text = f'extends = "{profile}"\nname = "{profile}+{server}"\n' + "\n".join(lines) + "\n"
    p = tmp / f"{profile}+{server}.toml"
    p.write_text(text)
    return ["--profile", str(p)]


def classify_exception(exc: BaseException) -> tuple[str, dict]:
    from mcp.shared.exceptions import MCPError

    if isinstance(exc, MCPError):
        err = exc.error
        info = {"code": err.code, "message": err.message, "data": err.data}
        if err.code == -31001:
            return "blocked", info
        if err.code == -31002:
            return "server_gone", info
        return "rpc_error", info
    return "exception", {"type": type(exc).__name__, "message": str(exc)[:500]}


def result_text(obj: Any) -> str:
    try:
        return json.dumps(obj.model_dump(mode="json", by_alias=True, exclude_none=True))
    except Exception:
        return str(obj)


async def play(session: dict, profile: str, opts: argparse.Namespace, origin: Origin | None) -> dict:
    import anyio
    import mcp_types as types
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    name = session["name"]
    # The session name stays out of the path: paths reach results (edit_file
    # diffs name the file) and a word like "auth" there changes what the
    # secret scanner sees. session.txt names the run.
    tmp = Path(tempfile.mkdtemp(prefix=f"vg-benign-{profile}-"))
    (tmp / "session.txt").write_text(f"{name} {profile}\n")
    ws = make_workspace(session["workspace"], tmp)
    mapping = {"workspace": str(ws)}
    resolve = None
    if origin is not None:
        mapping["origin"] = f"http://{opts.origin_host}:{origin.port}"
        if opts.origin_host != "127.0.0.1":
            resolve = {opts.origin_host: "127.0.0.1"}
    audit = tmp / "audit.jsonl"
    server_cmd = subst(opts.server_cmds[session["server"]], mapping)
    needs_origin = session["server"] == "fetch" or session.get("origin")
    chosen = profile_args(session["server"], profile, opts.layering, tmp, resolve if needs_origin else None)
    if session["prompt_files"]:
        # The application's own prompts, declared as its user would
        # (README, "Prompt files"), over whichever profile the run uses.
        over = tmp / "prompt-files.toml"
        patterns = ", ".join(json.dumps(p) for p in session["prompt_files"])
        over.write_text(f"extends = {json.dumps(chosen[1])}\n[results]\nprompt_files = [{patterns}]\n")
        chosen = ["--profile", str(over)]
    args = ["start", *chosen,
            "--workspace", str(ws), "--audit-log", str(audit), "--pins", str(tmp / "pins.json"),
            "--server", server_cmd]
    for name in session["unprotect"]:
        args += ["--unprotect", name]
    if needs_origin:
        if origin is None:
            raise CorpusError("origin needed but not started")
        args += ["--net", "allowlist", "--allow-host", f"{opts.origin_host}:{origin.port}"]
        if opts.origin_host != "127.0.0.1":
            # The proxy reaches a name that resolves to loopback only when the
            # list also names the address (its DNS-rebinding defence).
            args += ["--allow-host", f"127.0.0.1:{origin.port}"]
    env = {
        "VANGUARD_CLOCK_SCALE": str(opts.clock_scale),
        "XDG_STATE_HOME": str(tmp / "state"),
        "RUST_BACKTRACE": "1",
    }
    client = session.get("client", {})
    answered: Counter = Counter()

    async def sampling(ctx, params):
        answered["sampling/createMessage"] += 1
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text="Here is a short summary: the build passed and two tests were added."),
            model="corpus-fake-model",
            stop_reason="endTurn",
        )

    async def elicitation(ctx, params):
        answered["elicitation/create"] += 1
        schema = getattr(params, "requested_schema", None)
        if schema is None:  # URL mode: the user opened the link
            return types.ElicitResult(action="accept")
        content: dict[str, Any] = {}
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        for key, prop in props.items():
            if "default" in prop:
                content[key] = prop["default"]
            elif prop.get("enum"):
                content[key] = prop["enum"][0]
            elif prop.get("oneOf"):
                content[key] = prop["oneOf"][0].get("const")
            elif prop.get("type") == "boolean":
                content[key] = True
            elif prop.get("type") in ("number", "integer"):
                content[key] = prop.get("minimum", 1)
            elif prop.get("type") == "array":
                items = prop.get("items", {})
                content[key] = [(items.get("enum") or [o.get("const") for o in items.get("anyOf", [])] or ["a"])[0]]
            elif prop.get("format") == "email":
                content[key] = "ada@example.org"
            elif prop.get("format") == "date":
                content[key] = "2026-11-02"
            elif prop.get("format") == "uri":
                content[key] = "https://example.org/profile/ada"
            else:
                content[key] = "Ada Lovelace"
        return types.ElicitResult(action="accept", content=content)

    async def roots(ctx):
        answered["roots/list"] += 1
        return types.ListRootsResult(roots=[types.Root(uri=f"file://{ws}", name="workspace")])

    notifications: Counter = Counter()

    async def on_message(msg):
        notifications[type(msg).__name__] += 1

    kwargs: dict[str, Any] = {"read_timeout_seconds": opts.call_timeout, "message_handler": on_message}
    if client.get("sampling"):
        kwargs["sampling_callback"] = sampling
    if client.get("elicitation"):
        kwargs["elicitation_callback"] = elicitation
    if client.get("roots"):
        kwargs["list_roots_callback"] = roots

    outcomes: list[dict] = []
    problems: list[str] = []
    listed: list[str] = []
    stderr_path = tmp / "vanguard.stderr"
    started = time.monotonic()
    with open(stderr_path, "w") as errlog:
        params = StdioServerParameters(command=opts.vanguard, args=args, env=env, cwd=str(ws))
        try:
            async with stdio_client(params, errlog=errlog) as (r, w, *_):
                async with ClientSession(r, w, **kwargs) as cs:
                    await cs.initialize()
                    tools = await cs.list_tools()
                    listed = sorted(t.name for t in tools.tools)
                    wanted = {st["tool"] for st in session["expanded_steps"] if "tool" in st}
                    missing = sorted(wanted - set(listed))
                    if missing:
                        problems.append(f"tools not listed: {missing}")
                    t0 = time.monotonic()
                    for i, st in enumerate(session["expanded_steps"]):
                        due = t0 + st["at_s"] / opts.clock_scale
                        delay = due - time.monotonic()
                        if delay > 0:
                            await anyio.sleep(delay)
                        st = subst(st, mapping)
                        outcomes.append(await run_step(cs, st, i, types))
        except BaseException as exc:  # noqa: BLE001 - report, do not crash the corpus
            if isinstance(exc, KeyboardInterrupt):
                raise
            leaf = exc
            while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
                leaf = leaf.exceptions[0]
            problems.append(f"session failed: {type(leaf).__name__}: {str(leaf)[:300]}")
    elapsed = time.monotonic() - started
    stderr = stderr_path.read_text(errors="replace")
    if "panicked at" in stderr:
        m = re.search(r"panicked at [^\n]*\n[^\n]*", stderr)
        problems.append(f"vanguard panicked: {m.group(0) if m else 'see stderr'}")
    with open(tmp / "results.jsonl", "w") as fh:
        for o in outcomes:
            fh.write(json.dumps(o) + "\n")
    for o in outcomes:
        o.pop("result", None)
    events = read_audit(audit)
    report = analyse(session, profile, outcomes, events, problems)
    report.update(
        elapsed_s=round(elapsed, 2),
        simulated_s=session["expanded_steps"][-1]["at_s"] if session["expanded_steps"] else 0,
        listed_tools=listed,
        client_answered=dict(answered),
        notifications=dict(notifications),
        tmp=str(tmp),
    )
    if not opts.keep and report["ok"]:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


async def run_step(cs, st: dict, index: int, types) -> dict:
    out: dict[str, Any] = {"index": index, "at_s": st["at_s"], "expect": st["expect"]}
    try:
        if "tool" in st:
            out["tool"] = st["tool"]
            out["method"] = "tools/call"
            progress_seen: list[float] = []

            async def progress(p, total, message):
                progress_seen.append(p)

            res = await cs.call_tool(
                st["tool"], st.get("arguments", {}),
                progress_callback=progress if st.get("progress") else None,
            )
            out["outcome"] = "tool_error" if res.is_error else "ok"
            text = result_text(res)
            out["result"] = text
            if st.get("progress"):
                out["progress_notifications"] = len(progress_seen)
        else:
            m, p = st["method"], st.get("params", {})
            out["method"] = m
            if m == "resources/read":
                res = await cs.read_resource(p["uri"])
            elif m == "resources/list":
                res = await cs.list_resources()
            elif m == "resources/templates/list":
                res = await cs.list_resource_templates()
            elif m == "prompts/list":
                res = await cs.list_prompts()
            elif m == "prompts/get":
                res = await cs.get_prompt(p["name"], p.get("arguments"))
            elif m == "tools/list":
                res = await cs.list_tools()
            elif m == "ping":
                res = await cs.send_ping()
            else:
                raise CorpusError(f"unsupported method {m}")
            out["outcome"] = "ok"
            text = result_text(res)
            out["result"] = text
        redacted = re.findall(r"\[REDACTED:[^\]]*\]", text)
        if redacted:
            out["redacted"] = sorted(set(redacted))
    except Exception as exc:  # noqa: BLE001
        kind, info = classify_exception(exc)
        out["outcome"] = kind
        out["error"] = info
    return out


# ----------------------------------------------------------------- audit


def read_audit(path: Path) -> list[dict]:
    events = []
    if not path.exists():
        return events
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            events.append({"kind": "unparsable", "raw": line[:200]})
    return events


def analyse(session: dict, profile: str, outcomes: list[dict], events: list[dict], problems: list[str]) -> dict:
    steps = session["expanded_steps"]
    decisions = [e for e in events if e.get("kind") == "decision"]
    # Agent requests in audit order map onto the steps of the same method, in order.
    by_method: dict[str, list[dict]] = defaultdict(list)
    for e in decisions:
        if e.get("direction") == "agent_to_server" and e.get("request_id") is not None:
            by_method[e.get("method")].append(e)
    replies = {json.dumps(e.get("request_id")): e for e in decisions if e.get("direction") == "server_to_agent"}
    step_event: dict[int, dict] = {}
    cursor: Counter = Counter()
    for o in outcomes:
        m = o["method"]
        evs = by_method.get(m, [])
        # initialize / tools/list issued by the driver itself come first.
        skip = 1 if m == "tools/list" else 0
        k = cursor[m] + skip
        if k < len(evs):
            step_event[o["index"]] = evs[k]
        cursor[m] += 1

    findings: list[dict] = []
    verdicts: Counter = Counter()
    rules: Counter = Counter()
    max_risk = 0.0
    for e in events:
        max_risk = max(max_risk, float(e.get("risk") or 0))
        if e.get("kind") != "decision":
            if e.get("kind") in ("input_error",):
                problems.append(f"audit {e.get('kind')}: {e.get('detail')}")
            continue
        v = e.get("verdict", "allow")
        verdicts[v] += 1
        for r in e.get("rules", []):
            rules[r] += 1
        if v != "allow" or e.get("rules") or e.get("findings"):
            findings.append(e)

    # Attach each finding to the step it came from.
    index_of_event = {id(ev): i for i, ev in step_event.items()}
    req_to_index = {json.dumps(ev.get("request_id")): i for i, ev in step_event.items()}
    peaks = simulated_peaks(steps)
    limits = L3_LIMITS[profile]
    fps = []
    for e in findings:
        i = index_of_event.get(id(e))
        if i is None and e.get("direction") == "server_to_agent":
            i = req_to_index.get(json.dumps(e.get("request_id")))
        step = steps[i] if i is not None else None
        for f in e.get("findings") or [{"rule": r} for r in e.get("rules", [])]:
            rule = f.get("rule", "?")
            timing = None
            if TIMED_RULES.match(rule):
                timing = timing_note(rule, peaks, limits)
            fps.append({
                "verdict": e.get("verdict"),
                "direction": e.get("direction"),
                "method": e.get("method"),
                "tool": e.get("tool"),
                "step": i,
                "at_s": step["at_s"] if step else None,
                "arguments": (step.get("arguments") or step.get("params")) if step else None,
                "rule": rule,
                "layer": f.get("layer"),
                "action": f.get("action"),
                "severity": f.get("severity"),
                "message": f.get("message"),
                "location": f.get("location"),
                "evidence": f.get("evidence"),
                "risk": e.get("risk"),
                "timing": timing,
            })

    unexpected = []
    for o in outcomes:
        want = o["expect"]
        got = o["outcome"]
        if want == "any" and got in ("ok", "tool_error", "rpc_error"):
            continue
        if got != want:
            unexpected.append(o)
    calls = sum(1 for o in outcomes if o["method"] == "tools/call")
    blocks = verdicts["block"] + verdicts["shadow_block"]
    warns = verdicts["warn"]
    logged = sum(1 for e in findings if e.get("verdict") == "allow")
    redactions = [o for o in outcomes if o.get("redacted")]
    executed = len(outcomes)
    if executed < len(steps) and not problems:
        problems.append(f"only {executed} of {len(steps)} steps ran")
    ok = (
        not problems
        and blocks == 0
        and not unexpected
        and executed == len(steps)
        and not (profile == "balanced" and max_risk > 0)
    )
    return {
        "session": session["name"],
        "server": session["server"],
        "profile": profile,
        "ok": ok,
        "steps": len(steps),
        "executed": executed,
        "calls": calls,
        "blocks": blocks,
        "warns": warns,
        "logged": logged,
        "max_risk": round(max_risk, 2),
        "rules": dict(rules),
        "verdicts": dict(verdicts),
        "unexpected": unexpected,
        "redactions": redactions,
        "findings": fps,
        "problems": problems,
        "simulated_peaks": peaks,
    }


def timing_note(rule: str, peaks: dict, limits: dict) -> str:
    """Whether a windowed L3 finding would also fire on the simulated schedule."""
    if rule == "BEH-REPEAT":
        kind, peak = "repeat", peaks.get("repeat", 0)
    elif rule == "BEH-ENUM":
        kind, peak = "enumeration", peaks.get("enumeration", 0)
    elif rule == "BEH-RATE-TOOL":
        kind, peak = "per_tool", peaks.get("per_tool", 0)
    elif rule.startswith("BEH-RATE-"):
        # Per capability (read, write, …): every call of the session is an
        # upper bound for any one capability.
        cap = rule[len("BEH-RATE-"):].lower()
        kind, peak = cap, peaks.get("all", 0)
    else:
        return "time-dependent (risk decay / volume)"
    warn = limits.get(kind, (None, None))[0]
    if warn is None:
        return f"windowed; simulated peak {peak}/min of all calls"
    if peak <= warn:
        return f"timing artefact: simulated peak {peak}/min for {kind}, under warn {warn}"
    return f"real: simulated peak {peak}/min for {kind} exceeds warn {warn}"


# ------------------------------------------------------------------- main


def fmt_line(r: dict) -> str:
    status = "PASS" if r["ok"] else ("INFO" if r.get("informational") else "FAIL")
    rules = ",".join(f"{k}x{v}" for k, v in sorted(r["rules"].items())) or "-"
    extra = []
    if r["unexpected"]:
        extra.append(f"unexpected={len(r['unexpected'])}")
    if r["redactions"]:
        extra.append(f"redacted={len(r['redactions'])}")
    if r["problems"]:
        extra.append(f"problems={len(r['problems'])}")
    return (f"{status} {r['session']:<36} {r['profile']:<8} calls={r['calls']:<4} blocks={r['blocks']:<3} "
            f"warns={r['warns']:<3} logged={r['logged']:<3} max_risk={r['max_risk']:<6} "
            f"t={r['elapsed_s']}s rules={rules} {' '.join(extra)}").rstrip()


def _norm(text: str) -> str:
    """A message with paths, numbers and ids folded, for grouping."""
    text = re.sub(r"/tmp/vg-benign-[^\s/)\]]*/ws", "${workspace}", text or "")
    return re.sub(r"(?<![A-Za-z])\d+(\.\d+)?", "N", text)


def describe(r: dict, verbose: bool) -> list[str]:
    """The findings and unexpected outcomes of one run, grouped (all of them with -v)."""
    lines = []
    groups: dict[tuple, list[dict]] = {}
    for f in r["findings"]:
        key = (f["verdict"], f["action"], f["rule"], f["direction"], f["tool"] or f["method"], _norm(f["message"]))
        groups.setdefault(key, []).append(f)
    for (verdict, action, rule, direction, what, msg), fs in groups.items():
        f0 = fs[0]
        where = f" at {f0['location']}" if f0.get("location") and f0["location"] != "/params" else ""
        ev = f" evidence={f0['evidence']!r}" if f0.get("evidence") else ""
        timing = f" [{f0['timing']}]" if f0.get("timing") else ""
        lines.append(f"{verdict}/{action or '-'} x{len(fs)} {rule} {direction} {what} (first step {f0['step']}, "
                     f"t={f0['at_s']}s, risk {f0['risk']}){where}{ev}: {msg}{timing}")
    ugroups: dict[tuple, list[dict]] = {}
    for o in r["unexpected"]:
        err = o.get("error") or {}
        key = (o.get("tool") or o["method"], o["expect"], o["outcome"], _norm(str(err.get("message", "")))[:160])
        ugroups.setdefault(key, []).append(o)
    for (what, want, got, msg), os_ in ugroups.items():
        lines.append(f"unexpected x{len(os_)} {what}: expected {want}, got {got} (first step {os_[0]['index']}) {msg}")
    for o in r["redactions"]:
        lines.append(f"redacted step={o['index']} {o.get('tool') or o['method']}: {o['redacted']}")
    for p in r["problems"]:
        lines.append(f"problem: {p}")
    if not r["ok"]:
        lines.append(f"(kept {r['tmp']})")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vanguard", default=os.environ.get("VANGUARD_BIN", DEFAULT_VANGUARD))
    ap.add_argument("--corpus", default=str(CORPUS), help="directory of session JSON files")
    ap.add_argument("--only", action="append", default=[], help="session name (repeatable, or comma-separated)")
    ap.add_argument("--server", action="append", default=[], help="only sessions for this server")
    ap.add_argument("--profile", action="append", default=[], choices=PROFILES, help="only this profile (repeatable)")
    ap.add_argument("--all-profiles", action="store_true",
                    help="also run profiles a session does not list (reported as INFO, never failing)")
    ap.add_argument("--layering", choices=("overlay", "generic"), default="overlay",
                    help="overlay: server profile sections on each generic profile (default); generic: --profile P only")
    ap.add_argument("--server-cmd", action="append", default=[], metavar="NAME=CMDLINE")
    ap.add_argument("--origin-host", default="docs.acme.test",
                    help="host name the fetch sessions use for the loopback origin (resolved to 127.0.0.1 by the "
                         "profile's [network] resolve); 127.0.0.1 addresses it directly (default: %(default)s)")
    ap.add_argument("--json", help="write the full results here")
    ap.add_argument("--list", action="store_true", help="list the sessions and exit")
    ap.add_argument("--keep", action="store_true", help="keep every run's temp dir (failed runs are always kept)")
    ap.add_argument("--call-timeout", type=float, default=60.0)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every finding")
    opts = ap.parse_args()
    opts.clock_scale = float(os.environ.get("VANGUARD_CLOCK_SCALE", "1000"))
    if opts.clock_scale <= 0:
        ap.error("VANGUARD_CLOCK_SCALE must be positive")
    opts.server_cmds = default_server_cmds()
    for item in opts.server_cmd:
        name, sep, cmd = item.partition("=")
        if not sep or name not in SERVERS:
            ap.error(f"--server-cmd wants NAME=CMDLINE with NAME in {SERVERS}")
        opts.server_cmds[name] = cmd
    only = {n for item in opts.only for n in item.split(",") if n}

    try:
        sessions = [load_session(p) for p in sorted(Path(opts.corpus).glob("*.json"))]
    except CorpusError as e:
        print(f"corpus error: {e}", file=sys.stderr)
        return 2
    names = [s["name"] for s in sessions]
    dup = [n for n, c in Counter(names).items() if c > 1]
    if dup:
        print(f"corpus error: duplicate names {dup}", file=sys.stderr)
        return 2
    if only - set(names):
        print(f"unknown session(s): {sorted(only - set(names))}", file=sys.stderr)
        return 2
    sessions = [s for s in sessions if (not only or s["name"] in only) and (not opts.server or s["server"] in opts.server)]

    if opts.list:
        total = 0
        for s in sessions:
            n = sum(1 for st in s["expanded_steps"] if "tool" in st)
            total += n
            pk = simulated_peaks(s["expanded_steps"])
            print(f"{s['name']:<36} {s['server']:<10} {','.join(s['profiles']):<24} calls={n:<4} "
                  f"requests={len(s['expanded_steps']):<4} sim={s['expanded_steps'][-1]['at_s'] / 3600:.2f}h "
                  f"peak/min repeat={pk['repeat']} tool={pk['per_tool']} enum={pk['enumeration']}")
        print(f"{len(sessions)} sessions, {total} tool calls")
        return 0

    if not os.access(opts.vanguard, os.X_OK):
        print(f"vanguard binary not found or not executable: {opts.vanguard} (--vanguard / VANGUARD_BIN)", file=sys.stderr)
        return 2

    import anyio

    origin = Origin() if any(s["server"] == "fetch" or s.get("origin") for s in sessions) else None
    results = []
    try:
        for s in sessions:
            profiles = [p for p in PROFILES if p in s["profiles"] or opts.all_profiles]
            if opts.profile:
                profiles = [p for p in profiles if p in opts.profile]
            for p in profiles:
                r = anyio.run(play, s, p, opts, origin)
                if p not in s["profiles"]:
                    r["informational"] = True
                results.append(r)
                print(fmt_line(r), flush=True)
                if opts.verbose or not r["ok"]:
                    for line in describe(r, opts.verbose):
                        print("    " + line)
    finally:
        if origin is not None:
            origin.close()

    failing = [r for r in results if not r["ok"] and not r.get("informational")]
    calls = sum(r["calls"] for r in results)
    summary = {
        "vanguard": opts.vanguard,
        "clock_scale": opts.clock_scale,
        "layering": opts.layering,
        "runs": len(results),
        "sessions": len({r["session"] for r in results}),
        "calls": calls,
        "failing_runs": len(failing),
        "blocks": sum(r["blocks"] for r in results),
        "warns": sum(r["warns"] for r in results),
        "rules": dict(sum((Counter(r["rules"]) for r in results), Counter())),
        "results": results,
    }
    print(f"\n{len(results)} runs ({summary['sessions']} sessions), {calls} tool calls: "
          f"{len(failing)} failing, {summary['blocks']} blocks, {summary['warns']} warns; "
          f"rules {summary['rules'] or '-'}")
    if opts.json:
        Path(opts.json).write_text(json.dumps(summary, indent=1, default=str))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
