"""PY102 exercise 7 — starter code. Replace the TODOs; keep the function names."""

import ast
import operator

MAX_EXPONENT = 1000

BINARY_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    # TODO: the other operators from the exercise
}


def evaluate(expr: str) -> float:
    """Evaluate an arithmetic expression without eval()."""
    tree = ast.parse(expr, mode="eval")
    return _eval_node(tree.body)


def _eval_node(node: ast.AST) -> float:
    # TODO: handle ast.Constant, ast.BinOp, ast.UnaryOp; raise ValueError otherwise
    raise ValueError(f"unsupported expression: {type(node).__name__}")
