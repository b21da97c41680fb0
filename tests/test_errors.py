"""Every error class of the package has one shape: a snake_case `code` of its own and an HTTP
`status` as class attributes, a sentence as its one positional argument, a line in its error
module's tree, and one rule in `server.errors` that renders it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys

import pytest
from flask import Flask

import openchat_desktop
from openchat_desktop.errors import AppError
from openchat_desktop.instance import AlreadyRunning
from openchat_desktop.providers.errors import RateLimited
from openchat_desktop.server import errors as server_errors
from openchat_desktop.settings.problems import Invalid

SNAKE_CASE = re.compile(r"[a-z]+(_[a-z]+)*")

# Exceptions that never reach a client, so they carry no code or status: a settings check's
# rejection becomes a sentence in a SettingsProblem, and a second app hands over to the first.
SIGNALS = {Invalid, AlreadyRunning}


def _exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in the package, found by importing each module."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(openchat_desktop.__path__, "openchat_desktop."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module_info.name
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


EXCEPTIONS = _exception_classes()
ERRORS = [cls for cls in EXCEPTIONS if issubclass(cls, AppError)]


def test_every_exception_of_the_package_is_an_app_error_or_a_known_signal():
    assert len(ERRORS) > 20  # the walk found the trees
    assert {cls for cls in EXCEPTIONS if not issubclass(cls, AppError)} == SIGNALS


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_an_error_class_declares_its_code_and_status(cls):
    assert "code" in vars(cls), f"{cls.__name__} must declare its own code"
    assert SNAKE_CASE.fullmatch(cls.code), cls.code
    assert isinstance(cls.status, int) and 400 <= cls.status <= 599


def test_each_code_has_one_class():
    by_code: dict[str, list[str]] = {}
    for cls in ERRORS:
        by_code.setdefault(cls.code, []).append(cls.__name__)
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_an_error_takes_one_sentence_and_only_keyword_extras(cls):
    parameters = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in parameters if p.kind is not p.KEYWORD_ONLY] == ["message"]
    assert all(p.default is not p.empty for p in parameters[1:])
    error = cls("The sentence a person reads.")
    assert error.message == str(error) == "The sentence a person reads."
    assert error.public() == {"code": cls.code, "message": "The sentence a person reads."}


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_an_error_modules_docstring_draws_each_of_its_classes(cls):
    doc = sys.modules[cls.__module__].__doc__ or ""
    lines = [line for line in doc.splitlines() if re.search(rf"\b{cls.__name__}\b", line)]
    assert any(f"{cls.status} {cls.code}:" in line for line in lines), (
        f"{cls.__module__}'s docstring needs a line for {cls.__name__}: "
        f"{cls.status} {cls.code}: …"
    )


def _app_raising(error: Exception) -> Flask:
    app = Flask(__name__)
    server_errors.init_app(app)

    @app.get("/fail")
    def fail() -> str:
        raise error

    return app


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_one_rule_renders_every_error(cls):
    response = _app_raising(cls("It failed.")).test_client().get("/fail")
    assert response.status_code == cls.status
    assert response.get_json() == {"error": {"code": cls.code, "message": "It failed."}}


def test_a_provider_error_body_says_how_long_to_wait():
    error = RateLimited("Wait 3 seconds and try again.", retry_after=3.0)
    response = _app_raising(error).test_client().get("/fail")
    assert response.status_code == 429
    assert response.get_json() == {
        "error": {
            "code": "provider_rate_limited",
            "message": "Wait 3 seconds and try again.",
            "retry_after": 3.0,
        }
    }


def test_anything_unexpected_is_a_500_with_a_sentence():
    response = _app_raising(KeyError("oops")).test_client().get("/fail")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
