"""What an idle server leaves unloaded: parts only some requests need load when first used."""

from __future__ import annotations

from openchat_desktop.paths import database_path
from openchat_desktop.store import Store
from tests.support import modules_loaded

DESCRIPTION = "openchat_desktop.server.openapi"


def test_the_api_description_loads_only_when_asked_for(tmp_path) -> None:
    assert modules_loaded(tmp_path, "runtime.start()", (DESCRIPTION,)) == [False]
    asked = (
        "runtime.start()\n"
        "import requests\n"
        "answer = requests.get(runtime.base_url + '/api/openapi.json',"
        " headers={'Authorization': 'Bearer ' + runtime.token}, timeout=10)\n"
        "assert answer.json()['openapi'].startswith('3.'), answer.text"
    )
    assert modules_loaded(tmp_path, asked, (DESCRIPTION,)) == [True]


def test_a_database_at_its_schema_is_opened_without_the_orm(tmp_path) -> None:
    """The tables are declared with SQLAlchemy Core: its ORM costs megabytes an idle app never
    uses. Alembic may load parts of it, but only when a migration runs."""
    Store(database_path(tmp_path / "data")).close()
    used = (
        "runtime.start()\n"
        "chat = runtime.store.create_session(title='kept')\n"
        "runtime.store.update_session(chat.id, pinned=True)\n"
        "assert runtime.store.list_sessions()[0].pinned"
    )
    assert modules_loaded(tmp_path, used, ("sqlalchemy.orm",)) == [False]
