"""The HTTP API without a model: health, security, sessions, roles, settings, bad input."""

from __future__ import annotations

import re

import requests

from openchat_desktop import __version__

from .support import TOKEN


def test_health_is_open(server):
    response = requests.get(server.url("/api/health"), timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def test_api_needs_the_token(server):
    response = requests.get(server.url("/api/sessions"), timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    wrong = requests.get(
        server.url("/api/sessions"), headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert wrong.status_code == 401


def test_the_page_is_a_shell_with_a_strict_policy(server):
    """The page holds no secret, so it is served with or without `?token=` (the page keeps
    the token itself); a token that is given must be right."""
    for path in (f"/?token={TOKEN}", "/"):
        page = requests.get(server.url(path), allow_redirects=False, timeout=5)
        assert page.status_code == 200
        assert "text/html" in page.headers["Content-Type"]
        assert page.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in page.headers
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
    bad = requests.get(server.url("/?token=wrong"), allow_redirects=False, timeout=5)
    assert bad.status_code == 401


def test_foreign_host_is_refused(server):
    response = server.http.get(
        server.url("/api/sessions"),
        headers={"Host": f"evil.example:{server.runtime.port}"},
        timeout=5,
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_host"
    for name in ("localhost", "127.0.0.1"):
        ok = server.http.get(
            server.url("/api/health"),
            headers={"Host": f"{name}:{server.runtime.port}"},
            timeout=5,
        )
        assert ok.status_code == 200


def test_foreign_origin_cannot_change_anything(server):
    response = server.http.post(
        server.url("/api/sessions"),
        json={},
        headers={"Origin": "http://evil.example"},
        timeout=5,
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_origin"
    assert server.get("/api/sessions").json()["sessions"] == []
    own = server.http.post(
        server.url("/api/sessions"), json={}, headers={"Origin": server.base}, timeout=5
    )
    assert own.status_code == 201


def test_sessions_crud_and_order(server):
    first = server.new_session()
    assert first["title"] == "New chat" and first["pinned"] is False
    second = server.new_session(title="Second", system_prompt="Be brief.")
    third = server.new_session(title="Third")
    listed = [s["id"] for s in server.get("/api/sessions").json()["sessions"]]
    assert listed == [third["id"], second["id"], first["id"]]

    pinned = server.patch(f"/api/sessions/{first['id']}", {"pinned": True}).json()
    assert pinned["pinned"] is True
    listed = [s["id"] for s in server.get("/api/sessions").json()["sessions"]]
    assert listed[0] == first["id"]

    renamed = server.patch(f"/api/sessions/{second['id']}", {"title": "Renamed"}).json()
    assert renamed["title"] == "Renamed"
    assert [s["title"] for s in server.get("/api/sessions?q=renam").json()["sessions"]] == [
        "Renamed"
    ]
    assert len(server.get("/api/sessions?limit=1").json()["sessions"]) == 1

    assert server.get(f"/api/sessions/{second['id']}").json()["system_prompt"] == "Be brief."
    assert server.delete(f"/api/sessions/{second['id']}").status_code == 204
    missing = server.get(f"/api/sessions/{second['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "session_not_found"


def test_draft_is_saved_without_reordering(server):
    older = server.new_session(title="Older")
    newer = server.new_session(title="Newer")
    server.patch(f"/api/sessions/{older['id']}", {"draft": "half a thought"})
    sessions = server.get("/api/sessions").json()["sessions"]
    assert [s["id"] for s in sessions] == [newer["id"], older["id"]]
    assert sessions[1]["draft"] == "half a thought"


def test_roles_crud(server):
    created = server.post("/api/roles", {"name": "Pirate", "instructions": "Talk like one."})
    assert created.status_code == 201
    role = created.json()
    clash = server.post("/api/roles", {"name": "pirate", "instructions": "x"})
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "role_name_taken"
    server.post("/api/roles", {"name": "Editor", "instructions": "Fix grammar."})
    assert [r["name"] for r in server.get("/api/roles").json()["roles"]] == ["Editor", "Pirate"]
    updated = server.put(f"/api/roles/{role['id']}", {"instructions": "Arr."}).json()
    assert updated["instructions"] == "Arr." and updated["name"] == "Pirate"

    session = server.new_session(role_id=role["id"])
    assert session["role_id"] == role["id"]
    assert server.delete(f"/api/roles/{role['id']}").status_code == 204
    assert server.get(f"/api/sessions/{session['id']}").json()["role_id"] is None
    assert server.put(f"/api/roles/{role['id']}", {"name": "x"}).status_code == 404


def test_bad_input_gets_clear_json_errors_and_changes_nothing(server):
    session = server.new_session()
    cases = [
        (server.http.post, f"/api/sessions/{session['id']}/chat/stream", b"{not json", 422),
        (server.http.post, f"/api/sessions/{session['id']}/chat/stream", b"[1, 2]", 422),
        (server.http.post, f"/api/sessions/{session['id']}/chat/stream", b'{"message": 5}', 422),
        (server.http.post, f"/api/sessions/{session['id']}/chat/stream", b'{"message": " "}', 422),
        (server.http.post, f"/api/sessions/{session['id']}/chat/stream", b"{}", 422),
        (server.http.post, "/api/sessions/nope/chat/stream", b'{"message": "hi"}', 404),
        (server.http.patch, f"/api/sessions/{session['id']}", b'{"pinned": "yes"}', 422),
        (server.http.patch, f"/api/sessions/{session['id']}", b'{"title": ""}', 422),
        (server.http.patch, f"/api/sessions/{session['id']}", b'{"colour": "red"}', 422),
        (server.http.patch, f"/api/sessions/{session['id']}", b'{"role_id": "nope"}', 404),
        (server.http.post, "/api/roles", b'{"name": "x"}', 422),
        (server.http.post, "/api/messages/nope/stop", b"", 404),
        (server.http.post, "/api/messages/nope/regenerate", b"", 404),
    ]
    for method, path, raw, status in cases:
        response = method(
            server.url(path), data=raw, headers={"Content-Type": "application/json"}, timeout=5
        )
        assert response.status_code == status, (path, raw, response.text)
        assert response.headers["Content-Type"].startswith("application/json")
        error = response.json()["error"]
        assert re.fullmatch(r"[a-z_]+", error["code"]) and error["message"].endswith(
            (".", "!", ")")
        ), error
    assert server.get(f"/api/sessions/{session['id']}/messages").json()["messages"] == []
    assert server.get(f"/api/sessions/{session['id']}").json() == session


def test_ten_megabyte_message_is_refused(server):
    session = server.new_session()
    response = server.post(
        f"/api/sessions/{session['id']}/chat/stream", {"message": "x" * 10_000_000}, timeout=30
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "message_too_long"
    assert server.get(f"/api/sessions/{session['id']}/messages").json()["messages"] == []


def test_oversized_body_is_refused(server):
    response = server.http.post(
        server.url("/api/roles"),
        data=b"x" * (13 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_unknown_route_and_method_are_json(server):
    missing = server.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = server.http.put(server.url("/api/health"), timeout=5)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


def test_unknown_model_provider_is_refused_before_anything_is_saved(server):
    session = server.new_session()
    response = server.post(
        f"/api/sessions/{session['id']}/chat/stream", {"message": "hi", "model": "nope/x"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert server.get(f"/api/sessions/{session['id']}/messages").json()["messages"] == []


def test_openapi_covers_every_route(server):
    document = server.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = set()
    for rule in server.runtime.app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method))
    assert served == documented


def test_static_files_never_leave_the_web_folder(server):
    import http.client

    for path in ("/../pyproject.toml", "/js/../../pyproject.toml", "/%2e%2e/pyproject.toml",
                 "/js/%2e%2e/%2e%2e/README.md", "//etc/passwd", "/..%2fpyproject.toml"):
        connection = http.client.HTTPConnection("127.0.0.1", server.runtime.port, timeout=5)
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status in (400, 404), (path, response.status)
        assert b"openchat-desktop" not in body and b"root:" not in body
    assert server.get("/js/app.js").status_code == 200
