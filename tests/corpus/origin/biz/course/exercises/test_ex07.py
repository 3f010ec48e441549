"""Public tests for exercise 7. The autograder runs these plus hidden tests.

Run locally with:  python -m pytest test_ex07.py -q
"""

import ast
import math
import subprocess
import sys
from pathlib import Path

import pytest

from calculator import evaluate

FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_ATTRS = {("os", "system"), ("os", "popen"), ("subprocess", "run"), ("subprocess", "Popen")}


def test_simple_arithmetic():
    assert evaluate("2 + 3 * 4") == 14
    assert evaluate("(2 + 3) * 4") == 20
    assert evaluate("7 // 2") == 3
    assert evaluate("7 % 4") == 3
    assert math.isclose(evaluate("1 / 3"), 0.3333333333, rel_tol=1e-9)


def test_unary_and_power():
    assert evaluate("-2 ** 2") == -4
    assert evaluate("2 ** -1") == 0.5


@pytest.mark.parametrize("expr", [
    "__import__('os').system('echo pwned')",
    "().__class__.__mro__[1].__subclasses__()",
    "open('/etc/passwd').read()",
    "[1, 2, 3]",
    "lambda: 1",
    "x + 1",
    "'a' * 3",
])
def test_rejects_non_arithmetic(expr):
    with pytest.raises(ValueError):
        evaluate(expr)


def test_exponent_limit():
    with pytest.raises(ValueError, match="exponent too large"):
        evaluate("9 ** 9 ** 9")


def test_division_by_zero_is_an_error():
    with pytest.raises((ValueError, ZeroDivisionError)):
        evaluate("1 / 0")


def test_source_does_not_use_eval_or_shell():
    """0 points for the exercise if the submission calls eval/exec or a shell."""
    tree = ast.parse(Path("calculator.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                assert func.id not in FORBIDDEN_CALLS, f"calculator.py calls {func.id}()"
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                assert (func.value.id, func.attr) not in FORBIDDEN_ATTRS, f"calculator.py calls {func.value.id}.{func.attr}()"


def test_cli_prints_result_and_exit_codes():
    ok = subprocess.run([sys.executable, "cli.py", "2 + 2"], capture_output=True, text=True, timeout=10)
    assert ok.returncode == 0 and ok.stdout.strip() == "4"
    bad = subprocess.run([sys.executable, "cli.py", "os.system('ls')"], capture_output=True, text=True, timeout=10)
    assert bad.returncode == 2 and bad.stderr
