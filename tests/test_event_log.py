"""The engine's event log on its own: replays are exact from any sequence number, a folded log
replays like the full one, followers get everything, and every path encodes events alike."""

from __future__ import annotations

import json
import random
import threading

import pytest

from openchat_desktop.chat.replies import stored_replay
from openchat_desktop.engine import EventLog, sse_event
from openchat_desktop.engine import log as log_module
from openchat_desktop.store import MessageRecord


def parse(raw: bytes) -> list[tuple[int, str, dict]]:
    """(id, event, data) from SSE bytes, keep-alive comments left out."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block or block.startswith(":"):
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
    return out


class Written:
    """A log filled at random, and what was written to it, as the ground truth."""

    def __init__(self, seed: int, count: int = 120) -> None:
        rng = random.Random(seed)
        self.log = EventLog()
        self.events: list[tuple[int, str, dict]] = []  # every event with its seq
        self.blocks: list[str] = []  # the patched state: a list, patched from `start` on
        self.log.append("start", {"n": seed})
        self.events.append((1, "start", {"n": seed}))
        for index in range(count):
            roll = rng.random()
            if roll < 0.45:
                self._text("delta", f"d{index} ")
            elif roll < 0.6:
                self._text("reasoning", f"r{index} ")
            elif roll < 0.7:
                self._text("plan", f"p{index}\n")
            elif roll < 0.8:
                start = rng.randint(0, len(self.blocks))
                patch = {"start": start, "blocks": [f"b{index}"]}
                self.blocks = self.blocks[:start] + patch["blocks"]
                whole = list(self.blocks)
                self.log.append_state("render", patch, lambda whole=whole: {
                    "start": 0, "blocks": whole})
                self._seen("render", patch)
            elif roll < 0.9:
                self.log.append("note", {"i": index})
                self._seen("note", {"i": index})
            else:
                self.log.append_state("progress", {"i": index})
                self._seen("progress", {"i": index})
        self.log.append("done", {"ok": True})
        self._seen("done", {"ok": True})
        self.log.close()

    def _text(self, kind: str, text: str) -> None:
        self.log.append_text(kind, text)
        self._seen(kind, {"text": text})

    def _seen(self, kind: str, data: dict) -> None:
        self.events.append((self.log.last_seq, kind, data))

    def text(self, kind: str, upto: int | None = None) -> str:
        return "".join(d["text"] for seq, k, d in self.events
                       if k == kind and (upto is None or seq <= upto))


TEXT_KINDS = ("delta", "reasoning", "plan")


def texts(replay: list[tuple[int, str, dict]]) -> dict[str, str]:
    return {kind: "".join(d["text"] for _, k, d in replay if k == kind) for kind in TEXT_KINDS}


@pytest.mark.parametrize("seed", range(6))
def test_a_replay_after_any_sequence_number_completes_the_text_exactly(seed):
    written = Written(seed)
    for cut in range(written.log.last_seq + 1):
        replay = parse(written.log.replay(cut))
        ids = [seq for seq, _, _ in replay]
        assert ids == sorted(set(ids)) and all(seq > cut for seq in ids), cut
        for kind, text in texts(replay).items():
            assert written.text(kind, upto=cut) + text == written.text(kind), (cut, kind)
        # Other events come as they were; a state only once, as its newest whole.
        notes = [d for seq, k, d in written.events if k == "note" and seq > cut]
        assert [d for _, k, d in replay if k == "note"] == notes
        renders = [d for _, k, d in replay if k == "render"]
        if any(k == "render" and seq > cut for seq, k, _ in written.events):
            assert renders == [{"start": 0, "blocks": written.blocks}]
        else:
            assert renders == []
        assert len([k for _, k, _ in replay if k == "progress"]) <= 1
        assert replay[-1][1] == "done" if cut < written.log.last_seq else replay == []


@pytest.mark.parametrize("seed", range(6))
def test_a_folded_log_replays_like_the_full_one(seed):
    written = Written(seed)
    before = {cut: parse(written.log.replay(cut)) for cut in range(written.log.last_seq + 1)}
    whole = written.log.texts()
    assert written.log.fold() is True
    assert written.log.texts() == whole
    for cut, full in before.items():
        folded = parse(written.log.replay(cut))
        assert texts(folded) == texts(full), cut
        for kind in ("start", "note", "render", "progress", "done"):
            assert [(s, d) for s, k, d in folded if k == kind] == \
                [(s, d) for s, k, d in full if k == kind], (cut, kind)
        ids = [seq for seq, _, _ in folded]
        assert ids == sorted(ids) and all(seq > cut for seq in ids)


def test_a_log_folds_only_when_closed_and_nobody_follows():
    log = EventLog()
    log.append_text("delta", "a")
    assert log.fold() is False  # still open
    follower = log.follow(0)
    next(follower)
    log.close()
    assert log.fold() is False  # someone is reading
    assert list(follower) == []
    assert log.fold() is True and log.fold() is False


def test_a_follower_gets_every_event_live_then_ends():
    log = EventLog()
    chunks: list[bytes] = []
    follower = log.follow(0)
    reader = threading.Thread(target=lambda: chunks.extend(follower))
    reader.start()
    for index in range(300):
        log.append_text("delta", f"{index},")
    log.append("done", {})
    log.close()
    reader.join(5)
    events = parse(b"".join(chunks))
    assert "".join(d["text"] for _, k, d in events if k == "delta") == \
        "".join(f"{i}," for i in range(300))
    assert [seq for seq, _, _ in events] == list(range(1, 302))


def test_a_quiet_log_sends_keep_alives(monkeypatch):
    monkeypatch.setattr(log_module, "KEEPALIVE_INTERVAL", 0.01)
    log = EventLog()
    follower = log.follow(0)
    assert next(follower) == b": keep-alive\n\n"
    log.append("done", {})
    log.close()
    assert parse(b"".join(follower)) == [(1, "done", {})]


def test_a_whole_state_replaces_the_one_before_it():
    """A follower that fell behind gets the newest progress, never a backlog."""
    log = EventLog()
    log.append("start", {})
    follower = log.follow(0)
    assert parse(next(follower)) == [(1, "start", {})]
    for index in range(50):
        log.append_state("progress", {"i": index})
    log.append("done", {})
    log.close()
    assert parse(b"".join(follower)) == [(51, "progress", {"i": 49}), (52, "done", {})]
    assert parse(log.replay(0)) == [(1, "start", {}), (51, "progress", {"i": 49}),
                                    (52, "done", {})]
    assert parse(log.replay(51)) == [(52, "done", {})]


def test_a_snapshot_reads_text_and_sequence_number_together():
    log = EventLog()
    log.open_text("plan")
    log.append_text("delta", "a")
    log.append_text("delta", "b")
    snapshot = log.snapshot()
    assert snapshot.seq == 2 and snapshot.texts == {"plan": "", "delta": "ab"}


def _blocks(raw: bytes) -> list[bytes]:
    return [block + b"\n\n" for block in raw.split(b"\n\n") if block and block[:1] != b":"]


def test_every_path_writes_events_with_the_one_encoder():
    """Live events, replays, folded replays and replies read back from the database: each
    event is byte for byte what `sse_event` makes of its id, name and data."""
    written = Written(3)
    paths = [
        b"".join(written.log.follow(0)),
        written.log.replay(7),
    ]
    written.log.fold()
    paths.append(written.log.replay(7))
    record = MessageRecord(
        id="m2", session_id="s", parent_id="m1", role="assistant", content="Hé **there**",
        reasoning="hmm", html=None, html_version=0, model="fake/m", status="complete",
        error=None, usage=None, created_at="2024-01-01T00:00:00Z",
        updated_at="2024-01-01T00:00:00Z", plan="1. step",
    )
    paths.append(stored_replay(record, {"id": "m1"}, {"id": "m2"}, 0))
    for raw in paths:
        blocks = _blocks(raw)
        assert blocks
        for (seq, kind, data), block in zip(parse(raw), blocks, strict=True):
            assert block == sse_event(seq, kind, data)


def test_a_stored_reply_replays_as_one_event_per_stream():
    record = MessageRecord(
        id="m2", session_id="s", parent_id="m1", role="assistant", content="answer",
        reasoning="", html=None, html_version=0, model="fake/m", status="error",
        error={"code": "stream_broken", "message": "cut"}, usage=None,
        created_at="2024-01-01T00:00:00Z", updated_at="2024-01-01T00:00:00Z",
    )
    events = parse(stored_replay(record, None, {"id": "m2"}, 0))
    assert events == [
        (1, "start", {"user_message": None, "assistant_message": {"id": "m2"}}),
        (2, "reasoning", {"text": ""}),
        (3, "delta", {"text": "answer"}),
        (4, "error", {"code": "stream_broken", "message": "cut", "message_id": "m2"}),
    ]
    assert parse(stored_replay(record, None, {"id": "m2"}, 2)) == events[2:]
