"""Model options (temperature, max_tokens, …): every rule about them, in one place.

Each option is declared once in `SPECS`, under the canonical name the API, the settings file,
`ChatRequest.options` and `meta["options"]` all use; each provider translates the names into
its own dialect. The same check serves a request (a 422 naming the key) and the settings file
(a problem naming the line), so the two can never disagree about what a value may be.

Where a reply's options come from, lowest first: the global defaults (`[options]` in the
settings), the model's (`[models."<id>"] options`), the chat's own (`sessions.options`), then
the request's. A higher layer wins key by key; a key set to null there removes what the lower
layers said, and the server's own default applies.

The settings check their file with these rules too; since loading the chat package loads the
settings, they import this module when they check, and it imports nothing of the app but the
error class.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest

OptionValue = float | int | str | list[str]
Options = dict[str, OptionValue]

STOP_LIMIT = 4  # what OpenAI accepts, and more than people use
STOP_CHARS = 200
# Go's time.ParseDuration, which Ollama reads `keep_alive` with: "5m", "1h30m", "-1m", "90s".
_DURATION = re.compile(r"-?(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")
_WHOLE = re.compile(r"-?\d{1,12}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        # 3.0 from a slider or a TOML float is the whole number it says.
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return None
    return value


Check = Callable[[Any], OptionValue | None]
"""An option's rule: the value as it is used, or None when the rule refuses it."""


def _ranged(low: float | None, high: float | None, *, whole: bool) -> Check:
    def check(value: Any) -> OptionValue | None:
        number = _whole(value) if whole else _number(value)
        if number is None or (low is not None and number < low):
            return None
        if high is not None and number > high:
            return None
        return number

    return check


def _positive_penalty(value: Any) -> OptionValue | None:
    number = _number(value)
    return number if number is not None and 0 < number <= 2 else None


def _stop(value: Any) -> OptionValue | None:
    if isinstance(value, str):
        value = [value]  # one stop text on its own means the list of it
    if not isinstance(value, list) or len(value) > STOP_LIMIT:
        return None
    if not all(isinstance(s, str) and 0 < len(s) <= STOP_CHARS for s in value):
        return None
    return list(value)


def _keep_alive(value: Any) -> OptionValue | None:
    number = _whole(value)
    if number is not None and abs(number) < 10**12:
        return number
    if isinstance(value, str) and (_DURATION.fullmatch(value) or _WHOLE.fullmatch(value)):
        return value
    return None


@dataclass(frozen=True)
class OptionSpec:
    """One option: its kind ("number", "integer", "text list", "duration"), its rule (and in
    words what it takes, to follow "must be " in a request's error and "use " in the
    settings'), bounds and step for a slider or a field, and a line of help."""

    name: str
    kind: str
    help: str
    check: Check
    rule: str
    min: float | None = None
    max: float | None = None
    step: float | None = None

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name, "type": self.kind, "min": self.min, "max": self.max,
            "step": self.step, "help": self.help,
        }


def _spec(
    name: str, kind: str, help: str, low: float | None, high: float | None, step: float,
    rule: str,
) -> OptionSpec:
    return OptionSpec(name, kind, help, _ranged(low, high, whole=kind == "integer"), rule,
                      low, high, step)


SPECS: tuple[OptionSpec, ...] = (
    _spec("temperature", "number", "Randomness: lower is more focused, higher more varied.",
          0, 2, 0.05, "a number from 0 to 2"),
    _spec("top_p", "number", "Sample only from the most likely words that add up to this share.",
          0, 1, 0.01, "a number from 0 to 1"),
    _spec("top_k", "integer", "Sample only from this many of the most likely words; 0: all.",
          0, None, 1, "a whole number, 0 or more"),
    _spec("min_p", "number", "Leave out words less likely than this share of the likeliest.",
          0, 1, 0.01, "a number from 0 to 1"),
    _spec("max_tokens", "integer", "The longest reply, in tokens; it stops there.",
          1, None, 1, "a whole number, 1 or more"),
    _spec("seed", "integer", "The same seed and settings give the same reply again.",
          -(2**63), 2**63 - 1, 1, "a whole number"),
    OptionSpec("stop", "text list", f"Up to {STOP_LIMIT} texts; the reply ends before any of "
               "them.", _stop,
               f"a list of at most {STOP_LIMIT} texts, none empty or longer than {STOP_CHARS}"),
    OptionSpec("repeat_penalty", "number", "Above 1 discourages repeating the same words.",
               _positive_penalty, "a number greater than 0, at most 2", 0, 2, 0.05),
    _spec("presence_penalty", "number", "Above 0 pushes toward new topics.",
          -2, 2, 0.1, "a number from -2 to 2"),
    _spec("frequency_penalty", "number", "Above 0 discourages words already used often.",
          -2, 2, 0.1, "a number from -2 to 2"),
    _spec("context_length", "integer", "The model's window in tokens: what it can read at once.",
          256, None, 256, "a whole number, 256 or more"),
    OptionSpec("keep_alive", "duration", 'How long Ollama keeps the model loaded after a reply: '
               '"5m", "1h", or "-1" for always.', _keep_alive,
               'a duration such as "5m", "1h" or "-1" (keep the model loaded), or a number of '
               "seconds"),
)
SPECS_BY_NAME: Mapping[str, OptionSpec] = {spec.name: spec for spec in SPECS}
NAMES = tuple(SPECS_BY_NAME)

BUILTIN_PRESETS: Mapping[str, Options] = {
    "Precise": {"temperature": 0.2, "top_p": 0.9},
    "Balanced": {"temperature": 0.7},
    "Creative": {"temperature": 1.1, "top_p": 0.95},
}


def unknown_rule() -> str:
    """What to write instead of a name that is not an option."""
    return "one of " + ", ".join(NAMES)


def check_value(name: str, value: Any) -> OptionValue | None:
    """One option's value as it is used, or None when its rule refuses it (`rule` says
    what it takes); KeyError for an unknown name."""
    return SPECS_BY_NAME[name].check(value)


def rule(name: str) -> str:
    return SPECS_BY_NAME[name].rule


def check_options(value: Any, where: str = "options") -> dict[str, Any]:
    """Options from a request, checked: 422 naming the first bad key. A key may be null: it
    removes what a lower layer said."""
    if not isinstance(value, dict):
        raise InvalidRequest(f"`{where}` must be an object such as {{\"temperature\": 0.7}}.")
    checked: dict[str, Any] = {}
    for name, item in value.items():
        if name not in SPECS_BY_NAME:
            raise InvalidRequest(f"`{where}.{name}` is not an option; use {unknown_rule()}.")
        if item is None:
            checked[name] = None
            continue
        used = check_value(name, item)
        if used is None:
            raise InvalidRequest(f"`{where}.{name}` must be {rule(name)}.")
        checked[name] = used
    return checked


def layered(layers: Iterable[Mapping[str, Any] | None]) -> Options:
    """The options in force, from the lowest layer to the highest: a later layer wins key by
    key, and a null removes the key."""
    merged: Options = {}
    for layer in layers:
        for name, value in (layer or {}).items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
    return {name: merged[name] for name in NAMES if name in merged}  # the declared order


def chat_options(
    stored: Mapping[str, Any] | None, change: Mapping[str, Any] | None
) -> Options | None:
    """A chat's own options after a change (checked): keys given replace the stored ones, a
    null removes one (the model's default applies again), and a null change removes them all.
    None when nothing is left."""
    if change is None:
        return None
    return layered([stored, change]) or None


def presets(own: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Options, bool]]:
    """Every preset as (name, options, built in): the built-in ones first, then the person's;
    one of theirs with a built-in one's name takes its place."""
    listed = [(name, dict(values), True) for name, values in BUILTIN_PRESETS.items()
              if name not in own]
    return listed + [(name, dict(values), False) for name, values in own.items()]


def json_schema(spec: OptionSpec) -> dict[str, Any]:
    """The JSON schema of one option's value, for the API's description; null removes it."""
    if spec.kind == "text list":
        return {"type": ["array", "string", "null"], "maxItems": STOP_LIMIT,
                "items": {"type": "string", "minLength": 1, "maxLength": STOP_CHARS}}
    if spec.kind == "duration":
        return {"type": ["string", "integer", "null"],
                "description": 'A duration ("5m", "1h30m", "-1") or seconds.'}
    schema: dict[str, Any] = {"type": [spec.kind, "null"]}
    if spec.min is not None:
        schema["exclusiveMinimum" if spec.name == "repeat_penalty" else "minimum"] = spec.min
    if spec.max is not None:
        schema["maximum"] = spec.max
    return schema
