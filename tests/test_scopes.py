"""Each route needs a scope, decided in one table (access/scopes.py): every route of the app is
in it, the admin routes are exactly those that change how OpenChat runs, and over HTTP a key
of each scope reaches what its scope allows and is refused the rest with 403 forbidden_scope
and a sentence, before the route runs."""

from __future__ import annotations

import re

import pytest

from openchat_desktop.access.clients import SCOPES
from openchat_desktop.access.scopes import OPEN_RULES, ROUTE_SCOPES, needed_scope

from .keys_support import key_session, make_key
from .support import Server

# What only an admin key may do: settings, providers, keys, model downloads and files, the
# built-in engine, tool servers, the instance and the window's Save dialogs.
ADMIN = {
    ("GET", "/api/settings"), ("PATCH", "/api/settings"),
    ("GET", "/api/settings/keys"), ("POST", "/api/settings/keys/move"),
    ("POST", "/api/providers/test"),
    ("GET", "/api/keys"), ("POST", "/api/keys"), ("DELETE", "/api/keys/<name>"),
    ("POST", "/api/providers/<provider_id>/models/pull"),
    ("DELETE", "/api/providers/<provider_id>/models/<path:name>"),
    ("GET", "/api/pulls"), ("GET", "/api/pulls/<pull_id>/events"),
    ("POST", "/api/pulls/<pull_id>/cancel"),
    ("GET", "/api/local/catalog"), ("GET", "/api/local/engine"),
    ("POST", "/api/local/models"), ("POST", "/api/local/models/pick"),
    ("POST", "/api/tools/servers/<server_id>/start"), ("POST", "/api/tools/servers/test"),
    ("GET", "/api/instance"), ("POST", "/api/instance/show"),
    ("POST", "/api/attachments/<attachment_id>/save"),
    ("POST", "/api/sessions/<session_id>/export/save"),
    ("GET", "/api/outbound"), ("DELETE", "/api/outbound"),
}


def app_routes(server: Server) -> list[tuple[str, str]]:
    """(method, rule) of every route the running app serves."""
    return sorted(
        (method, rule.rule)
        for rule in server.runtime.app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def test_every_route_of_the_app_has_a_scope_and_the_admin_ones_are_those_listed(server):
    routes = app_routes(server)
    assert len(routes) > 50
    missing = [(method, rule) for method, rule in routes
               if rule not in OPEN_RULES and method not in ROUTE_SCOPES.get(rule, {})]
    assert missing == []
    admin = {(method, rule) for method, rule in routes
             if rule not in OPEN_RULES and ROUTE_SCOPES[rule][method] == "admin"}
    assert admin == ADMIN


def test_a_route_missing_from_the_table_needs_admin_and_an_unknown_address_needs_read():
    assert needed_scope("/api/something-new", "POST") == "admin"
    assert needed_scope("/api/sessions", "HEAD") == "read"
    assert needed_scope(None, "DELETE") == "read"


def concrete(rule: str) -> str:
    """A URL for the rule: every variable a made-up id, so a route that is let through
    answers for itself (mostly 404) and one that is not never runs."""
    return re.sub(r"<[^>]+>", "no-such-thing", rule)


def test_each_scope_reaches_its_routes_and_is_refused_the_rest(server):
    sessions = {scope: key_session(make_key(server, f"{scope} key", scope=scope))
                for scope in SCOPES}
    seen: dict[str, set[int]] = {scope: set() for scope in SCOPES}
    for method, rule in app_routes(server):
        if rule in OPEN_RULES:
            continue
        needed = ROUTE_SCOPES[rule][method]
        for scope, http in sessions.items():
            response = http.request(method, server.url(concrete(rule)), timeout=10)
            allowed = SCOPES.index(scope) >= SCOPES.index(needed)
            code = response.json().get("error", {}).get("code") if response.headers.get(
                "Content-Type", "").startswith("application/json") else None
            if allowed:
                assert code not in ("forbidden_scope", "unauthorized", "key_refused"), \
                    (scope, method, rule, response.text)
            else:
                assert response.status_code == 403 and code == "forbidden_scope", \
                    (scope, method, rule, response.text)
                message = response.json()["error"]["message"]
                assert message.endswith(".") and f"“{needed}”" in message
            seen[scope].add(response.status_code)
    assert 403 not in seen["admin"]
    for http in sessions.values():
        http.close()


@pytest.mark.parametrize(("scope", "method", "path", "status"), [
    ("read", "GET", "/api/sessions", 200),
    ("read", "POST", "/api/sessions", 403),
    ("chat", "POST", "/api/sessions", 201),
    ("chat", "GET", "/api/settings", 403),
    ("chat", "POST", "/api/keys", 403),
    ("admin", "GET", "/api/settings", 200),
])
def test_a_scope_at_work(server, scope, method, path, status):
    with key_session(make_key(server, "worker", scope=scope)) as http:
        body = {} if method == "POST" else None
        assert http.request(method, server.url(path), json=body, timeout=10).status_code == status
