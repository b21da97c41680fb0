"""The wire parsers against the recorded vectors (`tests/data/wire_vectors.json`), and the
framing rules they rest on."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from openchat_desktop.providers.anthropic import AnthropicParser
from openchat_desktop.providers.base import (
    Event,
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
)
from openchat_desktop.providers.dialect import DialectParser
from openchat_desktop.providers.errors import (
    ModelNotFound,
    ProviderUnavailable,
    RateLimited,
    StreamBroken,
)
from openchat_desktop.providers.failure import (
    error_for_status,
    error_from_body,
    normalize_error,
    parse_retry_after,
    retry_decision,
)
from openchat_desktop.providers.gemini import GeminiParser
from openchat_desktop.providers.naming import Origin
from openchat_desktop.providers.ndjson import NDJSONDecoder
from openchat_desktop.providers.ollama import OllamaChatParser, OllamaPullParser
from openchat_desktop.providers.openai_compat import OpenAIChatParser
from openchat_desktop.providers.sse import SSEDecoder, SSEEvent
from openchat_desktop.providers.thinktags import ThinkTagSplitter, mode_for

VECTORS_PATH = Path(__file__).resolve().parent / "data" / "wire_vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["vectors"]
BY_ID = {vector["id"]: vector for vector in VECTORS}


def segments(vector: dict) -> list[bytes]:
    return [base64.b64decode(segment) for segment in vector["segments_b64"]]


def pieces(vector: dict, way: str) -> list[bytes]:
    body = b"".join(segments(vector))
    if way == "whole":
        return [body]
    if way == "segments":
        return segments(vector)
    return [body[i : i + 1] for i in range(len(body))]


def is_pull(vector: dict) -> bool:
    return "/api/pull" in vector.get("request", "") or "/api/pull" in vector["title"]


def make_parser(vector: dict) -> DialectParser:
    tags = vector.get("think_tags", "explicit")
    dialect = vector["dialect"]
    if dialect == "ollama":
        return OllamaChatParser(think_tags=tags)
    if dialect == "openai":
        return OpenAIChatParser(think_tags=tags)
    if dialect == "anthropic":
        return AnthropicParser()
    assert dialect == "gemini"
    return GeminiParser()


def empty_result() -> dict:
    return {
        "content": "",
        "reasoning": "",
        "tool_calls": [],
        "finish_reason": None,
        "usage": None,
        "error": None,
        "terminal": None,
    }


def fold(events: list[Event], parser: DialectParser) -> dict:
    """The normalized result of §1.7, built only from what a consumer of the events sees."""
    result = empty_result()
    for event in events:
        if isinstance(event, TextDelta):
            result["content"] += event.text
        elif isinstance(event, ReasoningDelta):
            result["reasoning"] += event.text
        elif isinstance(event, ToolCall):
            result["tool_calls"].append(
                {"id": event.id, "name": event.name, "arguments": event.arguments}
            )
        elif isinstance(event, Usage):
            result["usage"] = event.raw
    finishes = [event for event in events if isinstance(event, Finish)]
    if parser.complete:
        # A complete reply ends with exactly one Finish, after everything else.
        assert finishes == [events[-1]]
        result["finish_reason"] = finishes[0].reason
    else:
        assert finishes == []
        result["finish_reason"] = parser.finish_reason
    assert all(event.text for event in events if isinstance(event, TextDelta | ReasoningDelta))
    result["error"] = parser.error
    result["terminal"] = parser.terminal
    return result


def replay(vector: dict, way: str) -> dict:
    if not 200 <= vector["status"] < 300:
        # A non-2xx body is never fed to the stream parser (§1.4).
        result = empty_result()
        result["error"] = error_from_body(vector["status"], "", b"".join(pieces(vector, way)))
        result["terminal"] = "http_error"
        return result
    if is_pull(vector):
        pull = OllamaPullParser()
        progress: list[dict] = []
        for piece in pieces(vector, way):
            progress += pull.feed(piece)
        progress += pull.close()
        result = empty_result()
        result.update(error=pull.error, terminal=pull.terminal, progress=progress)
        return result
    parser = make_parser(vector)
    events: list[Event] = []
    for piece in pieces(vector, way):
        events += parser.feed(piece)
    events += parser.close()
    return fold(events, parser)


def test_all_vectors_are_here():
    assert len(VECTORS) == 29
    for vector in VECTORS:
        assert len(b"".join(segments(vector))) > 0


@pytest.mark.parametrize("way", ["whole", "segments", "bytes"])
@pytest.mark.parametrize("vector_id", sorted(BY_ID))
def test_vector(vector_id: str, way: str):
    vector = BY_ID[vector_id]
    assert replay(vector, way) == vector["expect"]


@pytest.mark.parametrize("vector_id", sorted(i for i, v in BY_ID.items() if "retry" in v))
def test_retry_decision(vector_id: str):
    vector = BY_ID[vector_id]
    kind = "ollama" if vector["dialect"] == "ollama" else "openai"
    origin = Origin("local", kind, "http://127.0.0.1:1")
    body = b"".join(segments(vector))
    error = error_for_status(vector["status"], "", vector["headers"], body, origin, model="nope")
    expected = vector["retry"]
    assert error.retryable is expected["retryable"]
    assert error.retry_after == expected.get("retry_after_s")
    assert error.detail and str(vector["expect"]["error"]["message"]) in error.detail


def test_vector_errors_map_to_classes_with_sentences():
    origin = Origin("ollama", "ollama", "http://127.0.0.1:11434")
    missing = error_for_status(
        404, "Not Found", {}, b'{"error":"model \'nope\' not found"}', origin, model="nope"
    )
    assert isinstance(missing, ModelNotFound)
    assert missing.message == (
        "Ollama does not have the model “nope”. Pull it with `ollama pull nope`, or pick "
        "another model."
    )
    vector = BY_ID["OA-6"]
    limited = error_for_status(
        429,
        "",
        vector["headers"],
        b"".join(segments(vector)),
        Origin("openai", "openai", "https://api.openai.com/v1"),
    )
    assert isinstance(limited, RateLimited)
    assert limited.message == "openai is limiting requests (429). Wait 2 seconds and try again."
    overloaded = error_for_status(
        529,
        "",
        {},
        b"".join(segments(BY_ID["AN-5"])),
        Origin("claude", "openai", "https://api.anthropic.com/v1"),
    )
    assert isinstance(overloaded, ProviderUnavailable) and overloaded.retryable


# --- error bodies and retry hints (§1.5, §8) --------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error":"model \'x\' not found"}', ("model 'x' not found", None, None)),
        (b'{"error":{"message":"m","type":"t","param":null,"code":400}}', ("m", "t", 400)),
        (b'{"error":{"message":"m","type":"t","code":"500"}}', ("m", "t", "500")),
        (
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            ("Overloaded", "overloaded_error", None),
        ),
        (
            b'[{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]',
            ("bad", "INVALID_ARGUMENT", 400),
        ),
        (b'{"detail":"Unauthorized"}', ("Unauthorized", None, None)),
        (
            b'{"detail":[{"loc":["body"],"msg":"field required"},{"msg":"extra"}]}',
            ("field required; extra", None, None),
        ),
        (b'{"message":"Unauthorized"}', ("Unauthorized", None, None)),
        (
            b'{"object":"error","message":"Extra inputs","type":"invalid_request_error"}',
            ("Extra inputs", "invalid_request_error", None),
        ),
        (b"<html><body>Bad gateway</body></html>", ("502 Bad Gateway", None, None)),
        (b"upstream connect error", ("502 Bad Gateway", None, None)),
        (b"", ("502 Bad Gateway", None, None)),
        (b'{"ok":true}', ("502 Bad Gateway", None, None)),
    ],
)
def test_error_body_shapes(body: bytes, expected: tuple):
    info = error_from_body(502, "Bad Gateway", body)
    assert (info["message"], info["type"], info["code"]) == expected


def test_status_line_uses_the_standard_phrase_when_the_reason_is_missing():
    assert error_from_body(503, "", b"<h1>down</h1>")["message"] == "503 Service Unavailable"


def test_normalize_error_rejects_things_that_are_not_errors():
    assert normalize_error({"choices": []}) is None
    assert normalize_error([1, 2]) is None
    assert normalize_error(" ") is None


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (408, {}, b"", (True, None)),
        (409, {}, b"", (True, None)),
        (500, {}, b"", (True, None)),
        (503, {"Retry-After": "7"}, b"", (True, 7.0)),
        (429, {"retry-after-ms": "1500", "Retry-After": "9"}, b"", (True, 1.5)),
        (
            429,
            {},
            b'{"error":{"type":"insufficient_quota","code":"insufficient_quota"}}',
            (False, None),
        ),
        (
            429,
            {},
            b'{"error":{"type":"rate_limit_error","code":"enforced_spend_limit_reached"}}',
            (False, None),
        ),
        (402, {}, b"", (False, None)),
        (402, {"Retry-After": "30"}, b"", (True, 30.0)),
        (400, {}, b"", (False, None)),
        (401, {}, b"", (False, None)),
        (404, {}, b"", (False, None)),
        (413, {}, b"", (False, None)),
        (422, {}, b"", (False, None)),
        (500, {"x-should-retry": "false"}, b"", (False, None)),
        (400, {"X-Should-Retry": "true"}, b"", (True, None)),
    ],
)
def test_retry_decision_table(status, headers, body, expected):
    assert retry_decision(status, headers, error_from_body(status, "", body)) == expected


def test_retry_after_as_an_http_date():
    future = time.time() + 30
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(future))
    seconds = parse_retry_after({"retry-after": date})
    assert seconds is not None and 27 <= seconds <= 31
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-5"}) == 0.0


# --- SSE framing (§1.2) ------------------------------------------------------------------


def sse(body: bytes, *, split: int | None = None) -> list[SSEEvent]:
    decoder = SSEDecoder()
    if split is None:
        return decoder.feed(body) + decoder.close()
    events: list[SSEEvent] = []
    for i in range(0, len(body), split):
        events += decoder.feed(body[i : i + split])
    return events + decoder.close()


@pytest.mark.parametrize("split", [None, 1, 2, 3, 5])
def test_sse_line_endings_and_bom(split):
    body = "\ufeffdata: a\r\n\r\ndata: b\rdata: c\r\rdata:d\n\n".encode()
    events = sse(body, split=split)
    assert [event.data for event in events] == ["a", "b\nc", "d"]


def test_sse_cr_at_end_of_one_read_and_lf_at_start_of_the_next_is_one_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\n") == []  # the LF completes the CRLF, not a blank line
    assert [event.data for event in decoder.feed(b"\r")] == ["x"]
    assert decoder.feed(b"\n") == []
    assert decoder.close() == []


def test_sse_fields_comments_spaces_and_unknown_fields():
    body = (
        b": keep-alive\n"
        b"event: delta\nid: 7\nretry: 1500\ndata:  two spaces\ndata:\ndata:tail\n\n"
        b": OPENROUTER PROCESSING\n\n"
        b'error: {"code":500}\n\n'
        b"data: \ndata:   \n\n"
        b"justaname\n\n"
    )
    events = sse(body)
    assert events[0] == SSEEvent(" two spaces\n\ntail", "delta", "7", 1500, {})
    assert events[1] == SSEEvent("", "message", None, None, {"error": '{"code":500}'})
    assert len(events) == 2  # whitespace-only data and an empty field are keep-alives


def test_sse_flushes_an_unterminated_event_at_eof():
    assert [event.data for event in sse(b"data: last")] == ["last"]
    assert [event.data for event in sse(b"data: last\n")] == ["last"]
    assert sse(b"event: x\n") == []


@pytest.mark.parametrize("split", [None, 1])
def test_utf8_split_inside_characters(split):
    text = "é€😀 ok"
    body = f"data: {text}\n\n".encode()
    assert [event.data for event in sse(body, split=split)] == [text]
    decoder = NDJSONDecoder()
    line = json.dumps({"t": text}, ensure_ascii=False).encode()
    values = [v for i in range(len(line)) for v in decoder.feed(line[i : i + 1])]
    assert values + list(decoder.close()) == [{"t": text}]


def test_line_cap_stops_a_hostile_server():
    decoder = SSEDecoder(max_line=1000)
    decoder.feed(b"data: " + b"x" * 900)
    with pytest.raises(StreamBroken):
        decoder.feed(b"x" * 200)
    with pytest.raises(StreamBroken):
        SSEDecoder(max_line=1000).feed(b"data: " + b"y" * 2000 + b"\n\n")
    many = SSEDecoder(max_line=1000)
    with pytest.raises(StreamBroken):
        for _ in range(100):
            many.feed(b"data: " + b"z" * 50 + b"\n")
    with pytest.raises(StreamBroken):
        list(NDJSONDecoder(max_line=100).feed(b"[" + b"1," * 100))


def test_feeding_one_byte_at_a_time_is_linear():
    event = b'data: {"choices":[{"index":0,"delta":{"content":"tok"}}]}\n\n'
    body = event * (1024 * 1024 // len(event))
    decoder = SSEDecoder()
    start = time.perf_counter()
    count = 0
    for i in range(len(body)):
        count += len(decoder.feed(body[i : i + 1]))
    elapsed = time.perf_counter() - start
    assert count == len(body) // len(event)
    # One long line fed byte by byte must not be re-scanned per byte either.
    line = NDJSONDecoder()
    big = json.dumps({"t": "x" * 300_000}).encode() + b"\n"
    start_line = time.perf_counter()
    values = [v for i in range(len(big)) for v in line.feed(big[i : i + 1])]
    assert len(values) == 1
    assert elapsed < 8 and time.perf_counter() - start_line < 4


# --- NDJSON framing (§1.3) ---------------------------------------------------------------


def test_ndjson_crlf_blank_lines_and_a_last_line_without_newline():
    decoder = NDJSONDecoder()
    values = list(decoder.feed(b'{"a":1}\r\n\r\n  \n{"b":'))
    values += decoder.feed(b"2}\r")
    values += decoder.feed(b'\n{"c":3}')
    assert values == [{"a": 1}, {"b": 2}]
    assert list(decoder.close()) == [{"c": 3}]


def test_ndjson_garbage_line_breaks_the_stream():
    values = NDJSONDecoder().feed(b'{"a":1}\nthis is not json\n')
    assert next(values) == {"a": 1}
    with pytest.raises(StreamBroken) as caught:
        next(values)
    assert caught.value.detail == "this is not json"


# --- inline <think> tags (§4) ------------------------------------------------------------


def split_tags(mode: str, pieces_: list[str]) -> tuple[str, str]:
    splitter = ThinkTagSplitter(mode)
    events = [event for piece in pieces_ for event in splitter.feed(piece)] + splitter.flush()
    content = "".join(e.text for e in events if isinstance(e, TextDelta))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    return content, reasoning


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_think_tags_explicit(chunk):
    text = "  <think>why</think>Answer: a<b and <think>x</think>"
    parts = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    assert split_tags("explicit", parts) == ("Answer: a<b and <think>x</think>", "why")


def test_think_tags_explicit_only_at_the_start():
    assert split_tags("explicit", ["Use ", "<think> tags"]) == ("Use <think> tags", "")
    assert split_tags("explicit", ["<", "b>bold</b>"]) == ("<b>bold</b>", "")
    assert split_tags("explicit", ["<thi"]) == ("<thi", "")
    assert split_tags("explicit", ["<think>unfinished </thi"]) == ("", "unfinished </thi")
    assert split_tags("explicit", ["reason</think>answer"]) == ("reason</think>answer", "")


def test_think_tags_heuristic_handles_a_bare_closing_tag():
    assert split_tags("heuristic", ["Let me ", "think.</th", "ink>\n\nHi"]) == (
        "\n\nHi",
        "Let me think.",
    )
    assert split_tags("heuristic", ["<think>a</think>b"]) == ("b", "a")


def test_think_tags_off_and_mode_selection():
    assert split_tags("off", ["<think>a</think>b"]) == ("<think>a</think>b", "")
    assert mode_for("DeepSeek-R1-Distill-Qwen-7B", ["*r1-distill*"]) == "heuristic"
    assert mode_for("qwen3:8b", ["*r1-distill*"]) == "explicit"
    with pytest.raises(ValueError):
        ThinkTagSplitter("sometimes")


# --- dialect details the vectors do not cover -------------------------------------------


def run(parser: DialectParser, body: bytes) -> tuple[list[Event], DialectParser]:
    return parser.feed(body) + parser.close(), parser


def test_garbage_after_the_end_is_ignored():
    events, parser = run(OllamaChatParser(), b'{"message":{"content":"a"},"done":true}\nnot json\n')
    assert events == [TextDelta("a"), Finish(None)]
    assert parser.terminal == "done" and parser.failure is None


def test_openai_error_wins_over_a_following_done():
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
        b'data: {"error":{"message":"boom","type":"BadRequestError","code":400}}\n\n'
        b"data: [DONE]\n\n"
    )
    events, parser = run(OpenAIChatParser(), body)
    assert events == [TextDelta("a")]
    assert parser.terminal == "error"
    assert parser.error == {"message": "boom", "type": "BadRequestError", "code": 400}


def test_openrouter_error_chunk_keeps_its_finish_reason():
    body = (
        b'data: {"error":{"code":502,"message":"upstream"},'
        b'"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n'
    )
    _, parser = run(OpenAIChatParser(), body)
    assert parser.terminal == "error" and parser.finish_reason == "error"
    assert parser.error == {"message": "upstream", "type": None, "code": 502}


def test_openai_truncated_stream_is_eof_without_finish_or_half_tool_calls():
    body = (
        b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c",'
        b'"function":{"name":"f","arguments":"{\\"a"}}]}}]}\n\n'
    )
    events, parser = run(OpenAIChatParser(), body)
    assert events == [] and parser.terminal == "eof" and not parser.complete


def test_openai_interleaved_tool_calls_and_reasoning_details_only():
    body = (
        b"".join(
            b"data: " + json.dumps(chunk).encode() + b"\n\n"
            for chunk in [
                {
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "reasoning_details": [{"type": "reasoning.text", "text": "plan"}]
                            },
                        }
                    ]
                },
                {
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [
                                    {
                                        "index": 0,
                                        "id": "a",
                                        "function": {"name": "one", "arguments": "{"},
                                    },
                                    {
                                        "index": 1,
                                        "id": "b",
                                        "function": {"name": "two", "arguments": "["},
                                    },
                                ]
                            },
                        }
                    ]
                },
                {
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [
                                    {"index": 1, "function": {"arguments": "]"}},
                                    {"index": 0, "function": {"arguments": "}"}},
                                ]
                            },
                        }
                    ]
                },
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            ]
        )
        + b"data: [DONE]\n\n"
    )
    events, parser = run(OpenAIChatParser(), body)
    assert events == [
        ReasoningDelta("plan"),
        ToolCall("a", "one", "{}"),
        ToolCall("b", "two", "[]"),
        Finish("tool_calls"),
    ]


def test_openai_document_instead_of_a_stream():
    parser = OpenAIChatParser()
    document = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
    events = parser.feed_document(json.dumps(document).encode())
    assert events == [
        TextDelta("hi"),
        Usage(document["usage"], prompt_tokens=3, completion_tokens=1),
        Finish("stop"),
    ]
    failed = OpenAIChatParser()
    failed.feed_document(b'{"error":{"message":"nope","type":"invalid_request_error"}}')
    assert failed.terminal == "error"


@pytest.mark.parametrize(
    ("parser", "body"),
    [
        (
            OpenAIChatParser,
            b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: {no\n\n',
        ),
        (OllamaChatParser, b'{"message":{"content":"a"},"done":false}\n<html>\n'),
        (
            GeminiParser,
            b'data: {"candidates":[{"content":{"parts":[{"text":"a"}]}}]}\n\ndata: ]\n\n',
        ),
        (
            AnthropicParser,
            b'data: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":"a"}}\n\ndata: {\n\n',
        ),
    ],
)
def test_garbage_ends_the_stream_after_what_came_before_it(parser, body):
    stream = parser()
    events = stream.feed(body)
    assert events == [TextDelta("a")]  # the text before the garbage in the same read
    assert isinstance(stream.failure, StreamBroken)
    assert stream.terminal == "error" and not stream.complete
    assert stream.feed(b'data: {"x":1}\n\n') == [] and stream.close() == []


def test_usage_is_normalized_per_dialect():
    ollama = [
        e for e in run(OllamaChatParser(), segments(BY_ID["OL-1"])[-1])[0] if isinstance(e, Usage)
    ][0]
    assert (ollama.prompt_tokens, ollama.completion_tokens) == (26, 3)
    assert ollama.generation_seconds == pytest.approx(4.535599)
    anthropic_events, _ = run(AnthropicParser(), b"".join(segments(BY_ID["AN-1"])))
    usage = [e for e in anthropic_events if isinstance(e, Usage)][0]
    assert (usage.prompt_tokens, usage.completion_tokens) == (18, 12)
    gemini_events, _ = run(GeminiParser(), b"".join(segments(BY_ID["GE-2"])))
    usage = [e for e in gemini_events if isinstance(e, Usage)][0]
    assert (usage.prompt_tokens, usage.completion_tokens) == (6, 32)


def test_anthropic_tool_use_blocks_join_partial_json():
    body = b"".join(
        b"event: x\ndata: " + json.dumps(event).encode() + b"\n\n"
        for event in [
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": '{"city": "Par'},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": 'is"}'},
            },
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
            {"type": "message_stop"},
        ]
    )
    events, parser = run(AnthropicParser(), body)
    assert events == [ToolCall("toolu_1", "get", '{"city": "Paris"}'), Finish("tool_use")]


def test_gemini_without_finish_reason_is_truncated():
    body = b'data: {"candidates":[{"content":{"parts":[{"text":"Hel"}]}}]}\r\n\r\n'
    events, parser = run(GeminiParser(), body)
    assert events == [TextDelta("Hel")]
    assert parser.terminal == "eof" and not parser.complete


def test_ollama_pull_without_success_is_eof():
    pull = OllamaPullParser()
    assert pull.feed(b'{"status":"pulling manifest"}\n') == [{"status": "pulling manifest"}]
    assert pull.close() == []
    assert pull.terminal == "eof"
