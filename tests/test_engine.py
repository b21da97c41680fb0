"""The generation engine with a scripted stream, saving into a real SQLite store."""

from __future__ import annotations

import json
import threading
import time

import pytest

from openchat_desktop.chat.planning import PLAN
from openchat_desktop.chat.replies import StoredReplies
from openchat_desktop.engine import DataEvent, Engine, NamedText, Phase
from openchat_desktop.engine import engine as engine_module
from openchat_desktop.engine.sse import sse_event, text_event
from openchat_desktop.providers.base import WAITING, Finish, ReasoningDelta, TextDelta, Usage
from openchat_desktop.providers.errors import ProviderUnavailable, StreamBroken


@pytest.fixture
def engines(store):
    """Engines made by a test, shut down after it (their checkpoint threads end)."""
    made: list[Engine] = []

    def make() -> Engine:
        made.append(Engine(StoredReplies(store)))
        return made[-1]

    yield make
    for engine in made:
        engine.shutdown(timeout=0.5)


def view(record):
    return {"id": record.id, "status": record.status, "content": record.content}


def start(engine, store, user, reply, stream):
    return engine.start(
        message_id=reply.id,
        session_id=reply.session_id,
        start={"user_message": view(user), "assistant_message": view(reply)},
        stream=stream,
        describe=lambda: view(store.get_message(reply.id)),
    )


def logged_events(generation, stream):
    """Every event as it was logged, one by one: followed from before the held `stream`'s
    first event (a replay would be compacted)."""
    follower = generation.follow(0)
    raw = next(follower)  # the start
    stream.release.set()
    return parse(raw + b"".join(follower))


def parse(raw: bytes) -> list[tuple[int, str, str]]:
    """(id, event, data) triples from SSE bytes."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block or block.startswith(":"):
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((int(fields["id"]), fields["event"], fields["data"]))
    return out


def messages(store):
    session = store.create_session()
    user = store.add_message(session_id=session.id, parent_id=None, role="user", content="hi")
    reply = store.add_message(
        session_id=session.id, parent_id=user.id, role="assistant", content="",
        status="streaming", model="fake/m",
    )
    return user, reply


def wait_saved(store, message_id, content, timeout=2.0):
    """The row once the checkpoint thread has saved `content` (it runs on its own clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = store.get_message(message_id)
        if record.content == content:
            return record
        time.sleep(0.01)
    raise AssertionError(f"never saved {content!r}")


class Gate:
    """A scripted provider stream that can be held open and cancelled like a socket read."""

    def __init__(self, events, hold_after=None):
        self.events = events
        self.hold_after = hold_after
        self.release = threading.Event()
        self.reached = threading.Event()

    def __call__(self, cancel):
        cancel.on_cancel(self.release.set)
        for index, event in enumerate(self.events):
            if index == self.hold_after:
                self.reached.set()
                self.release.wait(10)
                if cancel.cancelled:
                    raise StreamBroken("closed")
            yield event


def test_complete_reply_is_logged_rendered_and_saved(store, engines):
    user, reply = messages(store)
    engine = engines()
    stream = Gate([ReasoningDelta("think "), TextDelta("Hello "), TextDelta("**world**"),
                   Usage({"eval_count": 2}, prompt_tokens=3, completion_tokens=2,
                         generation_seconds=0.5), Finish("stop")])
    generation = start(engine, store, user, reply, stream)
    assert generation.wait_finished(5)
    events = parse(b"".join(generation.follow(0)))
    kinds = [kind for _, kind, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert [seq for seq, _, _ in events] == sorted(seq for seq, _, _ in events)
    saved = store.get_message(reply.id)
    assert saved.status == "complete"
    assert saved.content == "Hello **world**"
    assert saved.reasoning == "think "
    assert saved.usage["tokens_per_second"] == 4.0
    assert saved.usage["completion_tokens"] == 2
    assert generation.final_message["status"] == "complete"


def test_replay_after_a_sequence_number_has_no_gap_and_no_repeat(store, engines):
    user, reply = messages(store)
    engine = engines()
    stream = Gate([TextDelta(f"w{i} ") for i in range(40)], hold_after=0)
    generation = start(engine, store, user, reply, stream)
    logged = logged_events(generation, stream)  # the ground truth
    assert generation.wait_finished(5)
    full = "".join(f"w{i} " for i in range(40))
    for cut in range(generation.log.last_seq):
        replay = parse(b"".join(generation.follow(cut)))
        ids = [seq for seq, _, _ in replay]
        assert ids == sorted(set(ids)) and all(seq > cut for seq in ids)
        before = "".join(json.loads(d)["text"] for seq, k, d in logged
                         if k == "delta" and seq <= cut)
        after = "".join(json.loads(d)["text"] for _, k, d in replay if k == "delta")
        assert before + after == full, cut
        assert replay[-1][1] == "done"
        assert len([k for _, k, _ in replay if k == "delta"]) <= 2  # runs are merged
    assert parse(b"".join(generation.follow(generation.log.last_seq))) == []


def test_a_live_replay_merges_runs_and_resumes_exactly(store, engines):
    user, reply = messages(store)
    engine = engines()
    stream = Gate([ReasoningDelta("a"), ReasoningDelta("b")]
                  + [TextDelta(f"{i} ") for i in range(30)], hold_after=20)
    generation = start(engine, store, user, reply, stream)
    assert stream.reached.wait(5)
    first = parse(b"".join(_take_replay(generation, 0)))
    kinds = [k for _, k, _ in first]
    assert kinds.count("reasoning") == 1 and kinds.count("render") <= 1
    text = "".join(json.loads(d)["text"] for _, k, d in first if k == "delta")
    assert text == "".join(f"{i} " for i in range(18))
    resume_at = max(s for s, k, _ in first if k == "delta")
    stream.release.set()
    assert generation.wait_finished(5)
    rest = parse(b"".join(generation.follow(resume_at)))
    text += "".join(json.loads(d)["text"] for _, k, d in rest if k == "delta")
    assert text == "".join(f"{i} " for i in range(30))


def _take_replay(generation, after):
    """Only the replayed part of a live follow (its first chunk)."""
    follower = generation.follow(after)
    chunk = next(follower)
    follower.close()
    return [chunk]


def test_stop_closes_the_stream_and_saves_partial_text(store, engines):
    user, reply = messages(store)
    engine = engines()
    stream = Gate([TextDelta("partial "), TextDelta("never")], hold_after=1)
    generation = start(engine, store, user, reply, stream)
    assert stream.reached.wait(5)
    started = time.monotonic()
    engine.stop(reply.id)
    assert time.monotonic() - started < 1
    saved = store.get_message(reply.id)
    assert saved.status == "stopped"
    assert saved.content == "partial "
    assert generation.final_message["status"] == "stopped"


def test_a_stream_that_ignores_cancel_is_still_ended_by_stop(store, engines):
    user, reply = messages(store)
    engine = engines()
    blocked = threading.Event()

    def stubborn(cancel):
        yield TextDelta("kept")
        blocked.wait(10)  # a read that cancel cannot unblock
        yield TextDelta("late")

    start(engine, store, user, reply, stubborn)
    time.sleep(0.1)
    engine.stop(reply.id, timeout=0.3)
    saved = store.get_message(reply.id)
    assert (saved.status, saved.content) == ("stopped", "kept")
    blocked.set()


def test_provider_error_keeps_partial_text(store, engines):
    user, reply = messages(store)
    engine = engines()

    def failing(cancel):
        yield TextDelta("half")
        raise StreamBroken("The reply was cut off.")

    generation = start(engine, store, user, reply, failing)
    assert generation.wait_finished(5)
    saved = store.get_message(reply.id)
    assert saved.status == "error"
    assert saved.content == "half"
    assert saved.error == {"code": "stream_broken", "message": "The reply was cut off."}
    assert generation.early_error is None
    assert parse(b"".join(generation.follow(0)))[-1][1] == "error"


def test_error_before_any_text_is_reported_early(store, engines):
    user, reply = messages(store)
    engine = engines()

    def down(cancel):
        raise ProviderUnavailable("Ollama is not running.")
        yield  # pragma: no cover

    generation = start(engine, store, user, reply, down)
    assert generation.accepted.wait(5)
    assert isinstance(generation.early_error, ProviderUnavailable)


def test_checkpoints_save_text_while_streaming(store, engines, monkeypatch):
    monkeypatch.setattr(engine_module, "CHECKPOINT_INTERVAL", 0.01)
    user, reply = messages(store)
    engine = engines()
    stream = Gate([TextDelta("first "), TextDelta("second")], hold_after=1)
    start(engine, store, user, reply, stream)
    assert stream.reached.wait(5)
    saved = wait_saved(store, reply.id, "first ")
    assert saved.status == "streaming"
    stream.release.set()


def test_shutdown_saves_running_replies_as_interrupted(store, engines):
    user, reply = messages(store)
    engine = engines()
    stream = Gate([TextDelta("so far"), TextDelta("more")], hold_after=1)
    start(engine, store, user, reply, stream)
    assert stream.reached.wait(5)
    assert engine.shutdown() == 1
    saved = store.get_message(reply.id)
    assert (saved.status, saved.content) == ("interrupted", "so far")
    with pytest.raises(RuntimeError):
        start(engine, store, user, reply, stream)


def test_live_follower_sees_every_event(store, engines):
    user, reply = messages(store)
    engine = engines()
    stream = Gate([TextDelta(f"{i},") for i in range(200)], hold_after=100)
    generation = start(engine, store, user, reply, stream)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(generation.follow(0)))
    reader.start()
    assert stream.reached.wait(5)
    stream.release.set()
    reader.join(5)
    text = "".join(
        json.loads(d)["text"] for _, k, d in parse(b"".join(chunks)) if k == "delta"
    )
    assert text == "".join(f"{i}," for i in range(200))


def test_a_folded_log_replays_exactly_like_the_full_one(store, engines):
    user, reply = messages(store)
    engine = engines()
    events = [ReasoningDelta("hmm "), ReasoningDelta("yes. ")]
    events += [TextDelta(f"word{i} ") if i % 7 else TextDelta(f"\n\npara {i} ") for i in range(60)]
    generation = start(engine, store, user, reply, Gate(events))
    assert generation.wait_finished(5)

    def state(raw: bytes) -> tuple[str, str, list[str]]:
        text = thinking = ""
        kinds = []
        for _, kind, data in parse(raw):
            kinds.append(kind)
            if kind == "delta":
                text += json.loads(data)["text"]
            elif kind == "reasoning":
                thinking += json.loads(data)["text"]
        return text, thinking, kinds

    total = generation.log.last_seq
    before = {cut: b"".join(generation.follow(cut)) for cut in range(total + 1)}
    assert generation.log.fold() is True
    assert generation.log.last_seq == total
    for cut in range(total + 1):
        folded = b"".join(generation.follow(cut))
        full_text, full_thinking, full_kinds = state(before[cut])
        text, thinking, kinds = state(folded)
        assert (text, thinking) == (full_text, full_thinking), cut
        assert kinds[-1:] == full_kinds[-1:]  # the ending is never lost
        ids = [seq for seq, _, _ in parse(folded)]
        assert ids == sorted(ids) and all(seq > cut for seq in ids)
        if any(kind == "render" for kind in full_kinds):
            render = [d for _, k, d in parse(folded) if k == "render"]
            assert json.loads(render[0])["start"] == 0


def test_a_log_is_not_folded_while_someone_follows_it(store, engines):
    user, reply = messages(store)
    engine = engines()
    stream = Gate([TextDelta("a "), TextDelta("b")], hold_after=1)
    generation = start(engine, store, user, reply, stream)
    follower = generation.follow(0)
    next(follower)
    stream.release.set()
    assert generation.wait_finished(5)
    assert generation.log.fold() is False
    rest = b"".join(follower)
    assert b"event: done" in rest
    assert generation.log.fold() is True


def test_plan_phases_are_logged_saved_and_replayed_exactly(store, engines):
    user, reply = messages(store)
    engine = engines()
    events = [Phase("plan", "fake/planner", stream=PLAN),
              *(NamedText(PLAN, f"{i}. step\n") for i in range(1, 6)),
              Phase("executor", "fake/executor"), *(TextDelta(f"w{i} ") for i in range(10))]
    generation = start(engine, store, user, reply, Gate(events))
    assert generation.wait_finished(5)
    saved = store.get_message(reply.id)
    plan = "".join(f"{i}. step\n" for i in range(1, 6))
    assert saved.plan == plan and saved.content == "".join(f"w{i} " for i in range(10))
    assert saved.meta["plan"]["model"] == "fake/planner"
    assert saved.meta["executor"] == {**saved.meta["executor"], "model": "fake/executor",
                                      "status": "complete"}

    def texts(raw: bytes) -> tuple[str, str]:
        parsed = parse(raw)
        return tuple("".join(json.loads(d)["text"] for _, k, d in parsed if k == kind)
                     for kind in ("plan", "delta"))

    total = generation.log.last_seq
    before = {cut: b"".join(generation.follow(cut)) for cut in range(total + 1)}
    assert texts(before[0]) == (plan, saved.content)
    # a live replay merges the plan run into one event
    assert [k for _, k, _ in parse(before[0])].count("plan") == 1
    assert generation.log.fold() is True
    for cut in range(total + 1):
        assert texts(b"".join(generation.follow(cut))) == texts(before[cut]), cut


# --- the relay: the client that asked pulls the stream itself once it has begun ----------


class Script:
    """A provider stream that says, per read, which thread pulled it; the read after
    `hold_at` waits until released (a model that pauses)."""

    def __init__(self, reads: list[list[object]], hold_at: int | None = None) -> None:
        self.reads = reads
        self.hold_at = hold_at
        self.pullers: list[str] = []
        self.release = threading.Event()
        self.holding = threading.Event()

    def __call__(self, cancel):
        cancel.on_cancel(self.release.set)
        for index, events in enumerate(self.reads):
            if index == self.hold_at:
                self.holding.set()
                self.release.wait(10)
                if cancel.cancelled:
                    return
            self.pullers.append(threading.current_thread().name)
            yield from events
            yield WAITING


def words(count: int) -> list[list[object]]:
    return [[TextDelta(f"w{index} ")] for index in range(count)]


def test_the_relay_pulls_on_its_own_thread_after_the_first_read(store, engines):
    user, reply = messages(store)
    script = Script(words(6) + [[Finish("stop")]], hold_at=1)
    generation = start(engines(), store, user, reply, script)
    assert script.holding.wait(5)
    relay = generation.relay()
    received = [next(relay)]  # what happened so far: the start and the first word
    script.release.set()
    received.extend(relay)
    events = parse(b"".join(received))
    assert "".join(data for _, kind, data in events if kind == "delta").count("w") == 6
    assert events[-1][1] == "done"
    # The worker finishes the read it was waiting in when the relay asked; every later read
    # is pulled on the relay's (this) thread.
    assert all(name.startswith("generation") for name in script.pullers[:2])
    assert set(script.pullers[2:]) == {threading.current_thread().name}
    assert store.get_message(reply.id).content == "".join(f"w{i} " for i in range(6))


def test_each_read_goes_out_as_it_is_applied(store, engines):
    user, reply = messages(store)
    script = Script([[TextDelta("one ")], [TextDelta("two "), TextDelta("three ")],
                     [TextDelta("four")], [Finish("stop")]], hold_at=2)
    generation = start(engines(), store, user, reply, script)
    assert script.holding.wait(5)
    relay = generation.relay()
    seen = b""
    while b"three" not in seen:
        seen += next(relay)  # the second read is sent before the third one is asked for
    assert b"four" not in seen and not generation.finished
    script.release.set()
    rest = b"".join(relay)
    assert b"four" in rest and b"event: done" in rest


def test_a_client_that_leaves_never_ends_the_reply(store, engines):
    user, reply = messages(store)
    script = Script(words(5) + [[Finish("stop")]], hold_at=3)
    generation = start(engines(), store, user, reply, script)
    relay = generation.relay()
    seen = b""
    while b"w2" not in seen:
        seen += next(relay)
    relay.close()  # the page was closed while the relay held the pulling
    script.release.set()
    assert generation.wait_finished(5)
    saved = store.get_message(reply.id)
    assert (saved.status, saved.content) == ("complete", "w0 w1 w2 w3 w4 ")
    assert script.pullers[-1].startswith("generation")  # a worker took the pulling back


def test_stop_ends_a_reply_the_relay_pulls(store, engines):
    user, reply = messages(store)
    engine = engines()
    script = Script(words(4), hold_at=2)
    generation = start(engine, store, user, reply, script)
    relay = generation.relay()
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.extend(relay))
    reader.start()
    assert script.holding.wait(5)
    engine.stop(reply.id)
    reader.join(5)
    assert not reader.is_alive()
    events = parse(b"".join(out))
    assert events[-1][1] == "done" and '"status":"stopped"' in events[-1][2]
    assert store.get_message(reply.id).content == "w0 w1 "


def test_a_second_relay_only_follows(store, engines):
    user, reply = messages(store)
    script = Script(words(3) + [[Finish("stop")]], hold_at=1)
    generation = start(engines(), store, user, reply, script)
    assert script.holding.wait(5)
    first, second = generation.relay(), generation.relay()
    head = [next(first), next(second)]
    out: list[bytes] = []
    follower = threading.Thread(target=lambda: out.extend(second))
    follower.start()
    script.release.set()
    rest = b"".join(first)
    follower.join(5)
    assert parse(head[0] + rest) == parse(head[1] + b"".join(out))
    assert threading.current_thread().name in script.pullers
    assert follower.name not in script.pullers


def test_text_events_are_the_bytes_of_the_general_encoder():
    for text in ["a", "é\"\\\n\t\u2028</script>", "\x00\x1f\x7f", "😀 emoji", ""]:
        assert text_event(7, "delta", text) == sse_event(7, "delta", {"text": text})


def test_a_tool_call_hands_the_pulling_back_to_a_worker_until_text_flows_again(store, engines):
    user, reply = messages(store)
    asked = threading.Event()
    tool_ran_on: list[str] = []
    pulled_after_on: list[str] = []

    def stream(cancel):
        yield TextDelta("Let me look. ")
        yield WAITING
        asked.wait(5)  # the relay asks for the pulling meanwhile
        yield TextDelta("Looking. ")
        yield WAITING  # the worker parks here; the relay pulls on
        yield DataEvent("tool_call", {"id": "c1", "name": "search", "arguments": {}, "at": 21})
        tool_ran_on.append(threading.current_thread().name)  # the tool at work
        yield TextDelta("Found it.")
        yield WAITING
        pulled_after_on.append(threading.current_thread().name)
        yield Finish("stop")

    generation = start(engines(), store, user, reply, stream)
    relay = generation.relay()
    out = [next(relay)]
    asked.set()
    out.extend(relay)
    here = threading.current_thread().name
    assert tool_ran_on[0].startswith("generation")  # not the relay's thread: it kept following
    assert pulled_after_on == [here]  # and took the pulling again once text flowed
    kinds = [kind for _, kind, _ in parse(b"".join(out)) if kind != "render"]
    assert kinds[-3:] == ["tool_call", "delta", "done"]
    assert store.get_message(reply.id).content == "Let me look. Looking. Found it."
