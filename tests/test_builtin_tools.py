"""The app's own tools against a real chat database: the calculator refuses what is not plain
arithmetic (never evaluating it), chat search and attached files read what they should, and
the registry offers a chat the tools of its sources only."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from openchat_desktop.providers.base import Cancel
from openchat_desktop.tools.base import ToolContext
from openchat_desktop.tools.builtin import BuiltinTools
from openchat_desktop.tools.calculator import CalculationRefused, calculate, shown
from openchat_desktop.tools.registry import ToolSources


@pytest.mark.parametrize("expression, refusal", [
    ("9**9**9", "Exponents larger than 1000 are not computed."),
    ("2**100000", "Exponents larger than 1000 are not computed."),
    ("(10**999)**(10**3)", "The result is too large."),
    ("10**1000 * 10**1000", "The result is too large."),
    ("__import__('os').system('true')", "Only these functions are available"),
    ("(1).__class__", "Only numbers, + - * / // % **, parentheses and math functions"),
    ("x + 1", "“x” is not a known constant"),
    ("'a' * 10", "Only numbers can be computed."),
    ("[1] * 10**9", "Only numbers, + - * / // % **"),
    ("max(*[1, 2])", "Only numbers, + - * / // % **"),
    ("sqrt(x=4)", "Only these functions are available"),
    ("1/0", "The expression divides by zero."),
    ("1e308 * 10", "The result is not a finite number."),
    ("log(-1)", "A function was given a value outside its domain."),
    ("1 +", "The expression is not valid arithmetic."),
    ("1+" * 300 + "1", "The expression is longer than 500 characters."),
    ("(" * 240 + "1" + ")" * 240, "The expression is not valid arithmetic."),
    ("-" * 250 + "1", "The expression is too long to compute."),
    ("True + 1", "Only numbers can be computed."),
])
def test_the_calculator_refuses_hostile_input_quickly(expression, refusal):
    started = time.monotonic()
    with pytest.raises(CalculationRefused) as caught:
        calculate(expression)
    assert caught.value.message.startswith(refusal)
    assert time.monotonic() - started < 1  # generous: refused before computing


@pytest.mark.parametrize("expression, result", [
    ("6*7", "42"), ("2**10", "1024"), ("(1 + 2) * 3 / 4", "2.25"), ("7 // 2", "3"),
    ("7 % 3", "1"), ("-2**2", "-4"), ("sqrt(16) + floor(pi)", "7"), ("round(2.567, 2)", "2.57"),
    ("2**-1", "0.5"), ("0.1 + 0.2", "0.3"), ("max(1, 5, 3)", "5"), ("2**1000 // 2**999", "2"),
])
def test_the_calculator_computes_arithmetic(expression, result):
    assert shown(calculate(expression)) == result


def tools_by_name(store, session_id: str, files=()) -> dict[str, Any]:
    source = BuiltinTools(search=store.search, files=store.get_attachments)
    return {t.spec.name: t for t in source.tools(ToolContext(session_id, tuple(files)))}


def test_search_chats_finds_saved_messages(store):
    session = store.create_session(title="Cooking")
    store.add_message(session_id=session.id, parent_id=None, role="user",
                      content="How long do I boil an egg?")
    tools = tools_by_name(store, session.id)
    found = tools["search_chats"].run({"query": "boil egg"}, Cancel())
    assert not found.is_error
    assert re.fullmatch(r"1 message\(s\) match “boil egg”:\n- user, \d{4}-\d\d-\d\d \(chat "
                        + session.id + r"\): How long do I boil an egg\?", found.content)
    assert tools["search_chats"].run({"query": "quantum"}, Cancel()).content == (
        "No saved message matches “quantum”.")
    assert tools["search_chats"].run({}, Cancel()).is_error


def test_read_file_reads_only_this_chats_files(store):
    session = store.create_session(title="Files")
    notes = store.add_attachment(sha256="a" * 64, name="notes.txt", mime="text/plain",
                                 kind="text", size=5, text="hello")
    photo = store.add_attachment(sha256="b" * 64, name="photo.png", mime="image/png",
                                 kind="image", size=5, text=None)
    other = store.add_attachment(sha256="c" * 64, name="secret.txt", mime="text/plain",
                                 kind="text", size=5, text="not yours")
    tools = tools_by_name(store, session.id, [notes.id, photo.id])
    read = tools["read_file"]
    assert "notes.txt, photo.png" in read.spec.description
    assert read.run({"name": "notes.txt"}, Cancel()).content == "hello"
    assert read.run({"name": "NOTES.TXT"}, Cancel()).content == "hello"
    assert read.run({"name": "photo.png"}, Cancel()).is_error
    refused = read.run({"name": other.name}, Cancel())
    assert refused.is_error and "not yours" not in refused.content
    assert refused.content == ("No file named “secret.txt” is attached to this chat. "
                               "Attached: notes.txt, photo.png.")


def test_current_time_names_the_time_zone(store):
    result = tools_by_name(store, "s")["current_time"].run({}, Cancel())
    assert re.search(r"UTC[+-]\d{4}\); ISO 8601: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$",
                     result.content)


class Broken:
    id = "broken"

    def tools(self, context: ToolContext) -> list[Any]:
        raise OSError("the server is down")


def test_the_registry_gives_a_chat_its_sources_tools_only(store):
    sources = ToolSources([BuiltinTools(search=store.search, files=store.get_attachments),
                           Broken()])
    context = ToolContext("s")
    names = [tool.spec.name for tool in sources.tools(context)]
    assert names == ["current_time", "calculator", "search_chats", "read_file"]
    assert sources.tools(context, []) == []
    assert sources.tools(context, ["broken"]) == []
    assert len(sources.tools(context, ["builtin"])) == 4
