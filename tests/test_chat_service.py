"""Chat rules that need no model: deleting a chat stops its running replies first."""

from __future__ import annotations

import threading

import pytest

from openchat_desktop.chat import ChatService
from openchat_desktop.chat.attachments import AttachmentService
from openchat_desktop.chat.replies import StoredReplies
from openchat_desktop.engine import Engine
from openchat_desktop.errors import NotFound
from openchat_desktop.providers.base import TextDelta
from openchat_desktop.providers.errors import StreamBroken
from openchat_desktop.store import Store


@pytest.fixture
def parts(tmp_path):
    store = Store(tmp_path / "chat.sqlite3")
    engine = Engine(StoredReplies(store))
    chat = ChatService(store, engine, settings=None, router=lambda: None,  # type: ignore[arg-type]
                       attachments=AttachmentService(store, tmp_path / "attachments"))
    yield store, engine, chat
    engine.shutdown(timeout=0.5)
    store.close()


def running_reply(store, engine, session_id):
    """A reply whose stream holds after its first token until it is cancelled."""
    user = store.add_message(session_id=session_id, parent_id=None, role="user", content="hi")
    reply = store.add_message(session_id=session_id, parent_id=user.id, role="assistant",
                              content="", status="streaming", model="fake/m")
    reached = threading.Event()

    def stream(cancel):
        yield TextDelta("partial")
        released = threading.Event()
        cancel.on_cancel(released.set)
        reached.set()
        released.wait(10)
        raise StreamBroken("closed")

    generation = engine.start(message_id=reply.id, session_id=session_id, start={},
                              stream=stream, describe=lambda: None)
    assert reached.wait(5)
    return generation


def test_deleting_a_chat_stops_its_running_replies_and_only_those(parts):
    store, engine, chat = parts
    doomed, kept = store.create_session(), store.create_session()
    stopped = running_reply(store, engine, doomed.id)
    other = running_reply(store, engine, kept.id)
    chat.delete_session(doomed.id)
    assert stopped.finished and not other.finished
    assert store.get_session(doomed.id) is None
    assert store.get_message(stopped.message_id) is None
    assert store.get_session(kept.id) is not None
    with pytest.raises(NotFound):
        chat.delete_session(doomed.id)
