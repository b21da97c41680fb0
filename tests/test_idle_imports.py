"""What an idle server leaves unloaded: parts only some requests need load when first used."""

from __future__ import annotations

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
