"""Arithmetic a model may ask for, evaluated safely: the expression is parsed with `ast` and
only numbers, + - * / // % **, parentheses, a few constants and math functions are walked.
Nothing is ever `eval`ed, and sizes are bounded so no expression can hang the app or fill its
memory (a huge power is refused before it is computed).

    AppError (openchat_desktop.errors)
    └── InvalidRequest
        └── CalculationRefused     422 calculation_refused: not arithmetic, or too large

The calculator tool gives the refusal's sentence to the model as an error result.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from ..errors import InvalidRequest

MAX_CHARS = 500
MAX_NODES = 200
MAX_EXPONENT = 1000  # |exponent| of a power
MAX_BITS = 4000  # a whole-number result of more bits (about 1,200 digits) is refused

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
FUNCTIONS: dict[str, Callable[..., float | int]] = {
    "abs": abs, "round": round, "min": min, "max": max,
    "sqrt": math.sqrt, "exp": math.exp, "log": math.log, "log10": math.log10,
    "log2": math.log2, "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "floor": math.floor, "ceil": math.ceil,
}
OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}

Number = int | float


class CalculationRefused(InvalidRequest):
    """The expression cannot be computed; the message says why."""

    code = "calculation_refused"


def calculate(expression: str) -> Number:
    """The value of `expression`, or CalculationRefused with a sentence."""
    if len(expression) > MAX_CHARS:
        raise CalculationRefused(f"The expression is longer than {MAX_CHARS} characters.")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError):
        raise CalculationRefused("The expression is not valid arithmetic.") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculationRefused("The expression is too long to compute.")
    try:
        return _value(tree.body)
    except ZeroDivisionError:
        raise CalculationRefused("The expression divides by zero.") from None
    except OverflowError:
        raise CalculationRefused("The result is too large.") from None
    except (ValueError, TypeError):
        raise CalculationRefused("A function was given a value outside its domain.") from None


def _value(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return _checked(node.value)
        raise CalculationRefused("Only numbers can be computed.")
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise CalculationRefused(f"“{node.id}” is not a known constant; use pi, e or tau.")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        operand = _value(node.operand)
        return operand if isinstance(node.op, ast.UAdd) else -operand
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(OPERATORS[type(node.op)](left, right))
    if isinstance(node, ast.Call):
        return _call(node)
    raise CalculationRefused(
        "Only numbers, + - * / // % **, parentheses and math functions are allowed.")


def _call(node: ast.Call) -> Number:
    name = node.func.id if isinstance(node.func, ast.Name) else None
    if name not in FUNCTIONS or node.keywords:
        raise CalculationRefused(f"Only these functions are available: {', '.join(FUNCTIONS)}.")
    arguments = [_value(argument) for argument in node.args]
    return _checked(FUNCTIONS[name](*arguments))


def _check_power(base: Number, exponent: Number) -> None:
    if abs(exponent) > MAX_EXPONENT and abs(base) > 1:
        raise CalculationRefused(f"Exponents larger than {MAX_EXPONENT} are not computed.")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if base.bit_length() * exponent > MAX_BITS:
            raise CalculationRefused("The result is too large.")


def _checked(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise CalculationRefused("The result is too large.")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculationRefused("The result is not a finite number.")
    return value


def shown(value: Number) -> str:
    """The result as the model reads it: whole numbers exactly, others to 15 digits."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, int) else f"{value:.15g}"
